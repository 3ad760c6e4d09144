// Package lease makes a periodic job run once across replicas: a named
// lease is a row of the tenku_leases table in the database the replicas
// share, taken and renewed by a compare-and-swap (the holder is this
// process, or the lease has expired), so at most one process holds it at a
// time; when the holder dies without releasing it, another takes it once it
// expires. Every runs a job each period only while its process holds the
// job's lease, renewing it as it goes.
//
// Expiry is judged by the clock of the process trying to take the lease, so
// the replicas' clocks must agree to well within the lease's time to live
// minus its period (NTP does; Every leaves a whole period of margin).
//
// lease imports platform/store, platform/metrics and platform/logging.
package lease

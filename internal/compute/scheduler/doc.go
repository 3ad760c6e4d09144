// Package scheduler picks compute hosts for instances the way Nova's
// FilterScheduler does: filters remove the hosts that cannot take the
// instance, weighers score the rest (each weigher's raw weights normalised
// to 0..1, times a multiplier, summed), and one of the best
// Config.HostSubsetSize hosts is chosen at random.
//
// It owns the scheduling decision and nothing else. It is pure: no
// database, no bus, no HTTP, no clock, no logging. The conductor builds a
// []HostState snapshot from the database, calls Scheduler.Select, then
// claims the chosen host with a compare-and-swap; when it loses that race
// it tries an alternate or calls Select again with the host in
// RequestSpec.Tried. When no host passes, Select returns a *NoValidHost
// whose message, usable as the instance fault, names the filter that
// removed the last hosts and how many each filter removed.
//
// The filters and weighers live in this package (filters_*.go, weigher.go)
// because they share the per-request working state Select keeps on its
// copies of the hosts and the spec; other packages add their own through
// Deps. The checks Nova delegates to placement (resources with allocation
// ratios and reserved amounts, traits, availability zone) are filters here
// (CoreFilter, RamFilter, DiskFilter, TraitsFilter, AvailabilityZoneFilter)
// so that a fault can name them. See README.md for the pipeline.
//
// It imports the standard library and its subpackage extraspecs only.
// A Scheduler takes one lock, around its random source.
package scheduler

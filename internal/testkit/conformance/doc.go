// Package conformance holds tests that drive a whole in-process tenku cloud
// with real clients (gophercloud) and check behaviours OpenStack's own
// services show: small wire details clients rely on, tenant isolation across
// services and bad input on every route. It has no code of its own.
package conformance

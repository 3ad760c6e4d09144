// Package agent is tenku's network agent, one per host (Neutron's L2, DHCP,
// L3 and metadata agents in one process): it heartbeats to the server over the
// bus, receives the changes meant for its host (bus.HostSubject("network",
// host)) and for every agent (the fan-out subject), hands them to a
// dataplane.Driver, and reports port and floating IP status back. On start,
// and every resync interval, it asks the server for the whole desired state of
// its host and has the driver converge to it, so casts missed while it was
// down or while the bus reconnected do no lasting harm.
//
// Changes land in a desired-state cache keyed by resource; a single worker
// applies dirty keys, coalescing bursts and retrying failures with backoff.
//
// agent imports internal/network/{dataplane,rpc}, platform/{bus,service,logging}.
package agent

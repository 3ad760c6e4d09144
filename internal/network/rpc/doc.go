// Package rpc is the bus protocol between tenku's network server and its
// agents: subjects, method names and message bodies. Agents call the server
// (heartbeats, full state sync, port status); the server casts changes to the
// agent of one host, or to all agents when a change may concern any of them.
//
// Changes carry the desired state of what changed (dataplane values), so an
// agent never reads the database, and only what changed, for the hosts it
// concerns: a port's wiring and filter to its host, a group's membership
// change as the addresses of the ports that changed, a lease to the hosts
// serving the network's DHCP. The server gathers changes for a short
// interval and sends one message per host and kind. An agent that missed
// casts (it was down, the bus reconnected) resyncs the whole host with
// SyncState; it does so at start and every resync interval.
//
// rpc imports internal/network/dataplane and platform/bus.
package rpc

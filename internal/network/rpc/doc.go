// Package rpc is the bus protocol between tenku's network server and its
// agents: subjects, method names and message bodies. Agents call the server
// (heartbeats, full state sync, port status); the server casts changes to the
// agent of one host, or to all agents when a change may concern any of them.
//
// Changes carry the desired state of what changed (dataplane values), so an
// agent never reads the database; an agent that missed casts (it was down, the
// bus reconnected) resyncs the whole host with SyncState.
//
// rpc imports internal/network/dataplane and platform/bus.
package rpc

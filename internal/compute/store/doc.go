// Package store is Nova's database: hand-written SQL over platform/store for
// instances (with their faults, actions, events, tags and block device
// mappings), flavors, key pairs, quotas, server groups, aggregates, services,
// compute nodes with their resource claims, and migrations.
//
// Every state change of an instance is a compare-and-swap: Save states the
// vm_state and task_state it expects in the UPDATE's WHERE clause and fails
// with a 409 when another request got there first. Resource claims on compute
// nodes and quota reservations are conditional increments, so that
// concurrent boots can never overcommit a node or exceed a quota, on any of
// the three engines.
//
// store imports platform/store, platform/fault, compute/objects and
// compute/states.
package store

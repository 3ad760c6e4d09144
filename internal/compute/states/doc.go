// Package states holds Nova's instance state machine as data: the vm_state,
// task_state and power_state values exactly as they appear on the wire, the
// mapping from (vm_state, task_state) to the API's server status, and the
// guard table saying in which states each server action is allowed and which
// task_state it moves the instance into.
//
// The API and the conductor own vm_state and task_state; the compute agent
// reports power_state and moves task_state through the phases of the work it
// does. Every transition is a compare-and-swap in the store: the guard gives
// the expected states, the store's UPDATE states them in its WHERE clause.
//
// states imports the standard library and platform/fault only.
package states

// Package rpc is the compute service's bus protocol: the subjects nova-api,
// the conductor, the scheduler and the compute agents listen on, the method
// names (Nova's RPC method names where there is one), and the argument and
// result types of each method.
//
//	nova-api ──cast build_instances──▶ compute.conductor (queue "conductor")
//	conductor ──call select_destinations──▶ compute.scheduler (queue "scheduler")
//	conductor ──cast build_and_run_instance──▶ compute.<host>
//	agent ──call instance_save / instance_get / ...──▶ compute.conductor
//	nova-api ──cast reboot_instance, stop_instance, ...──▶ compute.<host>
//
// Compute agents never open the database: like nova-compute, they ask the
// conductor (steps 13–17 of the seed's boot sequence), so an agent on another
// host needs only the bus.
//
// The messages are this package's own types (instance.go has the instance
// and migration changes), not the store's, and Version names the protocol:
// a conductor refuses the heartbeat of an agent that speaks another.
//
// rpc imports platform/bus, compute/objects, compute/states and
// compute/scheduler (for the scheduling types); never compute/store.
package rpc

// Package conductor is nova-conductor and nova-scheduler: the conductor
// schedules and claims new instances (and moves: migrations, evacuations,
// unshelves), casts their builds to the chosen compute agents, reschedules
// failed builds, and is the compute agents' only way to the database; the
// scheduler worker keeps the host state snapshot and runs the pure
// scheduler (compute/scheduler) on it.
//
//	build_instances ─▶ select_destinations (call) ─▶ claim (CAS) ─▶ build_and_run_instance (call-ack)
//	                        ▲                          │ lost race: next alternate, then select again
//	                        └──────── reschedule ◀─────┘ (agent: spawn failed; up to [scheduler] max_attempts)
//
// Both serve queue groups on the bus, so more workers are more processes.
//
// conductor imports platform/{bus,fault,logging,store}, compute/{conf,
// objects,rpc,scheduler,states,store}.
package conductor

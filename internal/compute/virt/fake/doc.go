// Package fake is an in-memory hypervisor for tests and simulated clouds:
// instances are records in a map, resources come from configuration, and
// knobs inject the faults a real hypervisor shows (a spawn that hangs in
// BUILD, fails, or a destroy that fails). One Driver value is one
// hypervisor: an agent restarted with the same Driver finds its instances
// still there, as a QEMU guest outlives its agent; with [fake_driver]
// state_dir, Open gives a new Driver (a new process) the guests the last
// one saved there. virttest's contract suite runs on it.
//
// fake imports the standard library, compute/states and compute/virt. Its
// Config is nova.conf's [fake_driver] section; internal/stack reads it.
package fake

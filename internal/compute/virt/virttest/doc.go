// Package virttest is the contract every virt.Driver keeps, as a test suite
// a driver's own tests run: Run(t, Harness{New: ...}). It checks that
// Destroy is idempotent, that Info and ConsoleLog answer ErrNotFound for an
// instance the hypervisor lacks, that a new driver on the same state (an
// agent restarted) lists and controls the guests the old one made, the
// power-state transitions of the core and of the optional Pauser and
// Suspender, and, when the harness can stop a guest behind the driver's
// back, that a stopped event arrives.
//
// virttest imports the standard library, compute/states and compute/virt.
package virttest

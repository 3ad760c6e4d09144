// Package archtest holds the test that keeps the import rules of the design
// (docs/design.md §3) true: wire types import only the standard library, the
// platform and host primitives import no service, services do not reach into each
// other, the compute agent reaches the store only through the conductor, and
// only the assembly picks concrete drivers.
package archtest

// Package lbtest holds what tests of the Linux bridge data plane share: a
// root check, namespaces that stand in for hosts and guests and are removed
// when the test ends, and ping. The driver's own tests and the two-host
// tests that run it under real agents use it.
//
// lbtest imports only the standard library, internal/linux and dataplane
// (never linuxbridge itself, whose tests import it).
package lbtest

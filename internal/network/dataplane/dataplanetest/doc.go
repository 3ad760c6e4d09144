// Package dataplanetest is the contract every dataplane.Driver keeps,
// written once and run on each driver (the fake and linuxbridge), as
// virttest is for the compute drivers. A driver's test supplies a Harness:
// how to make a driver and a network it can wire, how to make a port's
// device appear (a hypervisor's tap), and how to look at what the host
// really holds.
//
// dataplanetest imports only the standard library and dataplane.
package dataplanetest

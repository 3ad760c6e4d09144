// Package netdev manages Linux network devices and namespaces with the `ip`
// and `bridge` commands of iproute2: namespaces, links (bridges, veth pairs,
// VLAN and VXLAN devices), masters, MTU, addresses and bridge FDB entries.
// It knows no OpenStack words; the data plane drivers name the devices.
//
// Every call runs in one namespace (Handle.NS, "" for the caller's own), so
// tests can work in namespaces they made and never touch the host's devices.
// Creating an existing thing and deleting an absent one succeed.
//
// netdev imports only the standard library. tap.go (guest taps) belongs to
// the compute side.
package netdev

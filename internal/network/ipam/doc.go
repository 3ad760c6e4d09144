// Package ipam is the address arithmetic of tenku's networking service: CIDR
// parsing and canonical forms, default allocation pools (Neutron's rules:
// skip the network address, the IPv4 broadcast and the gateway), pool
// validation (inside the subnet, no overlaps, gateway outside), EUI-64
// addresses for SLAAC subnets, random candidates and first-free search over
// pools, and prefix carving for subnet pools.
//
// It is pure: no I/O, no locks. The store makes allocations unique (a primary
// key on subnet and address) and asks this package which addresses to try.
//
// ipam imports only the standard library.
package ipam

// Package dataplane defines what a network agent asks of the host: the
// Driver interface (Neutron's agent extensions, narrowed) and the value types
// it is handed. Every value carries everything a Linux implementation needs
// without asking the server again: bridge and device names, VLAN ids and
// VNIs, MAC and IP addresses with their prefix lengths, gateways, DHCP options
// and static leases, routes, security group rules (a rule naming a remote
// group refers to that group's MemberSet, which the host holds apart from the
// rules, as Neutron's agents hold ipsets), and floating IP mappings.
//
// Every method is idempotent: Ensure* and Plug* converge from any partial
// state, deletes of absent things succeed, and Resync replaces whatever the
// host has with the desired state after an agent restart.
//
// Implementations: dataplane/fake (in memory, with fault injection) and
// dataplane/linuxbridge (bridges, VXLAN, dnsmasq, namespaces, nftables);
// dataplanetest is the contract both pass. Only cmd/tenku and internal/stack
// pick one.
//
// dataplane imports only the standard library and api/network (the device
// names).
package dataplane

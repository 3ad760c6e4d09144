// Package network holds the wire types of tenku's networking service, the
// Neutron v2.0 API: networks (with the provider, external-net, MTU and
// availability-zone attributes), subnets, ports (with binding, port-security,
// allowed-address-pairs and extra-DHCP-options attributes), routers, floating
// IPs, security groups and rules, subnet pools, address scopes, agents, quotas,
// extensions and the version documents, and the constants those carry
// (statuses, device owners, VIF and VNIC types, network types, IPv6 modes).
//
// The types marshal exactly as Neutron answers; a client of tenku (or of any
// Neutron) can decode responses into them. Attributes Neutron renders as null
// are pointers here.
//
// network imports only the standard library.
package network

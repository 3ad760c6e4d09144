// Package network is tenku's networking service, Neutron: the v2.0 API on port
// 9696 and the server side of its agents. It assembles the parts:
//
//	api/        HTTP: routes, policy, validation, fields, filters, pagination
//	plugin/     the core and L3 logic, IPAM, scheduling, pushes to agents
//	store/      the database
//	ipam/       address arithmetic
//	rpc/        the bus protocol between server and agents
//	agent/      the per-host agent (tenku agent network)
//	dataplane/  the Driver the agent drives (fake here; linuxbridge later)
//	notify/     network-vif-* events to Nova
//
// This package gives the assembly DefaultConfig (neutron.conf), Migrations,
// New (the API handler and the service that serves agents over the bus),
// NewAgent, and EnsureDefaultTopology (devstack's public/private/router1).
//
// network imports its subpackages (not dataplane drivers) and the platform.
package network

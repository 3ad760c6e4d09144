package rpc

import (
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
)

// Version is the version of this protocol. Agents name it when they ask for
// their state; a server refuses agents of another version, whose messages
// would mean something else to it. Version 2: security group filters name
// remote groups, whose member sets travel apart (MembersUpdate,
// SecurityGroupMembers); port changes go out in batches per host
// (PortsUpdate) and DHCP leases as changes (DHCPHostsUpdate). Version 1
// resolved remote groups inside every filter and pushed one port per cast.
const Version = 2

// ServerSubject is where servers serve agents' calls, in queue group ServerQueue.
const (
	ServerSubject = "network-server"
	ServerQueue   = "network-server"
	// FanoutSubject reaches every agent.
	FanoutSubject = "network-fanout"
)

// HostSubject is the subject of the agent of one host.
func HostSubject(host string) string { return bus.HostSubject("network", host) }

// Methods agents call on the server.
const (
	MethodReportState        = "report_state"
	MethodSyncState          = "sync_state"
	MethodUpdateDeviceStatus = "update_device_status"
	MethodUpdateFIPStatus    = "update_floatingip_statuses"
	// MethodSecurityGroupMembers returns the whole membership of groups
	// (SecurityGroupMembers → MembersReply).
	MethodSecurityGroupMembers = "security_group_members"
	// MethodMetadataInstance names the instance behind a guest's address
	// for the metadata proxy (MetadataInstance → MetadataInstanceReply).
	MethodMetadataInstance = "metadata_instance"
)

// Methods the server casts to agents.
const (
	MethodPortsUpdate   = "ports_update"
	MethodMembersUpdate = "security_group_members_update"
	MethodDHCPHosts     = "dhcp_hosts_update"
	MethodNetworkUpdate = "network_update"
	MethodNetworkDelete = "network_delete"
	MethodDHCPUpdate    = "dhcp_update"
	MethodDHCPDelete    = "dhcp_delete"
	MethodRouterUpdate  = "router_update"
	MethodRouterDelete  = "router_delete"
	MethodFiltersUpdate = "filters_update"
	MethodResync        = "resync"
	// MethodTunnelUpdate carries every host's tunnel address (TunnelUpdate)
	// on FanoutSubject, whenever a host's L2 agent joins, leaves or
	// changes its address.
	MethodTunnelUpdate = "tunnel_update"
)

// AgentInfo is one agent (L2, DHCP, L3, metadata) a host process runs.
type AgentInfo struct {
	AgentType      string         `json:"agent_type"`
	Binary         string         `json:"binary"`
	Topic          string         `json:"topic"`
	Configurations map[string]any `json:"configurations,omitempty"`
}

// ReportState is a heartbeat.
type ReportState struct {
	Host             string      `json:"host"`
	AvailabilityZone string      `json:"availability_zone,omitempty"`
	Agents           []AgentInfo `json:"agents"`
	// Start is set on the first report after the agent started.
	Start bool `json:"start,omitempty"`
}

// SyncState asks for the desired state of a host (a HostState).
type SyncState struct {
	Host string `json:"host"`
	// Version is the protocol version the agent speaks (0 means 1).
	Version int `json:"version,omitempty"`
}

// HostState is everything a host should have: the dataplane state without
// member sets, and the membership of every group its filters name as remote
// group, port by port (from which the agent derives the member sets and
// which later MembersUpdates change).
type HostState struct {
	dataplane.State
	Members []GroupMembers `json:"members"`
	// TunnelPeers are the tunnel addresses of the hosts whose L2 agents
	// are alive, this one's included.
	TunnelPeers []TunnelPeer `json:"tunnel_peers,omitempty"`
}

// TunnelPeer is a host's tunnel address: its L2 agent's [vxlan] local_ip,
// which the agent reports as configurations.tunneling_ip.
type TunnelPeer struct {
	Host string `json:"host"`
	IP   string `json:"ip"`
}

// TunnelUpdate is the whole list of live hosts' tunnel addresses; each
// agent floods its VXLAN networks to all but its own.
type TunnelUpdate struct {
	Peers []TunnelPeer `json:"peers"`
}

// GroupMembers is the membership of a security group, or a change of it:
// the addresses of the ports in the group (their fixed IPs and allowed
// address pairs, as masked CIDRs), and the ports that left it.
type GroupMembers struct {
	GroupID string              `json:"group_id"`
	Ports   map[string][]string `json:"ports,omitempty"`
	Left    []string            `json:"left,omitempty"`
}

// SecurityGroupMembers asks for the whole membership of groups; the answer
// is a MembersReply.
type SecurityGroupMembers struct {
	Host     string   `json:"host"`
	GroupIDs []string `json:"group_ids"`
}

// MetadataInstance asks which instance holds IP on one of the networks, as
// Neutron's metadata agent asks for the ports with that fixed IP.
type MetadataInstance struct {
	Host       string   `json:"host"`
	NetworkIDs []string `json:"network_ids"`
	IP         string   `json:"ip"`
}

// MetadataInstanceReply names the instance (the port's device_id) and its
// project (the port's); both empty when no port, or more than one, holds
// the address.
type MetadataInstanceReply struct {
	InstanceID string `json:"instance_id,omitempty"`
	ProjectID  string `json:"project_id,omitempty"`
}

// MembersReply is the whole membership of the groups asked for.
type MembersReply struct {
	Groups []GroupMembers `json:"groups"`
}

// MembersUpdate is what changed of groups' membership since the server's
// last push: for each port named, its addresses now (or that it left). It
// goes to the hosts whose filters name the groups as remote group; an agent
// that does not hold a group yet asks for it whole (SecurityGroupMembers).
type MembersUpdate struct {
	Groups []GroupMembers `json:"groups"`
}

// DeviceStatus is a port's state on the host.
type DeviceStatus struct {
	PortID string `json:"port_id"`
	Up     bool   `json:"up"`
}

// UpdateDeviceStatus reports port states.
type UpdateDeviceStatus struct {
	Host    string         `json:"host"`
	Devices []DeviceStatus `json:"devices"`
}

// UpdateFIPStatus reports the floating IPs a router applied.
type UpdateFIPStatus struct {
	RouterID string            `json:"router_id"`
	Statuses map[string]string `json:"statuses"`
}

// PortUpdate asks the host to wire a port (and filter it).
type PortUpdate struct {
	Port   dataplane.Port        `json:"port"`
	Filter *dataplane.PortFilter `json:"filter,omitempty"`
}

// PortDelete asks the host to unwire a port.
type PortDelete struct {
	PortID    string `json:"port_id"`
	NetworkID string `json:"network_id,omitempty"`
}

// PortsUpdate is the port changes of one host since the server's last push:
// ports to wire (or rewire) and ports to unwire.
type PortsUpdate struct {
	Ports   []PortUpdate `json:"ports,omitempty"`
	Deleted []PortDelete `json:"deleted,omitempty"`
}

// NetworkUpdate says a network's segment, MTU or state changed.
type NetworkUpdate struct {
	Network dataplane.Network `json:"network"`
}

// NetworkDelete says a network is gone.
type NetworkDelete struct {
	NetworkID string `json:"network_id"`
}

// DHCPUpdate is the whole DHCP service of a network on the host.
type DHCPUpdate struct {
	DHCP dataplane.DHCP `json:"dhcp"`
}

// DHCPHostsUpdate changes the static leases of a network's DHCP service on
// the host: hosts added or changed (by port), and ports whose leases go. An
// agent that does not serve the network's DHCP yet ignores it (the whole
// service comes in a DHCPUpdate).
type DHCPHostsUpdate struct {
	NetworkID string               `json:"network_id"`
	Hosts     []dataplane.DHCPHost `json:"hosts,omitempty"`
	Removed   []string             `json:"removed,omitempty"`
}

// DHCPDelete stops a network's DHCP on the host.
type DHCPDelete struct {
	NetworkID string `json:"network_id"`
}

// RouterUpdate is the whole of a router hosted on the host.
type RouterUpdate struct {
	Router dataplane.Router `json:"router"`
}

// RouterDelete removes a router from the host.
type RouterDelete struct {
	RouterID string `json:"router_id"`
}

// FiltersUpdate replaces the filters of ports on the host.
type FiltersUpdate struct {
	Filters []dataplane.PortFilter `json:"filters"`
}

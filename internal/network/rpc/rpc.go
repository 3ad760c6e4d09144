package rpc

import (
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
)

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
)

// Methods the server casts to agents.
const (
	MethodPortUpdate    = "port_update"
	MethodPortDelete    = "port_delete"
	MethodNetworkUpdate = "network_update"
	MethodNetworkDelete = "network_delete"
	MethodDHCPUpdate    = "dhcp_update"
	MethodDHCPDelete    = "dhcp_delete"
	MethodRouterUpdate  = "router_update"
	MethodRouterDelete  = "router_delete"
	MethodFiltersUpdate = "filters_update"
	MethodResync        = "resync"
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

// SyncState asks for the desired state of a host.
type SyncState struct {
	Host string `json:"host"`
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

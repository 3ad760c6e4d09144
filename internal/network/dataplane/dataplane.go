package dataplane

import (
	"context"
	"errors"

	netapi "github.com/tenku-cloud/tenku/api/network"
)

// Segment is how a network is carried between hosts.
type Segment struct {
	// NetworkType is flat, vlan, vxlan or local.
	NetworkType string `json:"network_type"`
	// PhysicalNetwork names the provider network a flat or VLAN network
	// rides on ("" for vxlan and local).
	PhysicalNetwork string `json:"physical_network,omitempty"`
	// SegmentationID is the VLAN id or the VNI (0 for flat and local).
	SegmentationID int `json:"segmentation_id,omitempty"`
}

// Network is an L2 network as a host builds it.
type Network struct {
	ID        string  `json:"id"`
	ProjectID string  `json:"project_id,omitempty"`
	Segment   Segment `json:"segment"`
	MTU       int     `json:"mtu"`
	// Bridge is the host bridge of the network ("brq" + the first 11
	// characters of the id, as Neutron's linuxbridge agent names it).
	Bridge       string `json:"bridge"`
	AdminStateUp bool   `json:"admin_state_up"`
	External     bool   `json:"external,omitempty"`
}

// BridgeName returns the bridge a network's ports plug into (api/network
// defines the name).
func BridgeName(networkID string) string { return netapi.BridgeName(networkID) }

// TapName returns the device name of a VM port (api/network defines the
// name).
func TapName(portID string) string { return netapi.TapName(portID) }

// RouterNamespace returns the namespace of a router.
func RouterNamespace(routerID string) string { return "qrouter-" + routerID }

// DHCPNamespace returns the namespace of a network's DHCP server.
func DHCPNamespace(networkID string) string { return "qdhcp-" + networkID }

// Route is a static route.
type Route struct {
	Destination string `json:"destination"`
	NextHop     string `json:"nexthop"`
}

// Range is an address range.
type Range struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Subnet is what DHCP and routing need of a subnet.
type Subnet struct {
	ID              string   `json:"id"`
	CIDR            string   `json:"cidr"`
	IPVersion       int      `json:"ip_version"`
	Gateway         string   `json:"gateway,omitempty"`
	EnableDHCP      bool     `json:"enable_dhcp"`
	DNSNameservers  []string `json:"dns_nameservers,omitempty"`
	HostRoutes      []Route  `json:"host_routes,omitempty"`
	AllocationPools []Range  `json:"allocation_pools,omitempty"`
	// IPv6RAMode and IPv6AddressMode are slaac, dhcpv6-stateful,
	// dhcpv6-stateless or "".
	IPv6RAMode      string `json:"ipv6_ra_mode,omitempty"`
	IPv6AddressMode string `json:"ipv6_address_mode,omitempty"`
}

// Address is an IP address with the prefix length of its subnet.
type Address struct {
	SubnetID  string `json:"subnet_id"`
	IP        string `json:"ip"`
	PrefixLen int    `json:"prefix_len"`
	// Gateway is the subnet's gateway ("" when it has none).
	Gateway string `json:"gateway,omitempty"`
}

// AddressPair is an extra source a port may use (an IP or a CIDR).
type AddressPair struct {
	IP  string `json:"ip"`
	MAC string `json:"mac"`
}

// Port is a port bound to this host.
type Port struct {
	ID      string  `json:"id"`
	Network Network `json:"network"`
	MAC     string  `json:"mac"`
	// Device is the host device ("tap…" for instances).
	Device       string    `json:"device"`
	Addresses    []Address `json:"addresses,omitempty"`
	AdminStateUp bool      `json:"admin_state_up"`
	DeviceOwner  string    `json:"device_owner,omitempty"`
	DeviceID     string    `json:"device_id,omitempty"`
	VNICType     string    `json:"vnic_type,omitempty"`
	// PortSecurity says whether anti-spoofing and security groups apply.
	PortSecurity        bool          `json:"port_security"`
	AllowedAddressPairs []AddressPair `json:"allowed_address_pairs,omitempty"`
}

// DHCPOption is an extra option served to one host.
type DHCPOption struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	IPVersion int    `json:"ip_version"`
}

// DHCPHost is a static lease.
type DHCPHost struct {
	PortID   string       `json:"port_id"`
	MAC      string       `json:"mac"`
	IPs      []string     `json:"ips"`
	Hostname string       `json:"hostname"`
	Options  []DHCPOption `json:"options,omitempty"`
}

// DHCP is the DHCP service of one network on this host.
type DHCP struct {
	Network Network `json:"network"`
	// Port is the DHCP server's own port.
	Port    Port       `json:"port"`
	Subnets []Subnet   `json:"subnets"`
	Hosts   []DHCPHost `json:"hosts"`
	// DNSDomain is the domain of host names ("openstacklocal").
	DNSDomain string `json:"dns_domain,omitempty"`
	// MetadataRoute asks for a 169.254.169.254 route through the DHCP port
	// (isolated networks).
	MetadataRoute bool `json:"metadata_route,omitempty"`
}

// RouterPort is a router interface or gateway.
type RouterPort struct {
	PortID    string    `json:"port_id"`
	Network   Network   `json:"network"`
	MAC       string    `json:"mac"`
	Device    string    `json:"device"`
	Addresses []Address `json:"addresses"`
	Subnets   []Subnet  `json:"subnets,omitempty"`
}

// FloatingIP maps an external address to a fixed one (DNAT and SNAT).
type FloatingIP struct {
	ID         string `json:"id"`
	FloatingIP string `json:"floating_ip"`
	FixedIP    string `json:"fixed_ip"`
	PortID     string `json:"port_id"`
}

// Router is a router hosted on this host.
type Router struct {
	ID           string `json:"id"`
	AdminStateUp bool   `json:"admin_state_up"`
	// Namespace is where the router lives ("qrouter-<id>").
	Namespace string `json:"namespace"`
	// Gateway is nil for a router without external gateway.
	Gateway     *RouterPort  `json:"gateway,omitempty"`
	EnableSNAT  bool         `json:"enable_snat"`
	Interfaces  []RouterPort `json:"interfaces"`
	Routes      []Route      `json:"routes,omitempty"`
	FloatingIPs []FloatingIP `json:"floating_ips,omitempty"`
}

// Rule is a security group rule resolved to address prefixes.
type Rule struct {
	Direction string `json:"direction"` // ingress, egress
	EtherType string `json:"ethertype"` // IPv4, IPv6
	// Protocol is a name (tcp, udp, icmp, ipv6-icmp, ...) or a number; ""
	// means any.
	Protocol string `json:"protocol,omitempty"`
	// PortMin and PortMax bound destination ports (or ICMP type and code);
	// nil means unbounded.
	PortMin *int `json:"port_min,omitempty"`
	PortMax *int `json:"port_max,omitempty"`
	// RemoteCIDRs are the peers allowed when the rule names no remote
	// group; empty means any.
	RemoteCIDRs []string `json:"remote_cidrs,omitempty"`
	// RemoteGroupID, when set, allows the peers in the member set of that
	// group of the rule's EtherType (MemberSet, an ipset in a Linux
	// driver); a group with no members, or whose set the host does not
	// hold, allows nothing. RemoteCIDRs is then empty.
	RemoteGroupID string `json:"remote_group_id,omitempty"`
}

// MemberSet is the addresses of the ports in a security group, of one
// EtherType: what rules naming the group as remote group match. Sets are
// kept apart from the rules so that a port joining a group changes one set
// on each host, not the filter of every port.
type MemberSet struct {
	GroupID   string `json:"group_id"`
	EtherType string `json:"ethertype"` // IPv4, IPv6
	// CIDRs are the members' fixed IPs (as /32 or /128) and allowed
	// address pairs, masked, sorted and without duplicates.
	CIDRs []string `json:"cidrs"`
}

// PortFilter is the firewall of one port.
type PortFilter struct {
	PortID string `json:"port_id"`
	Device string `json:"device"`
	MAC    string `json:"mac"`
	// IPs are the port's own addresses (anti-spoofing).
	IPs                 []string      `json:"ips"`
	AllowedAddressPairs []AddressPair `json:"allowed_address_pairs,omitempty"`
	// Enabled is false for ports without port security: no filtering.
	Enabled  bool   `json:"enabled"`
	Stateful bool   `json:"stateful"`
	Rules    []Rule `json:"rules"`
	// Groups are the security groups the rules came from.
	Groups []string `json:"groups,omitempty"`
}

// State is everything a host should have: the desired state Resync applies.
type State struct {
	Networks []Network    `json:"networks"`
	Ports    []Port       `json:"ports"`
	DHCP     []DHCP       `json:"dhcp"`
	Routers  []Router     `json:"routers"`
	Filters  []PortFilter `json:"filters"`
	// MemberSets are the sets the filters' remote groups name.
	MemberSets []MemberSet `json:"member_sets,omitempty"`
}

// Capabilities say what a driver can do and how its ports are bound.
type Capabilities struct {
	// AgentType and Binary name the L2 agent as Neutron would ("Linux
	// bridge agent", "neutron-linuxbridge-agent").
	AgentType string
	Binary    string
	// VIFType and VIFDetails are the binding the server reports to Nova.
	VIFType    string
	VIFDetails map[string]any
	// NetworkTypes are the segment types the driver can wire.
	NetworkTypes []string
	// DHCP, L3 and Metadata say whether the driver serves those.
	DHCP, L3, Metadata bool
	// TunnelingIP is the host's tunnel address ([vxlan] local_ip; "" when
	// the driver carries no tunnels) and TunnelTypes the tunnels it makes
	// ("vxlan"): the L2 agent reports them, and the server tells every
	// host the others' addresses.
	TunnelingIP string
	TunnelTypes []string
}

// Driver wires a host's data plane.
type Driver interface {
	// Capabilities describes the driver; it must not block.
	Capabilities() Capabilities
	// EnsureNetwork makes the network's bridge and segment exist.
	EnsureNetwork(ctx context.Context, n Network) error
	// DeleteNetwork removes what EnsureNetwork made.
	DeleteNetwork(ctx context.Context, networkID string) error
	// PlugPort wires a port (its network already ensured). A nil error means
	// the port is up, unless the driver implements Watcher.
	PlugPort(ctx context.Context, p Port) error
	// UnplugPort undoes PlugPort.
	UnplugPort(ctx context.Context, portID string) error
	// EnsureDHCP serves DHCP for a network exactly as described.
	EnsureDHCP(ctx context.Context, d DHCP) error
	// DeleteDHCP stops serving DHCP for a network.
	DeleteDHCP(ctx context.Context, networkID string) error
	// EnsureRouter makes a router exactly as described: interfaces,
	// gateway with SNAT, routes and floating-IP DNAT. A router
	// administratively down forwards nothing (Neutron's L3 agent removes
	// it).
	EnsureRouter(ctx context.Context, r Router) error
	// DeleteRouter removes a router.
	DeleteRouter(ctx context.Context, routerID string) error
	// ApplySecurityGroups sets the filters of the given ports, replacing
	// what they had.
	ApplySecurityGroups(ctx context.Context, filters []PortFilter) error
	// RemoveSecurityGroups drops the filters of ports.
	RemoveSecurityGroups(ctx context.Context, portIDs []string) error
	// SetMemberSets replaces the addresses of the given member sets,
	// creating the sets that do not exist yet.
	SetMemberSets(ctx context.Context, sets []MemberSet) error
	// RemoveMemberSets drops the member sets of groups (both EtherTypes)
	// that no filter of the host names any more.
	RemoveMemberSets(ctx context.Context, groupIDs []string) error
	// Resync makes the host hold exactly the desired state, removing
	// anything else the driver made. Agents call it after a restart.
	Resync(ctx context.Context, desired State) error
}

// Tunneler is implemented by drivers that carry networks between hosts in
// tunnels (VXLAN): the agent gives them the other hosts' tunnel addresses
// as the server hears of them.
type Tunneler interface {
	// SetTunnelPeers replaces the addresses every tunnel floods to.
	SetTunnelPeers(ctx context.Context, peers []string) error
}

// PortEvent says a port's device came up or went away.
type PortEvent struct {
	PortID string
	Up     bool
}

// Watcher is implemented by drivers whose ports are up only once their device
// appears (a tap the hypervisor creates): the agent then reports port status
// from Events instead of from PlugPort.
type Watcher interface {
	Events() <-chan PortEvent
}

// ErrNotSupported is returned for a network type or feature the driver lacks.
var ErrNotSupported = errors.New("not supported by this data plane driver")

// ErrUnknownAddress is returned by a MetadataLookup that knows no instance
// at the address.
var ErrUnknownAddress = errors.New("no instance has this address")

// MetadataLookup names the instance and project of the one port holding ip
// on one of the networks (a router's or a DHCP server's), as Neutron's
// metadata agent asks its server; ErrUnknownAddress when none (or more than
// one) does.
type MetadataLookup func(ctx context.Context, networkIDs []string, ip string) (instanceID, projectID string, err error)

// MetadataProxier is implemented by drivers that run a metadata proxy: the
// agent hands them a lookup that asks the server which instance a guest's
// address belongs to.
type MetadataProxier interface {
	SetMetadataLookup(l MetadataLookup)
}

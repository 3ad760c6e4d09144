package network

// Network is a layer-2 network.
type Network struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	TenantID              string   `json:"tenant_id"`
	ProjectID             string   `json:"project_id"`
	AdminStateUp          bool     `json:"admin_state_up"`
	Status                string   `json:"status"`
	Subnets               []string `json:"subnets"`
	Shared                bool     `json:"shared"`
	External              bool     `json:"router:external"`
	MTU                   int      `json:"mtu"`
	Description           string   `json:"description"`
	PortSecurityEnabled   bool     `json:"port_security_enabled"`
	AvailabilityZoneHints []string `json:"availability_zone_hints"`
	AvailabilityZones     []string `json:"availability_zones"`
	IPv4AddressScope      *string  `json:"ipv4_address_scope"`
	IPv6AddressScope      *string  `json:"ipv6_address_scope"`
	IsDefault             bool     `json:"is_default"`
	L2Adjacency           bool     `json:"l2_adjacency"`
	NetworkType           *string  `json:"provider:network_type"`
	PhysicalNetwork       *string  `json:"provider:physical_network"`
	SegmentationID        *int     `json:"provider:segmentation_id"`
	Tags                  []string `json:"tags"`
	CreatedAt             string   `json:"created_at"`
	UpdatedAt             string   `json:"updated_at"`
	RevisionNumber        int64    `json:"revision_number"`
}

// AllocationPool is a range of addresses IPAM hands out.
type AllocationPool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// HostRoute is a route DHCP hands to instances.
type HostRoute struct {
	Destination string `json:"destination"`
	NextHop     string `json:"nexthop"`
}

// Subnet is an IPv4 or IPv6 address block on a network.
type Subnet struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	TenantID        string           `json:"tenant_id"`
	ProjectID       string           `json:"project_id"`
	NetworkID       string           `json:"network_id"`
	IPVersion       int              `json:"ip_version"`
	CIDR            string           `json:"cidr"`
	GatewayIP       *string          `json:"gateway_ip"`
	EnableDHCP      bool             `json:"enable_dhcp"`
	IPv6RAMode      *string          `json:"ipv6_ra_mode"`
	IPv6AddressMode *string          `json:"ipv6_address_mode"`
	AllocationPools []AllocationPool `json:"allocation_pools"`
	HostRoutes      []HostRoute      `json:"host_routes"`
	DNSNameservers  []string         `json:"dns_nameservers"`
	SubnetPoolID    *string          `json:"subnetpool_id"`
	ServiceTypes    []string         `json:"service_types"`
	SegmentID       *string          `json:"segment_id"`
	Description     string           `json:"description"`
	Tags            []string         `json:"tags"`
	CreatedAt       string           `json:"created_at"`
	UpdatedAt       string           `json:"updated_at"`
	RevisionNumber  int64            `json:"revision_number"`
}

// FixedIP is an address of a port on one of its network's subnets.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// AddressPair is an extra MAC/IP (or CIDR) a port may send from.
type AddressPair struct {
	IPAddress  string `json:"ip_address"`
	MACAddress string `json:"mac_address"`
}

// ExtraDHCPOpt is a DHCP option served to a port.
type ExtraDHCPOpt struct {
	OptName   string `json:"opt_name"`
	OptValue  string `json:"opt_value"`
	IPVersion int    `json:"ip_version"`
}

// Port is a virtual switch port: an instance's NIC, a router interface, a DHCP
// server.
type Port struct {
	ID                  string         `json:"id"`
	Name                string         `json:"name"`
	TenantID            string         `json:"tenant_id"`
	ProjectID           string         `json:"project_id"`
	NetworkID           string         `json:"network_id"`
	MACAddress          string         `json:"mac_address"`
	AdminStateUp        bool           `json:"admin_state_up"`
	Status              string         `json:"status"`
	DeviceID            string         `json:"device_id"`
	DeviceOwner         string         `json:"device_owner"`
	FixedIPs            []FixedIP      `json:"fixed_ips"`
	AllowedAddressPairs []AddressPair  `json:"allowed_address_pairs"`
	ExtraDHCPOpts       []ExtraDHCPOpt `json:"extra_dhcp_opts"`
	SecurityGroups      []string       `json:"security_groups"`
	PortSecurityEnabled bool           `json:"port_security_enabled"`
	HostID              string         `json:"binding:host_id"`
	VNICType            string         `json:"binding:vnic_type"`
	VIFType             string         `json:"binding:vif_type"`
	VIFDetails          map[string]any `json:"binding:vif_details"`
	Profile             map[string]any `json:"binding:profile"`
	Description         string         `json:"description"`
	Tags                []string       `json:"tags"`
	CreatedAt           string         `json:"created_at"`
	UpdatedAt           string         `json:"updated_at"`
	RevisionNumber      int64          `json:"revision_number"`
}

// ExternalFixedIP is an address of a router's gateway port.
type ExternalFixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// GatewayInfo is a router's external gateway.
type GatewayInfo struct {
	NetworkID        string            `json:"network_id"`
	EnableSNAT       bool              `json:"enable_snat"`
	ExternalFixedIPs []ExternalFixedIP `json:"external_fixed_ips"`
}

// Route is a static route of a router.
type Route struct {
	Destination string `json:"destination"`
	NextHop     string `json:"nexthop"`
}

// Router connects networks and, through its gateway, the outside.
type Router struct {
	ID                  string       `json:"id"`
	Name                string       `json:"name"`
	TenantID            string       `json:"tenant_id"`
	ProjectID           string       `json:"project_id"`
	AdminStateUp        bool         `json:"admin_state_up"`
	Status              string       `json:"status"`
	ExternalGatewayInfo *GatewayInfo `json:"external_gateway_info"`
	Routes              []Route      `json:"routes"`
	// Distributed and HA are kept in the store; the API does not show them
	// (tenku offers neither DVR nor HA routers).
	Distributed           bool     `json:"-"`
	HA                    bool     `json:"-"`
	AvailabilityZoneHints []string `json:"availability_zone_hints"`
	AvailabilityZones     []string `json:"availability_zones"`
	Description           string   `json:"description"`
	Tags                  []string `json:"tags"`
	CreatedAt             string   `json:"created_at"`
	UpdatedAt             string   `json:"updated_at"`
	RevisionNumber        int64    `json:"revision_number"`
}

// RouterInterface answers add_router_interface and remove_router_interface.
type RouterInterface struct {
	ID        string   `json:"id"`
	TenantID  string   `json:"tenant_id"`
	ProjectID string   `json:"project_id"`
	PortID    string   `json:"port_id"`
	NetworkID string   `json:"network_id"`
	SubnetID  string   `json:"subnet_id"`
	SubnetIDs []string `json:"subnet_ids"`
	Tags      []string `json:"tags,omitempty"`
}

// PortDetails summarises the port a floating IP is associated with.
type PortDetails struct {
	Name         string `json:"name"`
	NetworkID    string `json:"network_id"`
	MACAddress   string `json:"mac_address"`
	AdminStateUp bool   `json:"admin_state_up"`
	Status       string `json:"status"`
	DeviceID     string `json:"device_id"`
	DeviceOwner  string `json:"device_owner"`
}

// FloatingIP is an external address mapped (DNAT) to a port's fixed address.
type FloatingIP struct {
	ID                string       `json:"id"`
	TenantID          string       `json:"tenant_id"`
	ProjectID         string       `json:"project_id"`
	FloatingNetworkID string       `json:"floating_network_id"`
	FloatingIPAddress string       `json:"floating_ip_address"`
	RouterID          *string      `json:"router_id"`
	PortID            *string      `json:"port_id"`
	FixedIPAddress    *string      `json:"fixed_ip_address"`
	Status            string       `json:"status"`
	PortDetails       *PortDetails `json:"port_details"`
	PortForwardings   []any        `json:"port_forwardings"`
	Description       string       `json:"description"`
	Tags              []string     `json:"tags"`
	CreatedAt         string       `json:"created_at"`
	UpdatedAt         string       `json:"updated_at"`
	RevisionNumber    int64        `json:"revision_number"`
}

// SecurityGroupRule allows traffic to or from the ports of a group.
type SecurityGroupRule struct {
	ID                   string  `json:"id"`
	TenantID             string  `json:"tenant_id"`
	ProjectID            string  `json:"project_id"`
	SecurityGroupID      string  `json:"security_group_id"`
	Direction            string  `json:"direction"`
	EtherType            string  `json:"ethertype"`
	Protocol             *string `json:"protocol"`
	PortRangeMin         *int    `json:"port_range_min"`
	PortRangeMax         *int    `json:"port_range_max"`
	RemoteIPPrefix       *string `json:"remote_ip_prefix"`
	NormalizedCIDR       *string `json:"normalized_cidr"`
	RemoteGroupID        *string `json:"remote_group_id"`
	RemoteAddressGroupID *string `json:"remote_address_group_id"`
	BelongsToDefaultSG   bool    `json:"belongs_to_default_sg"`
	Description          string  `json:"description"`
	CreatedAt            string  `json:"created_at"`
	UpdatedAt            string  `json:"updated_at"`
	RevisionNumber       int64   `json:"revision_number"`
}

// SecurityGroup is a named set of rules applied to ports.
type SecurityGroup struct {
	ID                 string              `json:"id"`
	Name               string              `json:"name"`
	TenantID           string              `json:"tenant_id"`
	ProjectID          string              `json:"project_id"`
	Description        string              `json:"description"`
	Stateful           bool                `json:"stateful"`
	Shared             bool                `json:"shared"`
	SecurityGroupRules []SecurityGroupRule `json:"security_group_rules"`
	Tags               []string            `json:"tags"`
	CreatedAt          string              `json:"created_at"`
	UpdatedAt          string              `json:"updated_at"`
	RevisionNumber     int64               `json:"revision_number"`
}

// SubnetPool is a set of prefixes subnets may be carved from.
type SubnetPool struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	TenantID         string   `json:"tenant_id"`
	ProjectID        string   `json:"project_id"`
	Prefixes         []string `json:"prefixes"`
	DefaultPrefixLen int      `json:"default_prefixlen"`
	MinPrefixLen     int      `json:"min_prefixlen"`
	MaxPrefixLen     int      `json:"max_prefixlen"`
	DefaultQuota     *int     `json:"default_quota"`
	IPVersion        int      `json:"ip_version"`
	Shared           bool     `json:"shared"`
	IsDefault        bool     `json:"is_default"`
	AddressScopeID   *string  `json:"address_scope_id"`
	Description      string   `json:"description"`
	Tags             []string `json:"tags"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
	RevisionNumber   int64    `json:"revision_number"`
}

// AddressScope is a set of subnet pools whose addresses do not overlap and
// route without NAT.
type AddressScope struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	TenantID  string `json:"tenant_id"`
	ProjectID string `json:"project_id"`
	IPVersion int    `json:"ip_version"`
	Shared    bool   `json:"shared"`
}

// Agent is a network agent as the server knows it from its heartbeats.
type Agent struct {
	ID                 string         `json:"id"`
	AgentType          string         `json:"agent_type"`
	Binary             string         `json:"binary"`
	Topic              string         `json:"topic"`
	Host               string         `json:"host"`
	AdminStateUp       bool           `json:"admin_state_up"`
	Alive              bool           `json:"alive"`
	AvailabilityZone   *string        `json:"availability_zone"`
	Configurations     map[string]any `json:"configurations"`
	ResourceVersions   map[string]any `json:"resource_versions"`
	Description        *string        `json:"description"`
	CreatedAt          string         `json:"created_at"`
	StartedAt          string         `json:"started_at"`
	HeartbeatTimestamp string         `json:"heartbeat_timestamp"`
}

// AvailabilityZone is an availability zone of network or router agents.
type AvailabilityZone struct {
	Name     string `json:"name"`
	Resource string `json:"resource"`
	State    string `json:"state"`
}

// QuotaDetail is one resource's line in a quota details answer.
type QuotaDetail struct {
	Used     int `json:"used"`
	Limit    int `json:"limit"`
	Reserved int `json:"reserved"`
}

// Extension describes an API extension the server implements.
type Extension struct {
	Name        string `json:"name"`
	Alias       string `json:"alias"`
	Description string `json:"description"`
	Updated     string `json:"updated"`
	Links       []Link `json:"links"`
}

// Link is a hyperlink in version documents and pagination.
type Link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

// Version is an API version in the root version document.
type Version struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Links  []Link `json:"links"`
}

// VersionResource names a collection in the /v2.0 document.
type VersionResource struct {
	Name       string `json:"name"`
	Collection string `json:"collection"`
	Links      []Link `json:"links"`
}

// ServiceProvider is a driver behind an advanced service.
type ServiceProvider struct {
	ServiceType string `json:"service_type"`
	Name        string `json:"name"`
	Default     bool   `json:"default"`
}

// ErrorBody is Neutron's error document: {"NeutronError": {...}}.
type ErrorBody struct {
	NeutronError struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Detail  string `json:"detail"`
	} `json:"NeutronError"`
}

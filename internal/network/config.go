package network

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/network/agent"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
)

// Config is neutron.conf, with Neutron's section and option names.
type Config struct {
	Default    DefaultSection    `section:"DEFAULT"`
	ML2        ML2Section        `section:"ml2"`
	ML2Flat    ML2FlatSection    `section:"ml2_type_flat"`
	ML2VLAN    ML2VLANSection    `section:"ml2_type_vlan"`
	ML2VXLAN   ML2VXLANSection   `section:"ml2_type_vxlan"`
	Quotas     QuotasSection     `section:"quotas"`
	Nova       NovaSection       `section:"nova"`
	Agent      agent.Config      `section:"agent"`
	OsloPolicy OsloPolicySection `section:"oslo_policy"`
}

// DefaultSection is [DEFAULT].
type DefaultSection struct {
	BaseMAC                       string        `opt:"base_mac" help:"Base MAC address of ports; its bytes that are 00 are randomised (the first three must be non-zero)."`
	DHCPAgentsPerNetwork          int           `opt:"dhcp_agents_per_network" help:"Number of DHCP agents scheduled to host each network."`
	GlobalPhysnetMTU              int           `opt:"global_physnet_mtu" help:"MTU of the underlying physical network; tunnelled networks subtract their overhead."`
	MaxDNSNameservers             int           `opt:"max_dns_nameservers" help:"Maximum number of DNS nameservers per subnet."`
	MaxSubnetHostRoutes           int           `opt:"max_subnet_host_routes" help:"Maximum number of host routes per subnet."`
	MaxAllowedAddressPair         int           `opt:"max_allowed_address_pair" help:"Maximum number of allowed address pairs per port."`
	MaxRoutes                     int           `opt:"max_routes" help:"Maximum number of static routes per router."`
	AgentDownTime                 time.Duration `opt:"agent_down_time" help:"Seconds without a heartbeat after which an agent is considered down (at least twice the agents' report_interval)."`
	DNSDomain                     string        `opt:"dns_domain" help:"Domain of the host names DHCP hands out."`
	PaginationMaxLimit            int           `opt:"pagination_max_limit" help:"Maximum number of items a list returns in one page (-1: no limit)."`
	NotifyNovaOnPortStatusChanges bool          `opt:"notify_nova_on_port_status_changes" help:"Send network-vif-plugged and network-vif-unplugged to Nova when ports of instances go up or down."`
	NotifyNovaOnPortDataChanges   bool          `opt:"notify_nova_on_port_data_changes" help:"Send network-changed and network-vif-deleted to Nova when instances' ports change or are deleted."`
	SendEventsInterval            time.Duration `opt:"send_events_interval" help:"Seconds events are gathered before they are sent to Nova in one request."`
	NetworkAutoSchedule           bool          `opt:"network_auto_schedule" help:"Place networks with DHCP on DHCP agents automatically."`
	RouterAutoSchedule            bool          `opt:"router_auto_schedule" help:"Place routers on L3 agents automatically."`
	EnableSNATByDefault           bool          `opt:"enable_snat_by_default" help:"Default enable_snat of router gateways."`
	EnableIsolatedMetadata        bool          `opt:"enable_isolated_metadata" help:"Serve a route to the metadata service through DHCP on networks without a router."`
	DefaultAvailabilityZone       string        `opt:"default_availability_zone" help:"Availability zone reported for agents that name none."`
}

// ML2Section is [ml2].
type ML2Section struct {
	TypeDrivers        []string `opt:"type_drivers" help:"Network types that may be created (local, flat, vlan, vxlan)."`
	TenantNetworkTypes []string `opt:"tenant_network_types" help:"Network types given to project networks, in order of preference."`
	PathMTU            int      `opt:"path_mtu" help:"MTU of the path tunnelled networks use (0: global_physnet_mtu)."`
}

// ML2FlatSection is [ml2_type_flat].
type ML2FlatSection struct {
	FlatNetworks []string `opt:"flat_networks" help:"Physical networks flat networks may use ('*' for any)."`
}

// ML2VLANSection is [ml2_type_vlan].
type ML2VLANSection struct {
	NetworkVLANRanges []string `opt:"network_vlan_ranges" help:"Physical networks for VLAN networks, as physnet or physnet:min:max (with a range, project networks get VLANs from it)."`
}

// ML2VXLANSection is [ml2_type_vxlan].
type ML2VXLANSection struct {
	VNIRanges []string `opt:"vni_ranges" help:"min:max ranges of VXLAN ids project networks are given."`
}

// QuotasSection is [quotas].
type QuotasSection struct {
	Network           int `opt:"quota_network" help:"Networks per project (-1: unlimited)."`
	Subnet            int `opt:"quota_subnet" help:"Subnets per project (-1: unlimited)."`
	Port              int `opt:"quota_port" help:"Ports per project (-1: unlimited)."`
	Router            int `opt:"quota_router" help:"Routers per project (-1: unlimited)."`
	FloatingIP        int `opt:"quota_floatingip" help:"Floating IPs per project (-1: unlimited)."`
	SecurityGroup     int `opt:"quota_security_group" help:"Security groups per project (-1: unlimited)."`
	SecurityGroupRule int `opt:"quota_security_group_rule" help:"Security group rules per project (-1: unlimited)."`
	SubnetPool        int `opt:"quota_subnetpool" help:"Subnet pools per project (-1: unlimited)."`
	RBACPolicy        int `opt:"quota_rbac_policy" help:"RBAC policies per project (-1: unlimited)."`
}

// NovaSection is [nova]: how Nova is reached for external events.
type NovaSection struct {
	RegionName   string `opt:"region_name" help:"Region of the compute endpoint in the catalog (empty: the service's region)."`
	EndpointType string `opt:"endpoint_type" help:"Interface of the compute endpoint: public, internal or admin."`
}

// OsloPolicySection is [oslo_policy].
type OsloPolicySection struct {
	PolicyFile   string `opt:"policy_file" help:"Policy overrides (YAML or JSON) in Neutron's rule names."`
	EnforceScope bool   `opt:"enforce_scope" help:"Refuse tokens whose scope the rule does not allow."`
}

// DefaultConfig returns Neutron's defaults with devstack's ML2 settings.
func DefaultConfig() Config {
	p := plugin.DefaultConfig()
	return Config{
		Default: DefaultSection{
			BaseMAC: p.BaseMAC, DHCPAgentsPerNetwork: p.DHCPAgentsPerNetwork, GlobalPhysnetMTU: p.GlobalPhysnetMTU,
			MaxDNSNameservers: p.MaxDNSNameservers, MaxSubnetHostRoutes: p.MaxSubnetHostRoutes,
			MaxAllowedAddressPair: p.MaxAllowedAddressPairs, MaxRoutes: p.MaxRoutes, AgentDownTime: p.AgentDownTime,
			DNSDomain: p.DNSDomain, PaginationMaxLimit: -1, NotifyNovaOnPortStatusChanges: true, NotifyNovaOnPortDataChanges: true,
			SendEventsInterval: 2 * time.Second, NetworkAutoSchedule: true, RouterAutoSchedule: true, EnableSNATByDefault: true,
			EnableIsolatedMetadata: true, DefaultAvailabilityZone: "nova",
		},
		ML2:      ML2Section{TypeDrivers: []string{"local", "flat", "vlan", "vxlan"}, TenantNetworkTypes: []string{"vxlan"}},
		ML2Flat:  ML2FlatSection{FlatNetworks: []string{"*"}},
		ML2VLAN:  ML2VLANSection{NetworkVLANRanges: []string{"public"}},
		ML2VXLAN: ML2VXLANSection{VNIRanges: []string{"1:1000"}},
		Quotas: QuotasSection{Network: 100, Subnet: 100, Port: 500, Router: 10, FloatingIP: 50, SecurityGroup: 10,
			SecurityGroupRule: 100, SubnetPool: -1, RBACPolicy: 10},
		Nova:       NovaSection{EndpointType: "public"},
		Agent:      agent.DefaultConfig(),
		OsloPolicy: OsloPolicySection{EnforceScope: true},
	}
}

func parseRange(s string) (plugin.IDRange, error) {
	a, b, ok := strings.Cut(s, ":")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi < lo {
		return plugin.IDRange{}, fmt.Errorf("range %q: want min:max with 1 <= min <= max", s)
	}
	return plugin.IDRange{Min: lo, Max: hi}, nil
}

// Validate checks the configuration.
func (c Config) Validate() error {
	_, err := c.pluginConfig()
	return err
}

// pluginConfig converts neutron.conf to the plugin's configuration.
func (c Config) pluginConfig() (plugin.Config, error) {
	p := plugin.DefaultConfig()
	d := c.Default
	p.BaseMAC, p.DHCPAgentsPerNetwork, p.GlobalPhysnetMTU, p.PathMTU = d.BaseMAC, d.DHCPAgentsPerNetwork, d.GlobalPhysnetMTU, c.ML2.PathMTU
	p.MaxDNSNameservers, p.MaxSubnetHostRoutes, p.MaxAllowedAddressPairs, p.MaxRoutes = d.MaxDNSNameservers, d.MaxSubnetHostRoutes, d.MaxAllowedAddressPair, d.MaxRoutes
	p.AgentDownTime, p.DNSDomain, p.DefaultAvailabilityZone = d.AgentDownTime, d.DNSDomain, d.DefaultAvailabilityZone
	p.NotifyNovaOnPortStatusChanges, p.NotifyNovaOnPortDataChanges = d.NotifyNovaOnPortStatusChanges, d.NotifyNovaOnPortDataChanges
	p.NetworkAutoSchedule, p.RouterAutoSchedule, p.EnableSNATByDefault = d.NetworkAutoSchedule, d.RouterAutoSchedule, d.EnableSNATByDefault
	p.EnableIsolatedMetadata = d.EnableIsolatedMetadata
	if p.DHCPAgentsPerNetwork < 1 {
		return p, fmt.Errorf("[DEFAULT] dhcp_agents_per_network must be at least 1")
	}
	if p.AgentDownTime <= 0 {
		return p, fmt.Errorf("[DEFAULT] agent_down_time must be positive")
	}
	if p.GlobalPhysnetMTU < 68 {
		return p, fmt.Errorf("[DEFAULT] global_physnet_mtu %d is below 68", p.GlobalPhysnetMTU)
	}
	known := map[string]bool{"local": true, "flat": true, "vlan": true, "vxlan": true}
	for _, t := range c.ML2.TypeDrivers {
		if !known[t] {
			return p, fmt.Errorf("[ml2] type_drivers: %q is not supported (local, flat, vlan, vxlan)", t)
		}
	}
	for _, t := range c.ML2.TenantNetworkTypes {
		if !known[t] || !contains(c.ML2.TypeDrivers, t) {
			return p, fmt.Errorf("[ml2] tenant_network_types: %q is not among type_drivers", t)
		}
	}
	p.TypeDrivers, p.TenantNetworkTypes = c.ML2.TypeDrivers, c.ML2.TenantNetworkTypes
	p.FlatNetworks = c.ML2Flat.FlatNetworks
	p.VLANRanges = map[string][]plugin.IDRange{}
	for _, e := range c.ML2VLAN.NetworkVLANRanges {
		physnet, rng, hasRange := strings.Cut(e, ":")
		if physnet == "" {
			return p, fmt.Errorf("[ml2_type_vlan] network_vlan_ranges: %q has no physical network", e)
		}
		if _, ok := p.VLANRanges[physnet]; !ok {
			p.VLANRanges[physnet] = nil
		}
		if hasRange {
			r, err := parseRange(rng)
			if err != nil || r.Max > 4094 {
				return p, fmt.Errorf("[ml2_type_vlan] network_vlan_ranges: %q: VLAN ids are 1 to 4094", e)
			}
			p.VLANRanges[physnet] = append(p.VLANRanges[physnet], r)
		}
	}
	p.VNIRanges = nil
	for _, e := range c.ML2VXLAN.VNIRanges {
		r, err := parseRange(e)
		if err != nil || r.Max > 1<<24-1 {
			return p, fmt.Errorf("[ml2_type_vxlan] vni_ranges: %q: VNIs are 1 to 16777215", e)
		}
		p.VNIRanges = append(p.VNIRanges, r)
	}
	q := c.Quotas
	p.Quotas = map[string]int{"network": q.Network, "subnet": q.Subnet, "port": q.Port, "router": q.Router, "floatingip": q.FloatingIP,
		"security_group": q.SecurityGroup, "security_group_rule": q.SecurityGroupRule, "subnetpool": q.SubnetPool, "rbac_policy": q.RBACPolicy}
	return p, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

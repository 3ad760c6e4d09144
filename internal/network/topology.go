package network

import (
	"context"
	"fmt"
	"net/netip"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

// Topology describes devstack's default networks.
type Topology struct {
	// AdminProjectID owns the public network; DemoProjectID the private
	// network, its router and its default security group.
	AdminProjectID string
	DemoProjectID  string
	// PublicCIDR and PublicGateway are devstack's FLOATING_RANGE and
	// PUBLIC_NETWORK_GATEWAY (172.24.4.0/24, 172.24.4.1).
	PublicCIDR    string
	PublicGateway string
	// PublicPhysicalNetwork carries the flat public network ("public").
	PublicPhysicalNetwork string
	// PrivateCIDR is devstack's FIXED_RANGE (10.0.0.0/26).
	PrivateCIDR string
}

// DevstackTopology returns devstack's defaults for the given projects.
func DevstackTopology(adminProject, demoProject string) Topology {
	return Topology{AdminProjectID: adminProject, DemoProjectID: demoProject, PublicCIDR: "172.24.4.0/24",
		PublicGateway: "172.24.4.1", PublicPhysicalNetwork: "public", PrivateCIDR: "10.0.0.0/26"}
}

// TopologyIDs are the resources of the default topology.
type TopologyIDs struct {
	PublicNetworkID, PublicSubnetID, PrivateNetworkID, PrivateSubnetID, RouterID, DemoSecurityGroupID string
}

// EnsureDefaultTopology makes devstack's initial networks exist: an external
// flat network "public" with "public-subnet" (no DHCP), a network "private"
// for the demo project with "private-subnet", a router "router1" with its
// gateway on public and an interface on private-subnet, and the demo
// project's default security group. Resources found by name are reused, so a
// second call changes nothing.
func (s *Service) EnsureDefaultTopology(ctx context.Context, t Topology) (TopologyIDs, error) {
	return EnsureTopology(ctx, s.plugin, t)
}

// EnsureTopology is EnsureDefaultTopology on a plugin.
func EnsureTopology(ctx context.Context, p *plugin.Plugin, t Topology) (TopologyIDs, error) {
	var ids TopologyIDs
	if t.DemoProjectID == "" {
		return ids, fmt.Errorf("topology: the demo project id is required")
	}
	if t.AdminProjectID == "" {
		t.AdminProjectID = t.DemoProjectID
	}
	pub, err := netip.ParsePrefix(t.PublicCIDR)
	if err != nil {
		return ids, fmt.Errorf("topology: public range %q: %w", t.PublicCIDR, err)
	}
	if _, err := netip.ParsePrefix(t.PrivateCIDR); err != nil {
		return ids, fmt.Errorf("topology: private range %q: %w", t.PrivateCIDR, err)
	}
	if t.PublicGateway == "" {
		t.PublicGateway = pub.Masked().Addr().Next().String()
	}
	admin := plugin.Caller{ProjectID: t.AdminProjectID, Admin: true}
	demo := plugin.Caller{ProjectID: t.DemoProjectID}
	st := p.Store()
	str := func(s string) *string { return &s }
	b := func(v bool) *bool { return &v }
	four := 4

	net, err := findNetwork(ctx, st, t.AdminProjectID, "public")
	if err != nil {
		return ids, err
	}
	if net == nil {
		spec := plugin.NetworkSpec{ProjectID: t.AdminProjectID, Name: str("public"), External: b(true)}
		if t.PublicPhysicalNetwork != "" {
			spec.NetworkType, spec.PhysicalNetwork = str(netapi.NetworkTypeFlat), &t.PublicPhysicalNetwork
		}
		if net, err = p.CreateNetwork(ctx, spec); err != nil {
			return ids, fmt.Errorf("create network public: %w", err)
		}
	}
	ids.PublicNetworkID = net.ID
	sub, err := findSubnet(ctx, st, net.ID, "public-subnet")
	if err != nil {
		return ids, err
	}
	if sub == nil {
		sub, err = p.CreateSubnet(ctx, plugin.SubnetSpec{ProjectID: t.AdminProjectID, NetworkID: &net.ID, Name: str("public-subnet"),
			IPVersion: &four, CIDR: &t.PublicCIDR, GatewaySet: true, GatewayIP: &t.PublicGateway, EnableDHCP: b(false)})
		if err != nil {
			return ids, fmt.Errorf("create subnet public-subnet: %w", err)
		}
	}
	ids.PublicSubnetID = sub.ID

	priv, err := findNetwork(ctx, st, t.DemoProjectID, "private")
	if err != nil {
		return ids, err
	}
	if priv == nil {
		if priv, err = p.CreateNetwork(ctx, plugin.NetworkSpec{ProjectID: t.DemoProjectID, Name: str("private")}); err != nil {
			return ids, fmt.Errorf("create network private: %w", err)
		}
	}
	ids.PrivateNetworkID = priv.ID
	psub, err := findSubnet(ctx, st, priv.ID, "private-subnet")
	if err != nil {
		return ids, err
	}
	if psub == nil {
		psub, err = p.CreateSubnet(ctx, plugin.SubnetSpec{ProjectID: t.DemoProjectID, NetworkID: &priv.ID, Name: str("private-subnet"),
			IPVersion: &four, CIDR: &t.PrivateCIDR})
		if err != nil {
			return ids, fmt.Errorf("create subnet private-subnet: %w", err)
		}
	}
	ids.PrivateSubnetID = psub.ID

	routers, err := st.Routers(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "name", Values: []any{"router1"}},
		{Field: "project_id", Values: []any{t.DemoProjectID}}})
	if err != nil {
		return ids, err
	}
	var router *nstore.Router
	if len(routers) > 0 {
		router = routers[0]
	} else {
		router, err = p.CreateRouter(ctx, plugin.RouterSpec{ProjectID: t.DemoProjectID, Name: str("router1")}, demo)
		if err != nil {
			return ids, fmt.Errorf("create router router1: %w", err)
		}
	}
	ids.RouterID = router.ID
	if router.ExternalGatewayInfo == nil {
		if _, err := p.UpdateRouter(ctx, router.ID, plugin.RouterSpec{GatewaySet: true, Gateway: &plugin.GatewaySpec{NetworkID: net.ID}}, admin); err != nil {
			return ids, fmt.Errorf("set the gateway of router1: %w", err)
		}
	}
	ports, err := st.DevicePorts(ctx, router.ID)
	if err != nil {
		return ids, err
	}
	attached := false
	for _, pt := range ports {
		for _, ip := range pt.FixedIPs {
			if pt.DeviceOwner == netapi.DeviceOwnerRouterInterface && ip.SubnetID == psub.ID {
				attached = true
			}
		}
	}
	if !attached {
		if _, err := p.AddRouterInterface(ctx, router.ID, psub.ID, "", demo); err != nil {
			return ids, fmt.Errorf("add private-subnet to router1: %w", err)
		}
	}
	if err := p.EnsureDefaultSecurityGroup(ctx, t.DemoProjectID); err != nil {
		return ids, err
	}
	ids.DemoSecurityGroupID, err = st.DefaultSecurityGroup(ctx, t.DemoProjectID)
	return ids, err
}

func findNetwork(ctx context.Context, st *nstore.Store, project, name string) (*netapi.Network, error) {
	nets, err := st.Networks(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "name", Values: []any{name}},
		{Field: "project_id", Values: []any{project}}})
	if err != nil || len(nets) == 0 {
		return nil, err
	}
	return nets[0], nil
}

func findSubnet(ctx context.Context, st *nstore.Store, networkID, name string) (*netapi.Subnet, error) {
	subs, err := st.Subnets(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "name", Values: []any{name}},
		{Field: "network_id", Values: []any{networkID}}})
	if err != nil || len(subs) == 0 {
		return nil, err
	}
	return subs[0], nil
}

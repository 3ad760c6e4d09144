package plugin

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

// What a host is sent: networks, ports, filters and routers built as the
// data plane's types, with one cache of reads per push.

// dpNetwork is a network as a host builds it.
func dpNetwork(n *netapi.Network) dataplane.Network {
	seg := dataplane.Segment{NetworkType: deref(n.NetworkType), PhysicalNetwork: deref(n.PhysicalNetwork)}
	if n.SegmentationID != nil {
		seg.SegmentationID = *n.SegmentationID
	}
	return dataplane.Network{ID: n.ID, ProjectID: n.ProjectID, Segment: seg, MTU: n.MTU, Bridge: dataplane.BridgeName(n.ID),
		AdminStateUp: n.AdminStateUp, External: n.External}
}

// cache memoises the reads one push needs.
type cache struct {
	p       *Plugin
	q       nstore.Q
	nets    map[string]*netapi.Network
	subnets map[string][]*netapi.Subnet
	groups  map[string]*netapi.SecurityGroup
	dhcpOn  map[string]map[string]bool
}

func (p *Plugin) newCache(q nstore.Q) *cache {
	return &cache{p: p, q: q, nets: map[string]*netapi.Network{}, subnets: map[string][]*netapi.Subnet{},
		groups: map[string]*netapi.SecurityGroup{}, dhcpOn: map[string]map[string]bool{}}
}

func (c *cache) network(ctx context.Context, id string) (*netapi.Network, error) {
	if n, ok := c.nets[id]; ok {
		return n, nil
	}
	n, err := c.q.Network(ctx, id)
	if err != nil {
		return nil, err
	}
	c.nets[id] = n
	return n, nil
}

func (c *cache) subnetsOf(ctx context.Context, netID string) ([]*netapi.Subnet, error) {
	if s, ok := c.subnets[netID]; ok {
		return s, nil
	}
	s, err := c.q.NetworkSubnets(ctx, netID)
	if err != nil {
		return nil, err
	}
	c.subnets[netID] = s
	return s, nil
}

func (c *cache) addresses(ctx context.Context, netID string, ips []netapi.FixedIP) ([]dataplane.Address, error) {
	subs, err := c.subnetsOf(ctx, netID)
	if err != nil {
		return nil, err
	}
	var out []dataplane.Address
	for _, ip := range ips {
		a := dataplane.Address{SubnetID: ip.SubnetID, IP: ip.IPAddress}
		for _, s := range subs {
			if s.ID == ip.SubnetID {
				a.PrefixLen = netip.MustParsePrefix(s.CIDR).Bits()
				a.Gateway = deref(s.GatewayIP)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func dpSubnet(s *netapi.Subnet) dataplane.Subnet {
	d := dataplane.Subnet{ID: s.ID, CIDR: s.CIDR, IPVersion: s.IPVersion, Gateway: deref(s.GatewayIP), EnableDHCP: s.EnableDHCP,
		DNSNameservers: s.DNSNameservers, IPv6RAMode: deref(s.IPv6RAMode), IPv6AddressMode: deref(s.IPv6AddressMode)}
	for _, r := range s.HostRoutes {
		d.HostRoutes = append(d.HostRoutes, dataplane.Route{Destination: r.Destination, NextHop: r.NextHop})
	}
	for _, pl := range s.AllocationPools {
		d.AllocationPools = append(d.AllocationPools, dataplane.Range{Start: pl.Start, End: pl.End})
	}
	return d
}

func (c *cache) port(ctx context.Context, pt *netapi.Port) (dataplane.Port, error) {
	n, err := c.network(ctx, pt.NetworkID)
	if err != nil {
		return dataplane.Port{}, err
	}
	addrs, err := c.addresses(ctx, pt.NetworkID, pt.FixedIPs)
	if err != nil {
		return dataplane.Port{}, err
	}
	d := dataplane.Port{ID: pt.ID, Network: dpNetwork(n), MAC: pt.MACAddress, Device: dataplane.TapName(pt.ID), Addresses: addrs,
		AdminStateUp: pt.AdminStateUp, DeviceOwner: pt.DeviceOwner, DeviceID: pt.DeviceID, VNICType: pt.VNICType,
		PortSecurity: pt.PortSecurityEnabled}
	for _, pr := range pt.AllowedAddressPairs {
		d.AllowedAddressPairs = append(d.AllowedAddressPairs, dataplane.AddressPair{IP: pr.IPAddress, MAC: pr.MACAddress})
	}
	return d, nil
}

func (c *cache) group(ctx context.Context, id string) (*netapi.SecurityGroup, error) {
	if g, ok := c.groups[id]; ok {
		return g, nil
	}
	g, err := c.q.SecurityGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	c.groups[id] = g
	return g, nil
}

func (c *cache) filter(ctx context.Context, pt *netapi.Port) (dataplane.PortFilter, error) {
	f := dataplane.PortFilter{PortID: pt.ID, Device: dataplane.TapName(pt.ID), MAC: pt.MACAddress, Enabled: pt.PortSecurityEnabled,
		Stateful: true, Groups: pt.SecurityGroups, Rules: []dataplane.Rule{}}
	for _, ip := range pt.FixedIPs {
		f.IPs = append(f.IPs, ip.IPAddress)
	}
	for _, pr := range pt.AllowedAddressPairs {
		f.AllowedAddressPairs = append(f.AllowedAddressPairs, dataplane.AddressPair{IP: pr.IPAddress, MAC: pr.MACAddress})
	}
	if !pt.PortSecurityEnabled {
		return f, nil
	}
	for _, gid := range pt.SecurityGroups {
		g, err := c.group(ctx, gid)
		if nstore.IsNotFound(err) {
			continue
		}
		if err != nil {
			return f, err
		}
		f.Stateful = f.Stateful && g.Stateful
		for _, r := range g.SecurityGroupRules {
			dr := dataplane.Rule{Direction: r.Direction, EtherType: r.EtherType, Protocol: deref(r.Protocol),
				PortMin: r.PortRangeMin, PortMax: r.PortRangeMax}
			switch {
			case r.RemoteGroupID != nil:
				// The host resolves it with the group's member set.
				dr.RemoteGroupID = *r.RemoteGroupID
			case r.NormalizedCIDR != nil:
				if c := *r.NormalizedCIDR; c != "0.0.0.0/0" && c != "::/0" {
					dr.RemoteCIDRs = []string{c}
				}
			}
			f.Rules = append(f.Rules, dr)
		}
	}
	return f, nil
}

// router builds a router as its host runs it.
func (c *cache) router(ctx context.Context, r *nstore.Router) (dataplane.Router, error) {
	d := dataplane.Router{ID: r.ID, AdminStateUp: r.AdminStateUp, Namespace: dataplane.RouterNamespace(r.ID), EnableSNAT: r.EnableSNAT,
		Interfaces: []dataplane.RouterPort{}}
	for _, rt := range r.Routes {
		d.Routes = append(d.Routes, dataplane.Route{Destination: rt.Destination, NextHop: rt.NextHop})
	}
	ports, err := c.q.DevicePorts(ctx, r.ID)
	if err != nil {
		return d, err
	}
	slices.SortFunc(ports, func(a, b *netapi.Port) int { return strings.Compare(a.ID, b.ID) })
	for _, pt := range ports {
		if !isRouterPort(pt.DeviceOwner) {
			continue
		}
		n, err := c.network(ctx, pt.NetworkID)
		if err != nil {
			return d, err
		}
		addrs, err := c.addresses(ctx, pt.NetworkID, pt.FixedIPs)
		if err != nil {
			return d, err
		}
		rp := dataplane.RouterPort{PortID: pt.ID, Network: dpNetwork(n), MAC: pt.MACAddress, Addresses: addrs}
		subs, err := c.subnetsOf(ctx, pt.NetworkID)
		if err != nil {
			return d, err
		}
		for _, s := range subs {
			if slices.ContainsFunc(pt.FixedIPs, func(ip netapi.FixedIP) bool { return ip.SubnetID == s.ID }) {
				rp.Subnets = append(rp.Subnets, dpSubnet(s))
			}
		}
		if pt.DeviceOwner == netapi.DeviceOwnerRouterGateway {
			rp.Device = "qg-" + pt.ID[:min(11, len(pt.ID))]
			g := rp
			d.Gateway = &g
		} else {
			rp.Device = "qr-" + pt.ID[:min(11, len(pt.ID))]
			d.Interfaces = append(d.Interfaces, rp)
		}
	}
	fips, err := c.q.FloatingIPsWhere(ctx, "router_id", r.ID)
	if err != nil {
		return d, err
	}
	for _, f := range fips {
		if f.FixedIPAddress != nil && f.PortID != nil {
			d.FloatingIPs = append(d.FloatingIPs, dataplane.FloatingIP{ID: f.ID, FloatingIP: f.FloatingIPAddress, FixedIP: *f.FixedIPAddress, PortID: *f.PortID})
		}
	}
	return d, nil
}

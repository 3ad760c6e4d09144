package plugin

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/notify"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

// The plugin tells agents about changes after each commit. Port changes go
// straight to the port's host; DHCP services, routers and security group
// filters, which many changes touch, are marked dirty and recomputed by a
// background loop that coalesces bursts (a thousand ports created in a second
// produce a few DHCP updates, not a thousand).

type dirtySet struct {
	mu       sync.Mutex
	nets     map[string]bool
	routers  map[string]bool
	groups   map[string]bool
	wake     chan struct{}
	running  bool
	stop     chan struct{}
	done     chan struct{}
	interval time.Duration
}

func (p *Plugin) dirty() *dirtySet {
	p.dirtyOnce.Do(func() {
		p.d = &dirtySet{nets: map[string]bool{}, routers: map[string]bool{}, groups: map[string]bool{},
			wake: make(chan struct{}, 1), interval: 50 * time.Millisecond}
	})
	return p.d
}

// Start runs the background loop that pushes DHCP, router and filter changes
// to agents; Stop ends it. Without Start, changes are pushed inline.
func (p *Plugin) Start(ctx context.Context) {
	d := p.dirty()
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return
	}
	d.running = true
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	d.mu.Unlock()
	go p.loop(context.WithoutCancel(ctx), d)
}

// Stop ends the background loop after a last flush.
func (p *Plugin) Stop(ctx context.Context) {
	d := p.dirty()
	d.mu.Lock()
	if !d.running {
		d.mu.Unlock()
		return
	}
	d.running = false
	close(d.stop)
	d.mu.Unlock()
	select {
	case <-d.done:
	case <-ctx.Done():
	}
}

func (p *Plugin) loop(ctx context.Context, d *dirtySet) {
	defer close(d.done)
	for {
		select {
		case <-d.stop:
			p.flush(ctx)
			return
		case <-d.wake:
		}
		select {
		case <-d.stop:
		case <-time.After(d.interval):
		}
		p.flush(ctx)
	}
}

func (p *Plugin) mark(ctx context.Context, set func(d *dirtySet)) {
	if p.bus == nil {
		return
	}
	d := p.dirty()
	d.mu.Lock()
	set(d)
	running := d.running
	d.mu.Unlock()
	if !running {
		p.flush(ctx)
		return
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (p *Plugin) markNetwork(ctx context.Context, id string) {
	p.mark(ctx, func(d *dirtySet) { d.nets[id] = true })
}

func (p *Plugin) markRouter(ctx context.Context, id string) {
	if id == "" {
		return
	}
	p.mark(ctx, func(d *dirtySet) { d.routers[id] = true })
}

func (p *Plugin) markGroups(ctx context.Context, ids ...string) {
	if len(ids) == 0 {
		return
	}
	p.mark(ctx, func(d *dirtySet) {
		for _, id := range ids {
			d.groups[id] = true
		}
	})
}

// flush pushes everything dirty.
func (p *Plugin) flush(ctx context.Context) {
	d := p.dirty()
	d.mu.Lock()
	nets, routers, groups := d.nets, d.routers, d.groups
	d.nets, d.routers, d.groups = map[string]bool{}, map[string]bool{}, map[string]bool{}
	d.mu.Unlock()
	for id := range nets {
		if err := p.syncNetworkDHCP(ctx, id); err != nil {
			p.log.WarnContext(ctx, "dhcp update failed", "network_id", id, "err", err)
		}
	}
	for id := range routers {
		if err := p.syncRouter(ctx, id); err != nil {
			p.log.WarnContext(ctx, "router update failed", "router_id", id, "err", err)
		}
	}
	if len(groups) > 0 {
		ids := make([]string, 0, len(groups))
		for id := range groups {
			ids = append(ids, id)
		}
		if err := p.syncGroups(ctx, ids); err != nil {
			p.log.WarnContext(ctx, "security group update failed", "err", err)
		}
	}
}

func (p *Plugin) cast(ctx context.Context, subject, method string, args any) {
	if p.bus == nil {
		return
	}
	if err := p.bus.Cast(ctx, subject, method, args); err != nil {
		p.log.WarnContext(ctx, "cast to agents failed", "subject", subject, "method", method, "err", err)
	}
}

func isBound(pt *netapi.Port) bool {
	return pt.HostID != "" && pt.VIFType != netapi.VIFTypeUnbound && pt.VIFType != netapi.VIFTypeBindingFailed
}

// afterPortChange tells the hosts, DHCP servers, routers, filters and Nova
// about a port that was created (old nil), changed, or deleted (new nil).
func (p *Plugin) afterPortChange(ctx context.Context, old, new *netapi.Port) {
	if new != nil && isBound(new) && !isNetworkOwned(new.DeviceOwner) {
		if up, err := p.portUpdate(ctx, new); err != nil {
			p.log.WarnContext(ctx, "port update for agent", "port_id", new.ID, "err", err)
		} else {
			p.cast(ctx, rpc.HostSubject(new.HostID), rpc.MethodPortUpdate, up)
		}
	}
	if old != nil && old.HostID != "" && !isNetworkOwned(old.DeviceOwner) && (new == nil || new.HostID != old.HostID || isNetworkOwned(new.DeviceOwner)) {
		p.cast(ctx, rpc.HostSubject(old.HostID), rpc.MethodPortDelete, rpc.PortDelete{PortID: old.ID, NetworkID: old.NetworkID})
	}
	var netID string
	var groups []string
	ipsChanged := old == nil || new == nil || !slices.Equal(old.FixedIPs, new.FixedIPs) || old.MACAddress != new.MACAddress ||
		!slices.Equal(old.AllowedAddressPairs, new.AllowedAddressPairs)
	if old != nil {
		netID = old.NetworkID
		if ipsChanged || !slices.Equal(old.SecurityGroups, new.SecurityGroups) {
			groups = append(groups, old.SecurityGroups...)
		}
	}
	if new != nil {
		netID = new.NetworkID
		if ipsChanged || old != nil && !slices.Equal(old.SecurityGroups, new.SecurityGroups) {
			groups = append(groups, new.SecurityGroups...)
		}
	}
	if (ipsChanged || old != nil && new != nil && !slices.Equal(old.ExtraDHCPOpts, new.ExtraDHCPOpts)) && !(new != nil && new.DeviceOwner == netapi.DeviceOwnerDHCP && old == nil) {
		p.markNetwork(ctx, netID)
	}
	p.markGroups(ctx, groups...)
	for _, pt := range []*netapi.Port{old, new} {
		if pt != nil && isRouterPort(pt.DeviceOwner) {
			p.markRouter(ctx, pt.DeviceID)
		}
	}
	if !p.cfg.NotifyNovaOnPortDataChanges {
		return
	}
	switch {
	case new == nil && old != nil && isComputeOwned(old.DeviceOwner) && old.DeviceID != "":
		p.nova.Notify(ctx, notify.Event{Name: netapi.EventVIFDeleted, ServerUUID: old.DeviceID, Tag: old.ID, Status: notify.Completed})
	case old != nil && new != nil && isComputeOwned(new.DeviceOwner) && new.DeviceID != "" && !slices.Equal(old.FixedIPs, new.FixedIPs):
		p.nova.Notify(ctx, notify.Event{Name: netapi.EventChanged, ServerUUID: new.DeviceID, Tag: new.ID, Status: notify.Completed})
	}
}

// portDataChanged tells Nova a port's floating IPs changed.
func (p *Plugin) portDataChanged(ctx context.Context, portID string) {
	if portID == "" || !p.cfg.NotifyNovaOnPortDataChanges {
		return
	}
	pt, err := p.st.Port(ctx, portID)
	if err != nil || !isComputeOwned(pt.DeviceOwner) || pt.DeviceID == "" {
		return
	}
	p.nova.Notify(ctx, notify.Event{Name: netapi.EventChanged, ServerUUID: pt.DeviceID, Tag: pt.ID, Status: notify.Completed})
}

// afterSubnetChange refreshes the network's DHCP (scheduling it if needed).
func (p *Plugin) afterSubnetChange(ctx context.Context, networkID string, dhcp bool) {
	p.markNetwork(ctx, networkID)
	// Routers on the subnet's network learn of gateway or route changes.
	ports, err := p.st.NetworkPorts(ctx, networkID)
	if err != nil {
		return
	}
	for _, pt := range ports {
		if isRouterPort(pt.DeviceOwner) {
			p.markRouter(ctx, pt.DeviceID)
		}
	}
}

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
	members map[string][]*netapi.Port
}

func (p *Plugin) newCache(q nstore.Q) *cache {
	return &cache{p: p, q: q, nets: map[string]*netapi.Network{}, subnets: map[string][]*netapi.Subnet{},
		groups: map[string]*netapi.SecurityGroup{}, members: map[string][]*netapi.Port{}}
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

// memberCIDRs resolves a remote group to the addresses of its ports.
func (c *cache) memberCIDRs(ctx context.Context, groupID, ethertype string) ([]string, error) {
	ports, ok := c.members[groupID]
	if !ok {
		var err error
		if ports, err = c.q.SecurityGroupPorts(ctx, []string{groupID}); err != nil {
			return nil, err
		}
		c.members[groupID] = ports
	}
	var out []string
	add := func(s string) {
		pf, err := parsePrefixKeepHost(s)
		if err != nil {
			return
		}
		if (ethertype == netapi.EtherTypeIPv4) != pf.Addr().Is4() {
			return
		}
		if t := pf.Masked().String(); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, pt := range ports {
		for _, ip := range pt.FixedIPs {
			add(ip.IPAddress)
		}
		for _, pr := range pt.AllowedAddressPairs {
			add(pr.IPAddress)
		}
	}
	slices.Sort(out)
	return out, nil
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
				dr.RemoteGroupID = *r.RemoteGroupID
				cidrs, err := c.memberCIDRs(ctx, *r.RemoteGroupID, r.EtherType)
				if err != nil {
					return f, err
				}
				if len(cidrs) == 0 {
					continue // a group with no members allows nothing
				}
				dr.RemoteCIDRs = cidrs
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

func (p *Plugin) portUpdate(ctx context.Context, pt *netapi.Port) (rpc.PortUpdate, error) {
	c := p.newCache(p.st.Q)
	dp, err := c.port(ctx, pt)
	if err != nil {
		return rpc.PortUpdate{}, err
	}
	f, err := c.filter(ctx, pt)
	if err != nil {
		return rpc.PortUpdate{}, err
	}
	return rpc.PortUpdate{Port: dp, Filter: &f}, nil
}

func dhcpHostname(ip string) string {
	return "host-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
}

// dhcp builds a network's DHCP service as served through port.
func (c *cache) dhcp(ctx context.Context, n *netapi.Network, port *netapi.Port) (dataplane.DHCP, error) {
	d := dataplane.DHCP{Network: dpNetwork(n), DNSDomain: c.p.cfg.DNSDomain, Subnets: []dataplane.Subnet{}, Hosts: []dataplane.DHCPHost{}}
	dp, err := c.port(ctx, port)
	if err != nil {
		return d, err
	}
	d.Port = dp
	d.Port.Device = "tap" + dp.ID[:min(11, len(dp.ID))]
	subs, err := c.subnetsOf(ctx, n.ID)
	if err != nil {
		return d, err
	}
	dhcpSubnets := map[string]bool{}
	for _, s := range subs {
		if s.EnableDHCP {
			d.Subnets = append(d.Subnets, dpSubnet(s))
			dhcpSubnets[s.ID] = true
		}
	}
	ports, err := c.q.NetworkPorts(ctx, n.ID)
	if err != nil {
		return d, err
	}
	routed := false
	for _, pt := range ports {
		if pt.DeviceOwner == netapi.DeviceOwnerRouterInterface {
			routed = true
		}
		if pt.DeviceOwner == netapi.DeviceOwnerDHCP {
			continue
		}
		h := dataplane.DHCPHost{PortID: pt.ID, MAC: pt.MACAddress}
		for _, ip := range pt.FixedIPs {
			if dhcpSubnets[ip.SubnetID] {
				h.IPs = append(h.IPs, ip.IPAddress)
			}
		}
		if len(h.IPs) == 0 {
			continue
		}
		h.Hostname = dhcpHostname(h.IPs[0])
		for _, o := range pt.ExtraDHCPOpts {
			h.Options = append(h.Options, dataplane.DHCPOption{Name: o.OptName, Value: o.OptValue, IPVersion: o.IPVersion})
		}
		d.Hosts = append(d.Hosts, h)
	}
	slices.SortFunc(d.Hosts, func(a, b dataplane.DHCPHost) int { return strings.Compare(a.PortID, b.PortID) })
	d.MetadataRoute = c.p.cfg.EnableIsolatedMetadata && !routed
	return d, nil
}

// syncNetworkDHCP makes a network's DHCP agents, ports and services match its
// DHCP-enabled subnets.
func (p *Plugin) syncNetworkDHCP(ctx context.Context, netID string) error {
	n, err := p.st.Network(ctx, netID)
	if nstore.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	subs, err := p.st.NetworkSubnets(ctx, netID)
	if err != nil {
		return err
	}
	var want []FixedIPSpec
	for _, s := range subs {
		if s.EnableDHCP {
			want = append(want, FixedIPSpec{SubnetID: s.ID})
		}
	}
	agents, err := p.st.NetworkDHCPAgents(ctx, netID)
	if err != nil {
		return err
	}
	if len(want) == 0 {
		for _, a := range agents {
			if err := p.dropDHCPPort(ctx, a.Host, netID); err != nil {
				return err
			}
			p.cast(ctx, rpc.HostSubject(a.Host), rpc.MethodDHCPDelete, rpc.DHCPDelete{NetworkID: netID})
		}
		return nil
	}
	if p.cfg.NetworkAutoSchedule && len(agents) < p.cfg.DHCPAgentsPerNetwork {
		err := p.tx(ctx, func(q nstore.Q) error {
			var exclude []string
			for _, a := range agents {
				exclude = append(exclude, a.ID)
			}
			for i := len(agents); i < p.cfg.DHCPAgentsPerNetwork; i++ {
				a, err := p.pickAgent(ctx, q, netapi.AgentTypeDHCP, n.AvailabilityZoneHints, func(id string) (int, error) {
					ns, err := q.DHCPAgentNetworks(ctx, id)
					return len(ns), err
				}, exclude)
				if err != nil || a == nil {
					return err
				}
				if _, err := q.BindNetworkDHCP(ctx, netID, a.ID); err != nil {
					return err
				}
				exclude = append(exclude, a.ID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if agents, err = p.st.NetworkDHCPAgents(ctx, netID); err != nil {
			return err
		}
	}
	for _, a := range agents {
		port, err := p.ensureDHCPPort(ctx, n, a.Host, want)
		if err != nil {
			p.log.WarnContext(ctx, "dhcp port", "network_id", netID, "host", a.Host, "err", err)
			continue
		}
		d, err := p.newCache(p.st.Q).dhcp(ctx, n, port)
		if err != nil {
			return err
		}
		p.cast(ctx, rpc.HostSubject(a.Host), rpc.MethodDHCPUpdate, rpc.DHCPUpdate{DHCP: d})
	}
	return nil
}

// ensureDHCPPort gives a host's DHCP server on a network a port with an
// address on each DHCP-enabled subnet.
func (p *Plugin) ensureDHCPPort(ctx context.Context, n *netapi.Network, host string, want []FixedIPSpec) (*netapi.Port, error) {
	dev := DHCPDeviceID(host, n.ID)
	var port *netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		ports, err := q.DevicePorts(ctx, dev)
		if err != nil {
			return err
		}
		if len(ports) == 0 {
			port, err = p.createPortQ(ctx, q, PortSpec{ProjectID: n.ProjectID, NetworkID: &n.ID, Name: strp(""), DeviceID: &dev,
				DeviceOwner: strp(netapi.DeviceOwnerDHCP), HostID: &host, FixedIPs: &want, SecurityGroups: &[]string{}, internal: true}, Caller{Admin: true})
			return err
		}
		port = ports[0]
		have := map[string]bool{}
		for _, ip := range port.FixedIPs {
			have[ip.SubnetID] = true
		}
		need := false
		for _, w := range want {
			if !have[w.SubnetID] {
				need = true
			}
		}
		if !need && len(port.FixedIPs) == len(want) {
			return nil
		}
		net := n
		subnets, err := q.NetworkSubnets(ctx, n.ID)
		if err != nil {
			return err
		}
		rev := port.RevisionNumber
		al := &allocator{p: p, q: q, ctx: ctx, net: net, subnets: subnets, portID: port.ID, mac: port.MACAddress, owner: port.DeviceOwner}
		if port.FixedIPs, err = p.changeIPs(al, port.FixedIPs, want); err != nil {
			return err
		}
		return casConflict(q.UpdatePort(ctx, port, rev, false))
	})
	return port, err
}

func (p *Plugin) dropDHCPPort(ctx context.Context, host, netID string) error {
	return p.tx(ctx, func(q nstore.Q) error {
		ports, err := q.DevicePorts(ctx, DHCPDeviceID(host, netID))
		if err != nil {
			return err
		}
		for _, pt := range ports {
			if err := q.DeletePort(ctx, pt.ID); err != nil {
				return err
			}
		}
		return nil
	})
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

// syncRouter pushes a router to its L3 agent (scheduling it if needed).
func (p *Plugin) syncRouter(ctx context.Context, id string) error {
	if err := p.tx(ctx, func(q nstore.Q) error { return p.scheduleRouterQ(ctx, q, id) }); err != nil && !nstore.IsNotFound(err) {
		return err
	}
	r, err := p.st.Router(ctx, id)
	if nstore.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	agents, err := p.st.RouterL3Agents(ctx, id)
	if err != nil || len(agents) == 0 {
		return err
	}
	d, err := p.newCache(p.st.Q).router(ctx, r)
	if err != nil {
		return err
	}
	for _, a := range agents {
		p.cast(ctx, rpc.HostSubject(a.Host), rpc.MethodRouterUpdate, rpc.RouterUpdate{Router: d})
	}
	return nil
}

// syncGroups pushes fresh filters for the bound ports that are in the
// groups, or whose groups have rules naming them as remote group.
func (p *Plugin) syncGroups(ctx context.Context, ids []string) error {
	rules, err := p.st.SecurityGroupRules(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "remote_group_id", Values: anyStrings(ids)}})
	if err != nil {
		return err
	}
	all := slices.Clone(ids)
	for _, r := range rules {
		if !slices.Contains(all, r.SecurityGroupID) {
			all = append(all, r.SecurityGroupID)
		}
	}
	ports, err := p.st.BoundSecurityGroupPorts(ctx, all)
	if err != nil {
		return err
	}
	c := p.newCache(p.st.Q)
	byHost := map[string][]dataplane.PortFilter{}
	for _, pt := range ports {
		if !isBound(pt) || isNetworkOwned(pt.DeviceOwner) {
			continue
		}
		f, err := c.filter(ctx, pt)
		if err != nil {
			return err
		}
		byHost[pt.HostID] = append(byHost[pt.HostID], f)
	}
	for host, fs := range byHost {
		p.cast(ctx, rpc.HostSubject(host), rpc.MethodFiltersUpdate, rpc.FiltersUpdate{Filters: fs})
	}
	return nil
}

// SyncState returns everything a host should have: the ports bound to it with
// their networks and filters, the DHCP services and routers it hosts.
func (p *Plugin) SyncState(ctx context.Context, host string) (dataplane.State, error) {
	s := dataplane.State{Networks: []dataplane.Network{}, Ports: []dataplane.Port{}, DHCP: []dataplane.DHCP{},
		Routers: []dataplane.Router{}, Filters: []dataplane.PortFilter{}}
	c := p.newCache(p.st.Q)
	nets := map[string]bool{}
	addNet := func(id string) error {
		if nets[id] {
			return nil
		}
		n, err := c.network(ctx, id)
		if err != nil {
			return err
		}
		nets[id] = true
		s.Networks = append(s.Networks, dpNetwork(n))
		return nil
	}
	ports, err := p.st.HostPorts(ctx, host)
	if err != nil {
		return s, err
	}
	for _, pt := range ports {
		if !isBound(pt) || isNetworkOwned(pt.DeviceOwner) {
			continue
		}
		if err := addNet(pt.NetworkID); err != nil {
			return s, err
		}
		dp, err := c.port(ctx, pt)
		if err != nil {
			return s, err
		}
		s.Ports = append(s.Ports, dp)
		f, err := c.filter(ctx, pt)
		if err != nil {
			return s, err
		}
		s.Filters = append(s.Filters, f)
	}
	agents, err := p.st.Agents(ctx, []nstore.Filter{{Field: "host", Values: []any{host}}})
	if err != nil {
		return s, err
	}
	for _, a := range agents {
		switch a.AgentType {
		case netapi.AgentTypeDHCP:
			ids, err := p.st.DHCPAgentNetworks(ctx, a.ID)
			if err != nil {
				return s, err
			}
			for _, id := range ids {
				n, err := c.network(ctx, id)
				if nstore.IsNotFound(err) {
					continue
				}
				if err != nil {
					return s, err
				}
				dports, err := p.st.DevicePorts(ctx, DHCPDeviceID(host, id))
				if err != nil {
					return s, err
				}
				if len(dports) == 0 {
					continue
				}
				if err := addNet(id); err != nil {
					return s, err
				}
				d, err := c.dhcp(ctx, n, dports[0])
				if err != nil {
					return s, err
				}
				s.DHCP = append(s.DHCP, d)
			}
		case netapi.AgentTypeL3:
			ids, err := p.st.L3AgentRouters(ctx, a.ID)
			if err != nil {
				return s, err
			}
			for _, id := range ids {
				r, err := p.st.Router(ctx, id)
				if nstore.IsNotFound(err) {
					continue
				}
				if err != nil {
					return s, err
				}
				d, err := c.router(ctx, r)
				if err != nil {
					return s, err
				}
				for _, rp := range d.Interfaces {
					if err := addNet(rp.Network.ID); err != nil {
						return s, err
					}
				}
				if d.Gateway != nil {
					if err := addNet(d.Gateway.Network.ID); err != nil {
						return s, err
					}
				}
				s.Routers = append(s.Routers, d)
			}
		}
	}
	return s, nil
}

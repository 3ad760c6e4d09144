package plugin

import (
	"cmp"
	"context"
	"fmt"
	"maps"
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
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/lease"
)

// The plugin tells agents about changes after each commit, and only what
// changed, to the hosts it concerns. Changes are marked dirty and a
// background loop pushes them every interval, coalescing bursts (a thousand
// ports created in a second produce a few messages per host, not a
// thousand): a port's wiring and filter go to its host (and its removal to
// the host it left); a security group's membership changes go, port by
// port, to the hosts whose filters name the group as remote group; a port's
// DHCP lease goes to the hosts serving its network's DHCP. What many
// changes touch as a whole — a network's DHCP service when its subnets
// change, a router, the filters of a group whose rules changed — is
// recomputed once per interval.

type dirtySet struct {
	mu       sync.Mutex
	nets     map[string]bool
	routers  map[string]bool
	groups   map[string]bool
	ports    map[string]*portMark
	wake     chan struct{}
	running  bool
	stop     chan struct{}
	done     chan struct{}
	interval time.Duration
	// liveStop and liveDone end and await the agent liveness job.
	liveStop context.CancelFunc
	liveDone chan struct{}
}

// portMark is what a port's changes since the last push may have changed;
// the push reads the port as it is then.
type portMark struct {
	network string
	// agent: its host's agent wires it, or hosts holds agents that did.
	agent bool
	hosts []string
	// groups may have gained, lost or changed the port as a member.
	groups []string
	// dhcp: its lease on the network's DHCP service may have changed.
	dhcp bool
}

func (p *Plugin) dirty() *dirtySet {
	p.dirtyOnce.Do(func() {
		p.d = &dirtySet{nets: map[string]bool{}, routers: map[string]bool{}, groups: map[string]bool{},
			ports: map[string]*portMark{}, wake: make(chan struct{}, 1), interval: 50 * time.Millisecond}
	})
	return p.d
}

// Start runs the background loop that pushes changes to agents; Stop ends
// it. Without Start, changes are pushed inline.
func (p *Plugin) Start(ctx context.Context) {
	d := p.dirty()
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return
	}
	d.running = true
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.liveStop, d.liveDone = cancel, make(chan struct{})
	d.mu.Unlock()
	go p.loop(context.WithoutCancel(ctx), d)
	go func() {
		defer close(d.liveDone)
		if p.bus == nil {
			return
		}
		// Hosts whose agents went silent leave the peers: one server
		// replica at a time looks (the network.agent_liveness lease).
		lease.Every(lctx, p.st.DB(), lease.Holder(), lease.Job{Name: "network.agent_liveness", Every: p.tunnelCheckInterval(),
			Run: func(ctx context.Context) error { p.pushTunnels(ctx); return nil }}, p.bus.Metrics(), p.log)
	}()
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
	d.liveStop()
	d.mu.Unlock()
	<-d.liveDone
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

// markGroups marks groups whose rules changed: the filters of their ports.
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

func (p *Plugin) markPort(ctx context.Context, id string, m portMark) {
	p.mark(ctx, func(d *dirtySet) {
		cur := d.ports[id]
		if cur == nil {
			cur = &portMark{network: m.network}
			d.ports[id] = cur
		}
		cur.agent = cur.agent || m.agent
		cur.dhcp = cur.dhcp || m.dhcp
		for _, h := range m.hosts {
			if !slices.Contains(cur.hosts, h) {
				cur.hosts = append(cur.hosts, h)
			}
		}
		for _, g := range m.groups {
			if !slices.Contains(cur.groups, g) {
				cur.groups = append(cur.groups, g)
			}
		}
	})
}

// flush pushes everything dirty.
func (p *Plugin) flush(ctx context.Context) {
	d := p.dirty()
	d.mu.Lock()
	nets, routers, groups, ports := d.nets, d.routers, d.groups, d.ports
	d.nets, d.routers, d.groups, d.ports = map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]*portMark{}
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
	if len(ports) > 0 {
		if err := p.syncPorts(ctx, ports, nets); err != nil {
			p.log.WarnContext(ctx, "port update failed", "ports", len(ports), "err", err)
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
	var id, netID string
	for _, pt := range []*netapi.Port{old, new} {
		if pt != nil {
			id, netID = pt.ID, pt.NetworkID
		}
	}
	m := portMark{network: netID}
	if old != nil && old.HostID != "" && !isNetworkOwned(old.DeviceOwner) {
		m.hosts = []string{old.HostID}
	}
	m.agent = len(m.hosts) > 0 || new != nil && isBound(new) && !isNetworkOwned(new.DeviceOwner)
	ipsChanged := old == nil || new == nil || !slices.Equal(old.FixedIPs, new.FixedIPs) || old.MACAddress != new.MACAddress ||
		!slices.Equal(old.AllowedAddressPairs, new.AllowedAddressPairs)
	if old != nil && (ipsChanged || !slices.Equal(old.SecurityGroups, new.SecurityGroups)) {
		m.groups = append(m.groups, old.SecurityGroups...)
	}
	if new != nil && (ipsChanged || old != nil && !slices.Equal(old.SecurityGroups, new.SecurityGroups)) {
		m.groups = append(m.groups, new.SecurityGroups...)
	}
	if (ipsChanged || old != nil && new != nil && !slices.Equal(old.ExtraDHCPOpts, new.ExtraDHCPOpts)) && !(new != nil && new.DeviceOwner == netapi.DeviceOwnerDHCP && old == nil) {
		whole := false
		for _, pt := range []*netapi.Port{old, new} {
			// A DHCP port is the service's own; a router interface
			// decides the metadata route: the whole service changes.
			whole = whole || pt != nil && (pt.DeviceOwner == netapi.DeviceOwnerDHCP || isRouterPort(pt.DeviceOwner))
		}
		if whole {
			p.markNetwork(ctx, netID)
		} else {
			m.dhcp = true
		}
	}
	if m.agent || m.dhcp || len(m.groups) > 0 {
		p.markPort(ctx, id, m)
	}
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

// afterSubnetChange refreshes the network's DHCP; dhcp says the subnet
// (created or updated) has DHCP enabled, so the network needs DHCP agents.
func (p *Plugin) afterSubnetChange(ctx context.Context, networkID string, dhcp bool) {
	if dhcp {
		// As Neutron, the network is bound to its DHCP agents before the
		// request returns (the agents hear of it in the background).
		if n, err := p.st.Network(ctx, networkID); err == nil {
			if _, err := p.scheduleDHCP(ctx, n); err != nil {
				p.log.WarnContext(ctx, "dhcp scheduling", "network_id", networkID, "err", err)
			}
		}
	}
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

func dhcpHostname(ip string) string {
	return "host-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
}

// dhcpHost is the static lease of a port on the DHCP-enabled subnets of
// its network (false when it has none, or is a DHCP server's own port).
func dhcpHost(pt *netapi.Port, dhcpSubnets map[string]bool) (dataplane.DHCPHost, bool) {
	if pt.DeviceOwner == netapi.DeviceOwnerDHCP {
		return dataplane.DHCPHost{}, false
	}
	h := dataplane.DHCPHost{PortID: pt.ID, MAC: pt.MACAddress}
	for _, ip := range pt.FixedIPs {
		if dhcpSubnets[ip.SubnetID] {
			h.IPs = append(h.IPs, ip.IPAddress)
		}
	}
	if len(h.IPs) == 0 {
		return h, false
	}
	h.Hostname = dhcpHostname(h.IPs[0])
	for _, o := range pt.ExtraDHCPOpts {
		h.Options = append(h.Options, dataplane.DHCPOption{Name: o.OptName, Value: o.OptValue, IPVersion: o.IPVersion})
	}
	return h, true
}

// dhcpSubnets returns the DHCP-enabled subnets of a network.
func (c *cache) dhcpSubnets(ctx context.Context, netID string) (map[string]bool, error) {
	if on, ok := c.dhcpOn[netID]; ok {
		return on, nil
	}
	subs, err := c.subnetsOf(ctx, netID)
	if err != nil {
		return nil, err
	}
	on := map[string]bool{}
	for _, s := range subs {
		if s.EnableDHCP {
			on[s.ID] = true
		}
	}
	c.dhcpOn[netID] = on
	return on, nil
}

// dhcp builds a network's DHCP service as served through port.
func (c *cache) dhcp(ctx context.Context, n *netapi.Network, port *netapi.Port) (dataplane.DHCP, error) {
	d := dataplane.DHCP{Network: dpNetwork(n), DNSDomain: c.p.cfg.DNSDomain, Subnets: []dataplane.Subnet{}, Hosts: []dataplane.DHCPHost{}}
	dp, err := c.port(ctx, port)
	if err != nil {
		return d, err
	}
	d.Port = dp
	d.Port.Device = dataplane.TapName(dp.ID)
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
	c.dhcpOn[n.ID] = dhcpSubnets
	ports, err := c.q.NetworkPorts(ctx, n.ID)
	if err != nil {
		return d, err
	}
	routed := false
	for _, pt := range ports {
		if pt.DeviceOwner == netapi.DeviceOwnerRouterInterface {
			routed = true
		}
		if h, ok := dhcpHost(pt, dhcpSubnets); ok {
			d.Hosts = append(d.Hosts, h)
		}
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
	if len(want) == 0 {
		agents, err := p.st.NetworkDHCPAgents(ctx, netID)
		if err != nil {
			return err
		}
		for _, a := range agents {
			if err := p.dropDHCPPort(ctx, a.Host, netID); err != nil {
				return err
			}
			p.cast(ctx, rpc.HostSubject(a.Host), rpc.MethodDHCPDelete, rpc.DHCPDelete{NetworkID: netID})
		}
		return nil
	}
	agents, err := p.scheduleDHCP(ctx, n)
	if err != nil {
		return err
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

// scheduleDHCP binds a network to DHCP agents until it has
// dhcp_agents_per_network of them (with network_auto_schedule), and returns
// the agents that serve it.
func (p *Plugin) scheduleDHCP(ctx context.Context, n *netapi.Network) ([]*nstore.Agent, error) {
	agents, err := p.st.NetworkDHCPAgents(ctx, n.ID)
	if err != nil || !p.cfg.NetworkAutoSchedule || len(agents) >= p.cfg.DHCPAgentsPerNetwork {
		return agents, err
	}
	err = p.tx(ctx, func(q nstore.Q) error {
		// Read again in the transaction: another scheduler may have
		// bound the network meanwhile.
		agents, err := q.NetworkDHCPAgents(ctx, n.ID)
		if err != nil {
			return err
		}
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
			if _, err := q.BindNetworkDHCP(ctx, n.ID, a.ID); err != nil {
				return err
			}
			exclude = append(exclude, a.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p.st.NetworkDHCPAgents(ctx, n.ID)
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

// syncGroups pushes fresh filters for the bound ports in the groups (whose
// rules changed). Membership changes travel apart (syncPorts).
func (p *Plugin) syncGroups(ctx context.Context, ids []string) error {
	ports, err := p.st.BoundSecurityGroupPorts(ctx, ids)
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
	for _, host := range slices.Sorted(maps.Keys(byHost)) {
		p.cast(ctx, rpc.HostSubject(host), rpc.MethodFiltersUpdate, rpc.FiltersUpdate{Filters: byHost[host]})
	}
	return nil
}

// syncPorts pushes what changed of the marked ports, reading each once:
// wiring and filter to its host and removal to hosts it left, membership
// changes to the hosts following its groups, its lease to its network's
// DHCP hosts (unless the whole service is pushed in this flush: wholeDHCP).
func (p *Plugin) syncPorts(ctx context.Context, marks map[string]*portMark, wholeDHCP map[string]bool) error {
	ids := slices.Sorted(maps.Keys(marks))
	ports, err := p.st.PortsByID(ctx, ids)
	if err != nil {
		return err
	}
	cur := make(map[string]*netapi.Port, len(ports))
	for _, pt := range ports {
		cur[pt.ID] = pt
	}
	c := p.newCache(p.st.Q)
	hosts := map[string]*rpc.PortsUpdate{}
	host := func(h string) *rpc.PortsUpdate {
		if hosts[h] == nil {
			hosts[h] = &rpc.PortsUpdate{}
		}
		return hosts[h]
	}
	members := map[string]*rpc.GroupMembers{}
	leases := map[string]*rpc.DHCPHostsUpdate{}
	var firstErr error
	for _, id := range ids {
		m, pt := marks[id], cur[id]
		if m.agent {
			at := ""
			if pt != nil && isBound(pt) && !isNetworkOwned(pt.DeviceOwner) {
				dp, err := c.port(ctx, pt)
				var f dataplane.PortFilter
				if err == nil {
					f, err = c.filter(ctx, pt)
				}
				if err != nil {
					firstErr = cmp.Or(firstErr, err)
				} else {
					at = pt.HostID
					host(at).Ports = append(host(at).Ports, rpc.PortUpdate{Port: dp, Filter: &f})
				}
			}
			for _, h := range m.hosts {
				if h != at {
					host(h).Deleted = append(host(h).Deleted, rpc.PortDelete{PortID: id, NetworkID: m.network})
				}
			}
		}
		for _, g := range m.groups {
			gm := members[g]
			if gm == nil {
				gm = &rpc.GroupMembers{GroupID: g, Ports: map[string][]string{}}
				members[g] = gm
			}
			if pt != nil && slices.Contains(pt.SecurityGroups, g) {
				gm.Ports[id] = memberAddresses(pt.FixedIPs, pt.AllowedAddressPairs)
			} else {
				gm.Left = append(gm.Left, id)
			}
		}
		if m.dhcp && !wholeDHCP[m.network] {
			u := leases[m.network]
			if u == nil {
				u = &rpc.DHCPHostsUpdate{NetworkID: m.network}
				leases[m.network] = u
			}
			on, err := c.dhcpSubnets(ctx, m.network)
			if nstore.IsNotFound(err) {
				continue
			}
			if err != nil {
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			if pt == nil || pt.NetworkID != m.network {
				u.Removed = append(u.Removed, id)
			} else if h, ok := dhcpHost(pt, on); ok {
				u.Hosts = append(u.Hosts, h)
			} else {
				u.Removed = append(u.Removed, id)
			}
		}
	}
	for _, h := range slices.Sorted(maps.Keys(hosts)) {
		p.cast(ctx, rpc.HostSubject(h), rpc.MethodPortsUpdate, hosts[h])
	}
	if err := p.pushMembers(ctx, members); err != nil {
		firstErr = cmp.Or(firstErr, err)
	}
	for _, netID := range slices.Sorted(maps.Keys(leases)) {
		u := leases[netID]
		if len(u.Hosts) == 0 && len(u.Removed) == 0 {
			continue
		}
		agents, err := p.st.NetworkDHCPAgents(ctx, netID)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		for _, a := range agents {
			p.cast(ctx, rpc.HostSubject(a.Host), rpc.MethodDHCPHosts, u)
		}
	}
	return firstErr
}

// pushMembers sends membership changes to the hosts whose filters follow
// the groups, one message per host.
func (p *Plugin) pushMembers(ctx context.Context, members map[string]*rpc.GroupMembers) error {
	if len(members) == 0 {
		return nil
	}
	groups := slices.Sorted(maps.Keys(members))
	hostsOf, err := p.st.RemoteGroupHosts(ctx, groups)
	if err != nil {
		return err
	}
	byHost := map[string]*rpc.MembersUpdate{}
	for _, g := range groups {
		for _, h := range hostsOf[g] {
			if byHost[h] == nil {
				byHost[h] = &rpc.MembersUpdate{}
			}
			byHost[h].Groups = append(byHost[h].Groups, *members[g])
		}
	}
	for _, h := range slices.Sorted(maps.Keys(byHost)) {
		p.cast(ctx, rpc.HostSubject(h), rpc.MethodMembersUpdate, byHost[h])
	}
	return nil
}

// memberAddresses are what a member port puts in its groups' member sets:
// its fixed IPs and allowed address pairs, masked, without duplicates.
func memberAddresses(ips []netapi.FixedIP, pairs []netapi.AddressPair) []string {
	out := make([]string, 0, len(ips)+len(pairs))
	add := func(s string) {
		pf, err := parsePrefixKeepHost(s)
		if err != nil {
			return
		}
		if t := pf.Masked().String(); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, ip := range ips {
		add(ip.IPAddress)
	}
	for _, pr := range pairs {
		add(pr.IPAddress)
	}
	return out
}

// GroupMembers returns the whole membership of groups (a group that does
// not exist has none).
func (p *Plugin) GroupMembers(ctx context.Context, groups []string) ([]rpc.GroupMembers, error) {
	rows, err := p.st.SecurityGroupMembers(ctx, groups)
	if err != nil {
		return nil, err
	}
	byGroup := make(map[string]*rpc.GroupMembers, len(groups))
	out := make([]rpc.GroupMembers, len(groups))
	for i, g := range groups {
		out[i] = rpc.GroupMembers{GroupID: g, Ports: map[string][]string{}}
		byGroup[g] = &out[i]
	}
	for _, m := range rows {
		if gm := byGroup[m.GroupID]; gm != nil {
			gm.Ports[m.PortID] = memberAddresses(m.FixedIPs, m.AllowedAddressPairs)
		}
	}
	return out, nil
}

// MetadataInstance names the instance (the port's device_id) and project
// (the port's) of the one port holding ip on one of the networks, for a
// host's metadata proxy; both empty when no port, or more than one (which
// overlapping networks allow), holds it, as Neutron's metadata agent
// refuses then too.
func (p *Plugin) MetadataInstance(ctx context.Context, networkIDs []string, ip string) (rpc.MetadataInstanceReply, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return rpc.MetadataInstanceReply{}, fault.BadRequest("%q is not an IP address", ip)
	}
	ports, err := p.st.AddressPorts(ctx, networkIDs, a.String())
	if err != nil {
		return rpc.MetadataInstanceReply{}, fmt.Errorf("metadata lookup of %s: %w", ip, err)
	}
	if len(ports) != 1 || ports[0].DeviceID == "" {
		return rpc.MetadataInstanceReply{}, nil
	}
	return rpc.MetadataInstanceReply{InstanceID: ports[0].DeviceID, ProjectID: ports[0].ProjectID}, nil
}

// SyncState returns everything a host should have: the ports bound to it with
// their networks and filters, the membership of the groups the filters name
// as remote group, the DHCP services and routers it hosts.
func (p *Plugin) SyncState(ctx context.Context, host string) (rpc.HostState, error) {
	hs := rpc.HostState{State: dataplane.State{Networks: []dataplane.Network{}, Ports: []dataplane.Port{}, DHCP: []dataplane.DHCP{},
		Routers: []dataplane.Router{}, Filters: []dataplane.PortFilter{}}, Members: []rpc.GroupMembers{}}
	s, err := p.syncState(ctx, host, &hs.State)
	if err != nil {
		return hs, err
	}
	remote := map[string]bool{}
	for _, f := range s.Filters {
		for _, r := range f.Rules {
			if r.RemoteGroupID != "" {
				remote[r.RemoteGroupID] = true
			}
		}
	}
	if len(remote) > 0 {
		if hs.Members, err = p.GroupMembers(ctx, slices.Sorted(maps.Keys(remote))); err != nil {
			return hs, err
		}
	}
	hs.TunnelPeers, err = p.TunnelPeers(ctx)
	return hs, err
}

func (p *Plugin) syncState(ctx context.Context, host string, s *dataplane.State) (*dataplane.State, error) {
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

package plugin

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/notify"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
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
	if err := p.bus.Send(ctx, subject, method, args); err != nil {
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

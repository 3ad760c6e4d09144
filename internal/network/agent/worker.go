package agent

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
)

// maxAttempts bounds retries of one key before it waits for the next resync.
const maxAttempts = 8

func (a *Agent) worker(ctx context.Context) {
	defer a.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		}
		for a.step(ctx) {
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// step applies one batch of work; it reports whether more is left.
func (a *Agent) step(ctx context.Context) bool {
	a.mu.Lock()
	resync := a.resync
	a.resync = false
	a.mu.Unlock()
	if resync {
		if err := a.fullSync(ctx); err != nil {
			a.log.WarnContext(ctx, "resync failed; retrying", "err", err)
			a.mu.Lock()
			a.resync = true
			a.mu.Unlock()
			a.retryLater(ctx, time.Second)
			return false
		}
		return true
	}
	// Member sets the filters name come before the filters; if they
	// cannot be had, the filters allow nothing from those groups until
	// they come, and ports are wired meanwhile.
	a.fetchMembers(ctx)
	a.mu.Lock()
	keys := make([]string, 0, len(a.dirty))
	for k, n := range a.dirty {
		if n < maxAttempts {
			keys = append(keys, k)
		}
	}
	a.mu.Unlock()
	if len(keys) == 0 {
		return false
	}
	// Networks first, then member sets, then what sits on them; member
	// sets no filter names any more last.
	sort.Slice(keys, func(i, j int) bool {
		return keyOrder(keys[i]) < keyOrder(keys[j]) || keyOrder(keys[i]) == keyOrder(keys[j]) && keys[i] < keys[j]
	})
	var up, down []rpc.DeviceStatus
	failed := false
	for _, k := range keys {
		a.mu.Lock()
		delete(a.dirty, k)
		a.mu.Unlock()
		ups, downs, err := a.apply(ctx, k)
		if err != nil {
			a.log.WarnContext(ctx, "data plane change failed", "key", k, "err", err)
			a.mu.Lock()
			a.dirty[k]++
			a.mu.Unlock()
			failed = true
			continue
		}
		up = append(up, ups...)
		down = append(down, downs...)
	}
	a.reportDevices(ctx, append(up, down...))
	if failed {
		a.retryLater(ctx, 500*time.Millisecond)
		return false
	}
	return true
}

func (a *Agent) retryLater(ctx context.Context, d time.Duration) {
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(d):
			a.kick()
		}
	}()
}

func keyOrder(k string) int {
	switch {
	case k == keyTunnels:
		return -1 // networks made next flood to the peers at once
	case strings.HasPrefix(k, "net:"):
		return 0
	case strings.HasPrefix(k, "members:"):
		return 1
	case strings.HasPrefix(k, "port:"), strings.HasPrefix(k, "filter:"):
		return 2
	case strings.HasPrefix(k, "dhcp:"):
		return 3
	case strings.HasPrefix(k, "unmembers:"):
		return 5
	}
	return 4
}

// fetchMembers asks the server for the whole membership of the groups the
// filters name that the host does not hold yet (again later if that fails).
func (a *Agent) fetchMembers(ctx context.Context) {
	a.mu.Lock()
	if time.Now().Before(a.fetchAfter) {
		a.mu.Unlock()
		return
	}
	var want []string
	for g := range a.refs {
		_, held := a.members[g]
		_, asked := a.fetching[g]
		if !held && !asked {
			want = append(want, g)
			a.fetching[g] = nil
		}
	}
	a.mu.Unlock()
	if len(want) == 0 {
		return
	}
	sort.Strings(want)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var r rpc.MembersReply
	err := a.bus.Call(cctx, rpc.ServerSubject, rpc.MethodSecurityGroupMembers, rpc.SecurityGroupMembers{Host: a.host, GroupIDs: want}, &r)
	a.mu.Lock()
	var keys []string
	if err == nil {
		for _, gm := range r.Groups {
			if _, asked := a.fetching[gm.GroupID]; !asked {
				continue
			}
			held := map[string][]string{}
			applyMembers(held, gm)
			for _, later := range a.fetching[gm.GroupID] {
				applyMembers(held, later)
			}
			a.members[gm.GroupID] = held
			keys = append(keys, "members:"+gm.GroupID)
		}
	}
	for _, g := range want {
		delete(a.fetching, g)
	}
	if err != nil {
		a.fetchAfter = time.Now().Add(time.Second)
	}
	a.mu.Unlock()
	if err != nil {
		a.log.WarnContext(ctx, "security group members could not be fetched; retrying", "groups", len(want), "err", err)
		a.retryLater(ctx, time.Second)
		return
	}
	a.mark(keys...)
}

// memberSets are the sets of a group's members, one per EtherType.
func memberSets(group string, held map[string][]string) []dataplane.MemberSet {
	var v4, v6 []string
	seen := map[string]bool{}
	for _, addrs := range held {
		for _, c := range addrs {
			if seen[c] {
				continue
			}
			seen[c] = true
			if strings.Contains(c, ":") {
				v6 = append(v6, c)
			} else {
				v4 = append(v4, c)
			}
		}
	}
	sort.Strings(v4)
	sort.Strings(v6)
	if v4 == nil {
		v4 = []string{}
	}
	if v6 == nil {
		v6 = []string{}
	}
	return []dataplane.MemberSet{{GroupID: group, EtherType: "IPv4", CIDRs: v4}, {GroupID: group, EtherType: "IPv6", CIDRs: v6}}
}

// apply makes the driver hold what the cache says of one key.
func (a *Agent) apply(ctx context.Context, key string) (up, down []rpc.DeviceStatus, err error) {
	kind, id, _ := strings.Cut(key, ":")
	a.mu.Lock()
	port, hasPort := a.ports[id]
	filter, hasFilter := a.filters[id]
	dhcp, hasDHCP := a.dhcp[id]
	if hasDHCP {
		dhcp.Hosts = dhcpHosts(a.leases[id])
	}
	router, hasRouter := a.routers[id]
	network, hasNet := a.networks[id]
	var sets []dataplane.MemberSet
	named := a.refs[id] > 0
	if held, ok := a.members[id]; ok && kind == "members" && named {
		sets = memberSets(id, held)
	}
	if kind == "unmembers" && !named {
		delete(a.members, id)
	}
	applied := a.applied[key]
	peers := slices.Clone(a.peers)
	a.mu.Unlock()
	switch kind {
	case "tunnels":
		if t, ok := a.driver.(dataplane.Tunneler); ok {
			return nil, nil, t.SetTunnelPeers(ctx, peers)
		}
	case "members":
		if sets != nil {
			return nil, nil, a.driver.SetMemberSets(ctx, sets)
		}
	case "unmembers":
		if !named {
			return nil, nil, a.driver.RemoveMemberSets(ctx, []string{id})
		}
	case "net":
		if !hasNet {
			return nil, nil, a.driver.DeleteNetwork(ctx, id)
		}
		if a.networkInUse(id) {
			return nil, nil, a.driver.EnsureNetwork(ctx, network)
		}
	case "port":
		if !hasPort {
			if err := a.driver.RemoveSecurityGroups(ctx, []string{id}); err != nil {
				return nil, nil, err
			}
			if err := a.driver.UnplugPort(ctx, id); err != nil {
				return nil, nil, err
			}
			a.setApplied(key, false)
			return nil, nil, nil
		}
		if err := a.driver.EnsureNetwork(ctx, port.Network); err != nil {
			return nil, nil, err
		}
		if err := a.driver.PlugPort(ctx, port); err != nil {
			return nil, []rpc.DeviceStatus{{PortID: id, Up: false}}, err
		}
		if hasFilter {
			if err := a.driver.ApplySecurityGroups(ctx, []dataplane.PortFilter{filter}); err != nil {
				return nil, nil, err
			}
		}
		a.setApplied(key, true)
		if _, watched := a.driver.(dataplane.Watcher); !watched {
			return []rpc.DeviceStatus{{PortID: id, Up: port.AdminStateUp}}, nil, nil
		}
	case "filter":
		if hasPort && hasFilter {
			return nil, nil, a.driver.ApplySecurityGroups(ctx, []dataplane.PortFilter{filter})
		}
	case "dhcp":
		if !hasDHCP {
			if applied {
				a.setApplied(key, false)
			}
			a.mu.Lock()
			delete(a.dhcpUp, id)
			a.mu.Unlock()
			return nil, nil, a.driver.DeleteDHCP(ctx, id)
		}
		if err := a.driver.EnsureNetwork(ctx, dhcp.Network); err != nil {
			return nil, nil, err
		}
		if err := a.driver.EnsureDHCP(ctx, dhcp); err != nil {
			return nil, nil, err
		}
		a.setApplied(key, true)
		a.mu.Lock()
		reported := a.dhcpUp[id] == dhcp.Port.ID
		a.dhcpUp[id] = dhcp.Port.ID
		a.mu.Unlock()
		if applied && reported {
			return nil, nil, nil // a lease changed; the server knows the port is up
		}
		return []rpc.DeviceStatus{{PortID: dhcp.Port.ID, Up: true}}, nil, nil
	case "router":
		if !hasRouter {
			a.setApplied(key, false)
			return nil, nil, a.driver.DeleteRouter(ctx, id)
		}
		for _, rp := range routerPorts(router) {
			if err := a.driver.EnsureNetwork(ctx, rp.Network); err != nil {
				return nil, nil, err
			}
		}
		if err := a.driver.EnsureRouter(ctx, router); err != nil {
			return nil, nil, err
		}
		a.setApplied(key, true)
		for _, rp := range routerPorts(router) {
			up = append(up, rpc.DeviceStatus{PortID: rp.PortID, Up: router.AdminStateUp})
		}
		a.reportFloatingIPs(ctx, router)
		return up, nil, nil
	}
	return nil, nil, nil
}

// dhcpHosts lists leases by port.
func dhcpHosts(leases map[string]dataplane.DHCPHost) []dataplane.DHCPHost {
	out := make([]dataplane.DHCPHost, 0, len(leases))
	for _, h := range leases {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PortID < out[j].PortID })
	return out
}

func (a *Agent) setApplied(key string, v bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v {
		a.applied[key] = true
	} else {
		delete(a.applied, key)
	}
}

// networkInUse reports whether a port, DHCP service or router of this host
// is on the network.
func (a *Agent) networkInUse(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.ports {
		if p.Network.ID == id {
			return true
		}
	}
	if _, ok := a.dhcp[id]; ok {
		return true
	}
	for _, r := range a.routers {
		for _, rp := range routerPorts(r) {
			if rp.Network.ID == id {
				return true
			}
		}
	}
	return false
}

func (a *Agent) reportDevices(ctx context.Context, devs []rpc.DeviceStatus) {
	if len(devs) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.bus.Call(cctx, rpc.ServerSubject, rpc.MethodUpdateDeviceStatus, rpc.UpdateDeviceStatus{Host: a.host, Devices: devs}, nil); err != nil {
		a.log.WarnContext(ctx, "port status report failed; resync will repeat it", "err", err, "ports", len(devs))
		a.mu.Lock()
		a.resync = true
		a.mu.Unlock()
		a.retryLater(ctx, 2*time.Second)
	}
}

func (a *Agent) reportFloatingIPs(ctx context.Context, r dataplane.Router) {
	if len(r.FloatingIPs) == 0 {
		return
	}
	st := map[string]string{}
	for _, f := range r.FloatingIPs {
		if r.AdminStateUp {
			st[f.ID] = "ACTIVE"
		} else {
			st[f.ID] = "DOWN"
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.bus.Call(cctx, rpc.ServerSubject, rpc.MethodUpdateFIPStatus, rpc.UpdateFIPStatus{RouterID: r.ID, Statuses: st}, nil); err != nil {
		a.log.WarnContext(ctx, "floating IP status report failed", "router_id", r.ID, "err", err)
	}
}

// fullSync replaces the cache with the server's desired state of the host and
// has the driver converge to it. Changes heard while the state is on its way
// are replayed on it.
func (a *Agent) fullSync(ctx context.Context) error {
	a.mu.Lock()
	a.syncing, a.journal = true, nil
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.syncing, a.journal = false, nil
		a.mu.Unlock()
	}()
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var hs rpc.HostState
	if err := a.bus.Call(cctx, rpc.ServerSubject, rpc.MethodSyncState, rpc.SyncState{Host: a.host, Version: rpc.Version}, &hs); err != nil {
		return err
	}
	s := hs.State
	members := make(map[string]map[string][]string, len(hs.Members))
	for _, gm := range hs.Members {
		held := map[string][]string{}
		applyMembers(held, gm)
		members[gm.GroupID] = held
		s.MemberSets = append(s.MemberSets, memberSets(gm.GroupID, held)...)
	}
	// The peers first, so that the networks Resync makes flood to them.
	peers := a.otherPeers(hs.TunnelPeers)
	if t, ok := a.driver.(dataplane.Tunneler); ok {
		if err := t.SetTunnelPeers(ctx, peers); err != nil {
			return err
		}
	}
	if err := a.driver.Resync(ctx, s); err != nil {
		return err
	}
	a.mu.Lock()
	a.networks, a.ports, a.filters = map[string]dataplane.Network{}, map[string]dataplane.Port{}, map[string]dataplane.PortFilter{}
	a.dhcp, a.leases, a.routers, a.applied = map[string]dataplane.DHCP{}, map[string]map[string]dataplane.DHCPHost{}, map[string]dataplane.Router{}, map[string]bool{}
	a.members, a.refs, a.dhcpUp = members, map[string]int{}, map[string]string{}
	a.peers = peers
	for _, n := range s.Networks {
		a.networks[n.ID] = n
	}
	for _, p := range s.Ports {
		a.ports[p.ID] = p
		a.applied["port:"+p.ID] = true
	}
	for _, f := range s.Filters {
		a.setFilter(f.PortID, &f)
	}
	for _, d := range s.DHCP {
		a.setDHCP(d)
		a.applied["dhcp:"+d.Network.ID] = true
		a.dhcpUp[d.Network.ID] = d.Port.ID
	}
	for _, r := range s.Routers {
		a.routers[r.ID] = r
		a.applied["router:"+r.ID] = true
	}
	var keys []string
	for g := range a.members {
		if a.refs[g] == 0 {
			keys = append(keys, "unmembers:"+g)
		}
	}
	for _, fn := range a.journal {
		keys = append(keys, fn()...)
	}
	replayed := len(a.journal)
	a.syncing, a.journal = false, nil
	a.mu.Unlock()
	a.mark(keys...)
	var devs []rpc.DeviceStatus
	if _, watched := a.driver.(dataplane.Watcher); !watched {
		for _, p := range s.Ports {
			devs = append(devs, rpc.DeviceStatus{PortID: p.ID, Up: p.AdminStateUp})
		}
	}
	for _, d := range s.DHCP {
		devs = append(devs, rpc.DeviceStatus{PortID: d.Port.ID, Up: true})
	}
	for _, r := range s.Routers {
		for _, rp := range routerPorts(r) {
			devs = append(devs, rpc.DeviceStatus{PortID: rp.PortID, Up: r.AdminStateUp})
		}
		a.reportFloatingIPs(ctx, r)
	}
	a.reportDevices(ctx, devs)
	a.log.InfoContext(ctx, "host resynchronised", "networks", len(s.Networks), "ports", len(s.Ports), "dhcp", len(s.DHCP),
		"routers", len(s.Routers), "member_sets", len(s.MemberSets), "changes_replayed", replayed)
	return nil
}

// watch reports ports from a driver that sees devices come and go.
func (a *Agent) watch(ctx context.Context, w dataplane.Watcher) {
	defer a.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events():
			if !ok {
				return
			}
			a.reportDevices(ctx, []rpc.DeviceStatus{{PortID: ev.PortID, Up: ev.Up}})
		}
	}
}

package plugin

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/notify"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

func (p *Plugin) alive(a *nstore.Agent) bool {
	return time.Since(a.Heartbeat) < p.cfg.AgentDownTime
}

// Alive reports whether an agent's last heartbeat is recent enough.
func (p *Plugin) Alive(a *nstore.Agent) bool { return p.alive(a) }

// ReportState records an agent host's heartbeat (one agent per type it runs)
// and, when a DHCP or L3 agent appears or restarts, places networks and
// routers that have none.
func (p *Plugin) ReportState(ctx context.Context, r rpc.ReportState) error {
	var az *string
	if r.AvailabilityZone != "" {
		az = &r.AvailabilityZone
	} else if p.cfg.DefaultAvailabilityZone != "" {
		az = &p.cfg.DefaultAvailabilityZone
	}
	schedule, tunnels := false, false
	for _, a := range r.Agents {
		var agentAZ *string
		if a.AgentType == netapi.AgentTypeDHCP || a.AgentType == netapi.AgentTypeL3 {
			agentAZ = az
		}
		var isNew bool
		err := p.tx(ctx, func(q nstore.Q) error {
			var err error
			_, isNew, err = q.ReportAgent(ctx, newID(), nstore.AgentReport{AgentType: a.AgentType, Binary: a.Binary, Topic: a.Topic,
				Host: r.Host, AvailabilityZone: agentAZ, Configurations: a.Configurations, Start: r.Start})
			return err
		})
		if err != nil {
			return err
		}
		if isNew {
			p.log.InfoContext(ctx, "agent registered", "host", r.Host, "agent_type", a.AgentType)
		}
		if (isNew || r.Start) && (a.AgentType == netapi.AgentTypeDHCP || a.AgentType == netapi.AgentTypeL3) {
			schedule = true
		}
		if p.tunnelReported(r.Host, a, isNew || r.Start) {
			tunnels = true
		}
	}
	if tunnels {
		p.pushTunnels(ctx)
	}
	if schedule {
		p.autoSchedule(ctx)
	}
	return nil
}

// autoSchedule places DHCP networks and routers that have no live agent.
func (p *Plugin) autoSchedule(ctx context.Context) {
	if p.cfg.NetworkAutoSchedule {
		subs, err := p.st.Subnets(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "enable_dhcp", Values: []any{true}}})
		if err != nil {
			p.log.WarnContext(ctx, "dhcp scheduling", "err", err)
		}
		seen := map[string]bool{}
		for _, s := range subs {
			if !seen[s.NetworkID] {
				seen[s.NetworkID] = true
				p.markNetwork(ctx, s.NetworkID)
			}
		}
	}
	if p.cfg.RouterAutoSchedule {
		rs, err := p.st.Routers(ctx, nstore.Scope{All: true}, nil)
		if err != nil {
			p.log.WarnContext(ctx, "router scheduling", "err", err)
			return
		}
		for _, r := range rs {
			err := p.tx(ctx, func(q nstore.Q) error { return p.scheduleRouterQ(ctx, q, r.ID) })
			if err != nil {
				p.log.WarnContext(ctx, "router scheduling", "router_id", r.ID, "err", err)
				continue
			}
			p.markRouter(ctx, r.ID)
		}
	}
}

// pickAgent returns the live agent of a type with the least load, in one of
// the availability zones when hints are given.
func (p *Plugin) pickAgent(ctx context.Context, q nstore.Q, agentType string, hints []string, load func(string) (int, error), exclude []string) (*nstore.Agent, error) {
	agents, err := q.Agents(ctx, []nstore.Filter{{Field: "agent_type", Values: []any{agentType}}})
	if err != nil {
		return nil, err
	}
	var best *nstore.Agent
	bestLoad := 0
	for _, a := range agents {
		if !a.AdminStateUp || !p.alive(a) || slices.Contains(exclude, a.ID) {
			continue
		}
		if len(hints) > 0 && (a.AvailabilityZone == nil || !slices.Contains(hints, *a.AvailabilityZone)) {
			continue
		}
		n, err := load(a.ID)
		if err != nil {
			return nil, err
		}
		if best == nil || n < bestLoad {
			best, bestLoad = a, n
		}
	}
	return best, nil
}

// scheduleRouterQ binds a router without an L3 agent to one.
func (p *Plugin) scheduleRouterQ(ctx context.Context, q nstore.Q, routerID string) error {
	if !p.cfg.RouterAutoSchedule {
		return nil
	}
	cur, err := q.RouterL3Agents(ctx, routerID)
	if err != nil || len(cur) > 0 {
		return err
	}
	r, err := q.Router(ctx, routerID)
	if err != nil {
		return err
	}
	a, err := p.pickAgent(ctx, q, netapi.AgentTypeL3, r.AvailabilityZoneHints, func(id string) (int, error) {
		rs, err := q.L3AgentRouters(ctx, id)
		return len(rs), err
	}, nil)
	if err != nil || a == nil {
		return err
	}
	if _, err := q.BindRouterL3(ctx, routerID, a.ID); err != nil {
		return err
	}
	return p.rehomeRouterPorts(ctx, q, routerID, a.Host)
}

// rehomeRouterPorts binds a router's ports to the host of its L3 agent.
func (p *Plugin) rehomeRouterPorts(ctx context.Context, q nstore.Q, routerID, host string) error {
	ports, err := q.DevicePorts(ctx, routerID)
	if err != nil {
		return err
	}
	for _, pt := range ports {
		if !isRouterPort(pt.DeviceOwner) || pt.HostID == host {
			continue
		}
		net, err := q.Network(ctx, pt.NetworkID)
		if err != nil {
			return err
		}
		rev := pt.RevisionNumber
		pt.HostID, pt.Status = host, netapi.StatusDown
		if err := p.bind(ctx, q, net, pt); err != nil {
			return err
		}
		if err := casConflict(q.UpdatePort(ctx, pt, rev, false)); err != nil {
			return err
		}
	}
	return nil
}

// routerHost returns the host of a router's L3 agent ("" when unscheduled).
func (p *Plugin) routerHost(ctx context.Context, q nstore.Q, routerID string) string {
	agents, err := q.RouterL3Agents(ctx, routerID)
	if err != nil || len(agents) == 0 {
		return ""
	}
	return agents[0].Host
}

// DHCPDeviceID is the device_id of a host's DHCP port on a network, as
// Neutron's DHCP agent names it.
func DHCPDeviceID(host, networkID string) string {
	return "dhcp" + uuid.NewSHA1(uuid.NameSpaceDNS, []byte(host)).String() + "-" + networkID
}

// UpdateDeviceStatus records the state of ports an agent wired (or lost):
// ACTIVE when up and administratively up, DOWN otherwise. Nova hears of its
// instances' ports coming up and going down.
func (p *Plugin) UpdateDeviceStatus(ctx context.Context, u rpc.UpdateDeviceStatus) error {
	for _, d := range u.Devices {
		pt, err := p.st.Port(ctx, d.PortID)
		if nstore.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		status := netapi.StatusDown
		if d.Up && pt.AdminStateUp {
			status = netapi.StatusActive
		}
		changed, err := p.st.SetPortStatus(ctx, pt.ID, status)
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		p.log.InfoContext(ctx, "port status changed", "port_id", pt.ID, "status", status, "host", u.Host)
		if isComputeOwned(pt.DeviceOwner) && pt.DeviceID != "" && p.cfg.NotifyNovaOnPortStatusChanges {
			name := netapi.EventVIFPlugged
			if status == netapi.StatusDown {
				if pt.Status != netapi.StatusActive {
					continue
				}
				name = netapi.EventVIFUnplugged
			}
			p.nova.Notify(ctx, notify.Event{Name: name, ServerUUID: pt.DeviceID, Tag: pt.ID, Status: notify.Completed})
		}
	}
	return nil
}

// UpdateFloatingIPStatuses records what a router applied.
func (p *Plugin) UpdateFloatingIPStatuses(ctx context.Context, u rpc.UpdateFIPStatus) error {
	for id, status := range u.Statuses {
		if status != netapi.StatusActive && status != netapi.StatusDown && status != netapi.StatusError {
			continue
		}
		if _, err := p.st.SetFloatingIPStatus(ctx, id, status); err != nil && !nstore.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// Agents lists agents.
func (p *Plugin) Agents(ctx context.Context, filters []nstore.Filter) ([]*nstore.Agent, error) {
	as, err := p.st.Agents(ctx, filters)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		a.Alive = p.alive(a)
	}
	return as, nil
}

// Agent reads an agent.
func (p *Plugin) Agent(ctx context.Context, id string) (*nstore.Agent, error) {
	a, err := p.st.Agent(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, AgentNotFound(id))
	}
	a.Alive = p.alive(a)
	return a, nil
}

// UpdateAgent changes admin_state_up and description.
func (p *Plugin) UpdateAgent(ctx context.Context, id string, adminUp *bool, desc *string, descSet bool) (*nstore.Agent, error) {
	a, err := p.Agent(ctx, id)
	if err != nil {
		return nil, err
	}
	up := a.AdminStateUp
	if adminUp != nil {
		up = *adminUp
	}
	d := a.Description
	if descSet {
		d = desc
	}
	if err := p.st.UpdateAgent(ctx, id, up, d); err != nil {
		return nil, notFoundAs(err, AgentNotFound(id))
	}
	return p.Agent(ctx, id)
}

// DeleteAgent forgets an agent; a host whose L2 agent goes leaves the
// other hosts' tunnel peers.
func (p *Plugin) DeleteAgent(ctx context.Context, id string) error {
	if err := notFoundAs(p.st.DeleteAgent(ctx, id), AgentNotFound(id)); err != nil {
		return err
	}
	p.pushTunnels(ctx)
	return nil
}

// DHCPAgentsOfNetwork lists the agents serving a network's DHCP.
func (p *Plugin) DHCPAgentsOfNetwork(ctx context.Context, networkID string) ([]*nstore.Agent, error) {
	if _, err := p.Network(ctx, networkID); err != nil {
		return nil, err
	}
	as, err := p.st.NetworkDHCPAgents(ctx, networkID)
	for _, a := range as {
		a.Alive = p.alive(a)
	}
	return as, err
}

// NetworksOfDHCPAgent lists the networks a DHCP agent serves.
func (p *Plugin) NetworksOfDHCPAgent(ctx context.Context, agentID string) ([]*netapi.Network, error) {
	a, err := p.Agent(ctx, agentID)
	if err != nil {
		return nil, err
	}
	if a.AgentType != netapi.AgentTypeDHCP {
		return nil, notFound("AgentNotFoundByTypeHost", "Agent with agent_type=%s and host=%s could not be found", netapi.AgentTypeDHCP, a.Host)
	}
	ids, err := p.st.DHCPAgentNetworks(ctx, agentID)
	if err != nil || len(ids) == 0 {
		return []*netapi.Network{}, err
	}
	return p.Networks(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "id", Values: anyStrings(ids)}})
}

func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// AddNetworkToDHCPAgent schedules a network on a DHCP agent.
func (p *Plugin) AddNetworkToDHCPAgent(ctx context.Context, agentID, networkID string) error {
	a, err := p.Agent(ctx, agentID)
	if err != nil {
		return err
	}
	if a.AgentType != netapi.AgentTypeDHCP {
		return InvalidInput("Agent %s is not a valid DHCP Agent or has been disabled", agentID)
	}
	if _, err := p.Network(ctx, networkID); err != nil {
		return err
	}
	added, err := p.st.BindNetworkDHCP(ctx, networkID, agentID)
	if err != nil {
		return err
	}
	if !added {
		return conflict("NetworkHostedByDHCPAgent", "The network %s has been already hosted by the DHCP Agent %s.", networkID, agentID)
	}
	p.markNetwork(ctx, networkID)
	return nil
}

// RemoveNetworkFromDHCPAgent unschedules a network from a DHCP agent.
func (p *Plugin) RemoveNetworkFromDHCPAgent(ctx context.Context, agentID, networkID string) error {
	a, err := p.Agent(ctx, agentID)
	if err != nil {
		return err
	}
	removed, err := p.st.UnbindNetworkDHCP(ctx, networkID, agentID)
	if err != nil {
		return err
	}
	if !removed {
		return notFound("NetworkNotHostedByDhcpAgent", "The network %s is not hosted by the DHCP agent %s.", networkID, agentID)
	}
	// Its DHCP port on that host goes too.
	_ = p.tx(ctx, func(q nstore.Q) error {
		ports, err := q.DevicePorts(ctx, DHCPDeviceID(a.Host, networkID))
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
	p.cast(ctx, rpc.HostSubject(a.Host), rpc.MethodDHCPDelete, rpc.DHCPDelete{NetworkID: networkID})
	p.markNetwork(ctx, networkID)
	return nil
}

// L3AgentsOfRouter lists the agents hosting a router.
func (p *Plugin) L3AgentsOfRouter(ctx context.Context, routerID string) ([]*nstore.Agent, error) {
	if _, err := p.Router(ctx, routerID); err != nil {
		return nil, err
	}
	as, err := p.st.RouterL3Agents(ctx, routerID)
	for _, a := range as {
		a.Alive = p.alive(a)
	}
	return as, err
}

// RoutersOfL3Agent lists the routers an L3 agent hosts.
func (p *Plugin) RoutersOfL3Agent(ctx context.Context, agentID string) ([]*nstore.Router, error) {
	a, err := p.Agent(ctx, agentID)
	if err != nil {
		return nil, err
	}
	if a.AgentType != netapi.AgentTypeL3 {
		return nil, notFound("AgentNotFoundByTypeHost", "Agent with agent_type=%s and host=%s could not be found", netapi.AgentTypeL3, a.Host)
	}
	ids, err := p.st.L3AgentRouters(ctx, agentID)
	if err != nil || len(ids) == 0 {
		return []*nstore.Router{}, err
	}
	return p.Routers(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "id", Values: anyStrings(ids)}})
}

// AddRouterToL3Agent schedules a router on an L3 agent (moving it from
// any other).
func (p *Plugin) AddRouterToL3Agent(ctx context.Context, agentID, routerID string) error {
	a, err := p.Agent(ctx, agentID)
	if err != nil {
		return err
	}
	if a.AgentType != netapi.AgentTypeL3 {
		return InvalidInput("Agent %s is not a L3 Agent or has been disabled", agentID)
	}
	var oldHosts []string
	err = p.tx(ctx, func(q nstore.Q) error {
		oldHosts = nil
		if _, err := q.Router(ctx, routerID); err != nil {
			return notFoundAs(err, RouterNotFound(routerID))
		}
		cur, err := q.RouterL3Agents(ctx, routerID)
		if err != nil {
			return err
		}
		for _, c := range cur {
			if c.ID == agentID {
				return conflict("RouterHostedByL3Agent", "The router %s has been already hosted by the L3 Agent %s.", routerID, agentID)
			}
			oldHosts = append(oldHosts, c.Host)
			if _, err := q.UnbindRouterL3(ctx, routerID, c.ID); err != nil {
				return err
			}
		}
		if len(oldHosts) > 0 {
			// Moved: DOWN until the new host has made it and says so.
			if err := routerFloatingIPsDown(ctx, q, routerID); err != nil {
				return err
			}
		}
		if _, err := q.BindRouterL3(ctx, routerID, agentID); err != nil {
			return err
		}
		return p.rehomeRouterPorts(ctx, q, routerID, a.Host)
	})
	if err != nil {
		return err
	}
	for _, h := range oldHosts {
		p.cast(ctx, rpc.HostSubject(h), rpc.MethodRouterDelete, rpc.RouterDelete{RouterID: routerID})
	}
	p.markRouter(ctx, routerID)
	return nil
}

// RemoveRouterFromL3Agent unschedules a router.
func (p *Plugin) RemoveRouterFromL3Agent(ctx context.Context, agentID, routerID string) error {
	a, err := p.Agent(ctx, agentID)
	if err != nil {
		return err
	}
	err = p.tx(ctx, func(q nstore.Q) error {
		removed, err := q.UnbindRouterL3(ctx, routerID, agentID)
		if err != nil {
			return err
		}
		if !removed {
			return notFound("RouterNotHostedByL3Agent", "The router %s is not hosted by L3 agent %s.", routerID, agentID)
		}
		// No host makes the router now: its floating IPs are DOWN, as
		// Neutron's L3 agent reports them when it removes a router.
		return routerFloatingIPsDown(ctx, q, routerID)
	})
	if err != nil {
		return err
	}
	p.cast(ctx, rpc.HostSubject(a.Host), rpc.MethodRouterDelete, rpc.RouterDelete{RouterID: routerID})
	return nil
}

// routerFloatingIPsDown sets the router's floating IPs DOWN (in q).
func routerFloatingIPsDown(ctx context.Context, q nstore.Q, routerID string) error {
	fips, err := q.FloatingIPsWhere(ctx, "router_id", routerID)
	if err != nil {
		return err
	}
	for _, f := range fips {
		if _, err := q.SetFloatingIPStatus(ctx, f.ID, netapi.StatusDown); err != nil && !nstore.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// AvailabilityZones lists the zones of DHCP (network) and L3 (router) agents.
func (p *Plugin) AvailabilityZones(ctx context.Context) ([]netapi.AvailabilityZone, error) {
	agents, err := p.st.Agents(ctx, nil)
	if err != nil {
		return nil, err
	}
	type key struct{ name, resource string }
	state := map[key]string{}
	for _, a := range agents {
		if a.AvailabilityZone == nil {
			continue
		}
		res := ""
		switch a.AgentType {
		case netapi.AgentTypeDHCP:
			res = "network"
		case netapi.AgentTypeL3:
			res = "router"
		default:
			continue
		}
		k := key{*a.AvailabilityZone, res}
		if a.AdminStateUp && p.alive(a) {
			state[k] = "available"
		} else if state[k] == "" {
			state[k] = "unavailable"
		}
	}
	out := []netapi.AvailabilityZone{}
	for k, s := range state {
		out = append(out, netapi.AvailabilityZone{Name: k.name, Resource: k.resource, State: s})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Name+out[i].Resource < out[j].Name+out[j].Resource
	})
	return out, nil
}

// checkAZHints refuses hints naming no zone of the agent type.
func (p *Plugin) checkAZHints(ctx context.Context, hints []string, agentType string) error {
	if len(hints) == 0 {
		return nil
	}
	agents, err := p.st.Agents(ctx, []nstore.Filter{{Field: "agent_type", Values: []any{agentType}}})
	if err != nil {
		return err
	}
	for _, h := range hints {
		if !slices.ContainsFunc(agents, func(a *nstore.Agent) bool { return a.AvailabilityZone != nil && *a.AvailabilityZone == h }) {
			return notFound("AvailabilityZoneNotFound", "AvailabilityZone %s could not be found.", h)
		}
	}
	return nil
}

func (p *Plugin) fillNetworkAZ(ctx context.Context, n *netapi.Network) {
	p.fillNetworksAZ(ctx, []*netapi.Network{n})
}

func (p *Plugin) fillNetworksAZ(ctx context.Context, nets []*netapi.Network) {
	if len(nets) == 0 {
		return
	}
	zones, err := p.hostedZones(ctx, netapi.AgentTypeDHCP)
	if err != nil {
		return
	}
	for _, n := range nets {
		if z := zones[n.ID]; z != nil {
			n.AvailabilityZones = z
		}
	}
}

func (p *Plugin) fillRouterAZ(ctx context.Context, rs []*nstore.Router) {
	if len(rs) == 0 {
		return
	}
	zones, err := p.hostedZones(ctx, netapi.AgentTypeL3)
	if err != nil {
		return
	}
	for _, r := range rs {
		if z := zones[r.ID]; z != nil {
			r.AvailabilityZones = z
		}
	}
}

// hostedZones maps each network (DHCP) or router (L3) to the zones of the
// agents hosting it.
func (p *Plugin) hostedZones(ctx context.Context, agentType string) (map[string][]string, error) {
	agents, err := p.st.Agents(ctx, []nstore.Filter{{Field: "agent_type", Values: []any{agentType}}})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, a := range agents {
		if a.AvailabilityZone == nil {
			continue
		}
		var ids []string
		if agentType == netapi.AgentTypeDHCP {
			ids, err = p.st.DHCPAgentNetworks(ctx, a.ID)
		} else {
			ids, err = p.st.L3AgentRouters(ctx, a.ID)
		}
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !slices.Contains(out[id], *a.AvailabilityZone) {
				out[id] = append(out[id], *a.AvailabilityZone)
			}
		}
	}
	return out, nil
}

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

// Config is the [agent] section of neutron.conf as tenku's agent reads it.
type Config struct {
	ReportInterval   time.Duration `opt:"report_interval" help:"Seconds between heartbeats of the network agent to the server (agent_down_time should be at least twice this)."`
	ResyncInterval   time.Duration `opt:"resync_interval" help:"Seconds between full resynchronisations of the host with the server's desired state (0 disables the periodic resync; one always runs at start)."`
	AvailabilityZone string        `opt:"availability_zone" help:"Availability zone of this host's DHCP and L3 agents."`
	// DataplaneDriver is read by the assembly, which builds the driver.
	DataplaneDriver string `opt:"dataplane_driver" help:"Name of this host's data plane driver (fake keeps the data plane in memory)."`
}

// DefaultConfig returns Neutron's defaults.
func DefaultConfig() Config {
	return Config{ReportInterval: 30 * time.Second, ResyncInterval: 5 * time.Minute, AvailabilityZone: "nova", DataplaneDriver: "fake"}
}

// Agent runs one host's data plane.
type Agent struct {
	cfg    Config
	host   string
	bus    *bus.Bus
	driver dataplane.Driver
	log    *slog.Logger

	mu       sync.Mutex
	networks map[string]dataplane.Network // networks announced by the server (for updates)
	ports    map[string]dataplane.Port
	filters  map[string]dataplane.PortFilter
	dhcp     map[string]dataplane.DHCP // without Hosts: those are in leases
	leases   map[string]map[string]dataplane.DHCPHost
	routers  map[string]dataplane.Router
	// peers are the other hosts' tunnel addresses, as the server last
	// said.
	peers []string
	// members holds the membership (port → addresses) of the groups the
	// filters name as remote group; refs counts the filters naming each.
	// A group named but not held is asked for whole; the changes heard
	// while the answer is on its way wait in fetching.
	members  map[string]map[string][]string
	refs     map[string]int
	fetching map[string][]rpc.GroupMembers
	// fetchAfter spaces out asking again after a failure.
	fetchAfter time.Time
	applied    map[string]bool   // ports, dhcp and routers the driver holds
	dhcpUp     map[string]string // network → the DHCP port reported up
	dirty      map[string]int    // key → attempts so far
	resync     bool
	// syncing is set while a full sync is under way: the changes heard
	// meanwhile are kept in journal and replayed on its result, which
	// they may postdate.
	syncing bool
	journal []func() []string
	wake    chan struct{}
	started bool

	subs   []*bus.Subscription
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ service.Service = (*Agent)(nil)

// New returns an agent for deps.Host using driver.
func New(cfg Config, d service.Deps, driver dataplane.Driver) (*Agent, error) {
	if d.Bus == nil {
		return nil, errors.New("network agent: a bus is required")
	}
	if d.Host == "" {
		return nil, errors.New("network agent: the host name is required")
	}
	if driver == nil {
		return nil, errors.New("network agent: a data plane driver is required")
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = 30 * time.Second
	}
	log := d.Log
	if log == nil {
		log = logging.Discard()
	}
	return &Agent{cfg: cfg, host: d.Host, bus: d.Bus, driver: driver, log: log.With("host", d.Host),
		networks: map[string]dataplane.Network{}, ports: map[string]dataplane.Port{}, filters: map[string]dataplane.PortFilter{},
		dhcp: map[string]dataplane.DHCP{}, leases: map[string]map[string]dataplane.DHCPHost{}, routers: map[string]dataplane.Router{},
		members: map[string]map[string][]string{}, refs: map[string]int{}, fetching: map[string][]rpc.GroupMembers{},
		applied: map[string]bool{}, dhcpUp: map[string]string{}, dirty: map[string]int{}, wake: make(chan struct{}, 1)}, nil
}

// Name names the service.
func (a *Agent) Name() string { return "neutron-agent" }

// Start subscribes, reports, resyncs the host and starts the loops.
func (a *Agent) Start(ctx context.Context) error {
	handlers := map[string]bus.Handler{
		rpc.MethodPortsUpdate:   a.onPortsUpdate,
		rpc.MethodMembersUpdate: a.onMembersUpdate,
		rpc.MethodNetworkUpdate: a.onNetworkUpdate,
		rpc.MethodNetworkDelete: a.onNetworkDelete,
		rpc.MethodDHCPUpdate:    a.onDHCPUpdate,
		rpc.MethodDHCPHosts:     a.onDHCPHosts,
		rpc.MethodDHCPDelete:    a.onDHCPDelete,
		rpc.MethodRouterUpdate:  a.onRouterUpdate,
		rpc.MethodRouterDelete:  a.onRouterDelete,
		rpc.MethodFiltersUpdate: a.onFiltersUpdate,
		rpc.MethodResync:        a.onResync,
		rpc.MethodTunnelUpdate:  a.onTunnelUpdate,
	}
	for _, subject := range []string{rpc.HostSubject(a.host), rpc.FanoutSubject} {
		// One handler at a time keeps casts in order.
		s, err := a.bus.Serve(ctx, subject, bus.ServeOptions{Concurrency: 1}, handlers)
		if err != nil {
			a.stopSubs()
			return err
		}
		a.subs = append(a.subs, s)
	}
	if m, ok := a.driver.(dataplane.MetadataProxier); ok {
		m.SetMetadataLookup(a.metadataInstance)
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	if err := a.report(ctx, true); err != nil {
		a.log.WarnContext(ctx, "first heartbeat failed; will retry", "err", err)
	}
	a.mu.Lock()
	a.resync = true
	a.started = true
	a.mu.Unlock()
	a.kick()
	a.wg.Add(2)
	go a.heartbeats(lctx)
	go a.worker(lctx)
	if w, ok := a.driver.(dataplane.Watcher); ok {
		a.wg.Add(1)
		go a.watch(lctx, w)
	}
	a.log.InfoContext(ctx, "network agent started", "agent_type", a.driver.Capabilities().AgentType)
	return nil
}

// Shutdown stops the loops and subscriptions; the data plane stays as it is
// (a restarted agent resyncs it).
func (a *Agent) Shutdown(ctx context.Context) error {
	a.stopSubs()
	if a.cancel != nil {
		a.cancel()
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Agent) stopSubs() {
	for _, s := range a.subs {
		s.Stop()
	}
	a.subs = nil
}

func (a *Agent) kick() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// metadataInstance asks the server which instance a guest's address is
// (the metadata proxy's lookup).
func (a *Agent) metadataInstance(ctx context.Context, networkIDs []string, ip string) (string, string, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var r rpc.MetadataInstanceReply
	if err := a.bus.Call(cctx, rpc.ServerSubject, rpc.MethodMetadataInstance, rpc.MetadataInstance{Host: a.host, NetworkIDs: networkIDs, IP: ip}, &r); err != nil {
		return "", "", err
	}
	if r.InstanceID == "" {
		return "", "", dataplane.ErrUnknownAddress
	}
	return r.InstanceID, r.ProjectID, nil
}

// agents describes what this host runs, from the driver's capabilities.
func (a *Agent) agents() []rpc.AgentInfo {
	c := a.driver.Capabilities()
	a.mu.Lock()
	devices := len(a.ports)
	nets, routers := len(a.dhcp), len(a.routers)
	a.mu.Unlock()
	l2 := rpc.AgentInfo{AgentType: c.AgentType, Binary: c.Binary, Topic: "N/A", Configurations: map[string]any{
		"vif_type": c.VIFType, "vif_details": c.VIFDetails, "network_types": c.NetworkTypes, "devices": devices,
	}}
	if c.TunnelingIP != "" {
		// As Neutron's L2 agents report it; the server tells the other
		// hosts.
		l2.Configurations["tunneling_ip"] = c.TunnelingIP
		l2.Configurations["tunnel_types"] = c.TunnelTypes
	}
	out := []rpc.AgentInfo{l2}
	if c.DHCP {
		out = append(out, rpc.AgentInfo{AgentType: "DHCP agent", Binary: "neutron-dhcp-agent", Topic: "dhcp_agent",
			Configurations: map[string]any{"networks": nets, "dhcp_driver": "tenku"}})
	}
	if c.L3 {
		out = append(out, rpc.AgentInfo{AgentType: "L3 agent", Binary: "neutron-l3-agent", Topic: "l3_agent",
			Configurations: map[string]any{"routers": routers, "agent_mode": "legacy"}})
	}
	if c.Metadata {
		out = append(out, rpc.AgentInfo{AgentType: "Metadata agent", Binary: "neutron-metadata-agent", Topic: "N/A",
			Configurations: map[string]any{}})
	}
	return out
}

func (a *Agent) report(ctx context.Context, start bool) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return a.bus.Call(cctx, rpc.ServerSubject, rpc.MethodReportState,
		rpc.ReportState{Host: a.host, AvailabilityZone: a.cfg.AvailabilityZone, Agents: a.agents(), Start: start}, nil)
}

func (a *Agent) heartbeats(ctx context.Context) {
	defer a.wg.Done()
	tick := time.NewTicker(a.cfg.ReportInterval)
	defer tick.Stop()
	var resync <-chan time.Time
	if a.cfg.ResyncInterval > 0 {
		t := time.NewTicker(a.cfg.ResyncInterval)
		defer t.Stop()
		resync = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := a.report(ctx, false); err != nil {
				a.log.WarnContext(ctx, "heartbeat failed", "err", err)
			}
		case <-resync:
			a.mu.Lock()
			a.resync = true
			a.mu.Unlock()
			a.kick()
		}
	}
}

func decode[T any](args json.RawMessage) (T, error) { return bus.Decode[T](args) }

func (a *Agent) mark(keys ...string) {
	a.mu.Lock()
	for _, k := range keys {
		if _, ok := a.dirty[k]; !ok {
			a.dirty[k] = 0
		}
	}
	a.mu.Unlock()
	a.kick()
}

// change applies a change heard from the server to the cache (fn returns
// the keys it made dirty). During a full sync it is also kept, to be
// replayed on the sync's result; fn must therefore set, not add.
func (a *Agent) change(fn func() []string) {
	a.mu.Lock()
	keys := fn()
	if a.syncing {
		a.journal = append(a.journal, fn)
	}
	a.mu.Unlock()
	a.mark(keys...)
}

// setFilter replaces (nil: drops) a port's filter, keeping the counts of
// remote groups named; a.mu is held. It returns the keys of groups no
// filter names any more.
func (a *Agent) setFilter(portID string, f *dataplane.PortFilter) []string {
	var keys []string
	if old, ok := a.filters[portID]; ok {
		for _, g := range remoteGroups(old) {
			if a.refs[g]--; a.refs[g] <= 0 {
				delete(a.refs, g)
				keys = append(keys, "unmembers:"+g)
			}
		}
		delete(a.filters, portID)
	}
	if f != nil {
		a.filters[portID] = *f
		for _, g := range remoteGroups(*f) {
			a.refs[g]++
		}
	}
	return keys
}

// remoteGroups lists the groups a filter's rules name, once each.
func remoteGroups(f dataplane.PortFilter) []string {
	var out []string
	for _, r := range f.Rules {
		if r.RemoteGroupID != "" && !slices.Contains(out, r.RemoteGroupID) {
			out = append(out, r.RemoteGroupID)
		}
	}
	return out
}

func (a *Agent) onPortsUpdate(ctx context.Context, args json.RawMessage) (any, error) {
	u, err := decode[rpc.PortsUpdate](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		var keys []string
		for _, d := range u.Deleted {
			delete(a.ports, d.PortID)
			keys = append(keys, a.setFilter(d.PortID, nil)...)
			keys = append(keys, "port:"+d.PortID)
		}
		for _, pu := range u.Ports {
			a.ports[pu.Port.ID] = pu.Port
			a.networks[pu.Port.Network.ID] = pu.Port.Network
			if pu.Filter != nil {
				keys = append(keys, a.setFilter(pu.Port.ID, pu.Filter)...)
			}
			keys = append(keys, "port:"+pu.Port.ID)
		}
		return keys
	})
	return nil, nil
}

// onMembersUpdate applies membership changes of the groups the host holds
// (or is asking for); it ignores the others.
func (a *Agent) onMembersUpdate(ctx context.Context, args json.RawMessage) (any, error) {
	u, err := decode[rpc.MembersUpdate](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		var keys []string
		for _, gm := range u.Groups {
			if held, ok := a.members[gm.GroupID]; ok {
				applyMembers(held, gm)
				keys = append(keys, "members:"+gm.GroupID)
			} else if waiting, ok := a.fetching[gm.GroupID]; ok {
				a.fetching[gm.GroupID] = append(waiting, gm)
			}
		}
		return keys
	})
	return nil, nil
}

// applyMembers changes a held membership.
func applyMembers(held map[string][]string, gm rpc.GroupMembers) {
	for _, id := range gm.Left {
		delete(held, id)
	}
	for id, addrs := range gm.Ports {
		held[id] = addrs
	}
}

func (a *Agent) onNetworkUpdate(ctx context.Context, args json.RawMessage) (any, error) {
	u, err := decode[rpc.NetworkUpdate](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		if _, known := a.networks[u.Network.ID]; !known {
			return nil
		}
		a.networks[u.Network.ID] = u.Network
		for id, p := range a.ports {
			if p.Network.ID == u.Network.ID {
				p.Network = u.Network
				a.ports[id] = p
			}
		}
		return []string{"net:" + u.Network.ID}
	})
	return nil, nil
}

func (a *Agent) onNetworkDelete(ctx context.Context, args json.RawMessage) (any, error) {
	d, err := decode[rpc.NetworkDelete](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		_, known := a.networks[d.NetworkID]
		delete(a.networks, d.NetworkID)
		var gone []string
		for id, p := range a.ports {
			if p.Network.ID == d.NetworkID {
				delete(a.ports, id)
				gone = append(gone, a.setFilter(id, nil)...)
				gone = append(gone, "port:"+id)
			}
		}
		if _, ok := a.dhcp[d.NetworkID]; ok {
			delete(a.dhcp, d.NetworkID)
			delete(a.leases, d.NetworkID)
			gone = append(gone, "dhcp:"+d.NetworkID)
		}
		if known {
			gone = append(gone, "net:"+d.NetworkID)
		}
		return gone
	})
	return nil, nil
}

func (a *Agent) onDHCPUpdate(ctx context.Context, args json.RawMessage) (any, error) {
	u, err := decode[rpc.DHCPUpdate](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		a.setDHCP(u.DHCP)
		a.networks[u.DHCP.Network.ID] = u.DHCP.Network
		return []string{"dhcp:" + u.DHCP.Network.ID}
	})
	return nil, nil
}

// setDHCP holds a network's DHCP service, its leases by port; a.mu is held.
func (a *Agent) setDHCP(d dataplane.DHCP) {
	leases := make(map[string]dataplane.DHCPHost, len(d.Hosts))
	for _, h := range d.Hosts {
		leases[h.PortID] = h
	}
	d.Hosts = nil
	a.dhcp[d.Network.ID] = d
	a.leases[d.Network.ID] = leases
}

// onDHCPHosts changes the leases of a DHCP service the host serves.
func (a *Agent) onDHCPHosts(ctx context.Context, args json.RawMessage) (any, error) {
	u, err := decode[rpc.DHCPHostsUpdate](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		leases, ok := a.leases[u.NetworkID]
		if !ok {
			return nil // the whole service, when it comes, has them
		}
		for _, id := range u.Removed {
			delete(leases, id)
		}
		for _, h := range u.Hosts {
			leases[h.PortID] = h
		}
		return []string{"dhcp:" + u.NetworkID}
	})
	return nil, nil
}

func (a *Agent) onDHCPDelete(ctx context.Context, args json.RawMessage) (any, error) {
	d, err := decode[rpc.DHCPDelete](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		delete(a.dhcp, d.NetworkID)
		delete(a.leases, d.NetworkID)
		return []string{"dhcp:" + d.NetworkID}
	})
	return nil, nil
}

func (a *Agent) onRouterUpdate(ctx context.Context, args json.RawMessage) (any, error) {
	u, err := decode[rpc.RouterUpdate](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		a.routers[u.Router.ID] = u.Router
		for _, rp := range routerPorts(u.Router) {
			a.networks[rp.Network.ID] = rp.Network
		}
		return []string{"router:" + u.Router.ID}
	})
	return nil, nil
}

func (a *Agent) onRouterDelete(ctx context.Context, args json.RawMessage) (any, error) {
	d, err := decode[rpc.RouterDelete](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		delete(a.routers, d.RouterID)
		return []string{"router:" + d.RouterID}
	})
	return nil, nil
}

func (a *Agent) onFiltersUpdate(ctx context.Context, args json.RawMessage) (any, error) {
	u, err := decode[rpc.FiltersUpdate](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		var keys []string
		for _, f := range u.Filters {
			if _, ok := a.ports[f.PortID]; ok {
				keys = append(keys, a.setFilter(f.PortID, &f)...)
				keys = append(keys, "filter:"+f.PortID)
			}
		}
		return keys
	})
	return nil, nil
}

// onTunnelUpdate takes the other hosts' tunnel addresses from the whole
// list the server sent.
func (a *Agent) onTunnelUpdate(ctx context.Context, args json.RawMessage) (any, error) {
	u, err := decode[rpc.TunnelUpdate](args)
	if err != nil {
		return nil, err
	}
	a.change(func() []string {
		a.peers = a.otherPeers(u.Peers)
		return []string{keyTunnels}
	})
	return nil, nil
}

// keyTunnels is the work key of the tunnel peers.
const keyTunnels = "tunnels:"

// otherPeers lists the tunnel addresses of the hosts other than this one,
// sorted and once each.
func (a *Agent) otherPeers(all []rpc.TunnelPeer) []string {
	out := []string{}
	for _, p := range all {
		if p.Host != a.host && p.IP != "" && !slices.Contains(out, p.IP) {
			out = append(out, p.IP)
		}
	}
	slices.Sort(out)
	return out
}

func (a *Agent) onResync(ctx context.Context, args json.RawMessage) (any, error) {
	a.mu.Lock()
	a.resync = true
	a.mu.Unlock()
	a.kick()
	return nil, nil
}

func routerPorts(r dataplane.Router) []dataplane.RouterPort {
	out := slices.Clone(r.Interfaces)
	if r.Gateway != nil {
		out = append(out, *r.Gateway)
	}
	return out
}

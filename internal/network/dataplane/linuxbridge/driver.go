package linuxbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
)

// Options place the driver; the zero value drives the host itself.
type Options struct {
	// Namespace holds the host-level devices (bridges, segments, taps);
	// "" is the caller's own namespace. Tests use a namespace as a host.
	Namespace string
	// NamespacePrefix is put before the names of the namespaces the driver
	// makes ("qdhcp-…", "qrouter-…"), so that several stand-in hosts can
	// share one machine in tests; "" on real hosts.
	NamespacePrefix string
	// StateDir holds the driver's files (dnsmasq's host files, pid files);
	// the agent's state_path on real hosts.
	StateDir string
	// PollInterval is how often taps are looked for (500 ms when 0): a
	// tap may appear after its port is bound.
	PollInterval time.Duration
	// MetadataLookup finds the instance behind a guest's address for the
	// metadata proxy (the agent sets the server's through
	// SetMetadataLookup); nil uses the ports bound to this host (whose
	// project is taken to be their network's).
	MetadataLookup MetadataLookup
	Log            *slog.Logger
}

// Driver is the Linux bridge data plane. Create it with New; Close stops its
// tap watcher.
type Driver struct {
	cfg  Config
	opts Options
	host netdev.Handle
	log  *slog.Logger

	mu       sync.Mutex
	networks map[string]dataplane.Network
	ports    map[string]dataplane.Port
	portUp   map[string]bool // last status reported per port
	dhcp     map[string]dataplane.DHCP
	routers  map[string]dataplane.Router
	filters  map[string]dataplane.PortFilter
	members  map[memberKey][]string
	sgIndex  map[string]int // port → its mark
	sgNext   int
	brnf     bool // br_netfilter switched on in the host namespace
	proxies  map[string]*proxy
	sgSets   map[memberKey]bool // member sets the tables hold
	sgDevice map[int]string     // mark → device the tables filter
	peers    []string           // other hosts' tunnel addresses

	events chan dataplane.PortEvent
	cancel context.CancelFunc
	done   chan struct{}
}

var (
	_ dataplane.Driver   = (*Driver)(nil)
	_ dataplane.Watcher  = (*Driver)(nil)
	_ dataplane.Tunneler = (*Driver)(nil)

	_ dataplane.MetadataProxier = (*Driver)(nil)
)

// New returns a driver and starts its tap watcher.
func New(cfg Config, opts Options) (*Driver, error) {
	if cfg.VXLAN.UDPDstPort == 0 {
		cfg.VXLAN.UDPDstPort = 4789
	}
	if cfg.VXLAN.EnableVXLAN && cfg.VXLAN.LocalIP != "" {
		if err := checkIP(cfg.VXLAN.LocalIP); err != nil {
			return nil, fmt.Errorf("[vxlan] local_ip: %w", err)
		}
	}
	for physnet, a := range cfg.LinuxBridge.BridgeAddressMappings {
		if _, err := netip.ParsePrefix(a); err != nil {
			return nil, fmt.Errorf("[linux_bridge] bridge_address_mappings %s:%s: want an address/prefix (172.24.4.1/24)", physnet, a)
		}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Driver{cfg: cfg, opts: opts, host: netdev.Handle{NS: opts.Namespace}, log: opts.Log,
		networks: map[string]dataplane.Network{}, ports: map[string]dataplane.Port{}, portUp: map[string]bool{},
		dhcp: map[string]dataplane.DHCP{}, routers: map[string]dataplane.Router{},
		filters: map[string]dataplane.PortFilter{}, members: map[memberKey][]string{}, sgIndex: map[string]int{},
		proxies: map[string]*proxy{},
		events:  make(chan dataplane.PortEvent, 4096), cancel: cancel, done: make(chan struct{})}
	go d.watch(ctx)
	return d, nil
}

// Close stops the tap watcher; what the driver made stays on the host.
func (d *Driver) Close() error {
	d.cancel()
	<-d.done
	d.mu.Lock()
	for k := range d.proxies {
		d.stopProxy(k)
	}
	d.mu.Unlock()
	return nil
}

// Capabilities implements dataplane.Driver.
func (d *Driver) Capabilities() dataplane.Capabilities {
	types := []string{"flat", "vlan", "local"}
	c := dataplane.Capabilities{
		AgentType: "Linux bridge agent", Binary: "neutron-linuxbridge-agent",
		VIFType: "bridge", VIFDetails: map[string]any{"port_filter": true, "connectivity": "l2"},
		DHCP: true, L3: true, Metadata: d.metadataEnabled(),
	}
	if d.cfg.VXLAN.EnableVXLAN && d.cfg.VXLAN.LocalIP != "" {
		types = append(types, "vxlan")
		c.TunnelingIP, c.TunnelTypes = d.cfg.VXLAN.LocalIP, []string{"vxlan"}
	}
	c.NetworkTypes = types
	return c
}

// Events implements dataplane.Watcher: a port is up once its tap is on its
// bridge.
func (d *Driver) Events() <-chan dataplane.PortEvent { return d.events }

// emit reports a port's status if it changed (or always, when force); d.mu
// is held.
func (d *Driver) emit(id string, up, force bool) {
	if old, ok := d.portUp[id]; ok && old == up && !force {
		return
	}
	d.portUp[id] = up
	select {
	case d.events <- dataplane.PortEvent{PortID: id, Up: up}:
	default:
		d.log.Warn("port event dropped: nobody reads them", "port_id", id, "up", up)
	}
}

// Resync implements dataplane.Driver.
func (d *Driver) Resync(ctx context.Context, s dataplane.State) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	want := map[string]bool{}
	nets := map[string]dataplane.Network{}
	for _, n := range s.Networks {
		nets[n.ID] = n
	}
	for _, p := range s.Ports {
		if _, ok := nets[p.Network.ID]; !ok {
			nets[p.Network.ID] = p.Network
		}
	}
	for _, c := range s.DHCP {
		if _, ok := nets[c.Network.ID]; !ok {
			nets[c.Network.ID] = c.Network
		}
	}
	for _, r := range s.Routers {
		for _, rp := range routerPorts(r) {
			if _, ok := nets[rp.Network.ID]; !ok {
				nets[rp.Network.ID] = rp.Network
			}
		}
	}
	d.networks = map[string]dataplane.Network{}
	for _, n := range nets {
		want[bridgeOf(n)] = true
		if err := d.ensureNetwork(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	if err := d.removeStrayL2(ctx, want); err != nil {
		errs = append(errs, err)
	}
	old := d.ports
	d.ports = map[string]dataplane.Port{}
	for _, p := range s.Ports {
		d.ports[p.ID] = p
	}
	for id, p := range old {
		if _, ok := d.ports[id]; !ok {
			if err := d.release(ctx, p); err != nil {
				errs = append(errs, err)
			}
			delete(d.portUp, id)
		}
	}
	links, err := d.linkMap(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, p := range d.ports {
		up, err := d.wire(ctx, p, links)
		if err != nil {
			errs = append(errs, err)
		}
		d.emit(p.ID, up, true)
	}
	if err := d.resyncDHCP(ctx, s.DHCP); err != nil {
		errs = append(errs, err)
	}
	if err := d.resyncRouters(ctx, s.Routers); err != nil {
		errs = append(errs, err)
	}
	if err := d.resyncFilters(ctx, s.Filters, s.MemberSets); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func routerPorts(r dataplane.Router) []dataplane.RouterPort {
	out := append([]dataplane.RouterPort(nil), r.Interfaces...)
	if r.Gateway != nil {
		out = append(out, *r.Gateway)
	}
	return out
}

// watch wires taps that appear after their port was plugged and reports
// ports whose tap went away.
func (d *Driver) watch(ctx context.Context) {
	defer close(d.done)
	t := time.NewTicker(d.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.mu.Lock()
		d.superviseDHCP(ctx)
		if len(d.ports) > 0 {
			links, err := d.linkMap(ctx)
			if err == nil {
				for _, p := range maps.Clone(d.ports) {
					if _, ok := d.networks[p.Network.ID]; !ok {
						continue
					}
					up, err := d.wire(ctx, p, links)
					if err != nil && ctx.Err() == nil {
						d.log.Warn("wiring a tap failed", "port_id", p.ID, "err", err)
					}
					d.emit(p.ID, up, false)
				}
			}
		}
		d.mu.Unlock()
	}
}

func (d *Driver) linkMap(ctx context.Context) (map[string]netdev.Link, error) {
	links, err := d.host.Links(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]netdev.Link, len(links))
	for _, l := range links {
		m[l.Name] = l
	}
	return m, nil
}

package fake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/tenku-cloud/tenku/internal/network/dataplane"
)

// Driver is the fake data plane. The zero value is not usable; call New.
type Driver struct {
	mu       sync.Mutex
	caps     dataplane.Capabilities
	networks map[string]dataplane.Network
	ports    map[string]dataplane.Port
	dhcp     map[string]dataplane.DHCP
	routers  map[string]dataplane.Router
	filters  map[string]dataplane.PortFilter
	members  map[memberKey]dataplane.MemberSet
	// calls is a ring of the last maxCalls operations: a fake that runs a
	// cloud for days must not grow with every port it ever plugged.
	calls   []string
	next    int
	fail    map[string]error
	resyncs int
	peers   []string
}

type memberKey struct{ group, ethertype string }

// maxCalls bounds the operations Calls remembers.
const maxCalls = 4096

var (
	_ dataplane.Driver   = (*Driver)(nil)
	_ dataplane.Tunneler = (*Driver)(nil)
)

// New returns an empty fake that presents itself as a Linux bridge agent with
// DHCP, L3 and metadata.
func New() *Driver {
	return &Driver{
		caps: dataplane.Capabilities{
			AgentType: "Linux bridge agent", Binary: "neutron-linuxbridge-agent",
			VIFType: "bridge", VIFDetails: map[string]any{"port_filter": true, "connectivity": "l2"},
			NetworkTypes: []string{"flat", "vlan", "vxlan", "local"},
			DHCP:         true, L3: true, Metadata: true,
		},
		networks: map[string]dataplane.Network{}, ports: map[string]dataplane.Port{},
		dhcp: map[string]dataplane.DHCP{}, routers: map[string]dataplane.Router{},
		filters: map[string]dataplane.PortFilter{}, members: map[memberKey]dataplane.MemberSet{}, fail: map[string]error{},
	}
}

// SetCapabilities replaces what the driver claims.
func (d *Driver) SetCapabilities(c dataplane.Capabilities) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.caps = c
}

// Fail makes calls of an operation fail with err (nil clears it). op is a
// method name ("PlugPort"), optionally with ":" and a resource id
// ("PlugPort:<port id>") to fail only that resource.
func (d *Driver) Fail(op string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		delete(d.fail, op)
		return
	}
	d.fail[op] = err
}

func (d *Driver) call(op, id string) error {
	if len(d.calls) < maxCalls {
		d.calls = append(d.calls, op+" "+id)
	} else {
		d.calls[d.next] = op + " " + id
		d.next = (d.next + 1) % maxCalls
	}
	if err := d.fail[op+":"+id]; err != nil {
		return err
	}
	return d.fail[op]
}

// Capabilities implements dataplane.Driver.
func (d *Driver) Capabilities() dataplane.Capabilities {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.caps
	c.VIFDetails = maps.Clone(c.VIFDetails)
	c.NetworkTypes = slices.Clone(c.NetworkTypes)
	c.TunnelTypes = slices.Clone(c.TunnelTypes)
	return c
}

// EnsureNetwork implements dataplane.Driver.
func (d *Driver) EnsureNetwork(ctx context.Context, n dataplane.Network) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("EnsureNetwork", n.ID); err != nil {
		return err
	}
	if !slices.Contains(d.caps.NetworkTypes, n.Segment.NetworkType) {
		return fmt.Errorf("network %s: type %q: %w", n.ID, n.Segment.NetworkType, dataplane.ErrNotSupported)
	}
	d.networks[n.ID] = n
	return nil
}

// DeleteNetwork implements dataplane.Driver.
func (d *Driver) DeleteNetwork(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("DeleteNetwork", id); err != nil {
		return err
	}
	delete(d.networks, id)
	return nil
}

// PlugPort implements dataplane.Driver.
func (d *Driver) PlugPort(ctx context.Context, p dataplane.Port) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("PlugPort", p.ID); err != nil {
		return err
	}
	if _, ok := d.networks[p.Network.ID]; !ok {
		return fmt.Errorf("plug port %s: network %s is not on this host", p.ID, p.Network.ID)
	}
	d.ports[p.ID] = p
	return nil
}

// UnplugPort implements dataplane.Driver.
func (d *Driver) UnplugPort(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("UnplugPort", id); err != nil {
		return err
	}
	delete(d.ports, id)
	delete(d.filters, id)
	return nil
}

// EnsureDHCP implements dataplane.Driver.
func (d *Driver) EnsureDHCP(ctx context.Context, c dataplane.DHCP) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("EnsureDHCP", c.Network.ID); err != nil {
		return err
	}
	d.dhcp[c.Network.ID] = c
	return nil
}

// DeleteDHCP implements dataplane.Driver.
func (d *Driver) DeleteDHCP(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("DeleteDHCP", id); err != nil {
		return err
	}
	delete(d.dhcp, id)
	return nil
}

// EnsureRouter implements dataplane.Driver.
func (d *Driver) EnsureRouter(ctx context.Context, r dataplane.Router) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("EnsureRouter", r.ID); err != nil {
		return err
	}
	d.routers[r.ID] = r
	return nil
}

// DeleteRouter implements dataplane.Driver.
func (d *Driver) DeleteRouter(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("DeleteRouter", id); err != nil {
		return err
	}
	delete(d.routers, id)
	return nil
}

// ApplySecurityGroups implements dataplane.Driver.
func (d *Driver) ApplySecurityGroups(ctx context.Context, fs []dataplane.PortFilter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range fs {
		if err := d.call("ApplySecurityGroups", f.PortID); err != nil {
			return err
		}
		d.filters[f.PortID] = f
	}
	return nil
}

// RemoveSecurityGroups implements dataplane.Driver.
func (d *Driver) RemoveSecurityGroups(ctx context.Context, ids []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if err := d.call("RemoveSecurityGroups", id); err != nil {
			return err
		}
		delete(d.filters, id)
	}
	return nil
}

// SetMemberSets implements dataplane.Driver.
func (d *Driver) SetMemberSets(ctx context.Context, sets []dataplane.MemberSet) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range sets {
		if err := d.call("SetMemberSets", m.GroupID); err != nil {
			return err
		}
		m.CIDRs = slices.Clone(m.CIDRs)
		d.members[memberKey{m.GroupID, m.EtherType}] = m
	}
	return nil
}

// RemoveMemberSets implements dataplane.Driver.
func (d *Driver) RemoveMemberSets(ctx context.Context, groups []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, g := range groups {
		if err := d.call("RemoveMemberSets", g); err != nil {
			return err
		}
		for k := range d.members {
			if k.group == g {
				delete(d.members, k)
			}
		}
	}
	return nil
}

// SetTunnelPeers implements dataplane.Tunneler: the fake keeps the peers,
// sorted, as TunnelPeers returns them.
func (d *Driver) SetTunnelPeers(ctx context.Context, peers []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("SetTunnelPeers", ""); err != nil {
		return err
	}
	d.peers = slices.Sorted(slices.Values(peers))
	return nil
}

// TunnelPeers returns the peers last set.
func (d *Driver) TunnelPeers() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.peers)
}

// Resync implements dataplane.Driver: the host state becomes exactly desired.
func (d *Driver) Resync(ctx context.Context, s dataplane.State) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call("Resync", ""); err != nil {
		return err
	}
	d.resyncs++
	d.networks, d.ports, d.dhcp = map[string]dataplane.Network{}, map[string]dataplane.Port{}, map[string]dataplane.DHCP{}
	d.routers, d.filters = map[string]dataplane.Router{}, map[string]dataplane.PortFilter{}
	d.members = map[memberKey]dataplane.MemberSet{}
	for _, n := range s.Networks {
		d.networks[n.ID] = n
	}
	for _, p := range s.Ports {
		d.ports[p.ID] = p
	}
	for _, c := range s.DHCP {
		d.dhcp[c.Network.ID] = c
	}
	for _, r := range s.Routers {
		d.routers[r.ID] = r
	}
	for _, f := range s.Filters {
		d.filters[f.PortID] = f
	}
	for _, m := range s.MemberSets {
		m.CIDRs = slices.Clone(m.CIDRs)
		d.members[memberKey{m.GroupID, m.EtherType}] = m
	}
	return nil
}

// Network returns a network on the host.
func (d *Driver) Network(id string) (dataplane.Network, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ok := d.networks[id]
	return n, ok
}

// Port returns a plugged port.
func (d *Driver) Port(id string) (dataplane.Port, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.ports[id]
	return p, ok
}

// DHCP returns a network's DHCP service.
func (d *Driver) DHCP(networkID string) (dataplane.DHCP, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.dhcp[networkID]
	return c, ok
}

// Router returns a hosted router.
func (d *Driver) Router(id string) (dataplane.Router, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.routers[id]
	return r, ok
}

// Filter returns a port's filter.
func (d *Driver) Filter(portID string) (dataplane.PortFilter, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, ok := d.filters[portID]
	return f, ok
}

// MemberSet returns the member set of a group of one EtherType.
func (d *Driver) MemberSet(groupID, ethertype string) (dataplane.MemberSet, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, ok := d.members[memberKey{groupID, ethertype}]
	return m, ok
}

// State returns everything the host holds, sorted by id: what a Resync with
// the same desired state would leave.
func (d *Driver) State() dataplane.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	byID := func(a, b string) int { return strings.Compare(a, b) }
	s := dataplane.State{Networks: []dataplane.Network{}, Ports: []dataplane.Port{}, DHCP: []dataplane.DHCP{},
		Routers: []dataplane.Router{}, Filters: []dataplane.PortFilter{}, MemberSets: []dataplane.MemberSet{}}
	for _, n := range d.networks {
		s.Networks = append(s.Networks, n)
	}
	slices.SortFunc(s.Networks, func(a, b dataplane.Network) int { return byID(a.ID, b.ID) })
	for _, p := range d.ports {
		s.Ports = append(s.Ports, p)
	}
	slices.SortFunc(s.Ports, func(a, b dataplane.Port) int { return byID(a.ID, b.ID) })
	for _, c := range d.dhcp {
		s.DHCP = append(s.DHCP, c)
	}
	slices.SortFunc(s.DHCP, func(a, b dataplane.DHCP) int { return byID(a.Network.ID, b.Network.ID) })
	for _, r := range d.routers {
		s.Routers = append(s.Routers, r)
	}
	slices.SortFunc(s.Routers, func(a, b dataplane.Router) int { return byID(a.ID, b.ID) })
	for _, f := range d.filters {
		s.Filters = append(s.Filters, f)
	}
	slices.SortFunc(s.Filters, func(a, b dataplane.PortFilter) int { return byID(a.PortID, b.PortID) })
	for _, m := range d.members {
		s.MemberSets = append(s.MemberSets, m)
	}
	slices.SortFunc(s.MemberSets, func(a, b dataplane.MemberSet) int { return byID(a.GroupID+" "+a.EtherType, b.GroupID+" "+b.EtherType) })
	return s
}

// Counts returns how many networks, ports, DHCP services, routers and filters
// the host holds.
func (d *Driver) Counts() (networks, ports, dhcp, routers, filters int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.networks), len(d.ports), len(d.dhcp), len(d.routers), len(d.filters)
}

// Resyncs returns how many times Resync ran.
func (d *Driver) Resyncs() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.resyncs
}

// Calls returns the last operations made, oldest first ("PlugPort <id>",
// ...); it remembers a few thousand.
func (d *Driver) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append(slices.Clone(d.calls[d.next:]), d.calls[:d.next]...)
}

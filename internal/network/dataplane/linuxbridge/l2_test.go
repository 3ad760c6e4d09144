package linuxbridge

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/dataplanetest"
)

func TestContract(t *testing.T) {
	needRoot(t)
	hosts := map[dataplane.Driver]*testHost{}
	dataplanetest.Run(t, dataplanetest.Harness{
		New: func(t *testing.T) dataplane.Driver {
			h := newHost(t, underlay(t), "192.0.2.1", nil)
			hosts[h.d] = h
			return h.d
		},
		Network: func(t *testing.T) dataplane.Network { return vxlanNet(1450) },
		Device: func(t *testing.T, d dataplane.Driver, p dataplane.Port) {
			guest(t, hosts[d], p, "")
		},
		Has: func(t *testing.T, d dataplane.Driver, kind, id string) bool {
			h := hosts[d]
			switch kind {
			case "network":
				br, ok := h.link(t, dataplane.BridgeName(id))
				return ok && br.Kind == "bridge" && br.Up
			case "port":
				// A port is wired when a tap of that id is on a bridge.
				tap, ok := h.link(t, dataplane.TapName(id))
				return ok && strings.HasPrefix(tap.Master, "brq") && tap.Up
			}
			t.Fatalf("kind %q", kind)
			return false
		},
		Leftovers: func(t *testing.T, d dataplane.Driver) []string { return hosts[d].leftovers(t) },
	})
}

// TestVXLANTwoHosts wires one network on two hosts joined by an underlay and
// pings guest to guest through the tunnel; the tunnel peers follow
// SetTunnelPeers, and the MTU is the network's on every device.
func TestVXLANTwoHosts(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	u := underlay(t)
	h1, h2 := newHost(t, u, "192.0.2.1", nil), newHost(t, u, "192.0.2.2", nil)
	n := vxlanNet(1400)
	p1, p2 := dataplanetest.Port(n), dataplanetest.Port(n)
	for _, x := range []struct {
		h    *testHost
		p    dataplane.Port
		peer string
	}{{h1, p1, h2.ip}, {h2, p2, h1.ip}} {
		must(t, x.h.d.SetTunnelPeers(ctx, []string{x.peer, x.h.ip}))
		must(t, x.h.d.EnsureNetwork(ctx, n))
		must(t, x.h.d.PlugPort(ctx, x.p))
	}
	// The tap of p2 appears only after its port was plugged: the driver
	// enslaves it when it comes and says so.
	g1 := guest(t, h1, p1, "10.30.0.1/24")
	guest(t, h2, p2, "10.30.0.2/24")
	waitEvent(t, h1.d, p1.ID, true)
	waitEvent(t, h2.d, p2.ID, true)
	for _, dev := range []string{n.Bridge, VXLANDevice(n.Segment.SegmentationID), p1.Device} {
		l, ok := h1.link(t, dev)
		if !ok || l.MTU != 1400 {
			t.Fatalf("%s: %+v, want MTU 1400", dev, l)
		}
	}
	peers, err := netdev.Handle{NS: h1.ns}.FloodPeers(ctx, VXLANDevice(n.Segment.SegmentationID))
	must(t, err)
	if len(peers) != 1 || peers[0] != h2.ip {
		t.Fatalf("flood peers = %v, want [%s] (never itself)", peers, h2.ip)
	}
	pingEventually(t, g1, "10.30.0.2")

	// Without peers the tunnel carries no new broadcast (ARP).
	must(t, h1.d.SetTunnelPeers(ctx, nil))
	if out, err := (netdev.Handle{NS: g1}).Exec(ctx, "ip", "neigh", "flush", "all"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := ping(ctx, g1, "10.30.0.2"); err == nil {
		t.Fatal("ping crossed the tunnel without flood entries")
	}
	must(t, h1.d.SetTunnelPeers(ctx, []string{h2.ip}))
	pingEventually(t, g1, "10.30.0.2")

	// The tap goes away (the guest is deleted): the port goes down.
	must(t, netdev.Handle{NS: h1.ns}.DeleteLink(ctx, p1.Device))
	waitEvent(t, h1.d, p1.ID, false)
	for _, x := range []*testHost{h1, h2} {
		must(t, x.d.Resync(ctx, dataplane.State{}))
		if left := x.leftovers(t); len(left) != 0 {
			t.Fatalf("left behind: %v", left)
		}
	}
}

func waitEvent(t *testing.T, d *Driver, portID string, up bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-d.Events():
			if ev.PortID == portID && ev.Up == up {
				return
			}
		case <-deadline:
			t.Fatalf("port %s: no event up=%v", portID, up)
		}
	}
}

// TestVLANAndFlat carries a VLAN network and a flat network between two
// hosts on the physical interface of physnet1.
func TestVLANAndFlat(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	u := underlay(t)
	h1, h2 := newHost(t, u, "192.0.2.1", nil), newHost(t, u, "192.0.2.2", nil)
	vlanID := dataplanetest.ID()
	vlan := dataplane.Network{ID: vlanID, Segment: dataplane.Segment{NetworkType: "vlan", PhysicalNetwork: "physnet1", SegmentationID: 101},
		MTU: 1500, Bridge: dataplane.BridgeName(vlanID), AdminStateUp: true}
	if vlanSupported(t) {
		testVLAN(t, h1, h2, vlan)
	} else {
		t.Log("the kernel has no 8021q (VLAN devices): VLAN part skipped")
	}
	flatID := dataplanetest.ID()
	flat := dataplane.Network{ID: flatID, Segment: dataplane.Segment{NetworkType: "flat", PhysicalNetwork: "physnet1"},
		MTU: 1500, Bridge: dataplane.BridgeName(flatID), AdminStateUp: true}
	must(t, h1.d.EnsureNetwork(ctx, flat))
	if l, _ := h1.link(t, "under"); l.Master != flat.Bridge {
		t.Fatalf("flat: under is on %q", l.Master)
	}
	// A second flat network on the same interface is a clash, refused
	// before anything is made.
	otherID := dataplanetest.ID()
	other := flat
	other.ID, other.Bridge = otherID, dataplane.BridgeName(otherID)
	if err := h1.d.EnsureNetwork(ctx, other); err == nil {
		t.Fatal("two flat networks on one interface")
	}
	if _, ok := h1.link(t, other.Bridge); ok {
		t.Fatal("a refused network left its bridge")
	}
	must(t, h1.d.DeleteNetwork(ctx, flat.ID))
	if l, ok := h1.link(t, "under"); !ok || l.Master != "" {
		t.Fatalf("flat delete must free the physical interface, not delete it: %+v %v", l, ok)
	}
}

// TestRefusals: what Linux or the configuration cannot do fails cleanly and
// leaves nothing behind.
func TestRefusals(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	h := newHost(t, underlay(t), "192.0.2.1", func(c *Config) {
		c.LinuxBridge.PhysicalInterfaceMappings["physnet2"] = "nosuchif0"
	})
	mk := func(seg dataplane.Segment) dataplane.Network {
		id := dataplanetest.ID()
		return dataplane.Network{ID: id, Segment: seg, MTU: 1500, Bridge: dataplane.BridgeName(id)}
	}
	for name, n := range map[string]dataplane.Network{
		"unmapped physnet":    mk(dataplane.Segment{NetworkType: "vlan", PhysicalNetwork: "physnet9", SegmentationID: 5}),
		"missing interface":   mk(dataplane.Segment{NetworkType: "flat", PhysicalNetwork: "physnet2"}),
		"missing vlan parent": mk(dataplane.Segment{NetworkType: "vlan", PhysicalNetwork: "physnet2", SegmentationID: 5}),
		"vlan out of range":   mk(dataplane.Segment{NetworkType: "vlan", PhysicalNetwork: "physnet1", SegmentationID: 4095}),
		"vni out of range":    mk(dataplane.Segment{NetworkType: "vxlan", SegmentationID: 1 << 24}),
	} {
		if err := h.d.EnsureNetwork(ctx, n); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// An MTU beyond what the underlay carries (1500 - 50 for VXLAN).
	big := vxlanNet(9000)
	if err := h.d.EnsureNetwork(ctx, big); err == nil {
		t.Error("a VXLAN MTU of 9000 over a 1500 underlay was accepted")
	}
	must(t, h.d.DeleteNetwork(ctx, big.ID))
	// A VNI clash: the device of a VNI is on another network's bridge.
	a := vxlanNet(1450)
	b := vxlanNet(1450)
	b.Segment.SegmentationID = a.Segment.SegmentationID
	must(t, h.d.EnsureNetwork(ctx, a))
	if err := h.d.EnsureNetwork(ctx, b); err == nil || !strings.Contains(err.Error(), "clash") {
		t.Errorf("VNI clash: %v", err)
	}
	if _, ok := h.link(t, b.Bridge); ok {
		t.Error("the clashing network left its bridge")
	}
	must(t, h.d.DeleteNetwork(ctx, a.ID))
	noVXLAN := newHost(t, underlay(t), "192.0.2.1", func(c *Config) { c.VXLAN.EnableVXLAN = false })
	if err := noVXLAN.d.EnsureNetwork(ctx, vxlanNet(1450)); !errors.Is(err, dataplane.ErrNotSupported) {
		t.Errorf("vxlan disabled: %v", err)
	}
	for _, x := range []*testHost{h, noVXLAN} {
		if left := x.leftovers(t); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	}
}

// TestResyncRepairs: devices deleted behind the driver's back come back on
// Resync, strays go.
func TestResyncRepairs(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	h := newHost(t, underlay(t), "192.0.2.1", nil)
	must(t, h.d.SetTunnelPeers(ctx, []string{"192.0.2.9"}))
	n := vxlanNet(1450)
	p := dataplanetest.Port(n)
	guest(t, h, p, "")
	st := dataplane.State{Networks: []dataplane.Network{n}, Ports: []dataplane.Port{p}}
	must(t, h.d.Resync(ctx, st))
	hh := netdev.Handle{NS: h.ns}
	must(t, hh.DeleteLink(ctx, n.Bridge))
	must(t, hh.DeleteLink(ctx, VXLANDevice(n.Segment.SegmentationID)))
	must(t, hh.AddBridge(ctx, "brqstray0000"))
	must(t, hh.AddVXLAN(ctx, netdev.VXLAN{Name: "vxlan-4242", VNI: 4242}))
	must(t, h.d.Resync(ctx, st))
	if tap, _ := h.link(t, p.Device); tap.Master != n.Bridge {
		t.Fatalf("tap on %q after resync", tap.Master)
	}
	peers, err := hh.FloodPeers(ctx, VXLANDevice(n.Segment.SegmentationID))
	must(t, err)
	if len(peers) != 1 {
		t.Fatalf("flood peers after resync = %v", peers)
	}
	for _, gone := range []string{"brqstray0000", "vxlan-4242"} {
		if _, ok := h.link(t, gone); ok {
			t.Errorf("%s survived resync", gone)
		}
	}
	must(t, h.d.Resync(ctx, dataplane.State{}))
	if left := h.leftovers(t); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// vlanSupported says whether the kernel makes VLAN devices (a machine that
// cannot load 8021q cannot).
func vlanSupported(t *testing.T) bool {
	ns := testNS(t, "v")
	h := netdev.Handle{NS: ns}
	ctx := context.Background()
	must(t, h.AddBridge(ctx, "b0"))
	return h.AddVLAN(ctx, "b0.5", "b0", 5) == nil
}

func testVLAN(t *testing.T, h1, h2 *testHost, vlan dataplane.Network) {
	ctx := context.Background()
	var gs []string
	for i, h := range []*testHost{h1, h2} {
		must(t, h.d.EnsureNetwork(ctx, vlan))
		must(t, h.d.EnsureNetwork(ctx, vlan))
		p := dataplanetest.Port(vlan)
		gs = append(gs, guest(t, h, p, []string{"10.31.0.1/24", "10.31.0.2/24"}[i]))
		must(t, h.d.PlugPort(ctx, p))
		waitEvent(t, h.d, p.ID, true)
		if l, ok := h.link(t, "under.101"); !ok || l.Kind != "vlan" || l.Master != vlan.Bridge {
			t.Fatalf("vlan device: %+v", l)
		}
	}
	pingEventually(t, gs[0], "10.31.0.2")
	for _, h := range []*testHost{h1, h2} {
		must(t, h.d.DeleteNetwork(ctx, vlan.ID))
		if _, ok := h.link(t, "under.101"); ok {
			t.Fatal("the VLAN device outlived its network")
		}
	}

}

// TestBridgeAddress: a flat network on a physical network that
// bridge_address_mappings names is carried by its bridge alone, which holds
// the host-side address (and no other), so the host reaches the network's
// guests; the address goes with the network.
func TestBridgeAddress(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	if _, err := New(Config{LinuxBridge: LinuxBridgeConfig{BridgeAddressMappings: map[string]string{"public": "172.24.4.1"}}}, Options{}); err == nil {
		t.Fatal("an address without a prefix length was accepted")
	}
	h := newHost(t, underlay(t), "192.0.2.1", func(c *Config) {
		c.LinuxBridge.BridgeAddressMappings = map[string]string{"public": "172.24.4.1/24"}
	})
	id := dataplanetest.ID()
	pub := dataplane.Network{ID: id, Segment: dataplane.Segment{NetworkType: "flat", PhysicalNetwork: "public"},
		MTU: 1500, Bridge: dataplane.BridgeName(id), AdminStateUp: true, External: true}
	hh := netdev.Handle{NS: h.ns}
	addrs := func() []string {
		a, err := hh.Addresses(ctx, pub.Bridge)
		must(t, err)
		return a
	}
	for range 2 {
		must(t, h.d.EnsureNetwork(ctx, pub))
		if a := addrs(); len(a) != 1 || a[0] != "172.24.4.1/24" {
			t.Fatalf("bridge addresses %v", a)
		}
	}
	// An address put there behind the driver's back goes on the next ensure.
	must(t, hh.AddAddress(ctx, pub.Bridge, "10.9.9.9/24"))
	must(t, h.d.EnsureNetwork(ctx, pub))
	if a := addrs(); len(a) != 1 || a[0] != "172.24.4.1/24" {
		t.Fatalf("after an ensure, bridge addresses %v", a)
	}
	// A guest on the network answers the host.
	p := dataplane.Port{ID: dataplanetest.ID(), Network: pub, MAC: "fa:16:3e:00:04:0a", AdminStateUp: true}
	guest(t, h, p, "172.24.4.10/24")
	must(t, h.d.PlugPort(ctx, p))
	pingEventually(t, h.ns, "172.24.4.10")
	// A VLAN on that physical network still needs an interface.
	vid := dataplanetest.ID()
	if err := h.d.EnsureNetwork(ctx, dataplane.Network{ID: vid, Bridge: dataplane.BridgeName(vid),
		Segment: dataplane.Segment{NetworkType: "vlan", PhysicalNetwork: "public", SegmentationID: 7}}); err == nil {
		t.Error("a VLAN network without an interface was accepted")
	}
	must(t, h.d.UnplugPort(ctx, p.ID))
	must(t, h.d.DeleteNetwork(ctx, pub.ID))
	if left := h.leftovers(t); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

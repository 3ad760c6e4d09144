package linuxbridge

import (
	"context"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/linux/nft"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/dataplanetest"
)

func localNet(mtu int, external bool) dataplane.Network {
	id := dataplanetest.ID()
	return dataplane.Network{ID: id, Segment: dataplane.Segment{NetworkType: "local"}, MTU: mtu, Bridge: dataplane.BridgeName(id),
		AdminStateUp: true, External: external}
}

// routedGuest makes a guest of a new port on n with addr (ip/prefix) and a
// default route through gw.
func routedGuest(t *testing.T, h *testHost, n dataplane.Network, cidr, gw string) (dataplane.Port, string) {
	t.Helper()
	ctx := context.Background()
	p := dataplanetest.Port(n)
	g := guest(t, h, p, cidr)
	if gw != "" {
		must(t, netdev.Handle{NS: g}.ReplaceRoute(ctx, "default", gw, "eth0"))
	}
	must(t, h.d.PlugPort(ctx, p))
	waitEvent(t, h.d, p.ID, true)
	return p, g
}

func routerPort(n dataplane.Network, ip string, plen int, gw string) dataplane.RouterPort {
	p := dataplanetest.Port(n)
	return dataplane.RouterPort{PortID: p.ID, Network: n, MAC: p.MAC,
		Addresses: []dataplane.Address{{IP: ip, PrefixLen: plen, Gateway: gw}}}
}

// TestRouter routes between two project networks through a qrouter-
// namespace, SNATs to an outside namespace through the gateway on the
// external network, and maps a floating IP in both directions, following
// association and disassociation at once.
func TestRouter(t *testing.T) {
	needRoot(t, "nft")
	ctx := context.Background()
	h := newHost(t, underlay(t), "192.0.2.1", nil)
	a, b, pub := vxlanNet(1450), localNet(1500, false), localNet(1500, true)
	for _, n := range []dataplane.Network{a, b, pub} {
		must(t, h.d.EnsureNetwork(ctx, n))
	}
	pa, ga := routedGuest(t, h, a, "10.50.0.10/24", "10.50.0.1")
	pb, gb := routedGuest(t, h, b, "10.51.0.10/24", "10.51.0.1")
	// The outside knows only its own subnet: replies reach guests only
	// through NAT.
	po, out := routedGuest(t, h, pub, "172.24.4.1/24", "")
	gw := routerPort(pub, "172.24.4.10", 24, "172.24.4.1")
	r := dataplane.Router{ID: dataplanetest.ID(), AdminStateUp: true, EnableSNAT: true, Gateway: &gw,
		Interfaces: []dataplane.RouterPort{routerPort(a, "10.50.0.1", 24, ""), routerPort(b, "10.51.0.1", 24, "")}}
	must(t, h.d.EnsureRouter(ctx, r))
	must(t, h.d.EnsureRouter(ctx, r))
	pingEventually(t, ga, "10.51.0.10")
	pingEventually(t, gb, "10.50.0.10")
	pingEventually(t, ga, "172.24.4.1") // SNAT through the gateway
	if err := ping(ctx, out, "10.50.0.10"); err == nil {
		t.Fatal("the outside reached a fixed IP")
	}
	if err := ping(ctx, out, "172.24.4.20"); err == nil {
		t.Fatal("a floating IP answered before it was associated")
	}
	// Associate.
	r.FloatingIPs = []dataplane.FloatingIP{{ID: dataplanetest.ID(), FloatingIP: "172.24.4.20", FixedIP: "10.50.0.10"}}
	must(t, h.d.EnsureRouter(ctx, r))
	pingEventually(t, out, "172.24.4.20")
	rules, err := nft.Handle{NS: h.d.routerNS(r.ID)}.List(ctx, "ip", natTable)
	must(t, err)
	if !strings.Contains(rules, "snat to 172.24.4.20") || !strings.Contains(rules, "dnat to 10.50.0.10") {
		t.Fatalf("NAT table:\n%s", rules)
	}
	// Disassociate: the outside loses it at once.
	r.FloatingIPs = nil
	must(t, h.d.EnsureRouter(ctx, r))
	if err := ping(ctx, out, "172.24.4.20"); err == nil {
		t.Fatal("the floating IP answered after disassociation")
	}
	// Detach b: no more route to it.
	r.Interfaces = r.Interfaces[:1]
	must(t, h.d.EnsureRouter(ctx, r))
	if err := ping(ctx, ga, "10.51.0.10"); err == nil {
		t.Fatal("routed to a detached subnet")
	}
	// Bad input is refused before anything changes.
	bad := r
	bad.Routes = []dataplane.Route{{Destination: "10.60.0.0/33", NextHop: "10.50.0.9"}}
	if err := h.d.EnsureRouter(ctx, bad); err == nil {
		t.Fatal("a route Linux refuses was accepted")
	}
	pingEventually(t, ga, "172.24.4.1")
	// The namespace deleted behind the driver's back: Resync makes it again.
	must(t, netdev.DeleteNamespace(ctx, h.d.routerNS(r.ID)))
	must(t, h.d.Resync(ctx, dataplane.State{Networks: []dataplane.Network{a, b, pub}, Routers: []dataplane.Router{r},
		Ports: []dataplane.Port{pa, pb, po}}))
	pingEventually(t, ga, "172.24.4.1")
	// Resync without the router removes it; deleting twice is fine.
	must(t, h.d.Resync(ctx, dataplane.State{Networks: []dataplane.Network{a, b, pub}}))
	if ok, _ := netdev.NamespaceExists(ctx, h.d.routerNS(r.ID)); ok {
		t.Fatal("resync kept the router")
	}
	must(t, h.d.DeleteRouter(ctx, r.ID))
	must(t, h.d.Resync(ctx, dataplane.State{}))
	if left := h.leftovers(t); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// TestRouterAdminDown: a router set administratively down forwards nothing
// (no floating IP answers, no SNAT) and leaves no namespace; set up again,
// all of it comes back.
func TestRouterAdminDown(t *testing.T) {
	needRoot(t, "nft")
	ctx := context.Background()
	h := newHost(t, underlay(t), "192.0.2.1", nil)
	a, pub := localNet(1500, false), localNet(1500, true)
	for _, n := range []dataplane.Network{a, pub} {
		must(t, h.d.EnsureNetwork(ctx, n))
	}
	pa, ga := routedGuest(t, h, a, "10.52.0.10/24", "10.52.0.1")
	po, out := routedGuest(t, h, pub, "172.24.6.1/24", "")
	gw := routerPort(pub, "172.24.6.10", 24, "172.24.6.1")
	r := dataplane.Router{ID: dataplanetest.ID(), AdminStateUp: true, EnableSNAT: true, Gateway: &gw,
		Interfaces:  []dataplane.RouterPort{routerPort(a, "10.52.0.1", 24, "")},
		FloatingIPs: []dataplane.FloatingIP{{ID: dataplanetest.ID(), FloatingIP: "172.24.6.20", FixedIP: "10.52.0.10"}}}
	must(t, h.d.EnsureRouter(ctx, r))
	pingEventually(t, out, "172.24.6.20")
	pingEventually(t, ga, "172.24.6.1")

	r.AdminStateUp = false
	must(t, h.d.EnsureRouter(ctx, r))
	if err := ping(ctx, out, "172.24.6.20"); err == nil {
		t.Fatal("the floating IP of a router administratively down answered")
	}
	if err := ping(ctx, ga, "172.24.6.1"); err == nil {
		t.Fatal("a router administratively down forwarded to the outside")
	}
	if ok, _ := netdev.NamespaceExists(ctx, h.d.routerNS(r.ID)); ok {
		t.Fatal("a router administratively down kept its namespace")
	}
	// Resync of a router down keeps it down.
	must(t, h.d.Resync(ctx, dataplane.State{Networks: []dataplane.Network{a, pub}, Routers: []dataplane.Router{r},
		Ports: []dataplane.Port{pa, po}}))
	if ok, _ := netdev.NamespaceExists(ctx, h.d.routerNS(r.ID)); ok {
		t.Fatal("resync made the namespace of a router administratively down")
	}

	r.AdminStateUp = true
	must(t, h.d.EnsureRouter(ctx, r))
	pingEventually(t, out, "172.24.6.20")
	pingEventually(t, ga, "172.24.6.1")
	must(t, h.d.DeleteRouter(ctx, r.ID))
	must(t, h.d.Resync(ctx, dataplane.State{}))
	if left := h.leftovers(t); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

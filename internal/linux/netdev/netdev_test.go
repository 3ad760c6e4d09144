package netdev

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
)

// needRoot skips without root and iproute2, except under CI=true.
func needRoot(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("ip")
	if os.Geteuid() == 0 && err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("netdev tests need root and iproute2 (CI=true)")
	}
	t.Skip("netdev tests need root and iproute2")
}

// testNS makes a namespace removed when the test ends, whatever happens.
func testNS(t *testing.T, tag string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("tk-nd%d-%s", os.Getpid(), tag)
	if err := AddNamespace(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := DeleteNamespace(context.Background(), name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ping(ctx context.Context, ns, addr string) error {
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "2", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %v: %s", addr, ns, err, out)
	}
	return nil
}

func TestNamespaceAndLinksIdempotent(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	ns := testNS(t, "a")
	must(t, AddNamespace(ctx, ns)) // again: fine
	h := Handle{NS: ns}
	for i := 0; i < 2; i++ {
		must(t, h.AddBridge(ctx, "br0"))
		must(t, h.AddVeth(ctx, "v0", "v1", ""))
	}
	must(t, h.SetMaster(ctx, "v0", "br0"))
	must(t, h.SetMTU(ctx, "br0", 1400))
	must(t, h.SetUp(ctx, "br0", true))
	br, err := h.Link(ctx, "br0")
	must(t, err)
	if br.Kind != "bridge" || br.MTU != 1400 || !br.Up {
		t.Fatalf("bridge = %+v", br)
	}
	slaves, err := h.Slaves(ctx, "br0")
	must(t, err)
	if len(slaves) != 1 || slaves[0].Name != "v0" || slaves[0].Kind != "veth" {
		t.Fatalf("slaves = %+v", slaves)
	}
	must(t, h.AddAddress(ctx, "br0", "10.9.0.1/24"))
	must(t, h.AddAddress(ctx, "br0", "10.9.0.1/24"))
	addrs, err := h.Addresses(ctx, "br0")
	must(t, err)
	if !slices.Equal(addrs, []string{"10.9.0.1/24"}) {
		t.Fatalf("addresses = %v", addrs)
	}
	must(t, h.DeleteAddress(ctx, "br0", "10.9.0.1/24"))
	must(t, h.DeleteAddress(ctx, "br0", "10.9.0.1/24"))
	must(t, h.DeleteLink(ctx, "v0"))
	must(t, h.DeleteLink(ctx, "v0"))
	if _, err := h.Link(ctx, "v1"); err == nil {
		t.Fatal("v1 outlived its peer")
	}
	must(t, DeleteNamespace(ctx, ns))
	must(t, DeleteNamespace(ctx, ns))
}

// TestVXLANBetweenHosts joins two "hosts" by a veth underlay, puts a bridge
// with a unicast VXLAN device on each, a "guest" namespace on each bridge,
// and pings guest to guest through the tunnel.
func TestVXLANBetweenHosts(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	h1, h2 := Handle{NS: testNS(t, "h1")}, Handle{NS: testNS(t, "h2")}
	g1, g2 := testNS(t, "g1"), testNS(t, "g2")
	must(t, h1.AddVeth(ctx, "under", "under", h2.NS))
	hosts := []struct {
		h       Handle
		guest   string
		local   string
		peer    string
		guestIP string
	}{{h1, g1, "192.0.2.1", "192.0.2.2", "10.20.0.1/24"}, {h2, g2, "192.0.2.2", "192.0.2.1", "10.20.0.2/24"}}
	for _, x := range hosts {
		must(t, x.h.AddAddress(ctx, "under", x.local+"/24"))
		must(t, x.h.SetUp(ctx, "under", true))
		must(t, x.h.AddBridge(ctx, "brq"))
		must(t, x.h.AddVXLAN(ctx, VXLAN{Name: "vxlan-77", VNI: 77, LocalIP: x.local, Dev: "under"}))
		must(t, x.h.AddVXLAN(ctx, VXLAN{Name: "vxlan-77", VNI: 77, LocalIP: x.local, Dev: "under"}))
		must(t, x.h.SetMaster(ctx, "vxlan-77", "brq"))
		must(t, x.h.AppendFDB(ctx, "vxlan-77", "00:00:00:00:00:00", x.peer))
		must(t, x.h.AppendFDB(ctx, "vxlan-77", "00:00:00:00:00:00", x.peer))
		must(t, x.h.AddVeth(ctx, "tapg", "eth0", x.guest))
		must(t, x.h.SetMaster(ctx, "tapg", "brq"))
		for _, d := range []string{"vxlan-77", "brq", "tapg"} {
			must(t, x.h.SetMTU(ctx, d, 1450))
			must(t, x.h.SetUp(ctx, d, true))
		}
		g := Handle{NS: x.guest}
		must(t, g.SetMTU(ctx, "eth0", 1450))
		must(t, g.AddAddress(ctx, "eth0", x.guestIP))
		must(t, g.SetUp(ctx, "eth0", true))
		must(t, g.SetUp(ctx, "lo", true))
	}
	peers, err := h1.FloodPeers(ctx, "vxlan-77")
	must(t, err)
	if !slices.Equal(peers, []string{"192.0.2.2"}) {
		t.Fatalf("flood peers = %v", peers)
	}
	must(t, ping(ctx, g1, "10.20.0.2"))
	// Without the flood entry the tunnel carries nothing new.
	must(t, h1.DeleteFDB(ctx, "vxlan-77", "00:00:00:00:00:00", "192.0.2.2"))
	must(t, h1.DeleteFDB(ctx, "vxlan-77", "00:00:00:00:00:00", "192.0.2.2"))
	peers, err = h1.FloodPeers(ctx, "vxlan-77")
	must(t, err)
	if len(peers) != 0 {
		t.Fatalf("flood peers after delete = %v", peers)
	}
	if err := ping(ctx, g1, "10.20.0.2"); err == nil {
		t.Fatal("ping crossed the tunnel without a flood entry")
	}
}

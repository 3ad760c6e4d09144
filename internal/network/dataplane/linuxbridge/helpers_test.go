package linuxbridge

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/dataplanetest"
)

// needRoot skips without root and the host tools, except under CI=true.
func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	missing := ""
	for _, tool := range append([]string{"ip", "bridge"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			missing = tool
		}
	}
	if os.Geteuid() == 0 && missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("linuxbridge tests need root and %s (CI=true)", missing)
	}
	t.Skipf("linuxbridge tests need root and iproute2, nftables, dnsmasq (missing: %q)", missing)
}

var nsSeq atomic.Int64

// testNS makes a namespace removed when the test ends, whatever happens.
func testNS(t *testing.T, tag string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("tk-lb%d-%d%s", os.Getpid(), nsSeq.Add(1), tag)
	must(t, netdev.AddNamespace(ctx, name))
	t.Cleanup(func() { killAndDelete(t, name) })
	must(t, netdev.Handle{NS: name}.SetUp(ctx, "lo", true))
	return name
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testHost is a stand-in host: a namespace with an underlay interface
// ("under", a veth whose peer is in the underlay namespace, on a bridge
// there) and a driver.
type testHost struct {
	ns     string
	ip     string // tunnel address on "under"
	d      *Driver
	prefix string
}

// underlay is a namespace with a bridge joining the hosts' underlay
// interfaces, as a switch would.
func underlay(t *testing.T) string {
	ns := testNS(t, "u")
	h := netdev.Handle{NS: ns}
	ctx := context.Background()
	must(t, h.AddBridge(ctx, "sw"))
	must(t, h.SetUp(ctx, "sw", true))
	return ns
}

var hostSeq atomic.Int64

// newHost makes a host on the underlay with tunnel address ip (192.0.2.x)
// and a driver on it; physnet1 maps to its "under" interface.
func newHost(t *testing.T, under, ip string, mod func(*Config)) *testHost {
	t.Helper()
	ctx := context.Background()
	ns := testNS(t, "h")
	h := netdev.Handle{NS: ns}
	port := fmt.Sprintf("p%d", hostSeq.Add(1))
	must(t, netdev.Handle{NS: under}.AddVeth(ctx, port, "under", ns))
	must(t, netdev.Handle{NS: under}.SetMaster(ctx, port, "sw"))
	must(t, netdev.Handle{NS: under}.SetUp(ctx, port, true))
	must(t, h.AddAddress(ctx, "under", ip+"/24"))
	must(t, h.SetUp(ctx, "under", true))
	cfg := DefaultConfig()
	cfg.VXLAN.LocalIP = ip
	cfg.LinuxBridge.PhysicalInterfaceMappings = map[string]string{"physnet1": "under"}
	if mod != nil {
		mod(&cfg)
	}
	prefix := fmt.Sprintf("tk%d-%d-", os.Getpid(), hostSeq.Add(1))
	d, err := New(cfg, Options{Namespace: ns, NamespacePrefix: prefix, StateDir: t.TempDir(), PollInterval: 100 * time.Millisecond})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	th := &testHost{ns: ns, ip: ip, d: d, prefix: prefix}
	t.Cleanup(func() { cleanupPrefix(t, prefix) })
	return th
}

// cleanupPrefix deletes the namespaces a driver made, should a test fail
// before deleting them.
func cleanupPrefix(t *testing.T, prefix string) {
	names, _ := netdev.Namespaces(context.Background())
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			killAndDelete(t, n)
		}
	}
}

// guest makes a stand-in guest of port p on host h: a namespace whose eth0
// is the peer of the port's tap on the host, with the port's MAC and the
// given address (ip/prefix, "" for none).
func guest(t *testing.T, h *testHost, p dataplane.Port, cidr string) string {
	t.Helper()
	ctx := context.Background()
	g := testNS(t, "g")
	must(t, netdev.Handle{NS: h.ns}.AddVeth(ctx, tapOf(p), "eth0", g))
	gh := netdev.Handle{NS: g}
	must(t, gh.SetMAC(ctx, "eth0", p.MAC))
	if p.Network.MTU > 0 {
		must(t, gh.SetMTU(ctx, "eth0", p.Network.MTU))
	}
	if cidr != "" {
		must(t, gh.AddAddress(ctx, "eth0", cidr))
	}
	must(t, gh.SetUp(ctx, "eth0", true))
	return g
}

func ping(ctx context.Context, ns, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "2", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %v: %s", addr, ns, err, out)
	}
	return nil
}

// pingEventually retries a ping for a few seconds (taps are wired by the
// watcher, ARP needs a moment).
func pingEventually(t *testing.T, ns, addr string) {
	t.Helper()
	var err error
	for i := 0; i < 5; i++ {
		if err = ping(context.Background(), ns, addr); err == nil {
			return
		}
	}
	t.Fatal(err)
}

var vniSeq atomic.Int64

func vxlanNet(mtu int) dataplane.Network {
	id := dataplanetest.ID()
	return dataplane.Network{ID: id, Segment: dataplane.Segment{NetworkType: "vxlan", SegmentationID: int(1000 + vniSeq.Add(1))},
		MTU: mtu, Bridge: dataplane.BridgeName(id), AdminStateUp: true}
}

func (h *testHost) link(t *testing.T, name string) (netdev.Link, bool) {
	t.Helper()
	l, err := netdev.Handle{NS: h.ns}.Link(context.Background(), name)
	if err != nil {
		return netdev.Link{}, false
	}
	return l, true
}

// leftovers lists the bridges, segment devices and namespaces the driver
// made that are still there.
func (h *testHost) leftovers(t *testing.T) []string {
	t.Helper()
	links, err := netdev.Handle{NS: h.ns}.Links(context.Background())
	must(t, err)
	var out []string
	for _, l := range links {
		if strings.HasPrefix(l.Name, "brq") || strings.HasPrefix(l.Name, "vxlan-") || l.Kind == "vlan" {
			out = append(out, "link "+l.Name)
		}
	}
	names, _ := netdev.Namespaces(context.Background())
	for _, n := range names {
		if strings.HasPrefix(n, h.prefix) {
			out = append(out, "namespace "+n)
		}
	}
	return out
}

// killAndDelete ends the processes of a namespace (a dnsmasq a failed test
// left) and deletes it.
func killAndDelete(t *testing.T, ns string) {
	ctx := context.Background()
	pids, _ := netdev.NamespacePIDs(ctx, ns)
	for _, pid := range pids {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
			_, _ = p.Wait()
		}
	}
	if err := netdev.DeleteNamespace(ctx, ns); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

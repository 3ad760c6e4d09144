package linuxbridge

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/dataplanetest"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/linuxbridge/lbtest"
)

// The helpers the driver's tests share with the two-host tests (lbtest).
var (
	needRoot       = lbtest.NeedRoot
	testNS         = lbtest.Namespace
	must           = lbtest.Must
	cleanupPrefix  = lbtest.CleanupPrefix
	ping           = lbtest.Ping
	pingEventually = lbtest.PingEventually
)

// guest makes a stand-in guest of port p on host h (lbtest.Guest).
func guest(t *testing.T, h *testHost, p dataplane.Port, cidr string) string {
	t.Helper()
	return lbtest.Guest(t, h.ns, p, cidr)
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

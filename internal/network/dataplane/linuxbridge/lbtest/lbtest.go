package lbtest

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
)

// NeedRoot skips without root and the host tools (ip, bridge and tools),
// and fails instead under CI=true.
func NeedRoot(t *testing.T, tools ...string) {
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

// Namespace makes a namespace with lo up, removed (its processes killed)
// when the test ends, whatever happens. tag ends its name.
func Namespace(t *testing.T, tag string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("tk-lb%d-%d%s", os.Getpid(), nsSeq.Add(1), tag)
	Must(t, netdev.AddNamespace(ctx, name))
	t.Cleanup(func() { KillAndDelete(t, name) })
	Must(t, netdev.Handle{NS: name}.SetUp(ctx, "lo", true))
	return name
}

// Must fails the test on an error.
func Must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// CleanupPrefix deletes the namespaces whose names start with prefix (those
// a driver made), should a test fail before the driver deleted them.
func CleanupPrefix(t *testing.T, prefix string) {
	names, _ := netdev.Namespaces(context.Background())
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			KillAndDelete(t, n)
		}
	}
}

// Guest makes a stand-in guest of port p on the host namespace hostNS: a
// namespace whose eth0 is the peer of the port's tap on the host, with the
// port's MAC and MTU and the given address (ip/prefix, "" for none).
func Guest(t *testing.T, hostNS string, p dataplane.Port, cidr string) string {
	t.Helper()
	ctx := context.Background()
	g := Namespace(t, "g")
	tap := p.Device
	if tap == "" {
		tap = dataplane.TapName(p.ID)
	}
	Must(t, netdev.Handle{NS: hostNS}.AddVeth(ctx, tap, "eth0", g))
	gh := netdev.Handle{NS: g}
	Must(t, gh.SetMAC(ctx, "eth0", p.MAC))
	if p.Network.MTU > 0 {
		Must(t, gh.SetMTU(ctx, "eth0", p.Network.MTU))
	}
	if cidr != "" {
		Must(t, gh.AddAddress(ctx, "eth0", cidr))
	}
	Must(t, gh.SetUp(ctx, "eth0", true))
	return g
}

// Ping sends one ping from namespace ns to addr.
func Ping(ctx context.Context, ns, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "2", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %v: %s", addr, ns, err, out)
	}
	return nil
}

// PingEventually retries a ping for a few seconds (taps are wired by the
// watcher, ARP needs a moment).
func PingEventually(t *testing.T, ns, addr string) {
	t.Helper()
	var err error
	for i := 0; i < 5; i++ {
		if err = Ping(context.Background(), ns, addr); err == nil {
			return
		}
	}
	t.Fatal(err)
}

// KillAndDelete ends the processes of a namespace (a dnsmasq a failed test
// left) and deletes it.
func KillAndDelete(t *testing.T, ns string) {
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

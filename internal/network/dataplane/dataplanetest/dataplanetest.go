package dataplanetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/network/dataplane"
)

// Harness adapts a driver to the suite.
type Harness struct {
	// New returns a fresh driver whose host state is cleaned up when the
	// test ends.
	New func(t *testing.T) dataplane.Driver
	// Network returns a network the driver can wire, different on every
	// call.
	Network func(t *testing.T) dataplane.Network
	// Device makes a port's device exist, as a hypervisor would (nil: the
	// driver needs none).
	Device func(t *testing.T, d dataplane.Driver, p dataplane.Port)
	// Has says whether the host holds a thing: kind "network" (its bridge
	// and segment) or "port" (the port wired to its network).
	Has func(t *testing.T, d dataplane.Driver, kind, id string) bool
	// Leftovers lists what the driver made that the host still holds.
	Leftovers func(t *testing.T, d dataplane.Driver) []string
}

var seq atomic.Int64

// ID returns an id unique in the process, shaped like a UUID's hex so that
// names derived from it differ in their first characters.
func ID() string {
	n := seq.Add(1)
	return fmt.Sprintf("%08x-%04x-4000-8000-%012x", time.Now().UnixNano()&0xffffffff, n&0xffff, n)
}

// Port returns a port on n with a fresh id and MAC.
func Port(n dataplane.Network) dataplane.Port {
	id := ID()
	k := seq.Add(1)
	return dataplane.Port{ID: id, Network: n, MAC: fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", byte(k>>16), byte(k>>8), byte(k)),
		Device: dataplane.TapName(id), AdminStateUp: true, DeviceOwner: "compute:nova", PortSecurity: true}
}

// Run runs the contract on the harness's driver.
func Run(t *testing.T, h Harness) {
	t.Run("NetworkIdempotent", func(t *testing.T) { testNetwork(t, h) })
	t.Run("Unsupported", func(t *testing.T) { testUnsupported(t, h) })
	t.Run("PortLifecycle", func(t *testing.T) { testPort(t, h) })
	t.Run("Resync", func(t *testing.T) { testResync(t, h) })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testNetwork(t *testing.T, h Harness) {
	ctx := context.Background()
	d := h.New(t)
	n := h.Network(t)
	for i := 0; i < 2; i++ {
		must(t, d.EnsureNetwork(ctx, n))
	}
	if !h.Has(t, d, "network", n.ID) {
		t.Fatal("the network is not on the host after EnsureNetwork")
	}
	n.MTU -= 50
	must(t, d.EnsureNetwork(ctx, n)) // a changed MTU converges
	for i := 0; i < 2; i++ {
		must(t, d.DeleteNetwork(ctx, n.ID))
	}
	if h.Has(t, d, "network", n.ID) {
		t.Fatal("the network outlived DeleteNetwork")
	}
	must(t, d.DeleteNetwork(ctx, ID())) // never seen: fine
	if left := h.Leftovers(t, d); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

func testUnsupported(t *testing.T, h Harness) {
	ctx := context.Background()
	d := h.New(t)
	n := h.Network(t)
	n.Segment = dataplane.Segment{NetworkType: "geneve", SegmentationID: 7}
	if err := d.EnsureNetwork(ctx, n); !errors.Is(err, dataplane.ErrNotSupported) {
		t.Fatalf("geneve network: err = %v, want ErrNotSupported", err)
	}
	if h.Has(t, d, "network", n.ID) {
		t.Fatal("a refused network is on the host")
	}
	if left := h.Leftovers(t, d); len(left) != 0 {
		t.Fatalf("a refused network left: %v", left)
	}
}

// waitUp waits for a watched port's event (drivers without Watcher report
// by returning from PlugPort).
func waitUp(t *testing.T, d dataplane.Driver, portID string, up bool) {
	t.Helper()
	w, ok := d.(dataplane.Watcher)
	if !ok {
		return
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-w.Events():
			if ev.PortID == portID && ev.Up == up {
				return
			}
		case <-deadline:
			t.Fatalf("port %s: no event up=%v", portID, up)
		}
	}
}

func testPort(t *testing.T, h Harness) {
	ctx := context.Background()
	d := h.New(t)
	n := h.Network(t)
	must(t, d.EnsureNetwork(ctx, n))
	p := Port(n)
	if h.Device != nil {
		h.Device(t, d, p)
	}
	for i := 0; i < 2; i++ {
		must(t, d.PlugPort(ctx, p))
	}
	waitUp(t, d, p.ID, true)
	if !h.Has(t, d, "port", p.ID) {
		t.Fatal("the port is not wired after PlugPort")
	}
	for i := 0; i < 2; i++ {
		must(t, d.UnplugPort(ctx, p.ID))
	}
	if h.Has(t, d, "port", p.ID) {
		t.Fatal("the port is still wired after UnplugPort")
	}
	must(t, d.UnplugPort(ctx, ID()))
	must(t, d.DeleteNetwork(ctx, n.ID))
	if left := h.Leftovers(t, d); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

func testResync(t *testing.T, h Harness) {
	ctx := context.Background()
	d := h.New(t)
	a, b := h.Network(t), h.Network(t)
	pa, pb := Port(a), Port(b)
	if h.Device != nil {
		h.Device(t, d, pa)
		h.Device(t, d, pb)
	}
	must(t, d.EnsureNetwork(ctx, a))
	must(t, d.PlugPort(ctx, pa))
	waitUp(t, d, pa.ID, true)
	// A restarted agent: the host must become exactly the desired state.
	must(t, d.Resync(ctx, dataplane.State{Networks: []dataplane.Network{b}, Ports: []dataplane.Port{pb}}))
	waitUp(t, d, pb.ID, true)
	if h.Has(t, d, "network", a.ID) || h.Has(t, d, "port", pa.ID) {
		t.Fatal("resync kept a network or port the desired state does not have")
	}
	if !h.Has(t, d, "network", b.ID) || !h.Has(t, d, "port", pb.ID) {
		t.Fatal("resync did not make the desired network and port")
	}
	must(t, d.Resync(ctx, dataplane.State{}))
	if h.Has(t, d, "network", b.ID) || h.Has(t, d, "port", pb.ID) {
		t.Fatal("resync to nothing kept something")
	}
	if left := h.Leftovers(t, d); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

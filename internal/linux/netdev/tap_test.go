package netdev

import (
	"context"
	"testing"
)

func TestTapOnBridge(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	h := Handle{NS: testNS(t, "tap")}
	tap := Tap{Name: "tap1234567890a", MTU: 1450, GuestMAC: "fa:16:3e:01:02:03", Bridge: "brq1234567890a"}
	must(t, h.AddTap(ctx, tap))
	must(t, h.AddTap(ctx, tap)) // again: same state, no error
	l, err := h.Link(ctx, tap.Name)
	must(t, err)
	if l.Kind != "tun" || l.MTU != 1450 || l.MAC != "fe:16:3e:01:02:03" || l.Master != tap.Bridge {
		t.Fatalf("tap: %+v", l)
	}
	b, err := h.Link(ctx, tap.Bridge)
	must(t, err)
	if b.Kind != "bridge" || !b.Up {
		t.Fatalf("bridge: %+v", b)
	}
	must(t, h.EnsureBridge(ctx, tap.Bridge)) // the network agent's call: idempotent
	if s, _ := h.Slaves(ctx, tap.Bridge); len(s) != 1 {
		t.Fatalf("slaves after EnsureBridge again: %+v", s)
	}
	// a device of another kind is not taken for a tap
	must(t, h.AddBridge(ctx, "notatap"))
	if err := h.AddTap(ctx, Tap{Name: "notatap"}); err == nil {
		t.Fatal("a bridge was taken for a tap")
	}
	if err := h.AddTap(ctx, Tap{Name: "tapbadmac", GuestMAC: "zz"}); err == nil {
		t.Fatal("bad MAC accepted")
	}
	must(t, h.DeleteTap(ctx, "tapbadmac"))
	must(t, h.DeleteTap(ctx, tap.Name))
	must(t, h.DeleteTap(ctx, tap.Name)) // absent: fine
	if s, _ := h.Slaves(ctx, tap.Bridge); len(s) != 0 {
		t.Fatalf("slaves after delete: %+v", s)
	}
	// The emptied bridge goes; one with a device on it, or a device that
	// is no bridge, stays; twice is fine.
	must(t, h.AddTap(ctx, Tap{Name: "tapkeep", Bridge: "brqkeep"}))
	for range 2 {
		for _, name := range []string{tap.Bridge, "brqkeep", "tapkeep", "nosuchbridge"} {
			must(t, h.DeleteBridgeIfEmpty(ctx, name))
		}
	}
	if ok, _ := h.Exists(ctx, tap.Bridge); ok {
		t.Fatal("the empty bridge is still there")
	}
	for _, name := range []string{"brqkeep", "tapkeep"} {
		if ok, _ := h.Exists(ctx, name); !ok {
			t.Fatalf("%s was deleted", name)
		}
	}
}

package fake

import (
	"context"
	"errors"
	"testing"

	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/dataplanetest"
)

func TestFake(t *testing.T) {
	ctx := context.Background()
	d := New()
	n := dataplane.Network{ID: "n1", Segment: dataplane.Segment{NetworkType: "vxlan", SegmentationID: 5}, Bridge: dataplane.BridgeName("n1")}
	if err := d.PlugPort(ctx, dataplane.Port{ID: "p1", Network: n}); err == nil {
		t.Fatal("plugged a port on a network the host does not have")
	}
	if err := d.EnsureNetwork(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureNetwork(ctx, dataplane.Network{ID: "g", Segment: dataplane.Segment{NetworkType: "geneve"}}); !errors.Is(err, dataplane.ErrNotSupported) {
		t.Fatalf("geneve: %v", err)
	}
	if err := d.PlugPort(ctx, dataplane.Port{ID: "p1", Network: n}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	d.Fail("PlugPort:p2", boom)
	if err := d.PlugPort(ctx, dataplane.Port{ID: "p2", Network: n}); !errors.Is(err, boom) {
		t.Fatalf("injected failure: %v", err)
	}
	d.Fail("PlugPort:p2", nil)
	if err := d.PlugPort(ctx, dataplane.Port{ID: "p2", Network: n}); err != nil {
		t.Fatal(err)
	}
	if err := d.UnplugPort(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	if err := d.UnplugPort(ctx, "p2"); err != nil {
		t.Fatal("unplugging twice must succeed:", err)
	}
	if _, ok := d.Port("p1"); !ok {
		t.Fatal("p1 lost")
	}
	if err := d.Resync(ctx, dataplane.State{Networks: []dataplane.Network{n}}); err != nil {
		t.Fatal(err)
	}
	if nets, ports, _, _, _ := d.Counts(); nets != 1 || ports != 0 || d.Resyncs() != 1 {
		t.Fatalf("after resync: %d networks, %d ports", nets, ports)
	}
	if dataplane.BridgeName("0123456789abcdef") != "brq0123456789a" || dataplane.TapName("ab") != "tapab" {
		t.Fatal("device names")
	}
}

func TestContract(t *testing.T) {
	dataplanetest.Run(t, dataplanetest.Harness{
		New: func(t *testing.T) dataplane.Driver { return New() },
		Network: func(t *testing.T) dataplane.Network {
			id := dataplanetest.ID()
			return dataplane.Network{ID: id, Segment: dataplane.Segment{NetworkType: "vxlan", SegmentationID: 100}, MTU: 1450,
				Bridge: dataplane.BridgeName(id), AdminStateUp: true}
		},
		Has: func(t *testing.T, d dataplane.Driver, kind, id string) bool {
			f := d.(*Driver)
			switch kind {
			case "network":
				_, ok := f.Network(id)
				return ok
			case "port":
				_, ok := f.Port(id)
				return ok
			}
			t.Fatalf("kind %q", kind)
			return false
		},
		Leftovers: func(t *testing.T, d dataplane.Driver) []string {
			s := d.(*Driver).State()
			var out []string
			for _, n := range s.Networks {
				out = append(out, "network "+n.ID)
			}
			for _, p := range s.Ports {
				out = append(out, "port "+p.ID)
			}
			return out
		},
	})
}

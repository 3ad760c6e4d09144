package qemu

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// The QMP sequence of an interface hot-plug against a fake QEMU: the tap is
// opened and the device added once however often it is asked; a bad MAC
// never reaches QEMU.
func TestPlugNICSequence(t *testing.T) {
	f, c := newFakeQEMU(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := newHotNIC(virt.NIC{PortID: "5f1e9c2a-1b2c-4d5e-8f90-123456789abc", NetworkID: "net1", MAC: "fa:16:3e:aa:bb:cc", MTU: 1450})
	if err != nil {
		t.Fatal(err)
	}
	if h.Tap != "tap5f1e9c2a-1b" {
		t.Errorf("tap %q, want tap + 11 characters of the port id", h.Tap)
	}
	for i := 0; i < 2; i++ {
		if slot, err := plugNIC(ctx, c, h); err != nil || slot != 5 {
			t.Fatalf("plug #%d: slot %d, %v", i+1, slot, err)
		}
	}
	if got := f.commands(); !slices.Equal(got, []string{"netdev_add", "device_add"}) {
		t.Errorf("plug twice ran %v", got)
	}
	if err := unplug(ctx, c, h.Device, 2, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := newHotNIC(virt.NIC{PortID: "p", MAC: "zz"}); err == nil {
		t.Error("a bad MAC was accepted")
	}
	h.Slot = 7
	args := strings.Join(h.args(), " ")
	want := "-netdev tap,id=" + h.Netdev + ",ifname=tap5f1e9c2a-1b,script=no,downscript=no -device virtio-net-pci,netdev=" + h.Netdev +
		",mac=fa:16:3e:aa:bb:cc,id=" + h.Device + ",host_mtu=1450,bus=pci.0,addr=0x7"
	if args != want {
		t.Errorf("args %s\nwant %s", args, want)
	}
}

// A NIC the guest was built with is found on its command line by its tap,
// so it can be detached too.
func TestBootNIC(t *testing.T) {
	d := &Driver{cfg: DefaultConfig(), accel: "tcg"}
	spec := &virt.Spec{Ref: virt.Ref{UUID: "u1", Name: "instance-1"}, Flavor: virt.Flavor{Name: "tiny", VCPUs: 1, MemoryMB: 64},
		NICs: []virt.NIC{{PortID: "port-one-xxxx", MAC: "fa:16:3e:00:00:01"}, {PortID: "port-two-xxxx", MAC: "fa:16:3e:00:00:02"}}}
	rec, err := d.build(context.Background(), spec, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	nd, dev, at, ok := bootNIC(rec, tapFor(spec.NICs[1]).Name)
	if !ok || nd != "hostnet1" || dev != "net1" || len(at) != 4 {
		t.Fatalf("bootNIC: %q %q %v %v", nd, dev, at, ok)
	}
	if _, _, _, ok := bootNIC(rec, "tapnothere"); ok {
		t.Error("found a tap the guest does not have")
	}
}

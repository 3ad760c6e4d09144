package qemu

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

const testVolumeID = "0b7e5ac2-7f4f-4a6e-9d2b-4f1c2e3d4a5b"

// The QMP sequences of a hot-plug against a fake QEMU: plug twice makes
// one device, unplug of a cooperating guest removes device and node, a
// guest that never releases the device fails with the options named, and
// unplug of what is not there succeeds.
func TestPlugUnplugSequences(t *testing.T) {
	f, c := newFakeQEMU(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := newVolume(virt.Disk{Kind: virt.DiskVolume, Serial: testVolumeID, Path: "/volumes/volume-1", Format: "qcow2", Bus: "virtio"})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Node) > 31 {
		t.Errorf("node name %q is longer than QEMU's 31 bytes", v.Node)
	}
	slot, err := plugVolume(ctx, c, v)
	if err != nil {
		t.Fatalf("plug: %v", err)
	}
	if got := f.commands(); !slices.Equal(got, []string{"blockdev-add", "device_add"}) {
		t.Errorf("plug ran %v", got)
	}
	if slot != 5 {
		t.Errorf("slot %d, want the fake's 5", slot)
	}
	f.mu.Lock()
	drv := f.devices[v.Device]
	f.mu.Unlock()
	if drv != "virtio-blk-pci" {
		t.Errorf("device %s is %q", v.Device, drv)
	}
	if slot2, err := plugVolume(ctx, c, v); err != nil || slot2 != slot {
		t.Errorf("second plug: slot %d, %v; want %d, nil", slot2, err, slot)
	}
	if got := f.commands(); len(got) != 0 {
		t.Errorf("second plug ran %v, want nothing", got)
	}

	// a node left behind by a failed attach is reused
	v2, _ := newVolume(virt.Disk{Serial: "second", Path: "/volumes/volume-2", Format: "raw"})
	f.mu.Lock()
	f.nodes[v2.Node] = true
	f.mu.Unlock()
	if _, err := plugVolume(ctx, c, v2); err != nil {
		t.Errorf("plug over a left node: %v", err)
	}
	f.commands()

	if err := unplug(ctx, c, v.Device, 3, time.Second); err != nil {
		t.Fatalf("unplug: %v", err)
	}
	if got := f.commands(); !slices.Equal(got, []string{"device_del"}) {
		t.Errorf("unplug ran %v", got)
	}
	if err := unplug(ctx, c, v.Device, 3, time.Second); err != nil {
		t.Errorf("unplug of a gone device: %v", err)
	}
	if got := f.commands(); len(got) != 0 {
		t.Errorf("unplug of a gone device ran %v", got)
	}

	f.mu.Lock()
	f.release = false
	f.mu.Unlock()
	start := time.Now()
	err = unplug(ctx, c, v2.Device, 2, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "device_detach_attempts") || !strings.Contains(err.Error(), v2.Device) {
		t.Errorf("unplug of a kept device: %v, want an error naming the device and the options", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("two 200ms attempts took %s", d)
	}
	if got := f.commands(); !slices.Equal(got, []string{"device_del", "device_del"}) {
		t.Errorf("kept device: ran %v, want device_del asked twice", got)
	}
}

// The arguments a recorded volume gets on a later start: its node as
// -blockdev JSON, and its device in the slot it was plugged into.
func TestVolumeArgs(t *testing.T) {
	v, err := newVolume(virt.Disk{Serial: testVolumeID, Path: "/v/a,b", Format: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	v.Slot = 10
	args := v.args()
	if len(args) != 4 || args[0] != "-blockdev" || args[2] != "-device" {
		t.Fatalf("args %q", args)
	}
	var bd struct {
		Node   string `json:"node-name"`
		Driver string `json:"driver"`
		File   struct {
			Filename string `json:"filename"`
		} `json:"file"`
	}
	if err := json.Unmarshal([]byte(args[1]), &bd); err != nil || bd.Node != v.Node || bd.Driver != "raw" || bd.File.Filename != "/v/a,b" {
		t.Errorf("-blockdev %s (%v)", args[1], err)
	}
	want := "virtio-blk-pci,drive=" + v.Node + ",id=vol-" + testVolumeID + ",serial=" + testVolumeID[:20] + ",bus=pci.0,addr=0xa"
	if args[3] != want {
		t.Errorf("-device %s\nwant    %s", args[3], want)
	}
	for _, bad := range []virt.Disk{{Serial: "x"}, {Serial: "x", Path: "/p", Bus: "scsi"}, {Serial: "x", Path: "/p", Format: "vmdk"}, {}} {
		if _, err := newVolume(bad); err == nil {
			t.Errorf("newVolume(%+v) accepted", bad)
		}
	}
}

// A volume of a guest with a root disk never takes a boot index (the root
// has bootindex=1; QEMU refuses a second), whatever its Disk says; one
// standing in for the root disk boots.
func TestVolumeBootIndex(t *testing.T) {
	d := &Driver{cfg: DefaultConfig(), accel: "tcg"}
	dir := t.TempDir()
	vf := dir + "/vol"
	if err := os.WriteFile(vf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	vol := virt.Disk{Kind: virt.DiskVolume, Serial: testVolumeID, Path: vf, Format: "raw", BootIndex: 0}
	base := dir + "/base.raw"
	if err := os.WriteFile(base, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	withRoot := &virt.Spec{Ref: virt.Ref{UUID: "u1"}, Flavor: virt.Flavor{MemoryMB: 64}, Image: virt.Image{ID: "i", Path: base, Format: "raw"},
		Disks: []virt.Disk{{Kind: virt.DiskRoot, Path: dir + "/disk", Format: "qcow2", BootIndex: 0}, vol}}
	rec, err := d.build(context.Background(), withRoot, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Volumes) != 1 || rec.Volumes[0].BootIndex != 0 {
		t.Errorf("volume beside a root disk: %+v, want no boot index", rec.Volumes)
	}
	fromVolume := &virt.Spec{Ref: virt.Ref{UUID: "u2"}, Flavor: virt.Flavor{MemoryMB: 64}, Disks: []virt.Disk{vol}}
	if rec, err = d.build(context.Background(), fromVolume, dir); err != nil {
		t.Fatal(err)
	}
	if len(rec.Volumes) != 1 || rec.Volumes[0].BootIndex != 1 {
		t.Errorf("boot volume: %+v, want bootindex 1", rec.Volumes)
	}
}

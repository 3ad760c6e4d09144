package qemu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// On the q35 machine (hw_machine_type = q35) volumes hot-plug into the
// guest's PCIe root ports: two volumes show up inside it on ports of their
// own, stay there through a hard reboot, and go away when detached (a
// device on the root complex could not be unplugged).
func TestQ35VolumeHotplugInGuest(t *testing.T) {
	img := testImage(t)
	d := newTestDriver(t)
	const uuid = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
	ref := virt.Ref{UUID: uuid, Name: "instance-" + uuid[:8]}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	spec := imageSpec(t, d, img, uuid, img.Disk, diskScript)
	spec.ImageProperties["hw_machine_type"] = "q35"
	// the test image's kernel has no SATA, q35's CD-ROM bus
	spec.ImageProperties["hw_cdrom_bus"] = "scsi"
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	waitDisks(t, d, ref, 1, 3*time.Minute, func(l string) bool { return strings.Contains(l, "vda=") })
	g, _ := d.lookup(ctx, uuid)
	if g.rec.RootPorts != 8 {
		t.Fatalf("root ports: %d, want 8 (no boot-time NIC or volume)", g.rec.RootPorts)
	}

	ids := []string{testVolumeID, "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e"}
	var vols []virt.Disk
	for i, id := range ids {
		f := filepath.Join(t.TempDir(), "volume-"+id)
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(f, 16<<20); err != nil {
			t.Fatal(err)
		}
		v := virt.Disk{Kind: virt.DiskVolume, Serial: id, Path: f, Format: "raw", Bus: "virtio", DeviceName: "/dev/vd" + string(rune('b'+i))}
		vols = append(vols, v)
		if err := d.AttachVolume(ctx, ref, v); err != nil {
			t.Fatalf("AttachVolume %s: %v", id, err)
		}
	}
	both := func(l string) bool {
		return strings.Contains(l, "="+ids[0][:20]) && strings.Contains(l, "="+ids[1][:20])
	}
	waitDisks(t, d, ref, 1, time.Minute, both)
	if g.rec.Volumes[0].Slot == g.rec.Volumes[1].Slot || !g.rec.Volumes[0].PCIe || !g.rec.Volumes[1].PCIe {
		t.Fatalf("volumes' ports: %+v", g.rec.Volumes)
	}

	if err := d.Reboot(ctx, ref, true); err != nil {
		t.Fatalf("Reboot: %v", err)
	}
	waitDisks(t, d, ref, 2, 3*time.Minute, both)
	for _, v := range vols {
		if err := d.DetachVolume(ctx, ref, v); err != nil {
			t.Fatalf("DetachVolume %s: %v", v.Serial, err)
		}
	}
	waitDisks(t, d, ref, 2, time.Minute, func(l string) bool {
		return !strings.Contains(l, "vdb") && !strings.Contains(l, "vdc") && strings.Contains(l, "vda=")
	})
	// a freed port is used again
	if err := d.AttachVolume(ctx, ref, vols[1]); err != nil {
		t.Fatalf("AttachVolume again: %v", err)
	}
	waitDisks(t, d, ref, 2, time.Minute, func(l string) bool { return strings.Contains(l, "="+ids[1][:20]) })
}

package qemu

import (
	"context"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// Diagnostics of a booted guest are measured: its vCPU ran, its root disk
// was read and written, its config drive is a disk; a stopped guest reports
// its devices without counters.
func TestDiagnosticsMeasured(t *testing.T) {
	img := testImage(t)
	d := newTestDriver(t)
	ctx := context.Background()
	const uuid = "7c2e9a60-3f4d-4e5c-9a01-000000000004"
	if err := d.Spawn(ctx, imageSpec(t, d, img, uuid, img.Disk, "#!/bin/sh\necho x > /var/written\nsync\n")); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, uuid, 3*time.Minute, readyBanner)
	di, err := d.Diagnostics(ctx, virt.Ref{UUID: uuid})
	if err != nil {
		t.Fatal(err)
	}
	if di.State != "running" || di.Driver != "libvirt" || di.Hypervisor != "qemu" || di.NumCPUs != 1 || di.MemoryMB != 256 || !di.ConfigDrive || di.Uptime <= 0 {
		t.Fatalf("diagnostics %+v", di)
	}
	if len(di.CPUs) != 1 || di.CPUs[0].Time <= 0 {
		t.Fatalf("vCPU times %+v: the guest booted, so its vCPU ran", di.CPUs)
	}
	// the root disk and the config drive's CD-ROM
	if di.NumDisks != 2 || len(di.Disks) != 2 {
		t.Fatalf("disks %d %+v, want the root disk and the config drive", di.NumDisks, di.Disks)
	}
	var read, written int64
	for _, s := range di.Disks {
		read += s.ReadBytes
		written += s.WriteBytes
	}
	if read == 0 || written == 0 || di.Disks[0].ReadRequests == 0 {
		t.Fatalf("disk counters %+v: the guest read its root and wrote to it", di.Disks)
	}

	if err := d.PowerOff(ctx, virt.Ref{UUID: uuid}, 0); err != nil {
		t.Fatal(err)
	}
	di, err = d.Diagnostics(ctx, virt.Ref{UUID: uuid})
	if err != nil {
		t.Fatal(err)
	}
	if di.State != "shutdown" || di.CPUs != nil || di.Disks != nil || di.NumDisks != 2 || di.Uptime != 0 {
		t.Fatalf("diagnostics of a stopped guest %+v", di)
	}
	if _, err := d.Diagnostics(ctx, virt.Ref{UUID: "no-such-guest"}); err != virt.ErrNotFound {
		t.Fatalf("diagnostics of an unknown guest: %v", err)
	}
}

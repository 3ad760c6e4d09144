package qemu

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/qemuimg"
)

// A snapshot of a running guest is its disk, not its base: the first guest
// writes a file, the snapshot taken while it runs is a qcow2 with no
// backing file, the guest runs on afterwards, and a second guest booted
// from the snapshot reads the file back.
func TestSnapshotBootsAsANewGuest(t *testing.T) {
	img := testImage(t)
	d := newTestDriver(t)
	ctx := context.Background()
	const first, second = "5a0c7e4e-1d2b-4c3a-9e8f-000000000001", "5a0c7e4e-1d2b-4c3a-9e8f-000000000002"
	if err := d.Spawn(ctx, imageSpec(t, d, img, first, img.Disk,
		"#!/bin/sh\necho written-before-the-snapshot > /var/marker\nsync\necho marker-synced > /dev/console\n")); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, first, 3*time.Minute, "marker-synced", readyBanner)

	data, format, err := d.Snapshot(ctx, virt.Ref{UUID: first})
	if err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(t.TempDir(), "snap.qcow2")
	f, err := os.Create(snap)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, data); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data.Close()
	if format != "qcow2" {
		t.Fatalf("snapshot format %q", format)
	}
	info, err := qemuimg.Inspect(ctx, snap, "qcow2")
	if err != nil {
		t.Fatal(err)
	}
	if info.BackingFile != "" || info.VirtualSize != 1<<30 {
		t.Fatalf("snapshot %+v: want a standalone 1 GiB disk", info)
	}
	wantPower(t, d, first, states.PowerRunning)
	if left, _ := filepath.Glob(filepath.Join(d.dirOf(first), snapshotPrefix+"*")); len(left) != 0 {
		t.Fatalf("snapshot files left: %v", left)
	}
	// One guest at a time on this small machine.
	if err := d.Destroy(ctx, virt.Ref{UUID: first}, virt.DestroyOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := d.Spawn(ctx, imageSpec(t, d, img, second, snap, "#!/bin/sh\necho \"marker: $(cat /var/marker)\" > /dev/console\n")); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, second, 3*time.Minute, "marker: written-before-the-snapshot", readyBanner)

	// A stopped guest snapshots too, without QEMU.
	if err := d.PowerOff(ctx, virt.Ref{UUID: second}, 0); err != nil {
		t.Fatal(err)
	}
	data, _, err = d.Snapshot(ctx, virt.Ref{UUID: second})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, data)
	data.Close()
	if n == 0 {
		t.Fatal("empty snapshot of a stopped guest")
	}
	wantPower(t, d, second, states.PowerShutdown)

	if _, _, err := d.Snapshot(ctx, virt.Ref{UUID: "no-such-guest"}); err != virt.ErrNotFound {
		t.Fatalf("snapshot of an unknown guest: %v", err)
	}
}

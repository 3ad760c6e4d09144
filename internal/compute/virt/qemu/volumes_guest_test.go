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

// diskScript runs in the test image at boot (user_data): it prints the
// virtio disks and their serials on the serial console whenever they
// change, so a test sees hot-plugs from inside the guest.
const diskScript = `#!/bin/sh
(
last=
while :; do
	cur=
	for b in /sys/block/vd*; do
		[ -e "$b" ] || continue
		cur="$cur ${b##*/}=$(cat $b/serial 2>/dev/null)"
	done
	if [ "$cur" != "$last" ]; then
		echo "=== disks:$cur ==="
		last=$cur
	fi
	sleep 0.1
done
) </dev/null >/dev/ttyS0 2>&1 &
`

// waitDisks waits until the last disk line diskScript printed in the n-th
// boot (from 1) satisfies ok.
func waitDisks(t *testing.T, d *Driver, ref virt.Ref, boot int, timeout time.Duration, ok func(line string) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		b, err := d.ConsoleLog(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(string(b), "=== tenku-testimage: kernel ")
		if len(parts) > boot {
			for _, l := range strings.Split(parts[boot], "\n") {
				if i := strings.Index(l, "=== disks:"); i >= 0 {
					last = strings.TrimSpace(l[i:])
				}
			}
			if last != "" && ok(last) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := d.ConsoleLog(context.Background(), ref)
	t.Fatalf("boot %d: no disk line as wanted in %s (last %q); console:\n%s", boot, timeout, last, b)
}

// A volume file hot-plugged into a booted test image shows up inside it
// with the volume id's first 20 characters as its serial; it is still there
// after the agent's driver restarts and the guest is rebooted hard; it goes
// away from inside the guest when detached; attaching twice and detaching
// twice are no-ops.
func TestVolumeHotplugInGuest(t *testing.T) {
	img := testImage(t)
	d := newTestDriver(t)
	const uuid = "5d0c7a1e-3b2f-4c8d-9e6a-1f2b3c4d5e6f"
	ref := virt.Ref{UUID: uuid, Name: "instance-" + uuid[:8]}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := d.Spawn(ctx, imageSpec(t, d, img, uuid, img.Disk, diskScript)); err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	waitDisks(t, d, ref, 1, 3*time.Minute, func(l string) bool { return strings.Contains(l, "vda=") })

	volFile := filepath.Join(t.TempDir(), "volume-"+testVolumeID)
	if err := os.WriteFile(volFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(volFile, 16<<20); err != nil {
		t.Fatal(err)
	}
	vol := virt.Disk{Kind: virt.DiskVolume, Serial: testVolumeID, Path: volFile, Format: "raw", Bus: "virtio", DeviceName: "/dev/vdb"}
	serial := testVolumeID[:20]
	start := time.Now()
	for i := 0; i < 2; i++ {
		if err := d.AttachVolume(ctx, ref, vol); err != nil {
			t.Fatalf("AttachVolume #%d: %v", i+1, err)
		}
	}
	waitDisks(t, d, ref, 1, time.Minute, func(l string) bool { return strings.Contains(l, "vdb="+serial) })
	// the figure issue 11 asks for (the guest looks every 0.1 s)
	t.Logf("attach → visible in the guest: %s", time.Since(start).Round(10*time.Millisecond))

	// the agent restarts; the new driver reboots the guest hard
	d.Close()
	d2, err := New(d.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Init(ctx, "host1"); err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if err := d2.Reboot(ctx, ref, true); err != nil {
		t.Fatalf("Reboot: %v", err)
	}
	waitDisks(t, d2, ref, 2, 3*time.Minute, func(l string) bool { return strings.Contains(l, "vdb="+serial) })

	start = time.Now()
	for i := 0; i < 2; i++ {
		if err := d2.DetachVolume(ctx, ref, vol); err != nil {
			t.Fatalf("DetachVolume #%d: %v", i+1, err)
		}
	}
	waitDisks(t, d2, ref, 2, time.Minute, func(l string) bool { return !strings.Contains(l, "vdb") })
	t.Logf("detach → gone from the guest: %s", time.Since(start).Round(10*time.Millisecond))
	if g, _ := d2.lookup(ctx, ref.UUID); len(g.rec.Volumes) != 0 {
		t.Errorf("record still has %d volumes", len(g.rec.Volumes))
	}
}

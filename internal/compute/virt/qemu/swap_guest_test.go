package qemu

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// tickScript runs in the test image at boot: while /dev/vdb exists it
// prints its size and first bytes whenever they change, and writes a
// counter at 1 MiB into it (synced) five times a second.
const tickScript = `#!/bin/sh
(
last=
n=0
while :; do
	if [ -b /dev/vdb ]; then
		cur="size=$(cat /sys/block/vdb/size) head=$(dd if=/dev/vdb bs=17 count=1 2>/dev/null)"
		if [ "$cur" != "$last" ]; then echo "=== vdb: $cur ==="; last=$cur; fi
		n=$((n+1))
		printf 'tick-%08d' $n | dd of=/dev/vdb bs=512 seek=2048 conv=notrunc,fsync 2>/dev/null
	fi
	sleep 0.2
done
) </dev/null >/dev/ttyS0 2>&1 &
`

// A volume swapped under a running test image: the new volume's file gets
// the old one's data, the guest keeps its disk (no unplug) and goes on
// writing to the new file, not the old; the disk grows to the new size; a
// hard reboot boots with the new volume, and a detach by the new volume's
// id takes it away.
func TestVolumeSwapInGuest(t *testing.T) {
	img := testImage(t)
	d := newTestDriver(t)
	const uuid = "7e1d2c3b-4a5f-4e6d-8c7b-9a0b1c2d3e4f"
	const newID = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
	ref := virt.Ref{UUID: uuid, Name: "instance-" + uuid[:8]}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := d.Spawn(ctx, imageSpec(t, d, img, uuid, img.Disk, tickScript)); err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	waitConsole(t, d, uuid, 3*time.Minute, readyBanner)

	dir := t.TempDir()
	oldFile, newFile := filepath.Join(dir, "volume-"+testVolumeID), filepath.Join(dir, "volume-"+newID)
	if err := os.WriteFile(oldFile, []byte("tenku-swap-marker"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{oldFile, newFile} {
		if err := os.Truncate(f, 16<<20); err != nil {
			t.Fatal(err)
		}
	}
	oldVol := virt.Disk{Kind: virt.DiskVolume, Serial: testVolumeID, Path: oldFile, Format: "raw", Bus: "virtio", DeviceName: "/dev/vdb"}
	newVol := virt.Disk{Kind: virt.DiskVolume, Serial: newID, Path: newFile, Format: "raw", Bus: "virtio", DeviceName: "/dev/vdb"}
	if err := d.AttachVolume(ctx, ref, oldVol); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, uuid, time.Minute, "=== vdb: size=32768 head=tenku-swap-marker ===")
	tick := func(f string) []byte {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return b[1<<20 : 1<<20+13]
	}
	testkitEventually(t, 30*time.Second, func() bool { return bytes.HasPrefix(tick(oldFile), []byte("tick-")) }, "the guest to write to the old volume")

	if err := d.SwapVolume(ctx, ref, virt.Disk{Serial: "no-such-volume"}, newVol, 0); err == nil {
		t.Fatal("swapping a volume that is not attached: no error")
	}
	start := time.Now()
	if err := d.SwapVolume(ctx, ref, oldVol, newVol, 1); err != nil {
		t.Fatalf("SwapVolume: %v", err)
	}
	t.Logf("swap of a 16 MiB volume: %s", time.Since(start).Round(10*time.Millisecond))
	if b, _ := os.ReadFile(newFile); !bytes.HasPrefix(b, []byte("tenku-swap-marker")) {
		t.Fatalf("the new volume does not hold the old one's data: %q", b[:32])
	}
	// the guest's disk grew to 1 GiB (2097152 sectors) and it writes to the new file
	waitConsole(t, d, uuid, time.Minute, "=== vdb: size=2097152 head=tenku-swap-marker ===")
	frozen := tick(oldFile)
	seen := tick(newFile)
	testkitEventually(t, 30*time.Second, func() bool { return !bytes.Equal(tick(newFile), seen) }, "the guest to write to the new volume")
	if got := tick(oldFile); !bytes.Equal(got, frozen) {
		t.Errorf("the old volume is still written to: %q then %q", frozen, got)
	}
	if strings.Contains(mustConsole(t, d, ref), "vdb: gone") {
		t.Error("the guest lost its disk")
	}
	g, _ := d.lookup(ctx, uuid)
	if len(g.rec.Volumes) != 1 || g.rec.Volumes[0].Disk.Serial != newID {
		t.Fatalf("record volumes: %+v", g.rec.Volumes)
	}

	if err := d.Reboot(ctx, ref, true); err != nil {
		t.Fatalf("Reboot: %v", err)
	}
	testkitEventually(t, 3*time.Minute, func() bool {
		boots := strings.Split(mustConsole(t, d, ref), "=== tenku-testimage: kernel ")
		return len(boots) > 2 && strings.Contains(boots[len(boots)-1], "=== vdb: size=2097152 head=tenku-swap-marker ===")
	}, "the rebooted guest to have the new volume")
	if err := d.DetachVolume(ctx, ref, newVol); err != nil {
		t.Fatalf("DetachVolume: %v", err)
	}
	if g, _ := d.lookup(ctx, uuid); len(g.rec.Volumes) != 0 {
		t.Errorf("record still has %d volumes", len(g.rec.Volumes))
	}
}

func mustConsole(t *testing.T, d *Driver, ref virt.Ref) string {
	t.Helper()
	b, err := d.ConsoleLog(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testkitEventually(t *testing.T, timeout time.Duration, ok func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

package qemu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// rescueUserData runs at every boot: it lists the guest's virtio disks,
// leaves a file on the root disk of its first boot, and shows that file
// from a second disk when there is one.
const rescueUserData = `#!/bin/sh
echo "boot-disks: $(cd /sys/block && ls -d vd* | tr '\n' ' ')." > /dev/console
[ -f /var/own ] || { echo "own-disk-of-$(cat /proc/sys/kernel/random/boot_id | cut -c1-8)" > /var/own; sync; }
if mount -o ro /dev/vdb /mnt 2>/dev/null; then echo "second-disk: $(cat /mnt/var/own)" > /dev/console; umount /mnt; fi
`

// Rescue boots the rescue image first with the guest's own disk second;
// the rescue survives a restart of the driver (a new agent), and unrescue
// boots the guest from its own disk again.
func TestRescueAndUnrescue(t *testing.T) {
	img := testImage(t)
	instances := t.TempDir()
	d := driverOn(t, instances)
	ctx := context.Background()
	const uuid = "6b1d8f5f-2e3c-4d4b-8f90-000000000003"
	spec := imageSpec(t, d, img, uuid, img.Disk, rescueUserData)
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, uuid, 3*time.Minute, "boot-disks: vda .", readyBanner)
	b, _ := d.ConsoleLog(ctx, virt.Ref{UUID: uuid})
	if strings.Contains(string(b), "second-disk:") {
		t.Fatalf("a second disk before the rescue:\n%s", b)
	}

	// The rescue image is the guest's own image, whose root filesystem's
	// label the guest's disk has too: this rescue image names its root by
	// device instead (its os_command_line), as a rescue image must.
	rescue := *spec
	rescue.ImageProperties = map[string]string{}
	for k, v := range spec.ImageProperties {
		rescue.ImageProperties[k] = v
	}
	rescue.ImageProperties["os_command_line"] = "console=tty0 console=ttyS0 root=/dev/vda rw"
	if err := d.Rescue(ctx, &rescue); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, uuid, 3*time.Minute, "boot-disks: vda vdb .", "second-disk: own-disk-of-")
	waitBoot(t, d, uuid, 2)
	wantPower(t, d, uuid, states.PowerRunning)
	if _, err := os.Stat(filepath.Join(d.dirOf(uuid), rescueDisk)); err != nil {
		t.Fatalf("rescue disk: %v", err)
	}
	// Rescue again is a no-op.
	if err := d.Rescue(ctx, &rescue); err != nil {
		t.Fatal(err)
	}

	// The agent restarts: a new driver finds the rescue guest running and
	// still knows the guest to restore.
	d.Close()
	d2 := driverOn(t, instances)
	wantPower(t, d2, uuid, states.PowerRunning)
	if err := d2.Unrescue(ctx, virt.Ref{UUID: uuid}); err != nil {
		t.Fatal(err)
	}
	waitBoot(t, d2, uuid, 3)
	b, _ = d2.ConsoleLog(ctx, virt.Ref{UUID: uuid})
	last := string(b)[strings.LastIndex(string(b), "boot-disks:"):]
	if !strings.HasPrefix(last, "boot-disks: vda .") {
		t.Fatalf("after unrescue the guest boots with %q", strings.SplitN(last, "\n", 2)[0])
	}
	if _, err := os.Stat(filepath.Join(d2.dirOf(uuid), rescueDisk)); !os.IsNotExist(err) {
		t.Fatalf("rescue disk left after unrescue: %v", err)
	}
	// Unrescue of a guest not in rescue changes nothing.
	if err := d2.Unrescue(ctx, virt.Ref{UUID: uuid}); err != nil {
		t.Fatal(err)
	}
	wantPower(t, d2, uuid, states.PowerRunning)

	// A rescue that cannot be built gives the guest back, running.
	bad := rescue
	bad.ImageProperties = map[string]string{"hw_rescue_bus": "no-such-bus", "os_command_line": rescue.ImageProperties["os_command_line"]}
	if err := d2.Rescue(ctx, &bad); err == nil {
		t.Fatal("a rescue on an unknown bus succeeded")
	}
	waitBoot(t, d2, uuid, 4)
	wantPower(t, d2, uuid, states.PowerRunning)
	if _, err := os.Stat(filepath.Join(d2.dirOf(uuid), rescueDisk)); !os.IsNotExist(err) {
		t.Fatalf("rescue disk left after a failed rescue: %v", err)
	}

	// Stable device rescue on USB (tempest's test_stable_device_rescue_disk_usb):
	// the guest's disk stays vda, the rescue disk is a USB disk, not virtio.
	stable := rescue
	stable.ImageProperties = map[string]string{"hw_rescue_bus": "usb", "hw_rescue_device": "disk",
		"os_command_line": "console=tty0 console=ttyS0 root=/dev/vda rw"}
	if err := d2.Rescue(ctx, &stable); err != nil {
		t.Fatal(err)
	}
	waitBoot(t, d2, uuid, 5)
	wantPower(t, d2, uuid, states.PowerRunning)
	b, _ = d2.ConsoleLog(ctx, virt.Ref{UUID: uuid})
	last = string(b)[strings.LastIndex(string(b), "boot-disks:"):]
	if !strings.HasPrefix(last, "boot-disks: vda .") {
		t.Fatalf("in stable rescue the guest boots with %q, want its own disk alone on virtio", strings.SplitN(last, "\n", 2)[0])
	}
	if err := d2.Unrescue(ctx, virt.Ref{UUID: uuid}); err != nil {
		t.Fatal(err)
	}
	waitBoot(t, d2, uuid, 6)
}

// waitBoot waits for the n-th ready banner of a guest (its n-th boot).
func waitBoot(t *testing.T, d *Driver, uuid string, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for consoleCount(t, d, uuid, readyBanner) < n {
		if time.Now().After(deadline) {
			b, _ := d.ConsoleLog(context.Background(), virt.Ref{UUID: uuid})
			t.Fatalf("boot %d of %s did not finish; console:\n%s", n, uuid, b)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

package stack_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"

	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// markerScript runs in the test image at boot: when a second virtio disk
// appears it reads its first bytes; a marker another guest wrote there is
// printed, otherwise this guest writes its own.
const markerScript = `#!/bin/sh
(
seen=
while :; do
	if [ -b /dev/vdb ] && [ -z "$seen" ]; then
		seen=1
		m=$(dd if=/dev/vdb bs=64 count=1 2>/dev/null | tr -d '\000')
		case "$m" in
		tenku-marker-*) echo "=== volume: found $m ===" ;;
		*) printf 'tenku-marker-%s' "$(hostname)" | dd of=/dev/vdb conv=fsync 2>/dev/null && echo "=== volume: wrote tenku-marker-$(hostname) ===" ;;
		esac
	fi
	[ -b /dev/vdb ] || { [ -n "$seen" ] && echo "=== volume: gone ==="; seen=; }
	sleep 0.2
done
) </dev/null >/dev/console 2>&1 &
`

// A Cinder volume attached through the Nova API to a real guest on the
// qemu driver is a disk inside it: the guest writes a marker on it; after
// the volume is detached and attached to a second guest, that guest reads
// the marker back (issue 11's check), and again once rebuilt.
func TestRealVolumeThroughTheAPI(t *testing.T) {
	img := realGuests(t)
	dataDir, confDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(confDir, "nova.conf"), []byte("[DEFAULT]\ncompute_driver = qemu\n\n[libvirt]\nvirt_type = qemu\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range qemuPIDs(t, dataDir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	c := testkit.StartWith(t, testkit.Options{Services: []string{"keystone", "glance", "neutron", "neutron-agent", "nova", "nova-compute", "cinder", "cinder-volume"},
		Tweak: func(o *stack.Options) { o.DataDir, o.ConfigDir = dataDir, confDir }})
	ctx := context.Background()
	imageID, err := c.RegisterTestImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	nova := c.Client(t, "demo", "demo", "compute")
	nova.Microversion = "2.37"
	cinder := c.Client(t, "demo", "demo", "volumev3")
	boot := func(name string) string {
		s, err := servers.Create(ctx, nova, servers.CreateOpts{Name: name, ImageRef: imageID, FlavorRef: "42", Networks: "none",
			ConfigDrive: ptr(true), UserData: []byte(markerScript)}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	console := func(id string, want string) {
		t.Helper()
		var out string
		testkit.Eventually(t, 150*time.Second, func() bool {
			out, _ = servers.ShowConsoleOutput(ctx, nova, id, servers.ShowConsoleOutputOpts{}).Extract()
			return strings.Contains(out, want)
		}, "console log of %s to show %q; it has:\n%s", id, want, &out)
	}
	vm1, vm2 := boot("vol1"), boot("vol2")
	for _, id := range []string{vm1, vm2} {
		waitServer(t, ctx, nova, id, "ACTIVE", 2*time.Minute)
		console(id, "=== tenku-testimage: ready ===")
	}
	v, err := volumes.Create(ctx, cinder, volumes.CreateOpts{Size: 1, Name: "data"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitVolumeStatus := func(want string) {
		t.Helper()
		testkit.Eventually(t, 60*time.Second, func() bool {
			got, err := volumes.Get(ctx, cinder, v.ID).Extract()
			return err == nil && got.Status == want
		}, "volume to be %s", want)
	}
	waitVolumeStatus("available")

	if _, err := volumeattach.Create(ctx, nova, vm1, volumeattach.CreateOpts{VolumeID: v.ID}).Extract(); err != nil {
		t.Fatal(err)
	}
	waitVolumeStatus("in-use")
	console(vm1, "=== volume: wrote tenku-marker-vol1 ===")
	if err := volumeattach.Delete(ctx, nova, vm1, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolumeStatus("available")
	console(vm1, "=== volume: gone ===")

	if _, err := volumeattach.Create(ctx, nova, vm2, volumeattach.CreateOpts{VolumeID: v.ID}).Extract(); err != nil {
		t.Fatal(err)
	}
	waitVolumeStatus("in-use")
	console(vm2, "=== volume: found tenku-marker-vol1 ===")

	// Rebuilt, the guest is made again with the volume on it.
	if _, err := servers.Rebuild(ctx, nova, vm2, servers.RebuildOpts{ImageRef: imageID}).Extract(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, vm2, "ACTIVE", 2*time.Minute)
	// (a rebuild starts a new console log)
	console(vm2, "=== volume: found tenku-marker-vol1 ===")

	for _, id := range []string{vm1, vm2} {
		if err := servers.Delete(ctx, nova, id).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	waitVolumeStatus("available")
}

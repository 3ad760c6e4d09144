package stack_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// probeData runs at every boot of the test image: the first boot of a disk
// leaves its boot id on it, and every boot prints that, the root disk's
// size in sectors and its own boot id on the console.
const probeData = `#!/bin/sh
[ -f /var/first-boot ] || { cat /proc/sys/kernel/random/boot_id > /var/first-boot; sync; }
echo "probe: first-boot $(cat /var/first-boot) disk $(cat /sys/block/vda/size) boot $(cat /proc/sys/kernel/random/boot_id) ." > /dev/console
`

var probeRE = regexp.MustCompile(`probe: first-boot (\S+) disk (\d+) boot (\S+) \.`)

// probe is what a boot of the test image said on its console.
type probe struct{ firstBoot, disk, boot string }

// nextProbe waits for a boot the test has not seen yet on the server's
// console and returns what it printed.
func nextProbe(t *testing.T, ctx context.Context, nova *gophercloud.ServiceClient, id string, seen map[string]bool) probe {
	t.Helper()
	var out string
	var p probe
	testkit.Eventually(t, 150*time.Second, func() bool {
		out, _ = servers.ShowConsoleOutput(ctx, nova, id, servers.ShowConsoleOutputOpts{}).Extract()
		for _, m := range probeRE.FindAllStringSubmatch(out, -1) {
			if !seen[m[3]] {
				p = probe{firstBoot: m[1], disk: m[2], boot: m[3]}
				seen[m[3]] = true
				return true
			}
		}
		return false
	}, "a new boot on the console of %s; it has:\n%s", id, &out)
	return p
}

// A real guest through the moves that re-create it from its disk: shelve
// (a snapshot uploaded to Glance, the guest destroyed) and unshelve (a guest
// spawned from that snapshot) keep what the guest wrote; a resize to a
// flavor with a bigger root disk on this one host shows the guest the
// bigger disk, and a revert brings back the disk as it was.
func TestRealGuestShelveAndResize(t *testing.T) {
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
	c := testkit.StartWith(t, testkit.Options{Services: []string{"keystone", "glance", "neutron", "neutron-agent", "nova", "nova-compute"},
		Tweak: func(o *stack.Options) { o.DataDir, o.ConfigDir = dataDir, confDir }})
	ctx := context.Background()
	imageID, err := c.RegisterTestImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	nova := c.Client(t, "demo", "demo", "compute")
	nova.Microversion = "2.37"
	s, err := servers.Create(ctx, nova, servers.CreateOpts{Name: "mover", ImageRef: imageID, FlavorRef: "42", Networks: "none",
		ConfigDrive: ptr(true), UserData: []byte(probeData)}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, s.ID, "ACTIVE", 2*time.Minute)
	seen := map[string]bool{}
	first := nextProbe(t, ctx, nova, s.ID, seen)
	if first.firstBoot != first.boot || first.disk != "2097152" {
		t.Fatalf("first boot: %+v, want its own boot id and a 1 GiB disk", first)
	}

	// Shelve: offloaded at once (shelved_offload_time = 0), no QEMU left.
	if err := servers.Shelve(ctx, nova, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, s.ID, "SHELVED_OFFLOADED", 3*time.Minute)
	if left := qemuPIDs(t, dataDir); len(left) != 0 {
		t.Fatalf("QEMU left after the shelve offload: %v", left)
	}
	if err := servers.Unshelve(ctx, nova, s.ID, servers.UnshelveOpts{}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, s.ID, "ACTIVE", 3*time.Minute)
	unshelved := nextProbe(t, ctx, nova, s.ID, seen)
	if unshelved.firstBoot != first.boot {
		t.Fatalf("after unshelve the disk's first boot is %s, want %s: the snapshot lost the guest's data", unshelved.firstBoot, first.boot)
	}

	// Resize to ds512M (5 GiB root) on this host, then revert.
	if err := servers.Resize(ctx, nova, s.ID, servers.ResizeOpts{FlavorRef: "d1"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, s.ID, "VERIFY_RESIZE", 3*time.Minute)
	resized := nextProbe(t, ctx, nova, s.ID, seen)
	if resized.disk != "10485760" || resized.firstBoot != first.boot {
		t.Fatalf("after the resize: %+v, want a 5 GiB disk first booted as %s", resized, first.boot)
	}
	if err := servers.RevertResize(ctx, nova, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, s.ID, "ACTIVE", 3*time.Minute)
	reverted := nextProbe(t, ctx, nova, s.ID, seen)
	if reverted.disk != "2097152" || reverted.firstBoot != first.boot {
		t.Fatalf("after the revert: %+v, want the 1 GiB disk first booted as %s", reverted, first.boot)
	}
	got, err := servers.Get(ctx, nova, s.ID).Extract()
	if err != nil || got.Flavor["id"] != "42" {
		t.Fatalf("after the revert: flavor %v, %v", got.Flavor, err)
	}

	// Resize again and confirm: the backup of the old disk goes.
	if err := servers.Resize(ctx, nova, s.ID, servers.ResizeOpts{FlavorRef: "d1"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, s.ID, "VERIFY_RESIZE", 3*time.Minute)
	if p := nextProbe(t, ctx, nova, s.ID, seen); p.disk != "10485760" {
		t.Fatalf("after the second resize: %+v", p)
	}
	if err := servers.ConfirmResize(ctx, nova, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, s.ID, "ACTIVE", time.Minute)
	testkit.Eventually(t, 30*time.Second, func() bool {
		found := false
		filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
			found = found || err == nil && d.IsDir() && strings.HasSuffix(d.Name(), "_resize")
			return nil
		})
		return !found
	}, "the resize backup to go after the confirm")

	if err := servers.Delete(ctx, nova, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, func() bool { return len(qemuPIDs(t, dataDir)) == 0 }, "QEMU to end after the delete")
}

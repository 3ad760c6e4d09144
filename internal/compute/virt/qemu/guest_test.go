package qemu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/metadata"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/testimage"
	"github.com/tenku-cloud/tenku/internal/testimage/imagetest"
)

// The helpers of the tests that boot the test image on this driver (TCG).

// readyBanner is the test image's last line on the console once booted.
const readyBanner = "=== tenku-testimage: ready ==="

func testImage(t *testing.T) *testimage.Image { return imagetest.Shared(t) }

// newTestDriver is a driver on TCG keeping its instances in a temporary
// directory; every guest left when the test ends is destroyed.
func newTestDriver(t *testing.T) *Driver {
	t.Helper()
	return driverOn(t, t.TempDir())
}

// driverOn is a test driver on an instances directory another driver may
// have used (an agent restarted).
func driverOn(t *testing.T, instances string) *Driver {
	t.Helper()
	c := DefaultConfig()
	c.VirtType, c.InstancesPath, c.WaitSoftReboot = "qemu", instances, 5*time.Second
	d, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Init(context.Background(), "host1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		list, _ := d.ListInstances(ctx)
		for _, i := range list {
			if err := d.Destroy(ctx, virt.Ref{UUID: i.UUID}, virt.DestroyOptions{}); err != nil {
				t.Errorf("destroy %s: %v", i.UUID, err)
			}
		}
	})
	return d
}

// imageSpec is a guest booting base (a qcow2 file: the test image or a
// snapshot of it) with the test image's kernel and initramfs, and a config
// drive carrying userData when it is not empty.
func imageSpec(t *testing.T, d *Driver, img *testimage.Image, uuid, base string, userData string) *virt.Spec {
	t.Helper()
	dir := filepath.Join(d.cfg.InstancesPath, uuid)
	spec := &virt.Spec{Ref: virt.Ref{UUID: uuid, Name: "instance-" + uuid[:8]}, InstanceDir: dir,
		Flavor:          virt.Flavor{Name: "m1.tiny", VCPUs: 1, MemoryMB: 256, RootGB: 1},
		Image:           virt.Image{ID: "img-" + uuid[:8], Path: base, Format: "qcow2"},
		Kernel:          img.Kernel,
		Ramdisk:         img.Initrd,
		ImageProperties: testimage.Properties("kernel", "ramdisk"),
		Disks: []virt.Disk{{Kind: virt.DiskRoot, Path: filepath.Join(dir, "disk"), Format: "qcow2", BackingFile: base, SizeGB: 1,
			Bus: "virtio", DeviceName: "/dev/vda", BootIndex: 0}},
	}
	if userData != "" {
		in := &metadata.Instance{UUID: uuid, Name: spec.Name, Hostname: spec.Name, ProjectID: "p1", AvailabilityZone: "nova",
			UserData: []byte(userData)}
		files, err := in.Files()
		if err != nil {
			t.Fatal(err)
		}
		cd := filepath.Join(t.TempDir(), "config.iso")
		if err := metadata.WriteConfigDrive(cd, files); err != nil {
			t.Fatal(err)
		}
		spec.ConfigDrive = cd
		spec.Disks = append(spec.Disks, virt.Disk{Kind: virt.DiskConfig, Path: cd, Format: "raw", Bus: "ide", DeviceName: "/dev/hdd", BootIndex: -1})
	}
	return spec
}

// waitConsole waits for every string to be on a guest's console log,
// showing the log when it times out.
func waitConsole(t *testing.T, d *Driver, uuid string, timeout time.Duration, want ...string) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(timeout); ; {
		b, err := d.ConsoleLog(context.Background(), virt.Ref{UUID: uuid})
		out = string(b)
		missing := err != nil
		for _, w := range want {
			missing = missing || !strings.Contains(out, w)
		}
		if !missing {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("console of %s does not show %q after %v (err %v); it has:\n%s", uuid, want, timeout, err, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// consoleCount is how many times s is in a guest's whole console log
// (ConsoleLog returns only its last 100 KiB).
func consoleCount(t *testing.T, d *Driver, uuid, s string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.dirOf(uuid), consoleFile))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), s)
}

// wantPower checks what the driver says of a guest's power state.
func wantPower(t *testing.T, d *Driver, uuid string, want states.Power) {
	t.Helper()
	i, err := d.Info(context.Background(), virt.Ref{UUID: uuid})
	if err != nil {
		t.Fatalf("info %s: %v", uuid, err)
	}
	if i.Power != want {
		t.Fatalf("instance %s is %s, want %s", uuid, i.Power, want)
	}
}

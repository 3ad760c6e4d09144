package qemu

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/compute/virt/virttest"
	"github.com/tenku-cloud/tenku/internal/linux/proc"
)

// The contract suite on real QEMU processes (TCG), guests with no disk or
// NIC: the firmware runs, which is all power transitions need.
func TestContract(t *testing.T) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (scripts/install-deps installs qemu-system-x86)")
	}
	virttest.Run(t, virttest.Harness{
		New: func(t *testing.T, dir string) virt.Driver {
			c := DefaultConfig()
			c.VirtType, c.InstancesPath, c.WaitSoftReboot = "qemu", dir, 2*time.Second
			// the firmware never releases a device: fail a detach quickly
			c.DeviceDetachAttempts, c.DeviceDetachTimeout = 1, time.Second
			d, err := New(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Spec: func(t *testing.T, ref virt.Ref, instanceDir string) *virt.Spec {
			return &virt.Spec{Ref: ref, InstanceDir: instanceDir, Flavor: virt.Flavor{Name: "tiny", VCPUs: 1, MemoryMB: 64}}
		},
		StopBehindBack: func(t *testing.T, d virt.Driver, uuid string) {
			dir, _ := filepath.EvalSymlinks(filepath.Join(d.(*Driver).cfg.InstancesPath, uuid))
			p, err := proc.Find(filepath.Join(dir, pidFile))
			if err != nil {
				t.Fatal(err)
			}
			syscall.Kill(p.PID, syscall.SIGKILL)
		},
		Volumes: func(t *testing.T, d virt.Driver, ref virt.Ref) []string { return liveVolumes(t, d.(*Driver), ref.UUID) },
		// a guest with no OS does not answer ACPI hot-plug
		HotUnplug: false,
		Timeout:   time.Minute,
	})
}

// liveVolumes are the volumes a guest has: the devices its QEMU has now
// when it runs, else those its record will start it with.
func liveVolumes(t *testing.T, d *Driver, uuid string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g, err := d.lookup(ctx, uuid)
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d.mu.Lock()
	vols := append([]volume(nil), g.rec.Volumes...)
	d.mu.Unlock()
	_, c := d.running(g)
	var out []string
	for _, v := range vols {
		if c != nil {
			ok, err := hasDevice(ctx, c, v.Device)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue
			}
		}
		out = append(out, v.Disk.Serial)
	}
	return out
}

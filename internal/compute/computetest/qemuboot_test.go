package computetest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/compute/virt/qemu"
	"github.com/tenku-cloud/tenku/internal/testimage"
)

// realImage builds the test image once into the user's cache (a later run
// reuses it) or skips when the tools are missing; with CI=true a missing
// tool fails the test instead.
func realImage(t *testing.T) *testimage.Image {
	t.Helper()
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "dpkg-deb", "mkfs.ext4", "debugfs", "apt-get"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed and CI=true (scripts/install-deps installs it)", tool)
			}
			t.Skipf("%s is not installed (scripts/install-deps installs it)", tool)
		}
	}
	cache := os.Getenv("TENKU_TESTIMAGE_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			t.Skipf("no cache directory: %v", err)
		}
		cache = filepath.Join(d, "tenku")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	img, err := testimage.Build(ctx, testimage.Options{Dir: filepath.Join(cache, "testimage"), CacheDir: filepath.Join(cache, "testimage-debs")})
	if err != nil {
		t.Fatalf("build the test image: %v", err)
	}
	return img
}

// register adds a built file to the cloud's Glance.
func register(t *testing.T, c *computetest.Cloud, name, diskFormat string, path string, props map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return c.Images.Add(objects.ImageMeta{Name: name, DiskFormat: diskFormat, ContainerFormat: diskFormat, Visibility: "public", Properties: props}, b).ID
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// TestRealBootThroughTheAPI boots the test image under QEMU through the
// Nova API, reads its banner with os-getConsoleOutput, restarts the
// compute agent with a fresh driver (the guest keeps running and is found
// again by pidfile) and deletes it.
func TestRealBootThroughTheAPI(t *testing.T) {
	img := realImage(t)
	// A short directory: the QMP socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "rb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	o := computetest.Options{Dir: dir, PortStatus: "ACTIVE", NewDriver: func(host string) virt.Driver {
		cfg := qemu.DefaultConfig()
		cfg.VirtType = "qemu"
		cfg.InstancesPath = filepath.Join(dir, host, "instances")
		d, err := qemu.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}}
	c, err := computetest.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kid := register(t, c, "tenku-testimage-vmlinuz", "aki", img.Kernel, nil)
	rid := register(t, c, "tenku-testimage-initrd", "ari", img.Initrd, nil)
	root := register(t, c, "tenku-testimage", "qcow2", img.Disk, testimage.Properties(kid, rid))

	id, code := create(t, c, computetest.DemoToken, map[string]any{"name": "real1", "imageRef": root, "flavorRef": "1",
		"networks": "none", "config_drive": true})
	if code != 202 {
		t.Fatalf("create: %d", code)
	}
	pid := 0
	t.Cleanup(func() {
		c.Do(context.Background(), "DELETE", "/v2.1/servers/"+id, computetest.AdminToken, "", nil, nil)
		// A failed test stops the agent before the delete ran: end the
		// guest here so no QEMU outlives the test.
		if t.Failed() && alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	activeOrFault(t, c, id)
	console := func() string {
		var out struct {
			Output string `json:"output"`
		}
		if code := action(t, c, computetest.DemoToken, "", id, map[string]any{"os-getConsoleOutput": map[string]any{}}, &out); code != 200 {
			t.Fatalf("os-getConsoleOutput: %d", code)
		}
		return out.Output
	}
	eventually(t, 150*time.Second, "the banner on the console", func() bool {
		s := console()
		return strings.Contains(s, "=== tenku-testimage: instance-id "+id+" ===") && strings.Contains(s, "=== tenku-testimage: ready ===")
	})
	idir := filepath.Join(dir, "compute1", "instances", id)
	pid = readPID(t, idir)
	if !alive(pid) {
		t.Fatalf("QEMU pid %d is not running", pid)
	}

	// Restart the agent on a new driver object: the guest must be found
	// again, not restarted.
	ctx := context.Background()
	if err := c.StopAgent(ctx, "compute1"); err != nil {
		t.Fatal(err)
	}
	c.ForgetDriver("compute1")
	if err := c.StartAgent(ctx, "compute1"); err != nil {
		t.Fatal(err)
	}
	if s := activeOrFault(t, c, id); s.Power != 1 {
		t.Fatalf("after the restart: power state %d, want 1 (running)", s.Power)
	}
	if p := readPID(t, idir); p != pid || !alive(pid) {
		t.Fatalf("after the restart QEMU is pid %d (alive %v), want the same pid %d", p, alive(pid), pid)
	}
	if !strings.Contains(console(), "=== tenku-testimage: ready ===") {
		t.Fatal("the console lost the banner after the restart")
	}

	if code, err := c.Do(ctx, "DELETE", "/v2.1/servers/"+id, computetest.DemoToken, "", nil, nil); err != nil || code != 204 {
		t.Fatalf("delete: %d %v", code, err)
	}
	eventually(t, 60*time.Second, "QEMU to exit and the instance directory to go", func() bool {
		_, err := os.Stat(idir)
		return !alive(pid) && os.IsNotExist(err)
	})
}

// readPID reads the QEMU pid from an instance's pidfile ("pid starttime").
func readPID(t *testing.T, idir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(idir, "qemu.pid"))
	if err != nil {
		t.Fatalf("pidfile: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		t.Fatalf("pidfile %q", b)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("pidfile %q: %v", b, err)
	}
	return pid
}

// activeOrFault waits for ACTIVE with no task and fails with the fault on
// ERROR.
func activeOrFault(t *testing.T, c *computetest.Cloud, id string) server {
	t.Helper()
	var s server
	eventually(t, 90*time.Second, id+" to reach ACTIVE", func() bool {
		s = show(t, c, id)
		if s.Status == "ERROR" {
			msg := ""
			if s.Fault != nil {
				msg = s.Fault.Message
			}
			t.Fatalf("%s went to ERROR: %s", id, msg)
		}
		return s.Status == "ACTIVE" && s.TaskState == nil
	})
	return s
}

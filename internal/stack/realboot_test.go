package stack_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/tenku-cloud/tenku/internal/linux/proc"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testimage"
	"github.com/tenku-cloud/tenku/internal/testimage/imagetest"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

func realGuests(t *testing.T) *testimage.Image { return imagetest.Shared(t) }

// qemuPIDs finds the QEMU processes of a data directory's guests by their
// pidfiles, and kills whatever is left when the test ends.
func qemuPIDs(t *testing.T, dataDir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "qemu.pid" {
			if pr, err := proc.Find(p); err == nil {
				out[filepath.Base(filepath.Dir(p))] = pr.PID
			}
		}
		return nil
	})
	return out
}

// A server on the qemu driver boots the test image for real through the
// Nova API: ACTIVE, its console log shows the guest reading its config
// drive and user data; a restart of the whole cloud leaves the same QEMU
// process running and re-attached; delete stops it and removes its files.
func TestRealGuestThroughTheAPI(t *testing.T) {
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
	start := func() *testkit.Cloud {
		return testkit.StartWith(t, testkit.Options{Services: []string{"keystone", "glance", "neutron", "neutron-agent", "nova", "nova-compute"},
			Tweak: func(o *stack.Options) { o.DataDir, o.ConfigDir = dataDir, confDir }})
	}
	c := start()
	ctx := context.Background()
	imageID, err := c.RegisterTestImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	nova := c.Client(t, "demo", "demo", "compute")
	nova.Microversion = "2.37"
	s, err := servers.Create(ctx, nova, servers.CreateOpts{Name: "real1", ImageRef: imageID, FlavorRef: "42", Networks: "none",
		ConfigDrive: ptr(true), UserData: []byte("#!/bin/sh\necho user-data-ran-$(hostname) > /dev/console\n")}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, s.ID, "ACTIVE", 2*time.Minute)
	console := func(want ...string) {
		t.Helper()
		var out string
		testkit.Eventually(t, 150*time.Second, func() bool {
			out, _ = servers.ShowConsoleOutput(ctx, nova, s.ID, servers.ShowConsoleOutputOpts{}).Extract()
			for _, w := range want {
				if !strings.Contains(out, w) {
					return false
				}
			}
			return true
		}, "console log to show %q; it has:\n%s", want, &out)
	}
	console("=== tenku-testimage: instance-id "+s.ID+" ===", "user-data-ran-real1", "=== tenku-testimage: ready ===")
	before := qemuPIDs(t, dataDir)
	if len(before) != 1 {
		t.Fatalf("QEMU processes %v, want one", before)
	}

	// The cloud stops and starts again on the same data directory: the
	// guest was not stopped, and the agent finds it by its pidfile.
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	c = start()
	nova = c.Client(t, "demo", "demo", "compute")
	got, err := servers.Get(ctx, nova, s.ID).Extract()
	if err != nil || got.Status != "ACTIVE" || got.PowerState != servers.RUNNING {
		t.Fatalf("after the restart: %+v %v", got, err)
	}
	if after := qemuPIDs(t, dataDir); after[s.ID] != before[s.ID] {
		t.Fatalf("QEMU %v before the restart, %v after", before, after)
	}
	console("=== tenku-testimage: ready ===")

	if err := servers.Delete(ctx, nova, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, func() bool {
		_, err := servers.Get(ctx, nova, s.ID).Extract()
		return err != nil && strings.Contains(err.Error(), "404")
	}, "server to be deleted")
	if running(before[s.ID]) {
		t.Fatalf("QEMU %d still runs after the delete", before[s.ID])
	}
	if left := qemuPIDs(t, dataDir); len(left) != 0 {
		t.Fatalf("pidfiles left: %v", left)
	}
}

// running says a process exists and is not a zombie (QEMU is reaped by
// whoever its parent is, not necessarily this test).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func ptr[T any](v T) *T { return &v }

func waitServer(t *testing.T, ctx context.Context, sc *gophercloud.ServiceClient, id, want string, timeout time.Duration) {
	t.Helper()
	var last *servers.Server
	testkit.Eventually(t, timeout, func() bool {
		s, err := servers.Get(ctx, sc, id).Extract()
		if err == nil {
			last = s
		}
		return err == nil && (s.Status == want || s.Status == "ERROR")
	}, "server %s to be %s", id, want)
	if last.Status != want {
		t.Fatalf("server %s is %s: %+v", id, last.Status, last.Fault)
	}
}

package conformance_test

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// With [fake_driver] action_delay, a soft reboot, a stop and a start last
// long enough for a client polling the server to see REBOOT, the powering-off
// and powering-on task states, as on a real hypervisor (issue 13 §5).
func TestFakeActionsAreObservable(t *testing.T) {
	c := startCloud(t, map[string]string{"nova.conf": "[fake_driver]\naction_delay = 1s\n"})
	ctx := context.Background()
	sc := computeClient(t, c, "demo", "demo", "2.93")
	s, err := servers.Create(ctx, sc, servers.CreateOpts{Name: "watched", ImageRef: anImage(t, c), FlavorRef: "1",
		Networks: []servers.Network{{UUID: networkNamed(t, c, "demo", "demo", "private")}}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, sc, s.ID, "ACTIVE", 30*time.Second)

	seen := func(action func() error, status, task string) {
		t.Helper()
		if err := action(); err != nil {
			t.Fatal(err)
		}
		got, err := servers.Get(ctx, sc, s.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != status || got.TaskState == "" || (task != "" && got.TaskState != task) {
			t.Errorf("right after the request: status %s task %q, want %s with a task state %q", got.Status, got.TaskState, status, task)
		}
	}
	seen(func() error {
		return servers.Reboot(ctx, sc, s.ID, servers.RebootOpts{Type: servers.SoftReboot}).ExtractErr()
	}, "REBOOT", "")
	waitStatus(t, sc, s.ID, "ACTIVE", 10*time.Second)
	seen(func() error { return servers.Stop(ctx, sc, s.ID).ExtractErr() }, "ACTIVE", "powering-off")
	waitStatus(t, sc, s.ID, "SHUTOFF", 10*time.Second)
	seen(func() error { return servers.Start(ctx, sc, s.ID).ExtractErr() }, "SHUTOFF", "powering-on")
	waitStatus(t, sc, s.ID, "ACTIVE", 10*time.Second)
}

package computetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
)

// A build handed to a host whose compute service then went down (the agent
// killed amid the spawn) is set to ERROR with a fault naming the host, so
// that it can be evacuated; a build on a host that still reports is left
// alone (issue 15).
func TestBuildOnDownHostSetToError(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE", Config: func(c *conf.Config) { c.Conductor.StrandedBuildTimeout = 400 * time.Millisecond }})
	ctx := context.Background()
	fl, err := c.Store.Flavor(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	beat := func() {
		if _, err := c.Store.Heartbeat(ctx, "livehost", "nova-compute", "compute", 1, true); err != nil {
			t.Fatal(err)
		}
	}
	beat()
	mk := func(host string) string {
		id := uuid.NewString()
		inst := &objects.Instance{UUID: id, ProjectID: computetest.DemoProject, UserID: computetest.DemoUser, DisplayName: host,
			Hostname: host, ImageRef: c.Image.ID, Flavor: *fl, VMState: states.Building, TaskState: states.Spawning, Host: host, Node: host}
		if err := c.Store.CreateInstances(ctx, []cstore.NewInstance{{Instance: inst}}, nil,
			cstore.ActionStart{Action: "create", RequestID: "req-" + host, UserID: computetest.DemoUser, ProjectID: computetest.DemoProject}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	dead, live := mk("deadhost"), mk("livehost")
	eventually(t, 10*time.Second, "the build on the down host in ERROR", func() bool {
		beat()
		i, err := c.Store.Instance(ctx, dead, cstore.GetOptions{})
		return err == nil && i.VMState == states.Error && i.TaskState == states.NoTask
	})
	var show struct {
		Server struct {
			Status string `json:"status"`
			Fault  struct {
				Message string `json:"message"`
			} `json:"fault"`
		} `json:"server"`
	}
	if code, err := c.Do(ctx, "GET", "/v2.1/servers/"+dead, computetest.DemoToken, "2.93", nil, &show); err != nil || code != 200 {
		t.Fatalf("show: %d %v", code, err)
	}
	if show.Server.Status != "ERROR" || show.Server.Fault.Message == "" {
		t.Fatalf("build on a down host: %+v, want ERROR with a fault", show.Server)
	}
	for i := 0; i < 10; i++ {
		beat()
		time.Sleep(100 * time.Millisecond)
	}
	if i, err := c.Store.Instance(ctx, live, cstore.GetOptions{}); err != nil || i.VMState != states.Building || i.TaskState != states.Spawning {
		t.Fatalf("the build on a live host was changed: %+v %v", i, err)
	}
}

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

// A build whose scheduling was interrupted (written in BUILD/scheduling, its
// cast to the conductor lost, as when the process dies right after the
// insert) is set to ERROR with a fault that says so within a bounded time,
// while a build that goes through scheduling normally is untouched
// (issue 13 §3).
func TestStrandedBuildSetToError(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE", Config: func(c *conf.Config) { c.Conductor.StrandedBuildTimeout = 400 * time.Millisecond }})
	ctx := context.Background()
	fl, err := c.Store.Flavor(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	inst := &objects.Instance{UUID: id, ProjectID: computetest.DemoProject, UserID: computetest.DemoUser, DisplayName: "stranded",
		Hostname: "stranded", ImageRef: c.Image.ID, Flavor: *fl, VMState: states.Building, TaskState: states.Scheduling}
	if err := c.Store.CreateInstances(ctx, []cstore.NewInstance{{Instance: inst}}, nil,
		cstore.ActionStart{Action: "create", RequestID: "req-stranded", UserID: computetest.DemoUser, ProjectID: computetest.DemoProject}); err != nil {
		t.Fatal(err)
	}
	// A normal build meanwhile goes ACTIVE.
	var out struct {
		Server struct {
			ID string `json:"id"`
		} `json:"server"`
	}
	if code, err := c.Do(ctx, "POST", "/v2.1/servers", computetest.DemoToken, "2.93",
		map[string]any{"server": map[string]any{"name": "normal", "imageRef": c.Image.ID, "flavorRef": "1", "networks": "none"}}, &out); err != nil || code != 202 {
		t.Fatalf("boot: %d %v", code, err)
	}
	eventually(t, 10*time.Second, "the stranded build in ERROR", func() bool {
		i, err := c.Store.Instance(ctx, id, cstore.GetOptions{})
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
	if code, err := c.Do(ctx, "GET", "/v2.1/servers/"+id, computetest.DemoToken, "2.93", nil, &show); err != nil || code != 200 {
		t.Fatalf("show: %d %v", code, err)
	}
	if show.Server.Status != "ERROR" || show.Server.Fault.Message == "" {
		t.Fatalf("stranded build: %+v, want ERROR with a fault", show.Server)
	}
	eventually(t, 10*time.Second, "the normal build ACTIVE", func() bool {
		i, err := c.Store.Instance(ctx, out.Server.ID, cstore.GetOptions{})
		return err == nil && i.VMState == states.Active
	})
}

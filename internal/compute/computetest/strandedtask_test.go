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
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
)

// Task states that an API process or a conductor set and then died without
// handing on (written straight to the store here, as the dead process left
// them) are settled while the agent runs, within [compute]
// stranded_task_timeout (issue 13 §3): a reboot finishes ACTIVE, a stop
// SHUTOFF, a delete goes through, a build claimed but never cast goes to
// ERROR with a fault, a live migration the host had started gives its
// claims back and its migration is error, a resize no agent took and an
// unshelve never placed lose their task with a fault. A reboot the agent is working on for longer
// than the timeout is left to finish.
func TestStrandedTasksSettled(t *testing.T) {
	const timeout = 400 * time.Millisecond
	// Every power action takes longer than the timeout, so that one the
	// agent works on must not be taken for stranded.
	c := start(t, fakeOpts{PortStatus: "ACTIVE", Fake: fake.Config{ActionDelay: 4 * timeout},
		Config: func(c *conf.Config) { c.Compute.StrandedTaskTimeout = timeout }})
	ctx := context.Background()
	ids := map[string]string{}
	for _, name := range []string{"reboot", "stop", "delete", "build", "resize", "unshelve", "live", "busy"} {
		ids[name] = bootActive(t, c, name)
	}
	set := func(name string, u cstore.Update) {
		t.Helper()
		if _, err := c.Store.Save(ctx, cstore.Save{UUID: ids[name], Update: u}); err != nil {
			t.Fatal(err)
		}
	}
	task := func(s states.Task) *states.Task { return &s }
	vm := func(s states.VM) *states.VM { return &s }
	none := ""
	fl, err := c.Store.Flavor(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	set("reboot", cstore.Update{TaskState: task(states.RebootingHard)})
	set("stop", cstore.Update{TaskState: task(states.PoweringOff)})
	set("delete", cstore.Update{TaskState: task(states.Deleting)})
	set("build", cstore.Update{VMState: vm(states.Building), TaskState: task(states.Scheduling)})
	set("resize", cstore.Update{TaskState: task(states.ResizePrep), NewFlavor: fl})
	// A live migration this host had started ("running") when its save
	// failed: the source's claim sits under the migration's id.
	live, err := c.Store.Instance(ctx, ids["live"], cstore.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mig := &objects.Migration{UUID: uuid.NewString(), InstanceUUID: live.UUID, ProjectID: live.ProjectID, UserID: live.UserID,
		SourceCompute: live.Host, SourceNode: live.Node, DestCompute: "elsewhere", DestNode: "elsewhere", DestHost: "elsewhere",
		OldFlavorID: live.Flavor.FlavorID, NewFlavorID: live.Flavor.FlavorID, Status: "running", MigrationType: objects.MigrationLive}
	if err := c.Store.CreateMigration(ctx, mig); err != nil {
		t.Fatal(err)
	}
	if err := c.Store.MoveAllocations(ctx, live.UUID, mig.UUID); err != nil {
		t.Fatal(err)
	}
	set("live", cstore.Update{TaskState: task(states.Migrating)})
	set("unshelve", cstore.Update{VMState: vm(states.ShelvedOffloaded), TaskState: task(states.Unshelving), Host: &none, Node: &none})

	// A reboot in progress on the agent takes longer than the timeout.
	if code, err := c.Do(ctx, "POST", "/v2.1/servers/"+ids["busy"]+"/action", computetest.DemoToken, "2.93",
		map[string]any{"reboot": map[string]any{"type": "SOFT"}}, nil); err != nil || code != 202 {
		t.Fatalf("reboot: %d %v", code, err)
	}

	get := func(name string) *objects.Instance {
		i, err := c.Store.Instance(ctx, ids[name], cstore.GetOptions{ReadDeleted: true, Fault: true})
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	want := map[string]func(i *objects.Instance) bool{
		"reboot": func(i *objects.Instance) bool {
			return i.VMState == states.Active && i.PowerState == states.PowerRunning
		},
		"stop":   func(i *objects.Instance) bool { return i.VMState == states.Stopped },
		"delete": func(i *objects.Instance) bool { return i.Deleted },
		"build": func(i *objects.Instance) bool {
			return i.VMState == states.Error && i.Fault != nil && i.Fault.Message != ""
		},
		"resize": func(i *objects.Instance) bool {
			return i.VMState == states.Active && i.NewFlavor == nil && i.Fault != nil && i.Fault.Message != ""
		},
		"live": func(i *objects.Instance) bool {
			m, err := c.Store.Migration(ctx, mig.UUID)
			back, _ := c.Store.Allocations(ctx, i.UUID)
			left, _ := c.Store.Allocations(ctx, mig.UUID)
			return i.VMState == states.Active && i.Host == live.Host && err == nil && m.Status == "error" && len(back) > 0 && len(left) == 0
		},
		"unshelve": func(i *objects.Instance) bool {
			return i.VMState == states.ShelvedOffloaded && i.Fault != nil && i.Fault.Message != ""
		},
	}
	start := time.Now()
	for name, ok := range want {
		eventually(t, 10*time.Second, name+" settled", func() bool {
			i := get(name)
			return i.TaskState == states.NoTask && ok(i)
		})
	}
	t.Logf("settled in %s (timeout %s)", time.Since(start).Round(time.Millisecond), timeout)
	if i := get("busy"); time.Since(start) < 4*timeout && i.TaskState != states.Rebooting && i.TaskState != states.RebootStarted && i.TaskState != states.RebootPending {
		t.Errorf("a reboot the agent works on was settled under it: %s/%s", i.VMState, i.TaskState)
	}
	eventually(t, 10*time.Second, "the busy reboot finished by the agent", func() bool {
		i := get("busy")
		return i.TaskState == states.NoTask && i.VMState == states.Active && i.Fault == nil
	})
	if _, err := c.Driver("compute1").Info(ctx, virt.Ref{UUID: ids["build"], Name: get("build").Name()}); err == nil {
		t.Error("the guest of the build set to ERROR is still on the hypervisor")
	}
}

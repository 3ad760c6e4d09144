package conductor

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/scheduler"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

var (
	tiny  = objects.Flavor{FlavorID: "1", Name: "m1.tiny", MemoryMB: 512, VCPUs: 1, RootGB: 1, RxtxFactor: 1, IsPublic: true}
	small = objects.Flavor{FlavorID: "2", Name: "m1.small", MemoryMB: 2048, VCPUs: 1, RootGB: 20, RxtxFactor: 1, IsPublic: true}
)

// moveRig is a conductor on a SQLite store and an embedded bus, with one
// compute node "h1" and an ACTIVE m1.tiny instance on it whose usage and
// claim are taken, as the API process and a build leave them.
type moveRig struct {
	c    *Conductor
	s    *store.Store
	b    *bus.Bus
	inst *objects.Instance
	node string
}

func newMoveRig(t *testing.T) *moveRig {
	t.Helper()
	ctx := context.Background()
	db, err := pstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "nova.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, store.Migrations); err != nil {
		t.Fatal(err)
	}
	s := store.New(db)
	b, err := bus.Open(ctx, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg := conf.Default()
	cfg.Default.AllowResizeToSameHost = true
	cfg.Compute.StrandedTaskTimeout = time.Hour // the sweep runs only when the test calls it
	n, err := s.ReportNode(ctx, &objects.ComputeNode{Host: "h1", HypervisorHostname: "h1", HypervisorType: "fake", VCPUs: 8, MemoryMB: 16384, LocalGB: 100,
		CPUAllocationRatio: 1, RAMAllocationRatio: 1, DiskAllocationRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	inst := &objects.Instance{UUID: uuid.NewString(), ProjectID: "p1", UserID: "u1", DisplayName: "vm", Flavor: tiny,
		VMState: states.Building, TaskState: states.Scheduling}
	if err := s.Reserve(ctx, &store.Reservation{ProjectID: "p1", UserID: "u1", Deltas: store.InstanceUsage(&tiny, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInstances(ctx, []store.NewInstance{{Instance: inst}}, nil, store.ActionStart{Action: "create", RequestID: "req-1", UserID: "u1", ProjectID: "p1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, claimFor(inst, &tiny, inst.UUID, n.UUID)); err != nil {
		t.Fatal(err)
	}
	active, none, host := states.Active, states.NoTask, "h1"
	if inst, err = s.Save(ctx, store.Save{UUID: inst.UUID, Update: store.Update{VMState: &active, TaskState: &none, Host: &host, Node: &host}}); err != nil {
		t.Fatal(err)
	}
	// The scheduler always picks h1.
	if _, err := b.Serve(ctx, rpc.SchedulerSubject, bus.ServeOptions{Queue: rpc.SchedulerQueue}, map[string]bus.Handler{
		rpc.SelectDestinations: func(context.Context, json.RawMessage) (any, error) {
			return rpc.SelectResult{Selections: []scheduler.Selection{{Primary: scheduler.Destination{Host: "h1", Node: "h1", NodeUUID: n.UUID}}}}, nil
		}}); err != nil {
		t.Fatal(err)
	}
	c := New(cfg, s, b, nil, nil)
	c.ctx = ctx
	return &moveRig{c: c, s: s, b: b, inst: inst, node: n.UUID}
}

// resize does what the API process does for a resize to m1.small: the
// growth reserved, resize_prep set with the new flavor.
func (r *moveRig) resize(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := r.s.Reserve(ctx, &store.Reservation{ProjectID: "p1", UserID: "u1", Deltas: map[string]int{"ram": small.MemoryMB - tiny.MemoryMB}}); err != nil {
		t.Fatal(err)
	}
	prep := states.ResizePrep
	fl := small
	if _, err := r.s.Save(ctx, store.Save{UUID: r.inst.UUID, Update: store.Update{TaskState: &prep, NewFlavor: &fl},
		Expect: store.Expect{Task: []states.Task{states.NoTask}}}); err != nil {
		t.Fatal(err)
	}
}

func (r *moveRig) ram(t *testing.T) int {
	t.Helper()
	u, err := r.s.Usage(context.Background(), "p1", "")
	if err != nil {
		t.Fatal(err)
	}
	return u["ram"]
}

func (r *moveRig) get(t *testing.T) *objects.Instance {
	t.Helper()
	i, err := r.s.Instance(context.Background(), r.inst.UUID, store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// A prep_resize call that fails on the conductor's side although the agent
// took the resize (a reply slower than the ack timeout, lost with a dying
// process): the agents own the resize now, so the conductor gives back
// neither the growth nor the claims, and the task stays the agents'.
// Before the fix the conductor released the growth unconditionally: in-use
// RAM ended 1,536 MiB below the m1.small the instance became.
func TestMigrateCallFailsAfterTheAgentTookIt(t *testing.T) {
	r := newMoveRig(t)
	ctx := context.Background()
	r.resize(t)
	want := r.ram(t)
	if want != small.MemoryMB {
		t.Fatalf("usage after the reservation: ram %d", want)
	}
	if _, err := r.b.Serve(ctx, rpc.ComputeSubject("h1"), bus.ServeOptions{Queue: "compute"}, map[string]bus.Handler{
		rpc.PrepResize: func(context.Context, json.RawMessage) (any, error) {
			// The source takes the resize (resize_instance's CAS)...
			mig := states.ResizeMigrating
			if _, err := r.s.Save(ctx, store.Save{UUID: r.inst.UUID, Update: store.Update{TaskState: &mig},
				Expect: store.Expect{Task: []states.Task{states.ResizePrep}}}); err != nil {
				t.Error(err)
			}
			// ...and the conductor hears a failure all the same.
			return nil, &fault.Error{Status: 504, Type: "MessagingTimeout", Message: "timed out waiting for a reply to prep_resize"}
		}}); err != nil {
		t.Fatal(err)
	}
	r.c.migrate(ctx, rpc.ResizeArgs{InstanceArgs: rpc.InstanceArgs{InstanceUUID: r.inst.UUID, RequestID: "req-r"}, NewFlavor: &small})

	if got := r.ram(t); got != want {
		t.Errorf("in-use RAM %d after a failed call the agent had taken, want %d (the growth stays with the resize)", got, want)
	}
	i := r.get(t)
	if i.TaskState != states.ResizeMigrating || i.NewFlavor == nil {
		t.Errorf("the agent's resize was undone under it: task %q, new flavor %v", i.TaskState, i.NewFlavor)
	}
	ms, err := r.s.Migrations(ctx, store.MigrationFilter{InstanceUUID: i.UUID})
	if err != nil || len(ms) != 1 || ms[0].Status == "error" {
		t.Fatalf("migrations: %v %+v", err, ms)
	}
	if held, _ := r.s.Allocations(ctx, ms[0].UUID); len(held) == 0 {
		t.Error("the source's claim was taken back from under the migration")
	}
}

// The same failure before any agent took the resize gives the growth back
// once, with the task: a stranded task sweep that comes after finds
// nothing to undo, and one that came first leaves the conductor nothing to
// give back.
func TestResizeGrowthGivenBackOnce(t *testing.T) {
	ctx := context.Background()
	for _, sweepFirst := range []bool{false, true} {
		r := newMoveRig(t)
		r.resize(t)
		if _, err := r.b.Serve(ctx, rpc.ComputeSubject("h1"), bus.ServeOptions{Queue: "compute"}, map[string]bus.Handler{
			rpc.PrepResize: func(context.Context, json.RawMessage) (any, error) {
				if sweepFirst {
					r.c.undoStrandedMoves(ctx, time.Now().Add(time.Hour))
				}
				return nil, fault.Unavailable("no service is listening on compute.h1")
			}}); err != nil {
			t.Fatal(err)
		}
		r.c.migrate(ctx, rpc.ResizeArgs{InstanceArgs: rpc.InstanceArgs{InstanceUUID: r.inst.UUID, RequestID: "req-r"}, NewFlavor: &small})
		r.c.undoStrandedMoves(ctx, time.Now().Add(time.Hour))
		if got := r.ram(t); got != tiny.MemoryMB {
			t.Errorf("sweep first %v: in-use RAM %d, want %d", sweepFirst, got, tiny.MemoryMB)
		}
		i := r.get(t)
		if i.TaskState != states.NoTask || i.NewFlavor != nil || i.Flavor.FlavorID != tiny.FlavorID {
			t.Errorf("sweep first %v: task %q, new flavor %v, flavor %s", sweepFirst, i.TaskState, i.NewFlavor, i.Flavor.Name)
		}
		held, _ := r.s.Allocations(ctx, i.UUID)
		if len(held) != 1 || held[0].MemoryMB != tiny.MemoryMB {
			t.Errorf("sweep first %v: the instance's claims are %+v, want its m1.tiny on h1", sweepFirst, held)
		}
	}
}

package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

func open(t *testing.T, db *store.DB) *cstore.Store {
	t.Helper()
	if _, err := db.Migrate(context.Background(), cstore.Migrations); err != nil {
		t.Fatal(err)
	}
	return cstore.New(db)
}

var tiny = objects.Flavor{FlavorID: "1", Name: "m1.tiny", MemoryMB: 512, VCPUs: 1, RootGB: 1, RxtxFactor: 1, IsPublic: true}

func newInstance(project string) *objects.Instance {
	return &objects.Instance{UUID: uuid.NewString(), ProjectID: project, UserID: "u1", DisplayName: "vm", Flavor: tiny,
		VMState: states.Building, TaskState: states.Scheduling, Metadata: map[string]string{"a": "b"}}
}

func TestInstanceLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		inst := newInstance("p1")
		err := s.CreateInstances(ctx, []cstore.NewInstance{{Instance: inst, Tags: []string{"x", "y"}}}, nil,
			cstore.ActionStart{Action: "create", RequestID: "req-1", UserID: "u1", ProjectID: "p1"})
		if err != nil {
			t.Fatal(err)
		}
		if inst.ID == 0 || inst.Name() == "instance-00000000" {
			t.Fatalf("id not filled: %d", inst.ID)
		}
		got, err := s.Instance(ctx, inst.UUID, cstore.GetOptions{Tags: true})
		if err != nil {
			t.Fatal(err)
		}
		if got.Flavor.Name != "m1.tiny" || got.Metadata["a"] != "b" || len(got.Tags) != 2 || got.TaskState != states.Scheduling {
			t.Fatalf("round trip: %+v", got)
		}

		// CAS: a phase transition only from the expected task state.
		net := states.Networking
		sv := cstore.Save{UUID: inst.UUID, Update: cstore.Update{TaskState: &net},
			Expect: cstore.Expect{Task: []states.Task{states.Scheduling}},
			Start:  []cstore.EventRef{{RequestID: "req-1", Event: "compute_networking", Host: "h1"}}}
		if _, err := s.Save(ctx, sv); err != nil {
			t.Fatal(err)
		}
		_, err = s.Save(ctx, sv)
		u, ok := cstore.IsUnexpected(err)
		if !ok || u.Found.Task != states.Networking || u.Gone {
			t.Fatalf("second save: %v", err)
		}
		// Finish the event with an error, record a fault, set ERROR.
		errState := states.Error
		none := states.NoTask
		_, err = s.Save(ctx, cstore.Save{UUID: inst.UUID, Update: cstore.Update{VMState: &errState, TaskState: &none},
			Finish: []cstore.EventRef{{RequestID: "req-1", Event: "compute_networking", Error: "boom"}},
			Fault:  &objects.Fault{Code: 500, Message: "No valid host was found."}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = s.Instance(ctx, inst.UUID, cstore.GetOptions{Fault: true})
		if got.Fault == nil || got.Fault.Code != 500 || got.VMState != states.Error {
			t.Fatalf("fault: %+v", got.Fault)
		}
		a, err := s.Action(ctx, inst.UUID, "req-1")
		if err != nil {
			t.Fatal(err)
		}
		if a.Action != "create" || len(a.Events) != 1 || a.Events[0].Result != "Error" || a.Events[0].Traceback != "boom" || a.Message != "Error" {
			t.Fatalf("action: %+v", a)
		}

		// Metadata under a guard.
		m, err := s.UpdateMetadata(ctx, inst.UUID, cstore.Expect{}, 3, func(m map[string]string) error { m["k"] = "v"; return nil })
		if err != nil || len(m) != 2 {
			t.Fatalf("metadata: %v %v", m, err)
		}
		_, err = s.UpdateMetadata(ctx, inst.UUID, cstore.Expect{}, 2, func(m map[string]string) error { m["k2"] = "v"; return nil })
		if !fault.Is(err, 403) {
			t.Fatalf("metadata over limit: %v", err)
		}

		// Listing and filters.
		other := newInstance("p2")
		other.DisplayName = "other"
		if err := s.CreateInstances(ctx, []cstore.NewInstance{{Instance: other}}, nil, cstore.ActionStart{Action: "create", RequestID: "req-2"}); err != nil {
			t.Fatal(err)
		}
		list, err := s.Instances(ctx, cstore.InstanceFilter{ProjectID: "p1"})
		if err != nil || len(list) != 1 || list[0].UUID != inst.UUID {
			t.Fatalf("project filter: %v %v", list, err)
		}
		list, _ = s.Instances(ctx, cstore.InstanceFilter{Tags: []string{"x", "y"}})
		if len(list) != 1 {
			t.Fatalf("tags filter: %d", len(list))
		}
		list, _ = s.Instances(ctx, cstore.InstanceFilter{NotTagsAny: []string{"x"}})
		if len(list) != 1 || list[0].UUID != other.UUID {
			t.Fatalf("not-tags-any filter: %d", len(list))
		}
		list, _ = s.Instances(ctx, cstore.InstanceFilter{SortKeys: []string{"display_name"}, SortDirs: []string{"asc"}})
		if len(list) != 2 || list[0].DisplayName != "other" {
			t.Fatalf("sort: %v", list)
		}

		// Delete frees and hides.
		if _, err := s.DeleteInstance(ctx, inst.UUID, nil, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Instance(ctx, inst.UUID, cstore.GetOptions{}); !fault.IsNotFound(err) {
			t.Fatalf("deleted instance visible: %v", err)
		}
		got, err = s.Instance(ctx, inst.UUID, cstore.GetOptions{ReadDeleted: true})
		if err != nil || !got.Deleted || got.VMState != states.Deleted {
			t.Fatalf("read deleted: %+v %v", got, err)
		}
		if _, err := s.DeleteInstance(ctx, inst.UUID, nil, ""); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		_, err = s.Save(ctx, sv)
		if u, ok := cstore.IsUnexpected(err); !ok || !u.Gone {
			t.Fatalf("save of deleted: %v", err)
		}
	})
}

// TestConcurrentBootQuota: many boots race for a quota of 5 instances; exactly
// 5 win and the counter says so.
func TestConcurrentBootQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		var wg sync.WaitGroup
		var wins, overs atomic.Int32
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inst := newInstance("p1")
				err := s.CreateInstances(ctx, []cstore.NewInstance{{Instance: inst}}, &cstore.Reservation{
					ProjectID: "p1", UserID: "u1", Deltas: cstore.InstanceUsage(&tiny, 1),
					ProjectLimits: map[string]int{"instances": 5, "cores": 20, "ram": -1},
				}, cstore.ActionStart{Action: "create", RequestID: uuid.NewString()})
				switch _, over := cstore.AsOverQuota(err); {
				case err == nil:
					wins.Add(1)
				case over:
					overs.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 5 || overs.Load() != 15 {
			t.Fatalf("wins %d overs %d, want 5 and 15", wins.Load(), overs.Load())
		}
		u, err := s.Usage(ctx, "p1", "")
		if err != nil || u["instances"] != 5 || u["cores"] != 5 || u["ram"] != 5*512 {
			t.Fatalf("usage %v %v", u, err)
		}
		list, _ := s.Instances(ctx, cstore.InstanceFilter{ProjectID: "p1"})
		if len(list) != 5 {
			t.Fatalf("%d instances", len(list))
		}
		// Deleting one frees its quota; recounting agrees.
		s.DeleteInstance(ctx, list[0].UUID, nil, "")
		u, _ = s.Usage(ctx, "p1", "u1")
		if u["instances"] != 4 {
			t.Fatalf("user usage after delete: %v", u)
		}
		if err := s.RefreshUsage(ctx); err != nil {
			t.Fatal(err)
		}
		u, _ = s.Usage(ctx, "p1", "")
		if u["instances"] != 4 || u["ram"] != 4*512 {
			t.Fatalf("refreshed usage: %v", u)
		}
		err = s.Reserve(ctx, &cstore.Reservation{ProjectID: "p1", Deltas: map[string]int{"instances": 2}, ProjectLimits: map[string]int{"instances": 5}})
		if o, ok := cstore.AsOverQuota(err); !ok || o.Used["instances"] != 4 || o.Fault().Status != 403 {
			t.Fatalf("over quota: %v", err)
		}
	})
}

// TestConcurrentClaims: claims never overcommit a node, whatever the race.
func TestConcurrentClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		node, err := s.ReportNode(ctx, &objects.ComputeNode{Host: "h1", HypervisorHostname: "h1", HypervisorType: "fake",
			VCPUs: 4, MemoryMB: 4096, LocalGB: 100, CPUAllocationRatio: 1, RAMAllocationRatio: 1, DiskAllocationRatio: 1, ReservedHostMemoryMB: 512})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var wins atomic.Int32
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := s.Claim(ctx, cstore.Claim{Consumer: fmt.Sprint("c", i), NodeUUID: node.UUID, VCPUs: 1, MemoryMB: 1024, DiskGB: 1})
				if err == nil {
					wins.Add(1)
				} else if !errors.Is(err, cstore.ErrClaimFailed) {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		// 3584 MiB usable: three claims of 1024 fit, the fourth does not.
		if wins.Load() != 3 {
			t.Fatalf("%d claims won, want 3", wins.Load())
		}
		n, _ := s.Node(ctx, node.UUID)
		if n.MemoryMBUsed != 3072 || n.VCPUsUsed != 3 {
			t.Fatalf("node used %d MiB %d vcpus", n.MemoryMBUsed, n.VCPUsUsed)
		}
		// Freeing and re-reporting agree on the usage.
		allocs, _ := s.AllocationsOnNode(ctx, node.UUID)
		if err := s.FreeAllocations(ctx, allocs[0].Consumer); err != nil {
			t.Fatal(err)
		}
		n, _ = s.ReportNode(ctx, &objects.ComputeNode{Host: "h1", HypervisorHostname: "h1", HypervisorType: "fake",
			VCPUs: 4, MemoryMB: 4096, LocalGB: 100, CPUAllocationRatio: 1, RAMAllocationRatio: 1, DiskAllocationRatio: 1, ReservedHostMemoryMB: 512})
		if n.MemoryMBUsed != 2048 || n.LocalGBUsed != 2 {
			t.Fatalf("after free: %d MiB %d GB", n.MemoryMBUsed, n.LocalGBUsed)
		}
		// The scheduling CAS: a claim binds the instance to the host only
		// while it is still scheduling.
		inst := newInstance("p1")
		s.CreateInstances(ctx, []cstore.NewInstance{{Instance: inst}}, nil, cstore.ActionStart{Action: "create", RequestID: "r"})
		c := cstore.Claim{Consumer: inst.UUID, NodeUUID: node.UUID, VCPUs: 1, MemoryMB: 512}
		got, err := s.ClaimInstance(ctx, c, "h1", "h1", cstore.Expect{Task: []states.Task{states.Scheduling}}, nil, nil)
		if err != nil || got.Host != "h1" {
			t.Fatalf("claim instance: %v %v", got, err)
		}
		// Deleting the instance frees its claim.
		s.DeleteInstance(ctx, inst.UUID, nil, "")
		if a, _ := s.Allocations(ctx, inst.UUID); len(a) != 0 {
			t.Fatalf("allocations left: %v", a)
		}
	})
}

func TestFlavorsKeypairsGroupsAggregates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		f := tiny
		f.ExtraSpecs = map[string]string{"hw:cpu_policy": "shared"}
		if err := s.CreateFlavor(ctx, &f); err != nil {
			t.Fatal(err)
		}
		dup := tiny
		dup.FlavorID = "x"
		if err := s.CreateFlavor(ctx, &dup); !fault.IsConflict(err) {
			t.Fatalf("duplicate name: %v", err)
		}
		priv := objects.Flavor{FlavorID: "p", Name: "private", MemoryMB: 1, VCPUs: 1, IsPublic: false}
		if err := s.CreateFlavor(ctx, &priv); err != nil {
			t.Fatal(err)
		}
		s.AddFlavorAccess(ctx, &priv, "p1")
		if err := s.AddFlavorAccess(ctx, &priv, "p1"); !fault.IsConflict(err) {
			t.Fatalf("duplicate access: %v", err)
		}
		pub := true
		l, _ := s.Flavors(ctx, cstore.FlavorFilter{IsPublic: &pub, ProjectID: "p1"})
		l2, _ := s.Flavors(ctx, cstore.FlavorFilter{IsPublic: &pub, ProjectID: "p2"})
		if len(l) != 2 || len(l2) != 1 {
			t.Fatalf("access lists: %d %d", len(l), len(l2))
		}
		s.SetExtraSpecs(ctx, "1", map[string]string{"hw:cpu_policy": "dedicated", "k": "v"})
		got, _ := s.Flavor(ctx, "1")
		if got.ExtraSpecs["hw:cpu_policy"] != "dedicated" || got.ExtraSpecs["k"] != "v" {
			t.Fatalf("extra specs: %v", got.ExtraSpecs)
		}
		if err := s.DeleteExtraSpec(ctx, "1", "nope"); !fault.IsNotFound(err) {
			t.Fatalf("delete missing spec: %v", err)
		}
		if err := s.DeleteFlavor(ctx, "1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Flavor(ctx, "1"); !fault.IsNotFound(err) {
			t.Fatalf("deleted flavor: %v", err)
		}

		k := &objects.Keypair{Name: "k1", UserID: "u1", Fingerprint: "fp", PublicKey: "ssh-rsa AAA", Type: "ssh"}
		if err := s.CreateKeypair(ctx, k, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateKeypair(ctx, &objects.Keypair{Name: "k2", UserID: "u1", Type: "ssh"}, 1); !fault.Is(err, 403) {
			t.Fatalf("keypair quota: %v", err)
		}
		if err := s.CreateKeypair(ctx, &objects.Keypair{Name: "k1", UserID: "u1", Type: "ssh"}, -1); !fault.IsConflict(err) {
			t.Fatalf("duplicate keypair: %v", err)
		}

		g := &objects.ServerGroup{UUID: uuid.NewString(), Name: "g", ProjectID: "p1", UserID: "u1", Policy: "anti-affinity", Rules: map[string]any{"max_server_per_host": 2}}
		if err := s.CreateServerGroup(ctx, g, 1, -1); err != nil {
			t.Fatal(err)
		}
		g2 := &objects.ServerGroup{UUID: uuid.NewString(), Name: "g2", ProjectID: "p1", UserID: "u1", Policy: "affinity"}
		if err := s.CreateServerGroup(ctx, g2, 1, -1); err == nil {
			t.Fatal("server group quota not enforced")
		}
		got2, err := s.ServerGroup(ctx, g.UUID)
		if err != nil || got2.MaxServerPerHost() != 2 {
			t.Fatalf("group: %+v %v", got2, err)
		}
		if err := s.DeleteServerGroup(ctx, g.UUID); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateServerGroup(ctx, g2, 1, -1); err != nil {
			t.Fatalf("quota not released: %v", err)
		}

		a := &objects.Aggregate{UUID: uuid.NewString(), Name: "agg", Metadata: map[string]string{"availability_zone": "az1"}}
		if err := s.CreateAggregate(ctx, a); err != nil {
			t.Fatal(err)
		}
		s.AddAggregateHost(ctx, a.ID, "h1")
		if err := s.DeleteAggregate(ctx, a.ID); !fault.Is(err, 400) {
			t.Fatalf("delete non-empty aggregate: %v", err)
		}
		az := "az2"
		s.SetAggregateMetadata(ctx, a.ID, map[string]*string{"availability_zone": &az, "x": nil})
		got3, _ := s.Aggregate(ctx, a.ID)
		if got3.AvailabilityZone() != "az2" || len(got3.Hosts) != 1 {
			t.Fatalf("aggregate: %+v", got3)
		}
		s.RemoveAggregateHost(ctx, a.ID, "h1")
		if err := s.DeleteAggregate(ctx, a.ID); err != nil {
			t.Fatal(err)
		}

		sv, err := s.Heartbeat(ctx, "h1", "nova-compute", "compute", 1, true)
		if err != nil || sv.ReportCount != 1 {
			t.Fatalf("heartbeat: %+v %v", sv, err)
		}
		sv, _ = s.Heartbeat(ctx, "h1", "nova-compute", "compute", 1, true)
		if sv.ReportCount != 2 {
			t.Fatalf("report count %d", sv.ReportCount)
		}
		yes := true
		sv, err = s.UpdateService(ctx, sv.ID, cstore.ServiceUpdate{ForcedDown: &yes})
		if err != nil || !sv.ForcedDown {
			t.Fatalf("force down: %+v %v", sv, err)
		}
		if _, err := s.Service(ctx, sv.UUID); err != nil {
			t.Fatal(err)
		}

		m := &objects.Migration{UUID: uuid.NewString(), InstanceUUID: "i", Status: "pre-migrating", MigrationType: "resize"}
		if err := s.CreateMigration(ctx, m); err != nil {
			t.Fatal(err)
		}
		st := "finished"
		if _, err := s.UpdateMigration(ctx, m.UUID, cstore.MigrationUpdate{Status: &st, ExpectStatus: []string{"pre-migrating"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateMigration(ctx, m.UUID, cstore.MigrationUpdate{Status: &st, ExpectStatus: []string{"pre-migrating"}}); !fault.IsConflict(err) {
			t.Fatalf("migration CAS: %v", err)
		}
		ms, _ := s.Migrations(ctx, cstore.MigrationFilter{InstanceUUID: "i"})
		if len(ms) != 1 || ms[0].Status != "finished" {
			t.Fatalf("migrations: %v", ms)
		}
	})
}

// A Save that gives quota back does it in its own transaction and only for
// positive amounts; a Save that fails its compare-and-swap gives nothing.
func TestSaveReleasesQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		inst := newInstance("pq")
		if err := s.Reserve(ctx, &cstore.Reservation{ProjectID: "pq", UserID: "u1", Deltas: map[string]int{"ram": 4096, "cores": 2}}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateInstances(ctx, []cstore.NewInstance{{Instance: inst}}, nil,
			cstore.ActionStart{Action: "create", RequestID: "req-q", UserID: "u1", ProjectID: "pq"}); err != nil {
			t.Fatal(err)
		}
		active := states.Active
		bad := cstore.Save{UUID: inst.UUID, Update: cstore.Update{VMState: &active}, Expect: cstore.Expect{VM: []states.VM{states.Resized}},
			Release: map[string]int{"ram": 1024}}
		if _, err := s.Save(ctx, bad); err == nil {
			t.Fatal("a save from the wrong state succeeded")
		}
		good := cstore.Save{UUID: inst.UUID, Update: cstore.Update{VMState: &active}, Expect: cstore.Expect{VM: []states.VM{states.Building}},
			Release: map[string]int{"ram": 1024, "cores": -1}}
		if _, err := s.Save(ctx, good); err != nil {
			t.Fatal(err)
		}
		for _, user := range []string{"", "u1"} {
			u, err := s.Usage(ctx, "pq", user)
			if err != nil {
				t.Fatal(err)
			}
			if u["ram"] != 3072 || u["cores"] != 2 {
				t.Fatalf("usage of %q: %v", user, u)
			}
		}
	})
}

// Deleting an instance in the middle of a resize gives back the growth the
// resize reserved with its flavor's usage (a delete overrides the resize's
// task, so no one else ever will), and in VERIFY_RESIZE after a shrink the
// surplus of the old flavor.
func TestDeleteMidResizeReleasesAll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		small := tiny
		small.FlavorID, small.Name, small.MemoryMB, small.VCPUs = "2", "m1.small", 2048, 2
		for _, tc := range []struct {
			name string
			u    cstore.Update
			held map[string]int
		}{
			{"growing", cstore.Update{NewFlavor: &small}, map[string]int{"ram": 2048, "cores": 2}},
			{"shrunk", cstore.Update{Flavor: &tiny, OldFlavor: &small}, map[string]int{"ram": 2048, "cores": 2}},
		} {
			p := "pd-" + tc.name
			inst := newInstance(p)
			if err := s.Reserve(ctx, &cstore.Reservation{ProjectID: p, UserID: "u1", Deltas: map[string]int{"instances": 1, "ram": tc.held["ram"], "cores": tc.held["cores"]}}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateInstances(ctx, []cstore.NewInstance{{Instance: inst}}, nil,
				cstore.ActionStart{Action: "create", RequestID: "req-" + tc.name, UserID: "u1", ProjectID: p}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Save(ctx, cstore.Save{UUID: inst.UUID, Update: tc.u}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DeleteInstance(ctx, inst.UUID, nil, ""); err != nil {
				t.Fatal(err)
			}
			u, err := s.Usage(ctx, p, "")
			if err != nil {
				t.Fatal(err)
			}
			if u["ram"] != 0 || u["cores"] != 0 || u["instances"] != 0 {
				t.Errorf("%s: usage after the delete: %v", tc.name, u)
			}
		}
	})
}

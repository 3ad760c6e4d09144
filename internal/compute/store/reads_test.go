package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// TestListReads reads back what the list queries gather per instance (block
// device mappings, hosts, loads, group members, flavor access), with more
// ids than one IN list holds, on every engine.
func TestListReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		g := &objects.ServerGroup{UUID: uuid.NewString(), Name: "g", ProjectID: "p1", UserID: "u1", Policy: "anti-affinity"}
		if err := s.CreateServerGroup(ctx, g, -1, -1); err != nil {
			t.Fatal(err)
		}
		var insts []cstore.NewInstance
		for i, host := range []string{"h1", "h1", "h2"} {
			inst := newInstance("p1")
			inst.Host, inst.Node = host, host
			boot, size := 0, 3
			bdm := objects.BDM{UUID: uuid.NewString(), InstanceUUID: inst.UUID, SourceType: "image", DestinationType: "local",
				BootIndex: &boot, ConnectionInfo: "{}"}
			vol := objects.BDM{UUID: uuid.NewString(), InstanceUUID: inst.UUID, SourceType: "blank", DestinationType: "volume",
				VolumeSize: &size, VolumeID: "v" + host}
			n := cstore.NewInstance{Instance: inst, BDMs: []objects.BDM{bdm, vol}}
			if i < 2 {
				n.GroupID = g.ID
			}
			insts = append(insts, n)
		}
		if err := s.CreateInstances(ctx, insts, nil, cstore.ActionStart{Action: "create", RequestID: "req-1", UserID: "u1", ProjectID: "p1"}); err != nil {
			t.Fatal(err)
		}
		// 1,200 unknown ids around the three: three IN lists.
		var ids []string
		for i := 0; i < 1200; i++ {
			ids = append(ids, uuid.NewString())
		}
		ids = append(ids[:600], append([]string{insts[0].Instance.UUID, insts[1].Instance.UUID}, ids[600:]...)...)
		ids = append(ids, insts[2].Instance.UUID)

		bdms, err := s.BDMs(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(bdms) != 3 {
			t.Fatalf("BDMs of %d instances, want 3", len(bdms))
		}
		for _, n := range insts {
			b := bdms[n.Instance.UUID]
			if len(b) != 2 || !b[0].IsRoot() || b[0].ConnectionInfo != "{}" || b[1].BootIndex != nil ||
				b[1].VolumeSize == nil || *b[1].VolumeSize != 3 || b[1].VolumeID != "v"+n.Instance.Host {
				t.Fatalf("BDMs of %s: %+v", n.Instance.Host, b)
			}
		}
		hosts, err := s.InstanceHosts(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(hosts) != 3 || hosts[insts[0].Instance.UUID] != "h1" || hosts[insts[2].Instance.UUID] != "h2" {
			t.Fatalf("instance hosts: %v", hosts)
		}
		loads, err := s.HostLoads(ctx, func(vm, task string) bool { return vm == string(states.Building) })
		if err != nil {
			t.Fatal(err)
		}
		h1 := loads[objects.HostNode{Host: "h1", Node: "h1"}]
		if len(loads) != 2 || h1 == nil || h1.Instances != 2 || h1.IOOps != 2 || h1.ByProject["p1"] != 2 {
			t.Fatalf("host loads: %+v", loads)
		}
		groups, err := s.ServerGroups(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 1 || len(groups[0].Members) != 2 {
			t.Fatalf("server groups: %+v", groups)
		}
		if groups, _ := s.ServerGroups(ctx, "p2"); len(groups) != 0 {
			t.Fatalf("another project's groups: %+v", groups)
		}

		priv := objects.Flavor{FlavorID: "p", Name: "private", MemoryMB: 1, VCPUs: 1}
		if err := s.CreateFlavor(ctx, &priv); err != nil {
			t.Fatal(err)
		}
		if access, err := s.FlavorAccess(ctx, "p"); err != nil || access == nil || len(access) != 0 {
			t.Fatalf("no access yet: %#v %v", access, err)
		}
		for _, p := range []string{"p2", "p1"} {
			if err := s.AddFlavorAccess(ctx, &priv, p); err != nil {
				t.Fatal(err)
			}
		}
		if access, err := s.FlavorAccess(ctx, "p"); err != nil || len(access) != 2 || access[0] != "p1" {
			t.Fatalf("access: %v %v", access, err)
		}
	})
}

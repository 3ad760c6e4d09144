package store

import (
	"context"
	"errors"
	"testing"

	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// TestQoSOnEveryEngine: QoS specs names are unique, keys merge and a
// missing key changes nothing, a type has one QoS specs, and associated
// specs are deleted only with force, which disassociates them.
func TestQoSOnEveryEngine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, sdb *pstore.DB) {
		ctx := context.Background()
		if _, err := sdb.Migrate(ctx, Migrations); err != nil {
			t.Fatal(err)
		}
		d := New(sdb)
		q := &QoS{Name: "gold", Consumer: "back-end", Specs: map[string]string{"read_iops_sec": "2000"}}
		if err := d.CreateQoS(ctx, q); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateQoS(ctx, &QoS{Name: "gold", Consumer: "both"}); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("duplicate name: %v", err)
		}
		other := &QoS{Name: "silver", Consumer: "front-end"}
		if err := d.CreateQoS(ctx, other); err != nil {
			t.Fatal(err)
		}
		fe := "front-end"
		got, err := d.UpdateQoS(ctx, q.ID, &fe, map[string]string{"iops_bytes": "500"}, nil)
		if err != nil || got.Consumer != fe || len(got.Specs) != 2 {
			t.Fatalf("update %+v %v", got, err)
		}
		var mk *MissingKeyError
		if _, err := d.UpdateQoS(ctx, q.ID, nil, nil, []string{"iops_bytes", "nope"}); !errors.As(err, &mk) || mk.Key != "nope" {
			t.Fatalf("remove a missing key: %v", err)
		}
		if got, _ := d.GetQoS(ctx, q.ID); got.Specs["iops_bytes"] != "500" || got.Consumer != fe {
			t.Fatalf("a refused removal changed the specs: %+v", got)
		}
		if _, err := d.UpdateQoS(ctx, q.ID, nil, nil, []string{"iops_bytes"}); err != nil {
			t.Fatal(err)
		}
		if all, err := d.ListQoS(ctx); err != nil || len(all) != 2 || all[0].ID != q.ID || len(all[0].Specs) != 1 || len(all[1].Specs) != 0 {
			t.Fatalf("list %v %v", all, err)
		}

		typ := &Type{Name: "fast", IsPublic: true}
		if err := d.CreateType(ctx, typ); err != nil {
			t.Fatal(err)
		}
		if err := d.AssociateQoS(ctx, q.ID, typ.ID); err != nil {
			t.Fatal(err)
		}
		if err := d.AssociateQoS(ctx, q.ID, typ.ID); err != nil {
			t.Fatalf("associate again: %v", err)
		}
		if err := d.AssociateQoS(ctx, other.ID, typ.ID); !errors.Is(err, ErrAssociated) {
			t.Fatalf("a second qos specs for the type: %v", err)
		}
		if err := d.AssociateQoS(ctx, q.ID, "missing"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown type: %v", err)
		}
		if ts, err := d.QoSTypes(ctx, q.ID); err != nil || len(ts) != 1 || ts[0].ID != typ.ID {
			t.Fatalf("associations %v %v", ts, err)
		}
		if got, _ := d.GetType(ctx, typ.ID); got.QoSSpecsID != q.ID {
			t.Fatalf("type's qos_specs_id %q", got.QoSSpecsID)
		}
		if err := d.DeleteQoS(ctx, q.ID, false); !errors.Is(err, ErrAssociated) {
			t.Fatalf("delete associated: %v", err)
		}
		if err := d.DisassociateQoS(ctx, q.ID, typ.ID); err != nil {
			t.Fatal(err)
		}
		if ts, _ := d.QoSTypes(ctx, q.ID); len(ts) != 0 {
			t.Fatalf("still associated %v", ts)
		}
		if err := d.AssociateQoS(ctx, q.ID, typ.ID); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteQoS(ctx, q.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetQoS(ctx, q.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted: %v", err)
		}
		if got, _ := d.GetType(ctx, typ.ID); got.QoSSpecsID != "" {
			t.Fatalf("force delete left the association %q", got.QoSSpecsID)
		}
	})
}

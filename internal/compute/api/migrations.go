package api

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) migrationView(r *rest.Request, m *objects.Migration, flavors map[string]int64, server bool) map[string]any {
	v := map[string]any{"id": m.ID, "source_node": m.SourceNode, "dest_node": m.DestNode, "source_compute": m.SourceCompute,
		"dest_compute": m.DestCompute, "dest_host": m.DestHost, "status": m.Status, "instance_uuid": m.InstanceUUID,
		"created_at": isoMicro(m.CreatedAt), "updated_at": isoMicro(m.UpdatedAt)}
	if server {
		v["server_uuid"] = m.InstanceUUID
		delete(v, "instance_uuid")
		for _, k := range []string{"memory_total", "memory_processed", "memory_remaining", "disk_total", "disk_processed", "disk_remaining"} {
			v[k] = nil
		}
		if m.MemoryTotal != nil {
			v["memory_total"], v["memory_processed"], v["memory_remaining"] = *m.MemoryTotal, *m.MemoryProcessed, *m.MemoryRemaining
		}
		delete(v, "dest_host")
	} else {
		v["old_instance_type_id"], v["new_instance_type_id"] = flavors[m.OldFlavorID], flavors[m.NewFlavorID]
		if r.Version.AtLeast(rest.V(2, 23)) {
			v["migration_type"] = m.MigrationType
			if m.MigrationType == objects.MigrationLive && slices.Contains([]string{"queued", "preparing", "running", "post-migrating"}, m.Status) {
				v["links"] = a.links(r, "servers/"+m.InstanceUUID+"/migrations", strconv.FormatInt(m.ID, 10))
			}
		}
	}
	if r.Version.AtLeast(rest.V(2, 59)) {
		v["uuid"] = m.UUID
	}
	if r.Version.AtLeast(rest.V(2, 80)) {
		v["user_id"], v["project_id"] = m.UserID, m.ProjectID
	}
	return v
}

func (a *API) flavorIDs(ctx context.Context) map[string]int64 {
	out := map[string]int64{}
	if fl, err := a.d.Store.Flavors(ctx, store.FlavorFilter{}); err == nil {
		for _, f := range fl {
			out[f.FlavorID] = f.ID
		}
	}
	return out
}

func (a *API) listMigrations(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	f := store.MigrationFilter{InstanceUUID: q.Get("instance_uuid"), Host: q.Get("host"), Status: q.Get("status"),
		SourceCompute: q.Get("source_compute")}
	if r.Version.AtLeast(rest.V(2, 23)) {
		f.MigrationType = q.Get("migration_type")
	}
	if r.Version.AtLeast(rest.V(2, 80)) {
		f.UserID, f.ProjectID = q.Get("user_id"), q.Get("project_id")
	}
	paged := r.Version.AtLeast(rest.V(2, 59))
	if paged {
		for _, p := range []struct {
			name string
			dst  *time.Time
			min  rest.Version
		}{{"changes-since", &f.ChangesSince, rest.V(2, 59)}, {"changes-before", &f.ChangesBefore, rest.V(2, 66)}} {
			if s := q.Get(p.name); s != "" && r.Version.AtLeast(p.min) {
				t, err := parseTime(p.name, s)
				if err != nil {
					return nil, err
				}
				*p.dst = t
			}
		}
		if !f.ChangesSince.IsZero() && !f.ChangesBefore.IsZero() && f.ChangesBefore.Before(f.ChangesSince) {
			return nil, fault.BadRequest("The value of changes-since must be less than or equal to changes-before.")
		}
	}
	ms, err := a.d.Store.Migrations(ctx, f)
	if err != nil {
		return nil, err
	}
	var page rest.Page
	if paged {
		if page, err = r.Page(a.cfg.API.MaxLimit, a.cfg.API.MaxLimit); err != nil {
			return nil, err
		}
		if page.Limit == 0 {
			page.Limit = a.cfg.API.MaxLimit
		}
		if ms, _, err = rest.PageOf(ms, page, func(m *objects.Migration) string { return m.UUID }); err != nil {
			return nil, fault.BadRequest("Marker %s could not be found.", page.Marker)
		}
	}
	flavors := a.flavorIDs(ctx)
	list := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		list = append(list, a.migrationView(r, m, flavors, false))
	}
	out := map[string]any{"migrations": list}
	if paged && len(ms) > 0 && len(ms) == page.Limit {
		out["migrations_links"] = a.nextLink(r, ms[len(ms)-1].UUID)
	}
	return out, nil
}

func (a *API) serverMigration(ctx context.Context, r *rest.Request) (*objects.Instance, *objects.Migration, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	m, err := a.d.Store.Migration(ctx, r.Param("migration_id"))
	if err != nil || m.InstanceUUID != inst.UUID {
		return nil, nil, fault.NotFound("Migration %s could not be found for instance %s.", r.Param("migration_id"), inst.UUID).WithType("MigrationNotFoundForInstance")
	}
	return inst, m, nil
}

func (a *API) listServerMigrations(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:migrations:index", inst); err != nil {
		return nil, err
	}
	ms, err := a.d.Store.Migrations(ctx, store.MigrationFilter{InstanceUUID: inst.UUID, MigrationType: objects.MigrationLive})
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, m := range ms {
		if slices.Contains([]string{"queued", "preparing", "running", "post-migrating"}, m.Status) {
			list = append(list, a.migrationView(r, m, nil, true))
		}
	}
	return map[string]any{"migrations": list}, nil
}

func (a *API) showServerMigration(ctx context.Context, r *rest.Request) (any, error) {
	inst, m, err := a.serverMigration(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:migrations:show", inst); err != nil {
		return nil, err
	}
	if m.MigrationType != objects.MigrationLive || !slices.Contains([]string{"queued", "preparing", "running", "post-migrating"}, m.Status) {
		return nil, fault.NotFound("In-progress live migration %d is not found for server %s.", m.ID, inst.UUID)
	}
	return map[string]any{"migration": a.migrationView(r, m, nil, true)}, nil
}

func (a *API) forceCompleteMigration(ctx context.Context, r *rest.Request) (any, error) {
	inst, m, err := a.serverMigration(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:migrations:force_complete", inst); err != nil {
		return nil, err
	}
	if err := states.Check(states.ActForceComplete, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	if m.Status != "running" {
		return nil, fault.BadRequest("Migration %d state of instance %s is %s. Cannot force_complete while the migration is in this state.", m.ID, inst.UUID, m.Status)
	}
	// The fake and QEMU drivers' migrations converge on their own.
	return nil, nil
}

func (a *API) abortMigration(ctx context.Context, r *rest.Request) (any, error) {
	inst, m, err := a.serverMigration(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:migrations:delete", inst); err != nil {
		return nil, err
	}
	if m.MigrationType != objects.MigrationLive {
		return nil, fault.BadRequest("Migration %d for instance %s is not a live migration.", m.ID, inst.UUID)
	}
	if !slices.Contains([]string{"queued", "preparing", "running"}, m.Status) {
		return nil, fault.BadRequest("Migration %d state of instance %s is %s. Cannot abort live migration while the migration is in this state.", m.ID, inst.UUID, m.Status)
	}
	return nil, fault.Conflict("Live migration %d of instance %s can no longer be aborted.", m.ID, inst.UUID)
}

// Simple tenant usage.

package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// mvRoutes are the APIs of microversions 3.8 (manageable volumes and
// snapshots) and 3.9 (backup update).
func (a *API) mvRoutes() []rest.Route {
	p := "/v3/{project_id}"
	v38, v39 := rest.V(3, 8), rest.V(3, 9)
	return []rest.Route{
		{Method: "GET", Path: p + "/manageable_volumes", Min: v38, Policy: "volume_extension:list_manageable", Handler: a.listManageable("manageable-volumes")},
		{Method: "GET", Path: p + "/manageable_volumes/detail", Min: v38, Policy: "volume_extension:list_manageable", Handler: a.listManageable("manageable-volumes")},
		{Method: "GET", Path: p + "/manageable_snapshots", Min: v38, Policy: "snapshot_extension:list_manageable", Handler: a.listManageable("manageable-snapshots")},
		{Method: "GET", Path: p + "/manageable_snapshots/detail", Min: v38, Policy: "snapshot_extension:list_manageable", Handler: a.listManageable("manageable-snapshots")},
		{Method: "PUT", Path: p + "/backups/{backup_id}", Min: v39, Status: http.StatusOK, Handler: a.updateBackup},
	}
}

func mvRules() []policy.Rule {
	return []policy.Rule{
		rule("volume_extension:list_manageable", ruleAdminAPI, "List volumes a backend could manage.", op("GET", "/manageable_volumes"), op("GET", "/manageable_volumes/detail")),
		rule("snapshot_extension:list_manageable", ruleAdminAPI, "List snapshots a backend could manage.", op("GET", "/manageable_snapshots"), op("GET", "/manageable_snapshots/detail")),
		rule("backup:update", projectMember, "Update a backup's name and description.", op("PUT", "/backups/{backup_id}")),
	}
}

// listManageable lists what a backend holds that Cinder does not and
// could take over (manage_existing). The host must be a volume service's;
// tenku's drivers manage nothing existing, so, as Cinder's base driver,
// they offer nothing.
func (a *API) listManageable(key string) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		q := r.HTTP.URL.Query()
		host, cluster := q.Get("host"), q.Get("cluster")
		if (host == "") == (cluster == "") {
			return nil, fault.BadRequest("Invalid input received: One and only one of cluster and host must be set.").WithType("InvalidInput")
		}
		if cluster != "" {
			return nil, clusterNotFound(cluster)
		}
		if _, err := parseSort(q, map[string]string{"size": "size", "reference": "reference"}); err != nil {
			return nil, err
		}
		if _, err := r.Page(a.opt.MaxLimit, a.opt.MaxLimit); err != nil {
			return nil, err
		}
		svcs, err := a.db.ListServices(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range svcs {
			if s.Binary != rpc.Binary || !hostMatches(host, s.Host) {
				continue
			}
			if !a.up(s) {
				return nil, fault.BadRequest("Service %s is unavailable at this time.", s.Host).WithType("ServiceUnavailable")
			}
			return map[string]any{key: []any{}}, nil
		}
		return nil, fault.NotFound("Service %s could not be found.", host).WithType("ServiceNotFound")
	}
}

// updateBackup (3.9) sets a backup's name and description; the answer is
// the backup's summary.
func (a *API) updateBackup(ctx context.Context, r *rest.Request) (any, error) {
	var body struct {
		Backup *struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
		} `json:"backup"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if body.Backup == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute backup. 'backup' is a required property")
	}
	if err := checkText("name", body.Backup.Name); err != nil {
		return nil, err
	}
	if err := checkText("description", body.Backup.Description); err != nil {
		return nil, err
	}
	b, err := a.getBackup(ctx, r, r.Param("backup_id"), "backup:update")
	if err != nil {
		return nil, err
	}
	var c store.BackupChange
	if body.Backup.Name != nil {
		c.Name = &body.Backup.Name
	}
	if body.Backup.Description != nil {
		c.Description = &body.Backup.Description
	}
	nb, err := a.db.UpdateBackup(ctx, b.ID, nil, c)
	if errors.Is(err, store.ErrNotFound) {
		return nil, backupNotFound(b.ID)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"backup": volume.BackupSummary{ID: nb.ID, Name: nb.Name, Links: a.links(r, nb.ProjectID, "backups", nb.ID)}}, nil
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

func (a *API) snapshotRoutes() []rest.Route {
	p := "/v3/{project_id}/snapshots"
	s := p + "/{snapshot_id}"
	return append([]rest.Route{
		{Method: "GET", Path: p, Policy: "volume:get_all_snapshots", Handler: a.listSnapshots(false)},
		{Method: "GET", Path: p + "/detail", Policy: "volume:get_all_snapshots", Handler: a.listSnapshots(true)},
		{Method: "POST", Path: p, Status: http.StatusAccepted, Handler: a.createSnapshot},
		{Method: "GET", Path: s, Handler: a.showSnapshot},
		{Method: "PUT", Path: s, Handler: a.updateSnapshot},
		{Method: "DELETE", Path: s, Status: http.StatusAccepted, Handler: a.deleteSnapshot},
		{Method: "POST", Path: s + "/action", Status: http.StatusAccepted, Handler: a.snapshotAction},
	}, metaRoutes(s, a.snapshotMeta())...)
}

func snapshotNotFound(id string) error {
	return fault.NotFound("Snapshot %s could not be found.", id).WithType("SnapshotNotFound")
}

// getSnapshot loads a snapshot the caller may see and checks rule on it.
func (a *API) getSnapshot(ctx context.Context, r *rest.Request, id, rule string) (*store.Snapshot, error) {
	s, err := a.db.GetSnapshot(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, snapshotNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if r.Auth != nil && s.ProjectID != r.Auth.ProjectID && !a.isAdmin(ctx, r.Auth) {
		return nil, snapshotNotFound(id)
	}
	return s, r.Enforce(ctx, rule, map[string]any{"project_id": s.ProjectID, "user_id": s.UserID, "id": s.ID})
}

func (a *API) snapshotMeta() metaOwner {
	return metaOwner{
		kind: "Snapshot", getRule: "volume:get_snapshot_metadata", updateRule: "volume:update_snapshot_metadata", deleteRule: "volume:delete_snapshot_metadata",
		load: func(ctx context.Context, r *rest.Request, rule string) (string, map[string]string, error) {
			s, err := a.getSnapshot(ctx, r, r.Param("snapshot_id"), rule)
			if err != nil {
				return "", nil, err
			}
			return s.ID, s.Metadata, nil
		},
		save: func(ctx context.Context, id string, md map[string]string) (map[string]string, error) {
			s, err := a.db.UpdateSnapshot(ctx, id, nil, store.SnapshotChange{Metadata: md})
			if errors.Is(err, store.ErrNotFound) {
				return nil, snapshotNotFound(id)
			}
			if err != nil {
				return nil, err
			}
			return s.Metadata, nil
		},
	}
}

// summary renders the fields every snapshot view has.
func (a *API) snapshotSummary(s *store.Snapshot) volume.Snapshot {
	out := volume.Snapshot{
		ID: s.ID, Name: s.Name, Description: s.Description, VolumeID: s.VolumeID, Status: s.Status,
		Size: s.Size, Metadata: s.Metadata, CreatedAt: fmtTime(s.CreatedAt),
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if !s.UpdatedAt.IsZero() {
		out.UpdatedAt = strp(fmtTime(s.UpdatedAt))
	}
	return out
}

// snapshotDetail adds what show and the detailed list have: the extended
// attributes for callers the policy allows, and later microversions'
// fields.
func (a *API) snapshotDetail(ctx context.Context, r *rest.Request, s *store.Snapshot) volume.Snapshot {
	out := a.snapshotSummary(s)
	if a.allowed(ctx, r.Auth, "volume_extension:extended_snapshot_attributes", s.ProjectID) {
		out.Progress, out.ProjectID = strp(s.Progress), strp(s.ProjectID)
	}
	if r.Version.AtLeast(rest.V(3, 41)) {
		out.UserID = strp(s.UserID)
	}
	if r.Version.AtLeast(rest.V(3, 65)) {
		t := true
		out.ConsumesQuota = &t
	}
	return out
}

func (a *API) listSnapshots(detail bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		q := r.HTTP.URL.Query()
		var f store.SnapshotFilter
		var err error
		if f.ProjectID, f.Name, f.Metadata, err = a.listScope(ctx, r); err != nil {
			return nil, err
		}
		f.Status = q.Get("status")
		if v := q.Get("volume_id"); v != "" {
			f.VolumeIDs = []string{v}
		}
		if f.Sort, err = parseSort(q, store.SnapshotSortColumns); err != nil {
			return nil, err
		}
		snaps, err := a.db.ListSnapshots(ctx, f)
		if err != nil {
			return nil, err
		}
		total := len(snaps)
		snaps, more, err := paginate(a, r, snaps, func(s *store.Snapshot) string { return s.ID })
		if err != nil {
			return nil, err
		}
		list := make([]volume.Snapshot, len(snaps))
		for i, s := range snaps {
			if detail {
				list[i] = a.snapshotDetail(ctx, r, s)
			} else {
				list[i] = a.snapshotSummary(s)
			}
		}
		out := map[string]any{"snapshots": list}
		if more && len(snaps) > 0 {
			out["snapshots_links"] = []volume.Link{{Href: r.NextURL(a.base(r), snaps[len(snaps)-1].ID), Rel: "next"}}
		}
		if r.Version.AtLeast(rest.V(3, 45)) {
			if wc, _ := truthy(q.Get("with_count")); wc {
				out["count"] = total
			}
		}
		return out, nil
	}
}

func (a *API) showSnapshot(ctx context.Context, r *rest.Request) (any, error) {
	s, err := a.getSnapshot(ctx, r, r.Param("snapshot_id"), "volume:get_snapshot")
	if err != nil {
		return nil, err
	}
	return map[string]any{"snapshot": a.snapshotDetail(ctx, r, s)}, nil
}

func (a *API) createSnapshot(ctx context.Context, r *rest.Request) (any, error) {
	var body volume.CreateSnapshot
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	b := body.Snapshot
	if b == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute snapshot. 'snapshot' is a required property")
	}
	if b.VolumeID == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute snapshot. 'volume_id' is a required property")
	}
	var volID *string
	if err := json.Unmarshal(b.VolumeID, &volID); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute volume_id. Value: %s. %s is not of type 'string', 'null'", b.VolumeID, b.VolumeID)
	}
	if volID == nil {
		// Cinder's schema lets null through and then finds no such volume.
		return nil, volumeNotFound("None")
	}
	if _, err := uuid.Parse(*volID); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute volume_id. Value: %s. '%s' is not a 'uuid'", *volID, *volID)
	}
	force := false
	if b.Force != nil {
		var ok bool
		if force, ok = boolish(b.Force); !ok {
			return nil, fault.BadRequest("Invalid input for field/attribute force. Value: %v. %v is not of type 'boolean', 'string'", b.Force, b.Force)
		}
	}
	name, desc, err := createText(b.Name, b.Description, b.DisplayName, b.DisplayDesc, b.Metadata)
	if err != nil {
		return nil, err
	}
	v, err := a.getVolume(ctx, r, *volID)
	if err != nil {
		return nil, err
	}
	if err := a.enforceVolume(ctx, r, "volume:create_snapshot", v); err != nil {
		return nil, err
	}
	if err := a.assertNotFrozen(ctx, v); err != nil {
		return nil, err
	}
	from := []volume.Status{volume.StatusAvailable}
	if force {
		from = append(from, volume.StatusInUse)
	}
	if !slices.Contains(from, v.Status) {
		return nil, invalidSnapshotVolume(v)
	}
	s := &store.Snapshot{
		ID: uuid.NewString(), ProjectID: r.Auth.ProjectID, UserID: r.Auth.UserID, VolumeID: v.ID, Name: name, Description: desc,
		Size: v.Size, Status: volume.SnapshotCreating, Progress: "0%", Metadata: maps.Clone(b.Metadata),
	}
	if s.Metadata == nil {
		s.Metadata = map[string]string{}
	}
	lim, err := a.limits(ctx, s.ProjectID, v.TypeID)
	if err != nil {
		return nil, err
	}
	if err := a.db.CreateSnapshotWithin(ctx, s, lim, from); err != nil {
		if qe := quotaFault(err); qe != nil {
			return nil, qe
		}
		if errors.Is(err, store.ErrState) {
			return nil, invalidSnapshotVolume(v)
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, volumeNotFound(v.ID)
		}
		return nil, err
	}
	args := rpc.SnapshotArgs{SnapshotID: s.ID, VolumeID: v.ID}
	if err := a.bus.Send(ctx, rpc.VolumeSubject(serviceHost(v.Host)), rpc.CreateSnapshot, args); err != nil {
		a.failSnapshot(ctx, s.ID, volume.SnapshotCreating, volume.SnapshotError, "could not reach the volume service: "+err.Error())
	}
	return map[string]any{"snapshot": a.snapshotSummary(s)}, nil
}

func invalidSnapshotVolume(v *store.Volume) error {
	return fault.BadRequest("Invalid volume: Volume %s status must be available, but current status is: %s.", v.ID, v.Status).WithType("InvalidVolume")
}

// failSnapshot moves a snapshot to an error state with a reason (best
// effort).
func (a *API) failSnapshot(ctx context.Context, id string, from, to volume.SnapshotStatus, reason string) {
	if _, err := a.db.UpdateSnapshot(context.WithoutCancel(ctx), id, []volume.SnapshotStatus{from}, store.SnapshotChange{Status: &to, ErrorReason: &reason}); err != nil {
		a.log.WarnContext(ctx, "snapshot state not recorded", "snapshot", id, "status", to, "err", err)
	} else {
		a.log.WarnContext(ctx, "snapshot failed", "snapshot", id, "status", to, "reason", reason)
	}
}

func (a *API) updateSnapshot(ctx context.Context, r *rest.Request) (any, error) {
	var body struct {
		Snapshot *struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
			DisplayName *string `json:"display_name"`
			DisplayDesc *string `json:"display_description"`
		} `json:"snapshot"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	u := body.Snapshot
	if u == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute snapshot. 'snapshot' is a required property")
	}
	name, desc, err := createText(u.Name, u.Description, u.DisplayName, u.DisplayDesc, nil)
	if err != nil {
		return nil, err
	}
	s, err := a.getSnapshot(ctx, r, r.Param("snapshot_id"), "volume:update_snapshot")
	if err != nil {
		return nil, err
	}
	var c store.SnapshotChange
	if name != nil {
		c.Name = &name
	}
	if desc != nil {
		c.Description = &desc
	}
	ns, err := a.db.UpdateSnapshot(ctx, s.ID, nil, c)
	if errors.Is(err, store.ErrNotFound) {
		return nil, snapshotNotFound(s.ID)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"snapshot": a.snapshotSummary(ns)}, nil
}

// snapshotDeletable are the states a snapshot may be deleted from without
// force.
var snapshotDeletable = []volume.SnapshotStatus{volume.SnapshotAvailable, volume.SnapshotError}

// snapshotStatuses are the states os-reset_status accepts.
var snapshotStatuses = []volume.SnapshotStatus{volume.SnapshotCreating, volume.SnapshotAvailable, volume.SnapshotDeleting,
	volume.SnapshotError, volume.SnapshotErrorDeleting, volume.SnapshotUpdating, volume.SnapshotUnmanaging,
	volume.SnapshotBackingUp, volume.SnapshotRestoring}

func (a *API) deleteSnapshot(ctx context.Context, r *rest.Request) (any, error) {
	s, err := a.getSnapshot(ctx, r, r.Param("snapshot_id"), "volume:delete_snapshot")
	if err != nil {
		return nil, err
	}
	if !slices.Contains(snapshotDeletable, s.Status) {
		return nil, invalidSnapshot(s)
	}
	if v, err := a.db.GetVolume(ctx, s.VolumeID); err == nil {
		if err := a.assertNotFrozen(ctx, v); err != nil {
			return nil, err
		}
	}
	return nil, a.startSnapshotDelete(ctx, s, snapshotDeletable)
}

func invalidSnapshot(s *store.Snapshot) error {
	return fault.BadRequest("Invalid snapshot: Volume Snapshot status must be available or error, it is %s.", s.Status).WithType("InvalidSnapshot")
}

// startSnapshotDelete moves a snapshot to deleting and asks its volume's
// service to remove it.
func (a *API) startSnapshotDelete(ctx context.Context, s *store.Snapshot, from []volume.SnapshotStatus) error {
	if err := a.db.StartDeleteSnapshot(ctx, s.ID, from); err != nil {
		if errors.Is(err, store.ErrSourceInUse) {
			return fault.BadRequest("Invalid snapshot: Snapshot %s is in use: a volume is being created from it.", s.ID).WithType("InvalidSnapshot")
		}
		if errors.Is(err, store.ErrState) {
			return invalidSnapshot(s)
		}
		if errors.Is(err, store.ErrNotFound) {
			return snapshotNotFound(s.ID)
		}
		return err
	}
	v, err := a.db.GetVolume(ctx, s.VolumeID)
	if err != nil {
		return err
	}
	if err := a.bus.Send(ctx, rpc.VolumeSubject(serviceHost(v.Host)), rpc.DeleteSnapshot, rpc.SnapshotArgs{SnapshotID: s.ID, VolumeID: s.VolumeID}); err != nil {
		a.failSnapshot(ctx, s.ID, volume.SnapshotDeleting, volume.SnapshotErrorDeleting, "could not reach the volume service: "+err.Error())
	}
	return nil
}

func (a *API) snapshotAction(ctx context.Context, r *rest.Request) (any, error) {
	action, arg, err := decodeAction(r)
	if err != nil {
		return nil, err
	}
	id := r.Param("snapshot_id")
	switch action {
	case "os-reset_status":
		s, err := a.getSnapshot(ctx, r, id, "volume_extension:snapshot_admin_actions:reset_status")
		if err != nil {
			return nil, err
		}
		var b struct {
			Status *string `json:"status"`
		}
		if err := json.Unmarshal(arg, &b); err != nil || b.Status == nil {
			return nil, fault.BadRequest("Invalid input for field/attribute os-reset_status. 'status' is a required property")
		}
		st := volume.SnapshotStatus(strings.ToLower(*b.Status))
		if !slices.Contains(snapshotStatuses, st) {
			return nil, fault.BadRequest("Invalid input received: Must specify a valid status, not %s.", *b.Status).WithType("InvalidInput")
		}
		reason := ""
		_, err = a.db.UpdateSnapshot(ctx, s.ID, nil, store.SnapshotChange{Status: &st, ErrorReason: &reason})
		return nil, err
	case "os-force_delete":
		s, err := a.getSnapshot(ctx, r, id, "volume_extension:snapshot_admin_actions:force_delete")
		if err != nil {
			return nil, err
		}
		// Any state, deleting included (the delete is sent again; the
		// volume service's delete is idempotent), as Cinder's force.
		return nil, a.startSnapshotDelete(ctx, s, snapshotStatuses)
	case "os-update_snapshot_status":
		return nil, a.updateSnapshotStatus(ctx, r, id, arg)
	}
	return nil, fault.BadRequest("There is no such action: %s", action)
}

// updateSnapshotStatus is the action Nova's assisted snapshots report
// progress with: a creating snapshot may become available or error, a
// deleting one error_deleting.
func (a *API) updateSnapshotStatus(ctx context.Context, r *rest.Request, id string, arg json.RawMessage) error {
	s, err := a.getSnapshot(ctx, r, id, "snapshot_extension:snapshot_actions:update_snapshot_status")
	if err != nil {
		return err
	}
	var b struct {
		Status   *string `json:"status"`
		Progress *string `json:"progress"`
	}
	if err := json.Unmarshal(arg, &b); err != nil || b.Status == nil {
		return fault.BadRequest("Invalid input for field/attribute os-update_snapshot_status. 'status' is a required property")
	}
	allowed := map[volume.SnapshotStatus][]volume.SnapshotStatus{
		volume.SnapshotCreating: {volume.SnapshotCreating, volume.SnapshotAvailable, volume.SnapshotError},
		volume.SnapshotDeleting: {volume.SnapshotDeleting, volume.SnapshotErrorDeleting},
	}
	st := volume.SnapshotStatus(*b.Status)
	if !slices.Contains(allowed[s.Status], st) {
		return fault.BadRequest("Invalid input received: Provided snapshot status %s not allowed for snapshot with status %s.", st, s.Status).WithType("InvalidInput")
	}
	c := store.SnapshotChange{Status: &st}
	if b.Progress != nil {
		c.Progress = b.Progress
	}
	if _, err := a.db.UpdateSnapshot(ctx, s.ID, []volume.SnapshotStatus{s.Status}, c); err != nil {
		if errors.Is(err, store.ErrState) {
			return fault.BadRequest("Invalid snapshot: the snapshot changed state; try again.").WithType("InvalidSnapshot")
		}
		return err
	}
	return nil
}

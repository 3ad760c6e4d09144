package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

func (a *API) backupRoutes() []rest.Route {
	// Backups are kept by the volume services (the volume service of a
	// volume's host is its backup service too).
	p := "/v3/{project_id}/backups"
	return []rest.Route{
		{Method: "GET", Path: p, Policy: "backup:get_all", Handler: a.listBackups(false)},
		{Method: "GET", Path: p + "/detail", Policy: "backup:get_all", Handler: a.listBackups(true)},
		{Method: "POST", Path: p, Status: http.StatusAccepted, Policy: "backup:create", Handler: a.createBackup},
		{Method: "GET", Path: p + "/{backup_id}", Handler: a.showBackup},
		{Method: "DELETE", Path: p + "/{backup_id}", Status: http.StatusAccepted, Handler: a.deleteBackup},
		{Method: "POST", Path: p + "/{backup_id}/restore", Status: http.StatusAccepted, Handler: a.restoreBackup},
		{Method: "POST", Path: p + "/{backup_id}/action", Status: http.StatusAccepted, Handler: a.backupAction},
		{Method: "GET", Path: p + "/{backup_id}/export_record", Policy: "backup:export-import", Handler: a.exportBackup},
		{Method: "POST", Path: p + "/import_record", Status: http.StatusCreated, Policy: "backup:backup-import", Handler: a.importBackup},
	}
}

func backupNotFound(id string) error {
	return fault.NotFound("Backup %s could not be found.", id).WithType("BackupNotFound")
}

func invalidBackup(format string, args ...any) error {
	return fault.BadRequest("Invalid backup: "+format, args...).WithType("InvalidBackup")
}

// getBackup loads a backup the caller may see and checks rule on it.
func (a *API) getBackup(ctx context.Context, r *rest.Request, id, rule string) (*store.Backup, error) {
	b, err := a.db.GetBackup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, backupNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if r.Auth != nil && b.ProjectID != r.Auth.ProjectID && !a.isAdmin(ctx, r.Auth) {
		return nil, backupNotFound(id)
	}
	if err := r.Enforce(ctx, rule, map[string]any{"project_id": b.ProjectID, "user_id": b.UserID, "id": b.ID}); err != nil {
		return nil, err
	}
	return b, nil
}

func (a *API) renderBackup(ctx context.Context, r *rest.Request, b *store.Backup, admin bool) volume.Backup {
	out := volume.Backup{
		ID: b.ID, Name: b.Name, Description: b.Description, Status: b.Status, Size: b.Size, ObjectCount: b.ObjectCount,
		Container: nilIfEmpty(b.Container), AvailabilityZone: nilIfEmpty(b.AvailabilityZone), CreatedAt: fmtTime(b.CreatedAt),
		FailReason: nilIfEmpty(b.FailReason), IsIncremental: b.Incremental, VolumeID: b.VolumeID, SnapshotID: nilIfEmpty(b.SnapshotID),
		Links: a.links(r, b.ProjectID, "backups", b.ID),
	}
	if !b.UpdatedAt.IsZero() {
		out.UpdatedAt = strp(fmtTime(b.UpdatedAt))
	}
	if !b.DataTimestamp.IsZero() {
		out.DataTimestamp = strp(fmtTime(b.DataTimestamp))
	}
	if dep, err := a.db.HasDependentBackups(ctx, b.ID); err == nil {
		out.HasDependentBackups = dep
	}
	if admin && r.Version.AtLeast(rest.V(3, 18)) {
		out.ProjectID = strp(b.ProjectID)
	}
	return out
}

func (a *API) listBackups(detail bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		q := r.HTTP.URL.Query()
		var f store.BackupFilter
		var err error
		if f.ProjectID, f.Name, _, err = a.listScope(ctx, r); err != nil {
			return nil, err
		}
		f.Status, f.VolumeID = q.Get("status"), q.Get("volume_id")
		if f.Sort, err = parseSort(q, store.BackupSortColumns); err != nil {
			return nil, err
		}
		backups, err := a.db.ListBackups(ctx, f)
		if err != nil {
			return nil, err
		}
		backups, more, err := paginate(a, r, backups, func(b *store.Backup) string { return b.ID })
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		if detail {
			admin := a.isAdmin(ctx, r.Auth)
			list := make([]volume.Backup, len(backups))
			for i, b := range backups {
				list[i] = a.renderBackup(ctx, r, b, admin)
			}
			out["backups"] = list
		} else {
			list := make([]volume.BackupSummary, len(backups))
			for i, b := range backups {
				list[i] = volume.BackupSummary{ID: b.ID, Name: b.Name, Links: a.links(r, b.ProjectID, "backups", b.ID)}
			}
			out["backups"] = list
		}
		if more && len(backups) > 0 {
			out["backups_links"] = []volume.Link{{Href: r.NextURL(a.base(r), backups[len(backups)-1].ID), Rel: "next"}}
		}
		return out, nil
	}
}

func (a *API) showBackup(ctx context.Context, r *rest.Request) (any, error) {
	b, err := a.getBackup(ctx, r, r.Param("backup_id"), "backup:get")
	if err != nil {
		return nil, err
	}
	return map[string]any{"backup": a.renderBackup(ctx, r, b, a.isAdmin(ctx, r.Auth))}, nil
}

func (a *API) backupLimits(ctx context.Context, project string) (store.BackupLimits, error) {
	q, err := a.quotaSet(ctx, project)
	if err != nil {
		return store.BackupLimits{}, err
	}
	return store.BackupLimits{Backups: q["backups"], Gigabytes: q["backup_gigabytes"]}, nil
}

func backupQuotaFault(err error) error {
	var qe *store.QuotaError
	if !errors.As(err, &qe) {
		return nil
	}
	if qe.Resource == "backups" {
		return fault.New(413, "BackupLimitExceeded: Maximum number of backups allowed (%d) exceeded", qe.Limit).WithType("BackupLimitExceeded")
	}
	return fault.New(413, "VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.", qe.Asked, qe.Limit, qe.InUse).WithType("VolumeBackupSizeExceedsAvailableQuota")
}

// createBackup is POST /backups: the volume (available, or in-use with
// force) and the quotas are checked, the backup row inserted (creating)
// and an available volume moved to backing-up in one transaction, then
// the volume's service takes the backup.
func (a *API) createBackup(ctx context.Context, r *rest.Request) (any, error) {
	var body volume.CreateBackup
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	in := body.Backup
	if in == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute backup. 'backup' is a required property")
	}
	if in.VolumeID == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute volume_id. 'volume_id' is a required property")
	}
	if _, err := uuid.Parse(*in.VolumeID); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute volume_id. Value: %s. '%s' is not a 'uuid'", *in.VolumeID, *in.VolumeID)
	}
	for field, s := range map[string]*string{"name": in.Name, "description": in.Description, "container": in.Container} {
		if err := checkText(field, s); err != nil {
			return nil, err
		}
	}
	flag := func(name string, v any) (bool, error) {
		if v == nil {
			return false, nil
		}
		b, ok := boolish(v)
		if !ok {
			return false, fault.BadRequest("Invalid input for field/attribute %s. Value: %v. It must be a boolean.", name, v)
		}
		return b, nil
	}
	incremental, err := flag("incremental", in.Incremental)
	if err != nil {
		return nil, err
	}
	force, err := flag("force", in.Force)
	if err != nil {
		return nil, err
	}
	v, err := a.getVolume(ctx, r, *in.VolumeID)
	if err != nil {
		return nil, err
	}
	if err := a.enforceVolume(ctx, r, "volume:get", v); err != nil {
		return nil, err
	}
	snap, err := a.backupSnapshot(ctx, r, v, in.SnapshotID)
	if err != nil {
		return nil, err
	}
	if v.Status != volume.StatusAvailable && v.Status != volume.StatusInUse {
		return nil, fault.BadRequest("Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"%s\".", v.Status).WithType("InvalidVolume")
	}
	if v.Status == volume.StatusInUse && !force && snap == nil {
		return nil, fault.BadRequest("Invalid volume: Backing up an in-use volume must use the force flag.").WithType("InvalidVolume")
	}
	b := &store.Backup{
		ID: uuid.NewString(), ProjectID: r.Auth.ProjectID, UserID: r.Auth.UserID, VolumeID: v.ID, Name: in.Name, Description: in.Description,
		Status: volume.BackupCreating, Size: v.Size, AvailabilityZone: v.AvailabilityZone, Host: v.Host, Incremental: incremental,
	}
	if snap != nil {
		// The snapshot's data, as of the snapshot (Cinder's data_timestamp).
		b.SnapshotID, b.Size, b.DataTimestamp = snap.ID, snap.Size, snap.CreatedAt
	}
	if in.Container != nil {
		b.Container = *in.Container
	}
	b.VolumeMeta = store.BackupVolumeMeta{Metadata: v.Metadata, ImageMetadata: v.ImageMetadata, Bootable: v.Bootable}
	parentData := ""
	if incremental {
		parent, err := a.db.LatestBackup(ctx, v.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalidBackup("No backups available to do an incremental backup.")
		}
		if err != nil {
			return nil, err
		}
		if serviceHost(parent.Host) != serviceHost(b.Host) {
			return nil, invalidBackup("The last backup of volume %s is kept by %s, not by the volume's service %s.", v.ID, serviceHost(parent.Host), serviceHost(b.Host))
		}
		b.ParentID = parent.ID
		parentData = parent.DataID
	}
	lim, err := a.backupLimits(ctx, b.ProjectID)
	if err != nil {
		return nil, err
	}
	// A backup of a snapshot reads the snapshot, which the store holds
	// backing-up; the volume keeps its status, as an attached one does.
	attached := v.Status == volume.StatusInUse || snap != nil
	volTo := volume.StatusBackingUp
	if attached {
		volTo = ""
	}
	if err := a.db.CreateBackupWithin(ctx, b, lim, []volume.Status{v.Status}, volTo); err != nil {
		if qe := backupQuotaFault(err); qe != nil {
			return nil, qe
		}
		if (errors.Is(err, store.ErrState) || errors.Is(err, store.ErrNotFound)) && snap != nil {
			return nil, fault.BadRequest("Invalid snapshot: the snapshot, the volume or its last backup changed state; try again.").WithType("InvalidSnapshot")
		}
		if errors.Is(err, store.ErrState) || errors.Is(err, store.ErrNotFound) {
			return nil, fault.BadRequest("Invalid volume: the volume or its last backup changed state; try again.").WithType("InvalidVolume")
		}
		return nil, err
	}
	args := rpc.BackupArgs{BackupID: b.ID, VolumeID: v.ID, SnapshotID: b.SnapshotID, ParentID: b.ParentID, ParentDataID: parentData, Attached: attached}
	if err := a.bus.Send(ctx, rpc.VolumeSubject(serviceHost(b.Host)), rpc.CreateBackup, args); err != nil {
		a.settleBackup(ctx, rpc.BackupUpdateArgs{BackupID: b.ID, From: []volume.BackupStatus{volume.BackupCreating}, Status: volume.BackupError,
			FailReason: "the backup service could not be reached", VolumeID: v.ID, VolumeFrom: []volume.Status{volume.StatusBackingUp}, VolumeStatus: volume.StatusAvailable})
		return nil, fault.Unavailable("The backup service could not be reached.")
	}
	return map[string]any{"backup": volume.BackupSummary{ID: b.ID, Name: b.Name, Links: a.links(r, b.ProjectID, "backups", b.ID)}}, nil
}

// backupSnapshot is the snapshot a backup is asked to read: it must be
// an available snapshot of the volume (Cinder's InvalidInput and
// InvalidSnapshot otherwise); nil when none is asked.
func (a *API) backupSnapshot(ctx context.Context, r *rest.Request, v *store.Volume, id *string) (*store.Snapshot, error) {
	if id == nil || *id == "" {
		return nil, nil
	}
	s, err := a.getSnapshot(ctx, r, *id, "volume:get_snapshot")
	if err != nil {
		return nil, err
	}
	if s.VolumeID != v.ID {
		return nil, fault.BadRequest("Invalid input received: Volume %s does not match snapshot %s's volume %s.", v.ID, s.ID, s.VolumeID).WithType("InvalidInput")
	}
	if s.Status != volume.SnapshotAvailable {
		return nil, fault.BadRequest("Invalid snapshot: Snapshot to be backed up must be available, but the current status is \"%s\".", s.Status).WithType("InvalidSnapshot")
	}
	return s, nil
}

func (a *API) deleteBackup(ctx context.Context, r *rest.Request) (any, error) {
	b, err := a.getBackup(ctx, r, r.Param("backup_id"), "backup:delete")
	if err != nil {
		return nil, err
	}
	return nil, a.startDeleteBackup(ctx, b, []volume.BackupStatus{volume.BackupAvailable, volume.BackupError})
}

func (a *API) startDeleteBackup(ctx context.Context, b *store.Backup, from []volume.BackupStatus) error {
	if !slices.Contains(from, b.Status) {
		return invalidBackup("Backup status must be available or error")
	}
	err := a.db.StartDeleteBackup(ctx, b.ID, from)
	switch {
	case errors.Is(err, store.ErrHasDependents):
		return invalidBackup("Incremental backups exist for this backup.")
	case errors.Is(err, store.ErrState):
		return invalidBackup("Backup status must be available or error")
	case errors.Is(err, store.ErrNotFound):
		return backupNotFound(b.ID)
	case err != nil:
		return err
	}
	if b.Host == "" {
		return a.db.DestroyBackup(ctx, b.ID)
	}
	shared, err := a.db.DataShared(ctx, b.ID, b.DataID)
	if err != nil {
		return err
	}
	if err := a.bus.Send(ctx, rpc.VolumeSubject(serviceHost(b.Host)), rpc.DeleteBackup, rpc.BackupArgs{BackupID: b.ID, DataID: b.DataID, KeepData: shared}); err != nil {
		a.log.WarnContext(ctx, "backup delete not sent; the sweep moves it to error_deleting", "backup", b.ID, "err", err)
	}
	return nil
}

// restoreBackup is POST /backups/{id}/restore: into an existing available
// volume at least as large, or into a new volume of the backup's size
// made on the backup's host.
func (a *API) restoreBackup(ctx context.Context, r *rest.Request) (any, error) {
	var body volume.RestoreBackup
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if body.Restore == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute restore. 'restore' is a required property")
	}
	b, err := a.getBackup(ctx, r, r.Param("backup_id"), "backup:restore")
	if err != nil {
		return nil, err
	}
	if b.Status != volume.BackupAvailable {
		return nil, invalidBackup("Backup status must be available")
	}
	in := body.Restore
	if in.VolumeID != nil && *in.VolumeID != "" {
		v, err := a.getVolume(ctx, r, *in.VolumeID)
		if err != nil {
			return nil, err
		}
		if err := a.enforceVolume(ctx, r, "volume:update", v); err != nil {
			return nil, err
		}
		if v.Status != volume.StatusAvailable {
			return nil, fault.BadRequest("Invalid volume: Volume to be restored to must be available").WithType("InvalidVolume")
		}
		if v.Size < b.Size {
			return nil, fault.BadRequest("Invalid volume: volume size %d is too small to restore backup of size %d.", v.Size, b.Size).WithType("InvalidVolume")
		}
		err = a.db.StartRestore(ctx, b.ID, v.ID)
		if errors.Is(err, store.ErrState) || errors.Is(err, store.ErrNotFound) {
			return nil, fault.BadRequest("Invalid input received: the backup or the volume changed state; try again.").WithType("InvalidInput")
		}
		if err != nil {
			return nil, err
		}
		if err := a.bus.Send(ctx, rpc.VolumeSubject(serviceHost(v.Host)), rpc.RestoreBackup, rpc.BackupArgs{BackupID: b.ID, DataID: b.DataID, VolumeID: v.ID}); err != nil {
			a.settleBackup(ctx, rpc.BackupUpdateArgs{BackupID: b.ID, From: []volume.BackupStatus{volume.BackupRestoring}, Status: volume.BackupAvailable,
				VolumeID: v.ID, VolumeFrom: []volume.Status{volume.StatusRestoringBackup}, VolumeStatus: volume.StatusAvailable})
			return nil, fault.Unavailable("The backup service could not be reached.")
		}
		name := ""
		if v.Name != nil {
			name = *v.Name
		}
		return map[string]any{"restore": volume.Restore{BackupID: b.ID, VolumeID: v.ID, VolumeName: name}}, nil
	}
	return a.restoreToNew(ctx, r, b, in.Name)
}

func (a *API) restoreToNew(ctx context.Context, r *rest.Request, b *store.Backup, name *string) (any, error) {
	if err := r.Enforce(ctx, "volume:create", map[string]any{"project_id": r.Auth.ProjectID}); err != nil {
		return nil, err
	}
	n := "restore_backup_" + b.ID
	if name != nil && *name != "" {
		n = *name
	}
	if err := checkText("name", &n); err != nil {
		return nil, err
	}
	src, err := a.db.GetVolume(ctx, b.VolumeID)
	var srcVol *store.Volume
	if err == nil {
		srcVol = src
	}
	vt, err := a.volumeType(ctx, r, nil, srcVol)
	if err != nil {
		return nil, err
	}
	v := &store.Volume{
		ID: uuid.NewString(), ProjectID: r.Auth.ProjectID, UserID: r.Auth.UserID, Name: &n, Size: b.Size, Status: volume.StatusCreating,
		AttachStatus: volume.Detached, AvailabilityZone: b.AvailabilityZone, TypeID: vt.ID, Metadata: map[string]string{},
	}
	if v.AvailabilityZone == "" {
		v.AvailabilityZone = a.opt.DefaultAZ
	}
	lim, err := a.limits(ctx, v.ProjectID, v.TypeID)
	if err != nil {
		return nil, err
	}
	if err := a.db.CreateVolumeWithin(ctx, v, lim); err != nil {
		if qe := quotaFault(err); qe != nil {
			return nil, qe
		}
		return nil, err
	}
	if err := a.db.StartRestoreNew(ctx, b.ID, v.ID); err != nil {
		a.db.DestroyVolume(context.WithoutCancel(ctx), v.ID, nil)
		if errors.Is(err, store.ErrState) {
			return nil, invalidBackup("Backup status must be available")
		}
		return nil, err
	}
	args := rpc.CreateArgs{VolumeID: v.ID, Size: v.Size, AvailabilityZone: v.AvailabilityZone, ExtraSpecs: vt.ExtraSpecs, BackupID: b.ID, BackupDataID: b.DataID, SourceHost: b.Host}
	if err := a.bus.Send(ctx, rpc.SchedulerSubject, rpc.CreateVolume, args); err != nil {
		a.settleBackup(ctx, rpc.BackupUpdateArgs{BackupID: b.ID, From: []volume.BackupStatus{volume.BackupRestoring}, Status: volume.BackupAvailable,
			VolumeID: v.ID, VolumeFrom: []volume.Status{volume.StatusCreating}, VolumeStatus: volume.StatusError, VolumeReason: "could not reach the scheduler"})
		return nil, fault.Unavailable("The volume scheduler could not be reached.")
	}
	return map[string]any{"restore": volume.Restore{BackupID: b.ID, VolumeID: v.ID, VolumeName: n}}, nil
}

// backupAction is os-reset_status and os-force_delete.
func (a *API) backupAction(ctx context.Context, r *rest.Request) (any, error) {
	action, arg, err := decodeAction(r)
	if err != nil {
		return nil, err
	}
	switch action {
	case "os-reset_status":
		b, err := a.getBackup(ctx, r, r.Param("backup_id"), "volume_extension:backup_admin_actions:reset_status")
		if err != nil {
			return nil, err
		}
		var in struct {
			Status *string `json:"status"`
		}
		if err := json.Unmarshal(arg, &in); err != nil || in.Status == nil {
			return nil, fault.BadRequest("Invalid input for field/attribute status. 'status' is a required property")
		}
		st := volume.BackupStatus(*in.Status)
		if st != volume.BackupAvailable && st != volume.BackupError {
			return nil, fault.BadRequest("Invalid input for field/attribute status. Value: %s. '%s' is not one of ['available', 'error']", st, st)
		}
		if _, err := a.db.UpdateBackup(ctx, b.ID, nil, store.BackupChange{Status: &st}); err != nil {
			return nil, err
		}
		return nil, nil
	case "os-force_delete":
		b, err := a.getBackup(ctx, r, r.Param("backup_id"), "volume_extension:backup_admin_actions:force_delete")
		if err != nil {
			return nil, err
		}
		return nil, a.startDeleteBackup(ctx, b, []volume.BackupStatus{volume.BackupAvailable, volume.BackupError, volume.BackupCreating,
			volume.BackupRestoring, volume.BackupErrorDeleting, volume.BackupDeleting})
	}
	return nil, fault.BadRequest("There is no such action: %s", action)
}

// settleBackup records a backup's outcome and its volume's (the
// backup_update of the volume services, and the API's own rollbacks).
func (a *API) settleBackup(ctx context.Context, u rpc.BackupUpdateArgs) error {
	ctx = context.WithoutCancel(ctx)
	c := store.BackupChange{Status: &u.Status}
	if u.FailReason != "" || u.Status == volume.BackupAvailable {
		c.FailReason = &u.FailReason
	}
	if u.ObjectCount > 0 {
		c.ObjectCount = &u.ObjectCount
	}
	bk, err := a.db.UpdateBackup(ctx, u.BackupID, u.From, c)
	if err != nil && !errors.Is(err, store.ErrState) && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if errors.Is(err, store.ErrState) || errors.Is(err, store.ErrNotFound) {
		a.log.WarnContext(ctx, "backup moved on; its outcome is not recorded", "backup", u.BackupID, "status", u.Status)
	}
	if bk != nil {
		switch {
		case u.Status == volume.BackupError && slices.Contains(u.From, volume.BackupCreating):
			a.record(ctx, bk.ProjectID, resBackup, bk.ID, actBackupCreate, detBackupCreate)
		case u.Status == volume.BackupErrorDeleting:
			a.record(ctx, bk.ProjectID, resBackup, bk.ID, actBackupDelete, detBackupDelete)
		case slices.Contains(u.From, volume.BackupRestoring) && (u.VolumeStatus == volume.StatusErrorRestoring || u.VolumeStatus == volume.StatusError || u.VolumeReason != ""):
			a.record(ctx, bk.ProjectID, resBackup, bk.ID, actBackupRestore, detBackupRestore)
		}
	}
	if bk != nil && bk.SnapshotID != "" && slices.Contains(u.From, volume.BackupCreating) && u.Status != volume.BackupCreating {
		// The backup of a snapshot is over: the snapshot is free again.
		st := volume.SnapshotAvailable
		if _, err := a.db.UpdateSnapshot(ctx, bk.SnapshotID, []volume.SnapshotStatus{volume.SnapshotBackingUp}, store.SnapshotChange{Status: &st}); err != nil &&
			!errors.Is(err, store.ErrState) && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("snapshot of backup %s: %w", u.BackupID, err)
		}
		return nil
	}
	if u.VolumeStatus == "" || u.VolumeID == "" {
		return nil
	}
	vc := store.Change{Status: &u.VolumeStatus, ErrorReason: &u.VolumeReason}
	if u.VolumeStatus == volume.StatusAvailable && slices.Contains(u.VolumeFrom, volume.StatusCreating) {
		vc.Launched = true
	}
	if bk != nil && u.VolumeStatus == volume.StatusAvailable && slices.Contains(u.From, volume.BackupRestoring) {
		// A restored volume gets back what its source's records held, as
		// Cinder's backup metadata restore does: metadata merged over its
		// own, the image metadata and the bootable flag.
		if tv, err := a.db.GetVolume(ctx, u.VolumeID); err == nil {
			md := maps.Clone(tv.Metadata)
			maps.Copy(md, bk.VolumeMeta.Metadata)
			vc.Metadata = md
			if len(bk.VolumeMeta.ImageMetadata) > 0 {
				vc.ImageMetadata = bk.VolumeMeta.ImageMetadata
			}
			boot := bk.VolumeMeta.Bootable
			vc.Bootable = &boot
		}
	}
	if _, err := a.db.UpdateVolume(ctx, u.VolumeID, u.VolumeFrom, vc); err != nil && !errors.Is(err, store.ErrState) && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("volume of backup %s: %w", u.BackupID, err)
	}
	return nil
}

// hostBackups are the transitional backups a volume service settles on
// start: those it keeps (creating, deleting) and those restoring into
// one of its volumes.
func (a *API) hostBackups(ctx context.Context, host string, vols []*store.Volume) ([]rpc.HostBackup, error) {
	out := []rpc.HostBackup{}
	kept, err := a.db.ListBackups(ctx, store.BackupFilter{Host: host, Statuses: []volume.BackupStatus{volume.BackupCreating, volume.BackupDeleting}})
	if err != nil {
		return nil, err
	}
	for _, b := range kept {
		shared, err := a.db.DataShared(ctx, b.ID, b.DataID)
		if err != nil {
			return nil, err
		}
		out = append(out, rpc.HostBackup{ID: b.ID, VolumeID: b.VolumeID, Status: b.Status, DataID: b.DataID, KeepData: shared})
	}
	restoring, err := a.db.ListBackups(ctx, store.BackupFilter{Status: string(volume.BackupRestoring)})
	if err != nil {
		return nil, err
	}
	here := map[string]bool{}
	for _, v := range vols {
		here[v.ID] = true
	}
	for _, b := range restoring {
		if here[b.RestoreVolumeID] {
			out = append(out, rpc.HostBackup{ID: b.ID, VolumeID: b.VolumeID, Status: b.Status, RestoreVolumeID: b.RestoreVolumeID})
		}
	}
	return out, nil
}

// sweepBackups settles backups left in a transitional state longer than
// the timeouts (their volume service is gone): creating → error (the
// volume back to available), restoring → available (the target volume to
// error_restoring), deleting → error_deleting.
func (a *API) sweepBackups(ctx context.Context, now time.Time) {
	for _, s := range []struct {
		from  volume.BackupStatus
		after time.Duration
	}{
		{volume.BackupCreating, a.opt.CreateTimeout}, {volume.BackupRestoring, a.opt.CreateTimeout}, {volume.BackupDeleting, a.opt.DeleteTimeout},
	} {
		stuck, err := a.db.ListBackups(ctx, store.BackupFilter{Status: string(s.from), OlderThan: now.Add(-s.after)})
		if err != nil {
			if ctx.Err() == nil {
				a.log.WarnContext(ctx, "backup sweep failed", "err", err)
			}
			return
		}
		for _, b := range stuck {
			reason := fmt.Sprintf("the backup stayed %s longer than %s", s.from, s.after)
			u := rpc.BackupUpdateArgs{BackupID: b.ID, From: []volume.BackupStatus{s.from}, FailReason: reason}
			switch s.from {
			case volume.BackupCreating:
				u.Status, u.VolumeID, u.VolumeFrom, u.VolumeStatus = volume.BackupError, b.VolumeID, []volume.Status{volume.StatusBackingUp}, volume.StatusAvailable
			case volume.BackupRestoring:
				u.Status, u.FailReason = volume.BackupAvailable, ""
				u.VolumeID, u.VolumeFrom, u.VolumeStatus, u.VolumeReason = b.RestoreVolumeID, []volume.Status{volume.StatusRestoringBackup, volume.StatusCreating}, volume.StatusErrorRestoring, reason
			default:
				u.Status = volume.BackupErrorDeleting
			}
			a.log.WarnContext(ctx, "backup stuck; settled", "backup", b.ID, "from", s.from, "to", u.Status)
			if err := a.settleBackup(ctx, u); err != nil {
				a.log.WarnContext(ctx, "backup not settled", "backup", b.ID, "err", err)
			}
		}
	}
}

// backupService names tenku's posix repository in exported records, in
// Cinder's form (a driver class path).
const backupService = "cinder.backup.drivers.posix.PosixBackupDriver"

// backupRecord is what an exported backup record holds (base64 JSON, as
// Cinder's backup_url): enough to recreate the backup's row after a loss
// of the database, pointing at the same data.
type backupRecord struct {
	ID               string                 `json:"id"`
	VolumeID         string                 `json:"volume_id"`
	Name             *string                `json:"display_name"`
	Description      *string                `json:"display_description"`
	Size             int                    `json:"size"`
	ObjectCount      int                    `json:"object_count"`
	Container        string                 `json:"container,omitempty"`
	AvailabilityZone string                 `json:"availability_zone,omitempty"`
	Host             string                 `json:"host"`
	Incremental      bool                   `json:"is_incremental"`
	ParentID         string                 `json:"parent_id,omitempty"`
	DataID           string                 `json:"data_id"`
	DataTimestamp    string                 `json:"data_timestamp"`
	VolumeMeta       store.BackupVolumeMeta `json:"volume_metadata"`
}

func (a *API) exportBackup(ctx context.Context, r *rest.Request) (any, error) {
	b, err := a.getBackup(ctx, r, r.Param("backup_id"), "backup:export-import")
	if err != nil {
		return nil, err
	}
	if b.Status != volume.BackupAvailable {
		return nil, invalidBackup("Backup status must be available and not %s.", b.Status)
	}
	rec := backupRecord{ID: b.ID, VolumeID: b.VolumeID, Name: b.Name, Description: b.Description, Size: b.Size, ObjectCount: b.ObjectCount,
		Container: b.Container, AvailabilityZone: b.AvailabilityZone, Host: b.Host, Incremental: b.Incremental, ParentID: b.ParentID,
		DataID: b.DataID, DataTimestamp: b.DataTimestamp.UTC().Format(time.RFC3339Nano), VolumeMeta: b.VolumeMeta}
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return map[string]any{"backup-record": map[string]string{"backup_service": backupService, "backup_url": base64.StdEncoding.EncodeToString(raw)}}, nil
}

// importBackup recreates a backup from an exported record, in the
// caller's project: creating until the volume service that keeps the
// data finds it complete.
func (a *API) importBackup(ctx context.Context, r *rest.Request) (any, error) {
	var body struct {
		Record *struct {
			BackupService *string `json:"backup_service"`
			BackupURL     *string `json:"backup_url"`
		} `json:"backup-record"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if body.Record == nil || body.Record.BackupService == nil || body.Record.BackupURL == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute backup-record. 'backup_service' and 'backup_url' are required properties")
	}
	if *body.Record.BackupService != backupService {
		return nil, fault.NotFound("Service %s could not be found.", *body.Record.BackupService).WithType("ServiceNotFound")
	}
	raw, err := base64.StdEncoding.DecodeString(*body.Record.BackupURL)
	var rec backupRecord
	if err == nil {
		err = json.Unmarshal(raw, &rec)
	}
	if err != nil || rec.Host == "" || rec.VolumeID == "" {
		return nil, fault.BadRequest("Invalid input received: Can't parse backup record.").WithType("InvalidInput")
	}
	if _, err := uuid.Parse(rec.ID); err != nil {
		return nil, fault.BadRequest("Invalid input received: Can't parse backup record.").WithType("InvalidInput")
	}
	if rec.DataID == "" {
		rec.DataID = rec.ID
	}
	if _, err := uuid.Parse(rec.DataID); err != nil {
		return nil, fault.BadRequest("Invalid input received: Can't parse backup record.").WithType("InvalidInput")
	}
	ts, _ := time.Parse(time.RFC3339Nano, rec.DataTimestamp)
	b := &store.Backup{ID: rec.ID, ProjectID: r.Auth.ProjectID, UserID: r.Auth.UserID, VolumeID: rec.VolumeID, Name: rec.Name,
		Description: rec.Description, Status: volume.BackupCreating, Size: rec.Size, ObjectCount: rec.ObjectCount, Container: rec.Container,
		AvailabilityZone: rec.AvailabilityZone, Host: rec.Host, Incremental: rec.Incremental, ParentID: rec.ParentID, DataID: rec.DataID,
		DataTimestamp: ts, VolumeMeta: rec.VolumeMeta}
	if err := a.db.ImportBackup(ctx, b); errors.Is(err, store.ErrDuplicate) {
		return nil, invalidBackup("Backup already exists in database.")
	} else if err != nil {
		return nil, err
	}
	if err := a.bus.Send(ctx, rpc.VolumeSubject(serviceHost(b.Host)), rpc.ImportBackup, rpc.BackupArgs{BackupID: b.ID, DataID: b.DataID}); err != nil {
		a.settleBackup(ctx, rpc.BackupUpdateArgs{BackupID: b.ID, From: []volume.BackupStatus{volume.BackupCreating}, Status: volume.BackupError,
			FailReason: "the backup service could not be reached"})
		return nil, fault.Unavailable("The backup service could not be reached.")
	}
	return map[string]any{"backup": volume.BackupSummary{ID: b.ID, Name: b.Name, Links: a.links(r, b.ProjectID, "backups", b.ID)}}, nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Backup is a row of backups.
type Backup struct {
	ID               string
	ProjectID        string
	UserID           string
	VolumeID         string
	Name             *string
	Description      *string
	Status           volume.BackupStatus
	Size             int
	ObjectCount      int
	Container        string
	AvailabilityZone string
	Host             string
	FailReason       string
	Incremental      bool
	ParentID         string
	RestoreVolumeID  string
	// DataID names the repository directory of the backup's data (empty:
	// the backup's own id).
	DataID string
	// SnapshotID is the snapshot the backup read (empty: the volume).
	SnapshotID string
	// VolumeMeta is what the volume's records held when it was backed
	// up.
	VolumeMeta    BackupVolumeMeta
	DataTimestamp time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const backupCols = "id, project_id, user_id, volume_id, name, description, status, size, object_count, container, availability_zone, " +
	"host, fail_reason, is_incremental, parent_id, restore_volume_id, volume_metadata, data_timestamp, created_at, updated_at, data_id, snapshot_id"

func scanBackup(sc interface{ Scan(...any) error }) (*Backup, error) {
	var (
		b                                      Backup
		name, desc                             sql.NullString
		container, az, host, reason, par, rest store.NullString
		status                                 string
		ts, created, updated                   store.Time
		meta                                   sql.NullString
		dataID, snapID                         store.NullString
	)
	err := sc.Scan(&b.ID, &b.ProjectID, &b.UserID, &b.VolumeID, &name, &desc, &status, &b.Size, &b.ObjectCount, &container, &az,
		&host, &reason, &b.Incremental, &par, &rest, &meta, &ts, &created, &updated, &dataID, &snapID)
	if err != nil {
		return nil, err
	}
	if meta.Valid && meta.String != "" {
		if err := json.Unmarshal([]byte(meta.String), &b.VolumeMeta); err != nil {
			return nil, fmt.Errorf("backup %s: volume_metadata: %w", b.ID, err)
		}
	}
	if name.Valid {
		b.Name = &name.String
	}
	if desc.Valid {
		b.Description = &desc.String
	}
	b.Status = volume.BackupStatus(status)
	b.Container, b.AvailabilityZone, b.Host, b.FailReason = string(container), string(az), string(host), string(reason)
	b.ParentID, b.RestoreVolumeID = string(par), string(rest)
	b.DataTimestamp, b.CreatedAt, b.UpdatedAt = ts.Time, created.Time, updated.Time
	b.DataID, b.SnapshotID = string(dataID), string(snapID)
	if b.DataID == "" {
		b.DataID = b.ID
	}
	return &b, nil
}

// BackupVolumeMeta is what a backup keeps of its volume's records, as
// Cinder's backup metadata does.
type BackupVolumeMeta struct {
	Metadata      map[string]string `json:"metadata,omitempty"`
	ImageMetadata map[string]string `json:"image_metadata,omitempty"`
	Bootable      bool              `json:"bootable,omitempty"`
}

// BackupLimits are a project's backup quotas; negative is unlimited.
type BackupLimits struct {
	Backups, Gigabytes int64
}

// BackupUsage counts a project's backups and their GiB.
func backupUsage(ctx context.Context, q store.Querier, project string) (n, gb int64, err error) {
	var g sql.NullInt64
	err = q.QueryRow(ctx, "SELECT COUNT(*), SUM(size) FROM backups WHERE deleted = ? AND project_id = ?", false, project).Scan(&n, &g)
	return n, g.Int64, err
}

// ProjectBackupUsage returns a project's backup count and GiB.
func (d *DB) ProjectBackupUsage(ctx context.Context, project string) (int64, int64, error) {
	return backupUsage(ctx, d.s, project)
}

// CreateBackupWithin inserts a backup if the project's backup quotas
// allow it, under the project's lock, and moves its volume from one of
// volFrom to volTo (empty: the volume's status stays, but the volume must
// be in volFrom) in the same transaction; a backup of a snapshot
// (SnapshotID) moves the snapshot of that volume from available to
// backing-up as well. A parent (ParentID) must be an
// available backup of the same volume. Refusals: *QuotaError, ErrState
// (the volume or parent moved on), ErrNotFound.
func (d *DB) CreateBackupWithin(ctx context.Context, b *Backup, l BackupLimits, volFrom []volume.Status, volTo volume.Status) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := d.lockProject(ctx, tx, b.ProjectID); err != nil {
			return err
		}
		n, gb, err := backupUsage(ctx, tx, b.ProjectID)
		if err != nil {
			return err
		}
		if l.Backups >= 0 && n+1 > l.Backups {
			return &QuotaError{Resource: "backups", Limit: l.Backups, InUse: n, Asked: 1}
		}
		if l.Gigabytes >= 0 && gb+int64(b.Size) > l.Gigabytes {
			return &QuotaError{Resource: "backup_gigabytes", Limit: l.Gigabytes, InUse: gb, Asked: int64(b.Size)}
		}
		if volTo == "" {
			if err := lockVolume(ctx, tx, b.VolumeID, volFrom); err != nil {
				return err
			}
		} else {
			in, a := store.In(volFrom)
			q := "UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status IN " + in
			if err := casRow(ctx, tx, "volumes", b.VolumeID, q, append([]any{string(volTo), store.TimeOf(store.Now()), b.VolumeID, false}, a...)); err != nil {
				return err
			}
		}
		if b.SnapshotID != "" {
			// A backup of a snapshot holds the snapshot backing-up; the
			// volume's status stays.
			q := "UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = ? AND volume_id = ? AND status = ?"
			if err := casRow(ctx, tx, "snapshots", b.SnapshotID, q, []any{string(volume.SnapshotBackingUp), store.TimeOf(store.Now()),
				b.SnapshotID, false, b.VolumeID, string(volume.SnapshotAvailable)}); err != nil {
				return err
			}
		}
		if b.ParentID != "" {
			q := "UPDATE backups SET updated_at = updated_at WHERE id = ? AND deleted = ? AND status IN (?)"
			if err := lockRow(ctx, tx, "backups", b.ParentID, q, []any{b.ParentID, false, string(volume.BackupAvailable)}); err != nil {
				return err
			}
		}
		if b.CreatedAt.IsZero() {
			b.CreatedAt = store.Now()
		}
		b.UpdatedAt = b.CreatedAt
		if b.DataTimestamp.IsZero() {
			b.DataTimestamp = b.CreatedAt
		}
		meta, err := json.Marshal(b.VolumeMeta)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO backups ("+backupCols+", deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			b.ID, b.ProjectID, b.UserID, b.VolumeID, nullStr(b.Name), nullStr(b.Description), string(b.Status), b.Size, b.ObjectCount,
			store.NullString(b.Container), store.NullString(b.AvailabilityZone), store.NullString(b.Host), store.NullString(b.FailReason),
			b.Incremental, store.NullString(b.ParentID), store.NullString(b.RestoreVolumeID), string(meta), store.TimeOf(b.DataTimestamp),
			store.TimeOf(b.CreatedAt), store.TimeOf(b.UpdatedAt), store.NullString(b.DataID), store.NullString(b.SnapshotID), false)
		if err != nil {
			if store.IsUnique(err) {
				return ErrDuplicate
			}
			return fmt.Errorf("create backup: %w", err)
		}
		return nil
	})
}

// GetBackup returns an undeleted backup.
func (d *DB) GetBackup(ctx context.Context, id string) (*Backup, error) {
	b, err := scanBackup(d.s.QueryRow(ctx, "SELECT "+backupCols+" FROM backups WHERE id = ? AND deleted = ?", id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get backup: %w", err)
	}
	return b, nil
}

// BackupFilter selects backups.
type BackupFilter struct {
	ProjectID string
	VolumeID  string
	Name      *string
	Status    string
	// Host selects backups kept by a volume service (host@backend, any
	// pool).
	Host      string
	ParentID  string
	Statuses  []volume.BackupStatus
	OlderThan time.Time
	Sort      []SortKey
}

// BackupSortColumns maps the API's sort keys to columns.
var BackupSortColumns = map[string]string{
	"id": "id", "name": "name", "display_name": "name", "size": "size", "status": "status", "created_at": "created_at",
	"updated_at": "updated_at", "volume_id": "volume_id", "project_id": "project_id", "availability_zone": "availability_zone",
	"data_timestamp": "data_timestamp",
}

// ListBackups returns the undeleted backups the filter selects.
func (d *DB) ListBackups(ctx context.Context, f BackupFilter) ([]*Backup, error) {
	where := []string{"deleted = ?"}
	args := []any{false}
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.ProjectID != "" {
		add("project_id = ?", f.ProjectID)
	}
	if f.VolumeID != "" {
		add("volume_id = ?", f.VolumeID)
	}
	if f.Name != nil {
		add("name = ?", *f.Name)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Host != "" {
		add("(host = ? OR host LIKE ?)", f.Host, f.Host+"#%")
	}
	if f.ParentID != "" {
		add("parent_id = ?", f.ParentID)
	}
	if len(f.Statuses) > 0 {
		in, a := store.In(f.Statuses)
		add("status IN "+in, a...)
	}
	if !f.OlderThan.IsZero() {
		add("updated_at < ?", store.TimeOf(f.OlderThan))
	}
	order, err := orderBy(f.Sort, BackupSortColumns)
	if err != nil {
		return nil, err
	}
	out, err := store.All(ctx, d.s, scanBackup, "SELECT "+backupCols+" FROM backups WHERE "+strings.Join(where, " AND ")+" ORDER BY "+order, args...)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	return out, nil
}

// BackupChange is what UpdateBackup sets; nil fields stay.
type BackupChange struct {
	Name            **string
	Description     **string
	Status          *volume.BackupStatus
	FailReason      *string
	ObjectCount     *int
	RestoreVolumeID *string
}

// UpdateBackup applies a change if the backup's status is one of from
// (any when empty): a compare-and-swap. Also moves the backup's volume
// (VolumeID; for a restore, the target) from volFrom to volTo when volTo
// is set, in the same transaction; a volume that moved on is ignored (the
// backup's own state decides).
func (d *DB) UpdateBackup(ctx context.Context, id string, from []volume.BackupStatus, c BackupChange) (*Backup, error) {
	cs := newChangeSet()
	cs.text(c.Name, c.Description)
	if c.Status != nil {
		cs.add("status", string(*c.Status))
	}
	if c.FailReason != nil {
		cs.add("fail_reason", store.NullString(*c.FailReason))
	}
	if c.ObjectCount != nil {
		cs.add("object_count", *c.ObjectCount)
	}
	if c.RestoreVolumeID != nil {
		cs.add("restore_volume_id", store.NullString(*c.RestoreVolumeID))
	}
	q, args := casUpdate("backups", cs, id, from)
	var out *Backup
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := casRow(ctx, tx, "backups", id, q, args); err != nil {
			return err
		}
		var err error
		out, err = scanBackup(tx.QueryRow(ctx, "SELECT "+backupCols+" FROM backups WHERE id = ?", id))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrState) {
			return nil, err
		}
		return nil, fmt.Errorf("update backup %s: %w", id, err)
	}
	return out, nil
}

// ErrHasDependents: an incremental backup builds on this one.
var ErrHasDependents = errors.New("incremental backups depend on this backup")

// StartDeleteBackup moves a backup from one of from to deleting, unless
// another live backup builds on it (ErrHasDependents).
func (d *DB) StartDeleteBackup(ctx context.Context, id string, from []volume.BackupStatus) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM backups WHERE parent_id = ? AND deleted = ?", id, false).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrHasDependents
		}
		in, a := store.In(from)
		q := "UPDATE backups SET status = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status IN " + in
		return casRow(ctx, tx, "backups", id, q, append([]any{string(volume.BackupDeleting), store.TimeOf(store.Now()), id, false}, a...))
	})
}

// HasDependentBackups reports whether live backups build on id.
func (d *DB) HasDependentBackups(ctx context.Context, id string) (bool, error) {
	var n int
	err := d.s.QueryRow(ctx, "SELECT COUNT(*) FROM backups WHERE parent_id = ? AND deleted = ?", id, false).Scan(&n)
	return n > 0, err
}

// DestroyBackup marks a deleting backup deleted.
func (d *DB) DestroyBackup(ctx context.Context, id string) error {
	now := store.TimeOf(store.Now())
	q := "UPDATE backups SET deleted = ?, deleted_at = ?, updated_at = ?, status = ? WHERE id = ? AND deleted = ? AND status = ?"
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		return casRow(ctx, tx, "backups", id, q, []any{true, now, now, "deleted", id, false, string(volume.BackupDeleting)})
	})
}

// LatestBackup returns the newest available backup of a volume (the
// parent of an incremental one), or ErrNotFound.
func (d *DB) LatestBackup(ctx context.Context, volumeID string) (*Backup, error) {
	b, err := scanBackup(d.s.QueryRow(ctx, "SELECT "+backupCols+" FROM backups WHERE volume_id = ? AND deleted = ? AND status = ? ORDER BY data_timestamp DESC, created_at DESC LIMIT 1",
		volumeID, false, string(volume.BackupAvailable)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return b, err
}

// StartRestore moves an available backup to restoring and the volume it
// restores to from available to restoring-backup, in one transaction.
func (d *DB) StartRestore(ctx context.Context, backupID, volumeID string) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		now := store.TimeOf(store.Now())
		q := "UPDATE backups SET status = ?, restore_volume_id = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status = ?"
		if err := casRow(ctx, tx, "backups", backupID, q, []any{string(volume.BackupRestoring), volumeID, now, backupID, false, string(volume.BackupAvailable)}); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		q = "UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status = ?"
		if err := casRow(ctx, tx, "volumes", volumeID, q, []any{string(volume.StatusRestoringBackup), now, volumeID, false, string(volume.StatusAvailable)}); err != nil {
			return fmt.Errorf("volume: %w", err)
		}
		return nil
	})
}

// StartRestoreNew moves an available backup to restoring into a new
// volume (still creating).
func (d *DB) StartRestoreNew(ctx context.Context, backupID, volumeID string) error {
	q := "UPDATE backups SET status = ?, restore_volume_id = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status = ?"
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		return casRow(ctx, tx, "backups", backupID, q, []any{string(volume.BackupRestoring), volumeID, store.TimeOf(store.Now()), backupID, false, string(volume.BackupAvailable)})
	})
}

// DataShared reports whether another live backup than id keeps its data
// in repository directory dataID.
func (d *DB) DataShared(ctx context.Context, id, dataID string) (bool, error) {
	var n int
	err := d.s.QueryRow(ctx, "SELECT COUNT(*) FROM backups WHERE deleted = ? AND id <> ? AND (data_id = ? OR (data_id IS NULL AND id = ?))", false, id, dataID, dataID).Scan(&n)
	return n > 0, err
}

// ImportBackup inserts a backup from an exported record (status
// creating), unless a live backup has its id (ErrDuplicate). A deleted
// row of that id is replaced, as Cinder recovers a deleted backup.
func (d *DB) ImportBackup(ctx context.Context, b *Backup) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		var deleted bool
		err := tx.QueryRow(ctx, "SELECT deleted FROM backups WHERE id = ?", b.ID).Scan(&deleted)
		switch {
		case err == nil && !deleted:
			return ErrDuplicate
		case err == nil:
			if _, err := tx.Exec(ctx, "DELETE FROM backups WHERE id = ?", b.ID); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		meta, err := json.Marshal(b.VolumeMeta)
		if err != nil {
			return err
		}
		now := store.Now()
		b.CreatedAt, b.UpdatedAt = now, now
		if b.DataTimestamp.IsZero() {
			b.DataTimestamp = now
		}
		_, err = tx.Exec(ctx, "INSERT INTO backups ("+backupCols+", deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			b.ID, b.ProjectID, b.UserID, b.VolumeID, nullStr(b.Name), nullStr(b.Description), string(b.Status), b.Size, b.ObjectCount,
			store.NullString(b.Container), store.NullString(b.AvailabilityZone), store.NullString(b.Host), store.NullString(b.FailReason),
			b.Incremental, store.NullString(b.ParentID), nil, string(meta), store.TimeOf(b.DataTimestamp),
			store.TimeOf(now), store.TimeOf(now), store.NullString(b.DataID), store.NullString(b.SnapshotID), false)
		if err != nil {
			return fmt.Errorf("import backup: %w", err)
		}
		return nil
	})
}

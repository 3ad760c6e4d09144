package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Snapshot is a snapshot row with its metadata.
type Snapshot struct {
	ID          string
	ProjectID   string
	UserID      string
	VolumeID    string
	Name        *string
	Description *string
	// Size is the volume's size when the snapshot was taken, in GiB.
	Size        int
	Status      volume.SnapshotStatus
	Progress    string
	ErrorReason string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Metadata    map[string]string
}

const snapCols = "id, project_id, user_id, volume_id, name, description, volume_size, status, progress, error_reason, created_at, updated_at"

func scanSnapshot(sc interface{ Scan(...any) error }) (*Snapshot, error) {
	var (
		s                Snapshot
		name, desc       sql.NullString
		reason           store.NullString
		status           string
		created, updated store.Time
	)
	if err := sc.Scan(&s.ID, &s.ProjectID, &s.UserID, &s.VolumeID, &name, &desc, &s.Size, &status, &s.Progress, &reason, &created, &updated); err != nil {
		return nil, err
	}
	if name.Valid {
		s.Name = &name.String
	}
	if desc.Valid {
		s.Description = &desc.String
	}
	s.Status, s.ErrorReason = volume.SnapshotStatus(status), string(reason)
	s.CreatedAt, s.UpdatedAt = created.Time, updated.Time
	s.Metadata = map[string]string{}
	return &s, nil
}

// lockVolume takes a volume's row lock until the transaction ends, if the
// volume is in one of from (any state when from is empty): snapshot
// creation and volume deletion both take it first, so that a volume never
// goes deleting while a snapshot of it is being made. A volume in another
// state is ErrState; a missing one ErrNotFound.
func lockVolume(ctx context.Context, tx *store.Tx, id string, from []volume.Status) error {
	q := "UPDATE volumes SET updated_at = updated_at WHERE id = ? AND deleted = ?"
	args := []any{id, false}
	if len(from) > 0 {
		in, a := store.In(from)
		q += " AND status IN " + in
		args = append(args, a...)
	}
	return lockRow(ctx, tx, "volumes", id, q, args)
}

// lockRow runs q, a no-op UPDATE of one row of table conditioned on its
// status (args: id, deleted, then the statuses), to hold the row's lock
// until the transaction ends. A row in another state is ErrState; a
// missing one ErrNotFound.
func lockRow(ctx context.Context, tx *store.Tx, table, id, q string, args []any) error {
	err := casRow(ctx, tx, table, id, q, args)
	if !errors.Is(err, ErrState) {
		return err
	}
	// MySQL counts only changed rows: a no-op UPDATE of a row in a wanted
	// state changes none, but the row is locked all the same.
	st, err := rowStatus(ctx, tx, table, id)
	if err != nil {
		return err
	}
	if len(args) == 2 || slices.ContainsFunc(args[2:], func(a any) bool { return fmt.Sprint(a) == st }) {
		return nil
	}
	return ErrState
}

// ErrSourceInUse: a volume is being created from the snapshot or volume,
// which may not be deleted until the copy ends.
var ErrSourceInUse = fault.BadRequest("a volume is being created from it")

// copying returns the id of a volume being created (status creating)
// from one of the snapshots or from volume volID (either may be empty),
// or "".
func copying(ctx context.Context, tx *store.Tx, snapIDs []string, volID string) (string, error) {
	conds, args := []string{}, []any{false, string(volume.StatusCreating)}
	if len(snapIDs) > 0 {
		in, a := store.In(snapIDs)
		conds, args = append(conds, "snapshot_id IN "+in), append(args, a...)
	}
	if volID != "" {
		conds, args = append(conds, "source_volid = ?"), append(args, volID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	var id string
	err := tx.QueryRow(ctx, "SELECT id FROM volumes WHERE deleted = ? AND status = ? AND ("+strings.Join(conds, " OR ")+") ORDER BY id", args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// CreateSnapshotWithin inserts a snapshot of a volume in one of volFrom if
// the project's snapshots and gigabytes quotas allow it, under the
// project's lock and the volume's. A refusal is a *QuotaError; a volume
// in another state ErrState.
func (d *DB) CreateSnapshotWithin(ctx context.Context, s *Snapshot, l Limits, volFrom []volume.Status) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := d.lockProject(ctx, tx, s.ProjectID); err != nil {
			return err
		}
		if err := lockVolume(ctx, tx, s.VolumeID, volFrom); err != nil {
			return err
		}
		if err := checkLimits(ctx, tx, s.ProjectID, l, Usage{Snapshots: 1, Gigabytes: int64(s.Size)}); err != nil {
			return err
		}
		if s.CreatedAt.IsZero() {
			s.CreatedAt = store.Now()
		}
		s.UpdatedAt = s.CreatedAt
		_, err := tx.Exec(ctx, "INSERT INTO snapshots ("+snapCols+", deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			s.ID, s.ProjectID, s.UserID, s.VolumeID, nullStr(s.Name), nullStr(s.Description), s.Size, string(s.Status), s.Progress,
			store.NullString(s.ErrorReason), store.TimeOf(s.CreatedAt), store.TimeOf(s.UpdatedAt), false)
		if err != nil {
			if store.IsUnique(err) {
				return ErrDuplicate
			}
			return fmt.Errorf("create snapshot: %w", err)
		}
		return putKV(ctx, tx, "snapshot_metadata", "snapshot_id", s.ID, s.Metadata)
	})
}

// GetSnapshot returns an undeleted snapshot.
func (d *DB) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	s, err := scanSnapshot(d.s.QueryRow(ctx, "SELECT "+snapCols+" FROM snapshots WHERE id = ? AND deleted = ?", id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get snapshot: %w", err)
	}
	return s, d.loadSnapMeta(ctx, []*Snapshot{s})
}

func (d *DB) loadSnapMeta(ctx context.Context, snaps []*Snapshot) error {
	byID := make(map[string]*Snapshot, len(snaps))
	for _, s := range snaps {
		byID[s.ID] = s
	}
	return d.loadKV(ctx, "snapshot_metadata", "snapshot_id", slices.Collect(maps.Keys(byID)), func(id, k, v string) { byID[id].Metadata[k] = v })
}

// SnapshotFilter selects snapshots for ListSnapshots.
type SnapshotFilter struct {
	// ProjectID limits the list to one project; empty means every project.
	ProjectID string
	Name      *string
	Status    string
	// VolumeIDs, when set, selects the snapshots of these volumes.
	VolumeIDs []string
	Metadata  map[string]string
	// Sort is a list of (column, desc) pairs; ListSnapshots adds id.
	Sort []SortKey
	// OlderThan selects snapshots last updated before it.
	OlderThan time.Time
}

// SnapshotSortColumns maps the API's sort keys to columns.
var SnapshotSortColumns = map[string]string{
	"id": "id", "name": "name", "display_name": "name", "size": "volume_size", "status": "status",
	"created_at": "created_at", "updated_at": "updated_at", "volume_id": "volume_id", "project_id": "project_id",
	"description": "description", "display_description": "description", "user_id": "user_id",
}

// ListSnapshots returns the undeleted snapshots the filter selects, sorted
// (newest first by default).
func (d *DB) ListSnapshots(ctx context.Context, f SnapshotFilter) ([]*Snapshot, error) {
	where := []string{"deleted = ?"}
	args := []any{false}
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.ProjectID != "" {
		add("project_id = ?", f.ProjectID)
	}
	if f.Name != nil {
		add("name = ?", *f.Name)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if len(f.VolumeIDs) > 0 {
		in, a := store.In(f.VolumeIDs)
		add("volume_id IN "+in, a...)
	}
	if !f.OlderThan.IsZero() {
		add("updated_at < ?", store.TimeOf(f.OlderThan))
	}
	for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		add("EXISTS (SELECT 1 FROM snapshot_metadata m WHERE m.snapshot_id = snapshots.id AND m.meta_key = ? AND m.meta_value = ?)", k, f.Metadata[k])
	}
	order, err := orderBy(f.Sort, SnapshotSortColumns)
	if err != nil {
		return nil, err
	}
	rows, err := d.s.Query(ctx, "SELECT "+snapCols+" FROM snapshots WHERE "+strings.Join(where, " AND ")+" ORDER BY "+order, args...)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []*Snapshot
	for rows.Next() {
		s, err := scanSnapshot(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, d.loadSnapMeta(ctx, out)
}

// SnapshotChange is what UpdateSnapshot sets; nil fields stay.
type SnapshotChange struct {
	Name        **string
	Description **string
	Status      *volume.SnapshotStatus
	Progress    *string
	ErrorReason *string
	Metadata    map[string]string
}

// UpdateSnapshot applies a change to a snapshot if its status is one of
// from (any status when from is empty): a compare-and-swap. A snapshot in
// another state is ErrState; a missing one ErrNotFound.
func (d *DB) UpdateSnapshot(ctx context.Context, id string, from []volume.SnapshotStatus, c SnapshotChange) (*Snapshot, error) {
	cs := newChangeSet()
	cs.text(c.Name, c.Description)
	if c.Status != nil {
		cs.add("status", string(*c.Status))
	}
	if c.Progress != nil {
		cs.add("progress", *c.Progress)
	}
	if c.ErrorReason != nil {
		cs.add("error_reason", store.NullString(*c.ErrorReason))
	}
	q, args := casUpdate("snapshots", cs, id, from)
	var out *Snapshot
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := casRow(ctx, tx, "snapshots", id, q, args); err != nil {
			return err
		}
		if c.Metadata != nil {
			if err := putKV(ctx, tx, "snapshot_metadata", "snapshot_id", id, c.Metadata); err != nil {
				return err
			}
		}
		var err error
		out, err = scanSnapshot(tx.QueryRow(ctx, "SELECT "+snapCols+" FROM snapshots WHERE id = ?", id))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrState) {
			return nil, err
		}
		return nil, fmt.Errorf("update snapshot %s: %w", id, err)
	}
	return out, d.loadSnapMeta(ctx, []*Snapshot{out})
}

// casRow runs a conditional UPDATE of one row of table; no row changed is
// ErrNotFound when the row is gone and ErrState otherwise.
func casRow(ctx context.Context, tx *store.Tx, table, id, q string, args []any) error {
	res, err := tx.Exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	if _, err := rowStatus(ctx, tx, table, id); err != nil {
		return err
	}
	return ErrState
}

// rowStatus is the status of a live row of table, or ErrNotFound.
func rowStatus(ctx context.Context, tx *store.Tx, table, id string) (string, error) {
	var st string
	err := tx.QueryRow(ctx, "SELECT status FROM "+table+" WHERE id = ? AND deleted = ?", id, false).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return st, err
}

// DestroySnapshot marks a snapshot deleted if its status is one of from.
func (d *DB) DestroySnapshot(ctx context.Context, id string, from []volume.SnapshotStatus) error {
	now := store.TimeOf(store.Now())
	q := "UPDATE snapshots SET deleted = ?, deleted_at = ?, updated_at = ?, status = ? WHERE id = ? AND deleted = ?"
	args := []any{true, now, now, "deleted", id, false}
	if len(from) > 0 {
		in, a := store.In(from)
		q += " AND status IN " + in
		args = append(args, a...)
	}
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := casRow(ctx, tx, "snapshots", id, q, args); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM snapshot_metadata WHERE snapshot_id = ?", id)
		return err
	})
}

// StartDeleteSnapshot moves a snapshot in one of from to deleting, unless
// a volume is being created from it (ErrSourceInUse).
func (d *DB) StartDeleteSnapshot(ctx context.Context, id string, from []volume.SnapshotStatus) error {
	st := volume.SnapshotDeleting
	q := "UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = ?"
	args := []any{string(st), store.TimeOf(store.Now()), id, false}
	if len(from) > 0 {
		in, a := store.In(from)
		q += " AND status IN " + in
		args = append(args, a...)
	}
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := casRow(ctx, tx, "snapshots", id, q, args); err != nil {
			return err
		}
		if v, err := copying(ctx, tx, []string{id}, ""); err != nil {
			return err
		} else if v != "" {
			return ErrSourceInUse
		}
		return nil
	})
}

// ErrHasSnapshots: the volume has snapshots, so it may not be deleted
// without cascade.
var ErrHasSnapshots = fault.BadRequest("the volume has snapshots")

// StartDeleteVolume moves a volume in one of from to deleting, under its
// row lock. Without cascade a volume with snapshots is ErrHasSnapshots;
// with cascade every snapshot must be available or error and moves to
// deleting too (ErrState otherwise), and their ids are returned. A volume
// that a volume is being created from, or one of whose snapshots is, is
// ErrSourceInUse.
func (d *DB) StartDeleteVolume(ctx context.Context, id string, from []volume.Status, cascade bool) ([]string, error) {
	var snaps []string
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		snaps = nil
		if err := lockVolume(ctx, tx, id, from); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT id, status FROM snapshots WHERE volume_id = ? AND deleted = ?", id, false)
		if err != nil {
			return err
		}
		var bad bool
		for rows.Next() {
			var sid, st string
			if err := rows.Scan(&sid, &st); err != nil {
				rows.Close()
				return err
			}
			snaps = append(snaps, sid)
			bad = bad || !slices.Contains([]volume.SnapshotStatus{volume.SnapshotAvailable, volume.SnapshotError}, volume.SnapshotStatus(st))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		switch {
		case len(snaps) > 0 && !cascade:
			return ErrHasSnapshots
		case bad:
			return ErrState
		}
		if v, err := copying(ctx, tx, snaps, id); err != nil {
			return err
		} else if v != "" {
			return ErrSourceInUse
		}
		now := store.TimeOf(store.Now())
		for _, sid := range snaps {
			if _, err := tx.Exec(ctx, "UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ?", string(volume.SnapshotDeleting), now, sid); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, "UPDATE volumes SET status = ?, updated_at = ? WHERE id = ?", string(volume.StatusDeleting), now, id)
		return err
	})
	return snaps, err
}

package store

import (
	"context"
	"database/sql"
	"embed"
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

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations is the block storage service's schema.
var Migrations = store.Migrations{Service: "volume", FS: migrationsFS, Dir: "migrations"}

// Errors the store returns.
var (
	ErrNotFound  = fault.NotFound("not found")
	ErrDuplicate = fault.Conflict("duplicate")
	// ErrState: the row is not in a state the change may leave.
	ErrState = fault.Conflict("state changed")
)

// DB is the block storage database.
type DB struct {
	s *store.DB
	// MessageTTL is how long user messages are kept (message_ttl).
	MessageTTL time.Duration
}

// New wraps a migrated database.
func New(s *store.DB) *DB { return &DB{s: s, MessageTTL: 30 * 24 * time.Hour} }

// Volume is a volume row with its metadata.
type Volume struct {
	ID               string
	ProjectID        string
	UserID           string
	Name             *string
	Description      *string
	Size             int
	Status           volume.Status
	AttachStatus     volume.AttachStatus
	AvailabilityZone string
	TypeID           string
	Host             string
	Bootable         bool
	Multiattach      bool
	SnapshotID       string
	SourceVolID      string
	ImageID          string
	ErrorReason      string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	LaunchedAt       time.Time
	Deleted          bool
	Metadata         map[string]string
	// ImageMetadata is what the volume records of the image it was made
	// from (volume_image_metadata), empty for other volumes.
	ImageMetadata map[string]string
}

const volCols = "id, project_id, user_id, name, description, size, status, attach_status, availability_zone, " +
	"volume_type_id, host, bootable, multiattach, snapshot_id, source_volid, image_id, error_reason, created_at, updated_at, launched_at, deleted"

func scanVolume(sc interface{ Scan(...any) error }) (*Volume, error) {
	var (
		v                            Volume
		name, desc                   sql.NullString
		host, snap, src, img, reason store.NullString
		status, attach               string
		created, updated             store.Time
		launched                     sql.Null[store.Time]
	)
	err := sc.Scan(&v.ID, &v.ProjectID, &v.UserID, &name, &desc, &v.Size, &status, &attach, &v.AvailabilityZone,
		&v.TypeID, &host, &v.Bootable, &v.Multiattach, &snap, &src, &img, &reason, &created, &updated, &launched, &v.Deleted)
	if err != nil {
		return nil, err
	}
	if name.Valid {
		v.Name = &name.String
	}
	if desc.Valid {
		v.Description = &desc.String
	}
	v.Host, v.SnapshotID, v.SourceVolID, v.ImageID, v.ErrorReason = string(host), string(snap), string(src), string(img), string(reason)
	v.Status, v.AttachStatus = volume.Status(status), volume.AttachStatus(attach)
	v.CreatedAt, v.UpdatedAt = created.Time, updated.Time
	if launched.Valid {
		v.LaunchedAt = launched.V.Time
	}
	v.Metadata, v.ImageMetadata = map[string]string{}, map[string]string{}
	return &v, nil
}

func nullStr(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return store.TimeOf(t)
}

// CreateVolume inserts a volume with its metadata.
func (d *DB) CreateVolume(ctx context.Context, v *Volume) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error { return createVolume(ctx, tx, v) })
}

// Limits are a project's quotas; a negative limit is unlimited.
type Limits struct {
	Volumes, Snapshots, Gigabytes, PerVolumeGigabytes int64
	// TypeID, when set, adds the quotas of one volume type (Cinder's
	// volumes_<type>, gigabytes_<type>, snapshots_<type>), counted over
	// the project's volumes of that type and their snapshots; TypeName
	// names them in a QuotaError.
	TypeID, TypeName                          string
	TypeVolumes, TypeSnapshots, TypeGigabytes int64
}

// QuotaError says which quota a change would exceed.
type QuotaError struct {
	Resource string
	Limit    int64
	InUse    int64
	Asked    int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("quota %s exceeded: %d of %d in use, %d asked", e.Resource, e.InUse, e.Limit, e.Asked)
}

// lockProject serialises quota checks of one project until the
// transaction ends (SQLite's single writer already does).
func (d *DB) lockProject(ctx context.Context, tx *store.Tx, project string) error {
	if d.s.Dialect == store.SQLite {
		return nil
	}
	if _, err := tx.Exec(ctx, d.s.InsertIgnore("quota_locks", []string{"project_id"}), project); err != nil {
		return err
	}
	var p string
	return tx.QueryRow(ctx, "SELECT project_id FROM quota_locks WHERE project_id = ? FOR UPDATE", project).Scan(&p)
}

// Usage is what a project holds: gigabytes count volumes and snapshots,
// as Cinder's gigabytes quota does.
type Usage struct {
	Volumes, Snapshots, Gigabytes int64
}

func usage(ctx context.Context, q store.Querier, project string) (Usage, error) {
	var u Usage
	var vg, sg sql.NullInt64
	if err := q.QueryRow(ctx, "SELECT COUNT(*), SUM(size) FROM volumes WHERE deleted = ? AND project_id = ?", false, project).Scan(&u.Volumes, &vg); err != nil {
		return u, err
	}
	if err := q.QueryRow(ctx, "SELECT COUNT(*), SUM(volume_size) FROM snapshots WHERE deleted = ? AND project_id = ?", false, project).Scan(&u.Snapshots, &sg); err != nil {
		return u, err
	}
	u.Gigabytes = vg.Int64 + sg.Int64
	return u, nil
}

// typeUsage is what a project holds of one volume type.
func typeUsage(ctx context.Context, q store.Querier, project, typeID string) (Usage, error) {
	var u Usage
	var vg, sg sql.NullInt64
	if err := q.QueryRow(ctx, "SELECT COUNT(*), SUM(size) FROM volumes WHERE deleted = ? AND project_id = ? AND volume_type_id = ?",
		false, project, typeID).Scan(&u.Volumes, &vg); err != nil {
		return u, err
	}
	if err := q.QueryRow(ctx, "SELECT COUNT(*), SUM(s.volume_size) FROM snapshots s JOIN volumes v ON v.id = s.volume_id "+
		"WHERE s.deleted = ? AND s.project_id = ? AND v.volume_type_id = ?", false, project, typeID).Scan(&u.Snapshots, &sg); err != nil {
		return u, err
	}
	u.Gigabytes = vg.Int64 + sg.Int64
	return u, nil
}

// over is the first of the limits a change exceeds (nil: none); the
// resources are named with suffix ("", or "_<type>").
func over(l, u, add Usage, suffix string) error {
	if add.Volumes > 0 && l.Volumes >= 0 && u.Volumes+add.Volumes > l.Volumes {
		return &QuotaError{Resource: "volumes" + suffix, Limit: l.Volumes, InUse: u.Volumes, Asked: add.Volumes}
	}
	if add.Snapshots > 0 && l.Snapshots >= 0 && u.Snapshots+add.Snapshots > l.Snapshots {
		return &QuotaError{Resource: "snapshots" + suffix, Limit: l.Snapshots, InUse: u.Snapshots, Asked: add.Snapshots}
	}
	if add.Gigabytes > 0 && l.Gigabytes >= 0 && u.Gigabytes+add.Gigabytes > l.Gigabytes {
		return &QuotaError{Resource: "gigabytes" + suffix, Limit: l.Gigabytes, InUse: u.Gigabytes, Asked: add.Gigabytes}
	}
	return nil
}

// checkLimits refuses a change that would take a project past a limit.
func checkLimits(ctx context.Context, tx *store.Tx, project string, l Limits, add Usage) error {
	if l.TypeID != "" {
		tu, err := typeUsage(ctx, tx, project, l.TypeID)
		if err != nil {
			return err
		}
		tl := Usage{Volumes: l.TypeVolumes, Snapshots: l.TypeSnapshots, Gigabytes: l.TypeGigabytes}
		if err := over(tl, tu, add, "_"+l.TypeName); err != nil {
			return err
		}
	}
	u, err := usage(ctx, tx, project)
	if err != nil {
		return err
	}
	return over(Usage{Volumes: l.Volumes, Snapshots: l.Snapshots, Gigabytes: l.Gigabytes}, u, add, "")
}

// CopyableSnapshot and CopyableVolume are the states a volume may be
// created from, as Cinder allows: an available snapshot, an available or
// in-use volume.
var (
	CopyableSnapshot = []volume.SnapshotStatus{volume.SnapshotAvailable}
	CopyableVolume   = []volume.Status{volume.StatusAvailable, volume.StatusInUse}
)

// CreateVolumeWithin inserts a volume if the project's quotas allow it:
// the check and the insert hold the project's lock, so concurrent creates
// never both pass the last unit. A refusal is a *QuotaError. A volume
// made from a snapshot (SnapshotID) or another volume (SourceVolID) also
// takes its source's row lock: a source in a state it may not be copied
// from (CopyableSnapshot, CopyableVolume) is ErrState, a missing one
// ErrNotFound.
func (d *DB) CreateVolumeWithin(ctx context.Context, v *Volume, l Limits) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := d.lockProject(ctx, tx, v.ProjectID); err != nil {
			return err
		}
		if v.SnapshotID != "" {
			in, a := store.In(CopyableSnapshot)
			q := "UPDATE snapshots SET updated_at = updated_at WHERE id = ? AND deleted = ? AND status IN " + in
			if err := lockRow(ctx, tx, "snapshots", v.SnapshotID, q, append([]any{v.SnapshotID, false}, a...)); err != nil {
				return err
			}
		}
		if v.SourceVolID != "" {
			if err := lockVolume(ctx, tx, v.SourceVolID, CopyableVolume); err != nil {
				return err
			}
		}
		if err := checkLimits(ctx, tx, v.ProjectID, l, Usage{Volumes: 1, Gigabytes: int64(v.Size)}); err != nil {
			return err
		}
		return createVolume(ctx, tx, v)
	})
}

// StartExtend moves an available volume to extending if the project's
// gigabytes quota allows the growth, under the project's lock.
func (d *DB) StartExtend(ctx context.Context, v *Volume, newSize int, l Limits) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := d.lockProject(ctx, tx, v.ProjectID); err != nil {
			return err
		}
		if err := checkLimits(ctx, tx, v.ProjectID, l, Usage{Gigabytes: int64(newSize - v.Size)}); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status = ?",
			string(volume.StatusExtending), store.TimeOf(store.Now()), v.ID, false, string(volume.StatusAvailable))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrState
		}
		return nil
	})
}

// Quotas returns a project's quota overrides.
func (d *DB) Quotas(ctx context.Context, project string) (map[string]int64, error) {
	rows, err := d.s.Query(ctx, "SELECT resource, hard_limit FROM quotas WHERE project_id = ?", project)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return nil, err
		}
		out[r] = n
	}
	return out, rows.Err()
}

// SetQuota sets a project's limit of a resource.
func (d *DB) SetQuota(ctx context.Context, project, resource string, limit int64) error {
	_, err := d.s.Exec(ctx, d.s.Upsert("quotas", []string{"project_id", "resource", "hard_limit"}, []string{"project_id", "resource"}, []string{"hard_limit"}), project, resource, limit)
	return err
}

// ProjectTypeUsage returns what a project holds of one volume type.
func (d *DB) ProjectTypeUsage(ctx context.Context, project, typeID string) (Usage, error) {
	return typeUsage(ctx, d.s, project, typeID)
}

// QuotaClass returns the limits a quota class sets ("default" holds the
// defaults of every project, over cinder.conf's).
func (d *DB) QuotaClass(ctx context.Context, class string) (map[string]int64, error) {
	rows, err := d.s.Query(ctx, "SELECT resource, hard_limit FROM quota_classes WHERE class_name = ?", class)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return nil, err
		}
		out[r] = n
	}
	return out, rows.Err()
}

// SetQuotaClass sets a quota class's limit of a resource.
func (d *DB) SetQuotaClass(ctx context.Context, class, resource string, limit int64) error {
	_, err := d.s.Exec(ctx, d.s.Upsert("quota_classes", []string{"class_name", "resource", "hard_limit"}, []string{"class_name", "resource"}, []string{"hard_limit"}), class, resource, limit)
	return err
}

// DeleteQuotas returns a project to the default quotas.
func (d *DB) DeleteQuotas(ctx context.Context, project string) error {
	_, err := d.s.Exec(ctx, "DELETE FROM quotas WHERE project_id = ?", project)
	return err
}

func createVolume(ctx context.Context, tx *store.Tx, v *Volume) error {
	if v.CreatedAt.IsZero() {
		v.CreatedAt = store.Now()
	}
	v.UpdatedAt = v.CreatedAt
	{
		_, err := tx.Exec(ctx, "INSERT INTO volumes ("+volCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			v.ID, v.ProjectID, v.UserID, nullStr(v.Name), nullStr(v.Description), v.Size, string(v.Status), string(v.AttachStatus),
			v.AvailabilityZone, v.TypeID, store.NullString(v.Host), v.Bootable, v.Multiattach, store.NullString(v.SnapshotID),
			store.NullString(v.SourceVolID), store.NullString(v.ImageID), store.NullString(v.ErrorReason),
			store.TimeOf(v.CreatedAt), store.TimeOf(v.UpdatedAt), nullTime(v.LaunchedAt), false)
		if err != nil {
			if store.IsUnique(err) {
				return ErrDuplicate
			}
			return fmt.Errorf("create volume: %w", err)
		}
		if err := putMeta(ctx, tx, v.ID, v.Metadata); err != nil {
			return err
		}
		return putKV(ctx, tx, "volume_image_metadata", "volume_id", v.ID, v.ImageMetadata)
	}
}

func putMeta(ctx context.Context, tx *store.Tx, id string, md map[string]string) error {
	return putKV(ctx, tx, "volume_metadata", "volume_id", id, md)
}

// putKV replaces the key/value rows of one object in a metadata table.
func putKV(ctx context.Context, tx *store.Tx, table, idCol, id string, md map[string]string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE "+idCol+" = ?", id); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" ("+idCol+", meta_key, meta_value) VALUES (?, ?, ?)", id, k, md[k]); err != nil {
			return err
		}
	}
	return nil
}

// GetVolume returns an undeleted volume.
func (d *DB) GetVolume(ctx context.Context, id string) (*Volume, error) {
	v, err := scanVolume(d.s.QueryRow(ctx, "SELECT "+volCols+" FROM volumes WHERE id = ? AND deleted = ?", id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get volume: %w", err)
	}
	if err := d.loadMeta(ctx, []*Volume{v}); err != nil {
		return nil, err
	}
	return v, nil
}

func (d *DB) loadMeta(ctx context.Context, vols []*Volume) error {
	byID := make(map[string]*Volume, len(vols))
	for _, v := range vols {
		byID[v.ID] = v
	}
	ids := slices.Collect(maps.Keys(byID))
	if err := d.loadKV(ctx, "volume_metadata", "volume_id", ids, func(id, k, v string) { byID[id].Metadata[k] = v }); err != nil {
		return err
	}
	return d.loadKV(ctx, "volume_image_metadata", "volume_id", ids, func(id, k, v string) { byID[id].ImageMetadata[k] = v })
}

// loadKV reads the key/value rows of objects from a metadata table.
func (d *DB) loadKV(ctx context.Context, table, idCol string, ids []string, put func(id, k, v string)) error {
	for chunk := range slices.Chunk(ids, 500) {
		in, args := store.In(chunk)
		rows, err := d.s.Query(ctx, "SELECT "+idCol+", meta_key, meta_value FROM "+table+" WHERE "+idCol+" IN "+in, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		for rows.Next() {
			var id, k, val string
			if err := rows.Scan(&id, &k, &val); err != nil {
				rows.Close()
				return err
			}
			put(id, k, val)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Filter selects volumes for ListVolumes.
type Filter struct {
	// ProjectID limits the list to one project; empty means every project.
	ProjectID        string
	Name             *string
	Status           string
	AvailabilityZone string
	Bootable         *bool
	Host             string
	// Statuses, when set, selects volumes in any of them.
	Statuses []volume.Status
	Metadata map[string]string
	// ImageMetadata selects volumes whose image metadata holds these
	// pairs (the glance_metadata filter).
	ImageMetadata map[string]string
	// Sort is a list of (column, desc) pairs; ListVolumes adds id.
	Sort []SortKey
	// OlderThan selects volumes last updated before it.
	OlderThan time.Time
}

// SortKey is a sort column and direction.
type SortKey struct {
	Key  string
	Desc bool
}

// SortColumns maps the API's sort keys to columns.
var SortColumns = map[string]string{
	"id": "id", "name": "name", "display_name": "name", "size": "size", "status": "status",
	"created_at": "created_at", "updated_at": "updated_at", "availability_zone": "availability_zone",
	"bootable": "bootable", "project_id": "project_id", "volume_type_id": "volume_type_id", "host": "host",
	"description": "description", "display_description": "description", "user_id": "user_id",
}

// ListVolumes returns the undeleted volumes the filter selects, sorted.
func (d *DB) ListVolumes(ctx context.Context, f Filter) ([]*Volume, error) {
	var where []string
	args := []any{false}
	where = append(where, "deleted = ?")
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
	if len(f.Statuses) > 0 {
		in, a := store.In(f.Statuses)
		add("status IN "+in, a...)
	}
	if f.AvailabilityZone != "" {
		add("availability_zone = ?", f.AvailabilityZone)
	}
	if f.Bootable != nil {
		add("bootable = ?", *f.Bootable)
	}
	if f.Host != "" {
		add("(host = ? OR host LIKE ?)", f.Host, f.Host+"#%")
	}
	if !f.OlderThan.IsZero() {
		add("updated_at < ?", store.TimeOf(f.OlderThan))
	}
	for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		add("EXISTS (SELECT 1 FROM volume_metadata m WHERE m.volume_id = volumes.id AND m.meta_key = ? AND m.meta_value = ?)", k, f.Metadata[k])
	}
	for _, k := range slices.Sorted(maps.Keys(f.ImageMetadata)) {
		add("EXISTS (SELECT 1 FROM volume_image_metadata m WHERE m.volume_id = volumes.id AND m.meta_key = ? AND m.meta_value = ?)", k, f.ImageMetadata[k])
	}
	order, err := orderBy(f.Sort, SortColumns)
	if err != nil {
		return nil, err
	}
	rows, err := d.s.Query(ctx, "SELECT "+volCols+" FROM volumes WHERE "+strings.Join(where, " AND ")+" ORDER BY "+order, args...)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []*Volume
	for rows.Next() {
		v, err := scanVolume(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, d.loadMeta(ctx, out)
}

// orderBy renders sort keys as an ORDER BY list over cols (newest first
// when there are none), with id last so that pages are stable.
func orderBy(keys []SortKey, cols map[string]string) (string, error) {
	var order []string
	seenID := false
	for _, s := range keys {
		col, ok := cols[s.Key]
		if !ok {
			return "", fault.BadRequest("Invalid sort key: %s", s.Key)
		}
		dir := "ASC"
		if s.Desc {
			dir = "DESC"
		}
		order = append(order, col+" "+dir)
		seenID = seenID || col == "id"
	}
	if len(order) == 0 {
		order = append(order, "created_at DESC")
	}
	if !seenID {
		order = append(order, "id DESC")
	}
	return strings.Join(order, ", "), nil
}

// Change is what UpdateVolume sets; nil fields stay.
type Change struct {
	Name        **string
	Description **string
	Status      *volume.Status
	Host        *string
	Size        *int
	Bootable    *bool
	ErrorReason *string
	Launched    bool
	Metadata    map[string]string
	// ImageMetadata, when not nil, replaces the volume's image metadata.
	ImageMetadata map[string]string
}

// UpdateVolume applies a change to a volume if its status is one of from
// (any status when from is empty): a compare-and-swap. A volume in another
// state is ErrState; a missing one ErrNotFound.
func (d *DB) UpdateVolume(ctx context.Context, id string, from []volume.Status, c Change) (*Volume, error) {
	now := store.Now()
	cs := newChangeSet()
	cs.text(c.Name, c.Description)
	if c.Status != nil {
		cs.add("status", string(*c.Status))
	}
	if c.Host != nil {
		cs.add("host", store.NullString(*c.Host))
	}
	if c.Size != nil {
		cs.add("size", *c.Size)
	}
	if c.Bootable != nil {
		cs.add("bootable", *c.Bootable)
	}
	if c.ErrorReason != nil {
		cs.add("error_reason", store.NullString(*c.ErrorReason))
	}
	if c.Launched {
		cs.add("launched_at", store.TimeOf(now))
	}
	q, args := casUpdate("volumes", cs, id, from)
	var out *Volume
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var st string
			err := tx.QueryRow(ctx, "SELECT status FROM volumes WHERE id = ? AND deleted = ?", id, false).Scan(&st)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			return ErrState
		}
		if c.Metadata != nil {
			if err := putMeta(ctx, tx, id, c.Metadata); err != nil {
				return err
			}
		}
		if c.ImageMetadata != nil {
			if err := putKV(ctx, tx, "volume_image_metadata", "volume_id", id, c.ImageMetadata); err != nil {
				return err
			}
		}
		out, err = scanVolume(tx.QueryRow(ctx, "SELECT "+volCols+" FROM volumes WHERE id = ?", id))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrState) {
			return nil, err
		}
		return nil, fmt.Errorf("update volume %s: %w", id, err)
	}
	return out, d.loadMeta(ctx, []*Volume{out})
}

// DestroyVolume marks a volume deleted if its status is one of from.
func (d *DB) DestroyVolume(ctx context.Context, id string, from []volume.Status) error {
	now := store.TimeOf(store.Now())
	q := "UPDATE volumes SET deleted = ?, deleted_at = ?, updated_at = ?, status = ? WHERE id = ? AND deleted = ?"
	args := []any{true, now, now, "deleted", id, false}
	if len(from) > 0 {
		in, a := store.In(from)
		q += " AND status IN " + in
		args = append(args, a...)
	}
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var st string
			if err := tx.QueryRow(ctx, "SELECT status FROM volumes WHERE id = ? AND deleted = ?", id, false).Scan(&st); errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			} else if err != nil {
				return err
			}
			return ErrState
		}
		if _, err := tx.Exec(ctx, "DELETE FROM volume_metadata WHERE volume_id = ?", id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM volume_image_metadata WHERE volume_id = ?", id)
		return err
	})
}

// HostAllocated returns the GiB of the undeleted volumes placed on a host
// (host@backend, with or without #pool).
func (d *DB) HostAllocated(ctx context.Context, host string) (int64, error) {
	var n sql.NullInt64
	err := d.s.QueryRow(ctx, "SELECT SUM(size) FROM volumes WHERE deleted = ? AND (host = ? OR host LIKE ?)", false, host, host+"#%").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("allocated capacity: %w", err)
	}
	return n.Int64, nil
}

// ProjectUsage returns what a project holds.
func (d *DB) ProjectUsage(ctx context.Context, project string) (Usage, error) {
	return usage(ctx, d.s, project)
}

// Store returns the underlying database.
func (d *DB) Store() *store.DB { return d.s }

// DeletedOnHost returns the ids of deleted volumes that were placed on a
// host (host@backend), so that a volume service can remove files a crash
// left behind.
func (d *DB) DeletedOnHost(ctx context.Context, host string) ([]string, error) {
	rows, err := d.s.Query(ctx, "SELECT id FROM volumes WHERE deleted = ? AND (host = ? OR host LIKE ?)", true, host, host+"#%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// UpdateImageMetadata sets keys of a volume's image metadata (set) or
// removes one (unset, when not empty) in one transaction and returns the
// result. Removing a key the volume does not have is ErrNotFound, as is
// a missing volume.
func (d *DB) UpdateImageMetadata(ctx context.Context, id string, set map[string]string, unset string) (map[string]string, error) {
	out := map[string]string{}
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM volumes WHERE id = ? AND deleted = ?", id, false).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if unset != "" {
			res, err := tx.Exec(ctx, "DELETE FROM volume_image_metadata WHERE volume_id = ? AND meta_key = ?", id, unset)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrNotFound
			}
		}
		for _, k := range slices.Sorted(maps.Keys(set)) {
			if _, err := tx.Exec(ctx, "DELETE FROM volume_image_metadata WHERE volume_id = ? AND meta_key = ?", id, k); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO volume_image_metadata (volume_id, meta_key, meta_value) VALUES (?, ?, ?)", id, k, set[k]); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, "SELECT meta_key, meta_value FROM volume_image_metadata WHERE volume_id = ?", id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			out[k] = v
		}
		return rows.Err()
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("image metadata of %s: %w", id, err)
	}
	return out, nil
}

// Retype gives a volume another type (and multiattach flag) if it is
// still in status with type oldType: a compare-and-swap.
func (d *DB) Retype(ctx context.Context, id string, status volume.Status, oldType, newType string, multiattach bool) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		q := "UPDATE volumes SET volume_type_id = ?, multiattach = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status = ? AND volume_type_id = ?"
		return casRow(ctx, tx, "volumes", id, q, []any{newType, multiattach, store.TimeOf(store.Now()), id, false, string(status), oldType})
	})
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

const migrationCols = `id, uuid, instance_uuid, project_id, user_id, source_compute, source_node, dest_compute, dest_node,
	dest_host, old_flavor_id, new_flavor_id, status, migration_type, hidden, memory_total, memory_processed,
	memory_remaining, disk_total, disk_processed, disk_remaining, created_at, updated_at`

func scanMigration(r scanner) (*objects.Migration, error) {
	var m objects.Migration
	var mt, mp, mr, dt, dp, dr sql.NullInt64
	var c, u store.Time
	if err := r.Scan(&m.ID, &m.UUID, &m.InstanceUUID, &m.ProjectID, &m.UserID, &m.SourceCompute, &m.SourceNode,
		&m.DestCompute, &m.DestNode, &m.DestHost, &m.OldFlavorID, &m.NewFlavorID, &m.Status, &m.MigrationType, &m.Hidden,
		&mt, &mp, &mr, &dt, &dp, &dr, &c, &u); err != nil {
		return nil, err
	}
	ptr := func(n sql.NullInt64) *int64 {
		if !n.Valid {
			return nil
		}
		v := n.Int64
		return &v
	}
	m.MemoryTotal, m.MemoryProcessed, m.MemoryRemaining = ptr(mt), ptr(mp), ptr(mr)
	m.DiskTotal, m.DiskProcessed, m.DiskRemaining = ptr(dt), ptr(dp), ptr(dr)
	m.CreatedAt, m.UpdatedAt = c.Time, u.Time
	return &m, nil
}

// CreateMigration stores a migration record.
func (s *Store) CreateMigration(ctx context.Context, m *objects.Migration) error {
	now := s.now()
	m.CreatedAt, m.UpdatedAt = now, now
	_, err := s.db.Exec(ctx, `INSERT INTO migrations (uuid, instance_uuid, project_id, user_id, source_compute, source_node,
		dest_compute, dest_node, dest_host, old_flavor_id, new_flavor_id, status, migration_type, hidden, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.UUID, m.InstanceUUID, m.ProjectID, m.UserID, m.SourceCompute, m.SourceNode, m.DestCompute, m.DestNode, m.DestHost,
		m.OldFlavorID, m.NewFlavorID, m.Status, m.MigrationType, m.Hidden, store.TimeOf(now), store.TimeOf(now))
	if err != nil {
		return wrap("insert migration", err)
	}
	return s.db.QueryRow(ctx, "SELECT id FROM migrations WHERE uuid = ?", m.UUID).Scan(&m.ID)
}

// MigrationUpdate changes a migration.
type MigrationUpdate struct {
	Status      *string `json:"status,omitempty"`
	DestCompute *string `json:"dest_compute,omitempty"`
	DestNode    *string `json:"dest_node,omitempty"`
	DestHost    *string `json:"dest_host,omitempty"`
	// ExpectStatus, when set, makes the update a CAS on the status.
	ExpectStatus []string `json:"expect_status,omitempty"`
}

// UpdateMigration applies u to a migration by UUID.
func (s *Store) UpdateMigration(ctx context.Context, uuid string, u MigrationUpdate) (*objects.Migration, error) {
	sets := []string{"updated_at = ?"}
	args := []any{store.TimeOf(s.now())}
	if u.Status != nil {
		sets = append(sets, "status = ?")
		args = append(args, *u.Status)
	}
	if u.DestCompute != nil {
		sets = append(sets, "dest_compute = ?")
		args = append(args, *u.DestCompute)
	}
	if u.DestNode != nil {
		sets = append(sets, "dest_node = ?")
		args = append(args, *u.DestNode)
	}
	if u.DestHost != nil {
		sets = append(sets, "dest_host = ?")
		args = append(args, *u.DestHost)
	}
	q := "UPDATE migrations SET " + strings.Join(sets, ", ") + " WHERE uuid = ?"
	args = append(args, uuid)
	if len(u.ExpectStatus) > 0 {
		in, a := store.In(u.ExpectStatus)
		q += " AND status IN " + in
		args = append(args, a...)
	}
	if err := store.CAS(ctx, s.db, q, args...); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, fault.Conflict("Migration %s is not in the expected state.", uuid).WithType("InvalidMigrationState")
		}
		return nil, err
	}
	return s.Migration(ctx, uuid)
}

// Migration returns a migration by UUID or database id.
func (s *Store) Migration(ctx context.Context, id string) (*objects.Migration, error) {
	m, err := scanMigration(s.db.QueryRow(ctx, "SELECT "+migrationCols+" FROM migrations WHERE uuid = ? OR CAST(id AS CHAR(20)) = ?", id, id))
	if errNoRows(err) {
		return nil, fault.NotFound("Migration %s could not be found.", id).WithType("MigrationNotFound")
	}
	return m, wrap("get migration", err)
}

// MigrationFilter selects migrations (os-migrations).
type MigrationFilter struct {
	InstanceUUID  string
	Host          string
	Status        string
	MigrationType string
	SourceCompute string
	ProjectID     string
	UserID        string
	ChangesSince  time.Time
	ChangesBefore time.Time
	// InProgress keeps the statuses of migrations still running.
	InProgress bool
}

// InProgressStatuses are the statuses of an unfinished migration.
var InProgressStatuses = []string{"queued", "preparing", "running", "post-migrating", "pre-migrating", "migrating", "post_migrating", "accepted", "confirming", "reverting", "finished", "done"}

// Migrations lists migrations, newest first.
func (s *Store) Migrations(ctx context.Context, f MigrationFilter) ([]*objects.Migration, error) {
	q := "SELECT " + migrationCols + " FROM migrations WHERE hidden = FALSE"
	var args []any
	add := func(c string, a ...any) { q += " AND " + c; args = append(args, a...) }
	if f.InstanceUUID != "" {
		add("instance_uuid = ?", f.InstanceUUID)
	}
	if f.Host != "" {
		add("(source_compute = ? OR dest_compute = ?)", f.Host, f.Host)
	}
	if f.SourceCompute != "" {
		add("source_compute = ?", f.SourceCompute)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.MigrationType != "" {
		add("migration_type = ?", f.MigrationType)
	}
	if f.ProjectID != "" {
		add("project_id = ?", f.ProjectID)
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if !f.ChangesSince.IsZero() {
		add("updated_at >= ?", store.TimeOf(f.ChangesSince))
	}
	if !f.ChangesBefore.IsZero() {
		add("updated_at <= ?", store.TimeOf(f.ChangesBefore))
	}
	if f.InProgress {
		in, a := store.In([]string{"queued", "preparing", "running", "post-migrating", "pre-migrating", "migrating", "accepted", "confirming", "reverting", "finished"})
		add("status IN "+in, a...)
	}
	out, err := store.All(ctx, s.db, scanMigration, q+" ORDER BY created_at DESC, id DESC", args...)
	if err != nil {
		return nil, wrap("list migrations", err)
	}
	return out, nil
}

// ErrMigrationNotFound reports a missing migration in errors.Is checks.
var ErrMigrationNotFound = errors.New("migration not found")

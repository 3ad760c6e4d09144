package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Type is a volume type with its extra specs.
type Type struct {
	ID          string
	Name        string
	Description *string
	IsPublic    bool
	ExtraSpecs  map[string]string
	// QoSSpecsID is the QoS specs associated with the type, or empty.
	QoSSpecsID string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const typeCols = "id, name, description, is_public, created_at, updated_at, qos_specs_id"

func scanType(sc interface{ Scan(...any) error }) (*Type, error) {
	var (
		t                Type
		desc             sql.NullString
		qos              store.NullString
		created, updated store.Time
	)
	if err := sc.Scan(&t.ID, &t.Name, &desc, &t.IsPublic, &created, &updated, &qos); err != nil {
		return nil, err
	}
	t.QoSSpecsID = string(qos)
	if desc.Valid {
		t.Description = &desc.String
	}
	t.CreatedAt, t.UpdatedAt = created.Time, updated.Time
	t.ExtraSpecs = map[string]string{}
	return &t, nil
}

// CreateType inserts a volume type; a name in use is ErrDuplicate.
func (d *DB) CreateType(ctx context.Context, t *Type) error {
	if t.ID == "" {
		t.ID = uuid.NewString()
	}
	now := store.Now()
	t.CreatedAt, t.UpdatedAt = now, now
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO volume_types ("+typeCols+", deleted, live_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.Name, nullStr(t.Description), t.IsPublic, store.TimeOf(now), store.TimeOf(now), nil, false, t.Name)
		if err != nil {
			return err
		}
		return putSpecs(ctx, tx, t.ID, t.ExtraSpecs)
	})
	if err != nil && store.IsUnique(err) {
		return ErrDuplicate
	}
	return err
}

func putSpecs(ctx context.Context, tx *store.Tx, id string, specs map[string]string) error {
	return putKeys(ctx, tx, "volume_type_extra_specs", "volume_type_id", id, specs)
}

// putKeys replaces the (spec_key, spec_value) rows of table that belong to
// id through the owner column: a type's extra specs, a QoS specs' keys.
// table and owner are the store's own names, never input.
func putKeys(ctx context.Context, tx *store.Tx, table, owner, id string, specs map[string]string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE "+owner+" = ?", id); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(specs)) {
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" ("+owner+", spec_key, spec_value) VALUES (?, ?, ?)", id, k, specs[k]); err != nil {
			return err
		}
	}
	return nil
}

// GetType returns an undeleted type by id.
func (d *DB) GetType(ctx context.Context, id string) (*Type, error) {
	return d.getType(ctx, "id = ?", id)
}

// GetTypeByName returns an undeleted type by name.
func (d *DB) GetTypeByName(ctx context.Context, name string) (*Type, error) {
	return d.getType(ctx, "name = ?", name)
}

// GetTypeAny returns a type by id with its extra specs, deleted or not
// (volumes keep showing the type they were made with, and copies of them
// take it).
func (d *DB) GetTypeAny(ctx context.Context, id string) (*Type, error) {
	t, err := scanType(d.s.QueryRow(ctx, "SELECT "+typeCols+" FROM volume_types WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return t, d.loadSpecs(ctx, []*Type{t})
}

func (d *DB) getType(ctx context.Context, cond string, arg any) (*Type, error) {
	t, err := scanType(d.s.QueryRow(ctx, "SELECT "+typeCols+" FROM volume_types WHERE deleted = ? AND "+cond, false, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get volume type: %w", err)
	}
	return t, d.loadSpecs(ctx, []*Type{t})
}

func (d *DB) loadSpecs(ctx context.Context, ts []*Type) error {
	into := map[string]map[string]string{}
	for _, t := range ts {
		into[t.ID] = t.ExtraSpecs
	}
	return loadKeys(ctx, d.s, "volume_type_extra_specs", "volume_type_id", into)
}

// loadKeys fills into[id] with the (spec_key, spec_value) rows of table
// whose owner column is id, the reading side of putKeys; one id is read
// alone, several by one scan of the table.
func loadKeys(ctx context.Context, q store.Querier, table, owner string, into map[string]map[string]string) error {
	query, args := "SELECT "+owner+", spec_key, spec_value FROM "+table, []any{}
	if len(into) == 1 {
		for id := range into {
			query, args = query+" WHERE "+owner+" = ?", []any{id}
		}
	}
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return err
		}
		if m := into[id]; m != nil {
			m[k] = v
		}
	}
	return rows.Err()
}

// ListTypes returns the undeleted types, by name.
func (d *DB) ListTypes(ctx context.Context) ([]*Type, error) {
	rows, err := d.s.Query(ctx, "SELECT "+typeCols+" FROM volume_types WHERE deleted = ? ORDER BY name", false)
	if err != nil {
		return nil, fmt.Errorf("list volume types: %w", err)
	}
	var out []*Type
	for rows.Next() {
		t, err := scanType(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, d.loadSpecs(ctx, out)
}

// UpdateType changes a type's name, description, publicity; nil stays.
func (d *DB) UpdateType(ctx context.Context, id string, name *string, desc **string, public *bool) error {
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		if _, err := scanType(tx.QueryRow(ctx, "SELECT "+typeCols+" FROM volume_types WHERE deleted = ? AND id = ?", false, id)); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		now := store.TimeOf(store.Now())
		if name != nil {
			if _, err := tx.Exec(ctx, "UPDATE volume_types SET name = ?, live_name = ?, updated_at = ? WHERE id = ?", *name, *name, now, id); err != nil {
				return err
			}
		}
		if desc != nil {
			if _, err := tx.Exec(ctx, "UPDATE volume_types SET description = ?, updated_at = ? WHERE id = ?", nullStr(*desc), now, id); err != nil {
				return err
			}
		}
		if public != nil {
			if _, err := tx.Exec(ctx, "UPDATE volume_types SET is_public = ?, updated_at = ? WHERE id = ?", *public, now, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && store.IsUnique(err) {
		return ErrDuplicate
	}
	return err
}

// SetExtraSpecs merges specs into a type's extra specs (remove names keys
// to delete).
func (d *DB) SetExtraSpecs(ctx context.Context, id string, set map[string]string, remove []string) (map[string]string, error) {
	t, err := d.GetType(ctx, id)
	if err != nil {
		return nil, err
	}
	maps.Copy(t.ExtraSpecs, set)
	for _, k := range remove {
		if _, ok := t.ExtraSpecs[k]; !ok {
			return nil, ErrNotFound
		}
		delete(t.ExtraSpecs, k)
	}
	err = d.s.Tx(ctx, func(tx *store.Tx) error { return putSpecs(ctx, tx, id, t.ExtraSpecs) })
	return t.ExtraSpecs, err
}

// DeleteType marks a type deleted; one that volumes use is ErrState.
func (d *DB) DeleteType(ctx context.Context, id string) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM volumes WHERE deleted = ? AND volume_type_id = ?", false, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrState
		}
		now := store.TimeOf(store.Now())
		res, err := tx.Exec(ctx, "UPDATE volume_types SET deleted = ?, deleted_at = ?, live_name = NULL WHERE id = ? AND deleted = ?", true, now, id, false)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// TypeProjects lists the projects a private type is shared with.
func (d *DB) TypeProjects(ctx context.Context, id string) ([]string, error) {
	rows, err := d.s.Query(ctx, "SELECT project_id FROM volume_type_projects WHERE volume_type_id = ? ORDER BY project_id", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AddTypeProject shares a private type with a project (ErrDuplicate if it is).
func (d *DB) AddTypeProject(ctx context.Context, id, project string) error {
	_, err := d.s.Exec(ctx, "INSERT INTO volume_type_projects (volume_type_id, project_id) VALUES (?, ?)", id, project)
	if err != nil && store.IsUnique(err) {
		return ErrDuplicate
	}
	return err
}

// RemoveTypeProject stops sharing a type with a project.
func (d *DB) RemoveTypeProject(ctx context.Context, id, project string) error {
	res, err := d.s.Exec(ctx, "DELETE FROM volume_type_projects WHERE volume_type_id = ? AND project_id = ?", id, project)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ServiceRow is a volume service's last report.
type ServiceRow struct {
	Host             string
	Binary           string
	AvailabilityZone string
	Disabled         bool
	DisabledReason   string
	// Frozen: os-services/freeze stopped changes on the backend.
	Frozen       bool
	Capabilities json.RawMessage
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ReportService records a service's report (its heartbeat).
func (d *DB) ReportService(ctx context.Context, r ServiceRow) error {
	now := store.TimeOf(store.Now())
	if len(r.Capabilities) == 0 {
		r.Capabilities = json.RawMessage("{}")
	}
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE services SET availability_zone = ?, capabilities = ?, updated_at = ? WHERE host = ? AND svc_binary = ?",
			r.AvailabilityZone, string(r.Capabilities), now, r.Host, r.Binary)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		_, err = tx.Exec(ctx, d.s.InsertIgnore("services", []string{"host", "svc_binary", "availability_zone", "disabled", "disabled_reason", "capabilities", "created_at", "updated_at"}),
			r.Host, r.Binary, r.AvailabilityZone, false, nil, string(r.Capabilities), now, now)
		return err
	})
}

// ListServices returns every service, by binary and host.
func (d *DB) ListServices(ctx context.Context) ([]ServiceRow, error) {
	rows, err := d.s.Query(ctx, "SELECT host, svc_binary, availability_zone, disabled, disabled_reason, capabilities, created_at, updated_at, frozen FROM services ORDER BY svc_binary, host")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ServiceRow
	for rows.Next() {
		var (
			r                ServiceRow
			reason           store.NullString
			caps             string
			created, updated store.Time
		)
		if err := rows.Scan(&r.Host, &r.Binary, &r.AvailabilityZone, &r.Disabled, &reason, &caps, &created, &updated, &r.Frozen); err != nil {
			return nil, err
		}
		r.DisabledReason, r.Capabilities, r.CreatedAt, r.UpdatedAt = string(reason), json.RawMessage(caps), created.Time, updated.Time
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetServiceDisabled enables or disables a service.
func (d *DB) SetServiceDisabled(ctx context.Context, host, binary string, disabled bool, reason string) error {
	res, err := d.s.Exec(ctx, "UPDATE services SET disabled = ?, disabled_reason = ? WHERE host = ? AND svc_binary = ?", disabled, store.NullString(reason), host, binary)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetServiceFrozen freezes (or thaws) one volume service, from the other
// state: ErrNotFound if it has no row, ErrState if it already is.
func (d *DB) SetServiceFrozen(ctx context.Context, host, binary string, frozen bool) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		var cur bool
		err := tx.QueryRow(ctx, "SELECT frozen FROM services WHERE host = ? AND svc_binary = ?", host, binary).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "UPDATE services SET frozen = ? WHERE host = ? AND svc_binary = ? AND frozen = ?", frozen, host, binary, !frozen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrState
		}
		return nil
	})
}

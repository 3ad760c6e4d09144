package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// GroupType is a group type (3.11) with its group specs.
type GroupType struct {
	ID          string
	Name        string
	Description *string
	IsPublic    bool
	GroupSpecs  map[string]string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const groupTypeCols = "id, name, description, is_public, created_at, updated_at"

func scanGroupType(sc interface{ Scan(...any) error }) (*GroupType, error) {
	var (
		t                GroupType
		desc             sql.NullString
		created, updated store.Time
	)
	if err := sc.Scan(&t.ID, &t.Name, &desc, &t.IsPublic, &created, &updated); err != nil {
		return nil, err
	}
	if desc.Valid {
		t.Description = &desc.String
	}
	t.CreatedAt, t.UpdatedAt = created.Time, updated.Time
	t.GroupSpecs = map[string]string{}
	return &t, nil
}

// CreateGroupType inserts a group type; a live name in use is ErrDuplicate.
func (d *DB) CreateGroupType(ctx context.Context, t *GroupType) error {
	if t.ID == "" {
		t.ID = uuid.NewString()
	}
	now := store.Now()
	t.CreatedAt, t.UpdatedAt = now, now
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO group_types ("+groupTypeCols+", deleted, live_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.Name, nullStr(t.Description), t.IsPublic, store.TimeOf(now), store.TimeOf(now), false, t.Name)
		if err != nil {
			return err
		}
		return putKeys(ctx, tx, "group_type_specs", "group_type_id", t.ID, t.GroupSpecs)
	})
	if err != nil && store.IsUnique(err) {
		return ErrDuplicate
	}
	return err
}

// GetGroupType returns a live group type by id with its specs.
func (d *DB) GetGroupType(ctx context.Context, id string) (*GroupType, error) {
	t, err := scanGroupType(d.s.QueryRow(ctx, "SELECT "+groupTypeCols+" FROM group_types WHERE deleted = ? AND id = ?", false, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get group type: %w", err)
	}
	return t, d.loadGroupSpecs(ctx, []*GroupType{t})
}

// GetGroupTypeAny returns a group type by id, deleted or not (a group
// keeps showing the type it was made with).
func (d *DB) GetGroupTypeAny(ctx context.Context, id string) (*GroupType, error) {
	t, err := scanGroupType(d.s.QueryRow(ctx, "SELECT "+groupTypeCols+" FROM group_types WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get group type: %w", err)
	}
	return t, d.loadGroupSpecs(ctx, []*GroupType{t})
}

func (d *DB) loadGroupSpecs(ctx context.Context, ts []*GroupType) error {
	into := map[string]map[string]string{}
	for _, t := range ts {
		into[t.ID] = t.GroupSpecs
	}
	return loadKeys(ctx, d.s, "group_type_specs", "group_type_id", into)
}

// ListGroupTypes returns the live group types, by creation.
func (d *DB) ListGroupTypes(ctx context.Context) ([]*GroupType, error) {
	rows, err := d.s.Query(ctx, "SELECT "+groupTypeCols+" FROM group_types WHERE deleted = ? ORDER BY created_at, id", false)
	if err != nil {
		return nil, fmt.Errorf("list group types: %w", err)
	}
	var out []*GroupType
	for rows.Next() {
		t, err := scanGroupType(rows)
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
	return out, d.loadGroupSpecs(ctx, out)
}

// UpdateGroupType changes a group type's name, description, publicity;
// nil stays.
func (d *DB) UpdateGroupType(ctx context.Context, id string, name *string, desc **string, public *bool) error {
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		now := store.TimeOf(store.Now())
		res, err := tx.Exec(ctx, "UPDATE group_types SET updated_at = ? WHERE id = ? AND deleted = ?", now, id, false)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if name != nil {
			if _, err := tx.Exec(ctx, "UPDATE group_types SET name = ?, live_name = ? WHERE id = ?", *name, *name, id); err != nil {
				return err
			}
		}
		if desc != nil {
			if _, err := tx.Exec(ctx, "UPDATE group_types SET description = ? WHERE id = ?", nullStr(*desc), id); err != nil {
				return err
			}
		}
		if public != nil {
			if _, err := tx.Exec(ctx, "UPDATE group_types SET is_public = ? WHERE id = ?", *public, id); err != nil {
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

// SetGroupSpecs writes the keys of set into a group type's specs and
// removes the keys of remove (a missing one is ErrNotFound), key by key
// in one transaction, so that concurrent changes of other keys are kept.
func (d *DB) SetGroupSpecs(ctx context.Context, id string, set map[string]string, remove []string) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM group_types WHERE deleted = ? AND id = ?", false, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		for _, k := range slices.Sorted(maps.Keys(set)) {
			if _, err := tx.Exec(ctx, "DELETE FROM group_type_specs WHERE group_type_id = ? AND spec_key = ?", id, k); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO group_type_specs (group_type_id, spec_key, spec_value) VALUES (?, ?, ?)", id, k, set[k]); err != nil {
				return err
			}
		}
		for _, k := range remove {
			res, err := tx.Exec(ctx, "DELETE FROM group_type_specs WHERE group_type_id = ? AND spec_key = ?", id, k)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrNotFound
			}
		}
		return nil
	})
}

// DeleteGroupType marks a group type deleted; one that live groups use is
// ErrState.
func (d *DB) DeleteGroupType(ctx context.Context, id string) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		n, err := d.groupTypeUsers(ctx, tx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return ErrState
		}
		now := store.TimeOf(store.Now())
		res, err := tx.Exec(ctx, "UPDATE group_types SET deleted = ?, deleted_at = ?, live_name = NULL WHERE id = ? AND deleted = ?", true, now, id, false)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// groupTypeUsers counts the live groups of a group type (none until
// groups exist).
func (d *DB) groupTypeUsers(ctx context.Context, tx *store.Tx, id string) (int, error) {
	return 0, nil
}

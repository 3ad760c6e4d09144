package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// An instance's tags and metadata.

// SetTags replaces an instance's tags.
func (s *Store) SetTags(ctx context.Context, uuid string, tags []string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM instance_tags WHERE instance_uuid = ?", uuid); err != nil {
			return err
		}
		for _, t := range tags {
			if _, err := tx.Exec(ctx, "INSERT INTO instance_tags (instance_uuid, tag) VALUES (?, ?)", uuid, t); err != nil && !store.IsUnique(err) {
				return err
			}
		}
		return s.touch(ctx, tx, uuid)
	})
}

// AddTag adds a tag and reports whether it was new; it fails with a 400 when
// the instance would have more than max tags.
func (s *Store) AddTag(ctx context.Context, uuid, tag string, max int) (bool, error) {
	created := false
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM instance_tags WHERE instance_uuid = ? AND tag = ?", uuid, tag).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM instance_tags WHERE instance_uuid = ?", uuid).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return fault.BadRequest("The number of tags exceeded the per-server limit %d", max)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO instance_tags (instance_uuid, tag) VALUES (?, ?)", uuid, tag); err != nil {
			return err
		}
		created = true
		return s.touch(ctx, tx, uuid)
	})
	return created, err
}

// DeleteTag removes a tag (404 when absent).
func (s *Store) DeleteTag(ctx context.Context, uuid, tag string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		err := store.CAS(ctx, tx, "DELETE FROM instance_tags WHERE instance_uuid = ? AND tag = ?", uuid, tag)
		if errors.Is(err, store.ErrConflict) {
			return fault.NotFound("Tag %s could not be found.", tag).WithType("TagNotFound")
		}
		if err != nil {
			return err
		}
		return s.touch(ctx, tx, uuid)
	})
}

func (s *Store) touch(ctx context.Context, q store.Querier, uuid string) error {
	_, err := q.Exec(ctx, "UPDATE instances SET updated_at = ? WHERE uuid = ?", store.TimeOf(s.now()), uuid)
	return err
}

// UpdateMetadata changes an instance's metadata with fn inside a
// transaction that holds the row, and checks the result against a limit on
// the number of items (-1: unlimited).
func (s *Store) UpdateMetadata(ctx context.Context, uuid string, expect Expect, limit int, fn func(m map[string]string) error) (map[string]string, error) {
	var out map[string]string
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var cur store.JSON[map[string]string]
		var vm, task string
		q := "SELECT metadata, vm_state, task_state FROM instances WHERE uuid = ? AND deleted = FALSE" + forUpdate(tx)
		err := tx.QueryRow(ctx, q, uuid).Scan(&cur, &vm, &task)
		if errors.Is(err, sql.ErrNoRows) {
			return instanceNotFound(uuid)
		}
		if err != nil {
			return err
		}
		if (expect.VM != nil && !slices.Contains(expect.VM, states.VM(vm))) || (expect.Task != nil && !slices.Contains(expect.Task, states.Task(task))) {
			return &UnexpectedState{UUID: uuid, Found: states.Subject{UUID: uuid, VM: states.VM(vm), Task: states.Task(task)}, Expect: expect}
		}
		m := cur.V
		if m == nil {
			m = map[string]string{}
		}
		if err := fn(m); err != nil {
			return err
		}
		if limit >= 0 && len(m) > limit {
			return fault.Forbidden("Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", len(m), limit).WithType("OverQuota")
		}
		if _, err := tx.Exec(ctx, "UPDATE instances SET metadata = ?, updated_at = ? WHERE uuid = ?", store.JSONOf(m), store.TimeOf(s.now()), uuid); err != nil {
			return err
		}
		out = m
		return nil
	})
	return out, err
}

package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

func aggregateNotFound(id any) error {
	return fault.NotFound("Aggregate %v could not be found.", id).WithType("AggregateNotFound")
}

// CreateAggregate stores an aggregate (409 when the name is taken).
func (s *Store) CreateAggregate(ctx context.Context, a *objects.Aggregate) error {
	now := s.now()
	a.CreatedAt, a.UpdatedAt = now, now
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO aggregates (uuid, name, created_at, updated_at) VALUES (?, ?, ?, ?)", a.UUID, a.Name, store.TimeOf(now), store.TimeOf(now))
		if store.IsUnique(err) {
			return fault.Conflict("Aggregate %s already exists.", a.Name).WithType("AggregateNameExists")
		}
		if err != nil {
			return wrap("insert aggregate", err)
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM aggregates WHERE uuid = ?", a.UUID).Scan(&a.ID); err != nil {
			return err
		}
		for k, v := range a.Metadata {
			if _, err := tx.Exec(ctx, "INSERT INTO aggregate_metadata (aggregate_id, meta_key, meta_value) VALUES (?, ?, ?)", a.ID, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Aggregates lists every aggregate with hosts and metadata.
func (s *Store) Aggregates(ctx context.Context) ([]*objects.Aggregate, error) {
	out, err := store.All(ctx, s.db, func(r store.Row) (*objects.Aggregate, error) {
		var a objects.Aggregate
		var c, u store.Time
		err := r.Scan(&a.ID, &a.UUID, &a.Name, &c, &u)
		a.CreatedAt, a.UpdatedAt = c.Time, u.Time
		a.Hosts, a.Metadata = []string{}, map[string]string{}
		return &a, err
	}, "SELECT id, uuid, name, created_at, updated_at FROM aggregates ORDER BY id")
	if err != nil || len(out) == 0 {
		return out, wrap("list aggregates", err)
	}
	byID := map[int64]*objects.Aggregate{}
	for _, a := range out {
		byID[a.ID] = a
	}
	err = store.Each(ctx, s.db, func(r store.Row) error {
		var id int64
		var h string
		err := r.Scan(&id, &h)
		if a := byID[id]; a != nil {
			a.Hosts = append(a.Hosts, h)
		}
		return err
	}, "SELECT aggregate_id, host FROM aggregate_hosts ORDER BY host")
	if err != nil {
		return nil, wrap("list aggregate hosts", err)
	}
	err = store.Each(ctx, s.db, func(r store.Row) error {
		var id int64
		var k, v string
		err := r.Scan(&id, &k, &v)
		if a := byID[id]; a != nil {
			a.Metadata[k] = v
		}
		return err
	}, "SELECT aggregate_id, meta_key, meta_value FROM aggregate_metadata")
	if err != nil {
		return nil, wrap("list aggregate metadata", err)
	}
	return out, nil
}

// Aggregate returns an aggregate by database id.
func (s *Store) Aggregate(ctx context.Context, id int64) (*objects.Aggregate, error) {
	all, err := s.Aggregates(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if a.ID == id {
			return a, nil
		}
	}
	return nil, aggregateNotFound(id)
}

// UpdateAggregate renames an aggregate.
func (s *Store) UpdateAggregate(ctx context.Context, id int64, name string) error {
	err := store.CAS(ctx, s.db, "UPDATE aggregates SET name = ?, updated_at = ? WHERE id = ?", name, store.TimeOf(s.now()), id)
	if errors.Is(err, store.ErrConflict) {
		return aggregateNotFound(id)
	}
	if store.IsUnique(err) {
		return fault.Conflict("Aggregate %s already exists.", name).WithType("AggregateNameExists")
	}
	return err
}

// SetAggregateMetadata sets keys (a nil value deletes the key).
func (s *Store) SetAggregateMetadata(ctx context.Context, id int64, meta map[string]*string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		up := tx.D().Upsert("aggregate_metadata", []string{"aggregate_id", "meta_key", "meta_value"}, []string{"aggregate_id", "meta_key"}, []string{"meta_value"})
		for k, v := range meta {
			var err error
			if v == nil {
				_, err = tx.Exec(ctx, "DELETE FROM aggregate_metadata WHERE aggregate_id = ? AND meta_key = ?", id, k)
			} else {
				_, err = tx.Exec(ctx, up, id, k, *v)
			}
			if err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "UPDATE aggregates SET updated_at = ? WHERE id = ?", store.TimeOf(s.now()), id)
		return err
	})
}

// AddAggregateHost adds a host (409 when it is a member).
func (s *Store) AddAggregateHost(ctx context.Context, id int64, host string) error {
	_, err := s.db.Exec(ctx, "INSERT INTO aggregate_hosts (aggregate_id, host) VALUES (?, ?)", id, host)
	if store.IsUnique(err) {
		return fault.Conflict("Aggregate %d already has host %s.", id, host).WithType("AggregateHostExists")
	}
	return err
}

// RemoveAggregateHost removes a host (404 when it is not a member).
func (s *Store) RemoveAggregateHost(ctx context.Context, id int64, host string) error {
	err := store.CAS(ctx, s.db, "DELETE FROM aggregate_hosts WHERE aggregate_id = ? AND host = ?", id, host)
	if errors.Is(err, store.ErrConflict) {
		return fault.NotFound("Aggregate %d has no host %s.", id, host).WithType("AggregateHostNotFound")
	}
	return err
}

// DeleteAggregate removes an aggregate; 400 while it has hosts, as Nova.
func (s *Store) DeleteAggregate(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		var n int
		err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM aggregates WHERE id = ?", id).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 {
			return aggregateNotFound(id)
		}
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM aggregate_hosts WHERE aggregate_id = ?", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fault.BadRequest("Cannot remove aggregate %d. Reason: Host aggregate is not empty.", id).WithType("InvalidAggregateActionDelete")
		}
		for _, q := range []string{"DELETE FROM aggregate_metadata WHERE aggregate_id = ?", "DELETE FROM aggregates WHERE id = ?"} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// errNoRows reports sql.ErrNoRows.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

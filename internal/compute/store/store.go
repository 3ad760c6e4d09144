package store

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations is Nova's schema history.
var Migrations = store.Migrations{Service: "compute", FS: migrationsFS, Dir: "migrations"}

// Store is Nova's database.
type Store struct {
	db  *store.DB
	now func() time.Time
}

// New returns a Store over a migrated database.
func New(db *store.DB) *Store { return &Store{db: db, now: store.Now} }

// DB returns the database handle.
func (s *Store) DB() *store.DB { return s.db }

// SetClock replaces the clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Now returns the store's current time.
func (s *Store) Now() time.Time { return s.now() }

// forUpdate returns the row-locking suffix of a SELECT in a transaction
// (SQLite needs none: its single writer serialises transactions).
func forUpdate(q store.Querier) string {
	if q.D().Dialect == store.SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// notFound is the 404 for a missing instance, as Nova words it.
func instanceNotFound(uuid string) error {
	return fault.NotFound("Instance %s could not be found.", uuid).WithType("InstanceNotFound")
}

// eachIn runs query once per chunk of ids (IN lists that stay well under
// every engine's limit on placeholders) and calls fn with every row; query
// makes the statement from the chunk's "(?, ?, ...)".
func eachIn(ctx context.Context, q store.Querier, ids []string, query func(in string) string, fn func(store.Row) error) error {
	for len(ids) > 0 {
		c := ids[:min(len(ids), 500)]
		ids = ids[len(c):]
		in, args := store.In(c)
		if err := store.Each(ctx, q, fn, query(in), args...); err != nil {
			return err
		}
	}
	return nil
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*fault.Error); ok {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations is the identity schema.
var Migrations = pstore.Migrations{Service: "identity", FS: migrationsFS, Dir: "migrations"}

// RootDomain is the domain_id Keystone gives domains (projects acting as
// domains): they belong to no domain.
const RootDomain = "<<keystone.domain.root>>"

// nullDomain is the domain_id column value of global roles.
const nullDomain = "<<null>>"

// Store is the identity database, or a transaction on it (see Tx).
type Store struct {
	db *pstore.DB
	q  pstore.Querier
}

// New wraps a migrated database.
func New(db *pstore.DB) *Store { return &Store{db: db, q: db} }

// DB returns the underlying database.
func (s *Store) DB() *pstore.DB { return s.db }

// Tx runs fn in a transaction; fn receives a Store bound to the transaction
// (and may be run again when the database asks for a retry).
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	return s.db.Tx(ctx, func(tx *pstore.Tx) error { return fn(&Store{db: s.db, q: tx}) })
}

// Epoch returns the cache epoch: it moves whenever any process wrote something a
// cached answer may depend on.
func (s *Store) Epoch(ctx context.Context) (int64, error) {
	var n int64
	err := s.q.QueryRow(ctx, "SELECT epoch FROM cache_epoch WHERE name = 'identity'").Scan(&n)
	return n, err
}

// BumpEpoch moves the cache epoch, telling every process to flush its caches.
func (s *Store) BumpEpoch(ctx context.Context) error {
	_, err := s.q.Exec(ctx, "UPDATE cache_epoch SET epoch = epoch + 1 WHERE name = 'identity'")
	return err
}

// micros converts a time for storage (zero → NULL).
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// notFound maps sql.ErrNoRows to the given fault.
func notFound(err error, f *fault.Error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return f
	}
	return err
}

// conflict maps a unique violation to Keystone's 409 message.
func conflict(err error, what, detail string) error {
	if pstore.IsUnique(err) {
		return fault.Conflict("Conflict occurred attempting to store %s - %s.", what, detail).WithType("Conflict")
	}
	return err
}

func exec(ctx context.Context, q pstore.Querier, query string, args ...any) (int64, error) {
	res, err := q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Extra is the free-form attributes Keystone keeps next to a row's columns
// (a user's email, a service's extra fields).
type Extra = map[string]any

func extraOf(j pstore.JSON[map[string]any]) Extra {
	if j.V == nil {
		return Extra{}
	}
	return j.V
}

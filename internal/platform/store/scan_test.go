package store_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// TestScanHelpers checks All, Each, One and Column on every engine: rows in
// order, a scan error stops the read, no row is sql.ErrNoRows, and the
// connection is given back (a later query on a one-connection pool works).
func TestScanHelpers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(ctx, "CREATE TABLE scan_t (id INTEGER PRIMARY KEY, name VARCHAR(32) NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = db.Exec(context.Background(), "DROP TABLE scan_t") })
		for i, n := range []string{"a", "b", "c"} {
			if _, err := db.Exec(ctx, "INSERT INTO scan_t (id, name) VALUES (?, ?)", i+1, n); err != nil {
				t.Fatal(err)
			}
		}
		names, err := store.All(ctx, db, store.Column[string], "SELECT name FROM scan_t WHERE id > ? ORDER BY id", 1)
		if err != nil || !slices.Equal(names, []string{"b", "c"}) {
			t.Fatalf("All = %q, %v; want [b c]", names, err)
		}
		none, err := store.All(ctx, db, store.Column[string], "SELECT name FROM scan_t WHERE id > ?", 9)
		if err != nil || len(none) != 0 {
			t.Fatalf("All of no rows = %q, %v", none, err)
		}
		boom := errors.New("boom")
		_, err = store.All(ctx, db, func(r store.Row) (string, error) { return "", boom }, "SELECT name FROM scan_t")
		if !errors.Is(err, boom) {
			t.Fatalf("All with a failing scan: %v, want boom", err)
		}
		if _, err := store.All(ctx, db, store.Column[string], "SELECT nope FROM scan_t"); err == nil {
			t.Fatal("All of a bad query succeeded")
		}
		sum := 0
		err = store.Each(ctx, db, func(r store.Row) error {
			var id int
			err := r.Scan(&id)
			sum += id
			return err
		}, "SELECT id FROM scan_t")
		if err != nil || sum != 6 {
			t.Fatalf("Each: sum %d, %v; want 6", sum, err)
		}
		n, err := store.One(ctx, db, store.Column[string], "SELECT name FROM scan_t WHERE id = ?", 3)
		if err != nil || n != "c" {
			t.Fatalf("One = %q, %v; want c", n, err)
		}
		if _, err := store.One(ctx, db, store.Column[string], "SELECT name FROM scan_t WHERE id = ?", 9); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("One of no row: %v, want sql.ErrNoRows", err)
		}
	})
}

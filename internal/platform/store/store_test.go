package store_test

import (
	"context"
	"embed"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

//go:embed testdata/migrations
var migrationsFS embed.FS

var testMigrations = store.Migrations{Service: "test", FS: migrationsFS, Dir: "testdata/migrations"}

func TestStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		v, err := db.Migrate(ctx, testMigrations)
		if err != nil || v != 2 {
			t.Fatalf("Migrate = %d, %v", v, err)
		}
		// Idempotent: a second run applies nothing and reports the same version.
		if v, err := db.Migrate(ctx, testMigrations); err != nil || v != 2 {
			t.Fatalf("second Migrate = %d, %v", v, err)
		}
		if v, err := db.Version(ctx, "test"); err != nil || v != 2 {
			t.Fatalf("Version = %d, %v", v, err)
		}

		now := store.Now()
		blob := []byte{0, 1, 2, 255}
		extra := store.JSONOf(map[string]string{"k": "v"})
		ins := "INSERT INTO widgets (id, name, state, enabled, extra, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
		if _, err := db.Exec(ctx, ins, "w1", "Alpha", "building", false, extra, blob, store.TimeOf(now)); err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(ctx, ins, "w2", "Alpha", "active", true, nil, nil, store.TimeOf(now))
		if !store.IsUnique(err) {
			t.Fatalf("duplicate name: %v, want a unique violation", err)
		}
		// Case-sensitive names on every engine (MySQL's default collation is not).
		if _, err := db.Exec(ctx, ins, "w2", "alpha", "active", true, nil, nil, store.TimeOf(now)); err != nil {
			t.Fatalf("names differing in case must both be allowed: %v", err)
		}

		var (
			name    string
			enabled bool
			gotX    store.JSON[map[string]string]
			gotB    []byte
			created store.Time
			deleted store.Time
		)
		err = db.QueryRow(ctx, "SELECT name, enabled, extra, data, created_at, deleted_at FROM widgets WHERE id = ?", "w1").
			Scan(&name, &enabled, &gotX, &gotB, &created, &deleted)
		if err != nil {
			t.Fatal(err)
		}
		if name != "Alpha" || enabled || gotX.V["k"] != "v" || string(gotB) != string(blob) || !created.Equal(now) || !deleted.IsZero() {
			t.Fatalf("round trip: %q %v %v %v %v %v", name, enabled, gotX, gotB, created, deleted)
		}

		// Compare-and-swap: only from the expected state.
		cas := "UPDATE widgets SET state = ? WHERE id = ? AND state = ?"
		if err := store.CAS(ctx, db, cas, "active", "w1", "building"); err != nil {
			t.Fatal(err)
		}
		if err := store.CAS(ctx, db, cas, "active", "w1", "building"); !errors.Is(err, store.ErrConflict) || !fault.IsConflict(err) {
			t.Fatalf("second CAS: %v, want a conflict", err)
		}
		// A CAS that sets the value it already has still counts as matched (MySQL).
		if err := store.CAS(ctx, db, "UPDATE widgets SET state = ? WHERE id = ? AND state = ?", "active", "w1", "active"); err != nil {
			t.Fatalf("no-op CAS: %v", err)
		}

		// Transactions roll back on error and retry nothing that is not retryable.
		boom := errors.New("boom")
		err = db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, "UPDATE widgets SET state = ? WHERE id = ?", "deleted", "w1"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		var state string
		db.QueryRow(ctx, "SELECT state FROM widgets WHERE id = ?", "w1").Scan(&state)
		if state != "active" {
			t.Fatalf("rolled back update is visible: %s", state)
		}

		// Upsert and InsertIgnore.
		up := db.Upsert("widgets", []string{"id", "name", "state", "enabled", "created_at"}, []string{"id"}, []string{"state"})
		if _, err := db.Exec(ctx, up, "w3", "Gamma", "a", true, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, up, "w3", "Gamma", "b", true, 1); err != nil {
			t.Fatal(err)
		}
		db.QueryRow(ctx, "SELECT state FROM widgets WHERE id = ?", "w3").Scan(&state)
		if state != "b" {
			t.Fatalf("upsert: state %s", state)
		}
		ig := db.InsertIgnore("widgets", []string{"id", "name", "state", "enabled", "created_at"})
		if _, err := db.Exec(ctx, ig, "w3", "Gamma", "c", true, 1); err != nil {
			t.Fatalf("insert ignore: %v", err)
		}

		// IN lists, serial ids and foreign keys.
		in, args := store.In([]string{"w1", "w3"})
		var n int
		db.QueryRow(ctx, "SELECT COUNT(*) FROM widgets WHERE id IN "+in, args...).Scan(&n)
		if n != 2 {
			t.Fatalf("IN: %d", n)
		}
		for i := 0; i < 3; i++ {
			if _, err := db.Exec(ctx, "INSERT INTO counters (widget_id, n) VALUES (?, ?)", "w1", i); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec(ctx, "INSERT INTO counters (widget_id, n) VALUES (?, ?)", "nope", 1); !store.IsForeignKey(err) {
			t.Fatalf("foreign key: %v", err)
		}
		db.Exec(ctx, "DELETE FROM widgets WHERE id = ?", "w1")
		db.QueryRow(ctx, "SELECT COUNT(*) FROM counters").Scan(&n)
		if n != 0 {
			t.Fatalf("ON DELETE CASCADE left %d rows", n)
		}
	})
}

// TestConcurrentCAS: of many goroutines racing one transition, exactly one wins.
func TestConcurrentCAS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Migrate(ctx, testMigrations); err != nil {
			t.Fatal(err)
		}
		db.Exec(ctx, "INSERT INTO widgets (id, name, state, created_at) VALUES ('w', 'w', 'free', 0)")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.Tx(ctx, func(tx *store.Tx) error {
					return store.CAS(ctx, tx, "UPDATE widgets SET state = 'taken' WHERE id = 'w' AND state = 'free'")
				})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, store.ErrConflict) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d winners, want 1", wins)
		}
	})
}

// TestConcurrentMigrate: two processes starting together apply each migration once.
func TestConcurrentMigrate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.Migrate(ctx, testMigrations)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int
		db.QueryRow(ctx, "SELECT COUNT(*) FROM tenku_migrations WHERE service = 'test'").Scan(&n)
		if n != 2 {
			t.Fatalf("%d migration rows, want 2", n)
		}
	})
}

func TestStatementsAndRebind(t *testing.T) {
	got := store.Statements("-- c\nCREATE TABLE a (x INT);\n\nCREATE INDEX i\n  ON a (x);\nINSERT INTO a VALUES (1)")
	if len(got) != 3 || got[1] != "CREATE INDEX i\n  ON a (x)" {
		t.Fatalf("Statements = %q", got)
	}
	db := &store.DB{Dialect: store.Postgres}
	if q := db.Rebind("SELECT * FROM t WHERE a = ? AND b = '?' AND c IN (?, ?)"); q != "SELECT * FROM t WHERE a = $1 AND b = '?' AND c IN ($2, $3)" {
		t.Fatalf("Rebind = %s", q)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"oracle://x", "::bad", "postgres://nobody@127.0.0.1:1/x?connect_timeout=1"} {
		if db, err := store.Open(ctx, u); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
	db, err := store.Open(ctx, "sqlite://:memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, testMigrations); err != nil {
		t.Fatalf("in-memory sqlite: %v", err)
	}
}

func TestEnsureDatabase(t *testing.T) {
	ctx := context.Background()
	for _, d := range []store.Dialect{store.Postgres, store.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			storetest.Open(t, d) // skips (or fails in CI) without the server
			name := "tenku_ensure_" + strings.ReplaceAll(strings.TrimPrefix(time.Now().Format("150405.000000"), ""), ".", "")
			u := storetest.ServerURL(d)
			pu, _ := url.Parse(u)
			pu.Path = "/" + name
			for i := 0; i < 2; i++ { // the second call finds it there
				if err := store.EnsureDatabase(ctx, pu.String()); err != nil {
					t.Fatal(err)
				}
			}
			db, err := store.Open(ctx, pu.String())
			if err != nil {
				t.Fatalf("open the ensured database: %v", err)
			}
			db.Close()
			drop := "DROP DATABASE " + name
			if d == store.Postgres {
				drop += " WITH (FORCE)"
			}
			srv, err := store.Open(ctx, u)
			if err == nil {
				srv.Exec(ctx, drop)
				srv.Close()
			}
		})
	}
	if err := store.EnsureDatabase(ctx, "postgres://x@127.0.0.1/a;drop"); err == nil {
		t.Fatal("a database name with ; must be refused")
	}
}

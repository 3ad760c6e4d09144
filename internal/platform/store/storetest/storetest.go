package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Dialects are all the engines tests run on.
var Dialects = []store.Dialect{store.SQLite, store.Postgres, store.MySQL}

// Each runs fn as a subtest on a fresh database of every dialect.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// ServerURL returns the admin URL of the test server for a dialect.
func ServerURL(d store.Dialect) string {
	switch d {
	case store.Postgres:
		if u := os.Getenv("TENKU_TEST_POSTGRES_URL"); u != "" {
			return u
		}
		return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	case store.MySQL:
		if u := os.Getenv("TENKU_TEST_MYSQL_URL"); u != "" {
			return u
		}
		return "mysql://root@127.0.0.1:3306/"
	}
	return ""
}

// Open returns a fresh empty database of the dialect, removed after the test.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	ctx := context.Background()
	if d == store.SQLite {
		db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	admin, err := store.Open(ctx, ServerURL(d))
	if err != nil {
		unavailable(t, d, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "tenku_test_" + hex.EncodeToString(b[:])
	create := "CREATE DATABASE " + name
	if d == store.MySQL {
		create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	}
	if _, err := admin.Exec(ctx, create); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	u, _ := url.Parse(ServerURL(d))
	u.Path = "/" + name
	db, err := store.Open(ctx, u.String())
	if err != nil {
		admin.Exec(ctx, "DROP DATABASE "+name)
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		drop := "DROP DATABASE IF EXISTS " + name
		if d == store.Postgres {
			drop += " WITH (FORCE)"
		}
		if _, err := admin.Exec(ctx, drop); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
		admin.Close()
	})
	return db
}

func unavailable(t testing.TB, d store.Dialect, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI and is unreachable: %v", d, err)
	}
	t.Skipf("%s unavailable: %v", d, err)
}

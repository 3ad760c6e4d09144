package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are a service's schema history: files named NNNN_description.sql in
// a directory of an fs.FS (embedded with go:embed), applied in order, each once.
// A file may be specialised per dialect as NNNN_description.postgres.sql (or
// .mysql.sql, .sqlite.sql), which then replaces the generic file for that dialect.
//
// Statements are separated by a line that ends with ';'. Portable type macros:
//
//	{{BLOB}}    BLOB / BYTEA / LONGBLOB
//	{{TEXT}}    TEXT / TEXT / LONGTEXT (unbounded text, never indexed)
//	{{SERIAL}}  an auto-increment BIGINT primary key column type
//
// Use VARCHAR(n) for anything indexed (MySQL indexes no TEXT), BIGINT for times
// (store.Time), BOOLEAN for flags, and keep composite unique keys within 3072
// bytes of utf8mb4 (three VARCHAR(255) at most) for MySQL.
type Migrations struct {
	// Service names the migration history (a row per service in tenku_migrations).
	Service string
	FS      fs.FS
	Dir     string
}

type migration struct {
	version int
	name    string
	file    string
}

func (m Migrations) list(d Dialect) ([]migration, error) {
	entries, err := fs.ReadDir(m.FS, m.Dir)
	if err != nil {
		return nil, err
	}
	generic, specific := map[int]migration{}, map[int]migration{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		base := strings.TrimSuffix(rest, ".sql")
		target := generic
		for _, dd := range []Dialect{SQLite, Postgres, MySQL} {
			if strings.HasSuffix(base, "."+string(dd)) {
				base = strings.TrimSuffix(base, "."+string(dd))
				target = specific
				if dd != d {
					target = nil
				}
			}
		}
		if target == nil {
			continue
		}
		if prev, ok := target[v]; ok {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev.file, name, v)
		}
		target[v] = migration{version: v, name: base, file: name}
	}
	for v, mg := range specific {
		generic[v] = mg
	}
	out := make([]migration, 0, len(generic))
	for _, mg := range generic {
		out = append(out, mg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

func (db *DB) expand(sqlText string) string {
	var blob, text, serial string
	switch db.Dialect {
	case Postgres:
		blob, text, serial = "BYTEA", "TEXT", "BIGSERIAL PRIMARY KEY"
	case MySQL:
		blob, text, serial = "LONGBLOB", "LONGTEXT", "BIGINT AUTO_INCREMENT PRIMARY KEY"
	default:
		blob, text, serial = "BLOB", "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"
	}
	return strings.NewReplacer("{{BLOB}}", blob, "{{TEXT}}", text, "{{SERIAL}}", serial).Replace(sqlText)
}

// Statements splits a migration into statements at lines ending with ';'.
func Statements(sqlText string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sqlText, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" && cur.Len() == 0 {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			s := strings.TrimSpace(cur.String())
			out = append(out, strings.TrimSuffix(s, ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Migrate applies the migrations not yet applied, under a lock so that two
// processes starting together do not both apply them. It returns the schema
// version reached.
func (db *DB) Migrate(ctx context.Context, m Migrations) (int, error) {
	list, err := m.list(db.Dialect)
	if err != nil {
		return 0, err
	}
	if db.Dialect == MySQL {
		// New tables inherit a case- and accent-sensitive collation, like the others.
		if _, err := db.Exec(ctx, "ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
			return 0, fmt.Errorf("set database collation: %w", err)
		}
	}
	unlock, err := db.Lock(ctx, "tenku_migrate")
	if err != nil {
		return 0, err
	}
	defer unlock()
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS tenku_migrations (
		service VARCHAR(64) NOT NULL, version INTEGER NOT NULL, name VARCHAR(255) NOT NULL,
		applied_at BIGINT NOT NULL, PRIMARY KEY (service, version))`); err != nil {
		return 0, fmt.Errorf("create migration table: %w", err)
	}

	applied := map[int]bool{}
	rows, err := db.w.QueryContext(ctx, db.Rebind("SELECT version FROM tenku_migrations WHERE service = ?"), m.Service)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return 0, err
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	version := 0
	for _, mg := range list {
		if applied[mg.version] {
			version = mg.version
			continue
		}
		body, err := fs.ReadFile(m.FS, path.Join(m.Dir, mg.file))
		if err != nil {
			return version, err
		}
		stmts := Statements(db.expand(string(body)))
		record := func(q Querier) error {
			_, err := q.Exec(ctx, "INSERT INTO tenku_migrations (service, version, name, applied_at) VALUES (?, ?, ?, ?)",
				m.Service, mg.version, mg.name, time.Now().UnixMicro())
			return err
		}
		if db.Dialect == MySQL {
			// MySQL commits DDL implicitly; a transaction would promise what it cannot keep.
			for _, s := range stmts {
				if _, err := db.Exec(ctx, s); err != nil {
					return version, fmt.Errorf("%s migration %s: %w", m.Service, mg.file, err)
				}
			}
			if err := record(db); err != nil {
				return version, err
			}
		} else {
			err := db.Tx(ctx, func(tx *Tx) error {
				// SQLite has no named lock: its single writer serialises these
				// transactions, so look again inside one.
				var n int
				if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM tenku_migrations WHERE service = ? AND version = ?", m.Service, mg.version).Scan(&n); err != nil || n > 0 {
					return err
				}
				for _, s := range stmts {
					if _, err := tx.Exec(ctx, s); err != nil {
						return fmt.Errorf("%s migration %s: %w", m.Service, mg.file, err)
					}
				}
				return record(tx)
			})
			if err != nil {
				return version, err
			}
		}
		version = mg.version
	}
	return version, nil
}

// Version returns the highest applied migration of a service (0 if none).
func (db *DB) Version(ctx context.Context, service string) (int, error) {
	var v *int64
	err := db.w.QueryRowContext(ctx, db.Rebind("SELECT MAX(version) FROM tenku_migrations WHERE service = ?"), service).Scan(&v)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "no such table") || strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "doesn't exist") {
			return 0, nil
		}
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	return int(*v), nil
}

// Lock takes a named lock shared by every process using the database server
// (an advisory lock on PostgreSQL, GET_LOCK on MySQL, which waits up to two
// minutes; SQLite needs none beyond its single writer) and returns its release.
// Names are at most 64 bytes.
func (db *DB) Lock(ctx context.Context, name string) (func(), error) {
	switch db.Dialect {
	case Postgres:
		conn, err := db.w.Conn(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext($1))", name); err != nil {
			conn.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		return func() {
			conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", name)
			conn.Close()
		}, nil
	case MySQL:
		conn, err := db.w.Conn(ctx)
		if err != nil {
			return nil, err
		}
		var got *int64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 120)", name).Scan(&got); err != nil || got == nil || *got != 1 {
			conn.Close()
			return nil, fmt.Errorf("lock %s not acquired: %v", name, err)
		}
		return func() {
			conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", name)
			conn.Close()
		}, nil
	}
	return func() {}, nil
}

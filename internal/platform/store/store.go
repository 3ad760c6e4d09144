package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Dialect names a database engine.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql"
)

// DB is a database handle with its dialect.
type DB struct {
	Dialect Dialect
	// URL is the (password-free) URL it was opened with, for logs.
	URL string
	w   *sql.DB
	r   *sql.DB
	// ws and rs cache the prepared statements of the writer and readers
	// (SQLite only; nil otherwise).
	ws, rs *stmtCache

	rebound sync.Map // query → rebound query
}

// Open connects to a database URL:
//
//	sqlite:///abs/path/file.db, sqlite://relative/file.db, sqlite://:memory:
//	postgres://user@host:5432/db?sslmode=disable (also postgresql://)
//	mysql://user:pass@host:3306/db (also mysql+pymysql://, oslo's spelling)
//
// A SQLite file's directory is created if needed.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	scheme, _, _ := strings.Cut(u.Scheme, "+")
	db := &DB{URL: redact(u)}
	switch scheme {
	case "sqlite", "sqlite3":
		db.Dialect = SQLite
		err = db.openSQLite(ctx, strings.TrimPrefix(rawURL[len(u.Scheme)+len("://"):], ""))
	case "postgres", "postgresql":
		db.Dialect = Postgres
		q := u.Query()
		if q.Get("sslmode") == "" {
			q.Set("sslmode", "prefer")
		}
		u.Scheme, u.RawQuery = "postgres", q.Encode()
		db.w, err = sql.Open("pgx", u.String())
		if err == nil {
			db.w.SetMaxOpenConns(16)
			db.w.SetMaxIdleConns(16)
			db.r = db.w
		}
	case "mysql", "mariadb":
		db.Dialect = MySQL
		cfg := mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net = "tcp"
		cfg.Addr = u.Host
		if !strings.Contains(cfg.Addr, ":") {
			cfg.Addr += ":3306"
		}
		if s := u.Query().Get("unix_socket"); s != "" {
			cfg.Net, cfg.Addr = "unix", s
		}
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		cfg.ClientFoundRows = true // CAS counts matched rows, not changed rows
		cfg.ParseTime = false
		cfg.Collation = "utf8mb4_bin"
		var conn driver.Connector
		conn, err = mysql.NewConnector(cfg)
		if err == nil {
			db.w = sql.OpenDB(conn)
			db.w.SetMaxOpenConns(16)
			db.w.SetMaxIdleConns(16)
			db.w.SetConnMaxLifetime(time.Hour)
			db.r = db.w
		}
	default:
		return nil, fmt.Errorf("database url %q: unknown scheme %q (want sqlite, postgres or mysql)", db.URL, u.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", db.URL, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.w.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", db.URL, err)
	}
	return db, nil
}

func redact(u *url.URL) string {
	c := *u
	if _, ok := c.User.Password(); ok {
		c.User = url.UserPassword(c.User.Username(), "***")
	}
	return c.String()
}

func (db *DB) openSQLite(ctx context.Context, path string) error {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	if path == ":memory:" || path == "" {
		// One connection, or each would see its own empty database.
		w, err := sql.Open("sqlite", "file::memory:?"+pragmas)
		if err != nil {
			return err
		}
		w.SetMaxOpenConns(1)
		db.w, db.r = w, w
		db.ws = newStmtCache(w)
		db.rs = db.ws
		return nil
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	dsn := "file:" + path + "?" + pragmas + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db.w, db.r = w, r
	db.ws, db.rs = newStmtCache(w), newStmtCache(r)
	return nil
}

// Close closes the pools.
func (db *DB) Close() error {
	var err error
	db.rs.close()
	db.ws.close()
	if db.r != nil && db.r != db.w {
		err = db.r.Close()
	}
	if db.w != nil {
		err = errors.Join(err, db.w.Close())
	}
	return err
}

// SQL returns the writer pool, for callers that need database/sql directly.
func (db *DB) SQL() *sql.DB { return db.w }

// Readers returns the reader pool: SQLite's own, the writer pool otherwise
// (for pool statistics).
func (db *DB) Readers() *sql.DB { return db.r }

// Rebind turns '?' placeholders into the dialect's ($1, $2, ... for PostgreSQL).
func (db *DB) Rebind(q string) string {
	if db.Dialect != Postgres {
		return q
	}
	if v, ok := db.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr
			b.WriteByte(c)
		case c == '?' && !inStr:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	db.rebound.Store(q, out)
	return out
}

// Querier is what both DB and Tx offer.
type Querier interface {
	Exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
	D() *DB
}

// Exec runs a statement on the writer.
func (db *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := db.ws.prepared(ctx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return db.w.ExecContext(ctx, db.Rebind(q), args...)
}

// Query runs a query on a reader.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := db.rs.prepared(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.r.QueryContext(ctx, db.Rebind(q), args...)
}

// QueryRow runs a one-row query on a reader.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if s := db.rs.prepared(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.r.QueryRowContext(ctx, db.Rebind(q), args...)
}

// D returns db.
func (db *DB) D() *DB { return db }

// Tx is a transaction on the writer.
type Tx struct {
	tx *sql.Tx
	db *DB
	// missed are the statements not yet in the writer's cache; they are
	// prepared once the transaction has given the connection back.
	missed []string
}

// stmt returns the cached statement of q bound to the transaction, or nil
// (q is then remembered, to be prepared after the transaction).
func (t *Tx) stmt(ctx context.Context, q string) *sql.Stmt {
	s, ok := t.db.ws.lookup(q)
	if s != nil {
		return t.tx.StmtContext(ctx, s)
	}
	if ok && !slices.Contains(t.missed, q) {
		t.missed = append(t.missed, q)
	}
	return nil
}

// Exec runs a statement in the transaction.
func (t *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.db.Rebind(q), args...)
}

// Query runs a query in the transaction.
func (t *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, t.db.Rebind(q), args...)
}

// QueryRow runs a one-row query in the transaction.
func (t *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if s := t.stmt(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.db.Rebind(q), args...)
}

// D returns the database of the transaction.
func (t *Tx) D() *DB { return t.db }

// Tx runs fn in a transaction and commits it, retrying the whole function when the
// database reports a serialization failure, deadlock or busy lock. fn must be
// safe to run again: no side effects outside the transaction.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
			}
		}
		err = db.tx1(ctx, fn)
		if err == nil || !IsRetryable(err) {
			return err
		}
	}
	return err
}

func (db *DB) tx1(ctx context.Context, fn func(tx *Tx) error) (err error) {
	var opts *sql.TxOptions
	if db.Dialect == MySQL {
		// InnoDB's REPEATABLE READ takes gap locks that deadlock concurrent
		// inserts; READ COMMITTED behaves as PostgreSQL does. (Set per
		// transaction: MariaDB 10.11 has no transaction_isolation variable.)
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	stx, err := db.w.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	t := &Tx{tx: stx, db: db}
	defer func() {
		if p := recover(); p != nil {
			stx.Rollback()
			panic(p)
		}
		if err != nil {
			stx.Rollback()
		}
		// The writer's connection is free again now that the transaction
		// has ended: statements it ran for the first time can be prepared.
		db.ws.prepareAll(ctx, t.missed)
	}()
	if err = fn(t); err != nil {
		return err
	}
	return stx.Commit()
}

// ErrNoRows is returned by helpers when a row is missing.
var ErrNoRows = sql.ErrNoRows

// CAS runs an UPDATE (or DELETE) whose WHERE clause states the expected current
// state, and returns a 409 fault when no row matched: someone else changed it
// first (or it is gone, which callers distinguish by reading it again).
func CAS(ctx context.Context, q Querier, stmt string, args ...any) error {
	res, err := q.Exec(ctx, stmt, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrConflict
	}
	return nil
}

// ErrConflict is the compare-and-swap failure.
var ErrConflict = fault.Conflict("the resource was changed by another request")

// IsUnique reports whether err is a unique-constraint violation.
func IsUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	return false
}

// IsForeignKey reports whether err is a foreign-key violation.
func IsForeignKey(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1451 || me.Number == 1452
	}
	return false
}

// IsRetryable reports whether a transaction failed for reasons that retrying can
// cure: busy/locked SQLite, serialization failures and deadlocks.
func IsRetryable(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	return false
}

// InsertIgnore returns "INSERT ... " in the dialect's way of skipping rows that
// violate a unique key: cols are the column list, conflict the unique key's columns.
func (db *DB) InsertIgnore(table string, cols []string) string {
	ph := placeholders(len(cols))
	switch db.Dialect {
	case MySQL:
		return fmt.Sprintf("INSERT IGNORE INTO %s (%s) VALUES (%s)", table, strings.Join(cols, ", "), ph)
	default:
		return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT DO NOTHING", table, strings.Join(cols, ", "), ph)
	}
}

// Upsert returns an insert that updates update on a conflict on the key columns.
func (db *DB) Upsert(table string, cols, key, update []string) string {
	ph := placeholders(len(cols))
	sets := make([]string, len(update))
	for i, c := range update {
		if db.Dialect == MySQL {
			sets[i] = fmt.Sprintf("%s = VALUES(%s)", c, c)
		} else {
			sets[i] = fmt.Sprintf("%s = excluded.%s", c, c)
		}
	}
	if db.Dialect == MySQL {
		return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON DUPLICATE KEY UPDATE %s", table, strings.Join(cols, ", "), ph, strings.Join(sets, ", "))
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s", table, strings.Join(cols, ", "), ph, strings.Join(key, ", "), strings.Join(sets, ", "))
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// In returns "(?, ?, ?)" for n values, for IN clauses, and the args spread.
func In[T any](vals []T) (string, []any) {
	if len(vals) == 0 {
		return "(NULL)", nil
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return "(" + placeholders(len(vals)) + ")", args
}

// EnsureDatabase creates the database a PostgreSQL or MySQL URL names when it
// does not exist yet (devstack creates each service's database the same way);
// SQLite files are created on open anyway.
func EnsureDatabase(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("database url: %w", err)
	}
	scheme, _, _ := strings.Cut(u.Scheme, "+")
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || strings.ContainsAny(name, "`\"'; ") {
		return fmt.Errorf("database url %s: no usable database name", redact(u))
	}
	admin := *u
	switch scheme {
	case "postgres", "postgresql":
		admin.Path = "/postgres"
	case "mysql", "mariadb":
		admin.Path = "/"
	default:
		return nil
	}
	db, err := Open(ctx, admin.String())
	if err != nil {
		return err
	}
	defer db.Close()
	if db.Dialect == MySQL {
		_, err = db.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
		return err
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM pg_database WHERE datname = ?", name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		// Replicas starting together race here: the loser sees 42P04
		// (duplicate_database) or, mid-commit, a unique violation.
		var pe *pgconn.PgError
		if _, err := db.Exec(ctx, `CREATE DATABASE "`+name+`"`); err != nil && !IsUnique(err) && !(errors.As(err, &pe) && pe.Code == "42P04") {
			return err
		}
	}
	return nil
}

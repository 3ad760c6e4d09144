// Package store is the SQL layer every tenku service uses: one database/sql code
// path over SQLite (modernc.org/sqlite, pure Go, the embedded default), PostgreSQL
// (pgx) and MariaDB/MySQL (go-sql-driver). Queries are written once with '?'
// placeholders; the dialect rebinds them. It provides embedded versioned
// migrations per service, transactions that retry on serialization failures and
// deadlocks, compare-and-swap updates, error classification (unique violations),
// and scanners for times and JSON columns.
//
// SQLite runs with WAL, one writer connection and a pool of readers, so concurrent
// writers queue in the process instead of failing with SQLITE_BUSY.
//
// Times are stored as BIGINT microseconds since the Unix epoch (store.Time), the
// one representation that compares, sorts and round-trips identically on all three.
//
// store imports platform/fault and the three drivers.
package store

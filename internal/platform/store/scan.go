package store

import (
	"context"
	"database/sql"
)

// Row is what a scan function reads one row from: *sql.Rows and *sql.Row
// both are one.
type Row = interface {
	Scan(dest ...any) error
}

// All runs a query and returns its rows, each read by scan, in order. The
// rows are closed whatever happens, and an error of the iteration itself
// (a lost connection half-way) is returned rather than a short list.
func All[T any](ctx context.Context, q Querier, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return Collect(rows, scan)
}

// Collect reads every row of rows with scan and closes them, for the
// callers that made the rows themselves.
func Collect[T any](rows *sql.Rows, scan func(Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Each runs a query and calls fn with every row, for the loops that fill a
// map or several values instead of a list.
func Each(ctx context.Context, q Querier, fn func(Row) error, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// One runs a one-row query and reads it with scan; no row is
// sql.ErrNoRows, for the caller to turn into its own not-found fault.
func One[T any](ctx context.Context, q Querier, scan func(Row) (T, error), query string, args ...any) (T, error) {
	return scan(q.QueryRow(ctx, query, args...))
}

// Column reads a row of one column into a T: store.All(ctx, q,
// store.Column[string], "SELECT id FROM ...").
func Column[T any](r Row) (T, error) {
	var v T
	err := r.Scan(&v)
	return v, err
}

package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations is the networking schema.
var Migrations = pstore.Migrations{Service: "network", FS: migrationFS, Dir: "migrations"}

// Store is the networking database.
type Store struct {
	Q
	db *pstore.DB
}

// New wraps a migrated database.
func New(db *pstore.DB) *Store { return &Store{Q: Q{q: db, d: db}, db: db} }

// DB returns the underlying database.
func (s *Store) DB() *pstore.DB { return s.db }

// Tx runs fn in a transaction, retrying it on serialization failures.
func (s *Store) Tx(ctx context.Context, fn func(q Q) error) error {
	return s.db.Tx(ctx, func(tx *pstore.Tx) error { return fn(Q{q: tx, d: s.db, tx: true}) })
}

// Q runs the store's queries on the database or inside a transaction.
type Q struct {
	q  pstore.Querier
	d  *pstore.DB
	tx bool
}

// InTx reports whether q is a transaction.
func (q Q) InTx() bool { return q.tx }

// Dialect returns the database engine.
func (q Q) Dialect() pstore.Dialect { return q.d.Dialect }

// forUpdate locks read rows until the transaction ends (SQLite has one writer
// and no such clause).
func (q Q) forUpdate() string {
	if !q.tx || q.d.Dialect == pstore.SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// ErrNotFound is returned (wrapped in a 404 fault by callers) when a row is missing.
var ErrNotFound = errors.New("not found")

// Scope is who lists: a project, or everyone (admins).
type Scope struct {
	ProjectID string
	All       bool
}

// Filter restricts a list to rows whose attribute (by API name) has one of
// the values. Values are typed as the attribute is (string, bool, int).
type Filter struct {
	Field  string
	Values []any
}

// TimeFormat is how Neutron renders standard-attribute times.
const TimeFormat = "2006-01-02T15:04:05Z"

func fmtTime(t pstore.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

// Now is the time new and updated rows get.
func Now() time.Time { return pstore.Now() }

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: json of %T: %v", v, err)) // only our own types reach here
	}
	return string(b)
}

// decodeList decodes a JSON list column, with a fast path for the empty list.
func decodeList[T any](raw string) []T {
	if raw == "" || raw == "[]" || raw == "null" {
		return []T{}
	}
	var out []T
	if err := json.Unmarshal([]byte(raw), &out); err != nil || out == nil {
		return []T{}
	}
	return out
}

func decodeMap(raw string) map[string]any {
	if raw == "" || raw == "{}" || raw == "null" {
		return map[string]any{}
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil || out == nil {
		return map[string]any{}
	}
	return out
}

// where builds a WHERE clause from conditions.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) in(col string, vals []any) {
	if len(vals) == 1 {
		w.add(col+" = ?", vals[0])
		return
	}
	ph, args := pstore.In(vals)
	w.add(col+" IN "+ph, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// column describes a filterable attribute.
type column struct {
	expr string
}

// applyFilters adds the filters for a resource's columns; tags filters are
// shared by every taggable resource. It fails with a 400 on unknown fields, so
// callers validate names first.
func applyFilters(w *where, resource, idCol string, cols map[string]column, filters []Filter) error {
	for _, f := range filters {
		if len(f.Values) == 0 {
			continue
		}
		switch f.Field {
		case "tags", "tags-any", "not-tags", "not-tags-any":
			tagFilter(w, resource, idCol, f)
			continue
		}
		c, ok := cols[f.Field]
		if !ok {
			return fault.BadRequest("['%s'] is invalid attribute for filtering", f.Field)
		}
		w.in(c.expr, f.Values)
	}
	return nil
}

func tagFilter(w *where, resource, idCol string, f Filter) {
	ph, args := pstore.In(f.Values)
	switch f.Field {
	case "tags": // all of them
		w.add(fmt.Sprintf("(SELECT COUNT(DISTINCT tag) FROM tags t WHERE t.resource_id = %s AND t.tag IN %s) = ?", idCol, ph),
			append(args, len(distinct(f.Values)))...)
	case "tags-any":
		w.add(fmt.Sprintf("EXISTS (SELECT 1 FROM tags t WHERE t.resource_id = %s AND t.tag IN %s)", idCol, ph), args...)
	case "not-tags": // not all of them
		w.add(fmt.Sprintf("(SELECT COUNT(DISTINCT tag) FROM tags t WHERE t.resource_id = %s AND t.tag IN %s) < ?", idCol, ph),
			append(args, len(distinct(f.Values)))...)
	case "not-tags-any":
		w.add(fmt.Sprintf("NOT EXISTS (SELECT 1 FROM tags t WHERE t.resource_id = %s AND t.tag IN %s)", idCol, ph), args...)
	}
	_ = resource
}

func distinct(vals []any) map[any]bool {
	m := make(map[any]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}

// nullStr maps "" to NULL.
func nullStr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func strPtr(ns sql.NullString) *string {
	if !ns.Valid {
		return nil
	}
	s := ns.String
	return &s
}

func intPtr(ni sql.NullInt64) *int {
	if !ni.Valid {
		return nil
	}
	v := int(ni.Int64)
	return &v
}

// rowsAffected returns the number of rows a statement changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// cas runs an update guarded by revision_number and says ErrNotFound when the
// row is gone, a conflict fault when it changed.
func (q Q) cas(ctx context.Context, table, id string, rev int64, stmt string, args ...any) error {
	n, err := rowsAffected(q.q.Exec(ctx, stmt, args...))
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	var cur int64
	err = q.q.QueryRow(ctx, "SELECT revision_number FROM "+table+" WHERE id = ?", id).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return pstore.ErrConflict
}

// IsNotFound reports whether err is ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// tagsFor loads the tags of the given resources (all of the type when ids is
// nil, or longer than an IN list should be).
func (q Q) tagsFor(ctx context.Context, resource string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	stmt, args := "SELECT resource_id, tag FROM tags WHERE resource_type = ? ORDER BY resource_id, tag", []any{resource}
	if ids != nil && len(ids) <= 500 {
		if len(ids) == 0 {
			return out, nil
		}
		var ph string
		ph, args = pstore.In(ids)
		stmt = "SELECT resource_id, tag FROM tags WHERE resource_id IN " + ph + " ORDER BY resource_id, tag"
	}
	err := pstore.Each(ctx, q.q, func(r pstore.Row) error {
		var id, tag string
		err := r.Scan(&id, &tag)
		out[id] = append(out[id], tag)
		return err
	}, stmt, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// addTags gives listed resources of a type their tags, read in one query
// (for all of the type when all is set); tags names a resource's id and
// its Tags field.
func addTags[T any](ctx context.Context, q Q, resource string, items []T, all bool, tags func(T) (string, *[]string)) error {
	if len(items) == 0 {
		return nil
	}
	var ids []string
	if !all {
		ids = make([]string, len(items))
		for i, it := range items {
			ids[i], _ = tags(it)
		}
	}
	m, err := q.tagsFor(ctx, resource, ids)
	if err != nil {
		return err
	}
	for _, it := range items {
		if id, field := tags(it); m[id] != nil {
			*field = m[id]
		}
	}
	return nil
}

// Tags returns the tags of one resource.
func (q Q) Tags(ctx context.Context, resourceID string) ([]string, error) {
	m, err := q.tagsFor(ctx, "", []string{resourceID})
	if err != nil {
		return nil, err
	}
	if m[resourceID] == nil {
		return []string{}, nil
	}
	return m[resourceID], nil
}

// SetTags replaces the tags of a resource.
func (q Q) SetTags(ctx context.Context, resource, resourceID string, tags []string) error {
	if _, err := q.q.Exec(ctx, "DELETE FROM tags WHERE resource_id = ?", resourceID); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if seen[t] {
			continue
		}
		seen[t] = true
		if _, err := q.q.Exec(ctx, "INSERT INTO tags (resource_type, resource_id, tag) VALUES (?, ?, ?)", resource, resourceID, t); err != nil {
			return err
		}
	}
	return nil
}

// AddTag adds one tag (no-op when present).
func (q Q) AddTag(ctx context.Context, resource, resourceID, tag string) error {
	_, err := q.q.Exec(ctx, q.d.InsertIgnore("tags", []string{"resource_type", "resource_id", "tag"}), resource, resourceID, tag)
	return err
}

// DeleteTag removes one tag and reports whether it was there.
func (q Q) DeleteTag(ctx context.Context, resourceID, tag string) (bool, error) {
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM tags WHERE resource_id = ? AND tag = ?", resourceID, tag))
	return n > 0, err
}

// BumpRevision increments a resource's revision (tags and other attribute
// changes count as updates).
func (q Q) BumpRevision(ctx context.Context, table, id string) error {
	_, err := q.q.Exec(ctx, "UPDATE "+table+" SET revision_number = revision_number + 1, updated_at = ? WHERE id = ?", pstore.TimeOf(Now()), id)
	return err
}

var _ = netapi.StatusActive

package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Caller is who lists: their project (the image owner they match) and
// whether they are an admin, who sees every image.
type Caller struct {
	ProjectID string
	Admin     bool
}

// Sort is one sort key of a listing.
type Sort struct {
	Key  string // one of SortKeys
	Desc bool
}

// SortKeys are the keys images may be sorted by, as Glance allows them.
var SortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"}

// sortExpr is the SQL expression of each sort key; nullable columns are
// coalesced so that every engine orders NULLs the same way and keyset
// comparisons work.
var sortExpr = map[string]string{
	"name":             "COALESCE(i.name, '')",
	"status":           "i.status",
	"container_format": "COALESCE(i.container_format, '')",
	"disk_format":      "COALESCE(i.disk_format, '')",
	"size":             "COALESCE(i.size, -1)",
	"id":               "i.id",
	"created_at":       "i.created_at",
	"updated_at":       "i.updated_at",
}

// Cond is a comparison of a column with a value, as Glance's filter
// operators express them (eq, neq, in, gt, gte, lt, lte).
type Cond struct {
	Column string
	Op     string
	Values []any
}

// Query selects images for GET /v2/images.
type Query struct {
	Caller Caller
	// MemberStatus restricts shared images the caller is a member of to
	// those the caller answered so: pending, accepted (the default),
	// rejected, or all.
	MemberStatus string
	// Visibility restricts the listing to one visibility; "all" or ""
	// (where community images appear only to their owner) otherwise.
	Visibility string
	// Conds compare columns of images.
	Conds []Cond
	// Properties must all match exactly.
	Properties map[string]string
	// Tags must all be present.
	Tags []string
	// Sort keys; created_at and id are appended when missing, as Glance
	// does, so the order is total.
	Sort []Sort
	// Marker is the id of the last image of the previous page: the
	// listing starts after it. A marker the caller cannot see is
	// ErrNotFound.
	Marker string
	Limit  int
}

// Columns that Cond may name, mapped to their SQL.
var condColumns = map[string]string{
	"id": "i.id", "name": "i.name", "status": "i.status", "visibility": "i.visibility",
	"container_format": "i.container_format", "disk_format": "i.disk_format",
	"size": "i.size", "virtual_size": "i.virtual_size", "min_disk": "i.min_disk", "min_ram": "i.min_ram",
	"owner": "i.owner", "checksum": "i.checksum", "os_hash_algo": "i.os_hash_algo", "os_hash_value": "i.os_hash_value",
	"protected": "i.protected", "os_hidden": "i.os_hidden", "created_at": "i.created_at", "updated_at": "i.updated_at",
}

// IsColumn reports whether name is an image column a filter compares
// directly (anything else filters custom properties).
func IsColumn(name string) bool {
	_, ok := condColumns[name]
	return ok
}

var condOps = map[string]string{"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

// ListImages returns a page of the images the caller may see.
func (d *DB) ListImages(ctx context.Context, q Query) ([]*Image, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	add("i.deleted = ?", false)
	add("i.status <> ?", string(image.StatusKilled))
	if !q.Caller.Admin {
		member := "i.visibility = ? AND EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = i.id AND m.member = ?"
		margs := []any{string(image.VisibilityShared), q.Caller.ProjectID}
		if q.MemberStatus != "all" {
			st := q.MemberStatus
			if st == "" {
				st = string(image.MemberAccepted)
			}
			member += " AND m.status = ?"
			margs = append(margs, st)
		}
		member += ")"
		add("(i.visibility IN (?, ?) OR i.owner = ? OR ("+member+"))",
			append([]any{string(image.VisibilityPublic), string(image.VisibilityCommunity), q.Caller.ProjectID}, margs...)...)
	}
	switch q.Visibility {
	case "all":
	case "":
		if q.Caller.ProjectID == "" {
			add("i.visibility <> ?", string(image.VisibilityCommunity))
		} else {
			add("(i.owner = ? OR i.visibility <> ?)", q.Caller.ProjectID, string(image.VisibilityCommunity))
		}
	default:
		add("i.visibility = ?", q.Visibility)
	}
	for _, c := range q.Conds {
		col, ok := condColumns[c.Column]
		if !ok {
			return nil, fmt.Errorf("db: cannot filter on %q", c.Column)
		}
		switch c.Op {
		case "in":
			in, a := store.In(c.Values)
			add(col+" IN "+in, a...)
		default:
			op, ok := condOps[c.Op]
			if !ok || len(c.Values) != 1 {
				return nil, fmt.Errorf("db: bad operator %q", c.Op)
			}
			add(col+" "+op+" ?", c.Values[0])
		}
	}
	for _, k := range sortedKeys(q.Properties) {
		add("EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = i.id AND p.name = ? AND p.value = ?)", k, q.Properties[k])
	}
	for _, t := range q.Tags {
		add("EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.value = ?)", t)
	}

	keys := append([]Sort(nil), q.Sort...)
	if len(keys) == 0 {
		keys = []Sort{{Key: "created_at", Desc: true}}
	}
	defDesc := keys[len(keys)-1].Desc
	if len(q.Sort) == 0 {
		defDesc = true
	}
	for _, k := range []string{"created_at", "id"} {
		if !hasKey(keys, k) {
			keys = append(keys, Sort{Key: k, Desc: defDesc})
		}
	}
	for _, k := range keys {
		if _, ok := sortExpr[k.Key]; !ok {
			return nil, fmt.Errorf("db: bad sort key %q", k.Key)
		}
	}
	if q.Marker != "" {
		mq := q
		mq.Marker, mq.Limit, mq.Conds, mq.Properties, mq.Tags, mq.Visibility = "", 1, []Cond{{Column: "id", Op: "eq", Values: []any{q.Marker}}}, nil, nil, "all"
		if mq.MemberStatus != "all" {
			// A marker the caller may see under any membership status.
			mq.MemberStatus = "all"
		}
		ms, err := d.ListImages(ctx, mq)
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, ErrNotFound
		}
		cond, a := keyset(keys, ms[0])
		add(cond, a...)
	}

	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(imageColsQualified)
	b.WriteString(" FROM images i WHERE ")
	b.WriteString(strings.Join(where, " AND "))
	b.WriteString(" ORDER BY ")
	for n, k := range keys {
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sortExpr[k.Key])
		if k.Desc {
			b.WriteString(" DESC")
		} else {
			b.WriteString(" ASC")
		}
	}
	if q.Limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", q.Limit)
	}
	out, err := store.All(ctx, d.s, scanImage, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	if err := loadDetails(ctx, d.s, out); err != nil {
		return nil, err
	}
	return out, nil
}

func hasKey(keys []Sort, k string) bool {
	for _, s := range keys {
		if s.Key == k {
			return true
		}
	}
	return false
}

// sortValue is an image's value for a sort key, coalesced as sortExpr is.
func sortValue(im *Image, key string) any {
	switch key {
	case "name":
		if im.Name == nil {
			return ""
		}
		return *im.Name
	case "status":
		return string(im.Status)
	case "container_format":
		return im.ContainerFormat
	case "disk_format":
		return im.DiskFormat
	case "size":
		if im.Size == nil {
			return int64(-1)
		}
		return *im.Size
	case "id":
		return im.ID
	case "created_at":
		return store.TimeOf(im.CreatedAt)
	case "updated_at":
		return store.TimeOf(im.UpdatedAt)
	}
	return nil
}

// keyset builds the condition "after the marker in this order":
// (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ..., with < for descending keys.
func keyset(keys []Sort, marker *Image) (string, []any) {
	var ors []string
	var args []any
	for n := range keys {
		var ands []string
		for _, prev := range keys[:n] {
			ands = append(ands, sortExpr[prev.Key]+" = ?")
			args = append(args, sortValue(marker, prev.Key))
		}
		op := " > ?"
		if keys[n].Desc {
			op = " < ?"
		}
		ands = append(ands, sortExpr[keys[n].Key]+op)
		args = append(args, sortValue(marker, keys[n].Key))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// Usage is a project's consumption of the resources Glance's unified
// limits govern.
type Usage struct {
	// Images counts undeleted images (image_count_total).
	Images int64
	// Uploading counts images being uploaded, staged or imported
	// (image_count_uploading).
	Uploading int64
	// Size is the bytes of active data (image_size_total).
	Size int64
	// Staged is the bytes of staged data (image_stage_total).
	Staged int64
}

// Usage returns an owner's usage.
func (d *DB) Usage(ctx context.Context, owner string) (Usage, error) {
	var u Usage
	var size, staged *int64
	err := d.s.QueryRow(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN status IN (?, ?, ?) THEN 1 ELSE 0 END), 0),
		SUM(CASE WHEN status NOT IN (?, ?) THEN size ELSE NULL END),
		SUM(staged_size)
		FROM images WHERE owner = ? AND deleted = ?`,
		string(image.StatusSaving), string(image.StatusUploading), string(image.StatusImporting),
		string(image.StatusKilled), string(image.StatusDeleted),
		owner, false).Scan(&u.Images, &u.Uploading, &size, &staged)
	if err != nil {
		return u, fmt.Errorf("image usage of %s: %w", owner, err)
	}
	if size != nil {
		u.Size = *size
	}
	if staged != nil {
		u.Staged = *staged
	}
	return u, nil
}

// IsNotFound reports whether err is ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// timeArg converts a time for a Cond on created_at or updated_at.
func timeArg(t time.Time) any { return store.TimeOf(t) }

// TimeCond is a Cond comparing created_at or updated_at with t.
func TimeCond(column, op string, t time.Time) Cond {
	return Cond{Column: column, Op: op, Values: []any{timeArg(t)}}
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Listing instances: the SQL filter, sort and keyset paging of a server
// list, and the tags and faults loaded for a page in a few queries.

// InstanceFilter selects instances in SQL; the API applies the rest of
// Nova's filters (regular expressions, IP addresses) in Go.
type InstanceFilter struct {
	ProjectID     string
	UserID        string
	UUIDs         []string
	Host          string
	Node          string
	VMStates      []states.VM
	TaskStates    []states.Task
	ImageRef      string
	FlavorID      string
	ReservationID string
	KeyName       string
	AZ            string
	ChangesSince  time.Time
	ChangesBefore time.Time
	// Deleted: nil excludes deleted instances (unless ChangesSince is set,
	// as Nova), true selects only deleted ones, false only live ones.
	Deleted *bool
	// Locked filters on the lock (2.73).
	Locked *bool
	// Tags/TagsAny/NotTags/NotTagsAny are the 2.26 tag filters.
	Tags, TagsAny, NotTags, NotTagsAny []string
	// SortKeys are instance columns; SortDirs "asc"/"desc". Empty sorts by
	// created_at desc, as Nova.
	SortKeys []string
	SortDirs []string
	// Limit bounds the rows when positive (callers that filter further in Go
	// leave it 0).
	Limit int
	// Marker, when set, starts the list after that instance in the sort
	// order (keyset paging in the database); an instance the filter does
	// not select is fault.BadRequest "marker [...] not found", as Nova.
	Marker string
}

// SortableColumns maps Nova's sort keys to columns.
var SortableColumns = map[string]string{
	"access_ip_v4": "access_ip_v4", "access_ip_v6": "access_ip_v6", "auto_disk_config": "auto_disk_config",
	"availability_zone": "availability_zone", "config_drive": "config_drive", "created_at": "created_at",
	"display_description": "display_description", "display_name": "display_name", "host": "host",
	"hostname": "hostname", "image_ref": "image_ref", "instance_type_id": "flavor_id", "kernel_id": "kernel_id",
	"key_name": "key_name", "launch_index": "launch_index", "launched_at": "launched_at", "locked": "locked_by",
	"locked_by": "locked_by", "node": "node", "power_state": "power_state", "progress": "progress",
	"project_id": "project_id", "ramdisk_id": "ramdisk_id", "root_device_name": "root_device_name",
	"task_state": "task_state", "terminated_at": "terminated_at", "updated_at": "updated_at", "user_id": "user_id",
	"uuid": "uuid", "vm_state": "vm_state", "id": "id",
}

// Instances lists instances matching f, sorted.
func (s *Store) Instances(ctx context.Context, f InstanceFilter) ([]*objects.Instance, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	switch {
	case f.Deleted != nil:
		add("deleted = ?", *f.Deleted)
	case f.ChangesSince.IsZero() && f.ChangesBefore.IsZero():
		add("deleted = FALSE")
	}
	if f.ProjectID != "" {
		add("project_id = ?", f.ProjectID)
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.UUIDs != nil {
		if len(f.UUIDs) == 0 {
			return nil, nil
		}
		in, a := store.In(f.UUIDs)
		add("uuid IN "+in, a...)
	}
	if f.Host != "" {
		add("host = ?", f.Host)
	}
	if f.Node != "" {
		add("node = ?", f.Node)
	}
	if len(f.VMStates) > 0 {
		in, a := store.In(states.VMs(f.VMStates))
		add("vm_state IN "+in, a...)
	}
	if len(f.TaskStates) > 0 {
		in, a := store.In(states.Tasks(f.TaskStates))
		add("task_state IN "+in, a...)
	}
	if f.ImageRef != "" {
		add("image_ref = ?", f.ImageRef)
	}
	if f.FlavorID != "" {
		add("flavor_id = ?", f.FlavorID)
	}
	if f.ReservationID != "" {
		add("reservation_id = ?", f.ReservationID)
	}
	if f.KeyName != "" {
		add("key_name = ?", f.KeyName)
	}
	if f.AZ != "" {
		add("availability_zone = ?", f.AZ)
	}
	if !f.ChangesSince.IsZero() {
		add("updated_at >= ?", store.TimeOf(f.ChangesSince))
	}
	if !f.ChangesBefore.IsZero() {
		add("updated_at <= ?", store.TimeOf(f.ChangesBefore))
	}
	if f.Locked != nil {
		if *f.Locked {
			add("locked_by <> ''")
		} else {
			add("locked_by = ''")
		}
	}
	for _, t := range f.Tags {
		add("uuid IN (SELECT instance_uuid FROM instance_tags WHERE tag = ?)", t)
	}
	if len(f.TagsAny) > 0 {
		in, a := store.In(f.TagsAny)
		add("uuid IN (SELECT instance_uuid FROM instance_tags WHERE tag IN "+in+")", a...)
	}
	if len(f.NotTags) > 0 {
		// Not having all of them.
		in, a := store.In(f.NotTags)
		add(fmt.Sprintf("uuid NOT IN (SELECT instance_uuid FROM instance_tags WHERE tag IN %s GROUP BY instance_uuid HAVING COUNT(*) = %d)", in, len(f.NotTags)), a...)
	}
	if len(f.NotTagsAny) > 0 {
		in, a := store.In(f.NotTagsAny)
		add("uuid NOT IN (SELECT instance_uuid FROM instance_tags WHERE tag IN "+in+")", a...)
	}
	if f.Marker != "" {
		cond, a, err := s.afterMarker(ctx, where, args, f)
		if err != nil {
			return nil, err
		}
		add(cond, a...)
	}
	q := "SELECT " + instanceCols + " FROM instances"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + orderBy(f.SortKeys, f.SortDirs)
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	out, err := store.All(ctx, s.db, scanInstance, q, args...)
	return out, wrap("list instances", err)
}

// afterMarker is the condition that selects the rows after the marker
// instance in the list's order: for sort columns c1..cn (id last),
// c1 > v1 OR (c1 = v1 AND c2 > v2) OR ..., with < for descending ones. The
// marker is looked up with the list's own filter. A marker row with a NULL
// sort column is refused with ErrMarkerNull, for the caller to page in Go
// (engines order NULLs differently, and NULL compares to nothing).
func (s *Store) afterMarker(ctx context.Context, where []string, args []any, f InstanceFilter) (string, []any, error) {
	cols := orderCols(f.SortKeys, f.SortDirs)
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.col
	}
	q := "SELECT " + strings.Join(names, ", ") + " FROM instances WHERE " + strings.Join(append(slices.Clone(where), "uuid = ?"), " AND ")
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	err := s.db.QueryRow(ctx, q, append(slices.Clone(args), f.Marker)...).Scan(ptrs...)
	if errNoRows(err) {
		return "", nil, fault.BadRequest("marker [%s] not found", f.Marker)
	}
	if err != nil {
		return "", nil, wrap("find marker", err)
	}
	var ors []string
	var out []any
	for i, c := range cols {
		if vals[i] == nil {
			return "", nil, ErrMarkerNull
		}
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, cols[j].col+" = ?")
			out = append(out, vals[j])
		}
		op := " > ?"
		if c.desc {
			op = " < ?"
		}
		ands = append(ands, c.col+op)
		out = append(out, vals[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", out, nil
}

// ErrMarkerNull: the marker's row has a NULL in a sort column, so the
// database cannot page after it; the caller pages in Go instead.
var ErrMarkerNull = errors.New("marker has a NULL sort column")

type sortCol struct {
	col  string
	desc bool
}

func orderBy(keys, dirs []string) string {
	cols := orderCols(keys, dirs)
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.col + " ASC"
		if c.desc {
			parts[i] = c.col + " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

// orderCols is the list's sort: Nova's sort keys as columns with their
// directions (a key without a direction takes the one before it, DESC at
// first), created_at when none, and id last as the tie-breaker.
func orderCols(keys, dirs []string) []sortCol {
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	var parts []sortCol
	seen := map[string]bool{}
	lastDir := "DESC"
	for i, k := range keys {
		col, ok := SortableColumns[k]
		if !ok || seen[col] {
			continue
		}
		seen[col] = true
		dir := "DESC"
		if i < len(dirs) {
			if strings.EqualFold(dirs[i], "asc") {
				dir = "ASC"
			}
		} else if len(dirs) > 0 {
			dir = lastDir
		}
		lastDir = dir
		parts = append(parts, sortCol{col, dir == "DESC"})
	}
	if !seen["id"] {
		parts = append(parts, sortCol{"id", lastDir == "DESC"})
	}
	return parts
}

// LoadExtras loads tags and faults for listed instances in a few queries.
func (s *Store) LoadExtras(ctx context.Context, insts []*objects.Instance, tags, faults bool) error {
	if len(insts) == 0 {
		return nil
	}
	ids := make([]string, len(insts))
	for i, in := range insts {
		ids[i] = in.UUID
	}
	if tags {
		m, err := s.tagsOf(ctx, s.db, ids)
		if err != nil {
			return err
		}
		for _, in := range insts {
			in.Tags = m[in.UUID]
			if in.Tags == nil {
				in.Tags = []string{}
			}
		}
	}
	if faults {
		var errIDs []string
		for _, in := range insts {
			if in.VMState == states.Error || in.Deleted {
				errIDs = append(errIDs, in.UUID)
			}
		}
		if len(errIDs) > 0 {
			m, err := s.faultsOf(ctx, s.db, errIDs)
			if err != nil {
				return err
			}
			for _, in := range insts {
				in.Fault = m[in.UUID]
			}
		}
	}
	return nil
}

func (s *Store) tagsOf(ctx context.Context, q store.Querier, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	err := eachIn(ctx, q, ids, func(in string) string {
		return "SELECT instance_uuid, tag FROM instance_tags WHERE instance_uuid IN " + in + " ORDER BY tag"
	}, func(r store.Row) error {
		var id, tag string
		err := r.Scan(&id, &tag)
		out[id] = append(out[id], tag)
		return err
	})
	if err != nil {
		return nil, wrap("list tags", err)
	}
	return out, nil
}

func (s *Store) faultsOf(ctx context.Context, q store.Querier, ids []string) (map[string]*objects.Fault, error) {
	out := map[string]*objects.Fault{}
	err := eachIn(ctx, q, ids, func(in string) string {
		return "SELECT instance_uuid, code, message, details, host, created_at FROM instance_faults WHERE instance_uuid IN " + in + " ORDER BY id"
	}, func(r store.Row) error {
		var (
			id      string
			f       objects.Fault
			details sql.NullString
			created store.Time
		)
		if err := r.Scan(&id, &f.Code, &f.Message, &details, &f.Host, &created); err != nil {
			return err
		}
		f.Details, f.CreatedAt = details.String, created.Time
		out[id] = &f // the newest wins
		return nil
	})
	if err != nil {
		return nil, wrap("list faults", err)
	}
	return out, nil
}

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

const instanceCols = `id, uuid, project_id, user_id, display_name, display_description, hostname, image_ref,
	flavor, old_flavor, new_flavor, vm_state, task_state, power_state, host, node, launched_on, availability_zone,
	key_name, key_data, user_data, config_drive, metadata, system_metadata, network_info, security_groups, request_spec,
	access_ip_v4, access_ip_v6, locked_by, auto_disk_config, progress, reservation_id, launch_index, root_device_name,
	kernel_id, ramdisk_id, created_at, updated_at, launched_at, terminated_at, deleted_at, deleted`

type scanner = store.Row

func scanInstance(r scanner) (*objects.Instance, error) {
	var (
		i                          objects.Instance
		desc, keyData, userData    sql.NullString
		flavor                     store.JSON[objects.Flavor]
		oldFlavor, newFlavor       store.JSON[*objects.Flavor]
		meta, sysMeta              store.JSON[map[string]string]
		netInfo                    store.JSON[[]objects.VIF]
		secGroups                  store.JSON[[]string]
		spec                       store.JSON[*objects.RequestSpec]
		vm, task                   string
		power                      int
		created, updated, launched store.Time
		terminated, deletedAt      store.Time
	)
	err := r.Scan(&i.ID, &i.UUID, &i.ProjectID, &i.UserID, &i.DisplayName, &desc, &i.Hostname, &i.ImageRef,
		&flavor, &oldFlavor, &newFlavor, &vm, &task, &power, &i.Host, &i.Node, &i.LaunchedOn, &i.AvailabilityZone,
		&i.KeyName, &keyData, &userData, &i.ConfigDrive, &meta, &sysMeta, &netInfo, &secGroups, &spec,
		&i.AccessIPv4, &i.AccessIPv6, &i.LockedBy, &i.AutoDiskConfig, &i.Progress, &i.ReservationID, &i.LaunchIndex,
		&i.RootDeviceName, &i.KernelID, &i.RamdiskID, &created, &updated, &launched, &terminated, &deletedAt, &i.Deleted)
	if err != nil {
		return nil, err
	}
	if desc.Valid {
		d := desc.String
		i.Description = &d
	}
	i.KeyData, i.UserData = keyData.String, userData.String
	i.Flavor, i.OldFlavor, i.NewFlavor = flavor.V, oldFlavor.V, newFlavor.V
	i.VMState, i.TaskState, i.PowerState = states.VM(vm), states.Task(task), states.Power(power)
	i.Metadata, i.SystemMetadata = meta.V, sysMeta.V
	if i.Metadata == nil {
		i.Metadata = map[string]string{}
	}
	if i.SystemMetadata == nil {
		i.SystemMetadata = map[string]string{}
	}
	i.NetworkInfo, i.SecurityGroups, i.RequestSpec = netInfo.V, secGroups.V, spec.V
	i.CreatedAt, i.UpdatedAt, i.LaunchedAt = created.Time, updated.Time, launched.Time
	i.TerminatedAt, i.DeletedAt = terminated.Time, deletedAt.Time
	return &i, nil
}

func nullText(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// NewInstance is an instance to create with what comes with it.
type NewInstance struct {
	Instance *objects.Instance
	Tags     []string
	BDMs     []objects.BDM
	GroupID  int64
}

// CreateInstances inserts instances, their tags, block device mappings,
// group memberships and a "create" action for each, after reserving quota:
// all in one transaction, so that concurrent requests never exceed a limit.
// It fills in each instance's database id.
func (s *Store) CreateInstances(ctx context.Context, insts []NewInstance, quota *Reservation, action ActionStart) error {
	if err := s.prepareUsage(ctx, quota); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if quota != nil {
			if err := s.reserve(ctx, tx, quota); err != nil {
				return err
			}
		}
		for _, n := range insts {
			if err := s.insertInstance(ctx, tx, n.Instance); err != nil {
				return err
			}
			for _, t := range n.Tags {
				if _, err := tx.Exec(ctx, "INSERT INTO instance_tags (instance_uuid, tag) VALUES (?, ?)", n.Instance.UUID, t); err != nil && !store.IsUnique(err) {
					return wrap("insert tag", err)
				}
			}
			for i := range n.BDMs {
				b := n.BDMs[i]
				b.InstanceUUID = n.Instance.UUID
				if err := insertBDM(ctx, tx, &b, s.now()); err != nil {
					return err
				}
			}
			if n.GroupID != 0 {
				if _, err := tx.Exec(ctx, "INSERT INTO instance_group_member (group_id, instance_uuid) VALUES (?, ?)", n.GroupID, n.Instance.UUID); err != nil {
					return wrap("insert group member", err)
				}
			}
			a := action
			a.InstanceUUID = n.Instance.UUID
			if _, err := s.startAction(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) insertInstance(ctx context.Context, tx *store.Tx, i *objects.Instance) error {
	now := s.now()
	if i.CreatedAt.IsZero() {
		i.CreatedAt = now
	}
	i.UpdatedAt = i.CreatedAt
	if i.Metadata == nil {
		i.Metadata = map[string]string{}
	}
	if i.SystemMetadata == nil {
		i.SystemMetadata = map[string]string{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO instances (uuid, project_id, user_id, display_name, display_description, hostname,
		image_ref, flavor_id, flavor, vm_state, task_state, power_state, host, node, availability_zone, key_name, key_data,
		user_data, config_drive, metadata, system_metadata, network_info, security_groups, request_spec, access_ip_v4,
		access_ip_v6, auto_disk_config, reservation_id, launch_index, vcpus, memory_mb, root_gb, ephemeral_gb,
		created_at, updated_at, deleted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE)`,
		i.UUID, i.ProjectID, i.UserID, i.DisplayName, nullText(i.Description), i.Hostname,
		i.ImageRef, i.Flavor.FlavorID, store.JSONOf(i.Flavor), string(i.VMState), string(i.TaskState), int(i.PowerState),
		i.Host, i.Node, i.AvailabilityZone, i.KeyName, i.KeyData,
		i.UserData, i.ConfigDrive, store.JSONOf(i.Metadata), store.JSONOf(i.SystemMetadata), store.JSONOf(i.NetworkInfo),
		store.JSONOf(i.SecurityGroups), store.JSONOf(i.RequestSpec), i.AccessIPv4,
		i.AccessIPv6, i.AutoDiskConfig, i.ReservationID, i.LaunchIndex, i.Flavor.VCPUs, i.Flavor.MemoryMB, i.Flavor.RootGB,
		i.Flavor.EphemeralGB, store.TimeOf(i.CreatedAt), store.TimeOf(i.UpdatedAt))
	if err != nil {
		if store.IsUnique(err) {
			return fault.Conflict("Instance %s already exists.", i.UUID)
		}
		return wrap("insert instance", err)
	}
	return tx.QueryRow(ctx, "SELECT id FROM instances WHERE uuid = ?", i.UUID).Scan(&i.ID)
}

// GetOptions say what to load with an instance.
type GetOptions struct {
	// ReadDeleted finds deleted instances too.
	ReadDeleted bool
	// Tags and Fault load those.
	Tags  bool
	Fault bool
}

// Instance returns an instance by UUID (404 when missing or deleted).
func (s *Store) Instance(ctx context.Context, uuid string, o GetOptions) (*objects.Instance, error) {
	return s.instance(ctx, s.db, uuid, o)
}

func (s *Store) instance(ctx context.Context, q store.Querier, uuid string, o GetOptions) (*objects.Instance, error) {
	query := "SELECT " + instanceCols + " FROM instances WHERE uuid = ?"
	if !o.ReadDeleted {
		query += " AND deleted = FALSE"
	}
	i, err := scanInstance(q.QueryRow(ctx, query, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, instanceNotFound(uuid)
	}
	if err != nil {
		return nil, wrap("get instance", err)
	}
	if o.Tags {
		tags, err := s.tagsOf(ctx, q, []string{uuid})
		if err != nil {
			return nil, err
		}
		i.Tags = tags[uuid]
		if i.Tags == nil {
			i.Tags = []string{}
		}
	}
	if o.Fault {
		faults, err := s.faultsOf(ctx, q, []string{uuid})
		if err != nil {
			return nil, err
		}
		i.Fault = faults[uuid]
	}
	return i, nil
}

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
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list instances", err)
	}
	defer rows.Close()
	var out []*objects.Instance
	for rows.Next() {
		i, err := scanInstance(rows)
		if err != nil {
			return nil, wrap("scan instance", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
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
	for _, c := range chunks(ids, 500) {
		in, args := store.In(c)
		rows, err := q.Query(ctx, "SELECT instance_uuid, tag FROM instance_tags WHERE instance_uuid IN "+in+" ORDER BY tag", args...)
		if err != nil {
			return nil, wrap("list tags", err)
		}
		for rows.Next() {
			var id, tag string
			if err := rows.Scan(&id, &tag); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = append(out[id], tag)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) faultsOf(ctx context.Context, q store.Querier, ids []string) (map[string]*objects.Fault, error) {
	out := map[string]*objects.Fault{}
	for _, c := range chunks(ids, 500) {
		in, args := store.In(c)
		rows, err := q.Query(ctx, "SELECT instance_uuid, code, message, details, host, created_at FROM instance_faults WHERE instance_uuid IN "+in+" ORDER BY id", args...)
		if err != nil {
			return nil, wrap("list faults", err)
		}
		for rows.Next() {
			var (
				id      string
				f       objects.Fault
				details sql.NullString
				created store.Time
			)
			if err := rows.Scan(&id, &f.Code, &f.Message, &details, &f.Host, &created); err != nil {
				rows.Close()
				return nil, err
			}
			f.Details, f.CreatedAt = details.String, created.Time
			out[id] = &f // the newest wins
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Update lists the instance fields to change; nil fields stay as they are.
type Update struct {
	VMState          *states.VM           `json:"vm_state,omitempty"`
	TaskState        *states.Task         `json:"task_state,omitempty"`
	PowerState       *states.Power        `json:"power_state,omitempty"`
	Host             *string              `json:"host,omitempty"`
	Node             *string              `json:"node,omitempty"`
	LaunchedOn       *string              `json:"launched_on,omitempty"`
	AvailabilityZone *string              `json:"availability_zone,omitempty"`
	DisplayName      *string              `json:"display_name,omitempty"`
	Description      *string              `json:"description,omitempty"`
	ClearDescription bool                 `json:"clear_description,omitempty"`
	Hostname         *string              `json:"hostname,omitempty"`
	ImageRef         *string              `json:"image_ref,omitempty"`
	Flavor           *objects.Flavor      `json:"flavor,omitempty"`
	OldFlavor        *objects.Flavor      `json:"old_flavor,omitempty"`
	NewFlavor        *objects.Flavor      `json:"new_flavor,omitempty"`
	ClearOldFlavor   bool                 `json:"clear_old_flavor,omitempty"`
	ClearNewFlavor   bool                 `json:"clear_new_flavor,omitempty"`
	KeyName          *string              `json:"key_name,omitempty"`
	KeyData          *string              `json:"key_data,omitempty"`
	UserData         *string              `json:"user_data,omitempty"`
	ConfigDrive      *string              `json:"config_drive,omitempty"`
	Metadata         *map[string]string   `json:"metadata,omitempty"`
	SysMeta          map[string]string    `json:"system_metadata_set,omitempty"`
	SysMetaDelete    []string             `json:"system_metadata_delete,omitempty"`
	NetworkInfo      *[]objects.VIF       `json:"network_info,omitempty"`
	SecurityGroups   *[]string            `json:"security_groups,omitempty"`
	RequestSpec      *objects.RequestSpec `json:"request_spec,omitempty"`
	AccessIPv4       *string              `json:"access_ip_v4,omitempty"`
	AccessIPv6       *string              `json:"access_ip_v6,omitempty"`
	LockedBy         *string              `json:"locked_by,omitempty"`
	AutoDiskConfig   *bool                `json:"auto_disk_config,omitempty"`
	Progress         *int                 `json:"progress,omitempty"`
	RootDeviceName   *string              `json:"root_device_name,omitempty"`
	LaunchedAt       *time.Time           `json:"launched_at,omitempty"`
	TerminatedAt     *time.Time           `json:"terminated_at,omitempty"`
}

// Expect is the state an instance must be in for an update to apply: the
// compare of the compare-and-swap.
type Expect struct {
	// VM lists acceptable vm_states; nil accepts any.
	VM []states.VM `json:"vm_state,omitempty"`
	// Task lists acceptable task_states; nil accepts any.
	Task []states.Task `json:"task_state,omitempty"`
	// Host, when set, is the host the instance must be on.
	Host *string `json:"host,omitempty"`
}

// UnexpectedState is the conflict Save returns when the instance was not in
// the expected state: it carries the state found, so that callers can tell a
// deleted instance from a concurrent action.
type UnexpectedState struct {
	UUID   string
	Found  states.Subject
	Expect Expect
	Gone   bool
}

func (e *UnexpectedState) Error() string {
	if e.Gone {
		return fmt.Sprintf("instance %s is gone", e.UUID)
	}
	return fmt.Sprintf("instance %s is in vm_state %s task_state %q, expected %v %v", e.UUID, e.Found.VM, e.Found.Task, e.Expect.VM, e.Expect.Task)
}

// Fault makes the error a 409 (or 404 when the instance is gone) for the API.
func (e *UnexpectedState) Fault() *fault.Error {
	if e.Gone {
		return instanceNotFound(e.UUID).(*fault.Error)
	}
	return fault.Conflict("Instance %s is in task_state %s and vm_state %s; expected otherwise.", e.UUID, e.Found.Task, e.Found.VM).WithType("UnexpectedTaskState")
}

// IsUnexpected returns the UnexpectedState in err, if any.
func IsUnexpected(err error) (*UnexpectedState, bool) {
	var u *UnexpectedState
	ok := errors.As(err, &u)
	return u, ok
}

// EventRef names an instance action event to start or finish with a save.
type EventRef struct {
	RequestID string `json:"request_id"`
	Event     string `json:"event"`
	Host      string `json:"host,omitempty"`
	// Error, when finishing, marks the event failed with this traceback.
	Error string `json:"error,omitempty"`
}

// Save is one atomic change of an instance: the update (if its state is as
// expected), events started or finished, and a fault recorded.
type Save struct {
	UUID   string         `json:"uuid"`
	Update Update         `json:"update"`
	Expect Expect         `json:"expect"`
	Start  []EventRef     `json:"start_events,omitempty"`
	Finish []EventRef     `json:"finish_events,omitempty"`
	Fault  *objects.Fault `json:"fault,omitempty"`
	// FinishAction marks the action of this request id finished.
	FinishAction string `json:"finish_action,omitempty"`
	// Release gives quota of the instance's project and user back in the
	// same transaction (a confirmed or reverted resize), so that usage and
	// flavor never disagree; amounts that are not positive are ignored.
	Release map[string]int `json:"release_quota,omitempty"`
}

// Save applies a Save in one transaction and returns the instance as saved.
func (s *Store) Save(ctx context.Context, sv Save) (*objects.Instance, error) {
	var out *objects.Instance
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.save(ctx, tx, sv)
		return err
	})
	return out, err
}

func (s *Store) save(ctx context.Context, tx *store.Tx, sv Save) (*objects.Instance, error) {
	now := s.now()
	u := sv.Update
	var sets []string
	var args []any
	set := func(col string, v any) { sets = append(sets, col+" = ?"); args = append(args, v) }
	if u.VMState != nil {
		set("vm_state", string(*u.VMState))
	}
	if u.TaskState != nil {
		set("task_state", string(*u.TaskState))
	}
	if u.PowerState != nil {
		set("power_state", int(*u.PowerState))
	}
	strs := []struct {
		col string
		v   *string
	}{{"host", u.Host}, {"node", u.Node}, {"launched_on", u.LaunchedOn}, {"availability_zone", u.AvailabilityZone},
		{"display_name", u.DisplayName}, {"hostname", u.Hostname}, {"image_ref", u.ImageRef}, {"key_name", u.KeyName},
		{"key_data", u.KeyData}, {"user_data", u.UserData}, {"config_drive", u.ConfigDrive},
		{"access_ip_v4", u.AccessIPv4}, {"access_ip_v6", u.AccessIPv6}, {"locked_by", u.LockedBy},
		{"root_device_name", u.RootDeviceName}}
	for _, x := range strs {
		if x.v != nil {
			set(x.col, *x.v)
		}
	}
	if u.Description != nil {
		set("display_description", *u.Description)
	} else if u.ClearDescription {
		set("display_description", nil)
	}
	if u.Flavor != nil {
		set("flavor", store.JSONOf(*u.Flavor))
		set("flavor_id", u.Flavor.FlavorID)
		set("vcpus", u.Flavor.VCPUs)
		set("memory_mb", u.Flavor.MemoryMB)
		set("root_gb", u.Flavor.RootGB)
		set("ephemeral_gb", u.Flavor.EphemeralGB)
	}
	if u.OldFlavor != nil {
		set("old_flavor", store.JSONOf(u.OldFlavor))
	} else if u.ClearOldFlavor {
		set("old_flavor", nil)
	}
	if u.NewFlavor != nil {
		set("new_flavor", store.JSONOf(u.NewFlavor))
	} else if u.ClearNewFlavor {
		set("new_flavor", nil)
	}
	if u.Metadata != nil {
		set("metadata", store.JSONOf(*u.Metadata))
	}
	if u.NetworkInfo != nil {
		set("network_info", store.JSONOf(*u.NetworkInfo))
	}
	if u.SecurityGroups != nil {
		set("security_groups", store.JSONOf(*u.SecurityGroups))
	}
	if u.RequestSpec != nil {
		set("request_spec", store.JSONOf(u.RequestSpec))
	}
	if u.AutoDiskConfig != nil {
		set("auto_disk_config", *u.AutoDiskConfig)
	}
	if u.Progress != nil {
		set("progress", *u.Progress)
	}
	if u.LaunchedAt != nil {
		set("launched_at", store.TimeOf(*u.LaunchedAt))
	}
	if u.TerminatedAt != nil {
		set("terminated_at", store.TimeOf(*u.TerminatedAt))
	}
	if len(u.SysMeta) > 0 || len(u.SysMetaDelete) > 0 {
		var cur store.JSON[map[string]string]
		err := tx.QueryRow(ctx, "SELECT system_metadata FROM instances WHERE uuid = ?"+forUpdate(tx), sv.UUID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &UnexpectedState{UUID: sv.UUID, Gone: true}
		}
		if err != nil {
			return nil, wrap("read system metadata", err)
		}
		m := cur.V
		if m == nil {
			m = map[string]string{}
		}
		for k, v := range u.SysMeta {
			m[k] = v
		}
		for _, k := range u.SysMetaDelete {
			delete(m, k)
		}
		set("system_metadata", store.JSONOf(m))
	}
	set("updated_at", store.TimeOf(now))

	q := "UPDATE instances SET " + strings.Join(sets, ", ") + " WHERE uuid = ? AND deleted = FALSE"
	args = append(args, sv.UUID)
	if sv.Expect.VM != nil {
		in, a := store.In(states.VMs(sv.Expect.VM))
		q += " AND vm_state IN " + in
		args = append(args, a...)
	}
	if sv.Expect.Task != nil {
		in, a := store.In(states.Tasks(sv.Expect.Task))
		q += " AND task_state IN " + in
		args = append(args, a...)
	}
	if sv.Expect.Host != nil {
		q += " AND host = ?"
		args = append(args, *sv.Expect.Host)
	}
	if err := store.CAS(ctx, tx, q, args...); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			return nil, wrap("save instance", err)
		}
		cur, gerr := s.instance(ctx, tx, sv.UUID, GetOptions{})
		if gerr != nil {
			return nil, &UnexpectedState{UUID: sv.UUID, Gone: true, Expect: sv.Expect}
		}
		return nil, &UnexpectedState{UUID: sv.UUID, Found: cur.Subject(), Expect: sv.Expect}
	}
	if err := s.eventsAndFault(ctx, tx, sv.UUID, sv.Start, sv.Finish, sv.Fault, sv.FinishAction); err != nil {
		return nil, err
	}
	out, err := s.instance(ctx, tx, sv.UUID, GetOptions{})
	if err != nil {
		return nil, err
	}
	release := map[string]int{}
	for k, v := range sv.Release {
		if v > 0 {
			release[k] = v
		}
	}
	if len(release) == 0 {
		return out, nil
	}
	return out, s.release(ctx, tx, out.ProjectID, out.UserID, release)
}

func (s *Store) eventsAndFault(ctx context.Context, tx *store.Tx, uuid string, start, finish []EventRef, f *objects.Fault, finishAction string) error {
	for _, e := range finish {
		if err := s.finishEvent(ctx, tx, uuid, e); err != nil {
			return err
		}
	}
	for _, e := range start {
		if err := s.startEvent(ctx, tx, uuid, e); err != nil {
			return err
		}
	}
	if f != nil {
		if err := s.addFault(ctx, tx, uuid, f); err != nil {
			return err
		}
	}
	if finishAction != "" {
		if _, err := tx.Exec(ctx, "UPDATE instance_actions SET finish_time = ?, updated_at = ? WHERE instance_uuid = ? AND request_id = ? AND finish_time IS NULL",
			store.TimeOf(s.now()), store.TimeOf(s.now()), uuid, finishAction); err != nil {
			return wrap("finish action", err)
		}
	}
	return nil
}

// Record starts and finishes events and records a fault without changing the
// instance (used when the instance may already be gone).
func (s *Store) Record(ctx context.Context, uuid string, start, finish []EventRef, f *objects.Fault) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		return s.eventsAndFault(ctx, tx, uuid, start, finish, f, "")
	})
}

func (s *Store) addFault(ctx context.Context, q store.Querier, uuid string, f *objects.Fault) error {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = s.now()
	}
	msg := f.Message
	if len(msg) > 4000 {
		msg = msg[:4000]
	}
	_, err := q.Exec(ctx, "INSERT INTO instance_faults (instance_uuid, code, message, details, host, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		uuid, f.Code, msg, f.Details, f.Host, store.TimeOf(f.CreatedAt))
	return wrap("insert fault", err)
}

// DeleteInstance marks an instance deleted (Nova's soft delete of the row),
// frees its quota usage and its resource allocations, removes it from its
// server group, and finishes the action and event given, all in one
// transaction. It is idempotent: deleting a deleted instance does nothing.
func (s *Store) DeleteInstance(ctx context.Context, uuid string, finish []EventRef, finishAction string) (*objects.Instance, error) {
	var out *objects.Instance
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		inst, err := s.instance(ctx, tx, uuid, GetOptions{ReadDeleted: true})
		if err != nil {
			return err
		}
		out = inst
		if inst.Deleted {
			return nil
		}
		now := s.now()
		res, err := tx.Exec(ctx, `UPDATE instances SET deleted = TRUE, deleted_at = ?, terminated_at = ?, updated_at = ?,
			vm_state = ?, task_state = '', power_state = 0 WHERE uuid = ? AND deleted = FALSE`,
			store.TimeOf(now), store.TimeOf(now), store.TimeOf(now), string(states.Deleted), uuid)
		if err != nil {
			return wrap("delete instance", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		inst.Deleted, inst.VMState, inst.TaskState, inst.PowerState = true, states.Deleted, states.NoTask, states.PowerNoState
		inst.DeletedAt, inst.TerminatedAt, inst.UpdatedAt = now, now, now
		if err := s.release(ctx, tx, inst.ProjectID, inst.UserID, InstanceUsage(&inst.Flavor, 1)); err != nil {
			return err
		}
		if err := s.freeAllocations(ctx, tx, uuid); err != nil {
			return err
		}
		// Allocations of migrations of this instance go with it.
		rows, err := tx.Query(ctx, "SELECT uuid FROM migrations WHERE instance_uuid = ?", uuid)
		if err != nil {
			return err
		}
		var migs []string
		for rows.Next() {
			var m string
			rows.Scan(&m)
			migs = append(migs, m)
		}
		rows.Close()
		for _, m := range migs {
			if err := s.freeAllocations(ctx, tx, m); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM instance_group_member WHERE instance_uuid = ?", uuid); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM instance_tags WHERE instance_uuid = ?", uuid); err != nil {
			return err
		}
		return s.eventsAndFault(ctx, tx, uuid, nil, finish, nil, finishAction)
	})
	return out, err
}

// InstanceUsage is the quota usage of n instances of a flavor.
func InstanceUsage(f *objects.Flavor, n int) map[string]int {
	return map[string]int{"instances": n, "cores": n * f.VCPUs, "ram": n * f.MemoryMB}
}

// SetTags replaces an instance's tags.
func (s *Store) SetTags(ctx context.Context, uuid string, tags []string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM instance_tags WHERE instance_uuid = ?", uuid); err != nil {
			return err
		}
		for _, t := range tags {
			if _, err := tx.Exec(ctx, "INSERT INTO instance_tags (instance_uuid, tag) VALUES (?, ?)", uuid, t); err != nil && !store.IsUnique(err) {
				return err
			}
		}
		return s.touch(ctx, tx, uuid)
	})
}

// AddTag adds a tag and reports whether it was new; it fails with a 400 when
// the instance would have more than max tags.
func (s *Store) AddTag(ctx context.Context, uuid, tag string, max int) (bool, error) {
	created := false
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM instance_tags WHERE instance_uuid = ? AND tag = ?", uuid, tag).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM instance_tags WHERE instance_uuid = ?", uuid).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return fault.BadRequest("The number of tags exceeded the per-server limit %d", max)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO instance_tags (instance_uuid, tag) VALUES (?, ?)", uuid, tag); err != nil {
			return err
		}
		created = true
		return s.touch(ctx, tx, uuid)
	})
	return created, err
}

// DeleteTag removes a tag (404 when absent).
func (s *Store) DeleteTag(ctx context.Context, uuid, tag string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		err := store.CAS(ctx, tx, "DELETE FROM instance_tags WHERE instance_uuid = ? AND tag = ?", uuid, tag)
		if errors.Is(err, store.ErrConflict) {
			return fault.NotFound("Tag %s could not be found.", tag).WithType("TagNotFound")
		}
		if err != nil {
			return err
		}
		return s.touch(ctx, tx, uuid)
	})
}

func (s *Store) touch(ctx context.Context, q store.Querier, uuid string) error {
	_, err := q.Exec(ctx, "UPDATE instances SET updated_at = ? WHERE uuid = ?", store.TimeOf(s.now()), uuid)
	return err
}

// UpdateMetadata changes an instance's metadata with fn inside a
// transaction that holds the row, and checks the result against a limit on
// the number of items (-1: unlimited).
func (s *Store) UpdateMetadata(ctx context.Context, uuid string, expect Expect, limit int, fn func(m map[string]string) error) (map[string]string, error) {
	var out map[string]string
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var cur store.JSON[map[string]string]
		var vm, task string
		q := "SELECT metadata, vm_state, task_state FROM instances WHERE uuid = ? AND deleted = FALSE" + forUpdate(tx)
		err := tx.QueryRow(ctx, q, uuid).Scan(&cur, &vm, &task)
		if errors.Is(err, sql.ErrNoRows) {
			return instanceNotFound(uuid)
		}
		if err != nil {
			return err
		}
		if (expect.VM != nil && !slices.Contains(expect.VM, states.VM(vm))) || (expect.Task != nil && !slices.Contains(expect.Task, states.Task(task))) {
			return &UnexpectedState{UUID: uuid, Found: states.Subject{UUID: uuid, VM: states.VM(vm), Task: states.Task(task)}, Expect: expect}
		}
		m := cur.V
		if m == nil {
			m = map[string]string{}
		}
		if err := fn(m); err != nil {
			return err
		}
		if limit >= 0 && len(m) > limit {
			return fault.Forbidden("Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", len(m), limit).WithType("OverQuota")
		}
		if _, err := tx.Exec(ctx, "UPDATE instances SET metadata = ?, updated_at = ? WHERE uuid = ?", store.JSONOf(m), store.TimeOf(s.now()), uuid); err != nil {
			return err
		}
		out = m
		return nil
	})
	return out, err
}

// InstanceHosts returns the host of each listed live instance.
func (s *Store) InstanceHosts(ctx context.Context, uuids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range chunks(uuids, 500) {
		in, args := store.In(c)
		rows, err := s.db.Query(ctx, "SELECT uuid, host FROM instances WHERE deleted = FALSE AND uuid IN "+in, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, host string
			if err := rows.Scan(&id, &host); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = host
		}
		rows.Close()
	}
	return out, nil
}

// HostLoad is what the scheduler counts per compute node: instances, I/O
// heavy ones and instances per project.
type HostLoad struct {
	Host, Node string
	Instances  int
	IOOps      int
	ByProject  map[string]int
}

// HostLoads counts live instances per node.
func (s *Store) HostLoads(ctx context.Context, ioop func(vm, task string) bool) (map[objects.HostNode]*HostLoad, error) {
	rows, err := s.db.Query(ctx, `SELECT host, node, project_id, vm_state, task_state, COUNT(*) FROM instances
		WHERE deleted = FALSE AND host <> '' GROUP BY host, node, project_id, vm_state, task_state`)
	if err != nil {
		return nil, wrap("count instances", err)
	}
	defer rows.Close()
	out := map[objects.HostNode]*HostLoad{}
	for rows.Next() {
		var host, node, project, vm, task string
		var n int
		if err := rows.Scan(&host, &node, &project, &vm, &task, &n); err != nil {
			return nil, err
		}
		k := objects.HostNode{Host: host, Node: node}
		l := out[k]
		if l == nil {
			l = &HostLoad{Host: host, Node: node, ByProject: map[string]int{}}
			out[k] = l
		}
		l.Instances += n
		l.ByProject[project] += n
		if ioop(vm, task) {
			l.IOOps += n
		}
	}
	return out, rows.Err()
}

// insertBDM stores a block device mapping.
func insertBDM(ctx context.Context, q store.Querier, b *objects.BDM, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO block_device_mapping (uuid, instance_uuid, source_type, destination_type, device_name,
		boot_index, volume_id, image_id, snapshot_id, volume_size, volume_type, delete_on_termination, disk_bus, device_type,
		guest_format, tag, attachment_id, connection_info, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.UUID, b.InstanceUUID, b.SourceType, b.DestinationType, b.DeviceName, b.BootIndex, b.VolumeID, b.ImageID,
		b.SnapshotID, b.VolumeSize, b.VolumeType, b.DeleteOnTermination, b.DiskBus, b.DeviceType, b.GuestFormat, b.Tag,
		b.AttachmentID, b.ConnectionInfo, store.TimeOf(now))
	return wrap("insert block device mapping", err)
}

// BDMs lists the block device mappings of instances.
func (s *Store) BDMs(ctx context.Context, uuids []string) (map[string][]objects.BDM, error) {
	out := map[string][]objects.BDM{}
	for _, c := range chunks(uuids, 500) {
		in, args := store.In(c)
		rows, err := s.db.Query(ctx, `SELECT uuid, instance_uuid, source_type, destination_type, device_name, boot_index,
			volume_id, image_id, snapshot_id, volume_size, volume_type, delete_on_termination, disk_bus, device_type,
			guest_format, tag, attachment_id, connection_info FROM block_device_mapping WHERE instance_uuid IN `+in+` ORDER BY id`, args...)
		if err != nil {
			return nil, wrap("list block device mappings", err)
		}
		for rows.Next() {
			var b objects.BDM
			var boot, size sql.NullInt64
			var conn sql.NullString
			if err := rows.Scan(&b.UUID, &b.InstanceUUID, &b.SourceType, &b.DestinationType, &b.DeviceName, &boot,
				&b.VolumeID, &b.ImageID, &b.SnapshotID, &size, &b.VolumeType, &b.DeleteOnTermination, &b.DiskBus,
				&b.DeviceType, &b.GuestFormat, &b.Tag, &b.AttachmentID, &conn); err != nil {
				rows.Close()
				return nil, err
			}
			if boot.Valid {
				v := int(boot.Int64)
				b.BootIndex = &v
			}
			if size.Valid {
				v := int(size.Int64)
				b.VolumeSize = &v
			}
			b.ConnectionInfo = conn.String
			out[b.InstanceUUID] = append(out[b.InstanceUUID], b)
		}
		rows.Close()
	}
	return out, nil
}

// AddBDM stores a new block device mapping.
func (s *Store) AddBDM(ctx context.Context, b *objects.BDM) error {
	return insertBDM(ctx, s.db, b, s.now())
}

// UpdateBDMConnection records where a mapped volume is attached now: its
// device name and connection info (an agent that connected it again, on
// unshelve, rebuild or a move). A mapping that is gone is not an error: its
// volume was detached meanwhile.
func (s *Store) UpdateBDMConnection(ctx context.Context, uuid, device, connectionInfo string) error {
	_, err := s.db.Exec(ctx, "UPDATE block_device_mapping SET device_name = ?, connection_info = ? WHERE uuid = ?", device, connectionInfo, uuid)
	return wrap("update block device mapping", err)
}

// SetBDMVolume records the volume a mapping that named none is now (the
// one a build created).
func (s *Store) SetBDMVolume(ctx context.Context, uuid, volumeID string) error {
	_, err := s.db.Exec(ctx, "UPDATE block_device_mapping SET volume_id = ? WHERE uuid = ?", volumeID, uuid)
	return wrap("update block device mapping", err)
}

// DeleteBDM removes a block device mapping.
func (s *Store) DeleteBDM(ctx context.Context, uuid string) error {
	_, err := s.db.Exec(ctx, "DELETE FROM block_device_mapping WHERE uuid = ?", uuid)
	return err
}

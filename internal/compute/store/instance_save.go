package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Changing an instance: one Save is a compare-and-swap on its state with the
// action events and fault that go with it, in one transaction.

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
		if err := s.release(ctx, tx, inst.ProjectID, inst.UserID, heldUsage(inst)); err != nil {
			return err
		}
		if err := s.freeAllocations(ctx, tx, uuid); err != nil {
			return err
		}
		// Allocations of migrations of this instance go with it.
		migs, err := store.All(ctx, tx, store.Column[string], "SELECT uuid FROM migrations WHERE instance_uuid = ?", uuid)
		if err != nil {
			return err
		}
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

// heldUsage is the quota an instance holds: its flavor's, and while a
// resize is under way the larger of each amount of the two flavors (the
// growth reserved until the resize ends; a shrink's surplus until it is
// confirmed), so that deleting an instance mid-resize gives all of it back.
func heldUsage(inst *objects.Instance) map[string]int {
	u := InstanceUsage(&inst.Flavor, 1)
	for _, other := range []*objects.Flavor{inst.NewFlavor, inst.OldFlavor} {
		if other == nil {
			continue
		}
		u["cores"] = max(u["cores"], other.VCPUs)
		u["ram"] = max(u["ram"], other.MemoryMB)
	}
	return u
}

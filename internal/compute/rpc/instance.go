package rpc

import (
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
)

// Version is the version of this protocol. Agents name it in every
// heartbeat (ServiceReportArgs.Protocol); a conductor refuses an agent of
// another version, whose messages would mean something else to it, so the
// agent does not start. Version 1: the instance and migration changes an
// agent asks for are this package's Save and MigrationChange.
const Version = 1

// The instance and migration changes below are the wire form of the
// compute store's (compute/store Save, Update, Expect, EventRef,
// MigrationUpdate): the same fields with the same JSON names, converted by
// the conductor, so that the agent needs no store and a change to the store's
// types is a compile error in the conductor instead of a silent change on
// the wire.

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

// Expect is the state an instance must be in for an update to apply.
type Expect struct {
	// VM lists acceptable vm_states; nil accepts any.
	VM []states.VM `json:"vm_state,omitempty"`
	// Task lists acceptable task_states; nil accepts any.
	Task []states.Task `json:"task_state,omitempty"`
	// Host, when set, is the host the instance must be on.
	Host *string `json:"host,omitempty"`
}

// EventRef names an instance action event to start or finish.
type EventRef struct {
	RequestID string `json:"request_id"`
	Event     string `json:"event"`
	Host      string `json:"host,omitempty"`
	// Error, when finishing, marks the event failed with this traceback.
	Error string `json:"error,omitempty"`
}

// Save is one atomic change of an instance (instance_save): the update if
// its state is as expected, events started or finished, and a fault.
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
	// same transaction; amounts that are not positive are ignored.
	Release map[string]int `json:"release_quota,omitempty"`
}

// MigrationChange changes a migration (migration_update).
type MigrationChange struct {
	Status      *string `json:"status,omitempty"`
	DestCompute *string `json:"dest_compute,omitempty"`
	DestNode    *string `json:"dest_node,omitempty"`
	DestHost    *string `json:"dest_host,omitempty"`
	// ExpectStatus, when set, makes the update a CAS on the status.
	ExpectStatus []string `json:"expect_status,omitempty"`
}

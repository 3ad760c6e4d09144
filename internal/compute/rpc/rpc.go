package rpc

import (
	"context"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/scheduler"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
)

// Subjects and queue groups.
const (
	ConductorSubject = "compute.conductor"
	ConductorQueue   = "conductor"
	SchedulerSubject = "compute.scheduler"
	SchedulerQueue   = "scheduler"
	// ComputeTopic prefixes the per-host subjects of the agents.
	ComputeTopic = "compute"
)

// ComputeSubject is the subject of one host's compute agent.
func ComputeSubject(host string) string { return bus.HostSubject(ComputeTopic, host) }

// Conductor methods called by nova-api.
const (
	BuildInstances = "build_instances"
	MigrateServer  = "migrate_server"
	LiveMigrate    = "live_migrate_instance"
	Evacuate       = "evacuate_instance"
	Unshelve       = "unshelve_instance"
)

// Conductor methods called by compute agents (the database proxy and the
// work the conductor does for them).
const (
	Reschedule        = "reschedule_instance"
	InstanceGet       = "instance_get"
	InstanceSave      = "instance_save"
	InstanceRecord    = "instance_record"
	InstanceDestroyed = "instance_destroyed"
	InstancesOnHost   = "instances_on_host"
	ServiceReport     = "service_report"
	NodeReport        = "node_report"
	MigrationGet      = "migration_get"
	MigrationUpdate   = "migration_update"
	MigrationsOnHost  = "migrations_on_host"
	FreeAllocations   = "free_allocations"
	MoveAllocations   = "move_allocations"
	BDMsGet           = "bdms_get"
	BDMUpdate         = "bdm_update"
	QuotaRelease      = "quota_release"
)

// Scheduler methods.
const (
	SelectDestinations = "select_destinations"
)

// Compute agent methods.
const (
	BuildAndRun           = "build_and_run_instance"
	TerminateInstance     = "terminate_instance"
	RebootInstance        = "reboot_instance"
	StopInstance          = "stop_instance"
	StartInstance         = "start_instance"
	PauseInstance         = "pause_instance"
	UnpauseInstance       = "unpause_instance"
	SuspendInstance       = "suspend_instance"
	ResumeInstance        = "resume_instance"
	RescueInstance        = "rescue_instance"
	UnrescueInstance      = "unrescue_instance"
	SnapshotInstance      = "snapshot_instance"
	RebuildInstance       = "rebuild_instance"
	PrepResize            = "prep_resize"
	ResizeInstance        = "resize_instance"
	FinishResize          = "finish_resize"
	ConfirmResize         = "confirm_resize"
	RevertResize          = "revert_resize"
	FinishRevertResize    = "finish_revert_resize"
	LiveMigration         = "live_migration"
	PreLiveMigration      = "pre_live_migration"
	PostLiveMigrationDest = "post_live_migration_at_destination"
	ShelveInstance        = "shelve_instance"
	ShelveOffload         = "shelve_offload_instance"
	UnshelveOnHost        = "unshelve_instance"
	SetAdminPassword      = "set_admin_password"
	GetConsoleOutput      = "get_console_output"
	GetDiagnostics        = "get_instance_diagnostics"
	AttachInterface       = "attach_interface"
	DetachInterface       = "detach_interface"
	AttachVolume          = "attach_volume"
	DetachVolume          = "detach_volume"
	SwapVolume            = "swap_volume"
	ExternalEvent         = "external_instance_event"
	TriggerCrashDump      = "trigger_crash_dump"
	InjectNetworkInfo     = "inject_network_info"
	ResetNetwork          = "reset_network"
	RestoreInstance       = "restore_instance"
)

// BuildRequest asks the conductor to schedule and build instances that
// nova-api has written (BUILD/scheduling).
type BuildRequest struct {
	InstanceUUIDs []string `json:"instance_uuids"`
	// AdminPasswords are the generated or requested passwords, by instance.
	AdminPasswords map[string]string `json:"admin_passwords,omitempty"`
	// RequestID is the create action's request id.
	RequestID string `json:"request_id"`
}

// RescheduleRequest is an agent handing a failed build back to the
// conductor: the host it failed on is added to the tried hosts.
type RescheduleRequest struct {
	InstanceUUID string           `json:"instance_uuid"`
	Failed       objects.HostNode `json:"failed"`
	Reason       string           `json:"reason"`
	AdminPass    string           `json:"admin_pass,omitempty"`
	RequestID    string           `json:"request_id"`
	// Alternates are the hosts the scheduler offered besides the failed one.
	Alternates []objects.HostNode `json:"alternates,omitempty"`
}

// BuildArgs asks a compute agent to build an instance claimed on its node.
type BuildArgs struct {
	InstanceUUID string             `json:"instance_uuid"`
	Node         string             `json:"node"`
	AdminPass    string             `json:"admin_pass,omitempty"`
	RequestID    string             `json:"request_id"`
	Alternates   []objects.HostNode `json:"alternates,omitempty"`
}

// InstanceArgs names an instance and the request acting on it.
type InstanceArgs struct {
	InstanceUUID string `json:"instance_uuid"`
	RequestID    string `json:"request_id"`
}

// Target is the instance and request a message acts on.
func (a InstanceArgs) Target() InstanceArgs { return a }

// Target is the instance and request a build acts on.
func (a BuildArgs) Target() InstanceArgs {
	return InstanceArgs{InstanceUUID: a.InstanceUUID, RequestID: a.RequestID}
}

// RebootArgs asks for a reboot.
type RebootArgs struct {
	InstanceArgs
	Hard bool `json:"hard"`
}

// RescueArgs asks for a rescue.
type RescueArgs struct {
	InstanceArgs
	ImageRef  string `json:"image_ref,omitempty"`
	AdminPass string `json:"admin_pass,omitempty"`
}

// SnapshotArgs asks for a snapshot or backup into a Glance image the API
// created.
type SnapshotArgs struct {
	InstanceArgs
	ImageID    string `json:"image_id"`
	Backup     bool   `json:"backup,omitempty"`
	BackupType string `json:"backup_type,omitempty"`
	Rotation   int    `json:"rotation,omitempty"`
}

// RebuildArgs asks for a rebuild, or an evacuation (Recreate) onto this host.
type RebuildArgs struct {
	InstanceArgs
	ImageRef  string            `json:"image_ref"`
	Image     objects.ImageMeta `json:"image"`
	AdminPass string            `json:"admin_pass,omitempty"`
	Recreate  bool              `json:"recreate,omitempty"`
	Node      string            `json:"node,omitempty"`
	// MigrationUUID is the evacuation's migration record.
	MigrationUUID string `json:"migration_uuid,omitempty"`
	// TargetState is 2.95's "stopped" for evacuations.
	TargetState string `json:"target_state,omitempty"`
}

// ResizeArgs carries a resize or cold migration between its steps.
type ResizeArgs struct {
	InstanceArgs
	MigrationUUID string          `json:"migration_uuid"`
	NewFlavor     *objects.Flavor `json:"new_flavor,omitempty"`
	DestHost      string          `json:"dest_host"`
	DestNode      string          `json:"dest_node"`
}

// LiveMigrationArgs carries a live migration.
type LiveMigrationArgs struct {
	InstanceArgs
	MigrationUUID  string `json:"migration_uuid"`
	DestHost       string `json:"dest_host"`
	DestNode       string `json:"dest_node"`
	BlockMigration bool   `json:"block_migration"`
}

// UnshelveArgs asks a host to spawn a shelved-offloaded instance.
type UnshelveArgs struct {
	InstanceArgs
	Node string `json:"node"`
}

// PasswordArgs sets the admin password.
type PasswordArgs struct {
	InstanceArgs
	Password string `json:"password"`
}

// ConsoleArgs asks for console output.
type ConsoleArgs struct {
	InstanceArgs
	Length int `json:"length"`
}

// InterfaceArgs attaches or detaches a port.
type InterfaceArgs struct {
	InstanceArgs
	NetworkID string `json:"network_id,omitempty"`
	PortID    string `json:"port_id,omitempty"`
	FixedIP   string `json:"fixed_ip,omitempty"`
	Tag       string `json:"tag,omitempty"`
}

// VolumeArgs asks an agent to attach a Cinder volume at a device, or to
// detach the one a block device mapping records.
type VolumeArgs struct {
	InstanceArgs
	VolumeID string `json:"volume_id"`
	Device   string `json:"device"`
	// AttachmentID and ConnectionInfo are the mapping's, for a detach.
	AttachmentID   string `json:"attachment_id,omitempty"`
	ConnectionInfo string `json:"connection_info,omitempty"`
}

// SwapVolumeArgs asks an agent to move a guest's disk from the volume a
// block device mapping records to another volume (Nova's swap_volume): the
// API has begun detaching the old volume and reserved the new one.
type SwapVolumeArgs struct {
	InstanceArgs
	BDMUUID     string `json:"bdm_uuid"`
	OldVolumeID string `json:"old_volume_id"`
	NewVolumeID string `json:"new_volume_id"`
	Device      string `json:"device"`
	// ConnectionInfo is the old mapping's.
	ConnectionInfo string `json:"connection_info,omitempty"`
	// ResizeToGB is the new volume's size when it is larger than the old.
	ResizeToGB int `json:"resize_to,omitempty"`
}

// VolumeAttached is what an attach leaves for the block device mapping.
type VolumeAttached struct {
	AttachmentID   string `json:"attachment_id"`
	ConnectionInfo string `json:"connection_info"`
}

// Event is an external event (os-server-external-events) for an instance.
type Event struct {
	InstanceUUID string `json:"instance_uuid"`
	Name         string `json:"name"`
	Tag          string `json:"tag,omitempty"`
	Status       string `json:"status"`
}

// GetArgs asks for an instance.
type GetArgs struct {
	UUID        string `json:"uuid"`
	ReadDeleted bool   `json:"read_deleted,omitempty"`
}

// RecordArgs records events and a fault without changing the instance.
type RecordArgs struct {
	UUID   string         `json:"uuid"`
	Start  []EventRef     `json:"start,omitempty"`
	Finish []EventRef     `json:"finish,omitempty"`
	Fault  *objects.Fault `json:"fault,omitempty"`
}

// DestroyedArgs reports an instance gone from its host.
type DestroyedArgs struct {
	UUID      string     `json:"uuid"`
	Finish    []EventRef `json:"finish,omitempty"`
	RequestID string     `json:"request_id"`
}

// HostArgs names a host.
type HostArgs struct {
	Host string `json:"host"`
}

// ServiceReportArgs is a heartbeat.
type ServiceReportArgs struct {
	Host    string `json:"host"`
	Binary  string `json:"binary"`
	Topic   string `json:"topic"`
	Version int    `json:"version"`
	// Protocol is the Version of this package the agent speaks (0 means 1).
	Protocol int `json:"protocol,omitempty"`
}

// MigrationUpdateArgs updates a migration.
type MigrationUpdateArgs struct {
	UUID   string          `json:"uuid"`
	Update MigrationChange `json:"update"`
}

// MoveAllocationsArgs moves allocations between consumers.
type MoveAllocationsArgs struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Node, when set, limits a free to one node.
	Node string `json:"node,omitempty"`
}

// QuotaArgs gives quota back.
type QuotaArgs struct {
	ProjectID string         `json:"project_id"`
	UserID    string         `json:"user_id"`
	Amounts   map[string]int `json:"amounts"`
}

// SelectRequest asks the scheduler for hosts.
type SelectRequest struct {
	Spec scheduler.RequestSpec `json:"spec"`
	N    int                   `json:"n"`
}

// SelectResult is the scheduler's answer.
type SelectResult struct {
	Selections []scheduler.Selection `json:"selections"`
}

// Diagnostics are an instance's diagnostics (2.48's standard form).
type Diagnostics struct {
	State         string           `json:"state"`
	Driver        string           `json:"driver"`
	Hypervisor    *string          `json:"hypervisor"`
	HypervisorOS  *string          `json:"hypervisor_os"`
	Uptime        *int             `json:"uptime"`
	ConfigDrive   bool             `json:"config_drive"`
	NumCPUs       int              `json:"num_cpus"`
	NumNICs       int              `json:"num_nics"`
	NumDisks      int              `json:"num_disks"`
	MemoryDetails map[string]*int  `json:"memory_details"`
	CPUDetails    []map[string]any `json:"cpu_details"`
	NICDetails    []map[string]any `json:"nic_details"`
	DiskDetails   []map[string]any `json:"disk_details"`
}

// Caller makes bus calls; *bus.Bus implements it.
type Caller interface {
	Call(ctx context.Context, subject, method string, args, result any) error
	Cast(ctx context.Context, subject, method string, args any) error
	// Send is a cast that must not be lost (acknowledged and retried).
	Send(ctx context.Context, subject, method string, args any) error
}

// Conductor calls the conductor on behalf of an agent; Abandon gives up
// the calls a dead conductor will never answer.
type Conductor struct {
	Bus     Caller
	Timeout time.Duration

	calls conductorCalls
}

// Get returns an instance.
func (c *Conductor) Get(ctx context.Context, uuid string, readDeleted bool) (*objects.Instance, error) {
	var out objects.Instance
	if err := c.call(ctx, InstanceGet, GetArgs{UUID: uuid, ReadDeleted: readDeleted}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Save applies a CAS save.
func (c *Conductor) Save(ctx context.Context, s Save) (*objects.Instance, error) {
	var out objects.Instance
	if err := c.call(ctx, InstanceSave, s, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Record records events and a fault.
func (c *Conductor) Record(ctx context.Context, r RecordArgs) error {
	return c.call(ctx, InstanceRecord, r, nil)
}

// Destroyed marks an instance deleted after its host removed it.
func (c *Conductor) Destroyed(ctx context.Context, d DestroyedArgs) error {
	return c.call(ctx, InstanceDestroyed, d, nil)
}

// OnHost lists the live instances the database assigns to a host.
func (c *Conductor) OnHost(ctx context.Context, host string) ([]*objects.Instance, error) {
	var out []*objects.Instance
	err := c.call(ctx, InstancesOnHost, HostArgs{Host: host}, &out)
	return out, err
}

// ReportService sends a heartbeat.
func (c *Conductor) ReportService(ctx context.Context, a ServiceReportArgs) (*objects.Service, error) {
	var out objects.Service
	if err := c.call(ctx, ServiceReport, a, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportNode reports a compute node's resources.
func (c *Conductor) ReportNode(ctx context.Context, n *objects.ComputeNode) (*objects.ComputeNode, error) {
	var out objects.ComputeNode
	if err := c.call(ctx, NodeReport, n, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Reschedule hands a failed build back.
func (c *Conductor) Reschedule(ctx context.Context, r RescheduleRequest) error {
	return c.Bus.Send(ctx, ConductorSubject, Reschedule, r)
}

// Migration returns a migration.
func (c *Conductor) Migration(ctx context.Context, uuid string) (*objects.Migration, error) {
	var out objects.Migration
	if err := c.call(ctx, MigrationGet, GetArgs{UUID: uuid}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateMigration updates a migration.
func (c *Conductor) UpdateMigration(ctx context.Context, uuid string, u MigrationChange) (*objects.Migration, error) {
	var out objects.Migration
	if err := c.call(ctx, MigrationUpdate, MigrationUpdateArgs{UUID: uuid, Update: u}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MigrationsOnHost lists the unfinished migrations touching a host.
func (c *Conductor) MigrationsOnHost(ctx context.Context, host string) ([]*objects.Migration, error) {
	var out []*objects.Migration
	err := c.call(ctx, MigrationsOnHost, HostArgs{Host: host}, &out)
	return out, err
}

// FreeAllocations frees what a consumer holds (on one node when set).
func (c *Conductor) FreeAllocations(ctx context.Context, consumer, node string) error {
	return c.call(ctx, FreeAllocations, MoveAllocationsArgs{From: consumer, Node: node}, nil)
}

// MoveAllocations hands allocations from one consumer to another.
func (c *Conductor) MoveAllocations(ctx context.Context, from, to string) error {
	return c.call(ctx, MoveAllocations, MoveAllocationsArgs{From: from, To: to}, nil)
}

// BDMs returns an instance's block device mappings.
func (c *Conductor) BDMs(ctx context.Context, uuid string) ([]objects.BDM, error) {
	var out []objects.BDM
	err := c.call(ctx, BDMsGet, GetArgs{UUID: uuid}, &out)
	return out, err
}

// UpdateBDM records a mapping's device name and connection info.
func (c *Conductor) UpdateBDM(ctx context.Context, b objects.BDM) error {
	return c.call(ctx, BDMUpdate, b, nil)
}

// ReleaseQuota gives quota back.
func (c *Conductor) ReleaseQuota(ctx context.Context, a QuotaArgs) error {
	return c.call(ctx, QuotaRelease, a, nil)
}

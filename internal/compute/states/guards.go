package states

import (
	"fmt"
	"slices"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Action names a server operation guarded by the state machine. The names are
// those Nova uses in its conflict messages ("Cannot 'reboot' instance ...").
type Action string

// The guarded actions.
const (
	ActDelete            Action = "delete"
	ActForceDelete       Action = "forceDelete"
	ActRestore           Action = "restore"
	ActStop              Action = "stop"
	ActStart             Action = "start"
	ActRebootSoft        Action = "reboot"
	ActRebootHard        Action = "reboot_hard"
	ActRebuild           Action = "rebuild"
	ActResize            Action = "resize"
	ActMigrate           Action = "migrate"
	ActConfirmResize     Action = "confirmResize"
	ActRevertResize      Action = "revertResize"
	ActPause             Action = "pause"
	ActUnpause           Action = "unpause"
	ActSuspend           Action = "suspend"
	ActResume            Action = "resume"
	ActRescue            Action = "rescue"
	ActUnrescue          Action = "unrescue"
	ActSnapshot          Action = "createImage"
	ActBackup            Action = "createBackup"
	ActShelve            Action = "shelve"
	ActShelveOffload     Action = "shelveOffload"
	ActUnshelve          Action = "unshelve"
	ActChangePassword    Action = "changePassword"
	ActLiveMigrate       Action = "os-migrateLive"
	ActForceComplete     Action = "force_complete"
	ActAbortMigration    Action = "abort_live_migration"
	ActEvacuate          Action = "evacuate"
	ActTriggerCrashDump  Action = "trigger_crash_dump"
	ActAttachVolume      Action = "attach_volume"
	ActDetachVolume      Action = "detach_volume"
	ActSwapVolume        Action = "swap_volume"
	ActAttachInterface   Action = "attach_interface"
	ActDetachInterface   Action = "detach_interface"
	ActUpdateMetadata    Action = "update_metadata"
	ActConsoleOutput     Action = "get_console_output"
	ActDiagnostics       Action = "get_diagnostics"
	ActLock              Action = "lock"
	ActUnlock            Action = "unlock"
	ActResetState        Action = "resetState"
	ActResetNetwork      Action = "resetNetwork"
	ActInjectNetworkInfo Action = "injectNetworkInfo"
	ActAddFixedIP        Action = "addFixedIp"
	ActRemoveFixedIP     Action = "removeFixedIp"
)

// Guard says when an action is allowed and what it starts.
type Guard struct {
	// VM lists the vm_states the action is allowed in; nil means any.
	VM []VM
	// Task lists the task_states it is allowed in; nil means any. Most
	// actions need NoTask: nothing else may be in flight.
	Task []Task
	// Lock says a locked instance refuses the action (unless the caller is
	// an admin), as Nova's check_instance_lock.
	Lock bool
	// NeedsHost says the instance must be on a host (Nova's
	// check_instance_host): a server still scheduling has none.
	NeedsHost bool
	// Next is the task_state the API sets when it accepts the action (the
	// CAS's new value); NoTask when the action sets none.
	Next Task
}

var noTask = []Task{NoTask}

// Guards is the guard table, after Nova's check_instance_state decorators in
// nova/compute/api.py.
var Guards = map[Action]Guard{
	ActDelete:            {Lock: true, Next: Deleting},
	ActForceDelete:       {Lock: true, Next: Deleting},
	ActRestore:           {VM: []VM{SoftDeleted}, Task: noTask, Lock: true, Next: Restoring},
	ActStop:              {VM: []VM{Active, Error}, Task: noTask, Lock: true, Next: PoweringOff},
	ActStart:             {VM: []VM{Stopped}, Task: noTask, Lock: true, Next: PoweringOn},
	ActRebootSoft:        {VM: []VM{Active}, Task: noTask, Lock: true, Next: Rebooting},
	ActRebootHard:        {VM: []VM{Active, Stopped, Paused, Suspended, Error}, Task: AllowReboot, Lock: true, Next: RebootingHard},
	ActRebuild:           {VM: []VM{Active, Stopped, Error}, Task: noTask, Lock: true, Next: Rebuilding},
	ActResize:            {VM: []VM{Active, Stopped}, Task: noTask, Lock: true, NeedsHost: true, Next: ResizePrep},
	ActMigrate:           {VM: []VM{Active, Stopped}, Task: noTask, Lock: true, NeedsHost: true, Next: ResizePrep},
	ActConfirmResize:     {VM: []VM{Resized}, Task: noTask, Lock: true, Next: NoTask},
	ActRevertResize:      {VM: []VM{Resized}, Task: noTask, Lock: true, Next: ResizeReverting},
	ActPause:             {VM: []VM{Active}, Task: noTask, Lock: true, Next: Pausing},
	ActUnpause:           {VM: []VM{Paused}, Task: noTask, Lock: true, Next: Unpausing},
	ActSuspend:           {VM: []VM{Active}, Task: noTask, Lock: true, Next: Suspending},
	ActResume:            {VM: []VM{Suspended}, Task: noTask, Lock: true, Next: Resuming},
	ActRescue:            {VM: []VM{Active, Stopped, Error}, Task: noTask, Lock: true, Next: Rescuing},
	ActUnrescue:          {VM: []VM{Rescued}, Task: noTask, Lock: true, Next: Unrescuing},
	ActSnapshot:          {VM: []VM{Active, Stopped, Paused, Suspended}, Task: noTask, Next: ImageSnapshotPending},
	ActBackup:            {VM: []VM{Active, Stopped, Paused, Suspended}, Task: noTask, Next: ImageBackup},
	ActShelve:            {VM: []VM{Active, Stopped, Paused, Suspended}, Task: noTask, Lock: true, Next: Shelving},
	ActShelveOffload:     {VM: []VM{Shelved}, Task: noTask, Lock: true, Next: ShelvingOffloading},
	ActUnshelve:          {VM: []VM{Shelved, ShelvedOffloaded}, Task: noTask, Lock: true, Next: Unshelving},
	ActChangePassword:    {VM: []VM{Active}, Task: noTask, Lock: true, Next: UpdatingPassword},
	ActLiveMigrate:       {VM: []VM{Active, Paused}, Task: noTask, Lock: true, NeedsHost: true, Next: Migrating},
	ActForceComplete:     {VM: []VM{Active}, Task: []Task{Migrating}, Lock: true, Next: Migrating},
	ActAbortMigration:    {Task: []Task{Migrating}, Lock: true, Next: Migrating},
	ActEvacuate:          {VM: []VM{Active, Stopped, Error}, Task: noTask, Next: Rebuilding},
	ActTriggerCrashDump:  {VM: []VM{Active, Paused, Rescued, Resized, Error}, Task: noTask, Lock: true, NeedsHost: true},
	ActAttachVolume:      {VM: []VM{Active, Paused, Stopped, Resized, SoftDeleted, Shelved, ShelvedOffloaded}, Task: noTask, Lock: true},
	ActDetachVolume:      {VM: []VM{Active, Paused, Stopped, Resized, SoftDeleted, Shelved, ShelvedOffloaded}, Task: noTask, Lock: true},
	ActSwapVolume:        {VM: []VM{Active, Paused, Resized}, Task: noTask, Lock: true, NeedsHost: true},
	ActAttachInterface:   {VM: []VM{Active, Paused, Stopped}, Task: noTask, Lock: true, NeedsHost: true},
	ActDetachInterface:   {VM: []VM{Active, Paused, Stopped}, Task: noTask, Lock: true, NeedsHost: true},
	ActUpdateMetadata:    {VM: []VM{Active, Paused, Suspended, Stopped}, Task: noTask, Lock: true},
	ActConsoleOutput:     {NeedsHost: true},
	ActDiagnostics:       {NeedsHost: true},
	ActLock:              {},
	ActUnlock:            {},
	ActResetState:        {},
	ActResetNetwork:      {Lock: true, NeedsHost: true},
	ActInjectNetworkInfo: {Lock: true, NeedsHost: true},
	ActAddFixedIP:        {Lock: true},
	ActRemoveFixedIP:     {Lock: true},
}

// Subject is what a guard checks about an instance.
type Subject struct {
	UUID   string
	VM     VM
	Task   Task
	Locked bool
	Host   string
}

// Check returns nil when the action is allowed for the instance, or the 409
// fault Nova answers with. admin callers pass a lock.
func Check(a Action, s Subject, admin bool) error {
	g, ok := Guards[a]
	if !ok {
		return fault.Internal(fmt.Errorf("no guard for action %q", a))
	}
	if g.Lock && s.Locked && !admin {
		return fault.Conflict("Instance %s is locked", s.UUID).WithType("InstanceIsLocked")
	}
	if g.VM != nil && !slices.Contains(g.VM, s.VM) {
		return invalid(a, s.UUID, "vm_state", string(s.VM))
	}
	if g.Task != nil && !slices.Contains(g.Task, s.Task) {
		return invalid(a, s.UUID, "task_state", taskString(s.Task))
	}
	if g.NeedsHost && s.Host == "" {
		return fault.Conflict("Instance %s is not ready", s.UUID).WithType("InstanceNotReady")
	}
	return nil
}

// Invalid returns Nova's conflict for an action refused in a state, for
// callers whose CAS lost to a concurrent change.
func Invalid(a Action, uuid string, s Subject) error {
	if g := Guards[a]; g.VM != nil && !slices.Contains(g.VM, s.VM) {
		return invalid(a, uuid, "vm_state", string(s.VM))
	}
	return invalid(a, uuid, "task_state", taskString(s.Task))
}

func invalid(a Action, uuid, attr, state string) error {
	name := string(a)
	if a == ActRebootHard {
		name = "reboot"
	}
	return fault.Conflict("Cannot '%s' instance %s while it is in %s %s", name, uuid, attr, state).WithType("InstanceInvalidState")
}

func taskString(t Task) string {
	if t == NoTask {
		return "None"
	}
	return string(t)
}

// Tasks returns the task states as strings for a SQL IN list.
func Tasks(ts []Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// VMs returns the vm states as strings for a SQL IN list.
func VMs(vs []VM) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

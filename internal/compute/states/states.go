package states

import (
	"slices"
	"strings"
)

// VM is an instance's vm_state: what the instance is, in the long run.
type VM string

// The vm_states, spelled as Nova's API shows them in OS-EXT-STS:vm_state.
const (
	Active           VM = "active"
	Building         VM = "building"
	Paused           VM = "paused"
	Suspended        VM = "suspended"
	Stopped          VM = "stopped"
	Rescued          VM = "rescued"
	Resized          VM = "resized"
	SoftDeleted      VM = "soft-delete"
	Deleted          VM = "deleted"
	Error            VM = "error"
	Shelved          VM = "shelved"
	ShelvedOffloaded VM = "shelved_offloaded"
)

// AllVM lists every vm_state.
var AllVM = []VM{Active, Building, Paused, Suspended, Stopped, Rescued, Resized, SoftDeleted, Deleted, Error, Shelved, ShelvedOffloaded}

// Task is an instance's task_state: what is happening to it right now. The
// empty Task is Python's None: nothing is happening (shown as null).
type Task string

// The task_states, spelled as on the wire.
const (
	NoTask                     Task = ""
	Scheduling                 Task = "scheduling"
	BlockDeviceMapping         Task = "block_device_mapping"
	Networking                 Task = "networking"
	Spawning                   Task = "spawning"
	ImageSnapshot              Task = "image_snapshot"
	ImageSnapshotPending       Task = "image_snapshot_pending"
	ImagePendingUpload         Task = "image_pending_upload"
	ImageUploading             Task = "image_uploading"
	ImageBackup                Task = "image_backup"
	UpdatingPassword           Task = "updating_password"
	ResizePrep                 Task = "resize_prep"
	ResizeMigrating            Task = "resize_migrating"
	ResizeMigrated             Task = "resize_migrated"
	ResizeFinish               Task = "resize_finish"
	ResizeReverting            Task = "resize_reverting"
	ResizeConfirming           Task = "resize_confirming"
	Rebooting                  Task = "rebooting"
	RebootPending              Task = "reboot_pending"
	RebootStarted              Task = "reboot_started"
	RebootingHard              Task = "rebooting_hard"
	RebootPendingHard          Task = "reboot_pending_hard"
	RebootStartedHard          Task = "reboot_started_hard"
	Pausing                    Task = "pausing"
	Unpausing                  Task = "unpausing"
	Suspending                 Task = "suspending"
	Resuming                   Task = "resuming"
	PoweringOff                Task = "powering-off"
	PoweringOn                 Task = "powering-on"
	Rescuing                   Task = "rescuing"
	Unrescuing                 Task = "unrescuing"
	Rebuilding                 Task = "rebuilding"
	RebuildBlockDeviceMapping  Task = "rebuild_block_device_mapping"
	RebuildSpawning            Task = "rebuild_spawning"
	Migrating                  Task = "migrating"
	Deleting                   Task = "deleting"
	SoftDeleting               Task = "soft-deleting"
	Restoring                  Task = "restoring"
	Shelving                   Task = "shelving"
	ShelvingImagePendingUpload Task = "shelving_image_pending_upload"
	ShelvingImageUploading     Task = "shelving_image_uploading"
	ShelvingOffloading         Task = "shelving_offloading"
	Unshelving                 Task = "unshelving"
)

// AllowReboot are the task states a hard reboot may interrupt (Nova's
// task_states.ALLOW_REBOOT).
var AllowReboot = []Task{NoTask, Rebooting, RebootPending, RebootStarted, Resuming, RebootingHard, Unpausing, Pausing, Suspending}

// Transitional reports whether a task is work in flight on a compute host
// that a crash of the agent would leave hanging.
func (t Task) Transitional() bool { return t != NoTask }

// Power is an instance's power_state, the number Nova reports in
// OS-EXT-STS:power_state.
type Power int

// The power states.
const (
	PowerNoState   Power = 0
	PowerRunning   Power = 1
	PowerPaused    Power = 3
	PowerShutdown  Power = 4
	PowerCrashed   Power = 6
	PowerSuspended Power = 7
)

// String names the power state as Nova's power_state.STATE_MAP does.
func (p Power) String() string {
	switch p {
	case PowerNoState:
		return "pending"
	case PowerRunning:
		return "running"
	case PowerPaused:
		return "paused"
	case PowerShutdown:
		return "shutdown"
	case PowerCrashed:
		return "crashed"
	case PowerSuspended:
		return "suspended"
	}
	return "pending"
}

// statusMap is Nova's _STATE_MAP: for each vm_state, the status by
// task_state, with "default" for any other task state.
var statusMap = map[VM]map[Task]string{
	Active: {
		"default": "ACTIVE", Rebooting: "REBOOT", RebootPending: "REBOOT", RebootStarted: "REBOOT",
		RebootingHard: "HARD_REBOOT", RebootPendingHard: "HARD_REBOOT", RebootStartedHard: "HARD_REBOOT",
		UpdatingPassword: "PASSWORD", Rebuilding: "REBUILD", RebuildBlockDeviceMapping: "REBUILD",
		RebuildSpawning: "REBUILD", Migrating: "MIGRATING", ResizePrep: "RESIZE", ResizeMigrating: "RESIZE",
		ResizeMigrated: "RESIZE", ResizeFinish: "RESIZE",
	},
	Building: {"default": "BUILD"},
	Stopped: {
		"default": "SHUTOFF", ResizePrep: "RESIZE", ResizeMigrating: "RESIZE", ResizeMigrated: "RESIZE",
		ResizeFinish: "RESIZE", Rebuilding: "REBUILD", RebuildBlockDeviceMapping: "REBUILD", RebuildSpawning: "REBUILD",
	},
	Resized:          {"default": "VERIFY_RESIZE", ResizeReverting: "REVERT_RESIZE"},
	Paused:           {"default": "PAUSED", Migrating: "MIGRATING"},
	Suspended:        {"default": "SUSPENDED"},
	Rescued:          {"default": "RESCUE"},
	Error:            {"default": "ERROR", Rebuilding: "REBUILD", RebuildBlockDeviceMapping: "REBUILD", RebuildSpawning: "REBUILD"},
	Deleted:          {"default": "DELETED"},
	SoftDeleted:      {"default": "SOFT_DELETED"},
	Shelved:          {"default": "SHELVED"},
	ShelvedOffloaded: {"default": "SHELVED_OFFLOADED"},
}

// Status returns the API's server status for a vm_state and task_state
// ("ACTIVE", "REBOOT", "VERIFY_RESIZE", ...); "UNKNOWN" for a vm_state Nova
// does not know.
func Status(vm VM, task Task) string {
	m, ok := statusMap[vm]
	if !ok {
		return "UNKNOWN"
	}
	if s, ok := m[task]; ok && task != "default" {
		return s
	}
	return m["default"]
}

// Statuses lists every status the API can show, for validating a status
// filter (microversion 2.38 answers an unknown one with 400).
func Statuses() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range statusMap {
		for _, s := range m {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// FromStatus maps server statuses (case-insensitive) to the vm_states and
// task_states that show them, as Nova's task_and_vm_state_from_status. A
// status shown as a vm_state's default matches that vm_state with any task
// state: tasks then contains "default", which callers treat as "no
// task_state condition" for that vm_state. The result is sorted.
func FromStatus(statuses []string) (vms []VM, tasks []Task) {
	want := map[string]bool{}
	for _, s := range statuses {
		want[strings.ToUpper(s)] = true
	}
	vmSet, taskSet := map[VM]bool{}, map[Task]bool{}
	for vm, m := range statusMap {
		for task, status := range m {
			if want[status] {
				vmSet[vm] = true
				taskSet[task] = true
			}
		}
	}
	for v := range vmSet {
		vms = append(vms, v)
	}
	for t := range taskSet {
		tasks = append(tasks, t)
	}
	slices.Sort(vms)
	slices.Sort(tasks)
	return vms, tasks
}

// Filter is a status filter compiled per vm_state: a server matches when its
// vm_state is present and its task_state shows one of the wanted statuses.
type Filter map[VM]TaskMatch

// TaskMatch says which task states of one vm_state match: those listed in
// Tasks by their value, any other by Default.
type TaskMatch struct {
	Default bool
	Tasks   map[Task]bool
}

// StatusFilter compiles statuses (case-insensitive) into a Filter that
// matches exactly the servers showing one of them: "ACTIVE" matches active
// instances whose task state shows as ACTIVE (not REBOOT), "REBOOT" only
// rebooting ones.
func StatusFilter(statuses []string) Filter {
	want := map[string]bool{}
	for _, s := range statuses {
		want[strings.ToUpper(s)] = true
	}
	f := Filter{}
	for vm, m := range statusMap {
		tm := TaskMatch{Default: want[m["default"]], Tasks: map[Task]bool{}}
		any := tm.Default
		for task, status := range m {
			if task == "default" {
				continue
			}
			tm.Tasks[task] = want[status]
			any = any || want[status]
		}
		if any {
			f[vm] = tm
		}
	}
	return f
}

// Match reports whether a server in vm and task passes the filter.
func (f Filter) Match(vm VM, task Task) bool {
	tm, ok := f[vm]
	if !ok {
		return false
	}
	if v, ok := tm.Tasks[task]; ok {
		return v
	}
	return tm.Default
}

// VMStates lists the vm_states the filter can match, for a SQL prefilter.
func (f Filter) VMStates() []VM {
	out := make([]VM, 0, len(f))
	for vm := range f {
		out = append(out, vm)
	}
	slices.Sort(out)
	return out
}

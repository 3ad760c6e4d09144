package compute

// Server statuses (the "status" of a server).
const (
	StatusActive           = "ACTIVE"
	StatusBuild            = "BUILD"
	StatusDeleted          = "DELETED"
	StatusError            = "ERROR"
	StatusHardReboot       = "HARD_REBOOT"
	StatusMigrating        = "MIGRATING"
	StatusPassword         = "PASSWORD"
	StatusPaused           = "PAUSED"
	StatusReboot           = "REBOOT"
	StatusRebuild          = "REBUILD"
	StatusRescue           = "RESCUE"
	StatusResize           = "RESIZE"
	StatusRevertResize     = "REVERT_RESIZE"
	StatusShelved          = "SHELVED"
	StatusShelvedOffloaded = "SHELVED_OFFLOADED"
	StatusShutoff          = "SHUTOFF"
	StatusSoftDeleted      = "SOFT_DELETED"
	StatusSuspended        = "SUSPENDED"
	StatusUnknown          = "UNKNOWN"
	StatusVerifyResize     = "VERIFY_RESIZE"
)

// vm_state values (OS-EXT-STS:vm_state).
const (
	VMActive           = "active"
	VMBuilding         = "building"
	VMPaused           = "paused"
	VMSuspended        = "suspended"
	VMStopped          = "stopped"
	VMRescued          = "rescued"
	VMResized          = "resized"
	VMSoftDeleted      = "soft-delete"
	VMDeleted          = "deleted"
	VMError            = "error"
	VMShelved          = "shelved"
	VMShelvedOffloaded = "shelved_offloaded"
)

// task_state values of the boot sequence (OS-EXT-STS:task_state); the
// other actions' task states are named as Nova names them ("rebooting",
// "resize_migrating", "image_snapshot", ...).
const (
	TaskScheduling         = "scheduling"
	TaskNetworking         = "networking"
	TaskBlockDeviceMapping = "block_device_mapping"
	TaskSpawning           = "spawning"
	TaskDeleting           = "deleting"
)

// power_state values (OS-EXT-STS:power_state).
const (
	PowerNoState   = 0
	PowerRunning   = 1
	PowerPaused    = 3
	PowerShutdown  = 4
	PowerCrashed   = 6
	PowerSuspended = 7
)

// Reboot types.
const (
	RebootSoft = "SOFT"
	RebootHard = "HARD"
)

// Instance action events of the boot sequence, in order: the conductor
// schedules, then the compute agent builds through its phases.
const (
	EventSchedule            = "conductor_schedule_and_build_instances"
	EventBuild               = "compute__do_build_and_run_instance"
	EventBuildNetworking     = "compute_build_networking"
	EventBuildBlockDevices   = "compute_build_block_device_mapping"
	EventBuildSpawning       = "compute_build_spawning"
	EventResultSuccess       = "Success"
	EventResultError         = "Error"
	ExternalVIFPlugged       = "network-vif-plugged"
	ExternalVIFUnplugged     = "network-vif-unplugged"
	ExternalVIFDeleted       = "network-vif-deleted"
	ExternalNetworkChanged   = "network-changed"
	ExternalVolumeExtended   = "volume-extended"
	ExternalPowerUpdate      = "power-update"
	ExternalAcceleratorBound = "accelerator-request-bound"
	ExternalVolumeReimaged   = "volume-reimaged"
)

// Server group policies.
const (
	PolicyAffinity         = "affinity"
	PolicyAntiAffinity     = "anti-affinity"
	PolicySoftAffinity     = "soft-affinity"
	PolicySoftAntiAffinity = "soft-anti-affinity"
)

// Key pair types.
const (
	KeypairSSH  = "ssh"
	KeypairX509 = "x509"
)

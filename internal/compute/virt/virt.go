package virt

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/states"
)

// Driver is a hypervisor.
type Driver interface {
	// Capabilities describes the hypervisor.
	Capabilities() Capabilities
	// Init prepares the driver for a host; it is called once before use.
	Init(ctx context.Context, host string) error
	// ListInstances lists every instance the hypervisor has, running or
	// not, for recovery after an agent restart and power state syncs.
	ListInstances(ctx context.Context) ([]InstanceInfo, error)
	// Spawn creates the instance's disks and guest and starts it.
	Spawn(ctx context.Context, spec *Spec) error
	// Destroy stops the guest and removes it (and its disks unless
	// KeepDisks). Destroying an unknown instance is not an error.
	Destroy(ctx context.Context, ref Ref, o DestroyOptions) error
	// Reboot restarts the guest: an ACPI reboot, or a reset when hard.
	Reboot(ctx context.Context, ref Ref, hard bool) error
	// PowerOff stops the guest, cleanly within timeout, then hard.
	PowerOff(ctx context.Context, ref Ref, timeout time.Duration) error
	// PowerOn starts a stopped guest.
	PowerOn(ctx context.Context, ref Ref) error
	// Info returns an instance's state (ErrNotFound when it has none).
	Info(ctx context.Context, ref Ref) (InstanceInfo, error)
	// ConsoleLog returns the guest's console output.
	ConsoleLog(ctx context.Context, ref Ref) ([]byte, error)
	// HostResources reports the host's resources.
	HostResources(ctx context.Context) (Resources, error)
	// Events delivers lifecycle events (a guest stopped on its own, ...).
	Events() <-chan Event
}

// Pauser pauses guests in memory.
type Pauser interface {
	Pause(ctx context.Context, ref Ref) error
	Unpause(ctx context.Context, ref Ref) error
}

// Suspender suspends guests to disk.
type Suspender interface {
	Suspend(ctx context.Context, ref Ref) error
	Resume(ctx context.Context, ref Ref) error
}

// VIFPlugger makes a guest's host-side network devices before the guest
// exists (Nova's plug_vifs and unplug_vifs): the compute agent plugs them
// before it waits for Neutron's network-vif-plugged, since a data plane
// reports a port up only once its device is on its bridge. Spawn and
// Destroy still make and remove them; both calls are idempotent.
type VIFPlugger interface {
	PlugVIFs(ctx context.Context, ref Ref, nics []NIC) error
	UnplugVIFs(ctx context.Context, ref Ref, nics []NIC) error
}

// Snapshotter captures a guest's root disk as an image.
type Snapshotter interface {
	// Snapshot returns the root disk's data in a disk format.
	Snapshot(ctx context.Context, ref Ref) (data io.ReadCloser, diskFormat string, err error)
}

// Rescuer boots a guest from a rescue image with its disks attached.
type Rescuer interface {
	Rescue(ctx context.Context, spec *Spec) error
	Unrescue(ctx context.Context, ref Ref) error
}

// LiveMigrator moves running guests between hosts.
type LiveMigrator interface {
	// PreLiveMigration prepares the destination for the instance.
	PreLiveMigration(ctx context.Context, spec *Spec) error
	// LiveMigrate moves the guest from this host to dest.
	LiveMigrate(ctx context.Context, ref Ref, dest string) error
	// PostLiveMigrationAtDestination makes the arrived guest this host's.
	PostLiveMigrationAtDestination(ctx context.Context, spec *Spec) error
}

// InterfaceAttacher hot-plugs NICs.
type InterfaceAttacher interface {
	AttachInterface(ctx context.Context, ref Ref, nic NIC) error
	DetachInterface(ctx context.Context, ref Ref, nic NIC) error
}

// VolumeAttacher hot-plugs volumes.
type VolumeAttacher interface {
	AttachVolume(ctx context.Context, ref Ref, d Disk) error
	DetachVolume(ctx context.Context, ref Ref, d Disk) error
}

// VolumeSwapper moves a guest's disk from one volume to another while the
// guest runs (Nova's swap_volume): the data is copied to the new volume,
// the guest's device then reads and writes the new one, and the old one is
// released. resizeToGB, when set, is the new volume's larger size, which
// the guest's disk grows to.
type VolumeSwapper interface {
	SwapVolume(ctx context.Context, ref Ref, old, new Disk, resizeToGB int) error
}

// PasswordSetter sets the guest's admin password.
type PasswordSetter interface {
	SetAdminPassword(ctx context.Context, ref Ref, password string) error
}

// Diagnostician reports a guest's diagnostics.
type Diagnostician interface {
	Diagnostics(ctx context.Context, ref Ref) (Diagnostics, error)
}

// CrashDumper injects an NMI.
type CrashDumper interface {
	TriggerCrashDump(ctx context.Context, ref Ref) error
}

// Capabilities describe a hypervisor.
type Capabilities struct {
	// HypervisorType is Nova's hypervisor_type ("fake", "QEMU").
	HypervisorType string
	// HypervisorVersion is Nova's integer version (7002000 is 7.2.0).
	HypervisorVersion int
	// Arch is the guest architecture ("x86_64").
	Arch string
	// SupportsRebuildInPlace says Spawn may reuse an instance's disks.
	SupportsRebuildInPlace bool
}

// Ref names an instance on the hypervisor.
type Ref struct {
	UUID string
	// Name is the hypervisor's name ("instance-0000000a").
	Name string
}

// Spec is everything a hypervisor needs to create a guest.
type Spec struct {
	Ref
	Hostname  string
	ProjectID string
	UserID    string
	Flavor    Flavor
	// Image is the cached base image the root disk is made from.
	Image Image
	// Kernel and Ramdisk are cached files for a direct kernel boot (the
	// image's kernel_id and ramdisk_id, AMI-style), or "".
	Kernel  string
	Ramdisk string
	// Disks are the guest's disks in boot order: root, ephemeral, swap,
	// volumes, and the config drive last.
	Disks []Disk
	NICs  []NIC
	// InstanceDir is the directory the driver keeps the instance's files in.
	InstanceDir string
	// ConfigDrive is the config drive image (iso9660, label config-2), or
	// "" without one.
	ConfigDrive string
	UserData    []byte
	Metadata    map[string]string
	// PublicKeys are the injected SSH keys by name.
	PublicKeys map[string]string
	AdminPass  string
	// Rescue says the guest boots from Image with its usual disks attached.
	Rescue bool
	// ImageProperties are the image's hw_* and other properties.
	ImageProperties map[string]string
}

// Flavor is the guest's size.
type Flavor struct {
	Name        string
	VCPUs       int
	MemoryMB    int
	RootGB      int
	EphemeralGB int
	SwapMB      int
	ExtraSpecs  map[string]string
}

// Image is a cached base image.
type Image struct {
	ID   string
	Name string
	// Path is the local file holding the image's data.
	Path string
	// Format is the disk format ("qcow2", "raw", ...).
	Format string
	Size   int64
}

// Disk kinds.
const (
	DiskRoot      = "root"
	DiskEphemeral = "ephemeral"
	DiskSwap      = "swap"
	DiskVolume    = "volume"
	DiskConfig    = "config"
)

// Disk is one disk of a guest.
type Disk struct {
	Kind string
	// Path is the file to create (or use, for volumes and config drives).
	Path string
	// Format is the file's format ("qcow2", "raw").
	Format string
	// BackingFile is the base image a qcow2 overlay is made on.
	BackingFile string
	// SizeGB is the disk's size (SizeMB for swap).
	SizeGB int
	SizeMB int
	// Bus is "virtio", "scsi", "ide", ...; DeviceName is "/dev/vda".
	Bus        string
	DeviceName string
	BootIndex  int
	// Serial identifies a volume inside the guest.
	Serial string
	// GuestFormat is the filesystem an ephemeral disk gets ("ext4", "swap").
	GuestFormat string
	// Connection describes how to reach a volume (file, nbd).
	Connection map[string]string
}

// NIC is one network interface of a guest.
type NIC struct {
	PortID    string
	NetworkID string
	MAC       string
	// Tap is the host-side device name ("tap" + 11 characters of the port id).
	Tap string
	// Bridge is the host bridge the tap joins, when the binding names one.
	Bridge  string
	MTU     int
	VIFType string
	IPs     []string
}

// InstanceInfo is what the hypervisor says about an instance.
type InstanceInfo struct {
	UUID  string
	Name  string
	Power states.Power
	// VCPUs and MemoryMB are what the guest has.
	VCPUs    int
	MemoryMB int
	// Uptime is how long the guest has run.
	Uptime time.Duration
}

// DestroyOptions tune Destroy.
type DestroyOptions struct {
	// KeepDisks leaves the disks (a resize or migration moves them).
	KeepDisks bool
}

// Resources are a host's resources.
type Resources struct {
	VCPUs              int
	MemoryMB           int
	DiskGB             int
	HypervisorHostname string
	CPUInfo            string
	HostIP             string
}

// Event kinds.
const (
	EventStarted   = "started"
	EventStopped   = "stopped"
	EventPaused    = "paused"
	EventResumed   = "resumed"
	EventSuspended = "suspended"
)

// Event is a lifecycle event of a guest.
type Event struct {
	UUID string
	Kind string
}

// Diagnostics are a guest's diagnostics in Nova's 2.48 form.
type Diagnostics struct {
	State    string
	Driver   string
	Uptime   int
	NumCPUs  int
	NumNICs  int
	NumDisks int
	MemoryMB int
	NICMACs  []string
	// What a driver that measures its guests adds (zero when it does not):
	// Hypervisor is "kvm" or "qemu"; MemoryUsedMB what the guest has now
	// (its balloon); CPUs, NICs and Disks the counters of each device.
	Hypervisor   string
	ConfigDrive  bool
	MemoryUsedMB int
	CPUs         []CPUStat
	NICs         []NICStat
	Disks        []DiskStat
}

// CPUStat is a vCPU's time in nanoseconds.
type CPUStat struct {
	ID   int
	Time int64
}

// NICStat are an interface's counters as the guest sees them (rx is what
// the guest received).
type NICStat struct {
	MAC                                   string
	RxOctets, RxErrors, RxDrop, RxPackets int64
	TxOctets, TxErrors, TxDrop, TxPackets int64
}

// DiskStat are a disk's I/O counters.
type DiskStat struct {
	ReadBytes, ReadRequests, WriteBytes, WriteRequests, Errors int64
}

// Errors drivers return.
var (
	// ErrNotFound says the hypervisor has no such instance.
	ErrNotFound = errors.New("instance not found on the hypervisor")
	// ErrNotSupported says the driver cannot do what was asked.
	ErrNotSupported = errors.New("not supported by this hypervisor driver")
)

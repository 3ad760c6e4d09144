package objects

import (
	"fmt"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/states"
)

// Flavor is a flavor, and the snapshot of it an instance keeps (so that
// deleting or changing a flavor changes no instance).
type Flavor struct {
	// ID is the database id; FlavorID is the API's id ("1", "c1", a UUID).
	ID          int64             `json:"id"`
	FlavorID    string            `json:"flavorid"`
	Name        string            `json:"name"`
	MemoryMB    int               `json:"memory_mb"`
	VCPUs       int               `json:"vcpus"`
	RootGB      int               `json:"root_gb"`
	EphemeralGB int               `json:"ephemeral_gb"`
	Swap        int               `json:"swap"`
	RxtxFactor  float64           `json:"rxtx_factor"`
	IsPublic    bool              `json:"is_public"`
	Disabled    bool              `json:"disabled"`
	Description *string           `json:"description,omitempty"`
	ExtraSpecs  map[string]string `json:"extra_specs,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// DiskGB is the local disk the flavor takes: root + ephemeral + swap, in GiB.
func (f *Flavor) DiskGB(bootFromVolume bool) int {
	d := f.EphemeralGB + (f.Swap+1023)/1024
	if !bootFromVolume {
		d += f.RootGB
	}
	return d
}

// Instance is a server.
type Instance struct {
	ID          int64   `json:"id"`
	UUID        string  `json:"uuid"`
	ProjectID   string  `json:"project_id"`
	UserID      string  `json:"user_id"`
	DisplayName string  `json:"display_name"`
	Description *string `json:"description,omitempty"`
	Hostname    string  `json:"hostname"`
	ImageRef    string  `json:"image_ref"`

	Flavor    Flavor  `json:"flavor"`
	OldFlavor *Flavor `json:"old_flavor,omitempty"`
	NewFlavor *Flavor `json:"new_flavor,omitempty"`

	VMState    states.VM    `json:"vm_state"`
	TaskState  states.Task  `json:"task_state"`
	PowerState states.Power `json:"power_state"`

	Host             string `json:"host"`
	Node             string `json:"node"`
	LaunchedOn       string `json:"launched_on"`
	AvailabilityZone string `json:"availability_zone"`

	KeyName     string `json:"key_name"`
	KeyData     string `json:"key_data"`
	UserData    string `json:"user_data"`
	ConfigDrive string `json:"config_drive"`

	Metadata       map[string]string `json:"metadata"`
	SystemMetadata map[string]string `json:"system_metadata"`
	NetworkInfo    []VIF             `json:"network_info"`
	SecurityGroups []string          `json:"security_groups"`
	RequestSpec    *RequestSpec      `json:"request_spec,omitempty"`

	AccessIPv4     string `json:"access_ip_v4"`
	AccessIPv6     string `json:"access_ip_v6"`
	LockedBy       string `json:"locked_by"`
	AutoDiskConfig bool   `json:"auto_disk_config"`
	Progress       int    `json:"progress"`
	ReservationID  string `json:"reservation_id"`
	LaunchIndex    int    `json:"launch_index"`
	RootDeviceName string `json:"root_device_name"`
	KernelID       string `json:"kernel_id"`
	RamdiskID      string `json:"ramdisk_id"`

	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	LaunchedAt   time.Time `json:"launched_at"`
	TerminatedAt time.Time `json:"terminated_at"`
	DeletedAt    time.Time `json:"deleted_at"`
	Deleted      bool      `json:"deleted"`

	// Loaded on demand by the store.
	Tags  []string `json:"tags,omitempty"`
	Fault *Fault   `json:"fault,omitempty"`
}

// Name is the hypervisor's name for the instance (Nova's instance_name_template
// "instance-%08x").
func (i *Instance) Name() string { return fmt.Sprintf("instance-%08x", i.ID) }

// Locked reports whether the instance is locked.
func (i *Instance) Locked() bool { return i.LockedBy != "" }

// Subject returns what the state guards check.
func (i *Instance) Subject() states.Subject {
	return states.Subject{UUID: i.UUID, VM: i.VMState, Task: i.TaskState, Locked: i.Locked(), Host: i.Host}
}

// VIF is one network interface of an instance: a Neutron port and what the
// hypervisor needs to plug it (Nova's network_info cache entry).
type VIF struct {
	// ID is the Neutron port id.
	ID        string `json:"id"`
	Address   string `json:"address"`
	NetworkID string `json:"network_id"`
	// NetworkLabel is the network's name, the key of the server's addresses.
	NetworkLabel string `json:"network_label"`
	MTU          int    `json:"mtu,omitempty"`
	// Devname is the host-side tap device name ("tap" + the port id's start).
	Devname string `json:"devname"`
	// Bridge is the host bridge the tap joins, when the binding names one.
	Bridge  string         `json:"bridge,omitempty"`
	Type    string         `json:"type,omitempty"`
	VNIC    string         `json:"vnic_type,omitempty"`
	Active  bool           `json:"active"`
	Tag     string         `json:"tag,omitempty"`
	IPs     []IP           `json:"ips"`
	Details map[string]any `json:"details,omitempty"`
	// Preserve says the user brought the port: it is unbound, not deleted,
	// when the instance goes away.
	Preserve bool `json:"preserve_on_delete,omitempty"`
}

// IP is an address of a VIF.
type IP struct {
	Address string `json:"address"`
	Version int    `json:"version"`
	// Type is "fixed" or "floating".
	Type     string `json:"type"`
	SubnetID string `json:"subnet_id,omitempty"`
	// Gateway and CIDR describe the subnet, for config drives.
	Gateway string `json:"gateway,omitempty"`
	CIDR    string `json:"cidr,omitempty"`
	// DHCP says the subnet serves DHCP; DNS are its resolvers.
	DHCP bool     `json:"dhcp,omitempty"`
	DNS  []string `json:"dns,omitempty"`
}

// BDM is a block device mapping.
type BDM struct {
	UUID                string `json:"uuid"`
	InstanceUUID        string `json:"instance_uuid"`
	SourceType          string `json:"source_type"`
	DestinationType     string `json:"destination_type"`
	DeviceName          string `json:"device_name,omitempty"`
	BootIndex           *int   `json:"boot_index,omitempty"`
	VolumeID            string `json:"volume_id,omitempty"`
	ImageID             string `json:"image_id,omitempty"`
	SnapshotID          string `json:"snapshot_id,omitempty"`
	VolumeSize          *int   `json:"volume_size,omitempty"`
	VolumeType          string `json:"volume_type,omitempty"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
	DiskBus             string `json:"disk_bus,omitempty"`
	DeviceType          string `json:"device_type,omitempty"`
	GuestFormat         string `json:"guest_format,omitempty"`
	Tag                 string `json:"tag,omitempty"`
	AttachmentID        string `json:"attachment_id,omitempty"`
	ConnectionInfo      string `json:"connection_info,omitempty"`
}

// IsVolume reports whether the mapping is a Cinder volume.
func (b *BDM) IsVolume() bool { return b.DestinationType == "volume" }

// IsRoot reports whether the mapping is the boot disk.
func (b *BDM) IsRoot() bool { return b.BootIndex != nil && *b.BootIndex == 0 }

// ImageMeta is what the compute service needs to know about a Glance image.
type ImageMeta struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	DiskFormat      string `json:"disk_format"`
	ContainerFormat string `json:"container_format"`
	Size            int64  `json:"size"`
	VirtualSize     int64  `json:"virtual_size,omitempty"`
	MinDisk         int    `json:"min_disk"`
	MinRAM          int    `json:"min_ram"`
	Checksum        string `json:"checksum,omitempty"`
	// HashAlgo and HashValue are Glance's multihash of the data
	// (os_hash_algo, os_hash_value), checked by the host that downloads it.
	HashAlgo   string            `json:"os_hash_algo,omitempty"`
	HashValue  string            `json:"os_hash_value,omitempty"`
	Owner      string            `json:"owner,omitempty"`
	Visibility string            `json:"visibility,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// RequestedNetwork is one entry of the create request's "networks".
type RequestedNetwork struct {
	NetworkID string `json:"network_id,omitempty"`
	PortID    string `json:"port_id,omitempty"`
	FixedIP   string `json:"fixed_ip,omitempty"`
	Tag       string `json:"tag,omitempty"`
}

// HostNode names one compute node of one host.
type HostNode struct {
	Host string `json:"host"`
	Node string `json:"node"`
}

// RequestSpec is what scheduling an instance needs, kept with the instance so
// that a reschedule, a migration or an unshelve can schedule it again.
type RequestSpec struct {
	NumInstances     int       `json:"num_instances"`
	AvailabilityZone string    `json:"availability_zone,omitempty"`
	Image            ImageMeta `json:"image"`
	// NetworkMode is "auto", "none", or "" when Networks lists them.
	NetworkMode    string             `json:"network_mode,omitempty"`
	Networks       []RequestedNetwork `json:"networks,omitempty"`
	SecurityGroups []string           `json:"security_groups,omitempty"`
	BlockDevices   []BDM              `json:"block_devices,omitempty"`
	Hints          map[string]any     `json:"scheduler_hints,omitempty"`
	GroupID        string             `json:"group_id,omitempty"`
	SameHost       []string           `json:"same_host,omitempty"`
	DifferentHost  []string           `json:"different_host,omitempty"`
	ForceHosts     []string           `json:"force_hosts,omitempty"`
	ForceNodes     []string           `json:"force_nodes,omitempty"`
	IgnoreHosts    []string           `json:"ignore_hosts,omitempty"`
	// Destination is a host/node the request must land on (2.74 create,
	// migrate with host, live migration with host, unshelve with host).
	Destination *HostNode  `json:"requested_destination,omitempty"`
	Tried       []HostNode `json:"tried,omitempty"`
	Attempt     int        `json:"attempt,omitempty"`
	// BootFromVolume says the root disk is a volume.
	BootFromVolume bool `json:"boot_from_volume,omitempty"`
}

// Fault is the error that put an instance in ERROR.
type Fault struct {
	Code      int       `json:"code"`
	Message   string    `json:"message"`
	Details   string    `json:"details,omitempty"`
	Host      string    `json:"host,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Action is an instance action (os-instance-actions).
type Action struct {
	ID           int64     `json:"id"`
	Action       string    `json:"action"`
	InstanceUUID string    `json:"instance_uuid"`
	RequestID    string    `json:"request_id"`
	UserID       string    `json:"user_id"`
	ProjectID    string    `json:"project_id"`
	StartTime    time.Time `json:"start_time"`
	FinishTime   time.Time `json:"finish_time"`
	Message      string    `json:"message"`
	UpdatedAt    time.Time `json:"updated_at"`
	Events       []Event   `json:"events,omitempty"`
}

// Event is one step of an action.
type Event struct {
	ID         int64     `json:"id"`
	ActionID   int64     `json:"action_id"`
	Event      string    `json:"event"`
	StartTime  time.Time `json:"start_time"`
	FinishTime time.Time `json:"finish_time"`
	// Result is "Success", "Error", or "" while running.
	Result    string `json:"result"`
	Traceback string `json:"traceback,omitempty"`
	Host      string `json:"host"`
	Details   string `json:"details,omitempty"`
}

// Keypair is an SSH or x509 key pair.
type Keypair struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	UserID      string    `json:"user_id"`
	Fingerprint string    `json:"fingerprint"`
	PublicKey   string    `json:"public_key"`
	Type        string    `json:"type"`
	CreatedAt   time.Time `json:"created_at"`
}

// ServerGroup is a server group.
type ServerGroup struct {
	ID        int64          `json:"id"`
	UUID      string         `json:"uuid"`
	Name      string         `json:"name"`
	ProjectID string         `json:"project_id"`
	UserID    string         `json:"user_id"`
	Policy    string         `json:"policy"`
	Rules     map[string]any `json:"rules"`
	Members   []string       `json:"members"`
	CreatedAt time.Time      `json:"created_at"`
}

// MaxServerPerHost returns the anti-affinity rule's value, or 0.
func (g *ServerGroup) MaxServerPerHost() int {
	switch v := g.Rules["max_server_per_host"].(type) {
	case float64:
		return int(v)
	case int:
		return v
	}
	return 0
}

// Aggregate is a host aggregate.
type Aggregate struct {
	ID        int64             `json:"id"`
	UUID      string            `json:"uuid"`
	Name      string            `json:"name"`
	Hosts     []string          `json:"hosts"`
	Metadata  map[string]string `json:"metadata"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// AvailabilityZone is the aggregate's zone, or "".
func (a *Aggregate) AvailabilityZone() string { return a.Metadata["availability_zone"] }

// Service is a running Nova service (nova-compute, nova-conductor, ...).
type Service struct {
	ID             int64     `json:"id"`
	UUID           string    `json:"uuid"`
	Host           string    `json:"host"`
	Binary         string    `json:"binary"`
	Topic          string    `json:"topic"`
	ReportCount    int       `json:"report_count"`
	Disabled       bool      `json:"disabled"`
	DisabledReason string    `json:"disabled_reason"`
	ForcedDown     bool      `json:"forced_down"`
	LastSeenUp     time.Time `json:"last_seen_up"`
	Version        int       `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Up reports whether the service is up: not forced down and seen within
// downTime (Nova's service_down_time).
func (s *Service) Up(now time.Time, downTime time.Duration) bool {
	if s.ForcedDown {
		return false
	}
	seen := s.LastSeenUp
	if seen.IsZero() {
		seen = s.UpdatedAt
	}
	return now.Sub(seen) <= downTime
}

// ComputeNode is a hypervisor and its resources.
type ComputeNode struct {
	ID                   int64     `json:"id"`
	UUID                 string    `json:"uuid"`
	Host                 string    `json:"host"`
	HypervisorHostname   string    `json:"hypervisor_hostname"`
	HypervisorType       string    `json:"hypervisor_type"`
	HypervisorVersion    int       `json:"hypervisor_version"`
	HostIP               string    `json:"host_ip"`
	VCPUs                int       `json:"vcpus"`
	VCPUsUsed            int       `json:"vcpus_used"`
	MemoryMB             int       `json:"memory_mb"`
	MemoryMBUsed         int       `json:"memory_mb_used"`
	LocalGB              int       `json:"local_gb"`
	LocalGBUsed          int       `json:"local_gb_used"`
	RunningVMs           int       `json:"running_vms"`
	ReservedHostCPUs     int       `json:"reserved_host_cpus"`
	ReservedHostMemoryMB int       `json:"reserved_host_memory_mb"`
	ReservedHostDiskGB   int       `json:"reserved_host_disk_gb"`
	CPUAllocationRatio   float64   `json:"cpu_allocation_ratio"`
	RAMAllocationRatio   float64   `json:"ram_allocation_ratio"`
	DiskAllocationRatio  float64   `json:"disk_allocation_ratio"`
	CPUInfo              string    `json:"cpu_info"`
	Generation           int64     `json:"generation"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// Migration records a resize, cold or live migration, or an evacuation.
type Migration struct {
	ID              int64     `json:"id"`
	UUID            string    `json:"uuid"`
	InstanceUUID    string    `json:"instance_uuid"`
	ProjectID       string    `json:"project_id"`
	UserID          string    `json:"user_id"`
	SourceCompute   string    `json:"source_compute"`
	SourceNode      string    `json:"source_node"`
	DestCompute     string    `json:"dest_compute"`
	DestNode        string    `json:"dest_node"`
	DestHost        string    `json:"dest_host"`
	OldFlavorID     string    `json:"old_flavor_id"`
	NewFlavorID     string    `json:"new_flavor_id"`
	Status          string    `json:"status"`
	MigrationType   string    `json:"migration_type"`
	Hidden          bool      `json:"hidden"`
	MemoryTotal     *int64    `json:"memory_total,omitempty"`
	MemoryProcessed *int64    `json:"memory_processed,omitempty"`
	MemoryRemaining *int64    `json:"memory_remaining,omitempty"`
	DiskTotal       *int64    `json:"disk_total,omitempty"`
	DiskProcessed   *int64    `json:"disk_processed,omitempty"`
	DiskRemaining   *int64    `json:"disk_remaining,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// The migration types, as on the wire.
const (
	MigrationResize   = "resize"
	MigrationCold     = "migration"
	MigrationLive     = "live-migration"
	MigrationEvacuate = "evacuation"
)

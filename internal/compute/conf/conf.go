package conf

import (
	"fmt"
	"slices"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/scheduler"
)

// Config is nova.conf.
type Config struct {
	Default         DefaultSection  `section:"DEFAULT"`
	API             API             `section:"api"`
	Quota           Quota           `section:"quota"`
	Scheduler       Scheduler       `section:"scheduler"`
	FilterScheduler FilterScheduler `section:"filter_scheduler"`
	Compute         Compute         `section:"compute"`
	Conductor       Conductor       `section:"conductor"`
	Neutron         Neutron         `section:"neutron"`
}

// Conductor is nova.conf's [conductor] section.
type Conductor struct {
	// StrandedBuildTimeout is how long a build may stay in BUILD/scheduling
	// with no host before a conductor takes it for orphaned (the API process
	// or the conductor scheduling it died, or the cast was lost) and sets it
	// to ERROR with a fault. Scheduling takes milliseconds. tenku's own
	// option; Nova leaves such builds to an operator.
	StrandedBuildTimeout time.Duration `opt:"stranded_build_timeout" help:"Seconds a build may stay in BUILD/scheduling with no host before a conductor sets it to ERROR with a fault (tenku's; its API process or conductor died)."`
}

// Neutron is nova.conf's [neutron] section (the endpoint comes from the
// catalog, the credentials from the service user).
type Neutron struct {
	DefaultFloatingPool string `opt:"default_floating_pool" help:"External network (name or id) the deprecated os-floating-ips API allocates from when the request names no pool."`
	// MetadataProxySharedSecret authenticates Neutron's metadata proxy.
	MetadataProxySharedSecret string `opt:"metadata_proxy_shared_secret" help:"Secret Neutron's metadata proxy signs the instance id of each metadata request with (HMAC-SHA256)."`
}

// DefaultSection is nova.conf's [DEFAULT] section.
type DefaultSection struct {
	// ComputeDriver is read by the assembly, which builds the driver.
	ComputeDriver string `opt:"compute_driver" help:"Hypervisor driver of this compute host, by name (fake; Nova's class names such as fake.FakeDriver are accepted). Each driver reads its own section."`

	DefaultAvailabilityZone string `opt:"default_availability_zone" help:"Availability zone of compute hosts that belong to no zoned aggregate."`
	DefaultScheduleZone     string `opt:"default_schedule_zone" help:"Availability zone given to instances whose request names none; empty lets the scheduler choose."`
	AllowResizeToSameHost   bool   `opt:"allow_resize_to_same_host" help:"Allow the destination of a resize to be the instance's own host (devstack turns this on)."`
	InternalServiceAZ       string `opt:"internal_service_availability_zone" help:"Availability zone shown for services other than nova-compute."`

	ReportInterval    time.Duration `opt:"report_interval" help:"Seconds between a service's heartbeats."`
	ServiceDownTime   time.Duration `opt:"service_down_time" help:"A service not heard from for this long is down."`
	EnableNewServices bool          `opt:"enable_new_services" help:"Enable compute services when they first register."`

	VIFPluggingIsFatal bool          `opt:"vif_plugging_is_fatal" help:"Fail a boot when Neutron does not report the ports plugged (network-vif-plugged) within vif_plugging_timeout."`
	VIFPluggingTimeout time.Duration `opt:"vif_plugging_timeout" help:"Seconds to wait for Neutron's network-vif-plugged events; 0 does not wait."`

	CPUAllocationRatio         float64 `opt:"cpu_allocation_ratio" help:"vCPU overcommit of this compute host; 0 uses initial_cpu_allocation_ratio."`
	RAMAllocationRatio         float64 `opt:"ram_allocation_ratio" help:"Memory overcommit of this compute host; 0 uses initial_ram_allocation_ratio."`
	DiskAllocationRatio        float64 `opt:"disk_allocation_ratio" help:"Disk overcommit of this compute host; 0 uses initial_disk_allocation_ratio."`
	InitialCPUAllocationRatio  float64 `opt:"initial_cpu_allocation_ratio" help:"vCPU overcommit of a compute host that sets none."`
	InitialRAMAllocationRatio  float64 `opt:"initial_ram_allocation_ratio" help:"Memory overcommit of a compute host that sets none."`
	InitialDiskAllocationRatio float64 `opt:"initial_disk_allocation_ratio" help:"Disk overcommit of a compute host that sets none."`
	ReservedHostCPUs           int     `opt:"reserved_host_cpus" help:"Physical CPUs held back for the host."`
	ReservedHostMemoryMB       int     `opt:"reserved_host_memory_mb" help:"Memory in MiB held back for the host."`
	ReservedHostDiskMB         int     `opt:"reserved_host_disk_mb" help:"Disk in MiB held back for the host."`

	SyncPowerStateInterval  time.Duration `opt:"sync_power_state_interval" help:"Seconds between power state syncs of a compute host's instances with its hypervisor; negative disables."`
	ShelvedOffloadTime      time.Duration `opt:"shelved_offload_time" help:"Seconds a shelved instance keeps its host before it is offloaded; 0 offloads at once, negative never."`
	ReclaimInstanceInterval time.Duration `opt:"reclaim_instance_interval" help:"Seconds a deleted instance stays SOFT_DELETED (restorable) before it is really deleted; 0 deletes at once."`
	RebootTimeout           time.Duration `opt:"reboot_timeout" help:"Seconds after which an instance stuck in a reboot is rebooted again; 0 disables."`
	ResizeConfirmWindow     time.Duration `opt:"resize_confirm_window" help:"Seconds after which a resize waiting for confirmation is confirmed automatically; 0 disables."`
	MaxConcurrentBuilds     int           `opt:"max_concurrent_builds" help:"Builds a compute host runs at once; 0 is unlimited."`
	ForceConfigDrive        bool          `opt:"force_config_drive" help:"Give every instance a config drive, asked for or not."`
	MaxLocalBlockDevices    int           `opt:"max_local_block_devices" help:"Most local disks (image or blank) one instance may have; negative is unlimited."`
	// A build waits for the volumes it asks Cinder to create:
	// retries × interval at the most.
	BlockDeviceAllocateRetries         int           `opt:"block_device_allocate_retries" help:"Times a build checks whether a volume it created is available before giving up."`
	BlockDeviceAllocateRetriesInterval time.Duration `opt:"block_device_allocate_retries_interval" help:"Seconds between those checks."`
	PasswordLength                     int           `opt:"password_length" help:"Length of generated admin passwords."`
	InstanceNameTemplate               string        `opt:"instance_name_template" help:"Template of hypervisor instance names (a Go-ish %08x of the instance id)."`
}

// API is nova.conf's [api] section.
type API struct {
	MaxLimit               int    `opt:"max_limit" help:"Most items a list returns in one page."`
	ComputeLinkPrefix      string `opt:"compute_link_prefix" help:"Base URL of links to compute resources; empty uses the request's."`
	GlanceLinkPrefix       string `opt:"glance_link_prefix" help:"Base URL of links to images; empty uses the request's."`
	DHCPDomain             string `opt:"dhcp_domain" help:"Domain appended to instance host names in metadata."`
	EnableInstancePassword bool   `opt:"enable_instance_password" help:"Return adminPass in create, rebuild and rescue responses."`
	MaxServerTags          int    `opt:"max_server_tags" help:"Most tags a server may have (Nova's fixed 50)."`
}

// Quota is nova.conf's [quota] section: the default limits (-1: unlimited).
type Quota struct {
	Instances                int  `opt:"instances" help:"Instances a project may have."`
	Cores                    int  `opt:"cores" help:"Instance cores (vCPUs) a project may have."`
	RAM                      int  `opt:"ram" help:"Megabytes of instance RAM a project may have."`
	MetadataItems            int  `opt:"metadata_items" help:"Metadata items an instance may have."`
	InjectedFiles            int  `opt:"injected_files" help:"Injected files (personality) a request may carry."`
	InjectedFileContentBytes int  `opt:"injected_file_content_bytes" help:"Bytes per injected file."`
	InjectedFilePathLength   int  `opt:"injected_file_path_length" help:"Length of an injected file's path."`
	KeyPairs                 int  `opt:"key_pairs" help:"Key pairs a user may have."`
	ServerGroups             int  `opt:"server_groups" help:"Server groups a project may have."`
	ServerGroupMembers       int  `opt:"server_group_members" help:"Servers a server group may have."`
	RecheckQuota             bool `opt:"recheck_quota" help:"Accepted for compatibility: tenku's reservations are atomic, so no recheck is needed."`
}

// Scheduler is nova.conf's [scheduler] section.
type Scheduler struct {
	MaxAttempts     int           `opt:"max_attempts" help:"Hosts tried for one instance (the first choice and reschedules) before it goes to ERROR."`
	Workers         int           `opt:"workers" help:"Concurrent scheduling decisions of one scheduler worker."`
	RefreshInterval time.Duration `opt:"host_state_refresh_interval" help:"How long the scheduler's snapshot of host states may be reused before it is read again from the database (it is updated by its own choices in between)."`
}

// FilterScheduler is nova.conf's [filter_scheduler] section.
type FilterScheduler struct {
	EnabledFilters                     []string `opt:"enabled_filters" help:"Filters that remove hosts which cannot take an instance, in order."`
	WeightClasses                      []string `opt:"weight_classes" help:"Weighers that rank the remaining hosts."`
	HostSubsetSize                     int      `opt:"host_subset_size" help:"Choose at random among this many best hosts."`
	ShuffleBestSameWeighedHosts        bool     `opt:"shuffle_best_same_weighed_hosts" help:"Spread instances among hosts that tie for the best weight."`
	MaxIOOpsPerHost                    int      `opt:"max_io_ops_per_host" help:"IoOpsFilter's limit of concurrent I/O-heavy operations per host."`
	MaxInstancesPerHost                int      `opt:"max_instances_per_host" help:"NumInstancesFilter's limit of instances per host."`
	ImagePropertiesDefaultArchitecture string   `opt:"image_properties_default_architecture" help:"Architecture assumed for images that set none."`
	RAMWeightMultiplier                float64  `opt:"ram_weight_multiplier" help:"Weight of free RAM; positive spreads, negative stacks."`
	CPUWeightMultiplier                float64  `opt:"cpu_weight_multiplier" help:"Weight of free vCPUs."`
	DiskWeightMultiplier               float64  `opt:"disk_weight_multiplier" help:"Weight of free disk."`
	IOOpsWeightMultiplier              float64  `opt:"io_ops_weight_multiplier" help:"Weight of I/O operations; negative prefers quiet hosts."`
	BuildFailureWeightMultiplier       float64  `opt:"build_failure_weight_multiplier" help:"Penalty of hosts with recent build failures."`
	SoftAffinityWeightMultiplier       float64  `opt:"soft_affinity_weight_multiplier" help:"Weight of soft-affinity group members on a host."`
	SoftAntiAffinityWeightMultiplier   float64  `opt:"soft_anti_affinity_weight_multiplier" help:"Weight against soft-anti-affinity group members on a host."`
	NumInstancesWeightMultiplier       float64  `opt:"num_instances_weight_multiplier" help:"Weight of the number of instances; positive prefers busy hosts."`
	HypervisorVersionWeightMultiplier  float64  `opt:"hypervisor_version_weight_multiplier" help:"Weight of the hypervisor version; positive prefers newer hosts."`
}

// Compute is nova.conf's [compute] section.
type Compute struct {
	ConsecutiveBuildServiceDisableThreshold int           `opt:"consecutive_build_service_disable_threshold" help:"Consecutive build failures after which a compute host counts as failing (it is weighed down); 0 disables."`
	ShutdownTimeout                         time.Duration `opt:"shutdown_timeout" help:"Seconds a guest gets to power off cleanly before it is stopped hard."`
	ResourceUpdateInterval                  time.Duration `opt:"resource_update_interval" help:"Seconds between the resource tracker's reports of a host's resources."`
	LiveMigrationWaitForVIFPlug             bool          `opt:"live_migration_wait_for_vif_plug" help:"Wait for network-vif-plugged on the destination before a live migration switches over."`
	// StrandedTaskTimeout is how long an instance may keep a task state
	// that no process works on before it is settled: the compute agent of
	// its host settles the tasks of its instances it holds no operation for
	// (as it does on its own restart), a conductor the moves and unshelves
	// no agent has taken yet. That happens when the API process or
	// conductor that set the task died before handing it on, or an agent's
	// last save failed while no conductor was up. tenku's own option; Nova
	// leaves such instances to an operator's reset-state.
	StrandedTaskTimeout time.Duration `opt:"stranded_task_timeout" help:"Seconds an instance may keep a task state no process works on (its API process or conductor died) before its compute agent, or a conductor for moves and unshelves no agent took, settles it as an agent restart would (tenku's)."`
}

// Default returns Nova's defaults, with the few devstack changes that make a
// one-host cloud work (allow_resize_to_same_host).
func Default() Config {
	sc := scheduler.DefaultConfig()
	return Config{
		Default: DefaultSection{
			ComputeDriver:                      "fake",
			DefaultAvailabilityZone:            "nova",
			AllowResizeToSameHost:              true,
			InternalServiceAZ:                  "internal",
			ReportInterval:                     10 * time.Second,
			ServiceDownTime:                    60 * time.Second,
			EnableNewServices:                  true,
			VIFPluggingIsFatal:                 true,
			VIFPluggingTimeout:                 300 * time.Second,
			InitialCPUAllocationRatio:          4.0,
			InitialRAMAllocationRatio:          1.0,
			InitialDiskAllocationRatio:         1.0,
			ReservedHostMemoryMB:               512,
			SyncPowerStateInterval:             600 * time.Second,
			ShelvedOffloadTime:                 0,
			MaxConcurrentBuilds:                10,
			MaxLocalBlockDevices:               3,
			BlockDeviceAllocateRetries:         60,
			BlockDeviceAllocateRetriesInterval: 3 * time.Second,
			PasswordLength:                     12,
			InstanceNameTemplate:               "instance-%08x",
		},
		Neutron:   Neutron{DefaultFloatingPool: "public"},
		Conductor: Conductor{StrandedBuildTimeout: 60 * time.Second},
		API:       API{MaxLimit: 1000, DHCPDomain: "novalocal", EnableInstancePassword: true, MaxServerTags: 50},
		Quota: Quota{
			Instances: 10, Cores: 20, RAM: 51200, MetadataItems: 128, InjectedFiles: 5,
			InjectedFileContentBytes: 10240, InjectedFilePathLength: 255, KeyPairs: 100,
			ServerGroups: 10, ServerGroupMembers: 10, RecheckQuota: true,
		},
		Scheduler: Scheduler{MaxAttempts: sc.MaxAttempts, Workers: 64, RefreshInterval: 2 * time.Second},
		FilterScheduler: FilterScheduler{
			// devstack adds the same_host and different_host hints' filters.
			EnabledFilters:                    append(slices.Clone(sc.EnabledFilters), "SameHostFilter", "DifferentHostFilter"),
			WeightClasses:                     sc.Weighers,
			HostSubsetSize:                    sc.HostSubsetSize,
			ShuffleBestSameWeighedHosts:       sc.ShuffleBestSameWeighedHosts,
			MaxIOOpsPerHost:                   sc.MaxIOOpsPerHost,
			MaxInstancesPerHost:               sc.MaxInstancesPerHost,
			RAMWeightMultiplier:               sc.RAMWeightMultiplier,
			CPUWeightMultiplier:               sc.CPUWeightMultiplier,
			DiskWeightMultiplier:              sc.DiskWeightMultiplier,
			IOOpsWeightMultiplier:             sc.IOOpsWeightMultiplier,
			BuildFailureWeightMultiplier:      sc.BuildFailureWeightMultiplier,
			SoftAffinityWeightMultiplier:      sc.SoftAffinityWeightMultiplier,
			SoftAntiAffinityWeightMultiplier:  sc.SoftAntiAffinityWeightMultiplier,
			NumInstancesWeightMultiplier:      sc.NumInstancesWeightMultiplier,
			HypervisorVersionWeightMultiplier: sc.HypervisorVersionWeightMultiplier,
		},
		Compute: Compute{
			ConsecutiveBuildServiceDisableThreshold: 10,
			ShutdownTimeout:                         60 * time.Second,
			ResourceUpdateInterval:                  60 * time.Second,
			StrandedTaskTimeout:                     300 * time.Second,
		},
	}
}

// SchedulerConfig is the scheduler package's configuration from nova.conf.
func (c *Config) SchedulerConfig() scheduler.Config {
	sc := scheduler.DefaultConfig()
	f := c.FilterScheduler
	sc.EnabledFilters = f.EnabledFilters
	sc.Weighers = f.WeightClasses
	sc.HostSubsetSize = f.HostSubsetSize
	sc.MaxAttempts = c.Scheduler.MaxAttempts
	sc.ShuffleBestSameWeighedHosts = f.ShuffleBestSameWeighedHosts
	sc.MaxIOOpsPerHost = f.MaxIOOpsPerHost
	sc.MaxInstancesPerHost = f.MaxInstancesPerHost
	sc.ImagePropertiesDefaultArchitecture = f.ImagePropertiesDefaultArchitecture
	sc.DefaultAvailabilityZone = c.Default.DefaultAvailabilityZone
	sc.CPUAllocationRatio = c.Default.InitialCPUAllocationRatio
	sc.RAMAllocationRatio = c.Default.InitialRAMAllocationRatio
	sc.DiskAllocationRatio = c.Default.InitialDiskAllocationRatio
	sc.RAMWeightMultiplier = f.RAMWeightMultiplier
	sc.CPUWeightMultiplier = f.CPUWeightMultiplier
	sc.DiskWeightMultiplier = f.DiskWeightMultiplier
	sc.IOOpsWeightMultiplier = f.IOOpsWeightMultiplier
	sc.BuildFailureWeightMultiplier = f.BuildFailureWeightMultiplier
	sc.SoftAffinityWeightMultiplier = f.SoftAffinityWeightMultiplier
	sc.SoftAntiAffinityWeightMultiplier = f.SoftAntiAffinityWeightMultiplier
	sc.NumInstancesWeightMultiplier = f.NumInstancesWeightMultiplier
	sc.HypervisorVersionWeightMultiplier = f.HypervisorVersionWeightMultiplier
	return sc
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	sc := c.SchedulerConfig()
	if err := sc.Validate(); err != nil {
		return err
	}
	switch {
	case c.Default.ReportInterval <= 0:
		return fmt.Errorf("report_interval must be positive")
	case c.Default.ServiceDownTime < c.Default.ReportInterval:
		return fmt.Errorf("service_down_time (%s) must be at least report_interval (%s)", c.Default.ServiceDownTime, c.Default.ReportInterval)
	case c.API.MaxLimit <= 0:
		return fmt.Errorf("[api] max_limit must be positive")
	case c.Conductor.StrandedBuildTimeout <= 0:
		return fmt.Errorf("[conductor] stranded_build_timeout must be positive")
	case c.Compute.StrandedTaskTimeout <= 0:
		return fmt.Errorf("[compute] stranded_task_timeout must be positive")
	case c.Default.PasswordLength < 1:
		return fmt.Errorf("password_length must be positive")
	case c.Scheduler.Workers < 1:
		return fmt.Errorf("[scheduler] workers must be at least 1")
	}
	return nil
}

// Ratios returns the allocation ratios a compute host reports: its own, or
// the initial ones.
func (c *Config) Ratios() (cpu, ram, disk float64) {
	d := c.Default
	cpu, ram, disk = d.CPUAllocationRatio, d.RAMAllocationRatio, d.DiskAllocationRatio
	if cpu <= 0 {
		cpu = d.InitialCPUAllocationRatio
	}
	if ram <= 0 {
		ram = d.InitialRAMAllocationRatio
	}
	if disk <= 0 {
		disk = d.InitialDiskAllocationRatio
	}
	return
}

package scheduler

import (
	"math"
	"strconv"
)

// Config holds the scheduler's options, tagged for internal/platform/config.
// The option names are Nova's: most are in nova.conf's [filter_scheduler]
// section, where the compute service's configuration is expected to place
// this struct; in Nova, max_attempts lives in [scheduler] and the
// allocation ratios (initial_*_allocation_ratio) and
// default_availability_zone in [DEFAULT].
type Config struct {
	// EnabledFilters are the filters to run, in order (enabled_filters).
	EnabledFilters []string `opt:"enabled_filters" help:"Filters to run, in order: a host must pass every one. See the scheduler package README for the available filters."`
	// Weighers are the weighers to apply (weight_classes).
	Weighers []string `opt:"weight_classes" help:"Weighers whose normalised weights, times their multipliers, rank the hosts that passed the filters."`

	// HostSubsetSize is the number of best hosts the choice is made from at
	// random; 1 always takes the best (host_subset_size).
	HostSubsetSize int `opt:"host_subset_size" help:"Choose at random among this many best-weighed hosts (1 always takes the best)."`
	// MaxAttempts bounds the tries per instance: Select returns up to
	// MaxAttempts-1 alternates with each choice (max_attempts).
	MaxAttempts int `opt:"max_attempts" help:"Attempts per instance: each choice comes with up to max_attempts-1 alternate hosts for reschedules."`
	// ShuffleBestSameWeighedHosts spreads instances among hosts that tie for
	// the best weight (shuffle_best_same_weighed_hosts).
	ShuffleBestSameWeighedHosts bool `opt:"shuffle_best_same_weighed_hosts" help:"Shuffle the hosts that tie for the best weight, to spread identical hosts."`

	// MaxIOOpsPerHost is IoOpsFilter's limit (max_io_ops_per_host).
	MaxIOOpsPerHost int `opt:"max_io_ops_per_host" help:"IoOpsFilter: hosts with this many instances building, resizing, snapshotting... are skipped."`
	// MaxInstancesPerHost is NumInstancesFilter's limit (max_instances_per_host).
	MaxInstancesPerHost int `opt:"max_instances_per_host" help:"NumInstancesFilter: hosts with this many instances are skipped."`
	// ImagePropertiesDefaultArchitecture is the architecture assumed for
	// images without hw_architecture (image_properties_default_architecture).
	ImagePropertiesDefaultArchitecture string `opt:"image_properties_default_architecture" help:"ImagePropertiesFilter: architecture assumed for images without hw_architecture (empty: none)."`
	// DefaultAvailabilityZone is the zone of hosts in no zoned aggregate
	// (default_availability_zone).
	DefaultAvailabilityZone string `opt:"default_availability_zone" help:"Availability zone of hosts in no aggregate with an availability_zone."`

	// CPUAllocationRatio applies to hosts that report no ratio
	// (initial_cpu_allocation_ratio).
	CPUAllocationRatio float64 `opt:"initial_cpu_allocation_ratio" help:"vCPU overcommit ratio for compute nodes that report none."`
	// RAMAllocationRatio applies to hosts that report no ratio
	// (initial_ram_allocation_ratio).
	RAMAllocationRatio float64 `opt:"initial_ram_allocation_ratio" help:"Memory overcommit ratio for compute nodes that report none."`
	// DiskAllocationRatio applies to hosts that report no ratio
	// (initial_disk_allocation_ratio).
	DiskAllocationRatio float64 `opt:"initial_disk_allocation_ratio" help:"Disk overcommit ratio for compute nodes that report none."`

	// RAMWeightMultiplier weighs free memory; positive spreads, negative
	// stacks (ram_weight_multiplier).
	RAMWeightMultiplier float64 `opt:"ram_weight_multiplier" help:"RAMWeigher: positive spreads instances over free memory, negative stacks them."`
	// CPUWeightMultiplier weighs free vCPUs (cpu_weight_multiplier).
	CPUWeightMultiplier float64 `opt:"cpu_weight_multiplier" help:"CPUWeigher: positive spreads over free vCPUs, negative stacks."`
	// DiskWeightMultiplier weighs free disk (disk_weight_multiplier).
	DiskWeightMultiplier float64 `opt:"disk_weight_multiplier" help:"DiskWeigher: positive spreads over free disk, negative stacks."`
	// IOOpsWeightMultiplier weighs I/O operations; negative prefers quiet
	// hosts (io_ops_weight_multiplier).
	IOOpsWeightMultiplier float64 `opt:"io_ops_weight_multiplier" help:"IoOpsWeigher: negative prefers hosts with less I/O work, positive busier ones."`
	// BuildFailureWeightMultiplier penalises hosts with recent build
	// failures (build_failure_weight_multiplier).
	BuildFailureWeightMultiplier float64 `opt:"build_failure_weight_multiplier" help:"BuildFailureWeigher: how strongly to avoid hosts with recent build failures (0 disables)."`
	// SoftAffinityWeightMultiplier weighs soft-affinity groups
	// (soft_affinity_weight_multiplier); must not be negative.
	SoftAffinityWeightMultiplier float64 `opt:"soft_affinity_weight_multiplier" help:"ServerGroupSoftAffinityWeigher: pull of soft-affinity groups (not negative)."`
	// SoftAntiAffinityWeightMultiplier weighs soft-anti-affinity groups
	// (soft_anti_affinity_weight_multiplier); must not be negative.
	SoftAntiAffinityWeightMultiplier float64 `opt:"soft_anti_affinity_weight_multiplier" help:"ServerGroupSoftAntiAffinityWeigher: push of soft-anti-affinity groups (not negative)."`
	// NumInstancesWeightMultiplier weighs the instance count; positive
	// prefers busy hosts (num_instances_weight_multiplier).
	NumInstancesWeightMultiplier float64 `opt:"num_instances_weight_multiplier" help:"NumInstancesWeigher: negative spreads by instance count, positive packs (0 disables)."`
	// HypervisorVersionWeightMultiplier weighs the hypervisor version;
	// positive prefers newer hosts (hypervisor_version_weight_multiplier).
	HypervisorVersionWeightMultiplier float64 `opt:"hypervisor_version_weight_multiplier" help:"HypervisorVersionWeigher: positive prefers newer hypervisors."`
}

// DefaultConfig returns Nova's defaults.
//
// The enabled filters are Nova's default enabled_filters, preceded by the
// checks Nova makes in placement before its filters run (availability zone,
// resources, traits), which tenku makes as filters so that a fault can name
// them. The weighers are all of Nova's weighers that tenku models (Nova's
// default is all of its weighers).
func DefaultConfig() Config {
	return Config{
		EnabledFilters: []string{
			"ComputeFilter",
			"AvailabilityZoneFilter",
			"RamFilter",
			"CoreFilter",
			"DiskFilter",
			"TraitsFilter",
			"ComputeCapabilitiesFilter",
			"ImagePropertiesFilter",
			"ServerGroupAntiAffinityFilter",
			"ServerGroupAffinityFilter",
		},
		Weighers: []string{
			"RAMWeigher",
			"CPUWeigher",
			"DiskWeigher",
			"IoOpsWeigher",
			"ServerGroupSoftAffinityWeigher",
			"ServerGroupSoftAntiAffinityWeigher",
			"BuildFailureWeigher",
			"HypervisorVersionWeigher",
			"NumInstancesWeigher",
		},
		HostSubsetSize:                    1,
		MaxAttempts:                       3,
		ShuffleBestSameWeighedHosts:       false,
		MaxIOOpsPerHost:                   8,
		MaxInstancesPerHost:               50,
		DefaultAvailabilityZone:           "nova",
		CPUAllocationRatio:                4.0,
		RAMAllocationRatio:                1.0,
		DiskAllocationRatio:               1.0,
		RAMWeightMultiplier:               1.0,
		CPUWeightMultiplier:               1.0,
		DiskWeightMultiplier:              1.0,
		IOOpsWeightMultiplier:             -1.0,
		BuildFailureWeightMultiplier:      1000000.0,
		SoftAffinityWeightMultiplier:      1.0,
		SoftAntiAffinityWeightMultiplier:  1.0,
		NumInstancesWeightMultiplier:      0.0,
		HypervisorVersionWeightMultiplier: 1.0,
	}
}

// Validate checks every option against Nova's bounds and every filter and
// weigher name against the ones tenku provides (plus extra, the names of
// filters and weighers a caller adds through Deps).
func (c *Config) Validate(extra ...string) error {
	switch {
	case c.HostSubsetSize < 1:
		return &ConfigError{Option: "host_subset_size", Reason: "must be at least 1, not " + strconv.Itoa(c.HostSubsetSize)}
	case c.MaxAttempts < 1:
		return &ConfigError{Option: "max_attempts", Reason: "must be at least 1, not " + strconv.Itoa(c.MaxAttempts)}
	case c.MaxIOOpsPerHost < 0:
		return &ConfigError{Option: "max_io_ops_per_host", Reason: "must not be negative"}
	case c.MaxInstancesPerHost < 1:
		return &ConfigError{Option: "max_instances_per_host", Reason: "must be at least 1, not " + strconv.Itoa(c.MaxInstancesPerHost)}
	}
	if c.ImagePropertiesDefaultArchitecture != "" && !knownArch(canonicalArch(c.ImagePropertiesDefaultArchitecture)) {
		return &ConfigError{Option: "image_properties_default_architecture", Reason: "unknown architecture " + strconv.Quote(c.ImagePropertiesDefaultArchitecture)}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"initial_cpu_allocation_ratio", c.CPUAllocationRatio},
		{"initial_ram_allocation_ratio", c.RAMAllocationRatio},
		{"initial_disk_allocation_ratio", c.DiskAllocationRatio},
	} {
		if !(r.v > 0) || math.IsInf(r.v, 0) {
			return &ConfigError{Option: r.name, Reason: "must be a positive number"}
		}
	}
	for _, m := range []struct {
		name        string
		v           float64
		nonNegative bool
	}{
		{"ram_weight_multiplier", c.RAMWeightMultiplier, false},
		{"cpu_weight_multiplier", c.CPUWeightMultiplier, false},
		{"disk_weight_multiplier", c.DiskWeightMultiplier, false},
		{"io_ops_weight_multiplier", c.IOOpsWeightMultiplier, false},
		{"build_failure_weight_multiplier", c.BuildFailureWeightMultiplier, false},
		{"soft_affinity_weight_multiplier", c.SoftAffinityWeightMultiplier, true},
		{"soft_anti_affinity_weight_multiplier", c.SoftAntiAffinityWeightMultiplier, true},
		{"num_instances_weight_multiplier", c.NumInstancesWeightMultiplier, false},
		{"hypervisor_version_weight_multiplier", c.HypervisorVersionWeightMultiplier, false},
	} {
		if math.IsNaN(m.v) || math.IsInf(m.v, 0) {
			return &ConfigError{Option: m.name, Reason: "must be a finite number"}
		}
		if m.nonNegative && m.v < 0 {
			return &ConfigError{Option: m.name, Reason: "must not be negative"}
		}
	}
	known := func(name string, builtin []string) bool {
		for _, n := range builtin {
			if n == name {
				return true
			}
		}
		for _, n := range extra {
			if n == name {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	for _, f := range c.EnabledFilters {
		if !known(f, AvailableFilters()) {
			return &ConfigError{Option: "enabled_filters", Reason: "unknown filter " + strconv.Quote(f)}
		}
		if seen[f] {
			return &ConfigError{Option: "enabled_filters", Reason: "filter " + strconv.Quote(f) + " is listed twice"}
		}
		seen[f] = true
	}
	clear(seen)
	for _, w := range c.Weighers {
		if !known(w, AvailableWeighers()) {
			return &ConfigError{Option: "weight_classes", Reason: "unknown weigher " + strconv.Quote(w)}
		}
		if seen[w] {
			return &ConfigError{Option: "weight_classes", Reason: "weigher " + strconv.Quote(w) + " is listed twice"}
		}
		seen[w] = true
	}
	return nil
}

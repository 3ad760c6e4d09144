package scheduler

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig does not validate: %v", err)
	}
	// Nova's defaults.
	checks := []struct {
		name      string
		got, want any
	}{
		{"host_subset_size", c.HostSubsetSize, 1},
		{"max_attempts", c.MaxAttempts, 3},
		{"shuffle_best_same_weighed_hosts", c.ShuffleBestSameWeighedHosts, false},
		{"max_io_ops_per_host", c.MaxIOOpsPerHost, 8},
		{"max_instances_per_host", c.MaxInstancesPerHost, 50},
		{"default_availability_zone", c.DefaultAvailabilityZone, "nova"},
		{"initial_cpu_allocation_ratio", c.CPUAllocationRatio, 4.0},
		{"initial_ram_allocation_ratio", c.RAMAllocationRatio, 1.0},
		{"initial_disk_allocation_ratio", c.DiskAllocationRatio, 1.0},
		{"ram_weight_multiplier", c.RAMWeightMultiplier, 1.0},
		{"cpu_weight_multiplier", c.CPUWeightMultiplier, 1.0},
		{"disk_weight_multiplier", c.DiskWeightMultiplier, 1.0},
		{"io_ops_weight_multiplier", c.IOOpsWeightMultiplier, -1.0},
		{"build_failure_weight_multiplier", c.BuildFailureWeightMultiplier, 1000000.0},
		{"soft_affinity_weight_multiplier", c.SoftAffinityWeightMultiplier, 1.0},
		{"soft_anti_affinity_weight_multiplier", c.SoftAntiAffinityWeightMultiplier, 1.0},
		{"num_instances_weight_multiplier", c.NumInstancesWeightMultiplier, 0.0},
		{"hypervisor_version_weight_multiplier", c.HypervisorVersionWeightMultiplier, 1.0},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	// Nova's default filters must all be enabled, and every weigher tenku has.
	for _, f := range []string{"ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
		"ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"} {
		if !slices.Contains(c.EnabledFilters, f) {
			t.Errorf("default filters lack Nova's %s", f)
		}
	}
	if got := slices.Sorted(slices.Values(c.Weighers)); !slices.Equal(got, AvailableWeighers()) {
		t.Errorf("default weighers %v, want all of %v", got, AvailableWeighers())
	}
	// DefaultConfig hands out fresh slices.
	c.EnabledFilters[0] = "changed"
	if DefaultConfig().EnabledFilters[0] == "changed" {
		t.Error("DefaultConfig shares its filter list")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		option string
		edit   func(*Config)
	}{
		{"host_subset_size", func(c *Config) { c.HostSubsetSize = 0 }},
		{"max_attempts", func(c *Config) { c.MaxAttempts = 0 }},
		{"max_io_ops_per_host", func(c *Config) { c.MaxIOOpsPerHost = -1 }},
		{"max_instances_per_host", func(c *Config) { c.MaxInstancesPerHost = 0 }},
		{"image_properties_default_architecture", func(c *Config) { c.ImagePropertiesDefaultArchitecture = "z80" }},
		{"initial_cpu_allocation_ratio", func(c *Config) { c.CPUAllocationRatio = 0 }},
		{"initial_ram_allocation_ratio", func(c *Config) { c.RAMAllocationRatio = -1 }},
		{"initial_disk_allocation_ratio", func(c *Config) { c.DiskAllocationRatio = math.Inf(1) }},
		{"ram_weight_multiplier", func(c *Config) { c.RAMWeightMultiplier = math.NaN() }},
		{"build_failure_weight_multiplier", func(c *Config) { c.BuildFailureWeightMultiplier = math.Inf(-1) }},
		{"soft_affinity_weight_multiplier", func(c *Config) { c.SoftAffinityWeightMultiplier = -1 }},
		{"soft_anti_affinity_weight_multiplier", func(c *Config) { c.SoftAntiAffinityWeightMultiplier = -0.5 }},
		{"enabled_filters", func(c *Config) { c.EnabledFilters = []string{"ComputeFilter", "NoSuchFilter"} }},
		{"enabled_filters", func(c *Config) { c.EnabledFilters = []string{"RamFilter", "RamFilter"} }},
		{"weight_classes", func(c *Config) { c.Weighers = []string{"FooWeigher"} }},
		{"weight_classes", func(c *Config) { c.Weighers = []string{"RAMWeigher", "RAMWeigher"} }},
	}
	for _, tt := range tests {
		t.Run(tt.option, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate = %v, want a *ConfigError", err)
			}
			if ce.Option != tt.option {
				t.Errorf("error names option %q, want %q (%v)", ce.Option, tt.option, err)
			}
			if _, err := New(c, Deps{}); err == nil {
				t.Error("New accepted the invalid configuration")
			}
		})
	}
	// Accepted edges.
	c := DefaultConfig()
	c.EnabledFilters, c.Weighers = nil, nil
	c.MaxIOOpsPerHost = 0
	c.ImagePropertiesDefaultArchitecture = "AMD64"
	c.RAMWeightMultiplier = -2
	if err := c.Validate(); err != nil {
		t.Errorf("Validate rejected a valid configuration: %v", err)
	}
}

func TestNewWithExtras(t *testing.T) {
	if _, err := New(DefaultConfig(), Deps{Filters: []Filter{computeFilter{}}}); err == nil {
		t.Error("New accepted an extra filter named like a built-in one")
	}
	if _, err := New(DefaultConfig(), Deps{Weighers: []Weigher{&ramWeigher{}}}); err == nil {
		t.Error("New accepted an extra weigher named like a built-in one")
	}
	if _, err := New(DefaultConfig(), Deps{Filters: []Filter{nil}}); err == nil {
		t.Error("New accepted a nil filter")
	}
	c := DefaultConfig()
	c.EnabledFilters = append(c.EnabledFilters, "RejectOddFilter")
	if _, err := New(c, Deps{}); err == nil {
		t.Error("New accepted a filter nobody provided")
	}
	s, err := New(c, Deps{Filters: []Filter{rejectOdd{}}})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Config()
	got.EnabledFilters[0] = "changed"
	if s.Config().EnabledFilters[0] == "changed" {
		t.Error("Config() shares the scheduler's filter list")
	}
	c.EnabledFilters[0] = "changed too"
	if s.Config().EnabledFilters[0] != "ComputeFilter" {
		t.Error("the scheduler shares the caller's filter list")
	}
}

// TestConfigTags checks that every option is tagged for the platform's
// config loader and sample printer, with a unique name and a help text.
func TestConfigTags(t *testing.T) {
	seen := map[string]bool{}
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, ok := f.Tag.Lookup("opt")
		if !ok || name == "" {
			t.Errorf("field %s has no opt tag", f.Name)
			continue
		}
		if seen[name] {
			t.Errorf("option %s appears twice", name)
		}
		seen[name] = true
		if f.Tag.Get("help") == "" {
			t.Errorf("option %s has no help", name)
		}
	}
}

func TestAvailableNames(t *testing.T) {
	fs := AvailableFilters()
	if !slices.IsSorted(fs) || len(slices.Compact(slices.Clone(fs))) != len(fs) {
		t.Errorf("AvailableFilters not sorted and unique: %v", fs)
	}
	for _, want := range []string{"ComputeFilter", "AvailabilityZoneFilter", "ComputeCapabilitiesFilter",
		"ImagePropertiesFilter", "ServerGroupAffinityFilter", "ServerGroupAntiAffinityFilter",
		"SameHostFilter", "DifferentHostFilter", "AggregateInstanceExtraSpecsFilter",
		"CoreFilter", "RamFilter", "DiskFilter", "NumInstancesFilter", "IoOpsFilter"} {
		if !slices.Contains(fs, want) {
			t.Errorf("AvailableFilters lacks %s", want)
		}
	}
	ws := AvailableWeighers()
	if !slices.IsSorted(ws) || len(ws) != 9 {
		t.Errorf("AvailableWeighers = %v", ws)
	}
}

func TestCountsAsIOOp(t *testing.T) {
	tests := []struct {
		vm, task string
		want     bool
	}{
		{"building", "", true},
		{"building", "spawning", true},
		{"active", "", false},
		{"active", "resize_prep", true},
		{"active", "resize_migrating", true},
		{"active", "rebuilding", true},
		{"active", "image_snapshot", true},
		{"active", "image_backup", true},
		{"active", "rescuing", true},
		{"shelved_offloaded", "unshelving", true},
		{"active", "powering-off", false},
		{"active", "image_uploading", false},
	}
	for _, tt := range tests {
		if got := CountsAsIOOp(tt.vm, tt.task); got != tt.want {
			t.Errorf("CountsAsIOOp(%q, %q) = %v, want %v", tt.vm, tt.task, got, tt.want)
		}
	}
}

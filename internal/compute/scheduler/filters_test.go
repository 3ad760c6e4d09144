package scheduler

import (
	"testing"
)

type filterCase struct {
	name   string
	filter string
	cfg    func(*Config)
	host   HostState
	spec   RequestSpec
	want   bool
}

func runFilterCases(t *testing.T, cases []filterCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.filter+"/"+tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			f := filterByName(t, &cfg, tc.filter)
			if got := f.Pass(&tc.host, &tc.spec); got != tc.want {
				t.Errorf("%s.Pass = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
}

func TestHostFilters(t *testing.T) {
	runFilterCases(t, []filterCase{
		{name: "any host", filter: "AllHostsFilter", host: mkHost("a", func(h *HostState) { h.ServiceDisabled = true }), want: true},

		{name: "enabled and up", filter: "ComputeFilter", host: mkHost("a"), want: true},
		{name: "disabled", filter: "ComputeFilter", host: mkHost("a", func(h *HostState) { h.ServiceDisabled = true }), want: false},
		{name: "down", filter: "ComputeFilter", host: mkHost("a", func(h *HostState) { h.ServiceUp = false }), want: false},
		{name: "forced down", filter: "ComputeFilter", host: mkHost("a", func(h *HostState) { h.ForcedDown = true }), want: false},

		{name: "no zone requested", filter: "AvailabilityZoneFilter", host: mkHost("a", func(h *HostState) { h.AvailabilityZone = "az1" }), want: true},
		{name: "host zone matches", filter: "AvailabilityZoneFilter", host: mkHost("a", func(h *HostState) { h.AvailabilityZone = "az1" }), spec: RequestSpec{AvailabilityZone: "az1"}, want: true},
		{name: "host zone differs", filter: "AvailabilityZoneFilter", host: mkHost("a", func(h *HostState) { h.AvailabilityZone = "az2" }), spec: RequestSpec{AvailabilityZone: "az1"}, want: false},
		{name: "aggregate zone matches", filter: "AvailabilityZoneFilter", host: mkHost("a", withAggregate(map[string]string{"availability_zone": "az1"})), spec: RequestSpec{AvailabilityZone: "az1"}, want: true},
		{name: "second aggregate zone matches", filter: "AvailabilityZoneFilter", host: mkHost("a", withAggregate(map[string]string{"availability_zone": "az2"}), withAggregate(map[string]string{"availability_zone": "az1"})), spec: RequestSpec{AvailabilityZone: "az1"}, want: true},
		{name: "aggregate zone differs", filter: "AvailabilityZoneFilter", host: mkHost("a", withAggregate(map[string]string{"availability_zone": "az2"})), spec: RequestSpec{AvailabilityZone: "az1"}, want: false},
		{name: "aggregate zone overrides default", filter: "AvailabilityZoneFilter", host: mkHost("a", withAggregate(map[string]string{"availability_zone": "az2"})), spec: RequestSpec{AvailabilityZone: "nova"}, want: false},
		{name: "unzoned host is in default zone", filter: "AvailabilityZoneFilter", host: mkHost("a", withAggregate(map[string]string{"other": "x"})), spec: RequestSpec{AvailabilityZone: "nova"}, want: true},
		{name: "unzoned host is not in another zone", filter: "AvailabilityZoneFilter", host: mkHost("a"), spec: RequestSpec{AvailabilityZone: "az1"}, want: false},
		{name: "configured default zone", filter: "AvailabilityZoneFilter", cfg: func(c *Config) { c.DefaultAvailabilityZone = "home" }, host: mkHost("a"), spec: RequestSpec{AvailabilityZone: "home"}, want: true},

		{name: "below limit", filter: "NumInstancesFilter", host: mkHost("a", func(h *HostState) { h.NumInstances = 49 }), want: true},
		{name: "at limit", filter: "NumInstancesFilter", host: mkHost("a", func(h *HostState) { h.NumInstances = 50 }), want: false},
		{name: "configured limit", filter: "NumInstancesFilter", cfg: func(c *Config) { c.MaxInstancesPerHost = 2 }, host: mkHost("a", func(h *HostState) { h.NumInstances = 2 }), want: false},
		{name: "aggregate lowers limit", filter: "AggregateNumInstancesFilter", host: mkHost("a", withAggregate(map[string]string{"max_instances_per_host": "3"}), func(h *HostState) { h.NumInstances = 3 }), want: false},
		{name: "smallest aggregate limit wins", filter: "AggregateNumInstancesFilter", host: mkHost("a", withAggregate(map[string]string{"max_instances_per_host": "10"}), withAggregate(map[string]string{"max_instances_per_host": "4"}), func(h *HostState) { h.NumInstances = 5 }), want: false},
		{name: "bad aggregate limit falls back", filter: "AggregateNumInstancesFilter", host: mkHost("a", withAggregate(map[string]string{"max_instances_per_host": "many"}), func(h *HostState) { h.NumInstances = 5 }), want: true},
		{name: "no aggregate uses config", filter: "AggregateNumInstancesFilter", host: mkHost("a", func(h *HostState) { h.NumInstances = 50 }), want: false},

		{name: "below default 8", filter: "IoOpsFilter", host: mkHost("a", func(h *HostState) { h.IOOps = 7 }), want: true},
		{name: "at default 8", filter: "IoOpsFilter", host: mkHost("a", func(h *HostState) { h.IOOps = 8 }), want: false},
		{name: "zero limit blocks all", filter: "IoOpsFilter", cfg: func(c *Config) { c.MaxIOOpsPerHost = 0 }, host: mkHost("a"), want: false},
		{name: "aggregate limit", filter: "AggregateIoOpsFilter", host: mkHost("a", withAggregate(map[string]string{"max_io_ops_per_host": "2"}), func(h *HostState) { h.IOOps = 2 }), want: false},
		{name: "aggregate raises limit", filter: "AggregateIoOpsFilter", host: mkHost("a", withAggregate(map[string]string{"max_io_ops_per_host": "20"}), func(h *HostState) { h.IOOps = 10 }), want: true},

		{name: "unrestricted host", filter: "AggregateMultiTenancyIsolation", host: mkHost("a", withAggregate(map[string]string{"x": "y"})), spec: RequestSpec{ProjectID: "p1"}, want: true},
		{name: "listed project", filter: "AggregateMultiTenancyIsolation", host: mkHost("a", withAggregate(map[string]string{"filter_tenant_id": "p0, p1"})), spec: RequestSpec{ProjectID: "p1"}, want: true},
		{name: "listed under suffixed key", filter: "AggregateMultiTenancyIsolation", host: mkHost("a", withAggregate(map[string]string{"filter_tenant_id2": "p1"})), spec: RequestSpec{ProjectID: "p1"}, want: true},
		{name: "other project", filter: "AggregateMultiTenancyIsolation", host: mkHost("a", withAggregate(map[string]string{"filter_tenant_id": "p0,p2"})), spec: RequestSpec{ProjectID: "p1"}, want: false},
	})
}

func TestResourceFilters(t *testing.T) {
	flavor := func(vcpus, ram, root, eph, swap int) RequestSpec {
		return RequestSpec{Flavor: Flavor{VCPUs: vcpus, MemoryMB: ram, RootGB: root, EphemeralGB: eph, SwapMB: swap}}
	}
	runFilterCases(t, []filterCase{
		{name: "fits", filter: "CoreFilter", host: mkHost("a"), spec: flavor(2, 0, 0, 0, 0), want: true},
		{name: "default ratio 4 overcommits", filter: "CoreFilter", host: mkHost("a", func(h *HostState) { h.VCPUsUsed = 30 }), spec: flavor(2, 0, 0, 0, 0), want: true},
		{name: "over ratio", filter: "CoreFilter", host: mkHost("a", func(h *HostState) { h.VCPUsUsed = 31 }), spec: flavor(2, 0, 0, 0, 0), want: false},
		{name: "host ratio replaces default", filter: "CoreFilter", host: mkHost("a", func(h *HostState) { h.VCPUsUsed = 7; h.CPUAllocationRatio = 1 }), spec: flavor(2, 0, 0, 0, 0), want: false},
		{name: "configured default ratio", filter: "CoreFilter", cfg: func(c *Config) { c.CPUAllocationRatio = 1 }, host: mkHost("a", func(h *HostState) { h.VCPUsUsed = 7 }), spec: flavor(2, 0, 0, 0, 0), want: false},
		{name: "reserved reduces capacity", filter: "CoreFilter", host: mkHost("a", func(h *HostState) { h.CPUAllocationRatio = 1; h.ReservedVCPUs = 2; h.VCPUsUsed = 5 }), spec: flavor(2, 0, 0, 0, 0), want: false},
		{name: "more than the host has", filter: "CoreFilter", host: mkHost("a"), spec: flavor(9, 0, 0, 0, 0), want: false},
		{name: "zero vcpus always fit", filter: "CoreFilter", host: mkHost("a", func(h *HostState) { h.VCPUs = 0 }), spec: flavor(0, 0, 0, 0, 0), want: true},
		{name: "host without cpus", filter: "CoreFilter", host: mkHost("a", func(h *HostState) { h.VCPUs = 0 }), spec: flavor(1, 0, 0, 0, 0), want: false},
		{name: "resources:VCPU overrides flavor", filter: "CoreFilter", host: mkHost("a"), spec: RequestSpec{Flavor: Flavor{VCPUs: 1, ExtraSpecs: map[string]string{"resources:VCPU": "16"}}}, want: false},
		{name: "suffixed resources group adds up", filter: "CoreFilter", host: mkHost("a", func(h *HostState) { h.CPUAllocationRatio = 1 }), spec: RequestSpec{Flavor: Flavor{VCPUs: 1, ExtraSpecs: map[string]string{"resources1:VCPU": "4", "resources_b:VCPU": "5"}}}, want: false},

		{name: "fits", filter: "RamFilter", host: mkHost("a", withRAM(4096, 1024)), spec: flavor(0, 2048, 0, 0, 0), want: true},
		{name: "exactly fits", filter: "RamFilter", host: mkHost("a", withRAM(4096, 2048)), spec: flavor(0, 2048, 0, 0, 0), want: true},
		{name: "too big", filter: "RamFilter", host: mkHost("a", withRAM(4096, 2049)), spec: flavor(0, 2048, 0, 0, 0), want: false},
		{name: "reserved memory counts", filter: "RamFilter", host: mkHost("a", withRAM(4096, 1024), func(h *HostState) { h.ReservedMemoryMB = 512 }), spec: flavor(0, 3000, 0, 0, 0), want: false},
		{name: "ratio 1.5", filter: "RamFilter", host: mkHost("a", withRAM(4096, 4096), func(h *HostState) { h.RAMAllocationRatio = 1.5 }), spec: flavor(0, 2048, 0, 0, 0), want: true},
		{name: "no overcommit against itself", filter: "RamFilter", host: mkHost("a", withRAM(4096, 0), func(h *HostState) { h.RAMAllocationRatio = 2 }), spec: flavor(0, 5000, 0, 0, 0), want: false},
		{name: "resources:MEMORY_MB overrides flavor", filter: "RamFilter", host: mkHost("a", withRAM(4096, 0)), spec: RequestSpec{Flavor: Flavor{MemoryMB: 8192, ExtraSpecs: map[string]string{"resources:MEMORY_MB": "1024"}}}, want: true},

		{name: "fits", filter: "DiskFilter", host: mkHost("a"), spec: flavor(0, 0, 50, 40, 0), want: true},
		{name: "swap rounds up to a GiB", filter: "DiskFilter", host: mkHost("a"), spec: flavor(0, 0, 50, 50, 1), want: false},
		{name: "boot from volume leaves root out", filter: "DiskFilter", host: mkHost("a"), spec: RequestSpec{BootFromVolume: true, Flavor: Flavor{RootGB: 500, EphemeralGB: 10}}, want: true},
		{name: "reserved disk counts", filter: "DiskFilter", host: mkHost("a", func(h *HostState) { h.ReservedDiskGB = 10; h.DiskGBUsed = 50 }), spec: flavor(0, 0, 41, 0, 0), want: false},
		{name: "disk ratio", filter: "DiskFilter", host: mkHost("a", func(h *HostState) { h.DiskAllocationRatio = 2; h.DiskGBUsed = 150 }), spec: flavor(0, 0, 50, 0, 0), want: true},
		{name: "resources:DISK_GB=0 asks nothing", filter: "DiskFilter", host: mkHost("a", func(h *HostState) { h.DiskGB = 0 }), spec: RequestSpec{Flavor: Flavor{RootGB: 10, ExtraSpecs: map[string]string{"resources:DISK_GB": "0"}}}, want: true},

		{name: "nothing required", filter: "TraitsFilter", host: mkHost("a"), want: true},
		{name: "required present", filter: "TraitsFilter", host: mkHost("a", func(h *HostState) { h.Traits = []string{"HW_CPU_X86_AVX2", "CUSTOM_GOLD"} }), spec: RequestSpec{Flavor: Flavor{ExtraSpecs: map[string]string{"trait:CUSTOM_GOLD": "required"}}}, want: true},
		{name: "required missing", filter: "TraitsFilter", host: mkHost("a", func(h *HostState) { h.Traits = []string{"HW_CPU_X86_AVX2"} }), spec: RequestSpec{Flavor: Flavor{ExtraSpecs: map[string]string{"trait:CUSTOM_GOLD": "required"}}}, want: false},
		{name: "forbidden present", filter: "TraitsFilter", host: mkHost("a", func(h *HostState) { h.Traits = []string{"CUSTOM_SLOW"} }), spec: RequestSpec{Flavor: Flavor{ExtraSpecs: map[string]string{"trait1:CUSTOM_SLOW": "forbidden"}}}, want: false},
		{name: "image requires trait", filter: "TraitsFilter", host: mkHost("a"), spec: RequestSpec{ImageProperties: map[string]string{"trait:HW_CPU_X86_AVX512F": "required"}}, want: false},
		{name: "other values ignored", filter: "TraitsFilter", host: mkHost("a"), spec: RequestSpec{Flavor: Flavor{ExtraSpecs: map[string]string{"trait:CUSTOM_X": "maybe"}}}, want: true},
	})
}

func TestCapabilityAndImageFilters(t *testing.T) {
	qemu := func(h *HostState) {
		h.HypervisorType = "QEMU"
		h.HypervisorVersion = 7002001
		h.Capabilities = map[string]string{
			"cpu_info":                  `{"arch": "x86_64", "features": ["avx", "aes"], "maxphysaddr": {"bits": 46}, "topology": {"cores": 2}}`,
			"cpu_info:vendor":           "Intel",
			"cpu_info:maxphysaddr:bits": "46",
		}
		h.InstancesByProject = map[string]int{"p1": 3}
		h.SupportedInstances = []SupportedInstance{{Arch: "x86_64", HVType: "qemu", VMMode: "hvm"}, {Arch: "i686", HVType: "qemu", VMMode: "hvm"}}
	}
	specs := func(kv ...string) RequestSpec {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return RequestSpec{Flavor: Flavor{ExtraSpecs: m}}
	}
	image := func(kv ...string) RequestSpec {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return RequestSpec{ImageProperties: m}
	}
	const cc = "ComputeCapabilitiesFilter"
	const ip = "ImagePropertiesFilter"
	runFilterCases(t, []filterCase{
		{name: "no extra specs", filter: cc, host: mkHost("a"), want: true},
		{name: "attribute s==", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:hypervisor_type", "s== QEMU"), want: true},
		{name: "attribute differs", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:hypervisor_type", "s== xen"), want: false},
		{name: "numeric attribute", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:vcpus_total", ">= 8"), want: true},
		{name: "numeric attribute too small", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:free_ram_mb", ">= 20000"), want: false},
		{name: "float attribute renders as python", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:cpu_allocation_ratio", "s== 4.0"), want: true},
		{name: "flat capability", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:cpu_info:vendor", "Intel"), want: true},
		{name: "nested json capability", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:cpu_info:arch", "x86_64"), want: true},
		{name: "nested json number", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:cpu_info:topology:cores", "== 2"), want: true},
		{name: "json list with <in>", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:cpu_info:features", "<in> aes"), want: true},
		{name: "json list missing feature", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:cpu_info:features", "<in> avx512"), want: false},
		{name: "json list rendered as python", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:cpu_info:features", "['avx', 'aes']"), want: true},
		{name: "unreported capability fails", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:cpu_info:model", "Haswell"), want: false},
		{name: "host without capabilities fails", filter: cc, host: mkHost("a"), spec: specs("capabilities:cpu_info:arch", "x86_64"), want: false},
		{name: "unscoped attribute is checked", filter: cc, host: mkHost("a", qemu), spec: specs("hypervisor_type", "xen"), want: false},
		{name: "unscoped unknown key is ignored", filter: cc, host: mkHost("a", qemu), spec: specs("colour", "blue"), want: true},
		{name: "other scopes are ignored", filter: cc, host: mkHost("a", qemu), spec: specs("hw:cpu_policy", "dedicated", "quota:cpu_shares", "10"), want: true},
		{name: "project instance count", filter: cc, host: mkHost("a", qemu), spec: specs("num_proj_p1", "<= 2"), want: false},
		{name: "all specs must match", filter: cc, host: mkHost("a", qemu), spec: specs("capabilities:hypervisor_type", "QEMU", "capabilities:cpu_info:arch", "aarch64"), want: false},
		{name: "maxphysaddr enough", filter: cc, host: mkHost("a", qemu), spec: specs("hw:maxphysaddr_bits", "42"), want: true},
		{name: "maxphysaddr too few", filter: cc, host: mkHost("a", qemu), spec: specs("hw:maxphysaddr_bits", "48"), want: false},
		{name: "maxphysaddr unreported", filter: cc, host: mkHost("a"), spec: specs("hw:maxphysaddr_bits", "32"), want: false},

		{name: "no image properties", filter: ip, host: mkHost("a"), want: true},
		{name: "arch supported", filter: ip, host: mkHost("a", qemu), spec: image("hw_architecture", "x86_64"), want: true},
		{name: "arch alias", filter: ip, host: mkHost("a", qemu), spec: image("hw_architecture", "AMD64"), want: true},
		{name: "i386 is i686", filter: ip, host: mkHost("a", qemu), spec: image("architecture", "i386"), want: true},
		{name: "arch unsupported", filter: ip, host: mkHost("a", qemu), spec: image("hw_architecture", "aarch64"), want: false},
		{name: "host advertises nothing", filter: ip, host: mkHost("a"), spec: image("hw_architecture", "x86_64"), want: false},
		{name: "hypervisor type", filter: ip, host: mkHost("a", qemu), spec: image("img_hv_type", "QEMU"), want: true},
		{name: "hypervisor type differs", filter: ip, host: mkHost("a", qemu), spec: image("hypervisor_type", "kvm"), want: false},
		{name: "vm mode alias", filter: ip, host: mkHost("a", qemu), spec: image("hw_vm_mode", "hv"), want: true},
		{name: "vm mode differs", filter: ip, host: mkHost("a", qemu), spec: image("hw_vm_mode", "exe"), want: false},
		{name: "properties must match one triple", filter: ip, host: mkHost("a", func(h *HostState) {
			h.SupportedInstances = []SupportedInstance{{Arch: "x86_64", HVType: "qemu", VMMode: "hvm"}, {Arch: "aarch64", HVType: "kvm", VMMode: "hvm"}}
		}), spec: image("hw_architecture", "aarch64", "img_hv_type", "qemu"), want: false},
		{name: "version satisfied", filter: ip, host: mkHost("a", qemu), spec: image("hw_architecture", "x86_64", "img_hv_requested_version", ">=7.2,<8"), want: true},
		{name: "version equal with trailing zero", filter: ip, host: mkHost("a", qemu), spec: image("hw_architecture", "x86_64", "img_hv_requested_version", "==7.2.1.0"), want: true},
		{name: "version too old", filter: ip, host: mkHost("a", qemu), spec: image("hw_architecture", "x86_64", "hypervisor_version_requires", ">= 7.3"), want: false},
		{name: "bad version predicate", filter: ip, host: mkHost("a", qemu), spec: image("hw_architecture", "x86_64", "img_hv_requested_version", "~7"), want: false},
		{name: "version alone is not checked", filter: ip, host: mkHost("a", qemu), spec: image("img_hv_requested_version", ">= 9"), want: true},
		{name: "default architecture", filter: ip, cfg: func(c *Config) { c.ImagePropertiesDefaultArchitecture = "aarch64" }, host: mkHost("a", qemu), want: false},
		{name: "image arch beats default", filter: ip, cfg: func(c *Config) { c.ImagePropertiesDefaultArchitecture = "aarch64" }, host: mkHost("a", qemu), spec: image("hw_architecture", "x86_64"), want: true},
		{name: "maxphysaddr bits", filter: ip, host: mkHost("a", qemu), spec: image("hw_architecture", "x86_64", "hw_maxphysaddr_bits", "48"), want: false},
		{name: "maxphysaddr unreported passes", filter: ip, host: mkHost("a", func(h *HostState) { h.SupportedInstances = []SupportedInstance{{Arch: "x86_64"}} }), spec: image("hw_architecture", "x86_64", "hw_maxphysaddr_bits", "48"), want: true},
	})
}

func TestAggregateInstanceExtraSpecsFilter(t *testing.T) {
	const f = "AggregateInstanceExtraSpecsFilter"
	specs := func(kv ...string) RequestSpec {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return RequestSpec{Flavor: Flavor{ExtraSpecs: m}}
	}
	ssd := withAggregate(map[string]string{"ssd": "true", "tier": "gold, silver", "cores": "16"})
	runFilterCases(t, []filterCase{
		{name: "no extra specs", filter: f, host: mkHost("a"), want: true},
		{name: "scoped key matches", filter: f, host: mkHost("a", ssd), spec: specs("aggregate_instance_extra_specs:ssd", "true"), want: true},
		{name: "scoped key differs", filter: f, host: mkHost("a", ssd), spec: specs("aggregate_instance_extra_specs:ssd", "false"), want: false},
		{name: "unscoped key is checked", filter: f, host: mkHost("a", ssd), spec: specs("ssd", "true"), want: true},
		{name: "unscoped key missing fails", filter: f, host: mkHost("a", ssd), spec: specs("gpu", "true"), want: false},
		{name: "host in no aggregate fails", filter: f, host: mkHost("a"), spec: specs("aggregate_instance_extra_specs:ssd", "true"), want: false},
		{name: "other scopes ignored", filter: f, host: mkHost("a"), spec: specs("hw:cpu_policy", "dedicated", "capabilities:x", "y"), want: true},
		{name: "comma-separated value", filter: f, host: mkHost("a", ssd), spec: specs("aggregate_instance_extra_specs:tier", "silver"), want: true},
		{name: "operator on aggregate value", filter: f, host: mkHost("a", ssd), spec: specs("aggregate_instance_extra_specs:cores", ">= 8"), want: true},
		{name: "<or> operator", filter: f, host: mkHost("a", ssd), spec: specs("aggregate_instance_extra_specs:tier", "<or> bronze <or> gold"), want: true},
		{name: "any aggregate may match", filter: f, host: mkHost("a", withAggregate(map[string]string{"ssd": "false"}), ssd), spec: specs("aggregate_instance_extra_specs:ssd", "true"), want: true},
	})
}

func TestGroupAndHintFilters(t *testing.T) {
	group := func(p GroupPolicy, hosts []string, members ...string) RequestSpec {
		return RequestSpec{Group: &ServerGroup{ID: "g", Policy: p, Hosts: hosts, Members: members}}
	}
	const aff, anti = "ServerGroupAffinityFilter", "ServerGroupAntiAffinityFilter"
	runFilterCases(t, []filterCase{
		{name: "no group", filter: aff, host: mkHost("a"), want: true},
		{name: "group without hosts yet", filter: aff, host: mkHost("a"), spec: group(PolicyAffinity, nil), want: true},
		{name: "host of the group", filter: aff, host: mkHost("a"), spec: group(PolicyAffinity, []string{"a"}), want: true},
		{name: "other host", filter: aff, host: mkHost("b"), spec: group(PolicyAffinity, []string{"a"}), want: false},
		{name: "other policy", filter: aff, host: mkHost("b"), spec: group(PolicyAntiAffinity, []string{"a"}), want: true},

		{name: "no group", filter: anti, host: mkHost("a", withInstances("i1")), want: true},
		{name: "no member on host", filter: anti, host: mkHost("a", withInstances("x")), spec: group(PolicyAntiAffinity, nil, "i1", "i2"), want: true},
		{name: "member on host", filter: anti, host: mkHost("a", withInstances("x", "i2")), spec: group(PolicyAntiAffinity, nil, "i1", "i2"), want: false},
		{name: "other policy", filter: anti, host: mkHost("a", withInstances("i2")), spec: group(PolicySoftAntiAffinity, nil, "i1", "i2"), want: true},
		{name: "max_server_per_host 2 allows a second", filter: anti, host: mkHost("a", withInstances("i1")), spec: RequestSpec{Group: &ServerGroup{Policy: PolicyAntiAffinity, Members: []string{"i1", "i2"}, MaxServerPerHost: 2}}, want: true},
		{name: "max_server_per_host 2 reached", filter: anti, host: mkHost("a", withInstances("i1", "i2")), spec: RequestSpec{Group: &ServerGroup{Policy: PolicyAntiAffinity, Members: []string{"i1", "i2", "i3"}, MaxServerPerHost: 2}}, want: false},
		{name: "moving instance accepts its own host", filter: anti, host: mkHost("a", withInstances("i1")), spec: RequestSpec{InstanceIDs: []string{"i1"}, Group: &ServerGroup{Policy: PolicyAntiAffinity, Members: []string{"i1"}}}, want: true},

		{name: "no hint", filter: "SameHostFilter", host: mkHost("a"), want: true},
		{name: "hinted instance here", filter: "SameHostFilter", host: mkHost("a", withInstances("x", "i1")), spec: RequestSpec{Hints: Hints{SameHost: []string{"i9", "i1"}}}, want: true},
		{name: "hinted instance elsewhere", filter: "SameHostFilter", host: mkHost("a", withInstances("x")), spec: RequestSpec{Hints: Hints{SameHost: []string{"i1"}}}, want: false},
		{name: "no hint", filter: "DifferentHostFilter", host: mkHost("a", withInstances("i1")), want: true},
		{name: "hinted instance here", filter: "DifferentHostFilter", host: mkHost("a", withInstances("i1")), spec: RequestSpec{Hints: Hints{DifferentHost: []string{"i1"}}}, want: false},
		{name: "hinted instance elsewhere", filter: "DifferentHostFilter", host: mkHost("a", withInstances("x")), spec: RequestSpec{Hints: Hints{DifferentHost: []string{"i1"}}}, want: true},
	})
}

// TestFilterTraits pins which filters run once per request, on rebuild and
// for forced hosts, as Nova declares them.
func TestFilterTraits(t *testing.T) {
	want := map[string]filterTraits{
		"AllHostsFilter":                    {once: true},
		"ComputeFilter":                     {once: true},
		"AvailabilityZoneFilter":            {once: true},
		"CoreFilter":                        {forced: true},
		"RamFilter":                         {forced: true},
		"DiskFilter":                        {forced: true},
		"TraitsFilter":                      {once: true, forced: true},
		"ComputeCapabilitiesFilter":         {once: true},
		"ImagePropertiesFilter":             {once: true, rebuild: true},
		"ServerGroupAffinityFilter":         {},
		"ServerGroupAntiAffinityFilter":     {},
		"SameHostFilter":                    {once: true},
		"DifferentHostFilter":               {once: true},
		"AggregateInstanceExtraSpecsFilter": {once: true},
		"AggregateMultiTenancyIsolation":    {once: true},
		"NumInstancesFilter":                {},
		"AggregateNumInstancesFilter":       {},
		"IoOpsFilter":                       {},
		"AggregateIoOpsFilter":              {},
	}
	cfg := DefaultConfig()
	fs := builtinFilters(&cfg)
	if len(fs) != len(want) {
		t.Errorf("%d built-in filters, want %d", len(fs), len(want))
	}
	for _, f := range fs {
		w, ok := want[f.Name()]
		if !ok {
			t.Errorf("unexpected filter %s", f.Name())
			continue
		}
		if got := traitsOf(f); got != w {
			t.Errorf("%s traits = %+v, want %+v", f.Name(), got, w)
		}
	}
}

// TestFiltersDoNotAllocate guards the hot path: filters run once per host
// per instance, so they must not allocate.
func TestFiltersDoNotAllocate(t *testing.T) {
	s := newScheduler(t, func(c *Config) {
		c.EnabledFilters = AvailableFilters()
	}, Deps{})
	h := mkHost("a", withAggregate(map[string]string{"availability_zone": "az1", "ssd": "true", "filter_tenant_id": "p1"}),
		withInstances("i1", "i2"), func(h *HostState) {
			h.Traits = []string{"CUSTOM_GOLD"}
			h.HypervisorType = "QEMU"
			h.Capabilities = map[string]string{"cpu_info:arch": "x86_64"}
			h.SupportedInstances = []SupportedInstance{{Arch: "x86_64", HVType: "qemu", VMMode: "hvm"}}
			h.HypervisorVersion = 7002000
		})
	spec := &RequestSpec{
		ProjectID:        "p1",
		AvailabilityZone: "az1",
		Flavor: Flavor{VCPUs: 1, MemoryMB: 512, RootGB: 1, ExtraSpecs: map[string]string{
			"aggregate_instance_extra_specs:ssd": "true",
			"capabilities:cpu_info:arch":         "x86_64",
			"capabilities:hypervisor_type":       "s== QEMU",
			"trait:CUSTOM_GOLD":                  "required",
		}},
		ImageProperties: map[string]string{"hw_architecture": "x86_64", "img_hv_requested_version": ">=7.0"},
		Hints:           Hints{DifferentHost: []string{"zz"}},
		Group:           &ServerGroup{Policy: PolicyAntiAffinity, Members: []string{"m1"}},
	}
	res, err := computeResources(spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.d = &derived{res: res}
	for _, f := range s.filters {
		if !f.Pass(&h, spec) {
			t.Fatalf("%s rejected the host; the test host should pass every filter", f.Name())
		}
		if a := testing.AllocsPerRun(50, func() { f.Pass(&h, spec) }); a != 0 {
			t.Errorf("%s allocates %v times per host", f.Name(), a)
		}
	}
}

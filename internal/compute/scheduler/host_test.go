package scheduler

import (
	"slices"
	"testing"
)

func TestCapabilityLookup(t *testing.T) {
	cfg := DefaultConfig()
	h := HostState{
		Host: "c1", Node: "n1", NodeUUID: "u1",
		HypervisorType: "QEMU", HypervisorVersion: 7002001, HypervisorHostname: "c1.example",
		VCPUs: 16, VCPUsUsed: 3,
		MemoryMB: 8192, MemoryMBUsed: 1024, ReservedMemoryMB: 512,
		DiskGB: 100, DiskGBUsed: 10, ReservedDiskGB: 1,
		NumInstances: 4, IOOps: 2, FailedBuilds: 1,
		RAMAllocationRatio: 1.5,
		InstancesByProject: map[string]int{"p1": 3},
		Capabilities: map[string]string{
			"cpu_info": `{"arch": "x86_64", "flags": {"b": true, "a": false}, "ratio": 1.5, "list": [1, "x", null],
			              "numbers": {"n": 3}, "str": "s"}`,
			"broken":         `{not json`,
			"stat":           "7",
			"cpu_info:model": "Haswell",
		},
	}
	tests := []struct {
		path string
		want string
		ok   bool
	}{
		{"host", "c1", true},
		{"nodename", "n1", true},
		{"uuid", "u1", true},
		{"hypervisor_type", "QEMU", true},
		{"hypervisor_version", "7002001", true},
		{"hypervisor_hostname", "c1.example", true},
		{"vcpus_total", "16", true},
		{"vcpus_used", "3", true},
		{"total_usable_ram_mb", "8192", true},
		{"free_ram_mb", "6656", true},
		{"total_usable_disk_gb", "100", true},
		{"free_disk_mb", "91136", true},
		{"num_instances", "4", true},
		{"num_io_ops", "2", true},
		{"io_workload", "2", true},
		{"failed_builds", "1", true},
		{"cpu_allocation_ratio", "4.0", true},
		{"ram_allocation_ratio", "1.5", true},
		{"disk_allocation_ratio", "1.0", true},
		{"num_proj_p1", "3", true},
		{"num_proj_p2", "", false},
		{"stat", "7", true},
		{"unknown", "", false},
		{"cpu_info:model", "Haswell", true}, // flat key wins over JSON
		{"cpu_info:arch", "x86_64", true},
		{"cpu_info:str", "s", true},
		{"cpu_info:ratio", "1.5", true},
		{"cpu_info:numbers:n", "3", true},
		{"cpu_info:flags", "{'a': False, 'b': True}", true},
		{"cpu_info:flags:b", "True", true},
		{"cpu_info:list", "[1, 'x', None]", true},
		{"cpu_info:missing", "", false},
		{"cpu_info:arch:deeper", "", false},
		{"broken:x", "", false},
		{"nothing:x", "", false},
	}
	for _, tt := range tests {
		got, ok := h.capability(tt.path, &cfg)
		if got != tt.want || ok != tt.ok {
			t.Errorf("capability(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAggregateMultiplier(t *testing.T) {
	tests := []struct {
		name string
		aggs []map[string]string
		want float64
	}{
		{"no aggregates", nil, 3},
		{"key absent", []map[string]string{{"x": "1"}}, 3},
		{"one value", []map[string]string{{"k": " 2.5 "}}, 2.5},
		{"smallest of several", []map[string]string{{"k": "2"}, {"x": "1"}, {"k": "-1"}}, -1},
		{"bad value falls back", []map[string]string{{"k": "2"}, {"k": "x"}}, 3},
		{"nan falls back", []map[string]string{{"k": "NaN"}}, 3},
	}
	for _, tt := range tests {
		h := HostState{}
		for _, m := range tt.aggs {
			h.Aggregates = append(h.Aggregates, Aggregate{Metadata: m})
		}
		if got := AggregateMultiplier(&h, "k", 3); got != tt.want {
			t.Errorf("%s: AggregateMultiplier = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCanonicalNames(t *testing.T) {
	tests := []struct {
		fn       func(string) string
		in, want string
	}{
		{canonicalArch, "AMD64", "x86_64"},
		{canonicalArch, "x86_32", "i686"},
		{canonicalArch, "i486", "i686"},
		{canonicalArch, "AArch64", "aarch64"},
		{canonicalHVType, "XAPI", "xen"},
		{canonicalHVType, "QEMU", "qemu"},
		{canonicalVMMode, "PV", "xen"},
		{canonicalVMMode, "hv", "hvm"},
		{canonicalVMMode, "baremetal", "hvm"},
		{canonicalVMMode, "exe", "exe"},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("canonical(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHypervisorVersionPredicates(t *testing.T) {
	tests := []struct {
		version int
		pred    string
		want    bool
	}{
		{7002001, ">=7.2", true},
		{7002001, ">7.2.1", false},
		{7002001, "<7.2.2", true},
		{7002001, "<=7.2.1", true},
		{7002001, "!=7.2.1", false},
		{7002001, "==7.2.1", true},
		{7002001, ">= 6.0, < 8", true},
		{7002001, ">= 6.0, < 7", false},
		{6000000, "==6", true},
		{0, ">=99", true},       // unknown version: not checked
		{7002001, "", true},     // no predicate
		{7002001, "7.2", false}, // no operator
		{7002001, ">=", false},
		{7002001, ">=7.x", false},
		{7002001, ">=7 .2", false},
		{7002001, ">=1.2.3.4.5.6.7", false},
	}
	for _, tt := range tests {
		if got := hypervisorVersionOK(tt.version, tt.pred); got != tt.want {
			t.Errorf("hypervisorVersionOK(%d, %q) = %v, want %v", tt.version, tt.pred, got, tt.want)
		}
	}
}

func TestComputeResources(t *testing.T) {
	tests := []struct {
		name                string
		spec                RequestSpec
		vcpus, mem, disk    int
		required, forbidden []string
		wantErr             bool
	}{
		{name: "flavor", spec: RequestSpec{Flavor: Flavor{VCPUs: 2, MemoryMB: 2048, RootGB: 20, EphemeralGB: 5, SwapMB: 1025}},
			vcpus: 2, mem: 2048, disk: 27},
		{name: "boot from volume", spec: RequestSpec{BootFromVolume: true, Flavor: Flavor{RootGB: 20, SwapMB: 512}}, disk: 1},
		{name: "overrides", spec: RequestSpec{Flavor: Flavor{VCPUs: 2, MemoryMB: 2048, RootGB: 20, ExtraSpecs: map[string]string{
			"resources:VCPU": "4", "resources:MEMORY_MB": "1024", "resources:DISK_GB": "7", "resources:CUSTOM_X": "1"}}},
			vcpus: 4, mem: 1024, disk: 7},
		{name: "traits", spec: RequestSpec{
			Flavor:          Flavor{ExtraSpecs: map[string]string{"trait:A": "required", "trait2:B": "forbidden", "trait:": "required", "trait!:C": "required"}},
			ImageProperties: map[string]string{"trait:D": "required", "traits": "x"}},
			required: []string{"A", "D"}, forbidden: []string{"B"}},
		{name: "suffix too long is not a group", spec: RequestSpec{Flavor: Flavor{VCPUs: 1, ExtraSpecs: map[string]string{
			"resources0123456789012345678901234567890123456789012345678901234567890123456789:VCPU": "9"}}},
			vcpus: 1},
		{name: "bad amount", spec: RequestSpec{Flavor: Flavor{ExtraSpecs: map[string]string{"resources:VCPU": "1.5"}}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := computeResources(&tt.spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.vcpus != tt.vcpus || r.memoryMB != tt.mem || r.diskGB != tt.disk {
				t.Errorf("resources = %d/%d/%d, want %d/%d/%d", r.vcpus, r.memoryMB, r.diskGB, tt.vcpus, tt.mem, tt.disk)
			}
			slices.Sort(r.required)
			if !slices.Equal(r.required, tt.required) || !slices.Equal(r.forbidden, tt.forbidden) {
				t.Errorf("traits = %v / %v, want %v / %v", r.required, r.forbidden, tt.required, tt.forbidden)
			}
		})
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&InvalidSpecError{Reason: "flavor vcpus must not be negative"}, "invalid request spec: flavor vcpus must not be negative"},
		{&PolicyNotSupportedError{Policy: PolicyAffinity, Missing: "ServerGroupAffinityFilter"},
			"server group policy affinity is not supported: ServerGroupAffinityFilter not configured"},
		{&ConfigError{Option: "max_attempts", Reason: "must be at least 1, not 0"}, "scheduler option max_attempts: must be at least 1, not 0"},
		{&NoValidHost{Hosts: 3, Instances: 1}, "No valid host was found. There are not enough hosts available."},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestDefaultRandomSource runs a random choice without an injected source.
func TestDefaultRandomSource(t *testing.T) {
	s := newScheduler(t, func(c *Config) { c.HostSubsetSize = 3; c.ShuffleBestSameWeighedHosts = true }, Deps{})
	hosts := []HostState{mkHost("a"), mkHost("b"), mkHost("c"), mkHost("d")}
	seen := map[string]bool{}
	for range 200 {
		sel, err := s.Select(hosts, &RequestSpec{Flavor: smallFlavor()}, 1)
		if err != nil {
			t.Fatal(err)
		}
		seen[sel[0].Primary.Host] = true
	}
	if len(seen) < 2 {
		t.Errorf("200 random choices among 4 tied hosts all chose %v", seen)
	}
}

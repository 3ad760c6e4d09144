package scheduler

import (
	"math"
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		b    Bounds
		want []float64
	}{
		{"empty", nil, Bounds{}, nil},
		{"observed range", []float64{10, 20, 15}, Bounds{}, []float64{0, 1, 0.5}},
		{"all equal become zero", []float64{7, 7, 7}, Bounds{}, []float64{0, 0, 0}},
		{"single value is zero", []float64{42}, Bounds{}, []float64{0}},
		{"negative values", []float64{-4, 0, -2}, Bounds{}, []float64{0, 1, 0.5}},
		{"min bound replaces observed min", []float64{50, 100}, nonNegative, []float64{0.5, 1}},
		{"values below min are clamped", []float64{-100, 100}, nonNegative, []float64{0, 1}},
		{"all clamped to min become zero", []float64{-5, -1}, nonNegative, []float64{0, 0}},
		{"max bound", []float64{0, 5, 20}, Bounds{Max: 10, HasMax: true}, []float64{0, 0.5, 1}},
		{"both bounds", []float64{-3, 4, 12}, Bounds{Min: 0, Max: 8, HasMin: true, HasMax: true}, []float64{0, 0.5, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Clone(tt.in)
			Normalize(got, tt.b)
			if len(got) != len(tt.want) {
				t.Fatalf("Normalize(%v) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 1e-12 {
					t.Fatalf("Normalize(%v) = %v, want %v", tt.in, got, tt.want)
				}
			}
		})
	}
}

func TestWeighers(t *testing.T) {
	group := func(p GroupPolicy) *RequestSpec {
		return &RequestSpec{Group: &ServerGroup{Policy: p, Members: []string{"m1", "m2", "m3"}}}
	}
	tests := []struct {
		weigher string
		host    HostState
		spec    *RequestSpec
		raw     float64
		mult    float64
	}{
		{"RAMWeigher", mkHost("a", withRAM(8192, 2048), func(h *HostState) { h.ReservedMemoryMB = 512 }), &RequestSpec{}, 5632, 1},
		{"CPUWeigher", mkHost("a", func(h *HostState) { h.VCPUsUsed = 10 }), &RequestSpec{}, 8*4 - 10, 1},
		{"CPUWeigher", mkHost("a", func(h *HostState) { h.VCPUsUsed = 10; h.CPUAllocationRatio = 2 }), &RequestSpec{}, 8*2 - 10, 1},
		{"DiskWeigher", mkHost("a", func(h *HostState) { h.DiskGBUsed = 30; h.ReservedDiskGB = 10 }), &RequestSpec{}, 60 * 1024, 1},
		{"IoOpsWeigher", mkHost("a", func(h *HostState) { h.IOOps = 3 }), &RequestSpec{}, 3, -1},
		{"BuildFailureWeigher", mkHost("a", func(h *HostState) { h.FailedBuilds = 2 }), &RequestSpec{}, 2, -1000000},
		{"NumInstancesWeigher", mkHost("a", withInstances("x", "y")), &RequestSpec{}, 2, 0},
		{"HypervisorVersionWeigher", mkHost("a", func(h *HostState) { h.HypervisorVersion = 7002000 }), &RequestSpec{}, 7002000, 1},
		{"ServerGroupSoftAffinityWeigher", mkHost("a", withInstances("m1", "x", "m3")), group(PolicySoftAffinity), 2, 1},
		{"ServerGroupSoftAffinityWeigher", mkHost("a", withInstances("m1", "x", "m3")), group(PolicySoftAntiAffinity), 0, 1},
		{"ServerGroupSoftAntiAffinityWeigher", mkHost("a", withInstances("m1", "x", "m3")), group(PolicySoftAntiAffinity), -2, 1},
		{"ServerGroupSoftAntiAffinityWeigher", mkHost("a", withInstances("m1")), &RequestSpec{}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.weigher, func(t *testing.T) {
			cfg := DefaultConfig()
			w := weigherByName(t, &cfg, tt.weigher)
			if got := w.Weigh(&tt.host, tt.spec); got != tt.raw {
				t.Errorf("Weigh = %v, want %v", got, tt.raw)
			}
			if got := w.Multiplier(&tt.host); got != tt.mult {
				t.Errorf("Multiplier = %v, want %v", got, tt.mult)
			}
		})
	}
}

func TestMultiplierOverrides(t *testing.T) {
	keys := map[string]string{
		"RAMWeigher":                         "ram_weight_multiplier",
		"CPUWeigher":                         "cpu_weight_multiplier",
		"DiskWeigher":                        "disk_weight_multiplier",
		"IoOpsWeigher":                       "io_ops_weight_multiplier",
		"BuildFailureWeigher":                "build_failure_weight_multiplier",
		"ServerGroupSoftAffinityWeigher":     "soft_affinity_weight_multiplier",
		"ServerGroupSoftAntiAffinityWeigher": "soft_anti_affinity_weight_multiplier",
		"NumInstancesWeigher":                "num_instances_weight_multiplier",
		"HypervisorVersionWeigher":           "hypervisor_version_weight_multiplier",
	}
	cfg := DefaultConfig()
	for _, w := range builtinWeighers(&cfg) {
		key, ok := keys[w.Name()]
		if !ok {
			t.Errorf("no aggregate key known for %s", w.Name())
			continue
		}
		sign := 1.0
		if w.Name() == "BuildFailureWeigher" {
			sign = -1
		}
		h := mkHost("a", withAggregate(map[string]string{key: "7.5"}), withAggregate(map[string]string{key: "2.5"}))
		if got := w.Multiplier(&h); got != sign*2.5 {
			t.Errorf("%s: multiplier with aggregates 7.5 and 2.5 = %v, want the smaller, %v", w.Name(), got, sign*2.5)
		}
		bad := mkHost("a", withAggregate(map[string]string{key: "lots"}), withAggregate(map[string]string{key: "2.5"}))
		plain := mkHost("b")
		if got, want := w.Multiplier(&bad), w.Multiplier(&plain); got != want {
			t.Errorf("%s: multiplier with a bad aggregate value = %v, want the configured %v", w.Name(), got, want)
		}
		inf := mkHost("a", withAggregate(map[string]string{key: "inf"}))
		if got, want := w.Multiplier(&inf), w.Multiplier(&plain); got != want {
			t.Errorf("%s: multiplier with an infinite aggregate value = %v, want the configured %v", w.Name(), got, want)
		}
	}
}

// TestConfiguredMultipliers checks that each Config multiplier reaches its
// weigher.
func TestConfiguredMultipliers(t *testing.T) {
	cfg := Config{
		RAMWeightMultiplier:               1.5,
		CPUWeightMultiplier:               2.5,
		DiskWeightMultiplier:              3.5,
		IOOpsWeightMultiplier:             4.5,
		BuildFailureWeightMultiplier:      5.5,
		SoftAffinityWeightMultiplier:      6.5,
		SoftAntiAffinityWeightMultiplier:  7.5,
		NumInstancesWeightMultiplier:      8.5,
		HypervisorVersionWeightMultiplier: 9.5,
	}
	want := map[string]float64{
		"RAMWeigher": 1.5, "CPUWeigher": 2.5, "DiskWeigher": 3.5, "IoOpsWeigher": 4.5,
		"BuildFailureWeigher": -5.5, "ServerGroupSoftAffinityWeigher": 6.5,
		"ServerGroupSoftAntiAffinityWeigher": 7.5, "NumInstancesWeigher": 8.5,
		"HypervisorVersionWeigher": 9.5,
	}
	h := mkHost("a")
	for _, w := range builtinWeighers(&cfg) {
		if got := w.Multiplier(&h); got != want[w.Name()] {
			t.Errorf("%s multiplier = %v, want %v", w.Name(), got, want[w.Name()])
		}
	}
}

// TestWeighingEndToEnd checks the combination: normalised weights times
// multipliers, summed, decide the order.
func TestWeighingEndToEnd(t *testing.T) {
	only := func(weighers ...string) func(*Config) {
		return func(c *Config) { c.Weighers = weighers }
	}
	tests := []struct {
		name  string
		cfg   func(*Config)
		hosts []HostState
		spec  RequestSpec
		want  []string // primary, then alternates
	}{
		{
			name:  "ram spreads to the freest host",
			cfg:   only("RAMWeigher"),
			hosts: []HostState{mkHost("a", withRAM(16384, 8000)), mkHost("b", withRAM(16384, 1000)), mkHost("c", withRAM(16384, 4000))},
			want:  []string{"b", "c", "a"},
		},
		{
			name:  "negative ram multiplier stacks",
			cfg:   func(c *Config) { c.Weighers = []string{"RAMWeigher"}; c.RAMWeightMultiplier = -1 },
			hosts: []HostState{mkHost("a", withRAM(16384, 8000)), mkHost("b", withRAM(16384, 1000)), mkHost("c", withRAM(16384, 4000))},
			want:  []string{"a", "c", "b"},
		},
		{
			name: "aggregate multiplier turns one host to stacking",
			cfg:  only("RAMWeigher"),
			hosts: []HostState{
				mkHost("a", withRAM(16384, 8000)),
				mkHost("b", withRAM(16384, 1000), withAggregate(map[string]string{"ram_weight_multiplier": "-1"})),
				mkHost("c", withRAM(16384, 4000)),
			},
			want: []string{"c", "a", "b"},
		},
		{
			name:  "io ops prefer quiet hosts",
			cfg:   only("IoOpsWeigher"),
			hosts: []HostState{mkHost("a", func(h *HostState) { h.IOOps = 5 }), mkHost("b", func(h *HostState) { h.IOOps = 1 }), mkHost("c", func(h *HostState) { h.IOOps = 3 })},
			want:  []string{"b", "c", "a"},
		},
		{
			name: "build failures outweigh free resources",
			hosts: []HostState{
				mkHost("a", withRAM(65536, 0), func(h *HostState) { h.FailedBuilds = 1; h.VCPUs = 64; h.DiskGB = 1000 }),
				mkHost("b", withRAM(16384, 8000)),
			},
			want: []string{"b", "a"},
		},
		{
			name: "ties keep snapshot order",
			cfg:  only("RAMWeigher"),
			hosts: []HostState{
				mkHost("a", withRAM(4096, 0)), mkHost("b", withRAM(8192, 0)), mkHost("c", withRAM(8192, 0)), mkHost("d", withRAM(8192, 0)),
			},
			want: []string{"b", "c", "d"},
		},
		{
			name: "sum of weighers: cpu and ram pull apart",
			cfg: func(c *Config) {
				c.Weighers = []string{"RAMWeigher", "CPUWeigher"}
				c.CPUWeightMultiplier = 2
			},
			hosts: []HostState{
				// RAM: a=1, b=0.5; CPU: a=0.5, b=1 → a = 1+1 = 2, b = 0.5+2 = 2.5.
				mkHost("a", withRAM(8192, 0), func(h *HostState) { h.VCPUs = 4; h.CPUAllocationRatio = 1; h.VCPUsUsed = 2 }),
				mkHost("b", withRAM(8192, 4096), func(h *HostState) { h.VCPUs = 4; h.CPUAllocationRatio = 1 }),
			},
			want: []string{"b", "a"},
		},
		{
			name: "newer hypervisor wins when all else ties",
			cfg:  only("HypervisorVersionWeigher"),
			hosts: []HostState{
				mkHost("a", func(h *HostState) { h.HypervisorVersion = 6002000 }),
				mkHost("b", func(h *HostState) { h.HypervisorVersion = 7002000 }),
			},
			want: []string{"b", "a"},
		},
		{
			name: "positive num instances multiplier packs",
			cfg:  func(c *Config) { c.Weighers = []string{"NumInstancesWeigher"}; c.NumInstancesWeightMultiplier = 1 },
			hosts: []HostState{
				mkHost("a", withInstances("x")), mkHost("b", withInstances("x", "y", "z")), mkHost("c"),
			},
			want: []string{"b", "a", "c"},
		},
		{
			name: "soft affinity prefers the group's host",
			cfg:  only("ServerGroupSoftAffinityWeigher"),
			hosts: []HostState{
				mkHost("a", withInstances("m1")), mkHost("b", withInstances("m2", "m3")), mkHost("c"),
			},
			spec: RequestSpec{Group: &ServerGroup{Policy: PolicySoftAffinity, Members: []string{"m1", "m2", "m3"}}},
			want: []string{"b", "a", "c"},
		},
		{
			name: "soft anti-affinity prefers hosts without members",
			cfg:  only("ServerGroupSoftAntiAffinityWeigher"),
			hosts: []HostState{
				mkHost("a", withInstances("m1")), mkHost("b", withInstances("m2", "m3")), mkHost("c"),
			},
			spec: RequestSpec{Group: &ServerGroup{Policy: PolicySoftAntiAffinity, Members: []string{"m1", "m2", "m3"}}},
			want: []string{"c", "a", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler(t, func(c *Config) {
				c.MaxAttempts = len(tt.want)
				if tt.cfg != nil {
					tt.cfg(c)
				}
			}, Deps{})
			spec := tt.spec
			spec.Flavor = Flavor{VCPUs: 1, MemoryMB: 1}
			sel, err := s.Select(tt.hosts, &spec, 1)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{sel[0].Primary.Host}
			for _, a := range sel[0].Alternates {
				got = append(got, a.Host)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
			for i := 1; i < len(sel[0].Alternates); i++ {
				if sel[0].Alternates[i].Weight > sel[0].Alternates[i-1].Weight {
					t.Errorf("alternates not in descending weight: %+v", sel[0].Alternates)
				}
			}
		})
	}
}

// TestWeightValues checks the reported total weight against a hand
// computation of Nova's formula.
func TestWeightValues(t *testing.T) {
	s := newScheduler(t, func(c *Config) {
		c.Weighers = []string{"RAMWeigher", "IoOpsWeigher"}
		c.MaxAttempts = 3
	}, Deps{})
	hosts := []HostState{
		mkHost("a", withRAM(4096, 0), func(h *HostState) { h.IOOps = 0 }),
		mkHost("b", withRAM(4096, 3072), func(h *HostState) { h.IOOps = 4 }),
		mkHost("c", withRAM(4096, 2048), func(h *HostState) { h.IOOps = 2 }),
	}
	sel, err := s.Select(hosts, &RequestSpec{Flavor: Flavor{MemoryMB: 1}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// RAM (min 0, max 4096): a=1, b=0.25, c=0.5; IoOps (min 0, max 4) times -1:
	// a=0, b=-1, c=-0.5.
	want := map[string]float64{"a": 1, "b": 0.25 - 1, "c": 0} // c: 0.5 - 0.5
	all := append([]Destination{sel[0].Primary}, sel[0].Alternates...)
	if len(all) != 3 {
		t.Fatalf("got %d destinations, want 3", len(all))
	}
	for _, d := range all {
		if math.Abs(d.Weight-want[d.Host]) > 1e-12 {
			t.Errorf("weight of %s = %v, want %v", d.Host, d.Weight, want[d.Host])
		}
	}
}

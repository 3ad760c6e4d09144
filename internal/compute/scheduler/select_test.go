package scheduler

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestMultiInstanceConsumption places several instances in one request:
// each choice consumes from the host before the next is placed.
func TestMultiInstanceConsumption(t *testing.T) {
	hosts := []HostState{
		mkHost("a", withRAM(4096, 0)),
		mkHost("b", withRAM(3072, 0)),
	}
	flavor := Flavor{VCPUs: 1, MemoryMB: 2048}
	s := newScheduler(t, func(c *Config) { c.Weighers = []string{"RAMWeigher"} }, Deps{})

	sel, err := s.Select(hosts, &RequestSpec{Flavor: flavor}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// a (4096 free) → a has 2048; b (3072) now freest → b has 1024; a again.
	if got, want := primaries(sel), []string{"a", "b", "a"}; !slices.Equal(got, want) {
		t.Errorf("primaries = %v, want %v", got, want)
	}

	_, err = s.Select(hosts, &RequestSpec{Flavor: flavor}, 4)
	nvh := asNoValidHost(t, err)
	if nvh.Instance != 3 || nvh.Instances != 4 {
		t.Errorf("failed at instance %d of %d, want 3 of 4", nvh.Instance, nvh.Instances)
	}
	// Each instance chooses among the hosts left by the previous one: b was
	// full after the third, so the fourth saw only a.
	want := "No valid host was found. For instance 4 of 4: Filter RamFilter returned 0 hosts (removed 1 of 1); 2 hosts passed the filters for the first instance."
	if err.Error() != want {
		t.Errorf("message = %q\nwant      %q", err.Error(), want)
	}
}

// TestSelectDoesNotModifySnapshot checks purity: the caller's snapshot is
// the same before and after, whatever was consumed.
func TestSelectDoesNotModifySnapshot(t *testing.T) {
	hosts := []HostState{
		mkHost("a", withInstances("m1"), withAggregate(map[string]string{"k": "v"})),
		mkHost("b", func(h *HostState) { h.Capabilities = map[string]string{"x": "y"} }),
	}
	before := deepCopyHosts(hosts)
	spec := &RequestSpec{
		Flavor: smallFlavor(),
		Group:  &ServerGroup{ID: "g", Policy: PolicyAffinity, Members: []string{"m1", "n1", "n2"}, Hosts: []string{"a"}},
	}
	specBefore := *spec
	groupBefore := *spec.Group
	groupBefore.Hosts = slices.Clone(spec.Group.Hosts)
	s := newScheduler(t, nil, Deps{})
	if _, err := s.Select(hosts, spec, 2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(hosts, before) {
		t.Errorf("snapshot modified:\n got %+v\nwant %+v", hosts, before)
	}
	if !reflect.DeepEqual(*spec, specBefore) || !reflect.DeepEqual(*spec.Group, groupBefore) {
		t.Errorf("spec modified: %+v / %+v", *spec, *spec.Group)
	}
}

func deepCopyHosts(hs []HostState) []HostState {
	out := make([]HostState, len(hs))
	for i, h := range hs {
		h.InstanceIDs = slices.Clone(h.InstanceIDs)
		h.Aggregates = slices.Clone(h.Aggregates)
		out[i] = h
	}
	return out
}

func TestGroupPoliciesAcrossInstances(t *testing.T) {
	three := func(opts ...func(*HostState)) []HostState {
		return []HostState{mkHost("a", opts...), mkHost("b", opts...), mkHost("c", opts...)}
	}
	tests := []struct {
		name    string
		hosts   []HostState
		group   ServerGroup
		n       int
		want    []string // primaries, or nil when it must fail
		wantErr string
	}{
		{
			name:  "anti-affinity spreads",
			hosts: three(),
			group: ServerGroup{Policy: PolicyAntiAffinity},
			n:     3,
			want:  []string{"a", "b", "c"},
		},
		{
			name:    "anti-affinity runs out of hosts",
			hosts:   three(),
			group:   ServerGroup{Policy: PolicyAntiAffinity},
			n:       4,
			wantErr: "No valid host was found. For instance 4 of 4: Filter ServerGroupAntiAffinityFilter returned 0 hosts (removed 1 of 1); 3 hosts passed the filters for the first instance.",
		},
		{
			name:  "anti-affinity avoids existing members",
			hosts: []HostState{mkHost("a", withInstances("m1")), mkHost("b"), mkHost("c", withInstances("m2"))},
			group: ServerGroup{Policy: PolicyAntiAffinity, Members: []string{"m1", "m2"}},
			n:     1,
			want:  []string{"b"},
		},
		{
			// No weigher tells the hosts apart, so a fills up first.
			name:  "max_server_per_host 2 doubles up",
			hosts: []HostState{mkHost("a"), mkHost("b")},
			group: ServerGroup{Policy: PolicyAntiAffinity, MaxServerPerHost: 2},
			n:     4,
			want:  []string{"a", "a", "b", "b"},
		},
		{
			name:  "affinity keeps together",
			hosts: three(withRAM(8192, 0)),
			group: ServerGroup{Policy: PolicyAffinity},
			n:     3,
			want:  []string{"a", "a", "a"},
		},
		{
			name:  "affinity follows existing members",
			hosts: three(),
			group: ServerGroup{Policy: PolicyAffinity, Hosts: []string{"c"}, Members: []string{"m1"}},
			n:     2,
			want:  []string{"c", "c"},
		},
		{
			name:  "affinity fails when the group's host fills up",
			hosts: three(withRAM(2048, 0)),
			group: ServerGroup{Policy: PolicyAffinity},
			n:     3,
			// The second instance narrowed the candidates to a; the third
			// finds a full.
			wantErr: "No valid host was found. For instance 3 of 3: Filter RamFilter returned 0 hosts (removed 1 of 1); 3 hosts passed the filters for the first instance.",
		},
		{
			// The third instance sees a tie; b leads the previous ranking.
			name:  "soft anti-affinity spreads then doubles up",
			hosts: []HostState{mkHost("a"), mkHost("b")},
			group: ServerGroup{Policy: PolicySoftAntiAffinity},
			n:     3,
			want:  []string{"a", "b", "b"},
		},
		{
			name:  "soft affinity packs",
			hosts: three(withRAM(8192, 0)),
			group: ServerGroup{Policy: PolicySoftAffinity},
			n:     3,
			want:  []string{"a", "a", "a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only the group's own filters and weighers: anything else
			// would decide the order too.
			s := newScheduler(t, func(c *Config) {
				c.EnabledFilters = []string{"RamFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"}
				c.Weighers = []string{"ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher"}
			}, Deps{})
			g := tt.group
			g.ID = "g1"
			spec := &RequestSpec{Flavor: Flavor{VCPUs: 1, MemoryMB: 1024}, Group: &g}
			sel, err := s.Select(tt.hosts, spec, tt.n)
			if tt.wantErr != "" {
				asNoValidHost(t, err)
				if err.Error() != tt.wantErr {
					t.Errorf("error = %q\nwant    %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := primaries(sel); !slices.Equal(got, tt.want) {
				t.Errorf("primaries = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPrefilters(t *testing.T) {
	hosts := []HostState{
		mkHost("a"),
		mkHost("b", func(h *HostState) { h.ServiceDisabled = true }),
		mkHost("c", withRAM(1024, 1024)),
		mkHost("d", func(h *HostState) { h.Node = "d-node2" }),
	}
	tests := []struct {
		name    string
		spec    RequestSpec
		want    string
		wantErr string
	}{
		{name: "no lists", want: "a"},
		{name: "ignore hosts, case-insensitive", spec: RequestSpec{IgnoreHosts: []string{"A"}}, want: "d"},
		{name: "ignoring every host", spec: RequestSpec{IgnoreHosts: []string{"a", "b", "c", "d"}},
			wantErr: "No valid host was found. Request ignore_hosts matched 0 hosts (removed 4 of 4)."},
		{name: "forced host skips ComputeFilter", spec: RequestSpec{ForceHosts: []string{"B"}}, want: "b"},
		{name: "forced host still needs resources", spec: RequestSpec{ForceHosts: []string{"c"}},
			wantErr: "No valid host was found. Filter RamFilter returned 0 hosts (removed 1 of 1); before that force_hosts removed 3 of 4."},
		{name: "forced unknown host", spec: RequestSpec{ForceHosts: []string{"zz"}},
			wantErr: "No valid host was found. Request force_hosts matched 0 hosts (removed 4 of 4)."},
		{name: "forced node", spec: RequestSpec{ForceNodes: []string{"d-node2"}}, want: "d"},
		{name: "forced nodes are case-sensitive", spec: RequestSpec{ForceNodes: []string{"D-NODE2"}},
			wantErr: "No valid host was found. Request force_nodes matched 0 hosts (removed 4 of 4)."},
		{name: "requested destination runs filters", spec: RequestSpec{RequestedDestination: &RequestedDestination{Host: "b"}},
			wantErr: "No valid host was found. Filter ComputeFilter returned 0 hosts (removed 1 of 1); before that requested_destination removed 3 of 4."},
		{name: "requested destination host and node", spec: RequestSpec{RequestedDestination: &RequestedDestination{Host: "d", Node: "d-node2"}}, want: "d"},
		{name: "requested destination node only", spec: RequestSpec{RequestedDestination: &RequestedDestination{Node: "d-node2"}}, want: "d"},
		{name: "requested destination wrong node", spec: RequestSpec{RequestedDestination: &RequestedDestination{Host: "d", Node: "d"}},
			wantErr: "No valid host was found. Request requested_destination matched 0 hosts (removed 4 of 4)."},
		{name: "tried hosts are skipped", spec: RequestSpec{Tried: []HostNode{{Host: "a", Node: "a"}}}, want: "d"},
		{name: "tried is per node", spec: RequestSpec{Tried: []HostNode{{Host: "a", Node: "other"}}}, want: "a"},
		{name: "everything tried", spec: RequestSpec{Tried: []HostNode{{"a", "a"}, {"d", "d-node2"}}},
			wantErr: "No valid host was found. Filter RamFilter returned 0 hosts (removed 1 of 1); before that retry removed 2 of 4, ComputeFilter removed 1 of 2."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler(t, func(c *Config) { c.Weighers = nil }, Deps{})
			spec := tt.spec
			spec.Flavor = Flavor{VCPUs: 1, MemoryMB: 512}
			sel, err := s.Select(hosts, &spec, 1)
			if tt.wantErr != "" {
				asNoValidHost(t, err)
				if err.Error() != tt.wantErr {
					t.Errorf("error = %q\nwant    %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sel[0].Primary.Host != tt.want {
				t.Errorf("chose %s, want %s", sel[0].Primary.Host, tt.want)
			}
		})
	}
}

func TestRebuildRunsOnlyRebuildFilters(t *testing.T) {
	s := newScheduler(t, nil, Deps{})
	full := mkHost("a", withRAM(1024, 1024), func(h *HostState) {
		h.ServiceDisabled = true
		h.SupportedInstances = []SupportedInstance{{Arch: "x86_64"}}
	})
	spec := &RequestSpec{
		Rebuild:              true,
		RequestedDestination: &RequestedDestination{Host: "a"},
		Flavor:               Flavor{VCPUs: 1, MemoryMB: 2048},
		ImageProperties:      map[string]string{"hw_architecture": "x86_64"},
	}
	if _, err := s.Select([]HostState{full}, spec, 1); err != nil {
		t.Fatalf("rebuild on a full, disabled host with a fitting image: %v", err)
	}
	spec.ImageProperties = map[string]string{"hw_architecture": "aarch64"}
	_, err := s.Select([]HostState{full}, spec, 1)
	if want := "No valid host was found. Filter ImagePropertiesFilter returned 0 hosts (removed 1 of 1)."; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestAlternates(t *testing.T) {
	hosts := []HostState{
		mkHost("a", withRAM(16384, 5000)),
		mkHost("b", withRAM(16384, 1000)),
		mkHost("c", withRAM(16384, 3000)),
		mkHost("d", withRAM(16384, 4000)),
		mkHost("e", withRAM(16384, 2000)),
	}
	tests := []struct {
		name        string
		maxAttempts int
		n           int
		want        [][]string // per instance: primary then alternates
	}{
		{"default three attempts", 3, 1, [][]string{{"b", "e", "c"}}},
		{"one attempt means no alternates", 1, 1, [][]string{{"b"}}},
		{"more attempts than hosts", 10, 1, [][]string{{"b", "e", "c", "d", "a"}}},
		// After placing 3 × 4000 MiB: b=5000 used, e=6000, c=7000; order of
		// the rest: d (4000), a (5000).
		{"multi-instance alternates exclude every primary", 3, 3, [][]string{{"b", "d", "a"}, {"e", "d", "a"}, {"c", "d", "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler(t, func(c *Config) {
				c.Weighers = []string{"RAMWeigher"}
				c.MaxAttempts = tt.maxAttempts
			}, Deps{})
			sel, err := s.Select(hosts, &RequestSpec{Flavor: Flavor{VCPUs: 1, MemoryMB: 4000}}, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, s := range sel {
				row := []string{s.Primary.Host}
				for _, a := range s.Alternates {
					row = append(row, a.Host)
				}
				got = append(got, row)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("selections = %v, want %v", got, tt.want)
			}
			for _, s := range sel {
				for _, d := range append([]Destination{s.Primary}, s.Alternates...) {
					if h := hosts[d.SnapshotIndex]; h.Host != d.Host || h.Node != d.Node || h.NodeUUID != d.NodeUUID {
						t.Errorf("destination %+v does not match snapshot[%d] %s/%s", d, d.SnapshotIndex, h.Host, h.Node)
					}
				}
			}
		})
	}
}

// TestAlternatesStillFit checks that alternates are computed after all
// instances consumed: a host that the last instance filled is no alternate.
func TestAlternatesStillFit(t *testing.T) {
	hosts := []HostState{mkHost("a", withRAM(4096, 0)), mkHost("b", withRAM(2048, 0)), mkHost("c", withRAM(1024, 0))}
	s := newScheduler(t, func(c *Config) { c.Weighers = []string{"RAMWeigher"} }, Deps{})
	sel, err := s.Select(hosts, &RequestSpec{Flavor: Flavor{MemoryMB: 2048}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// a then a or b: a (4096) → 2048 left; then a and b tie at 2048, a first.
	if got := primaries(sel); !slices.Equal(got, []string{"a", "a"}) {
		t.Fatalf("primaries = %v", got)
	}
	for _, s := range sel {
		if len(s.Alternates) != 1 || s.Alternates[0].Host != "b" {
			t.Errorf("alternates = %+v, want only b (a is chosen, c is too small)", s.Alternates)
		}
	}
}

func TestHostSubsetSize(t *testing.T) {
	hosts := []HostState{
		mkHost("a", withRAM(16384, 4000)),
		mkHost("b", withRAM(16384, 1000)),
		mkHost("c", withRAM(16384, 3000)),
		mkHost("d", withRAM(16384, 2000)),
	}
	// Ranked: b, d, c, a. With a subset of 3 and the source answering 2,
	// c is chosen and the others follow in rank order.
	r := &fixedRand{next: []int{2}}
	s := newScheduler(t, func(c *Config) {
		c.Weighers = []string{"RAMWeigher"}
		c.HostSubsetSize = 3
		c.MaxAttempts = 4
	}, Deps{Rand: r})
	sel, err := s.Select(hosts, &RequestSpec{Flavor: Flavor{MemoryMB: 1}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{sel[0].Primary.Host}
	for _, a := range sel[0].Alternates {
		got = append(got, a.Host)
	}
	if want := []string{"c", "b", "d", "a"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	if !slices.Equal(r.asks, []int{3}) {
		t.Errorf("random draws asked for %v, want one draw in [0,3)", r.asks)
	}

	// A subset larger than the candidates is cut to them.
	r = &fixedRand{next: []int{1}}
	s = newScheduler(t, func(c *Config) { c.HostSubsetSize = 10; c.Weighers = []string{"RAMWeigher"} }, Deps{Rand: r})
	if _, err := s.Select(hosts[:2], &RequestSpec{Flavor: Flavor{MemoryMB: 1}}, 1); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.asks, []int{2}) {
		t.Errorf("random draws asked for %v, want one draw in [0,2)", r.asks)
	}

	// The default subset of 1 draws nothing.
	r = &fixedRand{}
	s = newScheduler(t, nil, Deps{Rand: r})
	if _, err := s.Select(hosts, &RequestSpec{Flavor: Flavor{MemoryMB: 1}}, 1); err != nil {
		t.Fatal(err)
	}
	if len(r.asks) != 0 {
		t.Errorf("host_subset_size 1 drew random numbers: %v", r.asks)
	}
}

func TestShuffleBestSameWeighedHosts(t *testing.T) {
	hosts := []HostState{
		mkHost("a", withRAM(8192, 0)),
		mkHost("b", withRAM(4096, 0)),
		mkHost("c", withRAM(8192, 0)),
		mkHost("d", withRAM(8192, 0)),
	}
	// a, c, d tie. Fisher-Yates from the end: i=2 swaps with 0 → d c a;
	// i=1 swaps with 1 → d c a.
	r := &fixedRand{next: []int{0, 1}}
	s := newScheduler(t, func(c *Config) {
		c.Weighers = []string{"RAMWeigher"}
		c.ShuffleBestSameWeighedHosts = true
		c.MaxAttempts = 4
	}, Deps{Rand: r})
	sel, err := s.Select(hosts, &RequestSpec{Flavor: Flavor{MemoryMB: 1}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{sel[0].Primary.Host}
	for _, a := range sel[0].Alternates {
		got = append(got, a.Host)
	}
	if want := []string{"d", "c", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v (the tied best shuffled, the rest after)", got, want)
	}
	if !slices.Equal(r.asks, []int{3, 2}) {
		t.Errorf("draws = %v, want [3 2]", r.asks)
	}
}

// TestDeterministicWithSeededSource: the same seed gives the same choices.
func TestDeterministicWithSeededSource(t *testing.T) {
	hosts := make([]HostState, 50)
	for i := range hosts {
		hosts[i] = mkHost(fmt.Sprintf("h%02d", i), withRAM(16384, (i%5)*100))
	}
	run := func() []string {
		s := newScheduler(t, func(c *Config) { c.HostSubsetSize = 10 }, Deps{Rand: rand.New(rand.NewPCG(1, 2))})
		var out []string
		for range 5 {
			sel, err := s.Select(hosts, &RequestSpec{Flavor: smallFlavor()}, 3)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, primaries(sel)...)
		}
		return out
	}
	first, second := run(), run()
	if !slices.Equal(first, second) {
		t.Errorf("same seed, different choices:\n%v\n%v", first, second)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(first)))) < 2 {
		t.Errorf("a subset of 10 always chose the same host: %v", first)
	}
}

func TestNoValidHostMessages(t *testing.T) {
	s := newScheduler(t, nil, Deps{})
	tests := []struct {
		name  string
		hosts []HostState
		spec  RequestSpec
		n     int
		want  string
	}{
		{
			name: "no hosts at all",
			spec: RequestSpec{Flavor: smallFlavor()},
			n:    1,
			want: "No valid host was found. There are no compute hosts.",
		},
		{
			name: "no hosts for several instances",
			spec: RequestSpec{Flavor: smallFlavor()},
			n:    3,
			want: "No valid host was found. There are no compute hosts.",
		},
		{
			name:  "a request list empties the candidates of a multi-instance request",
			hosts: []HostState{mkHost("a", func(h *HostState) { h.ServiceUp = false })},
			spec:  RequestSpec{Flavor: smallFlavor(), ForceHosts: []string{"b"}},
			n:     2,
			want:  "No valid host was found. For instance 1 of 2: Request force_hosts matched 0 hosts (removed 1 of 1).",
		},
		{
			name:  "one filter removes all",
			hosts: []HostState{mkHost("a", withRAM(1024, 0)), mkHost("b", withRAM(1024, 0)), mkHost("c", withRAM(1024, 0))},
			spec:  RequestSpec{Flavor: Flavor{MemoryMB: 2048}},
			n:     1,
			want:  "No valid host was found. Filter RamFilter returned 0 hosts (removed 3 of 3).",
		},
		{
			name: "earlier removals are listed",
			hosts: []HostState{
				mkHost("a", func(h *HostState) { h.ServiceUp = false }),
				mkHost("b", func(h *HostState) { h.AvailabilityZone = "az2" }),
				mkHost("c", func(h *HostState) { h.AvailabilityZone = "az1"; h.VCPUs = 1 }),
				mkHost("d", func(h *HostState) { h.AvailabilityZone = "az1"; h.VCPUs = 1 }),
			},
			spec: RequestSpec{AvailabilityZone: "az1", Flavor: Flavor{VCPUs: 2, MemoryMB: 512}},
			n:    1,
			want: "No valid host was found. Filter CoreFilter returned 0 hosts (removed 2 of 2); before that ComputeFilter removed 1 of 4, AvailabilityZoneFilter removed 1 of 3.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Select(tt.hosts, &tt.spec, tt.n)
			nvh := asNoValidHost(t, err)
			if got := nvh.Error(); got != tt.want {
				t.Errorf("message = %q\nwant      %q", got, tt.want)
			}
			if nvh.Hosts != len(tt.hosts) {
				t.Errorf("Hosts = %d, want %d", nvh.Hosts, len(tt.hosts))
			}
		})
	}
}

func TestNoValidHostSteps(t *testing.T) {
	s := newScheduler(t, func(c *Config) { c.EnabledFilters = []string{"ComputeFilter", "RamFilter"} }, Deps{})
	hosts := []HostState{
		mkHost("a", withRAM(2048, 0)),
		mkHost("b", withRAM(4096, 0)),
		mkHost("c", func(h *HostState) { h.ServiceDisabled = true }),
	}
	_, err := s.Select(hosts, &RequestSpec{Flavor: Flavor{MemoryMB: 2048}, IgnoreHosts: []string{"zz"}}, 4)
	nvh := asNoValidHost(t, err)
	want := []Step{
		{Name: "ignore_hosts", Prefilter: true, Before: 3, After: 3},
		{Name: "ComputeFilter", Instance: 0, Before: 3, After: 2},
		{Name: "RamFilter", Instance: 0, Before: 2, After: 2},
		// b takes the first instance, a the second (quieter than b), b
		// the third; the fourth finds b full. Only the first pass and
		// the failing one are kept.
		{Name: "RamFilter", Instance: 3, Before: 0, After: 0},
	}
	if nvh.Instance != 3 {
		t.Fatalf("failed at instance %d, want 3", nvh.Instance)
	}
	if len(nvh.Steps) != len(want) {
		t.Fatalf("steps = %+v", nvh.Steps)
	}
	for i := range want[:3] {
		if nvh.Steps[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, nvh.Steps[i], want[i])
		}
	}
	last := nvh.Steps[3]
	if last.Name != "RamFilter" || last.Instance != 3 || last.After != 0 || last.Before == 0 {
		t.Errorf("last step = %+v, want RamFilter emptying instance 3's candidates", last)
	}
}

func TestSelectErrors(t *testing.T) {
	s := newScheduler(t, nil, Deps{})
	hosts := []HostState{mkHost("a")}
	var invalid *InvalidSpecError
	var policy *PolicyNotSupportedError
	tests := []struct {
		name   string
		s      *Scheduler
		spec   *RequestSpec
		n      int
		target any
	}{
		{"nil spec", s, nil, 1, &invalid},
		{"negative vcpus", s, &RequestSpec{Flavor: Flavor{VCPUs: -1}}, 1, &invalid},
		{"negative ram", s, &RequestSpec{Flavor: Flavor{MemoryMB: -1}}, 1, &invalid},
		{"negative root", s, &RequestSpec{Flavor: Flavor{RootGB: -1}}, 1, &invalid},
		{"negative ephemeral", s, &RequestSpec{Flavor: Flavor{EphemeralGB: -1}}, 1, &invalid},
		{"negative swap", s, &RequestSpec{Flavor: Flavor{SwapMB: -1}}, 1, &invalid},
		{"negative num instances", s, &RequestSpec{NumInstances: -1}, 0, &invalid},
		{"too many instances", s, &RequestSpec{}, MaxRequestInstances + 1, &invalid},
		{"bad resources override", s, &RequestSpec{Flavor: Flavor{ExtraSpecs: map[string]string{"resources:VCPU": "two"}}}, 1, &invalid},
		{"negative resources override", s, &RequestSpec{Flavor: Flavor{ExtraSpecs: map[string]string{"resources:MEMORY_MB": "-5"}}}, 1, &invalid},
		{"unknown policy", s, &RequestSpec{Group: &ServerGroup{Policy: "friends"}}, 1, &invalid},
		{"negative max_server_per_host", s, &RequestSpec{Group: &ServerGroup{Policy: PolicyAntiAffinity, MaxServerPerHost: -1}}, 1, &invalid},
		{"unresolved group hint", s, &RequestSpec{Hints: Hints{Group: "g1"}}, 1, &invalid},
		{"group hint for another group", s, &RequestSpec{Hints: Hints{Group: "g1"}, Group: &ServerGroup{ID: "g2", Policy: PolicyAffinity}}, 1, &invalid},
		{"empty requested destination", s, &RequestSpec{RequestedDestination: &RequestedDestination{}}, 1, &invalid},
		{"affinity without its filter", newScheduler(t, func(c *Config) { c.EnabledFilters = []string{"ComputeFilter"} }, Deps{}),
			&RequestSpec{Group: &ServerGroup{Policy: PolicyAffinity}}, 1, &policy},
		{"anti-affinity without its filter", newScheduler(t, func(c *Config) { c.EnabledFilters = []string{"ComputeFilter"} }, Deps{}),
			&RequestSpec{Group: &ServerGroup{Policy: PolicyAntiAffinity}}, 1, &policy},
		{"soft-affinity without its weigher", newScheduler(t, func(c *Config) { c.Weighers = nil }, Deps{}),
			&RequestSpec{Group: &ServerGroup{Policy: PolicySoftAffinity}}, 1, &policy},
		{"soft-anti-affinity without its weigher", newScheduler(t, func(c *Config) { c.Weighers = []string{"RAMWeigher"} }, Deps{}),
			&RequestSpec{Group: &ServerGroup{Policy: PolicySoftAntiAffinity}}, 1, &policy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := tt.s.Select(hosts, tt.spec, tt.n)
			if err == nil {
				t.Fatalf("no error; selections %+v", sel)
			}
			if !errors.As(err, tt.target) {
				t.Errorf("error %v is %T, want %T", err, err, tt.target)
			}
			var nvh *NoValidHost
			if errors.As(err, &nvh) {
				t.Errorf("bad input reported as NoValidHost: %v", err)
			}
		})
	}
}

func TestNumInstancesFromSpec(t *testing.T) {
	s := newScheduler(t, nil, Deps{})
	hosts := []HostState{mkHost("a"), mkHost("b")}
	for _, tt := range []struct{ specN, n, want int }{{0, 0, 1}, {3, 0, 3}, {3, 2, 2}} {
		sel, err := s.Select(hosts, &RequestSpec{Flavor: smallFlavor(), NumInstances: tt.specN}, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if len(sel) != tt.want {
			t.Errorf("NumInstances %d, n %d: %d selections, want %d", tt.specN, tt.n, len(sel), tt.want)
		}
	}
}

// rejectOdd is a caller-supplied filter.
type rejectOdd struct{}

func (rejectOdd) Name() string { return "RejectOddFilter" }
func (rejectOdd) Pass(h *HostState, _ *RequestSpec) bool {
	return !strings.ContainsAny(h.Host[len(h.Host)-1:], "13579")
}

// preferName is a caller-supplied weigher preferring later names.
type preferName struct{}

func (preferName) Name() string                               { return "PreferNameWeigher" }
func (preferName) Weigh(h *HostState, _ *RequestSpec) float64 { return float64(h.Host[len(h.Host)-1]) }
func (preferName) Multiplier(*HostState) float64              { return 1 }

func TestExtraFiltersAndWeighers(t *testing.T) {
	s := newScheduler(t, func(c *Config) {
		c.EnabledFilters = []string{"ComputeFilter", "RejectOddFilter"}
		c.Weighers = []string{"PreferNameWeigher"}
	}, Deps{Filters: []Filter{rejectOdd{}}, Weighers: []Weigher{preferName{}}})
	hosts := []HostState{mkHost("h1"), mkHost("h2"), mkHost("h3"), mkHost("h4")}
	sel, err := s.Select(hosts, &RequestSpec{Flavor: smallFlavor()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sel[0].Primary.Host != "h4" || len(sel[0].Alternates) != 1 || sel[0].Alternates[0].Host != "h2" {
		t.Errorf("selection = %+v, want h4 then h2", sel[0])
	}
	_, err = s.Select([]HostState{mkHost("h1")}, &RequestSpec{Flavor: smallFlavor()}, 1)
	if want := "No valid host was found. Filter RejectOddFilter returned 0 hosts (removed 1 of 1)."; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestConcurrentSelect(t *testing.T) {
	s := newScheduler(t, func(c *Config) { c.HostSubsetSize = 3 }, Deps{Rand: rand.New(rand.NewPCG(3, 4))})
	hosts := make([]HostState, 200)
	for i := range hosts {
		hosts[i] = mkHost(fmt.Sprintf("h%03d", i), withRAM(16384, i*10))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				sel, err := s.Select(hosts, &RequestSpec{Flavor: smallFlavor(), Group: &ServerGroup{ID: "g", Policy: PolicyAntiAffinity}}, 3)
				if err != nil {
					errs <- err
					return
				}
				if p := primaries(sel); p[0] == p[1] || p[1] == p[2] || p[0] == p[2] {
					errs <- fmt.Errorf("anti-affinity broken under concurrency: %v", p)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAllocationsDoNotGrowWithHosts checks that a decision allocates per
// request, not per host.
func TestAllocationsDoNotGrowWithHosts(t *testing.T) {
	s := newScheduler(t, nil, Deps{})
	spec := benchSpec()
	allocs := func(n int) float64 {
		hosts := benchHosts(n)
		s.Select(hosts, spec, 1) // warm the pool
		return testing.AllocsPerRun(20, func() {
			if _, err := s.Select(hosts, spec, 1); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(100), allocs(2000)
	if large > small+2 {
		t.Errorf("allocations grow with hosts: %v for 100 hosts, %v for 2000", small, large)
	}
	if small > 20 {
		t.Errorf("%v allocations per decision; expected a handful", small)
	}
}

// countingFilter counts its calls; once selects whether it runs only for
// the first instance.
type countingFilter struct {
	name  string
	once  bool
	calls int
}

func (f *countingFilter) Name() string                       { return f.name }
func (f *countingFilter) Pass(*HostState, *RequestSpec) bool { f.calls++; return true }
func (f *countingFilter) RunOncePerRequest() bool            { return f.once }

func TestOncePerRequestFiltersRunForTheFirstInstanceOnly(t *testing.T) {
	once := &countingFilter{name: "OnceFilter", once: true}
	every := &countingFilter{name: "EveryFilter"}
	s := newScheduler(t, func(c *Config) {
		c.EnabledFilters = []string{"OnceFilter", "EveryFilter"}
		c.MaxAttempts = 1
	}, Deps{Filters: []Filter{once, every}})
	hosts := []HostState{mkHost("a"), mkHost("b"), mkHost("c")}
	if _, err := s.Select(hosts, &RequestSpec{Flavor: smallFlavor()}, 4); err != nil {
		t.Fatal(err)
	}
	if once.calls != 3 {
		t.Errorf("run-once filter called %d times, want 3 (each host, first instance)", once.calls)
	}
	if every.calls != 12 {
		t.Errorf("per-instance filter called %d times, want 12 (each host, 4 instances)", every.calls)
	}
}

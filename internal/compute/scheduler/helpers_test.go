package scheduler

import (
	"errors"
	"testing"
)

// mkHost returns an enabled, up host with 8 CPUs, 16 GiB and 100 GiB of
// disk, nothing used, then applies the options.
func mkHost(name string, opts ...func(*HostState)) HostState {
	h := HostState{
		Host:      name,
		Node:      name,
		NodeUUID:  "uuid-" + name,
		ServiceUp: true,
		VCPUs:     8,
		MemoryMB:  16384,
		DiskGB:    100,
	}
	for _, o := range opts {
		o(&h)
	}
	return h
}

func withRAM(total, used int) func(*HostState) {
	return func(h *HostState) { h.MemoryMB, h.MemoryMBUsed = total, used }
}

func withAggregate(meta map[string]string) func(*HostState) {
	return func(h *HostState) {
		h.Aggregates = append(h.Aggregates, Aggregate{ID: "agg", Name: "agg", Metadata: meta})
	}
}

func withInstances(ids ...string) func(*HostState) {
	return func(h *HostState) { h.InstanceIDs = append(h.InstanceIDs, ids...); h.NumInstances += len(ids) }
}

func smallFlavor() Flavor { return Flavor{VCPUs: 1, MemoryMB: 512, RootGB: 1} }

// filterByName returns the built-in filter with that name, configured by cfg.
func filterByName(t *testing.T, cfg *Config, name string) Filter {
	t.Helper()
	for _, f := range builtinFilters(cfg) {
		if f.Name() == name {
			return f
		}
	}
	t.Fatalf("no filter %q", name)
	return nil
}

// weigherByName returns the built-in weigher with that name.
func weigherByName(t *testing.T, cfg *Config, name string) Weigher {
	t.Helper()
	for _, w := range builtinWeighers(cfg) {
		if w.Name() == name {
			return w
		}
	}
	t.Fatalf("no weigher %q", name)
	return nil
}

// newScheduler builds a Scheduler from DefaultConfig changed by edit.
func newScheduler(t testing.TB, edit func(*Config), deps Deps) *Scheduler {
	t.Helper()
	cfg := DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// primaries lists the primary hosts of selections.
func primaries(sel []Selection) []string {
	var out []string
	for _, s := range sel {
		out = append(out, s.Primary.Host)
	}
	return out
}

func asNoValidHost(t *testing.T, err error) *NoValidHost {
	t.Helper()
	var nvh *NoValidHost
	if !errors.As(err, &nvh) {
		t.Fatalf("error %v (%T) is not a *NoValidHost", err, err)
	}
	return nvh
}

// fixedRand returns the queued numbers in turn (modulo n), recording each n.
type fixedRand struct {
	next []int
	asks []int
}

func (r *fixedRand) IntN(n int) int {
	r.asks = append(r.asks, n)
	if len(r.next) == 0 {
		return 0
	}
	v := r.next[0]
	r.next = r.next[1:]
	return v % n
}

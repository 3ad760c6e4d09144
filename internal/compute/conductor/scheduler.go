package conductor

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/scheduler"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/metrics"
)

// Scheduler is nova-scheduler: it keeps a snapshot of the compute nodes'
// states (its host view), read from the database at most every
// RefreshInterval and updated in between by its own choices (as Nova's
// HostState.consume_from_request), and answers select_destinations with the
// pure scheduler's decision. The claim that makes a choice real is the
// conductor's compare-and-swap; a stale snapshot only makes a claim fail,
// and the conductor tries again.
//
// A refresh reads the database without the decision lock (the per-host
// load is a scan of every live instance: 0.3 s with 100,000 of them) and
// swaps the new view in under it, so decisions go on against the previous
// view meanwhile; only a scheduler with no view yet, or one told a host
// appeared (Invalidate), or one that found no valid host on a stale view,
// waits for the read.
type Scheduler struct {
	cfg   conf.Config
	store *store.Store
	src   hostSource
	sched *scheduler.Scheduler
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex // the decision lock: hosts, fetched, gen, recent, view
	hosts   []scheduler.HostState
	fetched time.Time // when the read behind hosts began
	// gen counts Invalidate calls; viewGen is gen when the read behind
	// hosts began, so a view read before a host appeared is not taken as
	// fresh.
	gen, viewGen uint64
	// recent remembers where this scheduler put instances since its last
	// refresh, so that server group policies hold for members whose claims
	// the database does not show yet.
	recent map[string]placement
	view   viewRefresh

	sub *bus.Subscription
	met *metrics.Registry
}

type placement struct {
	host string
	at   time.Time
}

// NewScheduler returns a scheduler worker.
func NewScheduler(cfg conf.Config, s *store.Store, log *slog.Logger) (*Scheduler, error) {
	sched, err := scheduler.New(cfg.SchedulerConfig(), scheduler.Deps{})
	if err != nil {
		return nil, err
	}
	return &Scheduler{cfg: cfg, store: s, src: s, sched: sched, log: log, now: time.Now, recent: map[string]placement{}}, nil
}

// Start serves select_destinations on the scheduler subject (queue group:
// start more workers, share the decisions).
func (s *Scheduler) Start(ctx context.Context, b *bus.Bus) error {
	s.met = b.Metrics()
	sub, err := b.Serve(ctx, rpc.SchedulerSubject, bus.ServeOptions{Queue: rpc.SchedulerQueue, Concurrency: s.cfg.Scheduler.Workers},
		map[string]bus.Handler{rpc.SelectDestinations: s.handleSelect})
	if err != nil {
		return err
	}
	s.sub = sub
	return nil
}

// Stop stops serving.
func (s *Scheduler) Stop() {
	if s.sub != nil {
		s.sub.Stop()
	}
}

func (s *Scheduler) handleSelect(ctx context.Context, raw json.RawMessage) (any, error) {
	req, err := bus.Decode[rpc.SelectRequest](raw)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := s.Select(ctx, req)
	outcome := "selected"
	if f := (*fault.Error)(nil); errors.As(err, &f) && f.Type == "NoValidHost" {
		outcome = "no_valid_host"
	} else if err != nil {
		outcome = "error"
	}
	s.met.SchedulerDecision(outcome, time.Since(start))
	return res, err
}

// Invalidate makes the next decision wait for a view read after this call.
func (s *Scheduler) Invalidate() {
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
}

// Select chooses destinations.
func (s *Scheduler) Select(ctx context.Context, req rpc.SelectRequest) (*rpc.SelectResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh := false
	switch {
	case s.fetched.IsZero() || s.viewGen != s.gen:
		// No view yet, or one that may miss a host that just came up.
		if err := s.awaitViewLocked(ctx); err != nil {
			return nil, err
		}
		fresh = true
	case s.now().Sub(s.fetched) > s.cfg.Scheduler.RefreshInterval:
		// Decide on the view there is; the next one is read meanwhile.
		s.startViewLocked(ctx)
	}
	for {
		sel, err := s.selectLocked(ctx, req)
		var nvh *scheduler.NoValidHost
		if errors.As(err, &nvh) && !fresh {
			// The snapshot may predate a host that just came up.
			if err := s.awaitViewLocked(ctx); err != nil {
				return nil, err
			}
			fresh = true
			continue
		}
		if err != nil {
			return nil, schedErr(err)
		}
		return &rpc.SelectResult{Selections: sel}, nil
	}
}

func schedErr(err error) error {
	var nvh *scheduler.NoValidHost
	var inv *scheduler.InvalidSpecError
	var pol *scheduler.PolicyNotSupportedError
	switch {
	case errors.As(err, &nvh):
		return &fault.Error{Status: 400, Type: "NoValidHost", Message: nvh.Error()}
	case errors.As(err, &inv):
		return fault.BadRequest("%s", inv.Error()).WithType("InvalidRequestSpec")
	case errors.As(err, &pol):
		return fault.BadRequest("%s", pol.Error()).WithType("UnsupportedPolicyException")
	}
	return err
}

func (s *Scheduler) selectLocked(ctx context.Context, req rpc.SelectRequest) ([]scheduler.Selection, error) {
	spec := req.Spec
	hosts := s.hosts
	ids := append(append([]string{}, spec.Hints.SameHost...), spec.Hints.DifferentHost...)
	if spec.Group != nil {
		ids = append(ids, spec.Group.Members...)
	}
	if len(ids) > 0 {
		where, err := s.store.InstanceHosts(ctx, ids)
		if err != nil {
			return nil, err
		}
		for id, p := range s.recent {
			if _, ok := where[id]; !ok || where[id] == "" {
				if slices.Contains(ids, id) {
					where[id] = p.host
				}
			}
		}
		// A working copy of the hosts that knows which of these instances
		// each runs; the snapshot itself stays as read.
		hosts = slices.Clone(s.hosts)
		byHost := map[string][]string{}
		for id, h := range where {
			if h != "" && !slices.Contains(spec.InstanceIDs, id) {
				byHost[strings.ToLower(h)] = append(byHost[strings.ToLower(h)], id)
			}
		}
		for i := range hosts {
			hosts[i].InstanceIDs = byHost[strings.ToLower(hosts[i].Host)]
		}
		if spec.Group != nil {
			g := *spec.Group
			g.Hosts = nil
			for _, m := range g.Members {
				if h := where[m]; h != "" && !slices.Contains(spec.InstanceIDs, m) && !slices.Contains(g.Hosts, h) {
					g.Hosts = append(g.Hosts, h)
				}
			}
			spec.Group = &g
		}
	}
	sel, err := s.sched.Select(hosts, &spec, req.N)
	if err != nil {
		return nil, err
	}
	// Consume what was chosen from the snapshot.
	vcpus, mem, disk := spec.Flavor.VCPUs, spec.Flavor.MemoryMB, spec.Flavor.EphemeralGB+(spec.Flavor.SwapMB+1023)/1024
	if !spec.BootFromVolume {
		disk += spec.Flavor.RootGB
	}
	now := s.now()
	for i, c := range sel {
		idx := c.Primary.SnapshotIndex
		if idx < 0 || idx >= len(s.hosts) {
			continue
		}
		h := &s.hosts[idx]
		u := use{host: h.Host, node: h.Node, vcpus: vcpus, mem: mem, disk: disk, project: spec.ProjectID}
		u.apply(h)
		if s.view.running != nil {
			// The view being read may not show this choice's claim yet.
			s.view.pending = append(s.view.pending, u)
		}
		if i < len(spec.InstanceIDs) {
			s.recent[spec.InstanceIDs[i]] = placement{host: h.Host, at: now}
		}
	}
	return sel, nil
}

// HostStates builds the scheduler's snapshot from database records.
func HostStates(nodes []*objects.ComputeNode, svcs []*objects.Service, aggs []*objects.Aggregate,
	loads map[objects.HostNode]*store.HostLoad, now time.Time, downTime time.Duration) ([]scheduler.HostState, error) {
	byHost := map[string]*objects.Service{}
	for _, sv := range svcs {
		byHost[sv.Host] = sv
	}
	hostAggs := map[string][]scheduler.Aggregate{}
	for _, a := range aggs {
		for _, h := range a.Hosts {
			hostAggs[h] = append(hostAggs[h], scheduler.Aggregate{ID: a.UUID, Name: a.Name, Metadata: a.Metadata})
		}
	}
	out := make([]scheduler.HostState, 0, len(nodes))
	for _, n := range nodes {
		sv := byHost[n.Host]
		if sv == nil {
			continue
		}
		h := scheduler.HostState{
			Host: n.Host, Node: n.HypervisorHostname, NodeUUID: n.UUID,
			ServiceDisabled: sv.Disabled, DisabledReason: sv.DisabledReason, ServiceUp: sv.Up(now, downTime), ForcedDown: sv.ForcedDown,
			Aggregates: hostAggs[n.Host],
			VCPUs:      n.VCPUs, VCPUsUsed: n.VCPUsUsed, ReservedVCPUs: n.ReservedHostCPUs, CPUAllocationRatio: n.CPUAllocationRatio,
			MemoryMB: n.MemoryMB, MemoryMBUsed: n.MemoryMBUsed, ReservedMemoryMB: n.ReservedHostMemoryMB, RAMAllocationRatio: n.RAMAllocationRatio,
			DiskGB: n.LocalGB, DiskGBUsed: n.LocalGBUsed, ReservedDiskGB: n.ReservedHostDiskGB, DiskAllocationRatio: n.DiskAllocationRatio,
			HypervisorType: n.HypervisorType, HypervisorVersion: n.HypervisorVersion, HypervisorHostname: n.HypervisorHostname,
			SupportedInstances: []scheduler.SupportedInstance{{Arch: "x86_64", HVType: strings.ToLower(n.HypervisorType), VMMode: "hvm"}},
			Capabilities:       map[string]string{"cpu_info": n.CPUInfo},
		}
		if l := loads[objects.HostNode{Host: n.Host, Node: n.HypervisorHostname}]; l != nil {
			h.NumInstances, h.IOOps = l.Instances, l.IOOps
			h.InstancesByProject = map[string]int{}
			for p, c := range l.ByProject {
				h.InstancesByProject[p] = c
			}
		}
		out = append(out, h)
	}
	return out, nil
}

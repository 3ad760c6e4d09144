package conductor

import (
	"context"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/scheduler"
	"github.com/tenku-cloud/tenku/internal/compute/store"
)

// hostSource is what a refresh of the scheduler's host view reads: the
// Nova store, or a test's stand-in that can hold a read back.
type hostSource interface {
	Nodes(ctx context.Context, host string) ([]*objects.ComputeNode, error)
	Services(ctx context.Context, host, binary string) ([]*objects.Service, error)
	Aggregates(ctx context.Context) ([]*objects.Aggregate, error)
	HostLoads(ctx context.Context, ioop func(vm, task string) bool) (map[objects.HostNode]*store.HostLoad, error)
}

// viewRefresh is the state of the host view's reads, under Scheduler.mu.
// One read runs at a time, without the decision lock.
type viewRefresh struct {
	reads    uint64        // reads begun
	viewRead uint64        // the read behind Scheduler.hosts
	running  chan struct{} // closed when the read in flight ends; nil when none runs
	failed   uint64        // the last read that failed
	err      error         // its error
	// pending are the choices made while a read runs: its view may have
	// missed their claims, so they are consumed from it again (counting a
	// claim twice until the next refresh errs toward a fuller host).
	pending []use
}

// use is what one choice consumed from a host's state.
type use struct {
	host, node       string
	vcpus, mem, disk int
	project          string
}

func (u use) apply(h *scheduler.HostState) {
	h.VCPUsUsed += u.vcpus
	h.MemoryMBUsed += u.mem
	h.DiskGBUsed += u.disk
	h.NumInstances++
	h.IOOps++
	if h.InstancesByProject == nil {
		h.InstancesByProject = map[string]int{}
	}
	h.InstancesByProject[u.project]++
}

// readTimeout bounds one read of the host view.
const readTimeout = time.Minute

// startViewLocked begins a read of the host view unless one runs, and
// returns the channel closed when the read in flight ends. The read does
// not hold the decision lock; it takes it only to swap its view in.
func (s *Scheduler) startViewLocked(ctx context.Context) <-chan struct{} {
	if s.view.running != nil {
		return s.view.running
	}
	s.view.reads++
	n, gen, began := s.view.reads, s.gen, s.now()
	done := make(chan struct{})
	s.view.running, s.view.pending = done, nil
	rctx := context.WithoutCancel(ctx) // the read outlives the request that began it
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(rctx, readTimeout)
		defer cancel()
		hosts, err := s.readView(ctx, began)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.view.running = nil
		if err != nil {
			s.view.failed, s.view.err, s.view.pending = n, err, nil
			s.log.Warn("scheduler: host view read failed; deciding on the previous view", "err", err)
			return
		}
		s.swapLocked(hosts, n, gen, began)
	}()
	return done
}

// awaitViewLocked waits, without the decision lock, for a view newer than
// the current one and read after the last Invalidate (hosts may keep
// appearing while a cloud starts, so it gives up on the latter after a few
// reads).
func (s *Scheduler) awaitViewLocked(ctx context.Context) error {
	want := s.view.viewRead + 1
	for tries := 0; s.view.viewRead < want || (s.viewGen != s.gen && tries < 3); tries++ {
		if s.view.viewRead >= want {
			want = s.view.viewRead + 1
		}
		done := s.startViewLocked(ctx)
		s.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			s.mu.Lock()
			return ctx.Err()
		}
		s.mu.Lock()
		if s.view.failed >= want && s.view.viewRead < want {
			return s.view.err
		}
	}
	return nil
}

// readView reads the compute nodes, their services, aggregates and loads.
func (s *Scheduler) readView(ctx context.Context, now time.Time) ([]scheduler.HostState, error) {
	nodes, err := s.src.Nodes(ctx, "")
	if err != nil {
		return nil, err
	}
	svcs, err := s.src.Services(ctx, "", "nova-compute")
	if err != nil {
		return nil, err
	}
	aggs, err := s.src.Aggregates(ctx)
	if err != nil {
		return nil, err
	}
	loads, err := s.src.HostLoads(ctx, scheduler.CountsAsIOOp)
	if err != nil {
		return nil, err
	}
	return HostStates(nodes, svcs, aggs, loads, now, s.cfg.Default.ServiceDownTime)
}

// swapLocked makes hosts, read by read n begun at began with Invalidate's
// count at gen, the view.
func (s *Scheduler) swapLocked(hosts []scheduler.HostState, n, gen uint64, began time.Time) {
	if len(s.view.pending) > 0 {
		idx := make(map[objects.HostNode]int, len(hosts))
		for i, h := range hosts {
			idx[objects.HostNode{Host: h.Host, Node: h.Node}] = i
		}
		for _, u := range s.view.pending {
			if i, ok := idx[objects.HostNode{Host: u.host, Node: u.node}]; ok {
				u.apply(&hosts[i])
			}
		}
	}
	s.hosts, s.fetched, s.viewGen, s.view.viewRead, s.view.pending = hosts, began, gen, n, nil
	// Placements older than a refresh are in the database by now, or failed.
	for id, p := range s.recent {
		if s.now().Sub(p.at) > 2*s.cfg.Scheduler.RefreshInterval+30*time.Second {
			delete(s.recent, id)
		}
	}
}

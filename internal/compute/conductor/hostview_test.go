package conductor

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/scheduler"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// heldSource is the store with HostLoads (the scan of every instance) held
// back while hold is set, as a big cloud's scan takes its time.
type heldSource struct {
	*store.Store
	mu      sync.Mutex
	hold    chan struct{} // HostLoads waits for its close while set
	entered chan struct{} // receives when a held HostLoads begins
}

func (h *heldSource) HostLoads(ctx context.Context, ioop func(vm, task string) bool) (map[objects.HostNode]*store.HostLoad, error) {
	h.mu.Lock()
	hold := h.hold
	h.mu.Unlock()
	if hold != nil {
		h.entered <- struct{}{}
		<-hold
	}
	return h.Store.HostLoads(ctx, ioop)
}

func addHost(t *testing.T, s *store.Store, host string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Heartbeat(ctx, host, "nova-compute", "compute", 1, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReportNode(ctx, &objects.ComputeNode{Host: host, HypervisorHostname: host, HypervisorType: "fake", VCPUs: 8, MemoryMB: 16384, LocalGB: 100,
		CPUAllocationRatio: 1, RAMAllocationRatio: 1, DiskAllocationRatio: 1}); err != nil {
		t.Fatal(err)
	}
}

// TestHostViewRefreshDoesNotBlockDecisions holds a stale host view's
// database read and expects decisions to go on meanwhile on the previous
// view; when the read ends, the choices made during it are still consumed
// from the new view (the database shows none of their claims), and an
// Invalidate makes the next decision wait for a view with the new host.
func TestHostViewRefreshDoesNotBlockDecisions(t *testing.T) {
	ctx := context.Background()
	db, err := pstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "nova.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, store.Migrations); err != nil {
		t.Fatal(err)
	}
	st := store.New(db)
	addHost(t, st, "h1")
	cfg := conf.Default()
	cfg.Scheduler.RefreshInterval = 2 * time.Second
	s, err := NewScheduler(cfg, st, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	src := &heldSource{Store: st, entered: make(chan struct{}, 1)}
	s.src = src
	var clock sync.Mutex
	now := time.Now()
	s.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	spec := scheduler.RequestSpec{ProjectID: "p", Flavor: scheduler.Flavor{VCPUs: 1, MemoryMB: 512, RootGB: 1}, NumInstances: 1}
	if _, err := s.Select(ctx, rpc.SelectRequest{Spec: spec, N: 1}); err != nil {
		t.Fatal(err)
	}

	hold := make(chan struct{})
	src.mu.Lock()
	src.hold = hold
	src.mu.Unlock()
	clock.Lock()
	now = now.Add(3 * time.Second)
	clock.Unlock()
	decided := make(chan error, 1)
	go func() {
		for i := 0; i < 3; i++ {
			if _, err := s.Select(ctx, rpc.SelectRequest{Spec: spec, N: 1}); err != nil {
				decided <- err
				return
			}
		}
		decided <- nil
	}()
	select {
	case <-src.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("a stale view began no read")
	}
	select {
	case err := <-decided:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(hold)
		t.Fatal("decisions waited for the host view's read")
	}
	src.mu.Lock()
	src.hold = nil
	src.mu.Unlock()
	close(hold)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		read, running, n := s.view.viewRead, s.view.running, s.hosts[0].NumInstances
		s.mu.Unlock()
		if read == 2 && running == nil {
			if n != 3 {
				t.Errorf("the new view counts %d instances on h1, want the 3 chosen during its read", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the held read never became the view (view from read %d)", read)
		}
		time.Sleep(10 * time.Millisecond)
	}

	addHost(t, st, "h2")
	s.Invalidate()
	if _, err := s.Select(ctx, rpc.SelectRequest{Spec: spec, N: 1}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	hosts := len(s.hosts)
	s.mu.Unlock()
	if hosts != 2 {
		t.Errorf("after Invalidate the decision saw %d hosts, want 2", hosts)
	}
}

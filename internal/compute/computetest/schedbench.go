package computetest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute"
	"github.com/tenku-cloud/tenku/internal/compute/conductor"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/scheduler"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// SchedResult are the timings of SchedulerBench.
type SchedResult struct {
	P50, P99, Max time.Duration
	// Refresh is the time one read of the snapshot from the database takes.
	Refresh time.Duration
}

// SchedulerBench registers n simulated compute nodes in a SQLite database in
// dir and times decisions of the scheduler worker over them.
func SchedulerBench(ctx context.Context, dir string, n, decisions int) (*SchedResult, error) {
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "sched.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, compute.Migrations); err != nil {
		return nil, err
	}
	st := cstore.New(db)
	for i := 0; i < n; i++ {
		host := fmt.Sprintf("sim%04d", i)
		if _, err := st.Heartbeat(ctx, host, "nova-compute", "compute", 1, true); err != nil {
			return nil, err
		}
		if _, err := st.ReportNode(ctx, &objects.ComputeNode{Host: host, HypervisorHostname: host, HypervisorType: "fake",
			HypervisorVersion: 1000, VCPUs: 32 + 16*(i%3), MemoryMB: (128 + 64*(i%4)) * 1024, LocalGB: 2000, ReservedHostMemoryMB: 512,
			CPUAllocationRatio: 4, RAMAllocationRatio: 1, DiskAllocationRatio: 1}); err != nil {
			return nil, err
		}
	}
	cfg := compute.DefaultConfig()
	cfg.Scheduler.RefreshInterval = 2 * time.Second
	cfg.FilterScheduler.MaxInstancesPerHost = 1 << 20
	cfg.FilterScheduler.MaxIOOpsPerHost = 1 << 20
	s, err := conductor.NewScheduler(cfg, st, logging.Discard())
	if err != nil {
		return nil, err
	}
	spec := scheduler.RequestSpec{ProjectID: "p", Flavor: scheduler.Flavor{VCPUs: 1, MemoryMB: 512, RootGB: 1}, NumInstances: 1}
	t := time.Now()
	if _, err := s.Select(ctx, rpc.SelectRequest{Spec: spec, N: 1}); err != nil {
		return nil, err
	}
	refresh := time.Since(t)
	var ds []time.Duration
	for i := 0; i < decisions; i++ {
		spec.InstanceIDs = []string{uuid.NewString()}
		t := time.Now()
		if _, err := s.Select(ctx, rpc.SelectRequest{Spec: spec, N: 1}); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t))
	}
	slices.Sort(ds)
	r := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	return &SchedResult{P50: r(ds[len(ds)/2]), P99: r(ds[len(ds)*99/100]), Max: r(ds[len(ds)-1]), Refresh: r(refresh)}, nil
}

package sim

import (
	"context"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

func TestHistogramQuantile(t *testing.T) {
	h := Histogram{Bounds: []float64{0.001, 0.002, 0.004}, Counts: []uint64{50, 90, 100}, Count: 100}
	if got := h.Quantile(0.5); got != time.Millisecond {
		t.Errorf("p50 = %v, want 1ms", got)
	}
	// The 99th of 100 lies 9/10 into the (2 ms, 4 ms] bucket.
	if got := h.Quantile(0.99); got != 3800*time.Microsecond {
		t.Errorf("p99 = %v, want 3.8ms", got)
	}
	earlier := Histogram{Bounds: h.Bounds, Counts: []uint64{50, 50, 50}, Count: 50}
	if got := h.Since(earlier).Quantile(0.5); got != 1625*time.Microsecond { // 25 of 40 into (1 ms, 2 ms]
		t.Errorf("p50 since = %v, want 1.625ms", got)
	}
	if got := (Histogram{}).Quantile(0.99); got != 0 {
		t.Errorf("empty p99 = %v", got)
	}
}

// TestSimBoots runs a small simulated cloud: hosts register, servers boot
// ACTIVE on them and are deleted, the scheduler's decisions are counted,
// seeded servers are listed.
func TestSimBoots(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	ctx := context.Background()
	c, err := Start(ctx, Options{Dir: t.TempDir(), HostIPs: []string{testkit.FreeLoopback(t)}, Hosts: 4, NetAgents: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tn, err := c.Prepare(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	before := c.SchedulerHistogram()
	r := c.BootLoad(ctx, tn, 4, 3*time.Second, 20*time.Millisecond)
	if r.Active == 0 || r.Failed != 0 {
		t.Fatalf("boots: %+v", r)
	}
	if h := c.SchedulerHistogram().Since(before); h.Count < uint64(r.Active) {
		t.Errorf("%d scheduler decisions for %d boots", h.Count, r.Active)
	}
	var hosts int
	if err := c.Replicas[0].DBs["nova"].QueryRow(ctx, "SELECT COUNT(DISTINCT host) FROM services WHERE svc_binary = 'nova-compute'").Scan(&hosts); err != nil {
		t.Fatal(err)
	}
	if hosts != 4 {
		t.Errorf("%d compute services registered, want 4", hosts)
	}
	if have, err := c.Seed(ctx, tn, 1200); err != nil || have != 1200 {
		t.Fatalf("seed: %d %v", have, err)
	}
	if _, _, err := c.ListDetail(ctx, tn, 1000, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if rate, _, err := c.TokenValidation(ctx, tn, 1, 2, 200*time.Millisecond); err != nil || rate == 0 {
		t.Fatalf("token validation: %v %v", rate, err)
	}
}

package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
)

// Histogram is a snapshot of a Prometheus histogram's cumulative buckets.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
}

// SchedulerHistogram sums tenku_scheduler_decision_duration_seconds over
// the replicas.
func (c *Cloud) SchedulerHistogram() Histogram {
	return c.Histogram("tenku_scheduler_decision_duration_seconds", nil)
}

// Histogram sums a histogram over the replicas' registries and the series
// whose labels include want.
func (c *Cloud) Histogram(name string, want map[string]string) Histogram {
	var h Histogram
	for _, st := range c.Replicas {
		fams, err := st.Metrics.Gatherer().Gather()
		if err != nil {
			continue
		}
		for _, f := range fams {
			if f.GetName() != name {
				continue
			}
		next:
			for _, m := range f.GetMetric() {
				have := map[string]string{}
				for _, l := range m.GetLabel() {
					have[l.GetName()] = l.GetValue()
				}
				for k, v := range want {
					if have[k] != v {
						continue next
					}
				}
				h.add(m.GetHistogram())
			}
		}
	}
	return h
}

// Histograms snapshots every histogram the load report breaks a boot into.
func (c *Cloud) Histograms() map[string]Histogram {
	out := map[string]Histogram{"scheduler decision": c.SchedulerHistogram()}
	for _, ph := range []string{"networking", "spawning", "build"} {
		out["agent "+ph] = c.Histogram("tenku_build_phase_duration_seconds", map[string]string{"phase": ph})
	}
	out["API POST /servers"] = c.Histogram("tenku_api_request_duration_seconds", map[string]string{"service": "nova", "method": "POST", "route": "/v2.1/servers"})
	out["API GET /servers/{id}"] = c.Histogram("tenku_api_request_duration_seconds", map[string]string{"service": "nova", "method": "GET", "route": "/v2.1/servers/{server_id}"})
	out["API POST /v2.0/ports"] = c.Histogram("tenku_api_request_duration_seconds", map[string]string{"service": "neutron", "method": "POST", "route": "/v2.0/ports"})
	out["bus call select_destinations"] = c.Histogram("tenku_bus_call_duration_seconds", map[string]string{"method": "select_destinations"})
	return out
}

// SnapshotRead times what the scheduler reads from the database at each
// refresh of its host view (nodes, services, aggregates, per-host loads).
func (c *Cloud) SnapshotRead(ctx context.Context) (time.Duration, error) {
	st := cstore.New(c.Replicas[0].DBs["nova"])
	t0 := time.Now()
	if _, err := st.Nodes(ctx, ""); err != nil {
		return 0, err
	}
	if _, err := st.Services(ctx, "", "nova-compute"); err != nil {
		return 0, err
	}
	if _, err := st.Aggregates(ctx); err != nil {
		return 0, err
	}
	if _, err := st.HostLoads(ctx, func(vm, task string) bool { return task != "" }); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func (h *Histogram) add(p *dto.Histogram) {
	if p == nil {
		return
	}
	if h.Bounds == nil {
		for _, b := range p.GetBucket() {
			h.Bounds = append(h.Bounds, b.GetUpperBound())
		}
		h.Counts = make([]uint64, len(h.Bounds))
	}
	for i, b := range p.GetBucket() {
		if i < len(h.Counts) {
			h.Counts[i] += b.GetCumulativeCount()
		}
	}
	h.Count += p.GetSampleCount()
}

// Since is the histogram of the observations made after earlier.
func (h Histogram) Since(earlier Histogram) Histogram {
	out := Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts)), Count: h.Count - earlier.Count}
	for i := range h.Counts {
		out.Counts[i] = h.Counts[i]
		if i < len(earlier.Counts) {
			out.Counts[i] -= earlier.Counts[i]
		}
	}
	return out
}

// Quantile estimates the q-quantile by linear interpolation inside the
// bucket it falls in (as Prometheus's histogram_quantile).
func (h Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := q * float64(h.Count)
	lower, below := 0.0, uint64(0)
	for i, b := range h.Bounds {
		if float64(h.Counts[i]) >= rank {
			in := float64(h.Counts[i] - below)
			frac := 1.0
			if in > 0 {
				frac = (rank - float64(below)) / in
			}
			return time.Duration((lower + (b-lower)*frac) * float64(time.Second))
		}
		lower, below = b, h.Counts[i]
	}
	return time.Duration(lower * float64(time.Second) * 2) // past the last bucket: a lower bound
}

// Seed writes ACTIVE servers of the demo project straight into Nova's
// database until it holds total servers, in batches of one transaction:
// booting 100,000 through the API would take hours on a small machine. The
// seeded servers are rows only (no guest, no port, no claim), spread over
// the simulated hosts.
func (c *Cloud) Seed(ctx context.Context, t *Tenant, total int) (int, error) {
	db := c.Replicas[0].DBs["nova"]
	var have int
	if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM instances WHERE deleted = FALSE").Scan(&have); err != nil {
		return 0, err
	}
	st := cstore.New(db)
	_, demo, err := c.Replicas[0].Login(ctx, "demo", "demo")
	if err != nil {
		return 0, err
	}
	flavor := objects.Flavor{FlavorID: t.FlavorID, Name: "m1.tiny", VCPUs: 1, MemoryMB: 512, RootGB: 1}
	for have < total {
		n := min(500, total-have)
		batch := make([]cstore.NewInstance, n)
		for i := range batch {
			host := HostName((have + i) % max(1, c.Hosts))
			batch[i].Instance = &objects.Instance{UUID: uuid.NewString(), ProjectID: demo.ProjectID, UserID: demo.UserID,
				DisplayName: fmt.Sprintf("seed-%d", have+i), Hostname: fmt.Sprintf("seed-%d", have+i), ImageRef: t.ImageID,
				Flavor: flavor, VMState: states.Active, PowerState: states.PowerRunning, Host: host, Node: host,
				AvailabilityZone: "nova"}
		}
		if err := st.CreateInstances(ctx, batch, nil, cstore.ActionStart{Action: "create", UserID: demo.UserID, ProjectID: demo.ProjectID}); err != nil {
			return have, err
		}
		have += n
	}
	return have, nil
}

// ListDetail times GET /servers/detail?limit=limit as the demo user from
// one client for d.
func (c *Cloud) ListDetail(ctx context.Context, t *Tenant, limit int, d time.Duration) (p50, p99 time.Duration, err error) {
	url := fmt.Sprintf("%s/servers/detail?limit=%d", c.URL(0, "nova"), limit)
	lat, err := timeGets(ctx, []string{url}, t.Token, 1, d)
	if len(lat) == 0 {
		return 0, 0, fmt.Errorf("no list succeeded: %v", err)
	}
	return Percentile(lat, 0.5), Percentile(lat, 0.99), nil
}

// TokenValidation validates the demo token with GET /v3/auth/tokens from
// clients goroutines for d against the first replicas replicas (round
// robin) and returns validations per second and the p99.
func (c *Cloud) TokenValidation(ctx context.Context, t *Tenant, replicas, clients int, d time.Duration) (float64, time.Duration, error) {
	var urls []string
	for i := 0; i < replicas && i < len(c.Replicas); i++ {
		urls = append(urls, c.URL(i, "keystone")+"/auth/tokens")
	}
	t0 := time.Now()
	lat, err := timeGets(ctx, urls, t.AdminToken, clients, d, "X-Subject-Token", t.Token)
	if len(lat) == 0 {
		return 0, 0, fmt.Errorf("no validation succeeded: %v", err)
	}
	return float64(len(lat)) / time.Since(t0).Seconds(), Percentile(lat, 0.99), nil
}

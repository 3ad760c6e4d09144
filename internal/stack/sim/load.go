package sim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// BootResult are the figures of a boot-and-delete load.
type BootResult struct {
	// Active is the number of servers that went ACTIVE; Failed those that
	// went to ERROR, timed out or whose request failed (FirstError says
	// why the first did).
	Active, Failed int
	FirstError     string
	Wall           time.Duration
	// PerSecond is Active over Wall.
	PerSecond float64
	// P50, P99 and Max are POST→ACTIVE, as a client polling sees it.
	P50, P99, Max time.Duration
}

// BootLoad runs clients closed loops for d: each boots a server, polls it
// until ACTIVE (every poll), deletes it without waiting and boots the next,
// spreading its requests over the replicas.
func (c *Cloud) BootLoad(ctx context.Context, t *Tenant, clients int, d, poll time.Duration) *BootResult {
	hc := newClient(clients)
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	var first atomic.Value
	fail := func(err error) {
		failed.Add(1)
		first.CompareAndSwap(nil, err.Error())
	}
	nets := any("none")
	if t.NetworkID != "" {
		nets = []map[string]any{{"uuid": t.NetworkID}}
	}
	stop := time.Now().Add(d)
	begin := time.Now()
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := &client{hc: hc, token: t.Token}
			for n := 0; time.Now().Before(stop) && ctx.Err() == nil; n++ {
				url := c.URL(w+n, "nova")
				l, err := c.bootOne(ctx, cl, url, t, nets, seq.Add(1), poll)
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				lat = append(lat, l)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	r := &BootResult{Active: len(lat), Failed: int(failed.Load()), Wall: time.Since(begin)}
	if e, ok := first.Load().(string); ok {
		r.FirstError = e
	}
	slices.Sort(lat)
	r.PerSecond = float64(len(lat)) / r.Wall.Seconds()
	r.P50, r.P99, r.Max = Percentile(lat, 0.5), Percentile(lat, 0.99), Percentile(lat, 1)
	return r
}

// bootOne boots one server, waits for ACTIVE and deletes it.
func (c *Cloud) bootOne(ctx context.Context, cl *client, url string, t *Tenant, nets any, n int64, poll time.Duration) (time.Duration, error) {
	t0 := time.Now()
	var out struct {
		Server struct {
			ID string `json:"id"`
		} `json:"server"`
	}
	if _, _, err := cl.do(ctx, "POST", url+"/servers", map[string]any{"server": map[string]any{
		"name": fmt.Sprintf("sim-%d", n), "imageRef": t.ImageID, "flavorRef": t.FlavorID, "networks": nets}}, &out,
		"OpenStack-API-Version", "compute 2.37"); err != nil {
		return 0, err
	}
	id := out.Server.ID
	defer cl.do(context.WithoutCancel(ctx), "DELETE", url+"/servers/"+id, nil, nil)
	deadline := t0.Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(poll)
		var s struct {
			Server struct {
				Status string `json:"status"`
				Fault  *struct {
					Message string `json:"message"`
				} `json:"fault"`
			} `json:"server"`
		}
		if _, _, err := cl.do(ctx, "GET", url+"/servers/"+id, nil, &s); err != nil {
			return 0, err
		}
		switch s.Server.Status {
		case "ACTIVE":
			return time.Since(t0), nil
		case "ERROR":
			msg := ""
			if s.Server.Fault != nil {
				msg = s.Server.Fault.Message
			}
			return 0, fmt.Errorf("server %s went to ERROR: %s", id, msg)
		}
	}
	return 0, fmt.Errorf("server %s not ACTIVE after 2 minutes", id)
}

// Percentile returns the p-quantile of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// timeGets times GET url from clients goroutines for d and returns the
// sorted latencies of successes and the first error.
func timeGets(ctx context.Context, urls []string, token string, clients int, d time.Duration, hdr ...string) ([]time.Duration, error) {
	hc := newClient(clients)
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := &client{hc: hc, token: token}
			var mine []time.Duration
			for n := 0; time.Now().Before(stop) && ctx.Err() == nil; n++ {
				t0 := time.Now()
				if _, _, err := cl.do(ctx, http.MethodGet, urls[(w+n)%len(urls)], nil, nil, hdr...); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, firstErr
}

package computetest

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// BenchOptions configure BootBench.
type BenchOptions struct {
	Servers int
	Clients int
	Hosts   int
	// DBURL is the database (empty: SQLite in Dir).
	DBURL string
	Dir   string
	// Network attaches every server to a (fake Neutron) network.
	Network bool
	// Poll is the interval between a client's status polls.
	Poll time.Duration
	// NewDriver is each host's hypervisor (the fake driver).
	NewDriver func(host string) virt.Driver
}

// BenchResult are BootBench's figures.
type BenchResult struct {
	Startup       time.Duration
	Active        int
	Failed        int64
	Wall          time.Duration
	PerSecond     float64
	P50, P90, P99 time.Duration
	Max           time.Duration
	RSS           string
}

// BootBench boots servers through the public API from concurrent clients that
// each create a server and poll it until ACTIVE.
func BootBench(ctx context.Context, o BenchOptions) (*BenchResult, error) {
	var hosts []string
	for i := 0; i < o.Hosts; i++ {
		hosts = append(hosts, fmt.Sprintf("compute%d", i+1))
	}
	t0 := time.Now()
	c, err := Start(ctx, Options{Dir: o.Dir, DBURL: o.DBURL, Hosts: hosts, PortStatus: "ACTIVE", NewDriver: o.NewDriver,
		Config: func(cfg *conf.Config) {
			cfg.Default.ReportInterval = 10 * time.Second
			cfg.Default.ServiceDownTime = 60 * time.Second
			cfg.Scheduler.RefreshInterval = 2 * time.Second
			cfg.FilterScheduler.MaxInstancesPerHost = 100000
			cfg.FilterScheduler.MaxIOOpsPerHost = 100000
			cfg.Default.MaxConcurrentBuilds = 64
		}})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	res := &BenchResult{Startup: time.Since(t0)}
	if code, err := c.Do(ctx, "PUT", "/v2.1/os-quota-sets/"+DemoProject, AdminToken, "",
		map[string]any{"quota_set": map[string]any{"instances": -1, "cores": -1, "ram": -1}}, nil); err != nil || code != 200 {
		return nil, fmt.Errorf("lift quota: %d %v", code, err)
	}
	nets := any("none")
	if o.Network {
		nets = []map[string]any{{"uuid": c.PrivateNet.ID}}
	}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	begin := time.Now()
	for w := 0; w < o.Clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(o.Servers) {
					return
				}
				t := time.Now()
				var out struct {
					Server struct {
						ID string `json:"id"`
					} `json:"server"`
				}
				code, err := c.Do(ctx, "POST", "/v2.1/servers", DemoToken, "2.93", map[string]any{"server": map[string]any{
					"name": "bench-" + strconv.FormatInt(i, 10), "imageRef": c.Image.ID, "flavorRef": "42", "networks": nets}}, &out)
				if err != nil || code != 202 {
					atomic.AddInt64(&res.Failed, 1)
					continue
				}
				for {
					time.Sleep(o.Poll)
					var s struct {
						Server struct {
							Status string `json:"status"`
						} `json:"server"`
					}
					if _, err := c.Do(ctx, "GET", "/v2.1/servers/"+out.Server.ID, DemoToken, "2.93", nil, &s); err != nil {
						atomic.AddInt64(&res.Failed, 1)
						break
					}
					if s.Server.Status == "ACTIVE" {
						mu.Lock()
						lat = append(lat, time.Since(t))
						mu.Unlock()
						break
					}
					if s.Server.Status == "ERROR" {
						atomic.AddInt64(&res.Failed, 1)
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	res.Wall = time.Since(begin)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(time.Millisecond)
	}
	runtime.GC()
	res.Active = len(lat)
	res.PerSecond = float64(len(lat)) / res.Wall.Seconds()
	res.P50, res.P90, res.P99, res.Max = pct(0.5), pct(0.9), pct(0.99), pct(1)
	res.RSS = RSS()
	return res, nil
}

// RSS reads the process's resident set size.
func RSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
		}
	}
	return "unknown"
}

// Command novabench measures the compute service end to end: it starts the
// in-process test cloud (nova-api over loopback HTTP, conductor, scheduler,
// compute agents on the fake hypervisor, SQLite by default), boots servers
// through the public API from concurrent clients that each create a server
// and poll it until ACTIVE, and prints the rate of servers reaching ACTIVE,
// the latency from POST to ACTIVE, the process's RSS, and the scheduler's
// decision time over a thousand simulated hosts.
//
//	go run ./internal/compute/computetest/novabench -servers 1000 -clients 32
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
)

func main() {
	servers := flag.Int("servers", 1000, "servers to boot")
	clients := flag.Int("clients", 32, "concurrent API clients")
	hosts := flag.Int("hosts", 4, "compute hosts (agents on fake hypervisors)")
	db := flag.String("db", "", "database URL (default: SQLite in a temporary directory)")
	network := flag.Bool("network", true, "attach each server to a network (fake Neutron)")
	poll := flag.Duration("poll", 100*time.Millisecond, "interval between a client's status polls")
	flag.Parse()
	if err := run(*servers, *clients, *hosts, *db, *network, *poll); err != nil {
		fmt.Fprintln(os.Stderr, "novabench:", err)
		os.Exit(1)
	}
}

func run(servers, clients, nhosts int, dbURL string, network bool, poll time.Duration) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "novabench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var hosts []string
	for i := 0; i < nhosts; i++ {
		hosts = append(hosts, fmt.Sprintf("compute%d", i+1))
	}
	t0 := time.Now()
	c, err := computetest.Start(ctx, computetest.Options{Dir: dir, DBURL: dbURL, Hosts: hosts, PortStatus: "ACTIVE",
		Fake: fake.Config{VCPUs: 4096, MemoryMB: 4 << 20, DiskGB: 1 << 20},
		Config: func(cfg *conf.Config) {
			cfg.Default.ReportInterval = 10 * time.Second
			cfg.Default.ServiceDownTime = 60 * time.Second
			cfg.Scheduler.RefreshInterval = 2 * time.Second
			cfg.FilterScheduler.MaxInstancesPerHost = 100000
			cfg.FilterScheduler.MaxIOOpsPerHost = 100000
			cfg.Default.MaxConcurrentBuilds = 64
		}})
	if err != nil {
		return err
	}
	defer c.Close()
	startup := time.Since(t0)
	if code, err := c.Do(ctx, "PUT", "/v2.1/os-quota-sets/"+computetest.DemoProject, computetest.AdminToken, "",
		map[string]any{"quota_set": map[string]any{"instances": -1, "cores": -1, "ram": -1}}, nil); err != nil || code != 200 {
		return fmt.Errorf("lift quota: %d %v", code, err)
	}
	nets := any("none")
	if network {
		nets = []map[string]any{{"uuid": c.PrivateNet.ID}}
	}

	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(servers) {
					return
				}
				t := time.Now()
				var out struct {
					Server struct {
						ID string `json:"id"`
					} `json:"server"`
				}
				code, err := c.Do(ctx, "POST", "/v2.1/servers", computetest.DemoToken, "2.93", map[string]any{"server": map[string]any{
					"name": "bench-" + strconv.FormatInt(i, 10), "imageRef": c.Image.ID, "flavorRef": "42", "networks": nets}}, &out)
				if err != nil || code != 202 {
					failed.Add(1)
					continue
				}
				for {
					time.Sleep(poll)
					var s struct {
						Server struct {
							Status string `json:"status"`
						} `json:"server"`
					}
					if _, err := c.Do(ctx, "GET", "/v2.1/servers/"+out.Server.ID, computetest.DemoToken, "2.93", nil, &s); err != nil {
						failed.Add(1)
						break
					}
					if s.Server.Status == "ACTIVE" {
						mu.Lock()
						lat = append(lat, time.Since(t))
						mu.Unlock()
						break
					}
					if s.Server.Status == "ERROR" {
						failed.Add(1)
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(begin)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	runtime.GC()
	fmt.Printf("novabench: %d servers, %d clients, %d hosts, db %s, network %v\n", servers, clients, nhosts, dbName(dbURL), network)
	fmt.Printf("  startup to first accepted boot: %s\n", startup.Round(time.Millisecond))
	fmt.Printf("  ACTIVE: %d  failed: %d  wall: %s\n", len(lat), failed.Load(), wall.Round(time.Millisecond))
	fmt.Printf("  throughput: %.1f servers/s to ACTIVE\n", float64(len(lat))/wall.Seconds())
	fmt.Printf("  POST->ACTIVE: p50 %s  p90 %s  p99 %s  max %s (client poll interval %s)\n",
		pct(0.5).Round(time.Millisecond), pct(0.9).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond), poll)
	fmt.Printf("  RSS of the whole process with %d servers: %s\n", len(lat), rss())
	return schedBench(ctx, dir)
}

func dbName(u string) string {
	if u == "" {
		return "sqlite"
	}
	s, _, _ := strings.Cut(u, ":")
	return s
}

// rss reads the process's resident set size.
func rss() string {
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

// schedBench times scheduling decisions of the scheduler worker over 1,000
// simulated compute nodes in a database: each decision filters and weighs
// the snapshot (read again from the database whenever it is older than the
// refresh interval) and consumes the choice.
func schedBench(ctx context.Context, dir string) error {
	const nodes, decisions = 1000, 2000
	d, err := computetest.SchedulerBench(ctx, dir, nodes, decisions)
	if err != nil {
		return err
	}
	fmt.Printf("  scheduler over %d hosts, %d decisions: p50 %s  p99 %s  max %s (snapshot read from the database: %s)\n",
		nodes, decisions, d.P50, d.P99, d.Max, d.Refresh)
	return nil
}

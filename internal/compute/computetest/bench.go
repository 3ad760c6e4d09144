package computetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	// Poll is the interval between status polls.
	Poll time.Duration
	// Serial makes each client wait for its server before the next (see
	// Load.Serial).
	Serial bool
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
	// FirstError says why the first failed boot failed.
	FirstError string
}

// BootBench starts an in-process compute service (API, conductor, scheduler
// and o.Hosts agents on o.NewDriver, fake Glance and Neutron) and boots
// servers through its public API with Boot.
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
	startup := time.Since(t0)
	if code, err := c.Do(ctx, "PUT", "/v2.1/os-quota-sets/"+DemoProject, AdminToken, "",
		map[string]any{"quota_set": map[string]any{"instances": -1, "cores": -1, "ram": -1}}, nil); err != nil || code != 200 {
		return nil, fmt.Errorf("lift quota: %d %v", code, err)
	}
	nets := any("none")
	if o.Network {
		nets = []map[string]any{{"uuid": c.PrivateNet.ID}}
	}
	res, err := Boot(ctx, Load{URL: c.URL, Token: DemoToken, ImageID: c.Image.ID, FlavorID: "42", Networks: nets,
		Servers: o.Servers, Clients: o.Clients, Poll: o.Poll, Serial: o.Serial})
	if err != nil {
		return nil, err
	}
	res.Startup = startup
	return res, nil
}

// Load is what Boot boots, and where.
type Load struct {
	// URL is the compute endpoint ("http://host:8774" or with /v2.1).
	URL string
	// Token is the booting user's token.
	Token    string
	ImageID  string
	FlavorID string
	// Networks is the servers' "networks" ("none", "auto" or a list).
	Networks any
	Servers  int
	Clients  int
	// Poll is the interval between status polls.
	Poll time.Duration
	// Serial makes each client wait for its server to be ACTIVE before it
	// creates the next (a closed loop: throughput is then Clients divided
	// by the boot latency). By default clients create servers as fast as
	// the API takes them and one poller watches them come up.
	Serial bool
}

// Boot boots l.Servers servers through the compute API of any cloud from
// l.Clients concurrent clients and reports the throughput to ACTIVE (servers
// over the time from the first POST to the last ACTIVE) and the POST→ACTIVE
// percentiles (Startup is left zero). The process's RSS is read at the end.
func Boot(ctx context.Context, l Load) (*BenchResult, error) {
	base := strings.TrimSuffix(strings.TrimSuffix(l.URL, "/"), "/v2.1")
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: l.Clients * 2}}
	bc := &benchClient{ctx: ctx, base: base, token: l.Token, hc: hc}
	do := bc.do
	res := &BenchResult{}
	var firstErr atomic.Value
	fail := func(msg string) {
		firstErr.CompareAndSwap(nil, msg)
		atomic.AddInt64(&res.Failed, 1)
	}
	prefix := fmt.Sprintf("bench-%d-", time.Now().UnixNano())
	create := func(i int64) (string, time.Time, bool) {
		t := time.Now()
		var out struct {
			Server struct {
				ID string `json:"id"`
			} `json:"server"`
		}
		code, err := do("POST", "/v2.1/servers", map[string]any{"server": map[string]any{
			"name": prefix + strconv.FormatInt(i, 10), "imageRef": l.ImageID, "flavorRef": l.FlavorID, "networks": l.Networks}}, &out)
		if err != nil || code != 202 {
			fail(fmt.Sprintf("POST /servers: %d %v", code, err))
			return "", t, false
		}
		return out.Server.ID, t, true
	}

	var mu sync.Mutex
	var lat []time.Duration
	posted := map[string]time.Time{}
	var next atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	for w := 0; w < l.Clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(l.Servers) {
					return
				}
				id, t, ok := create(i)
				if !ok {
					continue
				}
				if !l.Serial {
					mu.Lock()
					posted[id] = t
					mu.Unlock()
					continue
				}
				for {
					time.Sleep(l.Poll)
					var s struct {
						Server struct {
							Status string `json:"status"`
						} `json:"server"`
					}
					if _, err := do("GET", "/v2.1/servers/"+id, nil, &s); err != nil {
						fail(err.Error())
						break
					}
					if s.Server.Status == "ACTIVE" {
						mu.Lock()
						lat = append(lat, time.Since(t))
						mu.Unlock()
						break
					}
					if s.Server.Status == "ERROR" {
						fail("server " + id + " went to ERROR")
						break
					}
				}
			}
		}()
	}
	if !l.Serial {
		// One poller lists the run's servers by status until every server
		// created is ACTIVE or in ERROR.
		posting := make(chan struct{})
		go func() { wg.Wait(); close(posting) }()
		done := map[string]bool{}
		list := func(status string) ([]string, error) { return bc.list(prefix, status) }
		finished := false
		for !finished {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(l.Poll):
			}
			select {
			case <-posting:
				finished = true
			default:
			}
			active, err := list("ACTIVE")
			if err != nil {
				return nil, err
			}
			failed, err := list("ERROR")
			if err != nil {
				return nil, err
			}
			now := time.Now()
			mu.Lock()
			for _, id := range active {
				if t, ok := posted[id]; ok && !done[id] {
					done[id] = true
					lat = append(lat, now.Sub(t))
				}
			}
			for _, id := range failed {
				if _, ok := posted[id]; ok && !done[id] {
					done[id] = true
					fail("server " + id + " went to ERROR")
				}
			}
			if len(done) < len(posted) {
				finished = false
			}
			mu.Unlock()
		}
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
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	return res, nil
}

// benchClient is the compute API as Boot calls it: one user's token at the
// newest microversion Boot needs.
type benchClient struct {
	ctx   context.Context
	base  string
	token string
	hc    *http.Client
}

// do sends a request with body as JSON and decodes a 2xx answer into out.
func (c *benchClient) do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Auth-Token", c.token)
	req.Header.Set("OpenStack-API-Version", "compute 2.93")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		return res.StatusCode, json.NewDecoder(res.Body).Decode(out)
	}
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// list returns the ids of the run's servers (named with prefix) in a status,
// following the list's next links.
func (c *benchClient) list(prefix, status string) ([]string, error) {
	var ids []string
	path := "/v2.1/servers?limit=1000&status=" + status + "&name=" + prefix
	for path != "" {
		var page struct {
			Servers []struct {
				ID string `json:"id"`
			} `json:"servers"`
			Links []struct {
				Href string `json:"href"`
				Rel  string `json:"rel"`
			} `json:"servers_links"`
		}
		if code, err := c.do("GET", path, nil, &page); err != nil || code != 200 {
			return nil, fmt.Errorf("list servers: %d %v", code, err)
		}
		for _, s := range page.Servers {
			ids = append(ids, s.ID)
		}
		path = ""
		for _, ln := range page.Links {
			if ln.Rel == "next" {
				path = strings.TrimPrefix(ln.Href, c.base)
				if i := strings.Index(path, "/v2.1/"); i > 0 {
					path = path[i:]
				}
			}
		}
	}
	return ids, nil
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

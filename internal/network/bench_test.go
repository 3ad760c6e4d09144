package network_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The figures. Run them with:
//
//	go test ./internal/network -run '^$' -bench . -benchtime 1x
//
// BenchmarkPortCreate creates ports through the HTTP API (admin, 32 clients
// at once, loopback) on one /16 subnet of a SQLite database and reports
// ports/s. BenchmarkListPorts lists 10,000 ports and reports the server time
// of one GET /v2.0/ports (the handler's time, without the network) in ms.

// network16 makes a network with a /16 subnet and an unlimited port quota.
func (c *cloud) network16(t testing.TB) (string, string) {
	c.ok(c.do("PUT", "/v2.0/quotas/admin-p", "admin", map[string]any{"quota": map[string]any{"port": -1}}), 200, "quota")
	net := c.ok(c.do("POST", "/v2.0/networks", "admin", map[string]any{"network": map[string]any{"name": "bench"}}), 201, "network")
	sub := c.ok(c.do("POST", "/v2.0/subnets", "admin", map[string]any{"subnet": map[string]any{
		"network_id": net["id"], "ip_version": 4, "cidr": "10.64.0.0/16"}}), 201, "subnet")
	return net["id"].(string), sub["id"].(string)
}

// bulkPorts creates n ports in bulk requests of 500.
func (c *cloud) bulkPorts(netID string, n int) error {
	for done := 0; done < n; done += 500 {
		var items []string
		for i := done; i < min(done+500, n); i++ {
			items = append(items, `{"network_id": "`+netID+`", "name": "p`+fmt.Sprint(i)+`"}`)
		}
		r := c.do("POST", "/v2.0/ports", "admin", `{"ports": [`+strings.Join(items, ",")+`]}`)
		if r.status != 201 {
			return fmt.Errorf("bulk create: %d %s", r.status, r.raw)
		}
	}
	return nil
}

func BenchmarkPortCreate(b *testing.B) {
	c := newCloud(b, nil)
	netID, _ := c.network16(b)
	const clients, perClient = 32, 100
	body := `{"port": {"network_id": "` + netID + `"}}`
	var created, failures atomic.Int64
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perClient; j++ {
				req, _ := http.NewRequest("POST", c.srv.URL+"/v2.0/ports", strings.NewReader(body))
				req.Header.Set("X-Auth-Token", "admin")
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				res.Body.Close()
				if res.StatusCode != 201 {
					failures.Add(1)
					continue
				}
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if failures.Load() > 0 {
		b.Fatalf("%d port creations failed", failures.Load())
	}
	rate := float64(created.Load()) / el.Seconds()
	b.ReportMetric(rate, "ports/s")
	fmt.Printf("port create: %d ports by %d clients on a /16 in %v: %.0f ports/s\n", created.Load(), clients, el.Round(time.Millisecond), rate)
}

func BenchmarkListPorts(b *testing.B) {
	c := newCloud(b, nil)
	netID, _ := c.network16(b)
	const n = 10000
	if err := c.bulkPorts(netID, n); err != nil {
		b.Fatal(err)
	}
	var best time.Duration
	var size int
	for i := 0; i < 5; i++ {
		req := httptest.NewRequest("GET", "/v2.0/ports", nil)
		req.Header.Set("X-Auth-Token", "admin")
		w := httptest.NewRecorder()
		t0 := time.Now()
		c.svc.ServeHTTP(w, req)
		el := time.Since(t0)
		if w.Code != 200 {
			b.Fatalf("list: %d", w.Code)
		}
		if i == 0 || el < best {
			best = el
		}
		size = w.Body.Len()
	}
	if got := strings.Count(c.do("GET", "/v2.0/ports?fields=id", "admin", nil).raw, `"id"`); got != n {
		b.Fatalf("listed %d ports, want %d", got, n)
	}
	b.ReportMetric(float64(best.Microseconds())/1000, "ms")
	fmt.Printf("list ports: %d ports (%d KiB) in %v server time (best of 5)\n", n, size/1024, best.Round(100*time.Microsecond))
}

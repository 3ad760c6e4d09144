package identity

import (
	"context"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/service"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// BenchmarkValidateTokenHTTP measures GET /v3/auth/tokens over HTTP at
// concurrency 32, the load generator in the same process (as the issue's
// target counts it): it reports validations per second and the 99th
// percentile latency.
//
//	go test -run '^$' -bench ValidateTokenHTTP -benchtime 10s ./internal/identity/
func BenchmarkValidateTokenHTTP(b *testing.B) {
	c := newBenchCloud(b)
	admin := c.login("admin", adminPW, `,"scope":{"project":{"name":"admin","domain":{"id":"default"}}}`)
	subject := c.login("demo", demoPW, ``)
	const conc = 32
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	url := c.srv.URL + "/v3/auth/tokens"
	do := func() (time.Duration, error) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Auth-Token", admin)
		req.Header.Set("X-Subject-Token", subject)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(t0), nil
	}
	do() // warm the caches
	b.ResetTimer()
	var next atomic.Int64
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				d, err := do()
				if err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], d)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "validations/s")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkValidator is the in-process validation path other services use.
func BenchmarkValidator(b *testing.B) {
	c := newBenchCloud(b)
	tok := c.login("demo", demoPW, ``)
	v := c.svc.Validator()
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func newBenchCloud(b *testing.B) *testCloud {
	b.Helper()
	db := storetest.Open(b, pstore.SQLite)
	c := newCloud(b, db, testConfig())
	_ = service.Deps{}
	return c
}

// BenchmarkPasswordTokenIssue measures POST /v3/auth/tokens with password
// auth at Keystone's bcrypt cost 12, against what bcrypt alone allows on the
// same cores: it reports tokens/s, bcrypt checks/s at GOMAXPROCS-way
// parallelism, and their ratio (the issue asks for at least 0.9).
//
//	go test -run '^$' -bench PasswordTokenIssue -benchtime 20x ./internal/identity/
func BenchmarkPasswordTokenIssue(b *testing.B) {
	cfg := testConfig()
	cfg.Identity.PasswordHashRounds = 12
	db := storetest.Open(b, pstore.SQLite)
	c := newCloud(b, db, cfg)
	hash := func() string {
		ps, err := c.svc.st.Passwords(context.Background(), mustUser(b, c, "demo"), 1)
		if err != nil || len(ps) == 0 {
			b.Fatal(err)
		}
		return ps[0].Hash
	}()
	workers := 2 * runtimeProcs()
	run := func(n int, f func()) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		t0 := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					f()
				}
			}()
		}
		wg.Wait()
		return time.Since(t0)
	}
	body := passwordAuth("demo", demoPW, "")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	b.ResetTimer()
	tokTime := run(b.N, func() {
		req, _ := http.NewRequest("POST", c.srv.URL+"/v3/auth/tokens?nocatalog", stringsReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Errorf("status %d", resp.StatusCode)
		}
	})
	b.StopTimer()
	bcryptTime := run(b.N, func() { checkPasswordForBench(demoPW, hash) })
	tps := float64(b.N) / tokTime.Seconds()
	bps := float64(b.N) / bcryptTime.Seconds()
	b.ReportMetric(tps, "tokens/s")
	b.ReportMetric(bps, "bcrypt/s")
	b.ReportMetric(tps/bps, "ratio")
}

// BenchmarkTokenMethodIssue measures POST /v3/auth/tokens with the token
// method (no password check), project-scoped with the catalog, over HTTP at
// concurrency 8: tenku's own issue path, the ceiling of any login (the
// figure tools/bench ldap prints as token-method token issue). It reports
// tokens/s and the CPU this process spent per token, client included.
//
//	go test -run '^$' -bench TokenMethodIssue -benchtime 5s ./internal/identity/
func BenchmarkTokenMethodIssue(b *testing.B) {
	c := newBenchCloud(b)
	admin := c.login("admin", adminPW, `,"scope":{"project":{"name":"admin","domain":{"id":"default"}}}`)
	body := `{"auth":{"identity":{"methods":["token"],"token":{"id":"` + admin + `"}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`
	const conc = 8
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	issue := func() {
		req, _ := http.NewRequest("POST", c.srv.URL+"/v3/auth/tokens", stringsReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Errorf("status %d", resp.StatusCode)
		}
	}
	for i := 0; i < 2*conc; i++ {
		issue()
	}
	cpu0 := processCPU()
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				issue()
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "tokens/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/token")
}

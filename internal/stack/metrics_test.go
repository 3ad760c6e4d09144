package stack_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// sample is one line of Prometheus's text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads a /metrics page and parses its samples.
func scrape(t *testing.T, addr string) []sample {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out []sample
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			s.name = line[:i]
			for _, kv := range splitLabels(line[i+1 : j]) {
				k, v, _ := strings.Cut(kv, "=")
				s.labels[k], _ = strconv.Unquote(v)
			}
			rest = strings.TrimSpace(line[j+1:])
		} else {
			s.name, rest, _ = strings.Cut(line, " ")
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			t.Fatalf("bad sample line %q", line)
		}
		s.value, err = strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("bad sample line %q: %v", line, err)
		}
		out = append(out, s)
	}
	return out
}

// splitLabels splits `a="x",b="y,z"` at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	inq, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inq = !inq
		case ',':
			if !inq {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// find sums the samples of a series whose labels include want.
func find(samples []sample, name string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		sum += s.value
		found = true
	}
	return sum, found
}

// TestMetrics scrapes a cloud's /metrics after API requests and a server
// boot: requests are counted under their route templates (never a raw id),
// with status and latency; bus calls, scheduler decisions, build phases,
// agent heartbeats and database pools have their series.
func TestMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cloud")
	}
	ip := testkit.FreeLoopback(t)
	c := testkit.StartWith(t, testkit.Options{
		Services: []string{"keystone", "glance", "nova", "nova-compute"},
		Tweak: func(o *stack.Options) {
			o.HostIP = ip
			o.MetricsListen = ip + ":0"
		},
	})
	if c.MetricsAddr == "" {
		t.Fatal("no metrics listener")
	}
	ctx := context.Background()
	img := c.Client(t, "admin", "admin", "image")
	pub := images.ImageVisibilityPublic
	im, err := images.Create(ctx, img, images.CreateOpts{Name: "m", DiskFormat: "raw", ContainerFormat: "bare", Visibility: &pub}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := imagedata.Upload(ctx, img, im.ID, bytes.NewReader(make([]byte, 4096))).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := images.Get(ctx, img, im.ID).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	missing := "5d8b5d4c-0000-4000-8000-000000000000"
	if _, err := images.Get(ctx, img, missing).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("missing image: %v", err)
	}
	if resp, err := http.Get(c.URLs["glance"] + "/v2/no-such-collection"); err == nil {
		resp.Body.Close()
	}

	nova := c.Client(t, "demo", "demo", "compute")
	nova.Microversion = "2.93"
	s, err := servers.Create(ctx, nova, servers.CreateOpts{Name: "m1", ImageRef: im.ID, FlavorRef: "1", Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		got, err := servers.Get(ctx, nova, s.ID).Extract()
		return err == nil && (got.Status == "ACTIVE" || got.Status == "ERROR")
	}, "server to build")

	// The agent records the build once it has saved ACTIVE.
	testkit.Eventually(t, 10*time.Second, func() bool {
		return c.Metrics.Sum("tenku_builds_total", map[string]string{"phase": "build"}) >= 1
	}, "the build to be recorded")
	got := scrape(t, c.MetricsAddr)
	checks := []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"tenku_api_requests_total", map[string]string{"service": "glance", "method": "GET", "route": "/v2/images/{image_id}", "status": "200"}, 3},
		{"tenku_api_requests_total", map[string]string{"service": "glance", "method": "GET", "route": "/v2/images/{image_id}", "status": "404"}, 1},
		{"tenku_api_requests_total", map[string]string{"service": "glance", "route": "unmatched", "status": "404"}, 1},
		{"tenku_api_requests_total", map[string]string{"service": "keystone", "method": "POST", "route": "/v3/auth/tokens", "status": "201"}, 1},
		{"tenku_api_requests_total", map[string]string{"service": "nova", "method": "POST", "route": "/v2.1/servers", "status": "202"}, 1},
		{"tenku_api_request_duration_seconds_count", map[string]string{"service": "glance", "method": "GET", "route": "/v2/images/{image_id}"}, 4},
		{"tenku_bus_calls_total", map[string]string{"topic": "compute", "outcome": "ok"}, 1},
		{"tenku_bus_call_duration_seconds_count", map[string]string{"topic": "compute"}, 1},
		{"tenku_bus_handled_total", map[string]string{"topic": "compute"}, 1},
		{"tenku_bus_handled_total", map[string]string{"topic": "compute", "method": "select_destinations", "outcome": "ok"}, 1},
		{"tenku_scheduler_decisions_total", map[string]string{"outcome": "selected"}, 1},
		{"tenku_scheduler_decision_duration_seconds_count", nil, 1},
		{"tenku_builds_total", map[string]string{"phase": "networking", "outcome": "ok"}, 1},
		{"tenku_builds_total", map[string]string{"phase": "spawning", "outcome": "ok"}, 1},
		{"tenku_builds_total", map[string]string{"phase": "build", "outcome": "ok"}, 1},
		{"tenku_build_phase_duration_seconds_count", map[string]string{"phase": "block_device_mapping"}, 1},
		{"tenku_agent_heartbeats_total", map[string]string{"binary": "nova-compute", "outcome": "ok"}, 1},
		{"go_sql_max_open_connections", map[string]string{"db_name": "nova"}, 1},
		{"go_sql_open_connections", map[string]string{"db_name": "glance"}, 0},
	}
	for _, ck := range checks {
		v, ok := find(got, ck.name, ck.labels)
		if !ok || v < ck.min {
			t.Errorf("%s%v = %v (found %v), want >= %v", ck.name, ck.labels, v, ok, ck.min)
		}
	}
	for _, s := range got {
		for _, v := range s.labels {
			if strings.Contains(v, im.ID) || strings.Contains(v, missing) {
				t.Errorf("a raw id is a label value: %s%v", s.name, s.labels)
			}
		}
	}
	if t.Failed() {
		for _, s := range got {
			if strings.HasPrefix(s.name, "tenku_") {
				t.Log(s.name, s.labels, s.value)
			}
		}
	}
}

package network_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/network"
	"github.com/tenku-cloud/tenku/internal/network/agent"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/fake"
	"github.com/tenku-cloud/tenku/internal/network/notify"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// tokens are the callers of the tests: "admin" (admin of admin-p), "demo"
// and "alt" (members of their projects).
var tokens = authn.ValidatorFunc(func(ctx context.Context, tok string) (*authn.Context, error) {
	switch tok {
	case "admin":
		return &authn.Context{UserID: "u-admin", ProjectID: "admin-p", Roles: []string{"admin", "member", "reader"}}, nil
	case "demo":
		return &authn.Context{UserID: "u-demo", ProjectID: "demo-p", Roles: []string{"member", "reader"}}, nil
	case "alt":
		return &authn.Context{UserID: "u-alt", ProjectID: "alt-p", Roles: []string{"member", "reader"}}, nil
	}
	return nil, fault.Unauthorized("The request you have made requires authentication.")
})

type cloud struct {
	t    testing.TB
	svc  *network.Service
	srv  *httptest.Server
	bus  *bus.Bus
	db   *pstore.DB
	nova *notify.Recorder
	cfg  network.Config
}

func newCloud(t testing.TB, db *pstore.DB) *cloud {
	t.Helper()
	ctx := context.Background()
	if db == nil {
		db = storetest.Open(t, pstore.SQLite)
	}
	if _, err := db.Migrate(ctx, network.Migrations); err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(ctx, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg := network.DefaultConfig()
	cfg.Agent.ReportInterval = 200 * time.Millisecond
	cfg.Default.AgentDownTime = 5 * time.Second
	rec := &notify.Recorder{}
	svc, err := network.NewWith(cfg, service.Deps{DB: db, Bus: b, Auth: tokens, Host: "ctl"}, network.Options{Nova: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Shutdown(context.Background()) })
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return &cloud{t: t, svc: svc, srv: srv, bus: b, db: db, nova: rec, cfg: cfg}
}

func (c *cloud) agent(host string, d *fake.Driver) *agent.Agent {
	c.t.Helper()
	a, err := network.NewAgent(c.cfg, service.Deps{Bus: c.bus, Host: host}, d)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { a.Shutdown(context.Background()) })
	return a
}

type resp struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

func (c *cloud) do(method, path, token string, body any, hdr ...string) resp {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = bytes.NewBufferString(s)
		} else {
			buf, _ := json.Marshal(body)
			rd = bytes.NewReader(buf)
		}
	}
	req, _ := http.NewRequest(method, c.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, raw: string(raw), header: res.Header}
	json.Unmarshal(raw, &out.body)
	return out
}

// ok fails the test unless the status is want, and returns the object under key.
func (c *cloud) ok(r resp, want int, key string) map[string]any {
	c.t.Helper()
	if r.status != want {
		c.t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
	}
	if key == "" {
		return r.body
	}
	m, _ := r.body[key].(map[string]any)
	if m == nil {
		c.t.Fatalf("no %q in %s", key, r.raw)
	}
	return m
}

func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

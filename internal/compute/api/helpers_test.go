package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/compute/api"
	"github.com/tenku-cloud/tenku/internal/compute/clients/fakes"
	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Tokens of the test identities.
const (
	adminToken = "admin-token"
	demoToken  = "demo-token"
	altToken   = "alt-token"
	readerTok  = "reader-token"
)

// Projects and users of the test identities.
const (
	adminProject = "0000000000000000000000000000000a"
	demoProject  = "0000000000000000000000000000000d"
	altProject   = "000000000000000000000000000000a1"
	adminUser    = "u-admin"
	demoUser     = "u-demo"
	altUser      = "u-alt"
)

var identities = map[string]*authn.Context{
	adminToken: {UserID: adminUser, ProjectID: adminProject, Roles: []string{"admin", "member", "reader"}},
	demoToken:  {UserID: demoUser, ProjectID: demoProject, Roles: []string{"member", "reader"}},
	altToken:   {UserID: altUser, ProjectID: altProject, Roles: []string{"member", "reader"}},
	readerTok:  {UserID: "u-reader", ProjectID: demoProject, Roles: []string{"reader"}},
}

func validator() authn.Validator {
	return authn.ValidatorFunc(func(_ context.Context, tok string) (*authn.Context, error) {
		if a, ok := identities[tok]; ok {
			c := *a
			c.Token = tok
			return &c, nil
		}
		return nil, fault.Unauthorized("The request you have made requires authentication.")
	})
}

// env is an API over a SQLite store with fake Glance and Neutron.
type env struct {
	t      *testing.T
	api    *api.API
	store  *cstore.Store
	images *fakes.Images
	net    *fakes.Network
	srv    *httptest.Server
	cfg    conf.Config
}

func newEnv(t *testing.T, bus rpc.Caller, mutate ...func(*conf.Config)) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "nova.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, cstore.Migrations); err != nil {
		t.Fatal(err)
	}
	s := cstore.New(db)
	for _, f := range []objects.Flavor{
		{FlavorID: "1", Name: "m1.tiny", MemoryMB: 512, RootGB: 1, VCPUs: 1, IsPublic: true, RxtxFactor: 1},
		{FlavorID: "2", Name: "m1.small", MemoryMB: 2048, RootGB: 20, VCPUs: 1, IsPublic: true, RxtxFactor: 1},
	} {
		if err := s.CreateFlavor(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	cfg := conf.Default()
	for _, m := range mutate {
		m(&cfg)
	}
	e := &env{t: t, store: s, images: fakes.NewImages(), net: fakes.NewNetwork(), cfg: cfg}
	a, err := api.New(cfg, api.Deps{Store: s, Bus: bus, Images: e.images, Network: e.net, Auth: validator()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	e.srv = httptest.NewServer(a)
	t.Cleanup(e.srv.Close)
	return e
}

// resp is a decoded response.
type resp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func (e *env) do(method, path, token, version string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if version != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+version)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			e.t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
		}
	}
	return out
}

// want fails the test unless the response has the status.
func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	return r
}

// fault returns the fault body's key and message.
func (r resp) fault() (string, string) {
	for k, v := range r.Body {
		if m, ok := v.(map[string]any); ok {
			msg, _ := m["message"].(string)
			return k, msg
		}
	}
	return "", ""
}

// obj digs into a decoded body.
func obj(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// keysOf returns the keys of an object.
func keysOf(v any) map[string]bool {
	out := map[string]bool{}
	if m, ok := v.(map[string]any); ok {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

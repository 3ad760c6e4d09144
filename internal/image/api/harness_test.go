package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/image/store"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// The callers of the tests: a token is the caller's name.
var callers = map[string]*authn.Context{
	"admin":  {UserID: "u-admin", ProjectID: "p-admin", Roles: []string{"admin", "member", "reader"}},
	"demo":   {UserID: "u-demo", ProjectID: "p-demo", Roles: []string{"member", "reader"}},
	"alt":    {UserID: "u-alt", ProjectID: "p-alt", Roles: []string{"member", "reader"}},
	"reader": {UserID: "u-reader", ProjectID: "p-demo", Roles: []string{"reader"}},
	"system": {UserID: "u-sys", System: "all", Roles: []string{"admin", "member", "reader"}},
}

var validator = authn.ValidatorFunc(func(ctx context.Context, tok string) (*authn.Context, error) {
	c, ok := callers[tok]
	if !ok {
		return nil, fault.Unauthorized("The request you have made requires authentication.")
	}
	return c, nil
})

type harness struct {
	t   testing.TB
	api *API
	srv *httptest.Server
	db  *db.DB
}

func testOptions() Options {
	return Options{
		ImageSizeCap: 1 << 40, EnabledImportMethods: []string{"glance-direct"},
		LimitParamDefault: 25, APILimitMax: 1000, ImageMemberQuota: 128, ImagePropertyQuota: 128, ImageTagQuota: 128,
		ContainerFormats:        []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"},
		DiskFormats:             []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"},
		RequireImageFormatMatch: true, EnforceScope: true, EnforceNewDefaults: true, Worker: "test-host",
	}
}

// newHarness serves an API on a fresh SQLite database.
func newHarness(t testing.TB, tweak func(*Options)) *harness {
	return newHarnessOn(t, storetest.Open(t, pstore.SQLite), tweak)
}

func newHarnessOn(t testing.TB, s *pstore.DB, tweak func(*Options)) *harness {
	t.Helper()
	if _, err := s.Migrate(context.Background(), db.Migrations); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := store.New(dir + "/images")
	if err != nil {
		t.Fatal(err)
	}
	staging, err := store.New(dir + "/staging")
	if err != nil {
		t.Fatal(err)
	}
	opt := testOptions()
	opt.DB, opt.Store, opt.Staging, opt.Auth = db.New(s), data, staging, validator
	if tweak != nil {
		tweak(&opt)
	}
	a, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, api: a, db: opt.DB}
	h.srv = httptest.NewServer(a)
	t.Cleanup(func() {
		h.srv.Close()
		a.Close(context.Background())
	})
	return h
}

// reply is an HTTP response read whole.
type reply struct {
	*http.Response
	body []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%d %s: %v", r.StatusCode, r.body, err)
	}
	return m
}

// do sends a request; body is JSON-encoded unless it is a string or
// []byte or an io.Reader; hdr are header name/value pairs.
func (h *harness) do(method, path, token string, body any, hdr ...string) reply {
	h.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
		ctype = "application/octet-stream"
	case io.Reader:
		rd = b
		ctype = "application/octet-stream"
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp, b}
}

// must is do that requires a status.
func (h *harness) must(status int, method, path, token string, body any, hdr ...string) reply {
	h.t.Helper()
	r := h.do(method, path, token, body, hdr...)
	if r.StatusCode != status {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.StatusCode, status, r.body)
	}
	return r
}

// create registers an image and returns its id.
func (h *harness) create(token string, body map[string]any) string {
	h.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	if _, ok := body["disk_format"]; !ok {
		body["disk_format"] = "raw"
	}
	if _, ok := body["container_format"]; !ok {
		body["container_format"] = "bare"
	}
	r := h.must(201, "POST", "/v2/images", token, body)
	return r.json(h.t)["id"].(string)
}

// client returns a gophercloud image client for a caller.
func (h *harness) client(token string) *gophercloud.ServiceClient {
	p := &gophercloud.ProviderClient{HTTPClient: *http.DefaultClient}
	p.SetToken(token)
	return &gophercloud.ServiceClient{ProviderClient: p, Endpoint: h.srv.URL + "/v2/", ResourceBase: h.srv.URL + "/v2/", Type: "image"}
}

func osReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out, err
}

type dbImage = db.Image

package metadata

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type memSource struct {
	mu    sync.Mutex
	insts map[string]*Instance
	pw    map[string]string
}

func (m *memSource) Instance(_ context.Context, uuid string) (*Instance, error) {
	if in, ok := m.insts[uuid]; ok {
		return in, nil
	}
	return nil, ErrNotFound
}

func (m *memSource) Password(_ context.Context, uuid string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pw[uuid], nil
}

func (m *memSource) SetPassword(_ context.Context, uuid, pw string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pw[uuid] != "" {
		return ErrPasswordSet
	}
	m.pw[uuid] = pw
	return nil
}

func sign(secret, id string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id))
	return hex.EncodeToString(mac.Sum(nil))
}

func newServer(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMetadataServer(t *testing.T) {
	in := testInstance()
	src := &memSource{insts: map[string]*Instance{in.UUID: in}, pw: map[string]string{}}
	srv := httptest.NewServer(newServer(t, ServerConfig{SharedSecret: "s3cret", Source: src}))
	defer srv.Close()
	req := func(method, path, id, tenant, sig, body string) (int, string) {
		t.Helper()
		r, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if id != "" {
			r.Header.Set("X-Instance-ID", id)
			r.Header.Set("X-Tenant-ID", tenant)
			r.Header.Set("X-Instance-ID-Signature", sig)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	good := sign("s3cret", in.UUID)
	get := func(path string) (int, string) { return req("GET", path, in.UUID, "p1", good, "") }

	if code, body := req("GET", "/", "", "", "", ""); code != 200 || !strings.HasSuffix(body, "2009-04-04\nlatest") {
		t.Fatalf("root: %d %q", code, body)
	}
	for _, c := range []struct {
		id, tenant, sig string
		code            int
	}{
		{"", "", "", 400},
		{in.UUID, "p1", sign("wrong", in.UUID), 403},
		{in.UUID, "p2", good, 404},
		{"nosuch", "p1", sign("s3cret", "nosuch"), 404},
	} {
		if code, _ := req("GET", "/openstack/latest/meta_data.json", c.id, c.tenant, c.sig, ""); code != c.code {
			t.Errorf("%+v: %d, want %d", c, code, c.code)
		}
	}
	code, body := get("/openstack/latest/meta_data.json")
	var md map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &md) != nil || md["uuid"] != in.UUID || md["hostname"] != "vm1" {
		t.Fatalf("meta_data.json: %d %s", code, body)
	}
	if code, body := get("/openstack/latest"); code != 200 || !strings.Contains(body, "network_data.json") || !strings.Contains(body, "password") || !strings.Contains(body, "user_data") {
		t.Fatalf("version listing: %d %q", code, body)
	}
	if code, _ := get("/openstack/2012-08-10/network_data.json"); code != 404 {
		t.Fatalf("network_data.json in 2012-08-10: %d", code)
	}
	if code, _ := get("/openstack/1999-01-01/meta_data.json"); code != 404 {
		t.Fatalf("unknown version: %d", code)
	}
	if code, body := get("/openstack/latest/user_data"); code != 200 || body != string(in.UserData) {
		t.Fatalf("user_data: %d %q", code, body)
	}
	// The guest posts its (encrypted) password once.
	if code, _ := req("POST", "/openstack/latest/password", in.UUID, "p1", good, "c2VjcmV0"); code != 200 {
		t.Fatalf("post password: %d", code)
	}
	if code, _ := req("POST", "/openstack/latest/password", in.UUID, "p1", good, "again"); code != 409 {
		t.Fatalf("second password: %d", code)
	}
	if code, _ := req("POST", "/openstack/latest/password", in.UUID, "p1", good, strings.Repeat("x", MaxPasswordSize+1)); code != 400 && code != 409 {
		t.Fatalf("big password: %d", code)
	}
	// A server with no secret trusts no signature, not even the empty key's.
	open := httptest.NewServer(newServer(t, ServerConfig{Source: src}))
	defer open.Close()
	r, _ := http.NewRequest("GET", open.URL+"/openstack/latest/meta_data.json", nil)
	r.Header.Set("X-Instance-ID", in.UUID)
	r.Header.Set("X-Tenant-ID", "p1")
	r.Header.Set("X-Instance-ID-Signature", sign("", in.UUID))
	if res, err := http.DefaultClient.Do(r); err != nil || res.StatusCode != 403 {
		t.Fatalf("empty-key signature: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if code, body := get("/openstack/latest/password"); code != 200 || body != "c2VjcmV0" {
		t.Fatalf("get password: %d %q", code, body)
	}
	if code, _ := req("POST", "/openstack/latest/meta_data.json", in.UUID, "p1", good, "x"); code != 405 {
		t.Fatalf("post meta_data: %d", code)
	}
	// EC2.
	for path, want := range map[string]string{
		"/latest/meta-data/hostname":                    "vm1",
		"/2009-04-04/meta-data/local-ipv4":              "10.0.0.5",
		"/latest/meta-data/placement/availability-zone": "nova",
		"/latest/meta-data/public-keys/0/openssh-key":   "ssh-ed25519 AAAA k1",
		"/latest/user-data":                             string(in.UserData),
		"/latest/meta-data/block-device-mapping/root":   "/dev/vda",
		"/latest/meta-data/ami-launch-index":            "0",
		"/latest/meta-data/public-keys":                 "0=k1",
	} {
		if code, body := get(path); code != 200 || body != want {
			t.Errorf("%s: %d %q, want %q", path, code, body, want)
		}
	}
	if code, body := get("/latest/meta-data/"); code != 200 || !strings.Contains(body, "placement/") || !strings.Contains(body, "instance-id") {
		t.Fatalf("meta-data listing: %d %q", code, body)
	}
	if code, _ := get("/latest/meta-data/nosuch"); code != 404 {
		t.Fatalf("unknown key: %d", code)
	}
}

type panicSource struct{ *memSource }

func (panicSource) Instance(context.Context, string) (*Instance, error) { panic("source broke") }

// The shared router serves the metadata API: a request id on every answer,
// errors in webob's plain text, and a panic below a handler answered as a
// 500 in that format instead of a dropped connection.
func TestMetadataServerOnTheRouter(t *testing.T) {
	srv := httptest.NewServer(newServer(t, ServerConfig{SharedSecret: "s3cret", Source: panicSource{&memSource{}}}))
	defer srv.Close()
	r, _ := http.NewRequest("GET", srv.URL+"/openstack/latest/meta_data.json", nil)
	r.Header.Set("X-Instance-ID", "i1")
	r.Header.Set("X-Tenant-ID", "p1")
	r.Header.Set("X-Instance-ID-Signature", sign("s3cret", "i1"))
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || !strings.HasPrefix(string(b), "500 Internal Server Error\n\n") || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("panicking source: %d %q %s", res.StatusCode, b, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("X-Openstack-Request-Id") == "" {
		t.Error("no request id")
	}
	res, err = http.Get(srv.URL + "/latest/meta-data")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || string(b) != "400 Bad Request\n\nX-Instance-ID and X-Tenant-ID header are required.\n\n" {
		t.Errorf("unsigned: %d %q", res.StatusCode, b)
	}
}

// FuzzMetadataRequest sends any method, path and body, signed or not, to
// the metadata API: nothing panics and nothing answers a 5xx.
func FuzzMetadataRequest(f *testing.F) {
	in := testInstance()
	for _, s := range []string{"/", "/openstack/latest/meta_data.json", "/latest/meta-data/public-keys/0/openssh-key",
		"/openstack/latest/password", "/2009-04-04/meta-data/block-device-mapping/", "//openstack//latest/", "/latest/user-data/x"} {
		f.Add("GET", s, "", true)
		f.Add("POST", s, "pw\xff", true)
	}
	f.Fuzz(func(t *testing.T, method, path, body string, signed bool) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#%") || method == "" || strings.ContainsAny(method, " \t\r\n/:") {
			return
		}
		src := &memSource{insts: map[string]*Instance{in.UUID: in}, pw: map[string]string{}}
		s := newServer(t, ServerConfig{SharedSecret: "s3cret", Source: src})
		r, err := http.NewRequest(method, "http://metadata"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		if signed {
			r.Header.Set("X-Instance-ID", in.UUID)
			r.Header.Set("X-Tenant-ID", in.ProjectID)
			r.Header.Set("X-Instance-ID-Signature", sign("s3cret", in.UUID))
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s: %d %q", method, path, w.Code, w.Body.String())
		}
	})
}

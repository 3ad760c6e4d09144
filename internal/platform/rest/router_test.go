package rest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

type denyNonAdmin struct{}

func (denyNonAdmin) Enforce(ctx context.Context, rule string, target map[string]any, a *authn.Context) error {
	if rule == "thing:delete" && !a.IsAdmin() {
		return fault.Forbidden("You are not authorized to perform the requested action: %s.", rule)
	}
	if rule == "thing:owned" && target["project_id"] != a.ProjectID {
		return fault.Forbidden("not yours")
	}
	return nil
}

var tokens = authn.ValidatorFunc(func(ctx context.Context, tok string) (*authn.Context, error) {
	switch tok {
	case "admin":
		return &authn.Context{UserID: "a", ProjectID: "p1", Roles: []string{"admin"}}, nil
	case "member":
		return &authn.Context{UserID: "m", ProjectID: "p2", Roles: []string{"member"}}, nil
	}
	return nil, fault.Unauthorized("The request you have made requires authentication.")
})

const thingSchema = `{"type":"object","properties":{"thing":{"type":"object",
  "properties":{"name":{"type":"string","maxLength":5}},"required":["name"],"additionalProperties":false}},
  "required":["thing"]}`

func testRouter(t *testing.T, opt Options) *Router {
	t.Helper()
	routes := []Route{
		{Method: "GET", Path: "/", Public: true, Handler: func(ctx context.Context, r *Request) (any, error) {
			return map[string]string{"root": "yes"}, nil
		}},
		{Method: "GET", Path: "/v1/things/{id}", Max: V(1, 4), Handler: func(ctx context.Context, r *Request) (any, error) {
			if r.Param("id") == "missing" {
				return nil, fault.NotFound("Thing %s could not be found.", r.Param("id"))
			}
			if r.Param("id") == "boom" {
				panic("boom")
			}
			if r.Param("id") == "err" {
				return nil, errors.New("database on fire")
			}
			return map[string]any{"id": r.Param("id"), "user": r.Auth.UserID, "v": r.Version.String()}, nil
		}},
		{Method: "GET", Path: "/v1/things/{id}", Min: V(1, 5), Handler: func(ctx context.Context, r *Request) (any, error) {
			return map[string]any{"id": r.Param("id"), "new": true}, nil
		}},
		{Method: "POST", Path: "/v1/things", Status: 201, Schema: thingSchema, Handler: func(ctx context.Context, r *Request) (any, error) {
			var body struct {
				Thing struct{ Name string } `json:"thing"`
			}
			if err := r.Decode(&body); err != nil {
				return nil, err
			}
			return body, nil
		}},
		{Method: "DELETE", Path: "/v1/things/{id}", Status: 204, Policy: "thing:delete", Handler: func(ctx context.Context, r *Request) (any, error) {
			return nil, nil
		}},
		{Method: "PUT", Path: "/v1/projects/{project_id}/things", Policy: "thing:owned", Handler: func(ctx context.Context, r *Request) (any, error) {
			return &Response{Status: 202, Header: http.Header{"Location": {"/x"}}, Body: []byte(`{"ok":1}`)}, nil
		}},
		{Method: "GET", Path: "/v1/files/{path...}", Handler: func(ctx context.Context, r *Request) (any, error) {
			return &Response{Body: strings.NewReader("file:" + r.Param("path")), ContentType: "text/plain"}, nil
		}},
	}
	opt.Auth = tokens
	opt.Enforcer = denyNonAdmin{}
	opt.AuthURL = "http://keystone/v3"
	rt, err := NewRouter(opt, routes)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(rt http.Handler, method, path, token, body string, hdr ...string) result {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, req)
	res := result{status: w.Code, header: w.Header(), raw: w.Body.String()}
	json.Unmarshal(w.Body.Bytes(), &res.body)
	return res
}

func TestRouterBasics(t *testing.T) {
	rt := testRouter(t, Options{Service: "test", RequestIDHeaders: []string{"X-Compute-Request-Id"}})
	cases := []struct {
		name, method, path, token, body string
		status                          int
		errKey                          string
	}{
		{"public root", "GET", "/", "", "", 200, ""},
		{"no token", "GET", "/v1/things/1", "", "", 401, "error"},
		{"bad token", "GET", "/v1/things/1", "garbage", "", 401, "error"},
		{"ok", "GET", "/v1/things/1", "member", "", 200, ""},
		{"trailing slash", "GET", "/v1/things/1/", "member", "", 200, ""},
		{"head falls back to get", "HEAD", "/v1/things/1", "member", "", 200, ""},
		{"not found fault", "GET", "/v1/things/missing", "member", "", 404, "error"},
		{"unknown path", "GET", "/v1/nothing", "member", "", 404, "error"},
		{"method not allowed", "PATCH", "/v1/things/1", "member", "", 405, "error"},
		{"panic is a readable 500", "GET", "/v1/things/boom", "member", "", 500, "error"},
		{"plain error is a 500", "GET", "/v1/things/err", "member", "", 500, "error"},
		{"create", "POST", "/v1/things", "member", `{"thing":{"name":"ab"}}`, 201, ""},
		{"schema: too long", "POST", "/v1/things", "member", `{"thing":{"name":"abcdefgh"}}`, 400, "error"},
		{"schema: extra field", "POST", "/v1/things", "member", `{"thing":{"name":"a","x":1}}`, 400, "error"},
		{"schema: wrong type", "POST", "/v1/things", "member", `{"thing":{"name":5}}`, 400, "error"},
		{"malformed json", "POST", "/v1/things", "member", `{"thing":`, 400, "error"},
		{"empty body", "POST", "/v1/things", "member", ``, 400, "error"},
		{"policy denies", "DELETE", "/v1/things/1", "member", "", 403, "error"},
		{"policy allows", "DELETE", "/v1/things/1", "admin", "", 204, ""},
		{"policy target from path", "PUT", "/v1/projects/p2/things", "member", "", 202, ""},
		{"policy target from path, other project", "PUT", "/v1/projects/p1/things", "member", "", 403, "error"},
		{"rest of path", "GET", "/v1/files/a/b/c", "member", "", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := do(rt, c.method, c.path, c.token, c.body)
			if res.status != c.status {
				t.Fatalf("status %d, want %d: %s", res.status, c.status, res.raw)
			}
			if id := res.header.Get("X-Openstack-Request-Id"); !strings.HasPrefix(id, "req-") || res.header.Get("X-Compute-Request-Id") != id {
				t.Errorf("request id headers: %v", res.header)
			}
			if c.errKey != "" {
				e, ok := res.body[c.errKey].(map[string]any)
				if !ok || e["code"] != float64(c.status) || e["message"] == "" || e["title"] == nil {
					t.Errorf("error body %s", res.raw)
				}
			}
			if c.status == 401 && res.header.Get("WWW-Authenticate") != `Keystone uri="http://keystone/v3"` {
				t.Errorf("WWW-Authenticate = %q", res.header.Get("WWW-Authenticate"))
			}
		})
	}
	opt404 := Options{UnknownMethodNotFound: true, TrailingSlashNotFound: true}
	if res := do(testRouter(t, opt404), "GET", "/v1/things/1/", "member", ""); res.status != 404 {
		t.Errorf("TrailingSlashNotFound: GET /v1/things/1/ answered %d: %s", res.status, res.raw)
	}
	if res := do(testRouter(t, opt404), "GET", "/v1/things/1", "member", ""); res.status != 200 {
		t.Errorf("TrailingSlashNotFound: GET /v1/things/1 answered %d: %s", res.status, res.raw)
	}
	if res := do(testRouter(t, opt404), "PATCH", "/v1/things/1", "member", ""); res.status != 404 {
		t.Errorf("UnknownMethodNotFound: PATCH answered %d: %s", res.status, res.raw)
	}
	if res := do(rt, "PATCH", "/v1/things/1", "member", ""); res.header.Get("Allow") != "DELETE, GET" {
		t.Errorf("Allow = %q", res.header.Get("Allow"))
	}
	if res := do(rt, "GET", "/v1/things/err", "member", ""); strings.Contains(res.raw, "fire") {
		t.Errorf("a 500 leaked its cause: %s", res.raw)
	}
	if res := do(rt, "GET", "/v1/files/a/b", "member", ""); res.raw != "file:a/b" || res.header.Get("Content-Type") != "text/plain" {
		t.Errorf("stream: %q %v", res.raw, res.header)
	}
	if res := do(rt, "PUT", "/v1/projects/p2/things", "member", ""); res.header.Get("Location") != "/x" || res.raw != `{"ok":1}` {
		t.Errorf("Response: %v %q", res.header, res.raw)
	}
}

func TestRouterBodyLimitAndContentType(t *testing.T) {
	rt := testRouter(t, Options{MaxBody: 64})
	big := `{"thing":{"name":"` + strings.Repeat("a", 100) + `"}}`
	if res := do(rt, "POST", "/v1/things", "member", big); res.status != 413 {
		t.Fatalf("oversized body: %d %s", res.status, res.raw)
	}
	// Without a Content-Length the limit must still hold.
	req := httptest.NewRequest("POST", "/v1/things", io.NopCloser(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("X-Auth-Token", "member")
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, req)
	if w.Code != 413 {
		t.Fatalf("chunked oversized body: %d", w.Code)
	}
	if res := do(rt, "POST", "/v1/things", "member", `{"thing":{"name":"a"}}`, "Content-Type", "text/plain"); res.status != 415 {
		t.Fatalf("text/plain body: %d", res.status)
	}
	if res := do(rt, "POST", "/v1/things", "member", `{"thing":{"name":"a"}}`, "Content-Type", "application/json; charset=UTF-8"); res.status != 201 {
		t.Fatalf("json with charset: %d %s", res.status, res.raw)
	}
}

func TestRouterMicroversions(t *testing.T) {
	rt := testRouter(t, Options{
		Errors:       ComputeErrors("computeFault"),
		Microversion: &Microversion{ServiceType: "compute", Legacy: "X-OpenStack-Nova-API-Version", Min: V(1, 1), Max: V(1, 9)},
	})
	cases := []struct {
		hdr, val string
		status   int
		version  string
		isNew    bool
	}{
		{"", "", 200, "1.1", false},
		{"OpenStack-API-Version", "compute 1.4", 200, "1.4", false},
		{"OpenStack-API-Version", "compute 1.5", 200, "1.5", true},
		{"OpenStack-API-Version", "volume 1.7", 200, "1.1", false},
		{"OpenStack-API-Version", "compute latest", 200, "1.9", true},
		{"X-OpenStack-Nova-API-Version", "1.6", 200, "1.6", true},
		{"OpenStack-API-Version", "compute 1.10", 406, "", false},
		{"OpenStack-API-Version", "compute 0.9", 406, "", false},
		{"OpenStack-API-Version", "compute 1.x", 400, "", false},
	}
	for _, c := range cases {
		var hdr []string
		if c.hdr != "" {
			hdr = []string{c.hdr, c.val}
		}
		res := do(rt, "GET", "/v1/things/7", "member", "", hdr...)
		if res.status != c.status {
			t.Errorf("%s %s: status %d, want %d: %s", c.hdr, c.val, res.status, c.status, res.raw)
			continue
		}
		if c.status != 200 {
			key := map[int]string{406: "notAcceptable", 400: "badRequest"}[c.status]
			if _, ok := res.body[key]; !ok {
				t.Errorf("%s: fault body %s lacks %s", c.val, res.raw, key)
			}
			continue
		}
		if got := res.header.Get("OpenStack-API-Version"); got != "compute "+c.version {
			t.Errorf("%s: OpenStack-API-Version %q, want compute %s", c.val, got, c.version)
		}
		if res.header.Get("X-OpenStack-Nova-API-Version") != c.version || !strings.Contains(res.header.Get("Vary"), "OpenStack-API-Version") {
			t.Errorf("%s: legacy/vary headers %v", c.val, res.header)
		}
		if (res.body["new"] == true) != c.isNew {
			t.Errorf("%s: served by the wrong version's route: %s", c.val, res.raw)
		}
	}
	if res := do(rt, "GET", "/v1/things/missing", "member", ""); res.body["itemNotFound"] == nil {
		t.Errorf("compute 404 body: %s", res.raw)
	}
	// 401s keep keystonemiddleware's format whatever the service's own format is.
	if res := do(rt, "GET", "/v1/things/1", "", ""); res.body["error"] == nil {
		t.Errorf("compute 401 body: %s", res.raw)
	}
}

func TestRouterRejectsBadTables(t *testing.T) {
	h := func(ctx context.Context, r *Request) (any, error) { return nil, nil }
	bad := [][]Route{
		{{Method: "GET", Path: "/a", Handler: h}, {Method: "GET", Path: "/a", Handler: h}},
		{{Method: "GET", Path: "/a/{x}", Handler: h}, {Method: "PUT", Path: "/a/{y}", Handler: h}},
		{{Method: "GET", Path: "a", Handler: h}},
		{{Method: "GET", Path: "/a"}},
		{{Method: "POST", Path: "/a", Handler: h, Schema: `{"type":`}},
		{{Method: "GET", Path: "/a", Handler: h, Min: V(2, 1), Max: V(2, 5)}, {Method: "GET", Path: "/a", Handler: h, Min: V(2, 5)}},
	}
	for i, table := range bad {
		if _, err := NewRouter(Options{}, table); err == nil {
			t.Errorf("table %d: want an error", i)
		}
	}
}

func TestPaging(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	mk := func(q string) *Request {
		return &Request{HTTP: httptest.NewRequest("GET", "http://x/v2/images?"+q, nil)}
	}
	p, err := mk("limit=2&marker=b&name=x").Page(25, 100)
	if err != nil || p.Limit != 2 || p.Marker != "b" {
		t.Fatalf("Page = %+v %v", p, err)
	}
	page, more, err := PageOf(items, p, id)
	if err != nil || strings.Join(page, "") != "cd" || !more {
		t.Fatalf("PageOf = %v %v %v", page, more, err)
	}
	if _, _, err := PageOf(items, Page{Marker: "zz"}, id); !fault.Is(err, 400) {
		t.Fatalf("unknown marker: %v", err)
	}
	if p, _ := mk("limit=1000").Page(25, 100); p.Limit != 100 {
		t.Fatalf("limit cap: %d", p.Limit)
	}
	for _, q := range []string{"limit=-1", "limit=x"} {
		if _, err := mk(q).Page(25, 100); !fault.Is(err, 400) {
			t.Errorf("%s: %v", q, err)
		}
	}
	next := mk("limit=2&name=x").NextURL("http://x", "d")
	if next != "http://x/v2/images?limit=2&marker=d&name=x" {
		t.Fatalf("NextURL = %s", next)
	}
}

func TestParseVersion(t *testing.T) {
	for _, bad := range []string{"", "2", "2.", ".1", "a.b", "2.-1", "+2.1"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	v, err := ParseVersion(" 2.93 ")
	if err != nil || v != V(2, 93) || !V(2, 10).Less(V(2, 93)) || V(3, 0).Less(V(2, 93)) {
		t.Fatal("ParseVersion/Less")
	}
}

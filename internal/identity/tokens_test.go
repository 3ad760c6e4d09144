package identity

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	wire "github.com/tenku-cloud/tenku/api/identity"
)

// call makes a raw request and decodes the JSON answer.
func (c *testCloud) call(method, path, token, body string, hdr ...string) (int, http.Header, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func passwordAuth(user, pw, scope string) string {
	return `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"` + user + `","domain":{"id":"default"},"password":"` + pw + `"}}}` + scope + `}}`
}

// login returns a token.
func (c *testCloud) login(user, pw, scope string) string {
	c.t.Helper()
	st, h, body := c.call("POST", "/v3/auth/tokens", "", passwordAuth(user, pw, scope))
	if st != 201 {
		c.t.Fatalf("login %s: %d %v", user, st, body)
	}
	return h.Get("X-Subject-Token")
}

func TestTokenScopes(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	cases := []struct {
		name   string
		user   string
		pw     string
		scope  string
		status int
		check  func(t *testing.T, tok map[string]any)
	}{
		{"project by name", "admin", adminPW, `,"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}`, 201, func(t *testing.T, tok map[string]any) {
			p := tok["project"].(map[string]any)
			if p["name"] != "admin" || tok["is_domain"] != false || tok["catalog"] == nil {
				t.Errorf("project token: %v", tok)
			}
			names := roleNames(tok)
			if !strings.Contains(names, "admin") || !strings.Contains(names, "member") || !strings.Contains(names, "reader") {
				t.Errorf("implied roles missing: %s", names)
			}
		}},
		{"domain", "admin", adminPW, `,"scope":{"domain":{"id":"default"}}`, 401, nil},
		{"system", "admin", adminPW, `,"scope":{"system":{"all":true}}`, 201, func(t *testing.T, tok map[string]any) {
			if sys, _ := tok["system"].(map[string]any); sys["all"] != true {
				t.Errorf("system token: %v", tok)
			}
		}},
		{"unscoped explicitly", "admin", adminPW, `,"scope":"unscoped"`, 201, func(t *testing.T, tok map[string]any) {
			if tok["project"] != nil || tok["catalog"] != nil || tok["roles"] != nil {
				t.Errorf("unscoped token: %v", tok)
			}
		}},
		{"default project", "demo", demoPW, ``, 201, func(t *testing.T, tok map[string]any) {
			if p, _ := tok["project"].(map[string]any); p["name"] != "demo" {
				t.Errorf("default project scope: %v", tok)
			}
		}},
		{"member has no access to admin project", "demo", demoPW, `,"scope":{"project":{"name":"admin","domain":{"id":"default"}}}`, 401, nil},
		{"wrong password", "admin", "nope", ``, 401, nil},
		{"unknown user", "ghost", "x", ``, 401, nil},
		{"unknown project", "admin", adminPW, `,"scope":{"project":{"id":"nope"}}`, 401, nil},
		{"project name without domain", "admin", adminPW, `,"scope":{"project":{"name":"admin"}}`, 400, nil},
		{"two scopes", "admin", adminPW, `,"scope":{"project":{"id":"x"},"domain":{"id":"default"}}`, 400, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, h, body := c.call("POST", "/v3/auth/tokens", "", passwordAuth(tc.user, tc.pw, tc.scope))
			if st != tc.status {
				t.Fatalf("status %d, want %d: %v", st, tc.status, body)
			}
			if st >= 400 {
				e, _ := body["error"].(map[string]any)
				if e["code"] != float64(st) || e["title"] == "" || e["message"] == "" {
					t.Fatalf("error body: %v", body)
				}
				return
			}
			tok := body["token"].(map[string]any)
			if h.Get("X-Subject-Token") == "" || tok["methods"].([]any)[0] != "password" {
				t.Fatalf("token: %v %v", h, tok)
			}
			if tc.check != nil {
				tc.check(t, tok)
			}
			// GET renders the same document as POST did.
			subject := h.Get("X-Subject-Token")
			admin := c.login("admin", adminPW, `,"scope":{"project":{"name":"admin","domain":{"id":"default"}}}`)
			st2, h2, got := c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", subject)
			if st2 != 200 || h2.Get("X-Subject-Token") != subject {
				t.Fatalf("validate: %d %v", st2, got)
			}
			a, _ := json.Marshal(body)
			b, _ := json.Marshal(got)
			if string(a) != string(b) {
				t.Errorf("GET differs from POST:\n%s\n%s", a, b)
			}
		})
	}
}

func roleNames(tok map[string]any) string {
	var out []string
	roles, _ := tok["roles"].([]any)
	for _, r := range roles {
		out = append(out, r.(map[string]any)["name"].(string))
	}
	return strings.Join(out, ",")
}

func TestValidateCheckRevoke(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	admin := c.login("admin", adminPW, `,"scope":{"project":{"name":"admin","domain":{"id":"default"}}}`)
	demo := c.login("demo", demoPW, ``)
	demo2 := c.login("demo", demoPW, ``)

	if st, _, _ := c.call("HEAD", "/v3/auth/tokens", admin, "", "X-Subject-Token", demo); st != 200 {
		t.Fatalf("check: %d", st)
	}
	// A member may validate its own tokens, not others'.
	if st, _, _ := c.call("GET", "/v3/auth/tokens", demo, "", "X-Subject-Token", demo2); st != 200 {
		t.Fatalf("own token: %d", st)
	}
	if st, _, _ := c.call("GET", "/v3/auth/tokens", demo, "", "X-Subject-Token", admin); st != 403 {
		t.Fatalf("someone else's token: %d", st)
	}
	// nocatalog.
	_, _, body := c.call("GET", "/v3/auth/tokens?nocatalog", admin, "", "X-Subject-Token", demo)
	if tok := body["token"].(map[string]any); tok["catalog"] != nil {
		t.Fatalf("nocatalog: %v", tok)
	}
	_, _, body = c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", demo)
	cat, _ := json.Marshal(body["token"].(map[string]any)["catalog"])
	if !strings.Contains(string(cat), "/v3/"+projectIDOf(body)) {
		t.Fatalf("catalog URL not formatted with the project id: %s", cat)
	}
	// Garbage and missing subject tokens are 404s; garbage auth tokens 401s.
	for _, subj := range []string{"garbage", "", strings.Repeat("A", 500)} {
		if st, _, b := c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", subj); st != 404 {
			t.Errorf("subject %q: %d %v", subj, st, b)
		}
	}
	if st, h, _ := c.call("GET", "/v3/auth/tokens", "garbage", "", "X-Subject-Token", demo); st != 401 || h.Get("WWW-Authenticate") == "" {
		t.Errorf("garbage auth token: %d %v", st, h)
	}
	// Revoke, then it is gone for everyone, including its owner.
	if st, _, b := c.call("DELETE", "/v3/auth/tokens", admin, "", "X-Subject-Token", demo); st != 204 {
		t.Fatalf("revoke: %d %v", st, b)
	}
	if st, _, _ := c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", demo); st != 404 {
		t.Fatalf("revoked token still valid: %d", st)
	}
	if st, _, _ := c.call("GET", "/v3/auth/catalog", demo, "", ""); st != 401 {
		t.Fatalf("revoked token used: %d", st)
	}
	if st, _, _ := c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", demo2); st != 200 {
		t.Fatalf("sibling token revoked too: %d", st)
	}
}

func projectIDOf(body map[string]any) string {
	return body["token"].(map[string]any)["project"].(map[string]any)["id"].(string)
}

func TestTokenMethodAndGophercloud(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	sc := c.client("admin", adminPW, "admin")
	tok := sc.Token()
	// Rescope an unscoped token to a project with the token method.
	unscoped := c.login("admin", adminPW, `,"scope":"unscoped"`)
	body := `{"auth":{"identity":{"methods":["token"],"token":{"id":"` + unscoped + `"}},"scope":{"project":{"name":"demo","domain":{"id":"default"}}}}}`
	st, h, res := c.call("POST", "/v3/auth/tokens", "", body)
	if st != 201 {
		t.Fatalf("token method: %d %v", st, res)
	}
	tk := res["token"].(map[string]any)
	methods, _ := json.Marshal(tk["methods"])
	if !strings.Contains(string(methods), "token") || !strings.Contains(string(methods), "password") || len(tk["audit_ids"].([]any)) != 2 {
		t.Fatalf("rescoped token: %v", tk)
	}
	// gophercloud validates it.
	r := tokens.Get(context.Background(), sc, h.Get("X-Subject-Token"))
	user, err := r.ExtractUser()
	if err != nil || user.Name != "admin" {
		t.Fatalf("gophercloud get: %v %v", user, err)
	}
	proj, err := r.ExtractProject()
	if err != nil || proj.Name != "demo" {
		t.Fatalf("gophercloud project: %v %v", proj, err)
	}
	ok, err := tokens.Validate(context.Background(), sc, tok)
	if err != nil || !ok {
		t.Fatalf("validate own: %v %v", ok, err)
	}
	if err := tokens.Revoke(context.Background(), sc, h.Get("X-Subject-Token")).Err; err != nil {
		t.Fatal(err)
	}
	if ok, _ := tokens.Validate(context.Background(), sc, h.Get("X-Subject-Token")); ok {
		t.Fatal("revoked token validates")
	}
	// A revoked token cannot make new tokens: Keystone answers 404.
	body = `{"auth":{"identity":{"methods":["token"],"token":{"id":"` + h.Get("X-Subject-Token") + `"}}}}`
	if st, _, _ := c.call("POST", "/v3/auth/tokens", "", body); st != 404 {
		t.Fatalf("revoked token as a method: %d", st)
	}
	_ = gophercloud.ErrUnexpectedResponseCode{}
}

func TestVersions(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	st, h, body := c.call("GET", "/", "", "")
	if st != 300 || h.Get("Location") != c.srv.URL+"/v3/" {
		t.Fatalf("/: %d %v", st, h)
	}
	vals := body["versions"].(map[string]any)["values"].([]any)
	if v := vals[0].(map[string]any); v["id"] != "v3.14" || v["status"] != "stable" {
		t.Fatalf("/: %v", body)
	}
	st, _, body = c.call("GET", "/v3", "", "")
	var v wire.VersionResponse
	raw, _ := json.Marshal(body)
	json.Unmarshal(raw, &v)
	if st != 200 || v.Version.ID != "v3.14" || v.Version.Links[0].Href != c.srv.URL+"/v3/" {
		t.Fatalf("/v3: %d %s", st, raw)
	}
}

func TestAllowExpired(t *testing.T) {
	cfg := testConfig()
	cfg.Token.Expiration = time.Second
	c := newCloud(t, nil, cfg)
	tok := c.login("demo", demoPW, "")
	time.Sleep(2100 * time.Millisecond)
	admin := c.login("admin", adminPW, `,"scope":{"project":{"name":"admin","domain":{"id":"default"}}}`)
	if st, _, _ := c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", tok); st != 404 {
		t.Fatalf("expired token: %d", st)
	}
	if st, _, _ := c.call("GET", "/v3/auth/tokens?allow_expired=1", admin, "", "X-Subject-Token", tok); st != 200 {
		t.Fatalf("allow_expired: %d", st)
	}
	if st, _, _ := c.call("GET", "/v3/auth/catalog", tok, ""); st != 401 {
		t.Fatalf("expired token accepted as X-Auth-Token: %d", st)
	}
}

func TestIssueToken(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	tok, a, err := c.svc.IssueToken(t.Context(), "demo", "default", "demo")
	if err != nil || a.ProjectName != "demo" || !a.HasRole("member") {
		t.Fatalf("IssueToken: %v %+v", err, a)
	}
	if st, _, _ := c.call("GET", "/v3/auth/catalog", tok, ""); st != 200 {
		t.Fatalf("minted token refused: %d", st)
	}
	if _, _, err := c.svc.IssueToken(t.Context(), "demo", "default", "admin"); err == nil {
		t.Fatal("minted a token for a project without a role")
	}
}

package identity

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"

	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

func adminScope() string {
	return `,"scope":{"project":{"name":"admin","domain":{"id":"default"}}}`
}

// TestBadInput: malformed, mistyped, unknown, oversized and duplicate input
// is answered with Keystone's error body and the right status, never a 500.
func TestBadInput(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	admin := c.login("admin", adminPW, adminScope())
	big := `{"project":{"name":"x","description":"` + strings.Repeat("a", 200*1024) + `"}}`
	cases := []struct {
		name, method, path, body string
		status                   int
	}{
		{"malformed json", "POST", "/v3/projects", `{"project":`, 400},
		{"not an object", "POST", "/v3/projects", `[1,2]`, 400},
		{"missing member", "POST", "/v3/projects", `{"name":"x"}`, 400},
		{"wrong type", "POST", "/v3/projects", `{"project":{"name":5}}`, 400},
		{"empty name", "POST", "/v3/projects", `{"project":{"name":""}}`, 400},
		{"name too long", "POST", "/v3/projects", `{"project":{"name":"` + strings.Repeat("a", 65) + `"}}`, 400},
		{"enabled as a string", "POST", "/v3/domains", `{"domain":{"name":"d","enabled":"True"}}`, 400},
		{"oversized body", "POST", "/v3/projects", big, 413},
		{"unknown domain", "POST", "/v3/users", `{"user":{"name":"u","domain_id":"nope"}}`, 404},
		{"unknown parent", "POST", "/v3/projects", `{"project":{"name":"p","parent_id":"nope"}}`, 404},
		{"unknown project", "GET", "/v3/projects/nope", ``, 404},
		{"unknown user", "PATCH", "/v3/users/nope", `{"user":{"name":"x"}}`, 404},
		{"unknown role", "PUT", "/v3/projects/nope/users/nope/roles/nope", ``, 404},
		{"unknown endpoint service", "POST", "/v3/endpoints", `{"endpoint":{"interface":"public","service_id":"nope","url":"http://x"}}`, 400},
		{"bad interface", "POST", "/v3/endpoints", `{"endpoint":{"interface":"sideways","service_id":"x","url":"http://x"}}`, 400},
		{"duplicate domain", "POST", "/v3/domains", `{"domain":{"name":"Default"}}`, 409},
		{"duplicate project", "POST", "/v3/projects", `{"project":{"name":"admin"}}`, 409},
		{"duplicate user", "POST", "/v3/users", `{"user":{"name":"admin"}}`, 409},
		{"delete enabled domain", "DELETE", "/v3/domains/default", ``, 403},
		{"delete non-leaf project", "DELETE", "/v3/projects/default", ``, 403},
		{"method not allowed", "PUT", "/v3/users", `{}`, 405},
		{"no such path", "GET", "/v3/nowhere", ``, 404},
		{"limits need a system admin", "POST", "/v3/registered_limits", `{"registered_limits":[{"service_id":"x","resource_name":"r","default_limit":1}]}`, 403},
		{"limit with bad value", "POST", "/v3/limits", `{"limits":[{"project_id":"x","service_id":"x","resource_name":"r","resource_limit":-2}]}`, 400},
		{"trust with bad expiry", "POST", "/v3/OS-TRUST/trusts", `{"trust":{"trustor_user_id":"x","trustee_user_id":"y","impersonation":true,"expires_at":"bad.123Z"}}`, 403},
		{"role assignments both scopes", "GET", "/v3/role_assignments?scope.project.id=a&scope.domain.id=b", ``, 400},
		{"effective with group", "GET", "/v3/role_assignments?effective&group.id=x", ``, 400},
		{"subtree without project", "GET", "/v3/role_assignments?include_subtree=true", ``, 400},
		{"bad password_expires_at filter", "GET", "/v3/users?password_expires_at=lt:yesterday", ``, 400},
		{"credential with bad ec2 blob", "POST", "/v3/credentials", `{"credential":{"type":"ec2","user_id":"u","project_id":"p","blob":"nope"}}`, 400},
		{"not json content", "POST", "/v3/projects", `name=x`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := c.call(tc.method, tc.path, admin, tc.body)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %v", st, tc.status, body)
			}
			e, _ := body["error"].(map[string]any)
			if e == nil || e["code"] != float64(st) || e["title"] == "" || e["message"] == "" {
				t.Fatalf("not Keystone's error body: %v", body)
			}
		})
	}
	// Auth requests too.
	for name, body := range map[string]string{
		"garbage":         `garbage`,
		"no identity":     `{"auth":{}}`,
		"methods as text": `{"auth":{"identity":{"methods":"password"}}}`,
		"method w/o data": `{"auth":{"identity":{"methods":["password"]}}}`,
		"user w/o id":     `{"auth":{"identity":{"methods":["password"],"password":{"user":{"password":"x"}}}}}`,
		"name w/o domain": `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","password":"x"}}}}}`,
	} {
		if st, _, b := c.call("POST", "/v3/auth/tokens", "", body); st != 400 {
			t.Errorf("auth %s: %d %v", name, st, b)
		}
	}
	if st, _, _ := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["totp"],"totp":{}}}}`); st != 401 {
		t.Errorf("unsupported method: %d", st)
	}
}

// TestPolicy: Keystone's default rules as a Zed devstack enforces them.
func TestPolicy(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	admin := c.login("admin", adminPW, adminScope())
	// A reader in the demo project, and a domain admin of a new domain.
	mk := func(path, body string) map[string]any {
		st, _, out := c.call("POST", path, admin, body)
		if st != 201 {
			t.Fatalf("%s: %d %v", path, st, out)
		}
		return out
	}
	dom := mk("/v3/domains", `{"domain":{"name":"other"}}`)["domain"].(map[string]any)["id"].(string)
	mk("/v3/users", `{"user":{"name":"reader","password":"pw"}}`)
	mk("/v3/users", `{"user":{"name":"domadmin","password":"pw","domain_id":"`+dom+`"}}`)
	mk("/v3/users", `{"user":{"name":"inother","password":"pw","domain_id":"`+dom+`"}}`)
	sn, _ := c.svc.snapshot(context.Background())
	roleID := func(name string) string {
		for _, r := range sn.roles {
			if r.Name == name {
				return r.ID
			}
		}
		t.Fatalf("no role %s", name)
		return ""
	}
	demo := sn.domainsByName["Default"]
	_ = demo
	var demoProject string
	for _, p := range sn.projects {
		if p.Name == "demo" {
			demoProject = p.ID
		}
	}
	uid := func(name, domain string) string {
		u, err := c.svc.st.GetUserByName(context.Background(), name, domain)
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	grant := func(path string) {
		if st, _, b := c.call("PUT", path, admin, ""); st != 204 {
			t.Fatalf("grant %s: %d %v", path, st, b)
		}
	}
	grant("/v3/projects/" + demoProject + "/users/" + uid("reader", "default") + "/roles/" + roleID("reader"))
	grant("/v3/domains/" + dom + "/users/" + uid("domadmin", dom) + "/roles/" + roleID("admin"))

	member := c.login("demo", demoPW, "")
	reader := c.login("reader", "pw", `,"scope":{"project":{"id":"`+demoProject+`"}}`)
	domTok := func() string {
		st, h, b := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"domadmin","domain":{"id":"`+dom+`"},"password":"pw"}}},"scope":{"domain":{"id":"`+dom+`"}}}}`)
		if st != 201 {
			t.Fatalf("domain token: %d %v", st, b)
		}
		return h.Get("X-Subject-Token")
	}()
	system := c.login("admin", adminPW, `,"scope":{"system":{"all":true}}`)

	cases := []struct {
		name, token, method, path, body string
		status                          int
	}{
		{"member cannot create users", member, "POST", "/v3/users", `{"user":{"name":"x1"}}`, 403},
		{"member cannot list users", member, "GET", "/v3/users", ``, 403},
		{"member reads itself", member, "GET", "/v3/users/" + uid("demo", "default"), ``, 200},
		{"member cannot read others", member, "GET", "/v3/users/" + uid("admin", "default"), ``, 403},
		{"member reads its project", member, "GET", "/v3/projects/" + demoProject, ``, 200},
		{"reader cannot write projects", reader, "POST", "/v3/projects", `{"project":{"name":"x2"}}`, 403},
		{"reader cannot grant", reader, "PUT", "/v3/projects/" + demoProject + "/users/" + uid("reader", "default") + "/roles/" + roleID("admin"), ``, 403},
		{"reader cannot delete roles", reader, "DELETE", "/v3/roles/" + roleID("member"), ``, 403},
		{"project admin creates users", admin, "POST", "/v3/users", `{"user":{"name":"x3"}}`, 201},
		{"system admin creates users", system, "POST", "/v3/users", `{"user":{"name":"x4"}}`, 201},
		{"domain admin creates in its domain", domTok, "POST", "/v3/users", `{"user":{"name":"x5"}}`, 201},
		{"domain admin lists users", domTok, "GET", "/v3/users", ``, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := c.call(tc.method, tc.path, tc.token, tc.body)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %v", st, tc.status, body)
			}
		})
	}
	// A domain admin sees only its own domain's users, and creates there.
	_, _, body := c.call("GET", "/v3/users", domTok, "")
	for _, u := range body["users"].([]any) {
		if d := u.(map[string]any)["domain_id"]; d != dom {
			t.Errorf("domain admin sees a user of domain %v", d)
		}
	}
	if n := len(body["users"].([]any)); n != 3 {
		t.Errorf("domain admin sees %d users, want 3", n)
	}
	_, _, body = c.call("GET", "/v3/role_assignments", domTok, "")
	for _, a := range body["role_assignments"].([]any) {
		sc := a.(map[string]any)["scope"].(map[string]any)
		if d, ok := sc["domain"]; !ok || d.(map[string]any)["id"] != dom {
			t.Errorf("domain admin sees assignment %v", a)
		}
	}
}

// TestGophercloudResources drives the resource APIs with gophercloud.
func TestGophercloudResources(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	sc := c.client("admin", adminPW, "admin")
	ctx := context.Background()
	dom, err := domains.Create(ctx, sc, domains.CreateOpts{Name: "acme", Description: "d"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	parent, err := projects.Create(ctx, sc, projects.CreateOpts{Name: "parent", DomainID: dom.ID, Tags: []string{"a", "b"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	child, err := projects.Create(ctx, sc, projects.CreateOpts{Name: "child", DomainID: dom.ID, ParentID: parent.ID}).Extract()
	if err != nil || child.ParentID != parent.ID || parent.ParentID != dom.ID {
		t.Fatalf("hierarchy: %+v %+v %v", parent, child, err)
	}
	enabled := true
	user, err := users.Create(ctx, sc, users.CreateOpts{Name: "alice", DomainID: dom.ID, Password: "alice-pw", Enabled: &enabled,
		Extra: map[string]any{"email": "alice@example.com"}}).Extract()
	if err != nil || user.Extra["email"] != "alice@example.com" {
		t.Fatalf("user: %+v %v", user, err)
	}
	grp, err := groups.Create(ctx, sc, groups.CreateOpts{Name: "devs", DomainID: dom.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := users.AddToGroup(ctx, sc, grp.ID, user.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	role, err := roles.Create(ctx, sc, roles.CreateOpts{Name: "dev"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	// An inherited group role on the parent reaches the child.
	st, _, b := c.call("PUT", "/v3/OS-INHERIT/projects/"+parent.ID+"/groups/"+grp.ID+"/roles/"+role.ID+"/inherited_to_projects", sc.Token(), "")
	if st != 204 {
		t.Fatalf("inherit: %d %v", st, b)
	}
	pages, err := roles.ListAssignments(sc, roles.ListAssignmentsOpts{UserID: user.ID, Effective: gophercloud.Enabled, IncludeNames: gophercloud.Enabled}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ras, err := roles.ExtractRoleAssignments(pages)
	if err != nil || len(ras) != 1 || ras[0].Scope.Project.ID != child.ID || ras[0].Role.Name != "dev" || ras[0].User.Name != "alice" {
		t.Fatalf("effective assignments: %+v %v", ras, err)
	}
	// The user can scope to the child through the inherited group role.
	tok := c.loginIn("alice", "alice-pw", dom.ID, `,"scope":{"project":{"id":"`+child.ID+`"}}`)
	if tok == "" {
		t.Fatal("no token")
	}
	// Listing, filtering.
	allPages, err := projects.List(sc, projects.ListOpts{DomainID: dom.ID, Tags: "a"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := projects.ExtractProjects(allPages)
	if len(ps) != 1 || ps[0].ID != parent.ID {
		t.Fatalf("tag filter: %+v", ps)
	}
	// Deleting the domain cascades once it is disabled.
	disabled := false
	if _, err := domains.Update(ctx, sc, dom.ID, domains.UpdateOpts{Enabled: &disabled}).Extract(); err != nil {
		t.Fatal(err)
	}
	if err := domains.Delete(ctx, sc, dom.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Get(ctx, sc, user.ID).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("user outlived its domain: %v", err)
	}
	if _, err := projects.Get(ctx, sc, child.ID).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("project outlived its domain: %v", err)
	}
}

func (c *testCloud) loginIn(user, pw, domain, scope string) string {
	c.t.Helper()
	st, h, body := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"`+user+`","domain":{"id":"`+domain+`"},"password":"`+pw+`"}}}`+scope+`}}`)
	if st != 201 {
		c.t.Fatalf("login %s: %d %v", user, st, body)
	}
	return h.Get("X-Subject-Token")
}

// TestRevocationsAnnounced: revoking a token, disabling a user and changing
// a password are stored as revocation events and cast on the bus.
func TestRevocationsAnnounced(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	ctx := context.Background()
	got := make(chan revocationNotice, 10)
	sub, err := c.bus.Serve(ctx, service.Revocations, bus.ServeOptions{}, map[string]bus.Handler{
		"revoked": func(_ context.Context, raw json.RawMessage) (any, error) {
			n, err := bus.Decode[revocationNotice](raw)
			if err == nil {
				got <- n
			}
			return nil, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	admin := c.login("admin", adminPW, adminScope())
	demo := c.login("demo", demoPW, "")
	expect := func(what string, check func(revocationNotice) bool) {
		t.Helper()
		select {
		case n := <-got:
			if !check(n) {
				t.Fatalf("%s: notice %+v", what, n)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: nothing announced", what)
		}
	}
	c.call("DELETE", "/v3/auth/tokens", admin, "", "X-Subject-Token", demo)
	expect("token revoked", func(n revocationNotice) bool { return n.AuditID != "" })
	demoID := mustUser(t, c, "demo")
	time.Sleep(1100 * time.Millisecond) // Keystone's revocation precision is a second
	demo = c.login("demo", demoPW, "")
	if st, _, b := c.call("POST", "/v3/users/"+demoID+"/password", "", `{"user":{"original_password":"`+demoPW+`","password":"new-pw"}}`); st != 204 {
		t.Fatalf("password change: %d %v", st, b)
	}
	expect("password changed", func(n revocationNotice) bool { return n.UserID == demoID })
	if st, _, _ := c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", demo); st != 404 {
		t.Fatalf("token survived a password change: %d", st)
	}
	c.call("PATCH", "/v3/users/"+demoID, admin, `{"user":{"enabled":false}}`)
	expect("user disabled", func(n revocationNotice) bool { return n.UserID == demoID })
	evs, err := c.svc.st.RevocationEvents(ctx, time.Now().Add(-time.Hour))
	if err != nil || len(evs) < 3 {
		t.Fatalf("stored events: %d %v", len(evs), err)
	}
	st, _, body := c.call("GET", "/v3/OS-REVOKE/events", admin, "")
	if st != 200 || len(body["events"].([]any)) != len(evs) {
		t.Fatalf("OS-REVOKE: %d %v", st, body)
	}
}

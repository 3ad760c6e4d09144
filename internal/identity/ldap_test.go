package identity

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/ldap/ldaptest"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/config"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

func corpLDAP(url string) string {
	return fmt.Sprintf(`{"url": %q, "user": "cn=svc,ou=Users,%[2]s", "password": "svc-pw", "suffix": %[2]q,
		"user_tree_dn": "ou=Users,%[2]s", "user_enabled_attribute": "employeeType", "user_filter": "(!(cn=svc))",
		"group_tree_dn": "ou=Groups,%[2]s", "pool_connection_timeout": 1}`, url, ldaptest.Suffix)
}

// ldapCloud is a cloud whose "corp" domain reads the test directory
// (configured through the domain-config API) while Default stays SQL.
func ldapCloud(t testing.TB) (*testCloud, *ldaptest.Server, string, string) {
	srv := ldaptest.Start(t, "")
	cfg := testConfig()
	cfg.Identity.DomainSpecificDrivers, cfg.Identity.DomainConfigsFromDB = true, true
	c := newCloud(t, nil, cfg)
	admin := c.login("admin", adminPW, `,"scope":{"project":{"name":"admin","domain":{"id":"default"}}}`)
	st, _, b := c.call("POST", "/v3/domains", admin, `{"domain":{"name":"corp"}}`)
	if st != 201 {
		t.Fatalf("domain: %d %v", st, b)
	}
	corp := b["domain"].(map[string]any)["id"].(string)
	st, _, b = c.call("PUT", "/v3/domains/"+corp+"/config", admin, `{"config":{"identity":{"driver":"ldap"},"ldap":`+corpLDAP(srv.URL)+`}}`)
	if st != 201 {
		t.Fatalf("config: %d %v", st, b)
	}
	return c, srv, admin, corp
}

func corpLogin(c *testCloud, user, pw, corp, scope string) (int, string) {
	st, h, _ := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"`+user+`","domain":{"name":"corp"},"password":"`+pw+`"}}}`+scope+`}}`)
	return st, h.Get("X-Subject-Token")
}

func names(b map[string]any, key string) string {
	var out []string
	items, _ := b[key].([]any)
	for _, x := range items {
		out = append(out, x.(map[string]any)["name"].(string))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestLDAPDomain(t *testing.T) {
	c, _, admin, corp := ldapCloud(t)

	st, _, b := c.call("GET", "/v3/users?domain_id="+corp, admin, "")
	if st != 200 || names(b, "users") != "alice,bob,carol" {
		t.Fatalf("users: %d %v", st, b)
	}
	var aliceID string
	for _, x := range b["users"].([]any) {
		u := x.(map[string]any)
		if u["name"] == "alice" {
			aliceID = u["id"].(string)
			if u["email"] != "alice@corp.example" || u["domain_id"] != corp || u["enabled"] != true {
				t.Fatalf("alice: %v", u)
			}
		}
	}
	if aliceID != store.PublicID(corp, "alice", "user") || len(aliceID) != 64 {
		t.Fatalf("alice's public id %q is not Keystone's sha256 mapping", aliceID)
	}
	if st, _, b = c.call("GET", "/v3/users?domain_id=default", admin, ""); st != 200 || strings.Contains(names(b, "users"), "alice") {
		t.Fatalf("default users: %d %v", st, b)
	}
	if st, _, b = c.call("GET", "/v3/users/"+aliceID, admin, ""); st != 200 || b["user"].(map[string]any)["name"] != "alice" {
		t.Fatalf("get alice: %d %v", st, b)
	}
	st, _, b = c.call("GET", "/v3/groups?domain_id="+corp, admin, "")
	if st != 200 || names(b, "groups") != "admins,developers" {
		t.Fatalf("groups: %d %v", st, b)
	}
	devID := store.PublicID(corp, "developers", "group")
	if st, _, b = c.call("GET", "/v3/groups/"+devID+"/users", admin, ""); st != 200 || names(b, "users") != strings.Join(sortedNames("alice", "bob", corp), ",") {
		t.Fatalf("developers: %d %v", st, b)
	}
	if st, _, b = c.call("GET", "/v3/users/"+aliceID+"/groups", admin, ""); st != 200 || len(b["groups"].([]any)) != 2 {
		t.Fatalf("alice's groups: %d %v", st, b)
	}
	if st, _, _ = c.call("HEAD", "/v3/groups/"+devID+"/users/"+aliceID, admin, ""); st != 204 {
		t.Fatalf("alice in developers: %d", st)
	}
	carolID := store.PublicID(corp, "carol", "user")
	if st, _, _ = c.call("HEAD", "/v3/groups/"+devID+"/users/"+carolID, admin, ""); st != 404 {
		t.Fatalf("carol in developers: %d", st)
	}

	// read-only: writes answer 403
	for _, w := range [][3]string{
		{"POST", "/v3/users", `{"user":{"name":"dave","domain_id":"` + corp + `"}}`},
		{"PATCH", "/v3/users/" + aliceID, `{"user":{"name":"alicia"}}`},
		{"DELETE", "/v3/users/" + aliceID, ""},
		{"POST", "/v3/groups", `{"group":{"name":"ops","domain_id":"` + corp + `"}}`},
		{"DELETE", "/v3/groups/" + devID, ""},
		{"PUT", "/v3/groups/" + devID + "/users/" + carolID, ""},
		{"POST", "/v3/users/" + aliceID + "/password", `{"user":{"original_password":"alice-pw","password":"x"}}`},
	} {
		if st, _, b := c.call(w[0], w[1], admin, w[2]); st != 403 {
			t.Errorf("%s %s: %d %v", w[0], w[1], st, b)
		}
	}

	// logins: bind, disabled user, wrong password, injection
	if st, _ := corpLogin(c, "alice", "alice-pw", corp, ""); st != 201 {
		t.Fatalf("alice: %d", st)
	}
	for _, x := range [][2]string{{"alice", "nope"}, {"alice", ""}, {"carol", "carol-pw"}, {"*", "alice-pw"}, {"alice)(cn=*", "alice-pw"}, {"nobody", "x"}} {
		if st, _ := corpLogin(c, x[0], x[1], corp, ""); st != 401 {
			t.Errorf("login %q/%q: %d", x[0], x[1], st)
		}
	}

	// roles of LDAP users and groups stay in SQL: a direct grant and one
	// through the directory group
	_, _, b = c.call("GET", "/v3/roles?name=member", admin, "")
	member := b["roles"].([]any)[0].(map[string]any)["id"].(string)
	_, _, b = c.call("GET", "/v3/projects?name=demo", admin, "")
	demo := b["projects"].([]any)[0].(map[string]any)["id"].(string)
	if st, _, b = c.call("PUT", "/v3/projects/"+demo+"/users/"+aliceID+"/roles/"+member, admin, ""); st != 204 {
		t.Fatalf("grant alice: %d %v", st, b)
	}
	scope := `,"scope":{"project":{"id":"` + demo + `"}}`
	st, tok := corpLogin(c, "alice", "alice-pw", corp, scope)
	if st != 201 {
		t.Fatalf("alice on demo: %d", st)
	}
	if st, _, b = c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", tok); st != 200 || b["token"].(map[string]any)["user"].(map[string]any)["id"] != aliceID {
		t.Fatalf("validate alice's token: %d %v", st, b)
	}
	if st, _ := corpLogin(c, "bob", "bob-pw", corp, scope); st != 401 {
		t.Fatalf("bob has no role yet: %d", st)
	}
	if st, _, b = c.call("PUT", "/v3/projects/"+demo+"/groups/"+devID+"/roles/"+member, admin, ""); st != 204 {
		t.Fatalf("grant developers: %d %v", st, b)
	}
	st, tok = corpLogin(c, "bob", "bob-pw", corp, scope)
	if st != 201 {
		t.Fatalf("bob through developers: %d", st)
	}
	bobID := store.PublicID(corp, "bob", "user")
	if st, _, b = c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", tok); st != 200 || names(b["token"].(map[string]any), "roles") != "member,reader" {
		t.Fatalf("bob's token roles: %d %v", st, b)
	}
	// effective assignments expand the directory group into its members
	for _, q := range []string{"scope.project.id=" + demo, "user.id=" + bobID} {
		st, _, b = c.call("GET", "/v3/role_assignments?effective&"+q, admin, "")
		if st != 200 {
			t.Fatalf("effective %s: %d %v", q, st, b)
		}
		got := map[string]string{}
		for _, x := range b["role_assignments"].([]any) {
			ra := x.(map[string]any)
			if ra["role"].(map[string]any)["id"] != member {
				continue
			}
			via := ""
			if m, ok := ra["links"].(map[string]any)["membership"].(string); ok {
				via = m
			}
			got[ra["user"].(map[string]any)["id"].(string)] = via
		}
		if via, ok := got[bobID]; !ok || !strings.Contains(via, devID) {
			t.Errorf("effective %s: bob through developers missing: %v", q, b)
		}
		if q != "user.id="+bobID {
			if _, ok := got[aliceID]; !ok {
				t.Errorf("effective %s: alice missing: %v", q, b)
			}
		}
	}
}

func sortedNames(a, b, _ string) []string { return []string{a, b} }

// The directory stopped: corp's logins 401 quickly, Default keeps working,
// tokens already issued still validate (no directory round trip).
func TestLDAPDirectoryDown(t *testing.T) {
	c, srv, admin, corp := ldapCloud(t)
	st, tok := corpLogin(c, "alice", "alice-pw", corp, "")
	if st != 201 {
		t.Fatalf("alice: %d", st)
	}
	srv.Stop()
	start := time.Now()
	if st, _ := corpLogin(c, "alice", "alice-pw", corp, ""); st != 401 {
		t.Fatalf("alice with the directory down: %d", st)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("login took %v with connection timeout 1s", el)
	}
	c.login("admin", adminPW, "")
	if st, _, b := c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", tok); st != 200 {
		t.Fatalf("alice's token with the directory down: %d %v", st, b)
	}
	if st, _, _ := c.call("GET", "/v3/users?domain_id="+corp, admin, ""); st != 503 {
		t.Fatalf("list with the directory down: %d", st)
	}
	srv.Restart(t)
	if st, _ := corpLogin(c, "alice", "alice-pw", corp, ""); st != 201 {
		t.Fatalf("alice after restart: %d", st)
	}
}

// Per-domain files: keystone.corp.conf in domain_config_dir.
func TestLDAPDomainFile(t *testing.T) {
	srv := ldaptest.Start(t, "")
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Identity.DomainSpecificDrivers, cfg.Identity.DomainConfigDir = true, dir
	c := newCloud(t, nil, cfg)
	admin := c.login("admin", adminPW, `,"scope":{"project":{"name":"admin","domain":{"id":"default"}}}`)
	st, _, b := c.call("POST", "/v3/domains", admin, `{"domain":{"name":"corp"}}`)
	if st != 201 {
		t.Fatalf("domain: %d %v", st, b)
	}
	corp := b["domain"].(map[string]any)["id"].(string)
	conf := fmt.Sprintf("[identity]\ndriver = ldap\n\n[ldap]\nurl = %s\nuser = cn=svc,ou=Users,%[2]s\npassword = svc-pw\nsuffix = %[2]s\nuser_enabled_attribute = employeeType\ngroup_tree_dn = ou=Groups,%[2]s\nconnection_timeout = 1\n", srv.URL, ldaptest.Suffix)
	if err := os.WriteFile(filepath.Join(dir, "keystone.corp.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c.svc.changed(t.Context())
	if st, _ := corpLogin(c, "alice", "alice-pw", corp, ""); st != 201 {
		t.Fatalf("alice from the file-configured domain: %d", st)
	}
	if st, _ := corpLogin(c, "carol", "carol-pw", corp, ""); st != 401 {
		t.Fatalf("carol is disabled: %d", st)
	}
	c.login("admin", adminPW, "")
}

// A directory that accepts connections and never answers: corp's logins
// answer 401 within the timeout (the PATCH takes effect at once), Default's
// work meanwhile.
func TestLDAPDirectoryTimeout(t *testing.T) {
	c, _, admin, corp := ldapCloud(t)
	l, err := net.Listen("tcp", "127.42.9.3:0")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	if st, _, b := c.call("PATCH", "/v3/domains/"+corp+"/config/ldap", admin, `{"config":{"ldap":{"url":"ldap://`+l.Addr().String()+`"}}}`); st != 200 {
		t.Fatalf("patch: %d %v", st, b)
	}
	done := make(chan int, 1)
	start := time.Now()
	go func() { st, _ := corpLogin(c, "alice", "alice-pw", corp, ""); done <- st }()
	c.login("admin", adminPW, "")
	select {
	case st := <-done:
		if st != 401 || time.Since(start) > 3*time.Second {
			t.Fatalf("alice against a silent directory: %d after %v", st, time.Since(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("login hung past the connection timeout")
	}
}

// TestLDAPOpenstackCLI drives Debian's openstack CLI (a judge) against the
// directory-backed corp domain: lists, a role for alice, her token, refused
// tokens, group membership.
func TestLDAPOpenstackCLI(t *testing.T) {
	if _, err := exec.LookPath("openstack"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the openstack CLI is a judge and must be installed in CI (scripts/install-deps)")
		}
		t.Skip("openstack CLI not installed (scripts/install-deps)")
	}
	c, _, _, _ := ldapCloud(t)
	home := t.TempDir()
	run := func(user, domain, pw string, args ...string) (string, bool) {
		t.Helper()
		cmd := exec.Command("openstack", args...)
		env := []string{"HOME=" + home, "OS_AUTH_URL=" + c.srv.URL + "/v3", "OS_IDENTITY_API_VERSION=3",
			"OS_USERNAME=" + user, "OS_USER_DOMAIN_NAME=" + domain, "OS_PASSWORD=" + pw,
			"OS_PROJECT_NAME=" + map[bool]string{true: "admin", false: "demo"}[user == "admin"], "OS_PROJECT_DOMAIN_NAME=Default"}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "OS_") && !strings.HasPrefix(kv, "HOME=") {
				env = append(env, kv)
			}
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err == nil
	}
	admin := func(args ...string) string {
		t.Helper()
		out, good := run("admin", "Default", adminPW, args...)
		if !good {
			t.Fatalf("openstack %s:\n%s", strings.Join(args, " "), out)
		}
		return out
	}
	lines := func(s string) string {
		f := strings.Fields(s)
		sort.Strings(f)
		return strings.Join(f, ",")
	}
	if got := lines(admin("user", "list", "--domain", "corp", "-f", "value", "-c", "Name")); got != "alice,bob,carol" {
		t.Fatalf("user list --domain corp: %q", got)
	}
	if got := lines(admin("group", "list", "--domain", "corp", "-f", "value", "-c", "Name")); got != "admins,developers" {
		t.Fatalf("group list --domain corp: %q", got)
	}
	if out, good := run("alice", "corp", "alice-pw", "token", "issue"); good {
		t.Fatalf("alice has no role on demo yet:\n%s", out)
	}
	admin("role", "add", "--user", "alice", "--user-domain", "corp", "--project", "demo", "member")
	if out, good := run("alice", "corp", "alice-pw", "token", "issue", "-f", "value", "-c", "project_id"); !good || strings.TrimSpace(out) == "" {
		t.Fatalf("alice's token:\n%s", out)
	}
	for _, x := range [][2]string{{"alice", "wrong"}, {"carol", "carol-pw"}} {
		if out, good := run(x[0], "corp", x[1], "token", "issue"); good || !strings.Contains(out, "401") {
			t.Fatalf("token for %s/%s not refused with 401:\n%s", x[0], x[1], out)
		}
	}
	if out := admin("group", "contains", "user", "--group-domain", "corp", "--user-domain", "corp", "developers", "alice"); !strings.Contains(out, "alice in group developers") {
		t.Fatalf("group contains user: %s", out)
	}
	if out, good := run("admin", "Default", adminPW, "group", "contains", "user", "--group-domain", "corp", "--user-domain", "corp", "developers", "carol"); !strings.Contains(out, "carol not in group developers") {
		t.Fatalf("carol in developers (%v): %s", good, out)
	}
}

// keystone.conf's global [identity] driver = ldap is refused at start with
// the way to do it per domain; sql (Keystone's default) is accepted.
func TestLDAPGlobalDriverRefused(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"[identity]\ndriver = ldap\n\n[ldap]\nurl = ldap://127.0.0.1\n", "domain_specific_drivers_enabled = true"},
		{"[identity]\ndriver = LDAP\n", "keystone.DOMAIN_NAME.conf"},
		{"[identity]\ndriver = kerberos\n", `driver "kerberos"`},
		{"[identity]\ndriver = sql\n", ""},
		{"", ""},
	} {
		f, err := config.Parse(strings.NewReader(tc.conf))
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		if _, err := config.Apply(&cfg, f); err != nil {
			t.Fatalf("%q: %v", tc.conf, err)
		}
		_, err = New(cfg, service.Deps{})
		switch {
		case tc.want == "" && err != nil && strings.Contains(err.Error(), "driver"):
			t.Errorf("%q refused: %v", tc.conf, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want an error saying %q", tc.conf, err, tc.want)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/tenku-cloud/tenku/internal/identity/ldap/ldaptest"
)

// ldapConcurrency is the number of clients of both the directory and tenku.
const ldapConcurrency = 8

// ldapSuite measures the LDAP identity backend's targets: password logins of
// directory users against the bind rate the same slapd gives in the same
// run, and the validation of a directory user's token against a SQL user's.
func ldapSuite(e *env) error {
	ctx := context.Background()
	report("machine load average (1 min) at start", loadAverage(), "", "< 1 for honest rates")
	srv, err := ldaptest.Launch(filepath.Join(e.dir, "slapd"), "")
	if err != nil {
		return err
	}
	defer srv.Stop()
	etc := filepath.Join(e.dir, "data", "etc")
	if err := os.MkdirAll(etc, 0o700); err != nil {
		return err
	}
	conf := "[identity]\ndomain_specific_drivers_enabled = true\ndomain_configurations_from_database = true\n"
	if err := os.WriteFile(filepath.Join(etc, "keystone.conf"), []byte(conf), 0o600); err != nil {
		return err
	}
	if _, err := e.start(); err != nil {
		return err
	}
	admin, err := e.passwordToken(ctx)
	if err != nil {
		return err
	}
	demo, err := e.setupCorp(ctx, admin, srv.URL)
	if err != nil {
		return err
	}
	aliceDN := "cn=alice,ou=Users," + ldaptest.Suffix
	scope := fmt.Sprintf(`{"project":{"id":%q}}`, demo)
	corp := `{"name":"corp"}`

	// The peer: simple binds as alice, from as many clients, each on its
	// own connection.
	conns := make(chan *goldap.Conn, ldapConcurrency)
	defer func() {
		close(conns)
		for c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < ldapConcurrency; i++ {
		c, err := goldap.DialURL(srv.URL)
		if err != nil {
			return err
		}
		conns <- c
	}
	bind := func() error {
		c := <-conns
		defer func() { conns <- c }()
		return c.Bind(aliceDN, "alice-pw")
	}
	cpu := newCPUMeter().add("slapd", srv.Pid()).add("tenku", e.cmd.Process.Pid)
	load(ldapConcurrency, time.Second, bind)
	cpu.begin()
	lat, errs, el := load(ldapConcurrency, 10*time.Second, bind)
	binds := float64(len(lat)) / el.Seconds()
	report(fmt.Sprintf("slapd simple bind, concurrency %d", ldapConcurrency), binds, "bind/s", "- (the peer)")
	bindCPU := cpu.report("bind", len(lat), el)
	if errs > 0 {
		report("slapd bind errors", float64(errs), "", "0")
	}

	// tenku's own issue path with no password check (the token method) bounds
	// any password login from above.
	rescope := fmt.Sprintf(`{"auth":{"identity":{"methods":["token"],"token":{"id":%q}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`, admin)
	reissue := func() error { return e.api(ctx, "", "POST", e.auth+"/auth/tokens", json.RawMessage(rescope), nil) }
	load(ldapConcurrency, time.Second, reissue)
	cpu.begin()
	lat, errs, el = load(ldapConcurrency, 10*time.Second, reissue)
	report(fmt.Sprintf("token-method token issue, concurrency %d", ldapConcurrency), float64(len(lat))/el.Seconds(), "tok/s", "- (no password check)")
	tokCPU := cpu.report("token", len(lat), el)
	if errs > 0 {
		report("token-method token errors", float64(errs), "", "0")
	}

	login := func() error { _, err := e.login(ctx, "alice", corp, "alice-pw", scope); return err }
	load(ldapConcurrency, time.Second, login)
	cpu.begin()
	lat, errs, el = load(ldapConcurrency, 10*time.Second, login)
	logins := float64(len(lat)) / el.Seconds()
	report(fmt.Sprintf("LDAP password token, concurrency %d", ldapConcurrency), logins, "tok/s", fmt.Sprintf(">= 80%% of %.0f bind/s", binds))
	loginCPU := cpu.report("login", len(lat), el)
	if sb := bindCPU["slapd"]; sb > 0 {
		report("  tenku CPU per token-method issue / slapd CPU per bind", float64(tokCPU["tenku"])/float64(sb), "x", "-")
		report("  tenku CPU per LDAP login / slapd CPU per bind", float64(loginCPU["tenku"])/float64(sb), "x", "-")
	}
	report("  ... as a share of slapd's bind rate", 100*logins/binds, "%", ">= 80%")
	report("LDAP password token p50", ms(pct(lat, 0.50)), "ms", "-")
	if errs > 0 {
		report("LDAP password token errors", float64(errs), "", "0")
	}

	// Validation: a directory user's token next to a SQL user's.
	alice, err := e.login(ctx, "alice", corp, "alice-pw", scope)
	if err != nil {
		return err
	}
	rates := map[string]float64{}
	for _, v := range []struct{ name, tok string }{{"SQL user (admin)", admin}, {"LDAP user (alice)", alice}} {
		fn := func() error { return e.validate(admin, v.tok) }
		load(32, time.Second, fn)
		lat, errs, el := load(32, 10*time.Second, fn)
		rates[v.name] = float64(len(lat)) / el.Seconds()
		report("token validation, "+v.name+", conc. 32", rates[v.name], "req/s", "-")
		report("  ... p99", ms(pct(lat, 0.99)), "ms", "-")
		if errs > 0 {
			report("  ... errors", float64(errs), "", "0")
		}
	}
	report("  LDAP user's rate as a share of SQL user's", 100*rates["LDAP user (alice)"]/rates["SQL user (admin)"], "%", "~100%")
	return nil
}

// setupCorp creates the corp domain reading the directory at url through the
// domain-configuration API, gives alice the member role on demo, and returns
// demo's id.
func (e *env) setupCorp(ctx context.Context, admin, url string) (string, error) {
	base := e.auth
	var dom struct {
		Domain struct{ ID string } `json:"domain"`
	}
	if err := e.api(ctx, admin, "POST", base+"/domains", map[string]any{"domain": map[string]any{"name": "corp"}}, &dom); err != nil {
		return "", err
	}
	ldapOpts := map[string]any{
		"url": url, "user": "cn=svc,ou=Users," + ldaptest.Suffix, "password": "svc-pw", "suffix": ldaptest.Suffix,
		"user_tree_dn": "ou=Users," + ldaptest.Suffix, "user_enabled_attribute": "employeeType",
		"group_tree_dn": "ou=Groups," + ldaptest.Suffix,
	}
	cfg := map[string]any{"config": map[string]any{"identity": map[string]any{"driver": "ldap"}, "ldap": ldapOpts}}
	if err := e.api(ctx, admin, "PUT", base+"/domains/"+dom.Domain.ID+"/config", cfg, nil); err != nil {
		return "", err
	}
	var roles struct {
		Roles []struct{ ID string } `json:"roles"`
	}
	var projects struct {
		Projects []struct{ ID string } `json:"projects"`
	}
	var users struct {
		Users []struct{ ID string } `json:"users"`
	}
	if err := e.api(ctx, admin, "GET", base+"/roles?name=member", nil, &roles); err != nil {
		return "", err
	}
	if err := e.api(ctx, admin, "GET", base+"/projects?name=demo", nil, &projects); err != nil {
		return "", err
	}
	if err := e.api(ctx, admin, "GET", base+"/users?name=alice&domain_id="+dom.Domain.ID, nil, &users); err != nil {
		return "", err
	}
	if len(roles.Roles) != 1 || len(projects.Projects) != 1 || len(users.Users) != 1 {
		return "", fmt.Errorf("corp setup: %d member roles, %d demo projects, %d alices", len(roles.Roles), len(projects.Projects), len(users.Users))
	}
	demo := projects.Projects[0].ID
	grant := base + "/projects/" + demo + "/users/" + users.Users[0].ID + "/roles/" + roles.Roles[0].ID
	return demo, e.api(ctx, admin, "PUT", grant, nil, nil)
}

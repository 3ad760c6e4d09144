package identity

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/tenku-cloud/tenku/internal/identity/ldap"
	"github.com/tenku-cloud/tenku/internal/identity/ldap/ldaptest"
	"github.com/tenku-cloud/tenku/internal/identity/store"
)

// corpDriver is the LDAP driver of the corp domain, once a request has made
// tenku read its configuration.
func corpDriver(t testing.TB, c *testCloud, corp string) *ldap.Driver {
	t.Helper()
	d := c.svc.dirs()
	d.mu.Lock()
	defer d.mu.Unlock()
	ld := d.byDom[corp]
	if ld == nil || ld.drv == nil {
		t.Fatal("corp has no LDAP driver")
	}
	return ld.drv
}

// aliceOnDemo gives alice the member role on demo and returns the scope of a
// login to demo.
func aliceOnDemo(t testing.TB, c *testCloud, admin, corp string) string {
	t.Helper()
	c.call("GET", "/v3/users?domain_id="+corp, admin, "") // maps the directory's users
	_, _, b := c.call("GET", "/v3/roles?name=member", admin, "")
	member := b["roles"].([]any)[0].(map[string]any)["id"].(string)
	_, _, b = c.call("GET", "/v3/projects?name=demo", admin, "")
	demo := b["projects"].([]any)[0].(map[string]any)["id"].(string)
	alice := store.PublicID(corp, "alice", "user")
	if st, _, b := c.call("PUT", "/v3/projects/"+demo+"/users/"+alice+"/roles/"+member, admin, ""); st != 204 {
		t.Fatalf("grant: %d %v", st, b)
	}
	return `,"scope":{"project":{"id":"` + demo + `"}}`
}

// BenchmarkLDAPLogin measures project-scoped password logins of a directory
// user over HTTP at concurrency 8 (the load generator in this process, slapd
// beside it), and the directory round trips each login makes.
//
//	go test -run '^$' -bench LDAPLogin -benchtime 5s ./internal/identity/
func BenchmarkLDAPLogin(b *testing.B) {
	c, _, admin, corp := ldapCloud(b)
	scope := aliceOnDemo(b, c, admin, corp)
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"name":"corp"},"password":"alice-pw"}}}` + scope + `}}`
	const conc = 8
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	login := func() error {
		req, _ := http.NewRequest("POST", c.srv.URL+"/v3/auth/tokens", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("login: %d", resp.StatusCode)
		}
		return nil
	}
	for i := 0; i < 2*conc; i++ {
		login()
	}
	drv := corpDriver(b, c, corp)
	s0 := drv.Stats()
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := login(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	b.StopTimer()
	s1 := drv.Stats()
	n := float64(b.N)
	b.ReportMetric(n/el.Seconds(), "logins/s")
	b.ReportMetric(float64(s1.Dials-s0.Dials)/n, "dials/login")
	b.ReportMetric(float64(s1.Binds-s0.Binds)/n, "binds/login")
	b.ReportMetric(float64(s1.Searches-s0.Searches)/n, "searches/login")
}

// TestLDAPLoginRoundTrips counts the directory round trips of a password
// login once the pools are warm: one bind as the user, no new connection,
// and one search (the user's groups; the entry found by name is cached).
func TestLDAPLoginRoundTrips(t *testing.T) {
	c, _, admin, corp := ldapCloud(t)
	scope := aliceOnDemo(t, c, admin, corp)
	if st, _ := corpLogin(c, "alice", "alice-pw", corp, scope); st != 201 {
		t.Fatalf("warm-up login: %d", st)
	}
	drv := corpDriver(t, c, corp)
	s0 := drv.Stats()
	const n = 5
	for i := 0; i < n; i++ {
		if st, _ := corpLogin(c, "alice", "alice-pw", corp, scope); st != 201 {
			t.Fatalf("login: %d", st)
		}
	}
	s1 := drv.Stats()
	if d := s1.Dials - s0.Dials; d != 0 {
		t.Errorf("%d logins dialled %d connections, want 0 (pooled)", n, d)
	}
	if b := s1.Binds - s0.Binds; b != n {
		t.Errorf("%d logins made %d binds, want %d", n, b, n)
	}
	if s := s1.Searches - s0.Searches; s != n {
		t.Errorf("%d logins made %d searches, want %d", n, s, n)
	}
}

// TestLDAPLoginStaleEntry moves and re-keys alice's entry after a login has
// cached it: the next login's bind of the cached DN is refused, so tenku
// searches again and binds as the new DN; a wrong password is still refused,
// and a password changed in the directory takes effect at once.
func TestLDAPLoginStaleEntry(t *testing.T) {
	c, srv, admin, corp := ldapCloud(t)
	scope := aliceOnDemo(t, c, admin, corp)
	if st, _ := corpLogin(c, "alice", "alice-pw", corp, scope); st != 201 {
		t.Fatalf("first login: %d", st)
	}
	dir, err := goldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if err := dir.Bind(ldaptest.AdminDN, ldaptest.AdminPassword); err != nil {
		t.Fatal(err)
	}
	oldDN := "cn=alice,ou=Users," + ldaptest.Suffix
	if err := dir.ModifyDN(goldap.NewModifyDNRequest(oldDN, "uid=u1001", false, "")); err != nil {
		t.Fatal(err)
	}
	newDN := "uid=u1001,ou=Users," + ldaptest.Suffix
	drv := corpDriver(t, c, corp)
	s0 := drv.Stats()
	if st, _ := corpLogin(c, "alice", "alice-pw", corp, scope); st != 201 {
		t.Fatalf("login after the entry moved: %d", st)
	}
	if s1 := drv.Stats(); s1.Binds-s0.Binds != 2 {
		t.Errorf("login after the move made %d binds, want 2 (the cached DN, then the new one)", s1.Binds-s0.Binds)
	}
	if st, _ := corpLogin(c, "alice", "wrong", corp, scope); st != 401 {
		t.Fatalf("wrong password: %d", st)
	}
	mod := goldap.NewModifyRequest(newDN, nil)
	mod.Replace("userPassword", []string{"alice-new"})
	if err := dir.Modify(mod); err != nil {
		t.Fatal(err)
	}
	if st, _ := corpLogin(c, "alice", "alice-pw", corp, scope); st != 401 {
		t.Fatalf("old password after the directory changed it: %d", st)
	}
	if st, _ := corpLogin(c, "alice", "alice-new", corp, scope); st != 201 {
		t.Fatalf("new password: %d", st)
	}
}

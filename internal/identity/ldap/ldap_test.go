package ldap_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/ldap"
	"github.com/tenku-cloud/tenku/internal/identity/ldap/ldaptest"
)

func corpOptions(url string) map[string]string {
	return map[string]string{
		"url": url, "user": "cn=svc,ou=Users," + ldaptest.Suffix, "password": "svc-pw",
		"suffix": ldaptest.Suffix, "user_tree_dn": "ou=Users," + ldaptest.Suffix,
		"user_id_attribute": "cn", "user_name_attribute": "sn", "user_mail_attribute": "mail",
		"user_enabled_attribute": "employeeType",
		"group_tree_dn":          "ou=Groups," + ldaptest.Suffix, "group_name_attribute": "ou",
		"user_filter": "(!(cn=svc))", "connection_timeout": "2",
	}
}

func newDriver(t *testing.T, opts map[string]string) *ldap.Driver {
	t.Helper()
	cfg, err := ldap.ParseConfig(opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ldap.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func ids[T any](xs []T, id func(T) string) string {
	var out []string
	for _, x := range xs {
		out = append(out, id(x))
	}
	return strings.Join(out, ",")
}

func uid(u *ldap.User) string  { return u.ID }
func gid(g *ldap.Group) string { return g.ID }

func TestUsersGroupsAndBinds(t *testing.T) {
	srv := ldaptest.Start(t, "")
	d := newDriver(t, corpOptions(srv.URL))
	ctx := context.Background()

	us, err := d.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(us, uid); got != "alice,bob,carol" {
		t.Fatalf("users = %s (user_filter must hide svc)", got)
	}
	a, err := d.GetUserByName(ctx, "alice")
	if err != nil || a.ID != "alice" || a.Email != "alice@corp.example" || !a.Enabled || a.Description != "Alice Liddell" {
		t.Fatalf("alice = %+v, %v", a, err)
	}
	c, err := d.GetUser(ctx, "carol")
	if err != nil || c.Enabled {
		t.Fatalf("carol must be disabled (employeeType FALSE): %+v, %v", c, err)
	}
	if _, err := d.GetUser(ctx, "svc"); !errors.Is(err, ldap.ErrNotFound) {
		t.Fatalf("svc is filtered out, got %v", err)
	}
	if _, err := d.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatalf("alice's bind: %v", err)
	}
	for _, pw := range []string{"wrong", ""} {
		if _, err := d.Authenticate(ctx, "alice", pw); !errors.Is(err, ldap.ErrInvalidCredentials) {
			t.Fatalf("password %q: %v", pw, err)
		}
	}
	// the pooled connection that just failed a bind still works
	if _, err := d.Authenticate(ctx, "bob", "bob-pw"); err != nil {
		t.Fatalf("bob's bind: %v", err)
	}

	gs, err := d.ListGroups(ctx)
	if err != nil || ids(gs, gid) != "admins,developers" {
		t.Fatalf("groups = %s, %v", ids(gs, gid), err)
	}
	g, err := d.GetGroupByName(ctx, "developers")
	if err != nil || g.Description != "people who write code" {
		t.Fatalf("developers = %+v, %v", g, err)
	}
	ag, err := d.GroupsOfUser(ctx, "alice")
	if err != nil || ids(ag, gid) != "admins,developers" {
		t.Fatalf("alice's groups = %s, %v", ids(ag, gid), err)
	}
	mem, err := d.UsersOfGroup(ctx, "developers")
	if err != nil || ids(mem, uid) != "alice,bob" {
		t.Fatalf("developers = %s, %v", ids(mem, uid), err)
	}
	all, err := d.Memberships(ctx)
	if err != nil || strings.Join(all["alice"], ",") != "developers,admins" && strings.Join(all["alice"], ",") != "admins,developers" || len(all["bob"]) != 1 {
		t.Fatalf("memberships = %v, %v", all, err)
	}
}

func TestPagingAndSubtreeScope(t *testing.T) {
	srv := ldaptest.Start(t, "")
	o := corpOptions(srv.URL)
	o["page_size"], o["query_scope"], o["user_tree_dn"] = "1", "sub", ldaptest.Suffix
	d := newDriver(t, o)
	us, err := d.ListUsers(context.Background())
	if err != nil || ids(us, uid) != "alice,bob,carol" {
		t.Fatalf("paged subtree users = %s, %v", ids(us, uid), err)
	}
}

func TestEnabledMaskAndInvert(t *testing.T) {
	srv := ldaptest.Start(t, "")
	o := corpOptions(srv.URL)
	o["user_enabled_attribute"], o["user_enabled_mask"], o["user_enabled_default"] = "departmentNumber", "2", "512"
	d := newDriver(t, o)
	ctx := context.Background()
	for id, want := range map[string]bool{"alice": true, "carol": false} {
		if u, err := d.GetUser(ctx, id); err != nil || u.Enabled != want {
			t.Fatalf("mask: %s = %+v, %v", id, u, err)
		}
	}
	o = corpOptions(srv.URL)
	o["user_enabled_invert"] = "true"
	d = newDriver(t, o)
	for id, want := range map[string]bool{"alice": false, "carol": true} {
		if u, err := d.GetUser(ctx, id); err != nil || u.Enabled != want {
			t.Fatalf("invert: %s = %+v, %v", id, u, err)
		}
	}
}

// Names and ids go into filters escaped: a name made of filter syntax
// matches nothing instead of everyone.
func TestFilterInjection(t *testing.T) {
	srv := ldaptest.Start(t, "")
	d := newDriver(t, corpOptions(srv.URL))
	ctx := context.Background()
	for _, name := range []string{"*", "a*", "alice)(cn=*", "*)(|(cn=*", "alice\\", "alice\x00", ")(objectClass=*"} {
		if u, err := d.GetUserByName(ctx, name); !errors.Is(err, ldap.ErrNotFound) {
			t.Errorf("name %q: %+v, %v", name, u, err)
		}
		if _, err := d.Authenticate(ctx, name, "alice-pw"); !errors.Is(err, ldap.ErrNotFound) {
			t.Errorf("login %q: %v", name, err)
		}
		if g, err := d.GetGroupByName(ctx, name); !errors.Is(err, ldap.ErrNotFound) {
			t.Errorf("group %q: %+v, %v", name, g, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, o := range []map[string]string{
		{"query_scope": "base"}, {"page_size": "ten"}, {"url": "http://x"}, {"use_tls": "maybe"},
		{"use_tls": "true", "url": "ldaps://x"}, {"connection_timeout": "soon"},
	} {
		if _, err := ldap.ParseConfig(o); err == nil {
			t.Errorf("%v accepted", o)
		}
	}
	c, err := ldap.ParseConfig(map[string]string{"suffix": "dc=x"})
	if err != nil || c.UserTreeDN != "ou=Users,dc=x" || c.GroupTreeDN != "ou=UserGroups,dc=x" || c.UserNameAttribute != "sn" || c.ConnectionTimeout != ldap.DefaultTimeout {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
}

func TestFaults(t *testing.T) {
	srv := ldaptest.Start(t, "")
	ctx := context.Background()

	t.Run("wrong service password", func(t *testing.T) {
		o := corpOptions(srv.URL)
		o["password"] = "nope"
		_, err := newDriver(t, o).ListUsers(ctx)
		var ue *ldap.UnavailableError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "bind as cn=svc") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("nothing listening", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.42.9.1:0")
		if err != nil {
			t.Skip(err)
		}
		addr := l.Addr().String()
		l.Close()
		start := time.Now()
		_, err = newDriver(t, corpOptions("ldap://"+addr)).Authenticate(ctx, "alice", "alice-pw")
		var ue *ldap.UnavailableError
		if !errors.As(err, &ue) || time.Since(start) > 2*time.Second {
			t.Fatalf("got %v after %v", err, time.Since(start))
		}
	})

	t.Run("directory that never answers", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.42.9.2:0")
		if err != nil {
			t.Skip(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close() // hold it open, say nothing
			}
		}()
		o := corpOptions("ldap://" + l.Addr().String())
		o["connection_timeout"] = "1"
		start := time.Now()
		_, err = newDriver(t, o).GetUser(ctx, "alice")
		var ue *ldap.UnavailableError
		if el := time.Since(start); !errors.As(err, &ue) || el > 2500*time.Millisecond {
			t.Fatalf("got %v after %v (connection_timeout 1s)", err, el)
		}
	})

	t.Run("stopped and restarted", func(t *testing.T) {
		d := newDriver(t, corpOptions(srv.URL))
		if _, err := d.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
		srv.Stop()
		start := time.Now()
		_, err := d.Authenticate(ctx, "alice", "alice-pw")
		var ue *ldap.UnavailableError
		if !errors.As(err, &ue) || time.Since(start) > 3*time.Second {
			t.Fatalf("stopped: %v after %v", err, time.Since(start))
		}
		srv.Restart(t)
		if _, err := d.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			t.Fatalf("after restart: %v", err)
		}
	})
}

package policy

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// benchDefaults are shaped like Nova's 2024 defaults: base rules referenced
// by operation rules, with scope types.
var benchDefaults = []Rule{
	{Name: "context_is_admin", Check: "role:admin"},
	{Name: "admin_api", Check: "role:admin"},
	{Name: "project_member_api", Check: "role:member and project_id:%(project_id)s"},
	{Name: "project_reader_api", Check: "role:reader and project_id:%(project_id)s"},
	{Name: "project_member_or_admin", Check: "rule:project_member_api or rule:context_is_admin"},
	{Name: "project_reader_or_admin", Check: "rule:project_reader_api or rule:context_is_admin"},
	{Name: "os_compute_api:servers:show", Check: "rule:project_reader_or_admin", ScopeTypes: []string{"project"}},
	{Name: "os_compute_api:servers:create", Check: "rule:project_member_or_admin", ScopeTypes: []string{"project"}},
	{Name: "os_compute_api:os-hypervisors:list", Check: "rule:admin_api", ScopeTypes: []string{"project"}},
	{Name: "identity:get_project", Check: "(role:reader and system_scope:all) or project_id:%(target.project.id)s or (role:reader and domain_id:%(target.project.domain_id)s)"},
}

func benchEnforcer(b testing.TB) *Enforcer {
	e, err := New(benchDefaults, DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	return e
}

var (
	benchMember = Credentials{UserID: "u1", ProjectID: "p1", ProjectDomainID: "default", UserDomainID: "default",
		Roles: []string{"reader", "member"}, IsAdminProject: true}
	benchAdmin  = Credentials{UserID: "a1", ProjectID: "admin", Roles: []string{"reader", "member", "admin"}, IsAdminProject: true}
	benchTarget = map[string]any{"project_id": "p1", "user_id": "u1"}
)

func BenchmarkEnforce(b *testing.B) {
	e := benchEnforcer(b)
	ctx := context.Background()
	cases := []struct {
		name   string
		rule   string
		creds  Credentials
		target map[string]any
		allow  bool
	}{
		{"member-show", "os_compute_api:servers:show", benchMember, benchTarget, true},
		{"member-create", "os_compute_api:servers:create", benchMember, benchTarget, true},
		{"admin-create-other-project", "os_compute_api:servers:create", benchAdmin, benchTarget, true},
		{"role-admin", "admin_api", benchAdmin, benchTarget, true},
		{"keystone-get-project", "identity:get_project", benchMember, map[string]any{"target.project.id": "p1"}, true},
		{"deny-hypervisors", "os_compute_api:os-hypervisors:list", benchMember, benchTarget, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				err := e.Enforce(ctx, c.rule, c.target, c.creds)
				if (err == nil) != c.allow {
					b.Fatalf("Enforce(%s) = %v", c.rule, err)
				}
			}
		})
	}
}

// Enforce on the allow path must not allocate: services call it on every
// request.
func TestEnforceDoesNotAllocate(t *testing.T) {
	path := t.TempDir() + "/policy.yaml"
	writeFile(t, path, "admin_api: 'role:admin or role:operator'\n")
	for _, opts := range []Options{DefaultOptions(), {EnforceScope: true, PolicyFile: path}} {
		e := mustNew(t, benchDefaults, opts)
		ctx := context.Background()
		for _, c := range []struct {
			rule   string
			creds  Credentials
			target map[string]any
		}{
			{"os_compute_api:servers:show", benchMember, benchTarget},
			{"os_compute_api:servers:create", benchAdmin, benchTarget},
			{"identity:get_project", benchMember, map[string]any{"target.project.id": "p1"}},
		} {
			allocs := testing.AllocsPerRun(200, func() {
				if err := e.Enforce(ctx, c.rule, c.target, c.creds); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Enforce(%s) allocates %.1f times per call", c.rule, allocs)
			}
		}
	}
}

func BenchmarkEnforceWatchingFile(b *testing.B) {
	path := b.TempDir() + "/policy.yaml"
	if err := os.WriteFile(path, []byte("admin_api: 'role:admin'\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	opts := DefaultOptions()
	opts.PolicyFile = path
	e, err := New(benchDefaults, opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Enforce(ctx, "os_compute_api:servers:show", benchTarget, benchMember); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew builds an Enforcer of the size of Nova's policy (some 500
// rules), which is also the cost of a policy file reload.
func BenchmarkNew(b *testing.B) {
	var defaults []Rule
	defaults = append(defaults, benchDefaults[:6]...)
	for i := range 500 {
		defaults = append(defaults, Rule{
			Name:       fmt.Sprintf("os_compute_api:thing%d:action", i),
			Check:      "(rule:project_member_api and not role:%(role)s) or rule:context_is_admin",
			ScopeTypes: []string{ScopeProject},
		})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(defaults, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var p problemList
		parseText("(role:reader and system_scope:all) or (role:reader and project_id:%(project_id)s) or 'member':%(role.name)s", &p)
	}
}

package policy

import (
	"context"
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

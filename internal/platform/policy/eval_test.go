package policy

import (
	"encoding/json"
	"testing"
)

var (
	member = Credentials{UserID: "u1", UserDomainID: "default", ProjectID: "p1", ProjectDomainID: "default",
		Roles: []string{"reader", "Member"}, IsAdminProject: true}
	systemAdmin = Credentials{UserID: "admin", SystemScope: "all", Roles: []string{"admin", "member", "reader"}, IsAdminProject: true}
	domainUser  = Credentials{UserID: "u2", DomainID: "d1", Roles: []string{"reader"}}
	tokenExtra  = Credentials{UserID: "u1", Roles: []string{"member"}, Extra: map[string]any{
		"token": map[string]any{
			"user":  map[string]any{"id": "u1", "enabled": true},
			"roles": []any{map[string]any{"name": "member"}, map[string]any{"name": "reader"}},
		},
		"groups": []any{"g1", "g2"},
	}}
)

// evalCases is the corner-case table for single checks. want is what oslo
// does: rTrue/rFalse, or rAbort where oslo's enforce() raises. Every case
// not marked ours was checked against oslo.policy's own _checks.
var evalCases = []struct {
	name   string
	rule   string
	target map[string]any
	creds  Credentials
	want   result
	ours   bool // behaviour tenku defines (no oslo counterpart)
}{
	{name: "always", rule: "@", creds: member, want: rTrue},
	{name: "never", rule: "!", creds: member, want: rFalse},
	{name: "empty rule", rule: "", creds: member, want: rTrue},
	{name: "role exact", rule: "role:reader", creds: member, want: rTrue},
	{name: "role case-insensitive in creds", rule: "role:member", creds: member, want: rTrue},
	{name: "role case-insensitive in rule", rule: "role:READER", creds: member, want: rTrue},
	{name: "role absent", rule: "role:admin", creds: member, want: rFalse},
	{name: "role no roles", rule: "role:admin", creds: Credentials{UserID: "x"}, want: rFalse},
	{name: "role substituted", rule: "role:%(role)s", target: map[string]any{"role": "MEMBER"}, creds: member, want: rTrue},
	{name: "role substitution missing key", rule: "role:%(role)s", target: map[string]any{}, creds: member, want: rFalse},
	{name: "role empty name", rule: "role:", creds: member, want: rFalse},
	{name: "project owner", rule: "project_id:%(project_id)s", target: map[string]any{"project_id": "p1"}, creds: member, want: rTrue},
	{name: "project other", rule: "project_id:%(project_id)s", target: map[string]any{"project_id": "p2"}, creds: member, want: rFalse},
	{name: "project missing target key", rule: "project_id:%(project_id)s", target: map[string]any{"user_id": "u1"}, creds: member, want: rFalse},
	{name: "project nil target", rule: "project_id:%(project_id)s", creds: member, want: rFalse},
	{name: "None equals None", rule: "project_id:%(project_id)s", target: map[string]any{"project_id": nil}, creds: systemAdmin, want: rTrue},
	{name: "None is not empty", rule: "project_id:%(project_id)s", target: map[string]any{"project_id": ""}, creds: systemAdmin, want: rFalse},
	{name: "constant match", rule: "user_id:u1", creds: member, want: rTrue},
	{name: "domain_id None", rule: "domain_id:None", creds: member, want: rTrue},
	{name: "system_scope", rule: "system_scope:all", creds: systemAdmin, want: rTrue},
	{name: "system derived from system_scope", rule: "system:all", creds: systemAdmin, want: rTrue},
	{name: "system absent is a missing key", rule: "system:None", creds: member, want: rFalse},
	{name: "bool credential", rule: "is_admin_project:True", creds: member, want: rTrue},
	{name: "bool credential lower case", rule: "is_admin_project:true", creds: member, want: rFalse},
	{name: "bool false credential", rule: "is_admin_project:False", creds: domainUser, want: rTrue},
	{name: "True literal vs bool target", rule: "True:%(enabled)s", target: map[string]any{"enabled": true}, creds: member, want: rTrue},
	{name: "True literal vs string target", rule: "True:%(enabled)s", target: map[string]any{"enabled": "True"}, creds: member, want: rTrue},
	{name: "True literal vs lower string", rule: "True:%(enabled)s", target: map[string]any{"enabled": "true"}, creds: member, want: rFalse},
	{name: "False literal", rule: "False:%(enabled)s", target: map[string]any{"enabled": false}, creds: member, want: rTrue},
	{name: "None literal", rule: "None:%(x)s", target: map[string]any{"x": nil}, creds: member, want: rTrue},
	{name: "single-quoted literal", rule: "'member':%(role)s", target: map[string]any{"role": "member"}, creds: member, want: rTrue},
	{name: "double-quoted literal", rule: `"member":%(role)s`, target: map[string]any{"role": "member"}, creds: member, want: rTrue},
	{name: "quoted literal case-sensitive", rule: "'member':%(role)s", target: map[string]any{"role": "Member"}, creds: member, want: rFalse},
	{name: "int literal vs int", rule: "20:%(n)s", target: map[string]any{"n": 20}, creds: member, want: rTrue},
	{name: "int literal vs string", rule: "20:%(n)s", target: map[string]any{"n": "20"}, creds: member, want: rTrue},
	{name: "int literal vs float", rule: "20:%(n)s", target: map[string]any{"n": 20.0}, creds: member, want: rFalse},
	{name: "float literal vs float", rule: "20.0:%(n)s", target: map[string]any{"n": 20.0}, creds: member, want: rTrue},
	{name: "hex literal", rule: "0x14:%(n)s", target: map[string]any{"n": 20}, creds: member, want: rTrue},
	{name: "negative literal", rule: "-1:%(n)s", target: map[string]any{"n": -1}, creds: member, want: rTrue},
	{name: "list literal", rule: "[1,'a']:%(l)s", target: map[string]any{"l": []any{1, "a"}}, creds: member, want: rTrue},
	{name: "list target value is its repr", rule: "'x':%(l)s", target: map[string]any{"l": []any{"x"}}, creds: member, want: rFalse},
	{name: "generic list membership", rule: "roles:reader", creds: member, want: rTrue},
	{name: "generic list membership is case-sensitive", rule: "roles:member", creds: member, want: rFalse},
	{name: "nested path", rule: "token.user.id:%(user_id)s", target: map[string]any{"user_id": "u1"}, creds: tokenExtra, want: rTrue},
	{name: "nested bool", rule: "token.user.enabled:True", creds: tokenExtra, want: rTrue},
	{name: "path through list of dicts", rule: "token.roles.name:reader", creds: tokenExtra, want: rTrue},
	{name: "path through list of dicts, absent", rule: "token.roles.name:admin", creds: tokenExtra, want: rFalse},
	{name: "list in Extra", rule: "groups:g2", creds: tokenExtra, want: rTrue},
	{name: "missing path", rule: "token.project.id:x", creds: tokenExtra, want: rFalse},
	{name: "missing top key", rule: "nothing:x", creds: member, want: rFalse},
	{name: "not missing top key", rule: "not nothing:x", creds: member, want: rTrue},
	{name: "path into a string raises", rule: "user_id.x:y", creds: member, want: rAbort},
	{name: "path into None raises", rule: "project_id.x:y", creds: systemAdmin, want: rAbort},
	{name: "not does not rescue a raise", rule: "not user_id.x:y", creds: member, want: rAbort},
	{name: "short-circuit before a raise", rule: "@ or user_id.x:y", creds: member, want: rTrue},
	{name: "raise before the rest of an or", rule: "user_id.x:y or @", creds: member, want: rAbort},
	{name: "kind syntax error raises", rule: "1abc:%(x)s", target: map[string]any{"x": "1"}, creds: member, want: rAbort},
	{name: "missing key wins over kind syntax error", rule: "1abc:%(x)s", target: map[string]any{}, creds: member, want: rFalse},
	{name: "hyphenated kind is a path", rule: "os-flag:x", creds: Credentials{Extra: map[string]any{"os-flag": "x"}}, want: rTrue},
	{name: "percent escape", rule: "name:100%%", creds: Credentials{Extra: map[string]any{"name": "100%"}}, want: rTrue},
	{name: "dangling percent raises", rule: "name:100%", creds: Credentials{Extra: map[string]any{"name": "100%"}}, want: rAbort},
	{name: "%d of an int", rule: "n:%(n)d", target: map[string]any{"n": 7}, creds: Credentials{Extra: map[string]any{"n": 7}}, want: rTrue},
	{name: "%d of a float truncates", rule: "n:%(n)d", target: map[string]any{"n": 7.9}, creds: Credentials{Extra: map[string]any{"n": 7}}, want: rTrue},
	{name: "%d of a string raises", rule: "n:%(n)d", target: map[string]any{"n": "7"}, creds: member, want: rAbort},
	{name: "zero padding", rule: "'007':%(v)03d", target: map[string]any{"v": 7}, creds: member, want: rTrue},
	{name: "precision truncates", rule: "'ab':%(v).2s", target: map[string]any{"v": "abc"}, creds: member, want: rTrue},
	{name: "%r quotes", rule: `"'x'":%(v)r`, target: map[string]any{"v": "x"}, creds: member, want: rTrue},
	{name: "keyless %s formats the whole target", rule: "blob:%s", target: map[string]any{"a": 1},
		creds: Credentials{Extra: map[string]any{"blob": "{'a': 1}"}}, want: rTrue},
	{name: "two keyless directives raise", rule: "x:%s%s", target: map[string]any{"a": 1}, creds: member, want: rAbort},
	{name: "json.Number int", rule: "20:%(n)s", target: map[string]any{"n": json.Number("20")}, creds: member, want: rTrue},
	{name: "json.Number float", rule: "20.0:%(n)s", target: map[string]any{"n": json.Number("2e1")}, creds: member, want: rTrue},
	{name: "parse failure", rule: "role:reader and", creds: member, want: rFalse},
	{name: "quoted token fails the rule", rule: "@ or 'x'", creds: member, want: rFalse},
	{name: "malformed check is never", rule: "role:reader and foo", creds: member, want: rFalse},
	{name: "malformed check under not", rule: "not foo", creds: member, want: rTrue},
	{name: "http check never passes", rule: "http://example.com/%(name)s", target: map[string]any{"name": "x"}, creds: member, want: rFalse, ours: true},
	{name: "dotted key through nested target", rule: "project_id:%(target.project.id)s",
		target: map[string]any{"target": map[string]any{"project": map[string]any{"id": "p1"}}}, creds: member, want: rTrue, ours: true},
	{name: "flat dotted key", rule: "project_id:%(target.project.id)s", target: map[string]any{"target.project.id": "p1"}, creds: member, want: rTrue},
	{name: "roles from Extra when Roles is nil", rule: "role:admin", creds: Credentials{Extra: map[string]any{"roles": []any{"ADMIN"}}}, want: rTrue},
	{name: "non-string role in Extra raises", rule: "role:admin", creds: Credentials{Extra: map[string]any{"roles": []any{1}}}, want: rAbort},
	{name: "service roles", rule: "service_roles:service", creds: Credentials{ServiceRoles: []string{"service"}}, want: rTrue},
}

func TestEvalCases(t *testing.T) {
	for _, c := range evalCases {
		t.Run(c.name, func(t *testing.T) {
			var probs problemList
			n := parseText(c.rule, &probs)
			creds := c.creds
			if got := n.eval(c.target, &creds, 0); got != c.want {
				t.Errorf("%q = %v, want %v (parsed %s, problems %v)", c.rule, got, c.want, n, probs)
			}
		})
	}
}

func TestEqualLower(t *testing.T) {
	cases := []struct {
		lower, s string
		want     bool
	}{
		{"admin", "admin", true},
		{"admin", "ADMIN", true},
		{"admin", "Admin", true},
		{"admin", "admins", false},
		{"straße", "STRAẞE", true}, // ẞ lowers to ß
		{"éa", "ÉA", true},
		{"k", "\u212a", true}, // KELVIN SIGN lowers to k
		{"", "", true},
		{"a", "", false},
	}
	for _, c := range cases {
		if got := equalLower(c.lower, c.s); got != c.want {
			t.Errorf("equalLower(%q, %q) = %v", c.lower, c.s, got)
		}
	}
}

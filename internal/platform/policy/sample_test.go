package policy

import (
	"strings"
	"testing"
)

// sampleRules exercise every part of the sample format.
var sampleRules = []Rule{
	{Name: "context_is_admin", Check: "role:admin", Description: "Decides what is required for the 'is_admin:True' check to succeed."},
	{Name: "admin_or_owner", Check: "is_admin:True or project_id:%(project_id)s"},
	{
		Name:        "os_compute_api:servers:create",
		Check:       "role:member and project_id:%(project_id)s",
		Description: "Create a server",
		Operations:  []Operation{{Method: "POST", Path: "/servers"}, {Method: "POST", Path: "/servers/{server_id}/action (createImage)"}},
		ScopeTypes:  []string{ScopeProject},
	},
	{
		Name:  "os_compute_api:os-extended-server-attributes",
		Check: "rule:admin_api",
		Description: "Return extended attributes for server.\n\nThis rule will control the visibility for a set of servers attributes:\n\n" +
			"- ``OS-EXT-SRV-ATTR:host``\n- ``OS-EXT-SRV-ATTR:instance_name``\n- ``OS-EXT-SRV-ATTR:reservation_id`` (since microversion 2.3)\n\n" +
			"Microversion 2.75 added the ``OS-EXT-SRV-ATTR:hostname`` attribute to the os-extended-server-attributes-and-friends response with a very-long-hyphenated-word-that-needs-breaking.\n" +
			"    literal block right after a paragraph\n\n" +
			"Supercalifragilisticexpialidocious-and-then-some-more-text-that-is-far-longer-than-seventy-columns-wide.",
		Operations: []Operation{{Method: "GET", Path: "/servers/{id}"}},
		ScopeTypes: []string{ScopeSystem, ScopeProject},
		DeprecatedRule: &DeprecatedRule{Name: "os_compute_api:os-extended-server-attributes", Check: "rule:admin_or_owner",
			Reason: "Nova API policies are introducing new default roles with scope_type capabilities.", Since: "21.0.0"},
	},
	{
		Name: "identity:create_credential", Check: "(role:admin and system_scope:all) or user_id:%(target.credential.user_id)s",
		Description: "Create credential.", ScopeTypes: []string{},
		Operations:     []Operation{{Method: "POST", Path: "/v3/credentials"}},
		DeprecatedRule: &DeprecatedRule{Name: "identity:post_credential", Check: "rule:admin_required", Since: "S"},
	},
	{
		Name: "os_compute_api:os-networks:view", Check: "rule:project_reader_api", Description: "List networks.",
		DeprecatedForRemoval: true, DeprecatedReason: "Nova networking is gone.\n\nUse Neutron.", DeprecatedSince: "22.0.0",
	},
}

// sampleWant is oslo.policy's generator output (_format_rule_default_yaml)
// for sampleRules.
const sampleWant = "# Decides what is required for the 'is_admin:True' check to succeed.\n" +
	"#\"context_is_admin\": \"role:admin\"\n" +
	"\n" +
	"#\"admin_or_owner\": \"is_admin:True or project_id:%(project_id)s\"\n" +
	"\n" +
	"# Create a server\n" +
	"# POST  /servers\n" +
	"# POST  /servers/{server_id}/action (createImage)\n" +
	"# Intended scope(s): project\n" +
	"#\"os_compute_api:servers:create\": \"role:member and project_id:%(project_id)s\"\n" +
	"\n" +
	"# Return extended attributes for server.\n" +
	"#\n" +
	"# This rule will control the visibility for a set of servers\n" +
	"# attributes:\n" +
	"#\n" +
	"# - ``OS-EXT-SRV-ATTR:host`` - ``OS-EXT-SRV-ATTR:instance_name`` -\n" +
	"# ``OS-EXT-SRV-ATTR:reservation_id`` (since microversion 2.3)\n" +
	"#\n" +
	"# Microversion 2.75 added the ``OS-EXT-SRV-ATTR:hostname`` attribute\n" +
	"# to the os-extended-server-attributes-and-friends response with a\n" +
	"# very-long-hyphenated-word-that-needs-breaking.\n" +
	"#\n" +
	"#     literal block right after a paragraph\n" +
	"#\n" +
	"# Supercalifragilisticexpialidocious-and-then-some-more-text-that-is-\n" +
	"# far-longer-than-seventy-columns-wide.\n" +
	"# GET  /servers/{id}\n" +
	"# Intended scope(s): system, project\n" +
	"#\"os_compute_api:os-extended-server-attributes\": \"rule:admin_api\"\n" +
	"\n" +
	"# DEPRECATED\n" +
	"# \"os_compute_api:os-extended-server-attributes\":\"rule:admin_or_owner\"\n" +
	"# has been deprecated since 21.0.0 in favor of \"os_compute_api:os-\n" +
	"# extended-server-attributes\":\"rule:admin_api\".\n" +
	"# Nova API policies are introducing new default roles with scope_type\n" +
	"# capabilities.\n" +
	"\n" +
	"# Create credential.\n" +
	"# POST  /v3/credentials\n" +
	"# Intended scope(s): \n" +
	"#\"identity:create_credential\": \"(role:admin and system_scope:all) or user_id:%(target.credential.user_id)s\"\n" +
	"\n" +
	"# DEPRECATED\n" +
	"# \"identity:post_credential\":\"rule:admin_required\" has been deprecated\n" +
	"# since S in favor of \"identity:create_credential\":\"(role:admin and\n" +
	"# system_scope:all) or user_id:%(target.credential.user_id)s\".\n" +
	"#\n" +
	"# WARNING: A rule name change has been identified.\n" +
	"#          This may be an artifact of new rules being\n" +
	"#          included which require legacy fallback\n" +
	"#          rules to ensure proper policy behavior.\n" +
	"#          Alternatively, this may just be an alias.\n" +
	"#          Please evaluate on a case by case basis\n" +
	"#          keeping in mind the format for aliased\n" +
	"#          rules is:\n" +
	"#          \"old_rule_name\": \"new_rule_name\".\n" +
	"# \"identity:post_credential\": \"rule:identity:create_credential\"\n" +
	"\n" +
	"# DEPRECATED\n" +
	"# \"os_compute_api:os-networks:view\" has been deprecated since 22.0.0.\n" +
	"# Nova networking is gone.\n" +
	"#\n" +
	"# Use Neutron.\n" +
	"# List networks.\n" +
	"#\"os_compute_api:os-networks:view\": \"rule:project_reader_api\"\n" +
	"\n"

func TestSample(t *testing.T) {
	got := Sample(sampleRules)
	if got != sampleWant {
		gl, wl := strings.Split(got, "\n"), strings.Split(sampleWant, "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("Sample differs at line %d:\n got: %q\nwant: %q", i+1, g, w)
			}
		}
	}
}

func TestHelpText(t *testing.T) {
	cases := []struct{ desc, want string }{
		{"", "#"},
		{"One line.", "# One line."},
		{"  \n\nPadded.\n\n", "# Padded."},
		{"a\n\n\nb", "# a\n#\n#\n# b"},
		{"para\n\n    literal\n    block", "# para\n#\n#     literal\n#     block"},
		{"para\n  literal", "# para\n#\n#   literal"},
		{"joined\nlines", "# joined lines"},
	}
	for _, c := range cases {
		if got := helpText(c.desc); got != c.want {
			t.Errorf("helpText(%q) = %q, want %q", c.desc, got, c.want)
		}
	}
}

func TestWrapText(t *testing.T) {
	// Python's textwrap.wrap(s, 70, initial_indent="# ", subsequent_indent="# ").
	cases := []struct {
		s    string
		want []string
	}{
		{"", nil},
		{"short", []string{"# short"}},
		{strings.Repeat("word ", 20), []string{
			"# word word word word word word word word word word word word word",
			"# word word word word word word word"}},
		{strings.Repeat("x", 80), []string{"# " + strings.Repeat("x", 68), "# " + strings.Repeat("x", 12)}},
		{"aaaa " + strings.Repeat("b", 60) + "-cccccc-dddd", []string{
			"# aaaa " + strings.Repeat("b", 60) + "-", "# cccccc-dddd"}},
	}
	for _, c := range cases {
		got := wrapText(c.s, 70, "# ", "# ")
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("wrapText(%q) =\n%s\nwant\n%s", c.s, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
}

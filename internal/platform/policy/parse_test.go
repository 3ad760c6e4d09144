package policy

import (
	"strings"
	"testing"
)

// The expected renderings are oslo.policy's own: str() of what its
// _parser.parse_rule returns for the same text.
func TestParseText(t *testing.T) {
	cases := []struct{ rule, want string }{
		{"", "@"},
		{"@", "@"},
		{"!", "!"},
		{"role:admin", "role:admin"},
		{"rule:admin_api", "rule:admin_api"},
		{"a:b", "a:b"},
		{"a:b and c:d", "(a:b and c:d)"},
		{"a:b or c:d", "(a:b or c:d)"},
		{"a:b or c:d and e:f", "(a:b or (c:d and e:f))"},
		{"a:b and c:d or e:f", "((a:b and c:d) or e:f)"},
		{"a:b or c:d and e:f and g:h", "(a:b or (c:d and e:f and g:h))"},
		{"a:b and c:d or e:f and g:h", "((a:b and c:d) or (e:f and g:h))"},
		{"a:b or (c:d or e:f) and g:h", "(a:b or ((c:d or e:f) and g:h))"},
		{"(a:b or c:d) and e:f", "((a:b or c:d) and e:f)"},
		{"not a:b", "not a:b"},
		{"not a:b and c:d", "(not a:b and c:d)"},
		{"not a:b or c:d", "(not a:b or c:d)"},
		{"a:b and not c:d", "(a:b and not c:d)"},
		{"a:b or not c:d and e:f", "(a:b or (not c:d and e:f))"},
		{"not (a:b or c:d)", "not (a:b or c:d)"},
		{"not not a:b", "not not a:b"},
		{"((a:b))", "a:b"},
		{"(a:b)", "a:b"},
		{"( a:b )", "a:b"},
		{"(a:b and (c:d or (e:f)))", "(a:b and (c:d or e:f))"},
		{"a:b AND c:d", "(a:b and c:d)"},
		{"a:b Or c:d", "(a:b or c:d)"},
		{"NOT a:b", "not a:b"},
		{"a:b and\tc:d\n or e:f", "((a:b and c:d) or e:f)"},
		{"a:b and", "!"},
		{"and a:b", "!"},
		{"a:b c:d", "!"},
		{"(a:b", "!"},
		{"a:b)", "!"},
		{"()", "!"},
		{"not", "!"},
		{"a:b or", "!"},
		{"or", "!"},
		{"foo", "!"},
		{"a:b or foo", "(a:b or !)"},
		{"'quoted'", "!"},
		{"a:b or 'quoted'", "!"},
		{"\"x\"", "!"},
		{"'x':%(name)s", "'x':%(name)s"},
		{"\"x\":%(name)s", "\"x\":%(name)s"},
		{"('x':%(name)s)", "'x':%(name)s"},
		{"(\"x\")", "!"},
		{"role:a:b", "role:a:b"},
		{"project_id:%(project_id)s", "project_id:%(project_id)s"},
		{"http://example.com/%(name)s", "http://example.com/%(name)s"},
		{"a:b)(", "a:b)("},
		{"a:b or () or c:d", "!"},
		{"@ and !", "(@ and !)"},
		{"a:b or not not c:d", "(a:b or not not c:d)"},
		{"a:b and not (c:d or e:f) and g:h", "(a:b and not (c:d or e:f) and g:h)"},
	}
	for _, c := range cases {
		var probs problemList
		got := parseText(c.rule, &probs)
		if got.String() != c.want {
			t.Errorf("parseText(%q) = %s, want %s", c.rule, got, c.want)
		}
		if c.want == "!" && c.rule != "!" && len(probs) == 0 {
			t.Errorf("parseText(%q) failed closed without reporting a problem", c.rule)
		}
	}
}

// Precedence shows in evaluation too: "and" binds tighter than "or", "not"
// tighter than both.
func TestPrecedenceEvaluation(t *testing.T) {
	// t/f are generic checks against a constant: 'x':x is true, 'x':y false.
	const T, F = "'x':x", "'x':y"
	cases := []struct {
		rule string
		want bool
	}{
		{T + " or " + F + " and " + F, true},         // T or (F and F)
		{"(" + T + " or " + F + ") and " + F, false}, // grouping
		{F + " and " + F + " or " + T, true},         // (F and F) or T
		{"not " + T + " or " + T, true},              // (not T) or T
		{"not " + T + " and " + T, false},            // (not T) and T
		{"not (" + T + " and " + F + ")", true},
		{T + " and not " + F + " and " + T, true},
		{F + " or " + F + " or " + F + " or " + T, true},
		{F + " OR " + T + " AND " + T, true},
	}
	for _, c := range cases {
		var probs problemList
		n := parseText(c.rule, &probs)
		if got := n.eval(nil, &Credentials{}, 0) == rTrue; got != c.want {
			t.Errorf("%s (parsed %s) = %v, want %v", c.rule, n, got, c.want)
		}
	}
}

func TestParseList(t *testing.T) {
	cases := []struct {
		rule []any
		want string
	}{
		{[]any{}, "@"},
		{[]any{[]any{}}, "!"},
		{[]any{"role:admin"}, "role:admin"},
		{[]any{[]any{"role:admin"}}, "role:admin"},
		{[]any{[]any{"role:admin"}, []any{"project_id:%(project_id)s", "role:member"}}, "(role:admin or (project_id:%(project_id)s and role:member))"},
		{[]any{[]any{"role:a or role:b"}}, "role:a or role:b"}, // one check, not policy language
		{[]any{[]any{}, "@"}, "@"},
		{[]any{"foo"}, "!"},
		{[]any{42}, "!"},
		{[]any{[]any{42}}, "!"},
	}
	for _, c := range cases {
		var probs problemList
		if got := parseList(c.rule, &probs); got.String() != c.want {
			t.Errorf("parseList(%v) = %s, want %s", c.rule, got, c.want)
		}
	}
}

func TestParseValue(t *testing.T) {
	var probs problemList
	if got := parseValue(nil, &probs); got.op != opTrue {
		t.Errorf("a rule with no value (YAML null) = %s, want @ as oslo reads it", got)
	}
	if got := parseValue(true, &probs); got.op != opFalse || len(probs) == 0 {
		t.Errorf("a boolean rule = %s (problems %v), want ! and a problem", got, probs)
	}
}

// The String form of any parsed text rule parses back to the same tree.
func TestStringRoundTrip(t *testing.T) {
	for _, rule := range []string{
		"role:admin or (project_id:%(project_id)s and not role:reader)",
		"not (a:b or c:d) and e:f or g:h",
		"'member':%(role.name)s or True:%(user.enabled)s",
		"@ or ! and not @",
	} {
		var p problemList
		n := parseText(rule, &p)
		again := parseText(n.String(), &p)
		if !n.equal(again) {
			t.Errorf("%q: %s re-parses to %s", rule, n, again)
		}
	}
}

func TestParseProblems(t *testing.T) {
	cases := []struct {
		rule, want string
	}{
		{"role:admin or foo", "failed to understand check"},
		{"http://example.com/check", "remote check"},
		{"1abc:%(x)s", "not a Python literal or name"},
		{"name:%(x)5q", "unsupported format character"},
		{"role:admin and", "could not parse rule"},
	}
	for _, c := range cases {
		var probs problemList
		parseText(c.rule, &probs)
		if !strings.Contains(strings.Join(probs, "; "), c.want) {
			t.Errorf("parseText(%q) problems = %q, want one mentioning %q", c.rule, probs, c.want)
		}
	}
}

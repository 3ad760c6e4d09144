package policy

import (
	"context"
	"log/slog"
	"testing"
)

// fuzzTarget and fuzzCreds give evaluation something to walk: nested maps,
// lists, nils, numbers and bools.
var (
	fuzzTarget = map[string]any{
		"project_id": "p1", "user_id": "u1", "n": 7, "f": 1.5, "b": true, "nil": nil,
		"l": []any{"a", 1, nil}, "m": map[string]any{"k": "v", "l": []any{map[string]any{"k": "w"}}},
		"target.project.id": "p1",
	}
	fuzzCreds = Credentials{UserID: "u1", ProjectID: "p1", Roles: []string{"reader", "Member"}, IsAdminProject: true,
		Extra: map[string]any{"token": map[string]any{"roles": []any{map[string]any{"name": "member"}, "x", 3}}, "s": "str"}}
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "@", "!", "role:admin or (project_id:%(project_id)s and not role:reader)",
		"((a:b)", "a:b)) or", "not not not", "'x':%(y)s", `"x"`, "True:%(b)s", "token.roles.name:member",
		"rule:a or rule:b", "http://x/%(y)s", "1abc:%(n)d", "x:%(f)08.3f", "x:%s%s", "[1,(2,)]:%(l)r", "a\tand\nb:c",
		"-(1):%(n)s", "0x_f:x", "'\\N{DASH}':x", "b'\\xff':x", "x:%(m)s", "f(a=1)[0].b:c",
	} {
		f.Add(s)
	}
	e, err := New([]Rule{{Name: "a", Check: "rule:b"}, {Name: "b", Check: "role:reader or rule:a"}}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		var probs problemList
		n := parseText(rule, &probs)
		// The rendering of a text-parsed tree parses back to the same tree.
		if again := parseText(n.String(), &probs); !n.equal(again) {
			t.Errorf("%q: %s re-parses to %s", rule, n, again)
		}
		// Evaluation never panics, linked or not.
		creds := fuzzCreds
		n.eval(fuzzTarget, &creds, 0)
		rs := e.rules.Load()
		local := &ruleset{rules: map[string]*entry{"x": {name: "x", root: n}}, def: rs.def}
		for k, v := range rs.rules {
			local.rules[k] = v
		}
		e.link(local)
		if err := e.enforce(context.Background(), local, "x", fuzzTarget, &creds); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Errorf("enforce returned %T", err)
			}
		}
		// A list-form rule built from the same text never panics either.
		parseList([]any{rule, []any{rule, rule}}, &probs)
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"%(project_id)s", "%", "%%", "%(a", "%(n)-08.3d", "%(f)#G", "%s %(n)s", "%(l)c", "%(nil)x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm := parseTemplate(s)
		tm.render(fuzzTarget)
		tm.render(nil)
	})
}

func FuzzKind(f *testing.F) {
	for _, s := range []string{"True", "'a''b'", "0x1_f", "1e5j", "-(1)", "[1,{2}]", "a.b.c", "f(*a, **b)", "x if y else z", `'\x4'`, "r'\\'", "(yield)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit, class := classifyKind(s)
		if class != kindLiteral && lit != "" {
			t.Errorf("classifyKind(%q) = %q for a non-literal", s, lit)
		}
	})
}

func FuzzPolicyFile(f *testing.F) {
	for _, s := range []string{"a: role:x\n", "{\"a\": [[\"role:x\"]]}", "- 1\n", "a:\n  - - x\n", "a: {b: c}\n", "? [1]\n: x\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		file, err := parseOverrides([]byte(data))
		if err != nil {
			return
		}
		e := &Enforcer{defaults: []Rule{{Name: "a", Check: "@"}}, opts: Options{DefaultRule: "default"}, log: slog.New(slog.DiscardHandler)}
		rs := e.build(file)
		creds := fuzzCreds
		for name := range rs.rules {
			e.enforce(context.Background(), rs, name, fuzzTarget, &creds)
		}
	})
}

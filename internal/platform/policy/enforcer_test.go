package policy

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects an Enforcer's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

func mustNew(t *testing.T, defaults []Rule, opts Options) *Enforcer {
	t.Helper()
	e, err := New(defaults, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// allowed is Enforce as a bool, failing the test on errors other than
// Forbidden.
func allowed(t *testing.T, e *Enforcer, rule string, target map[string]any, c Credentials) bool {
	t.Helper()
	err := e.Enforce(context.Background(), rule, target, c)
	if err != nil && !errors.Is(err, ErrForbidden) {
		t.Fatalf("Enforce(%s) = %v, want nil or Forbidden", rule, err)
	}
	return err == nil
}

var owner = map[string]any{"project_id": "p1"}

func TestDefaultRule(t *testing.T) {
	base := []Rule{{Name: "known", Check: "role:admin"}, {Name: "refers", Check: "rule:undefined"}}
	cases := []struct {
		name        string
		defaultRule string
		extra       []Rule
		rule        string
		want        bool
	}{
		{"unknown name, default allows", "", []Rule{{Name: "default", Check: "@"}}, "nope", true},
		{"unknown name, default denies", "", []Rule{{Name: "default", Check: "!"}}, "nope", false},
		{"unknown name, default checks", "", []Rule{{Name: "default", Check: "role:reader"}}, "nope", true},
		{"unknown name, no default", "", nil, "nope", false},
		{"known name ignores default", "", []Rule{{Name: "default", Check: "@"}}, "known", false},
		{"undefined rule: reference uses default", "", []Rule{{Name: "default", Check: "@"}}, "refers", true},
		{"undefined rule: reference without default", "", nil, "refers", false},
		{"custom default rule name", "fallback", []Rule{{Name: "fallback", Check: "@"}}, "nope", true},
		{"custom name, plain default ignored", "fallback", []Rule{{Name: "default", Check: "@"}}, "nope", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustNew(t, append(append([]Rule{}, base...), c.extra...), Options{DefaultRule: c.defaultRule})
			if got := allowed(t, e, c.rule, nil, member); got != c.want {
				t.Errorf("Enforce(%s) allowed = %v, want %v", c.rule, got, c.want)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	e := mustNew(t, []Rule{{Name: "default", Check: "@"}, {Name: "x", Check: "role:reader"}}, Options{})
	ctx := context.Background()
	err := e.Authorize(ctx, "unregistered", nil, member)
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != NotRegistered || pe.Rule != "unregistered" || !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Authorize(unregistered) = %v, want NotRegistered", err)
	}
	if err := e.Authorize(ctx, "x", nil, member); err != nil {
		t.Errorf("Authorize(x) = %v", err)
	}
	if err := e.Authorize(ctx, "x", nil, domainUser); err != nil {
		t.Errorf("Authorize(x) = %v", err)
	}
	if err := e.Authorize(ctx, "x", nil, Credentials{}); !errors.Is(err, ErrForbidden) || errors.Is(err, ErrInvalidScope) {
		t.Errorf("Authorize(x) without roles = %v, want Forbidden", err)
	}
	if !e.Registered("x") || e.Registered("unregistered") {
		t.Error("Registered disagrees with the defaults")
	}
}

func TestScope(t *testing.T) {
	defaults := []Rule{
		{Name: "system_only", Check: "role:reader", ScopeTypes: []string{ScopeSystem}},
		{Name: "project_or_domain", Check: "role:reader", ScopeTypes: []string{ScopeProject, ScopeDomain}},
		{Name: "any", Check: "role:reader"},
	}
	both := systemAdmin
	both.DomainID = "d1" // system wins over domain, as in oslo
	cases := []struct {
		rule    string
		creds   Credentials
		enforce bool
		want    Kind // 0: allowed
		scope   string
	}{
		{"system_only", member, true, InvalidScope, "project"},
		{"system_only", domainUser, true, InvalidScope, "domain"},
		{"system_only", systemAdmin, true, 0, ""},
		{"system_only", both, true, 0, ""},
		{"system_only", member, false, 0, ""}, // not enforced: the check decides
		{"system_only", Credentials{}, false, Forbidden, ""},
		{"system_only", Credentials{}, true, InvalidScope, "project"}, // scope comes first
		{"project_or_domain", member, true, 0, ""},
		{"project_or_domain", domainUser, true, 0, ""},
		{"project_or_domain", systemAdmin, true, InvalidScope, "system"},
		{"any", systemAdmin, true, 0, ""},
		{"unregistered", systemAdmin, true, Forbidden, ""}, // no default rule, no scope check
	}
	for _, c := range cases {
		e := mustNew(t, defaults, Options{EnforceScope: c.enforce})
		err := e.Enforce(context.Background(), c.rule, nil, c.creds)
		if c.want == 0 {
			if err != nil {
				t.Errorf("%s enforce_scope=%v: %v, want allowed", c.rule, c.enforce, err)
			}
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != c.want || pe.Rule != c.rule {
			t.Errorf("%s enforce_scope=%v: %v, want %v", c.rule, c.enforce, err, c.want)
			continue
		}
		if c.want == InvalidScope && (pe.TokenScope != c.scope || !errors.Is(err, ErrInvalidScope)) {
			t.Errorf("%s: token scope %q, want %q", c.rule, pe.TokenScope, c.scope)
		}
	}
}

func TestScopeOfOverriddenRule(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	writeFile(t, path, "system_only: '@'\nfile_only: '@'\n")
	e := mustNew(t, []Rule{{Name: "system_only", Check: "role:admin", ScopeTypes: []string{ScopeSystem}}},
		Options{EnforceScope: true, PolicyFile: path})
	// The override replaces the check, not the registered scope types.
	if err := e.Enforce(context.Background(), "system_only", nil, member); !errors.Is(err, ErrInvalidScope) {
		t.Errorf("overridden system rule with a project token = %v, want InvalidScope", err)
	}
	if err := e.Enforce(context.Background(), "file_only", nil, member); err != nil {
		t.Errorf("rule only in the file = %v, want allowed (no scope types)", err)
	}
}

func TestScopeWarningLoggedOnce(t *testing.T) {
	log, lb := newLogger()
	e := mustNew(t, []Rule{{Name: "s", Check: "@", ScopeTypes: []string{ScopeSystem}}}, Options{Logger: log})
	for range 3 {
		if err := e.Enforce(context.Background(), "s", nil, member); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(lb.String(), "failed its scope check"); n != 1 {
		t.Errorf("scope mismatch logged %d times, want once:\n%s", n, lb)
	}
}

func TestDeprecatedRules(t *testing.T) {
	adminOrOwner := Rule{Name: "admin_or_owner", Check: "role:admin or project_id:%(project_id)s"}
	changed := Rule{
		Name: "foo:create", Check: "role:member and project_id:%(project_id)s",
		DeprecatedRule: &DeprecatedRule{Name: "foo:create", Check: "rule:admin_or_owner", Since: "W"},
	}
	renamed := Rule{
		Name: "foo:create_bar", Check: "role:member",
		DeprecatedRule: &DeprecatedRule{Name: "foo:post_bar", Check: "role:fizz", Reason: "consistency", Since: "N"},
	}
	// A project user without the member role, owning the target: only the
	// old admin_or_owner default lets it through.
	ownerNoRole := Credentials{UserID: "u", ProjectID: "p1", Roles: []string{"reader"}}
	fizz := Credentials{UserID: "u", ProjectID: "p1", Roles: []string{"fizz"}}
	custom := Credentials{UserID: "u", ProjectID: "p1", Roles: []string{"custom"}}

	cases := []struct {
		name        string
		newDefaults bool
		file        string
		rule        string
		creds       Credentials
		want        bool
	}{
		{"old default or-ed in", false, "", "foo:create", ownerNoRole, true},
		{"new default only", true, "", "foo:create", ownerNoRole, false},
		{"new default passes either way", true, "", "foo:create", member, true},
		{"renamed: old check or-ed", false, "", "foo:create_bar", fizz, true},
		{"renamed: new only", true, "", "foo:create_bar", fizz, false},
		{"operator override of the old name wins", true, "foo:post_bar: role:custom\n", "foo:create_bar", custom, true},
		{"... and replaces the new default", true, "foo:post_bar: role:custom\n", "foo:create_bar", member, false},
		{"override equal to the old default is not an override", true, "foo:post_bar: role:fizz\n", "foo:create_bar", fizz, false},
		{"override that aliases the new name is ignored", false, "foo:post_bar: rule:foo:create_bar\n", "foo:create_bar", fizz, true},
		{"override of the new name: no or-ing", false, "foo:create_bar: role:custom\n", "foo:create_bar", fizz, false},
		{"override of the new name is used", false, "foo:create_bar: role:custom\n", "foo:create_bar", custom, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{EnforceNewDefaults: c.newDefaults}
			if c.file != "" {
				opts.PolicyFile = filepath.Join(t.TempDir(), "policy.yaml")
				writeFile(t, opts.PolicyFile, c.file)
			}
			e := mustNew(t, []Rule{adminOrOwner, changed, renamed}, opts)
			if got := allowed(t, e, c.rule, owner, c.creds); got != c.want {
				t.Errorf("allowed = %v, want %v (effective %q)", got, c.want, e.Effective()[c.rule])
			}
		})
	}

	same := Rule{Name: "same", Check: "role:a", DeprecatedRule: &DeprecatedRule{Name: "same", Check: "role:a"}}
	e := mustNew(t, []Rule{same}, Options{})
	if got := e.Effective()["same"]; got != "role:a" {
		t.Errorf("a deprecated rule with the same check is or-ed: %q", got)
	}
}

func TestPolicyFile(t *testing.T) {
	defaults := []Rule{
		{Name: "default", Check: "!"},
		{Name: "show", Check: "role:admin"},
		{Name: "list", Check: "role:admin"},
	}
	cases := []struct {
		name  string
		file  string
		rule  string
		creds Credentials
		want  bool
	}{
		{"yaml override", "# comment\nshow: 'role:reader'\n", "show", member, true},
		{"other rules keep defaults", "show: 'role:reader'\n", "list", member, false},
		{"json override", "{\n\t\"show\": \"role:reader\"\n}\n", "show", member, true},
		{"legacy list", "show: [['role:nobody'], ['role:reader']]\n", "show", member, true},
		{"null value means always", "show:\n", "show", member, true},
		{"empty string means always", "show: ''\n", "show", member, true},
		{"unparsable rule fails closed", "show: 'role:reader and'\n", "show", systemAdmin, false},
		{"non-string rule fails closed", "show: 42\n", "show", systemAdmin, false},
		{"file rule referencing a file rule", "mine: 'role:reader'\nshow: 'rule:mine'\n", "show", member, true},
		{"default rule overridden", "default: '@'\n", "unregistered", member, true},
		{"empty file", "", "show", systemAdmin, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			writeFile(t, path, c.file)
			log, lb := newLogger()
			e := mustNew(t, defaults, Options{PolicyFile: path, Logger: log})
			if got := allowed(t, e, c.rule, nil, c.creds); got != c.want {
				t.Errorf("allowed = %v, want %v\nlog:\n%s", got, c.want, lb)
			}
		})
	}
}

func TestPolicyFileProblems(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "absent.yaml")
	e := mustNew(t, []Rule{{Name: "x", Check: "@"}}, Options{PolicyFile: missing})
	if !allowed(t, e, "x", nil, member) {
		t.Error("a missing policy file should leave the defaults")
	}

	list := filepath.Join(dir, "list.yaml")
	writeFile(t, list, "- a\n- b\n")
	if _, err := New(nil, Options{PolicyFile: list}); err == nil {
		t.Error("New accepted a policy file that is not a mapping")
	}
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "a: [unclosed\n")
	if _, err := New(nil, Options{PolicyFile: bad}); err == nil {
		t.Error("New accepted invalid YAML")
	}

	log, lb := newLogger()
	path := filepath.Join(dir, "p.yaml")
	writeFile(t, path, "x: 'role:admin or'\ny: 'rule:z'\nz: 'rule:y'\nw: 'rule:nowhere'\n")
	mustNew(t, []Rule{{Name: "x", Check: "@"}}, Options{PolicyFile: path, Logger: log})
	for _, want := range []string{"failed to parse", "cyclical reference", "not defined"} {
		if !strings.Contains(lb.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, lb)
		}
	}
}

func TestCycleDenies(t *testing.T) {
	e := mustNew(t, []Rule{{Name: "a", Check: "rule:b"}, {Name: "b", Check: "rule:a"}, {Name: "c", Check: "not rule:a"}}, Options{})
	for _, r := range []string{"a", "b", "c"} {
		if allowed(t, e, r, nil, systemAdmin) {
			t.Errorf("%s: a cyclic rule was allowed", r)
		}
	}
}

func TestFindCycles(t *testing.T) {
	refs := map[string][]string{
		"a": {"b"}, "b": {"c"}, "c": {"a"}, // cycle
		"d": {"a"},      // leads into it
		"e": {"f", "f"}, // no cycle, referenced twice
		"f": nil,
		"g": {"g"}, // self
	}
	want := []string{"a", "b", "c", "d", "g"}
	if got := findCycles(refs); !reflect.DeepEqual(got, want) {
		t.Errorf("findCycles = %v, want %v", got, want)
	}
}

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, "show: 'role:reader'\n")
	log, lb := newLogger()
	e := mustNew(t, []Rule{{Name: "show", Check: "role:admin"}}, Options{PolicyFile: path, Logger: log})
	if !allowed(t, e, "show", nil, member) {
		t.Fatal("override not in effect")
	}
	touch := func(data string, age time.Duration) {
		writeFile(t, path, data)
		when := time.Now().Add(age)
		if err := os.Chtimes(path, when, when); err != nil {
			t.Fatal(err)
		}
	}

	// Changed on disk, but checked at most once a second: not seen yet.
	touch("show: 'role:nobody'\n", time.Minute)
	if !allowed(t, e, "show", nil, member) {
		t.Fatal("the file was re-read before the second was up")
	}
	e.nextCheck.Store(0) // let the next Enforce look
	if allowed(t, e, "show", nil, member) {
		t.Fatal("change not picked up")
	}

	// A broken file keeps the rules in effect.
	touch("show: [unclosed\n", 2*time.Minute)
	e.nextCheck.Store(0)
	if allowed(t, e, "show", nil, member) {
		t.Error("rules changed after a broken file")
	}
	if !strings.Contains(lb.String(), "not reloaded") {
		t.Errorf("broken file not logged:\n%s", lb)
	}
	if err := e.Reload(); err == nil {
		t.Error("Reload of a broken file returned nil")
	}

	// Removing the file returns to the defaults.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	e.nextCheck.Store(0)
	if allowed(t, e, "show", nil, member) || !allowed(t, e, "show", nil, systemAdmin) {
		t.Error("defaults not restored after the file went away")
	}

	// DisableReload ignores changes.
	touch("show: '@'\n", 3*time.Minute)
	e2 := mustNew(t, []Rule{{Name: "show", Check: "role:admin"}}, Options{PolicyFile: path, DisableReload: true})
	touch("show: '!'\n", 4*time.Minute)
	e2.nextCheck.Store(0)
	if !allowed(t, e2, "show", nil, member) {
		t.Error("DisableReload still reloaded")
	}
	if err := e2.Reload(); err != nil || allowed(t, e2, "show", nil, systemAdmin) {
		t.Errorf("explicit Reload = %v, or did not apply", err)
	}
}

func TestConcurrentEnforceAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, "show: 'role:reader'\n")
	e := mustNew(t, []Rule{{Name: "show", Check: "role:reader"}}, Options{PolicyFile: path})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := e.Enforce(context.Background(), "show", owner, member); err != nil {
					t.Errorf("Enforce during reload: %v", err)
					return
				}
				e.nextCheck.Store(0)
			}
		})
	}
	for i := range 50 {
		writeFile(t, path, "show: 'role:reader or role:x"+strings.Repeat("x", i)+"'\n")
		if err := e.Reload(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestEffective(t *testing.T) {
	e := mustNew(t, []Rule{{Name: "a", Check: ""}, {Name: "b", Check: "role:x or (role:y and not role:z)"}}, Options{})
	want := map[string]string{"a": "", "b": "(role:x or (role:y and not role:z))"}
	if got := e.Effective(); !reflect.DeepEqual(got, want) {
		t.Errorf("Effective = %v, want %v", got, want)
	}
}

func TestValidateRules(t *testing.T) {
	cases := []struct {
		name  string
		rules []Rule
	}{
		{"duplicate", []Rule{{Name: "a"}, {Name: "a"}}},
		{"no name", []Rule{{Check: "@"}}},
		{"unknown scope", []Rule{{Name: "a", ScopeTypes: []string{"tenant"}}}},
		{"repeated scope", []Rule{{Name: "a", ScopeTypes: []string{"system", "system"}}}},
		{"removal without reason", []Rule{{Name: "a", DeprecatedForRemoval: true, DeprecatedSince: "X"}}},
		{"deprecated rule without name", []Rule{{Name: "a", DeprecatedRule: &DeprecatedRule{Check: "@"}}}},
		{"operation without method", []Rule{{Name: "a", Operations: []Operation{{Path: "/x"}}}}},
	}
	for _, c := range cases {
		if _, err := New(c.rules, Options{}); err == nil {
			t.Errorf("%s: New accepted invalid defaults", c.name)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	cases := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: Forbidden, Rule: "os_compute_api:servers:create"}, "os_compute_api:servers:create is disallowed by policy"},
		{&Error{Kind: InvalidScope, Rule: "r", ScopeTypes: []string{"system", "domain"}, TokenScope: "project"},
			"r requires a scope of ['system', 'domain'], request was made with project scope."},
		{&Error{Kind: NotRegistered, Rule: "r"}, "Policy r has not been registered"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
	if errors.Is(&Error{Kind: Forbidden, Rule: "x"}, ErrInvalidScope) {
		t.Error("Forbidden matched ErrInvalidScope")
	}
}

func TestCredentialsMap(t *testing.T) {
	c := Credentials{UserID: "u", ProjectID: "p", SystemScope: "all", Roles: []string{"admin"},
		IsAdminProject: true, Extra: map[string]any{"token": map[string]any{"id": "t"}}}
	m := c.ToMap()
	want := map[string]any{
		"user_id": "u", "user_domain_id": nil, "system_scope": "all", "domain_id": nil, "project_id": "p",
		"project_domain_id": nil, "roles": []string{"admin"}, "is_admin_project": true, "service_user_id": nil,
		"service_user_domain_id": nil, "service_project_id": nil, "service_project_domain_id": nil,
		"service_roles": []string{}, "system": "all", "token": map[string]any{"id": "t"},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("ToMap = %#v\nwant %#v", m, want)
	}
	back := CredentialsFromMap(m)
	back.ServiceRoles = nil
	if !reflect.DeepEqual(back, c) {
		t.Errorf("CredentialsFromMap(ToMap) = %#v, want %#v", back, c)
	}

	odd := CredentialsFromMap(map[string]any{"roles": []any{"a", "b"}, "project_id": 5, "system": "all", "custom": 1})
	if !reflect.DeepEqual(odd.Roles, []string{"a", "b"}) || odd.SystemScope != "all" || odd.Extra["project_id"] != 5 || odd.Extra["custom"] != 1 {
		t.Errorf("CredentialsFromMap = %#v", odd)
	}
	var probs problemList
	if r := parseText("project_id:5", &probs).eval(nil, &odd, 0); r != rTrue {
		t.Error("a non-string project_id from a map is not found by generic checks")
	}
}

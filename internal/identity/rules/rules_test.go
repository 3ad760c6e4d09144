package rules

import (
	"context"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/policy"
)

func TestDefaultsLoad(t *testing.T) {
	e, err := policy.New(Defaults, policy.Options{DefaultRule: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"identity:create_user", "identity:validate_token", "identity:list_role_assignments", "admin_required"} {
		if !e.Registered(name) {
			t.Errorf("%s not registered", name)
		}
	}
	ctx := context.Background()
	admin := policy.Credentials{UserID: "u1", ProjectID: "p1", Roles: []string{"admin", "member", "reader"}}
	member := policy.Credentials{UserID: "u2", ProjectID: "p1", Roles: []string{"member", "reader"}}
	reader := policy.Credentials{UserID: "u3", ProjectID: "p1", Roles: []string{"reader"}}
	system := policy.Credentials{UserID: "u4", SystemScope: "all", Roles: []string{"reader"}}
	cases := []struct {
		rule   string
		creds  policy.Credentials
		target map[string]any
		allow  bool
	}{
		{"identity:create_user", admin, map[string]any{}, true},
		{"identity:create_user", member, map[string]any{}, false},
		{"identity:create_project", reader, map[string]any{}, false},
		{"identity:list_users", system, map[string]any{}, true},
		{"identity:get_user", member, map[string]any{"target": map[string]any{"user": map[string]any{"id": "u2"}}}, true},
		{"identity:get_user", member, map[string]any{"target": map[string]any{"user": map[string]any{"id": "u1"}}}, false},
		{"identity:validate_token", member, map[string]any{"target": map[string]any{"token": map[string]any{"user_id": "u2"}}}, true},
		{"identity:validate_token", member, map[string]any{"target": map[string]any{"token": map[string]any{"user_id": "u1"}}}, false},
		{"identity:create_trust", member, map[string]any{"trust": map[string]any{"trustor_user_id": "u2"}}, true},
	}
	for _, c := range cases {
		err := e.Enforce(ctx, c.rule, c.target, c.creds)
		if (err == nil) != c.allow {
			t.Errorf("%s for %v: %v, want allow=%v", c.rule, c.creds.Roles, err, c.allow)
		}
	}
	// With the new defaults only, a project admin is no longer a cloud admin.
	strict, err := policy.New(Defaults, policy.Options{DefaultRule: "default", EnforceNewDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	if strict.Enforce(ctx, "identity:create_user", map[string]any{}, admin) == nil {
		t.Error("enforce_new_defaults: a project admin created a user")
	}
}

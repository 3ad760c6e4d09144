package policy

import (
	"context"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

func TestRESTAdapter(t *testing.T) {
	e, err := New([]Rule{
		{Name: "admin_required", Check: "role:admin"},
		{Name: "owner", Check: "project_id:%(project_id)s"},
		{Name: "thing:delete", Check: "rule:admin_required or rule:owner"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := REST{E: e, Message: func(rule string) string {
		return "You are not authorized to perform the requested action: " + rule + "."
	}}
	ctx := context.Background()
	member := &authn.Context{UserID: "u", ProjectID: "p1", Roles: []string{"member"}}
	if err := r.Enforce(ctx, "thing:delete", map[string]any{"project_id": "p1"}, member); err != nil {
		t.Fatalf("owner denied: %v", err)
	}
	err = r.Enforce(ctx, "thing:delete", map[string]any{"project_id": "p2"}, member)
	if !fault.Is(err, 403) || fault.As(err).Message != "You are not authorized to perform the requested action: thing:delete." {
		t.Fatalf("other project: %v", err)
	}
	admin := &authn.Context{UserID: "a", ProjectID: "p9", Roles: []string{"Admin"}}
	if err := r.Enforce(ctx, "thing:delete", map[string]any{"project_id": "p2"}, admin); err != nil {
		t.Fatalf("admin denied: %v", err)
	}
	if err := (REST{E: e}).Enforce(ctx, "thing:delete", nil, nil); !fault.Is(err, 403) {
		t.Fatalf("anonymous: %v", err)
	}
	if c := FromAuthn(&authn.Context{System: "all", DomainID: "d"}); c.SystemScope != "all" || c.DomainID != "d" {
		t.Fatalf("FromAuthn: %+v", c)
	}
}

package identity

import (
	"context"
	"errors"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
)

// enforcer adapts the policy engine to the router: an authenticated caller's
// context becomes oslo.context's policy values plus Keystone's "token" dict
// (token.domain.id, token.project.domain.id), which Keystone's rules use.
type enforcer struct{ s *Service }

func (e enforcer) Enforce(ctx context.Context, rule string, target map[string]any, a *authn.Context) error {
	if a == nil {
		return unauthorized()
	}
	var creds policy.Credentials
	// The router's own validator hands out the cached context itself: its
	// credentials are made once per token, not per request.
	if te := e.s.cache.tokens.get(a.Token); te != nil && te.auth == a {
		creds = te.policyCreds()
	} else {
		creds = credentials(a)
	}
	err := e.s.enf.Enforce(ctx, rule, target, creds)
	if err == nil {
		return nil
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		return fault.Forbidden("You are not authorized to perform the requested action: %s.", rule).WithType("ForbiddenAction")
	}
	return err
}

// credentials converts a validated token's context to policy credentials.
func credentials(a *authn.Context) policy.Credentials {
	tok := map[string]any{
		"user":    map[string]any{"id": a.UserID, "domain": map[string]any{"id": a.UserDomainID}},
		"methods": a.Methods,
	}
	if a.ProjectID != "" {
		tok["project"] = map[string]any{"id": a.ProjectID, "domain": map[string]any{"id": a.ProjectDomainID}}
	}
	if a.DomainID != "" {
		tok["domain"] = map[string]any{"id": a.DomainID}
	}
	if a.System != "" {
		tok["system"] = map[string]any{a.System: true}
	}
	return policy.Credentials{
		UserID: a.UserID, UserDomainID: a.UserDomainID,
		ProjectID: a.ProjectID, ProjectDomainID: a.ProjectDomainID,
		DomainID: a.DomainID, SystemScope: a.System,
		Roles: a.Roles, IsAdminProject: a.IsAdminProject,
		ServiceRoles: a.ServiceRoles,
		Extra:        map[string]any{"token": tok},
	}
}

// enforce checks a rule for the caller of ctx's request.
func (s *Service) enforce(ctx context.Context, a *authn.Context, rule string, target map[string]any) error {
	return enforcer{s}.Enforce(ctx, rule, target, a)
}

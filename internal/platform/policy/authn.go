package policy

import (
	"context"
	"errors"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// FromAuthn converts a validated token's context into the credentials oslo.policy
// sees. A nil context gives empty credentials (which only "@" rules pass).
func FromAuthn(a *authn.Context) Credentials {
	if a == nil {
		return Credentials{}
	}
	c := Credentials{
		UserID: a.UserID, UserDomainID: a.UserDomainID,
		ProjectID: a.ProjectID, ProjectDomainID: a.ProjectDomainID,
		DomainID: a.DomainID, SystemScope: a.System,
		Roles: a.Roles, IsAdminProject: a.IsAdminProject, ServiceRoles: a.ServiceRoles,
	}
	return c
}

// REST adapts an Enforcer to the REST layer's rest.Enforcer: denials become 403
// faults worded by Message (or oslo's generic wording).
type REST struct {
	E *Enforcer
	// Message words the 403 for a rule; nil gives
	// "Policy doesn't allow RULE to be performed.".
	Message func(rule string) string
}

// Enforce checks rule for the caller.
func (r REST) Enforce(ctx context.Context, rule string, target map[string]any, a *authn.Context) error {
	err := r.E.Enforce(ctx, rule, target, FromAuthn(a))
	if err == nil {
		return nil
	}
	var pe *Error
	if !errors.As(err, &pe) {
		return err
	}
	msg := "Policy doesn't allow " + rule + " to be performed."
	if r.Message != nil {
		msg = r.Message(rule)
	}
	return fault.Forbidden("%s", msg).WithType("PolicyNotAuthorized")
}

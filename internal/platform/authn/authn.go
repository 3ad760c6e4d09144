package authn

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Context is what a validated token says about its bearer.
type Context struct {
	Token string `json:"-"`

	UserID         string `json:"user_id"`
	UserName       string `json:"user_name,omitempty"`
	UserDomainID   string `json:"user_domain_id,omitempty"`
	UserDomainName string `json:"user_domain_name,omitempty"`

	// Project scope.
	ProjectID         string `json:"project_id,omitempty"`
	ProjectName       string `json:"project_name,omitempty"`
	ProjectDomainID   string `json:"project_domain_id,omitempty"`
	ProjectDomainName string `json:"project_domain_name,omitempty"`
	// IsAdminProject is Keystone's is_admin_project flag.
	IsAdminProject bool `json:"is_admin_project,omitempty"`

	// Domain scope.
	DomainID   string `json:"domain_id,omitempty"`
	DomainName string `json:"domain_name,omitempty"`

	// System scope: "all", or "".
	System string `json:"system,omitempty"`

	// Roles are role names, lower-case, including implied roles.
	Roles   []string `json:"roles,omitempty"`
	RoleIDs []string `json:"role_ids,omitempty"`

	// ServiceRoles are the roles of a valid X-Service-Token, if one was sent.
	ServiceRoles []string `json:"service_roles,omitempty"`

	Methods         []string  `json:"methods,omitempty"`
	AuditIDs        []string  `json:"audit_ids,omitempty"`
	ExpiresAt       time.Time `json:"expires_at"`
	IssuedAt        time.Time `json:"issued_at"`
	AppCredentialID string    `json:"application_credential_id,omitempty"`
	TrustID         string    `json:"trust_id,omitempty"`
}

// HasRole reports whether the bearer holds the role (case-insensitive).
func (c *Context) HasRole(name string) bool {
	if c == nil {
		return false
	}
	return slices.ContainsFunc(c.Roles, func(r string) bool { return strings.EqualFold(r, name) })
}

// IsAdmin reports whether the bearer holds the admin role.
func (c *Context) IsAdmin() bool { return c.HasRole("admin") }

// Scope names the token's scope: "project", "domain", "system" or "" (unscoped).
func (c *Context) Scope() string {
	switch {
	case c == nil:
		return ""
	case c.ProjectID != "":
		return "project"
	case c.DomainID != "":
		return "domain"
	case c.System != "":
		return "system"
	}
	return ""
}

// Validator checks a token and says whom it belongs to. It returns a 401 fault
// for a token that is missing, malformed, expired or revoked.
type Validator interface {
	Validate(ctx context.Context, token string) (*Context, error)
}

// ValidatorFunc adapts a function to Validator.
type ValidatorFunc func(ctx context.Context, token string) (*Context, error)

// Validate calls f.
func (f ValidatorFunc) Validate(ctx context.Context, token string) (*Context, error) {
	return f(ctx, token)
}

type ctxKey struct{}

// With returns ctx carrying the authenticated context.
func With(ctx context.Context, a *Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// From returns the authenticated context of ctx, or nil.
func From(ctx context.Context) *Context {
	a, _ := ctx.Value(ctxKey{}).(*Context)
	return a
}

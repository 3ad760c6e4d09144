package identity

import "encoding/json"

// AuthRequest is the body of POST /v3/auth/tokens.
type AuthRequest struct {
	Auth *Auth `json:"auth"`
}

// Auth is the "auth" object: who (identity) and for what (scope).
type Auth struct {
	Identity *AuthIdentity `json:"identity"`
	// Scope is an object (project, domain, system, OS-TRUST:trust) or the
	// string "unscoped"; kept raw because it may be either.
	Scope json.RawMessage `json:"scope,omitempty"`
}

// AuthIdentity lists the methods used and their data.
type AuthIdentity struct {
	Methods               []string           `json:"methods"`
	Password              *PasswordMethod    `json:"password,omitempty"`
	Token                 *TokenMethod       `json:"token,omitempty"`
	ApplicationCredential *AppCredentialAuth `json:"application_credential,omitempty"`
}

// PasswordMethod is the "password" method's data.
type PasswordMethod struct {
	User *AuthUser `json:"user"`
}

// AuthUser names a user by id, or by name and domain.
type AuthUser struct {
	ID       *string  `json:"id,omitempty"`
	Name     *string  `json:"name,omitempty"`
	Password *string  `json:"password,omitempty"`
	Domain   *NameRef `json:"domain,omitempty"`
}

// NameRef names something by id or by name.
type NameRef struct {
	ID   *string `json:"id,omitempty"`
	Name *string `json:"name,omitempty"`
}

// TokenMethod is the "token" method's data.
type TokenMethod struct {
	ID *string `json:"id"`
}

// AppCredentialAuth is the "application_credential" method's data.
type AppCredentialAuth struct {
	ID     *string   `json:"id,omitempty"`
	Name   *string   `json:"name,omitempty"`
	Secret *string   `json:"secret,omitempty"`
	User   *AuthUser `json:"user,omitempty"`
}

// AuthScope is the object form of "scope".
type AuthScope struct {
	Project *ProjectRef `json:"project,omitempty"`
	Domain  *NameRef    `json:"domain,omitempty"`
	System  *struct {
		All *bool `json:"all,omitempty"`
	} `json:"system,omitempty"`
	Trust *struct {
		ID *string `json:"id,omitempty"`
	} `json:"OS-TRUST:trust,omitempty"`
	// Unscoped is set by the object form {"unscoped": ...}.
	Unscoped json.RawMessage `json:"unscoped,omitempty"`
}

// ProjectRef names a project by id, or by name and domain.
type ProjectRef struct {
	ID     *string  `json:"id,omitempty"`
	Name   *string  `json:"name,omitempty"`
	Domain *NameRef `json:"domain,omitempty"`
}

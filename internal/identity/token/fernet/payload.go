package fernet

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"
)

// Version is Keystone's payload version, the first element of every token's
// msgpack list. The numbers are Keystone's and never change.
type Version int

// The payload versions of keystone/token/token_formatters.py.
const (
	VersionUnscoped               Version = 0
	VersionDomainScoped           Version = 1
	VersionProjectScoped          Version = 2
	VersionTrustScoped            Version = 3
	VersionFederatedUnscoped      Version = 4
	VersionFederatedProjectScoped Version = 5
	VersionFederatedDomainScoped  Version = 6
	VersionOAuth1Scoped           Version = 7
	VersionSystemScoped           Version = 8
	VersionAppCredScoped          Version = 9
	VersionOAuth2CredentialScoped Version = 10
)

const (
	auditIDBytes = 16 // raw bytes behind an audit id
	maxAuditIDs  = 2  // the token's own and its parent's
	// Keystone turns expiry into a Python datetime, which holds years 1..9999.
	minYear = 1
	maxYear = 9999
)

// String returns a short name for logs.
func (v Version) String() string {
	names := [...]string{"unscoped", "domain", "project", "trust",
		"federated-unscoped", "federated-project", "federated-domain",
		"oauth1", "system", "application-credential", "oauth2-credential"}
	if v < 0 || int(v) >= len(names) {
		return fmt.Sprintf("unknown(%d)", int(v))
	}
	return names[v]
}

// Payload is what a Fernet token carries: Keystone's TokenModel fields that
// survive the round trip through the token. Empty strings stand for
// Keystone's None.
type Payload struct {
	// UserID is the authenticated user (for trusts, the trustee).
	UserID string
	// Methods are the auth method names, e.g. ["password"]; they travel as
	// a bitmask over the provider's method list (see Config.Methods), so
	// the order of names here does not matter: decoding yields them in
	// reverse method-list order, as Keystone does.
	Methods []string
	// ProjectID scopes the token to a project (project, trust, federated
	// project, OAuth1, application credential and OAuth2 tokens).
	ProjectID string
	// DomainID scopes the token to a domain (domain, federated domain and
	// OAuth2 tokens). In a domain-scoped token it must be a uuid hex id or
	// the configured default domain id, as in Keystone.
	DomainID string
	// System is the system scope, "all" in today's Keystone.
	System string
	// TrustID is the trust in effect; it must be a uuid hex id.
	TrustID string
	// AppCredID is the application credential the token was issued for.
	AppCredID string
	// Federated marks a token issued through federation (Keystone's
	// is_federated); such tokens carry the three fields below.
	Federated bool
	// FederatedGroupIDs are the groups the mapping put the user in.
	FederatedGroupIDs []string
	// IdentityProviderID is the identity provider of a federated user.
	IdentityProviderID string
	// ProtocolID is the federation protocol, e.g. "saml2" or "openid".
	ProtocolID string
	// AccessTokenID is the OAuth1 access token of an OAuth1-scoped token.
	AccessTokenID string
	// Thumbprint is the client certificate thumbprint an OAuth2 mTLS token
	// is bound to.
	Thumbprint string
	// ExpiresAt is when the token stops being valid. It travels as float
	// seconds, so it keeps microseconds; Keystone issues whole seconds and
	// compares and renders expiry truncated to the second (see Expired).
	ExpiresAt time.Time
	// AuditIDs holds the token's audit id and, when the token was made from
	// another token, that token's audit id (the chain's parent) second.
	// Each is urlsafe base64 without padding of 16 bytes (NewAuditID).
	AuditIDs []string
}

// Version is the payload version Issue lays p out as, chosen exactly as
// Keystone's fernet provider chooses the payload class: OAuth1, trust,
// federated (project, domain, unscoped), application credential, OAuth2
// thumbprint, project, domain, system, unscoped — first match wins.
func (p *Payload) Version() Version {
	switch {
	case p.AccessTokenID != "":
		return VersionOAuth1Scoped
	case p.TrustID != "":
		return VersionTrustScoped
	case p.Federated:
		switch {
		case p.ProjectID != "":
			return VersionFederatedProjectScoped
		case p.DomainID != "":
			return VersionFederatedDomainScoped
		}
		return VersionFederatedUnscoped
	case p.AppCredID != "":
		return VersionAppCredScoped
	case p.Thumbprint != "":
		return VersionOAuth2CredentialScoped
	case p.ProjectID != "":
		return VersionProjectScoped
	case p.DomainID != "":
		return VersionDomainScoped
	case p.System != "":
		return VersionSystemScoped
	}
	return VersionUnscoped
}

// AuditID is the token's own audit id ("" when there is none). Like
// Keystone's provider, which pops the parent off the end first, it is the
// last-but-one entry when there are several.
func (p *Payload) AuditID() string {
	switch n := len(p.AuditIDs); n {
	case 0:
		return ""
	case 1:
		return p.AuditIDs[0]
	default:
		return p.AuditIDs[n-2]
	}
}

// ParentAuditID is the audit id of the token this one was made from, or "".
func (p *Payload) ParentAuditID() string {
	if len(p.AuditIDs) < maxAuditIDs {
		return ""
	}
	return p.AuditIDs[len(p.AuditIDs)-1]
}

// Expired reports whether the token is expired at now, allowing it window
// beyond its expiry (Keystone's allow_expired window; 0 for normal
// validation). Like Keystone, which compares the expiry as rendered
// without sub-seconds, it truncates ExpiresAt to the second: the token is
// valid while now < expires_at + window.
func (p *Payload) Expired(now time.Time, window time.Duration) bool {
	return !now.Before(p.ExpiresAt.Truncate(time.Second).Add(window))
}

// CheckExpiry returns an error wrapping ErrExpired when p is Expired at now
// with window, nil otherwise.
func CheckExpiry(p *Payload, now time.Time, window time.Duration) error {
	if p.Expired(now, window) {
		return fmt.Errorf("%w at %s", ErrExpired, p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// NewAuditID returns a fresh audit id in Keystone's form: urlsafe base64,
// without padding, of 16 random bytes (22 characters).
func NewAuditID() (string, error) {
	var b [auditIDBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new audit id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// fields is a set of the optional Payload fields, to check that a payload
// version can carry everything a Payload holds.
type fields uint16

const (
	fieldProject fields = 1 << iota
	fieldDomain
	fieldSystem
	fieldTrust
	fieldAppCred
	fieldFederation
	fieldAccessToken
	fieldThumbprint
)

var fieldNames = [...]string{"project_id", "domain_id", "system", "trust_id",
	"app_cred_id", "federation (groups, identity provider, protocol)",
	"access_token_id", "thumbprint"}

// carried lists what each version's layout holds besides the user, methods,
// expiry and audit ids every version has.
var carried = [...]fields{
	VersionUnscoped:               0,
	VersionDomainScoped:           fieldDomain,
	VersionProjectScoped:          fieldProject,
	VersionTrustScoped:            fieldProject | fieldTrust,
	VersionFederatedUnscoped:      fieldFederation,
	VersionFederatedProjectScoped: fieldProject | fieldFederation,
	VersionFederatedDomainScoped:  fieldDomain | fieldFederation,
	VersionOAuth1Scoped:           fieldProject | fieldAccessToken,
	VersionSystemScoped:           fieldSystem,
	VersionAppCredScoped:          fieldProject | fieldAppCred,
	VersionOAuth2CredentialScoped: fieldProject | fieldDomain | fieldThumbprint,
}

func (p *Payload) present() fields {
	var f fields
	set := func(on bool, bit fields) {
		if on {
			f |= bit
		}
	}
	set(p.ProjectID != "", fieldProject)
	set(p.DomainID != "", fieldDomain)
	set(p.System != "", fieldSystem)
	set(p.TrustID != "", fieldTrust)
	set(p.AppCredID != "", fieldAppCred)
	set(p.Federated || len(p.FederatedGroupIDs) > 0 || p.IdentityProviderID != "" || p.ProtocolID != "", fieldFederation)
	set(p.AccessTokenID != "", fieldAccessToken)
	set(p.Thumbprint != "", fieldThumbprint)
	return f
}

// check returns why p cannot be issued as version v, or nil. Keystone would
// silently drop fields a layout has no room for; we refuse instead, since a
// dropped scope is a security bug in the caller.
func (p *Payload) check(v Version) error {
	if p.UserID == "" {
		return invalidPayload("user id is required")
	}
	if p.ExpiresAt.IsZero() {
		return invalidPayload("expires_at is required")
	}
	if y := p.ExpiresAt.UTC().Year(); y < minYear || y > maxYear {
		return invalidPayload("expires_at year %d is outside 1..9999", y)
	}
	if n := len(p.AuditIDs); n < 1 || n > maxAuditIDs {
		return invalidPayload("need 1 or 2 audit ids, have %d", n)
	}
	extra := p.present() &^ carried[v]
	for i, name := range fieldNames {
		if extra&(1<<i) != 0 {
			return invalidPayload("a %s token cannot carry %s", v, name)
		}
	}
	switch v {
	case VersionDomainScoped, VersionFederatedDomainScoped:
		if p.DomainID == "" {
			return invalidPayload("%s token needs a domain id", v)
		}
	case VersionOAuth2CredentialScoped:
		if p.ProjectID == "" && p.DomainID == "" {
			return invalidPayload("%s token needs a project or domain id", v)
		}
	}
	if p.Federated && p.IdentityProviderID == "" {
		return invalidPayload("federated token needs an identity provider id")
	}
	return nil
}

package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	wire "github.com/tenku-cloud/tenku/api/identity"
	"github.com/tenku-cloud/tenku/internal/identity/password"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/identity/token/fernet"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// authRequest is a parsed, checked POST /v3/auth/tokens body.
type authRequest struct {
	methods  []string
	password *wire.AuthUser
	token    string
	appCred  *wire.AppCredentialAuth
	scope    scopeRequest
	// raw is the identity object as sent, to tell which methods have data.
	raw map[string]json.RawMessage
}

type scopeKind int

const (
	scopeDefault scopeKind = iota // none given: the user's default project, if any
	scopeUnscoped
	scopeProject
	scopeDomain
	scopeSystem
	scopeTrust
)

type scopeRequest struct {
	kind    scopeKind
	project *wire.ProjectRef
	domain  *wire.NameRef
	trustID string
}

// validationError is Keystone's 400 for a malformed auth request.
func validationError(format string, args ...any) *fault.Error {
	return fault.BadRequest(format, args...).WithType("ValidationError")
}

func expecting(attr, target string) *fault.Error {
	return validationError("Expecting to find %s in %s. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.", attr, target)
}

func schemaErr(field, msg string) *fault.Error {
	return validationError("Invalid input for field '%s': %s", field, msg)
}

// parseAuthRequest decodes and checks an auth request the way Keystone's
// schema and AuthInfo do. It never panics; every problem is a 400.
func parseAuthRequest(body []byte) (*authRequest, error) {
	var top map[string]json.RawMessage
	if err := strictJSON(body, &top); err != nil {
		return nil, validationError("Malformed request body: %v", err)
	}
	rawAuth, ok := top["auth"]
	if !ok || isNull(rawAuth) {
		return nil, expecting("auth", "request body")
	}
	var auth map[string]json.RawMessage
	if err := json.Unmarshal(rawAuth, &auth); err != nil {
		return nil, schemaErr("auth", "is not of type 'object'")
	}
	rawIdentity, ok := auth["identity"]
	if !ok {
		return nil, schemaErr("auth", "'identity' is a required property")
	}
	var ident map[string]json.RawMessage
	if err := json.Unmarshal(rawIdentity, &ident); err != nil || ident == nil {
		return nil, schemaErr("auth/identity", "is not of type 'object'")
	}
	ar := &authRequest{raw: ident}
	rawMethods, ok := ident["methods"]
	if !ok {
		return nil, schemaErr("auth/identity", "'methods' is a required property")
	}
	if err := json.Unmarshal(rawMethods, &ar.methods); err != nil || ar.methods == nil {
		return nil, schemaErr("auth/identity/methods", "is not of type 'array' of strings")
	}
	if v, ok := ident["password"]; ok {
		var pm struct {
			User *wire.AuthUser `json:"user"`
		}
		if err := json.Unmarshal(v, &pm); err != nil {
			return nil, schemaErr("auth/identity/password", "is not a valid password object: "+typeProblem(err))
		}
		if pm.User != nil {
			if pm.User.ID == nil && pm.User.Name == nil {
				return nil, schemaErr("identity/password/user", "id or name must be present.")
			}
			if d := pm.User.Domain; d != nil && d.ID == nil && d.Name == nil {
				return nil, schemaErr("identity/password/user/domain", "id or name must be present.")
			}
		}
		ar.password = pm.User
	}
	if v, ok := ident["token"]; ok {
		var tm wire.TokenMethod
		if err := json.Unmarshal(v, &tm); err != nil {
			return nil, schemaErr("auth/identity/token", "is not a valid token object: "+typeProblem(err))
		}
		if tm.ID == nil {
			return nil, schemaErr("auth/identity/token", "'id' is a required property")
		}
		ar.token = *tm.ID
	}
	if v, ok := ident["application_credential"]; ok {
		var ac wire.AppCredentialAuth
		if err := json.Unmarshal(v, &ac); err != nil {
			return nil, schemaErr("auth/identity/application_credential", "is not a valid object: "+typeProblem(err))
		}
		ar.appCred = &ac
	}
	for _, m := range ar.methods {
		if _, ok := ident[m]; !ok {
			return nil, expecting(m, "identity")
		}
	}
	if rawScope, ok := auth["scope"]; ok && !isNull(rawScope) {
		sc, err := parseScope(rawScope)
		if err != nil {
			return nil, err
		}
		ar.scope = sc
	}
	return ar, nil
}

func parseScope(raw json.RawMessage) (scopeRequest, error) {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		if str == "unscoped" {
			return scopeRequest{kind: scopeUnscoped}, nil
		}
		return scopeRequest{}, expecting("system, project, domain, OS-TRUST:trust or unscoped", "scope")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return scopeRequest{}, schemaErr("auth/scope", "is not of type 'object', 'string'")
	}
	var sc wire.AuthScope
	if err := json.Unmarshal(raw, &sc); err != nil {
		return scopeRequest{}, schemaErr("auth/scope", typeProblem(err))
	}
	n := 0
	for _, k := range []string{"project", "domain", "unscoped", "system", "OS-TRUST:trust"} {
		if _, ok := keys[k]; ok {
			n++
		}
	}
	if n != 1 {
		return scopeRequest{}, expecting("system, project, domain, OS-TRUST:trust or unscoped", "scope")
	}
	switch {
	case keys["project"] != nil:
		p := sc.Project
		if p == nil || p.ID == nil && p.Name == nil {
			return scopeRequest{}, schemaErr("scope/project", "id or name must be present.")
		}
		if d := p.Domain; d != nil && d.ID == nil && d.Name == nil {
			return scopeRequest{}, schemaErr("scope/project/domain", "id or name must be present.")
		}
		if p.Name != nil && p.Domain == nil {
			return scopeRequest{}, expecting("domain", "project")
		}
		return scopeRequest{kind: scopeProject, project: p}, nil
	case keys["domain"] != nil:
		d := sc.Domain
		if d == nil || d.ID == nil && d.Name == nil {
			return scopeRequest{}, schemaErr("scope/domain", "id or name must be present.")
		}
		return scopeRequest{kind: scopeDomain, domain: d}, nil
	case keys["system"] != nil:
		return scopeRequest{kind: scopeSystem}, nil
	case keys["OS-TRUST:trust"] != nil:
		if sc.Trust == nil || sc.Trust.ID == nil {
			return scopeRequest{}, expecting("trust_id", "trust")
		}
		return scopeRequest{kind: scopeTrust, trustID: *sc.Trust.ID}, nil
	}
	return scopeRequest{kind: scopeUnscoped}, nil
}

// strictJSON decodes one JSON value and refuses trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON body")
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func typeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is not of type '%s'", te.Value, jsonKind(te.Type.Kind().String()))
	}
	return err.Error()
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return "number"
}

// authResult is who authenticated, and what the methods carry forward.
type authResult struct {
	userID    string
	methods   []string
	expiresAt time.Time // from a token or application credential
	parent    string    // audit id of the token authenticated with
	appCred   *store.AppCred
	fromToken *tokenModel
}

func unauthorized() *fault.Error {
	return fault.Unauthorized("The request you have made requires authentication.")
}

// authenticate runs every requested method; all must agree on the user.
func (s *Service) authenticate(ctx context.Context, ar *authRequest) (*authResult, error) {
	res := &authResult{}
	seen := map[string]bool{}
	for _, m := range ar.methods {
		if seen[m] {
			continue
		}
		seen[m] = true
		if !slices.Contains(s.cfg.Auth.Methods, m) {
			return nil, fault.Unauthorized("Attempted to authenticate with an unsupported method.").WithType("AuthMethodNotSupported")
		}
		var uid string
		var err error
		switch m {
		case "password":
			uid, err = s.authPassword(ctx, ar.password)
		case "token":
			uid, err = s.authToken(ctx, ar, res)
		case "application_credential":
			uid, err = s.authAppCred(ctx, ar, res)
		default:
			return nil, fault.Unauthorized("Attempted to authenticate with an unsupported method.").WithType("AuthMethodNotSupported")
		}
		if err != nil {
			return nil, err
		}
		if res.userID != "" && res.userID != uid {
			return nil, fault.Unauthorized("Unable to reconcile identity attribute user_id as it has conflicting values %s and %s", uid, res.userID)
		}
		res.userID = uid
		if !slices.Contains(res.methods, m) {
			res.methods = append(res.methods, m)
		}
	}
	if res.userID == "" {
		return nil, fault.Unauthorized("User not found by auth plugin; authentication failed")
	}
	return res, nil
}

// lookupDomain finds an enabled domain by id or name (a 401 otherwise, as
// Keystone's auth does).
func (s *Service) lookupDomain(ctx context.Context, ref *wire.NameRef) (*store.Project, error) {
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	var d *store.Project
	switch {
	case ref.Name != nil:
		d = sn.domainsByName[*ref.Name]
	case ref.ID != nil:
		if p := sn.projects[*ref.ID]; p != nil && p.IsDomain {
			d = p
		}
	}
	if d == nil {
		return nil, fault.Unauthorized("Could not find domain: %s.", refString(ref))
	}
	if !d.Enabled {
		return nil, fault.Unauthorized("Domain is disabled: %s", d.ID)
	}
	return d, nil
}

func refString(ref *wire.NameRef) string {
	if ref.ID != nil {
		return *ref.ID
	}
	if ref.Name != nil {
		return *ref.Name
	}
	return ""
}

// lookupUser finds a user by id, or by name and domain.
func (s *Service) lookupUser(ctx context.Context, u *wire.AuthUser) (*store.User, error) {
	if u.ID != nil {
		user, err := s.lookupUserID(ctx, *u.ID)
		if err != nil {
			if fault.IsNotFound(err) || fault.Is(err, 503) {
				return nil, unauthorized()
			}
			return nil, err
		}
		d, err := s.lookupDomain(ctx, &wire.NameRef{ID: &user.DomainID})
		if err != nil {
			return nil, err
		}
		_ = d
		return user, nil
	}
	if u.Domain == nil {
		return nil, expecting("domain", "user")
	}
	d, err := s.lookupDomain(ctx, u.Domain)
	if err != nil {
		return nil, err
	}
	user, err := s.getUserByName(ctx, *u.Name, d.ID)
	if err != nil {
		if fault.IsNotFound(err) || fault.Is(err, 503) {
			return nil, unauthorized()
		}
		return nil, err
	}
	return user, nil
}

// authPassword is the password method, with Keystone's lockout, expiry and
// disabled-account checks. bcrypt runs outside any lock or transaction.
func (s *Service) authPassword(ctx context.Context, u *wire.AuthUser) (string, error) {
	if u == nil {
		return "", expecting("user", "password")
	}
	ctx = withDirLogin(ctx)
	user, err := s.lookupUser(ctx, u)
	if err != nil {
		return "", err
	}
	if s.accountLocked(ctx, user) {
		return "", fault.Unauthorized("The account is locked for user: %s.", user.ID).WithType("AccountLocked")
	}
	pw := ""
	if u.Password != nil {
		pw = *u.Password
	}
	ok, err := s.checkUserPassword(ctx, user.ID, pw)
	if errors.Is(err, errStaleDirectoryEntry) {
		// a bind refused for a cached directory entry: the entry may have
		// moved or been renamed, so look the user up again and bind once more
		if user, err = s.lookupUser(ctx, u); err != nil {
			return "", err
		}
		ok, err = s.checkUserPassword(ctx, user.ID, pw)
	}
	if err != nil {
		return "", err
	}
	if !ok {
		if s.cfg.SecurityCompliance.LockoutFailureAttempts > 0 {
			if err := s.st.RecordFailedAuth(ctx, user.ID, time.Now()); err != nil {
				s.log.WarnContext(ctx, "cannot record a failed login", "user_id", user.ID, "err", err)
			}
		}
		return "", unauthorized()
	}
	if !s.userEnabled(user) {
		return "", fault.Unauthorized("The account is disabled for user: %s.", user.ID).WithType("UserDisabled")
	}
	if !user.PasswordExpiresAt.IsZero() && !time.Now().Before(user.PasswordExpiresAt) && !optTrue(user.Options, "ignore_password_expiry") {
		return "", fault.Unauthorized("The password is expired and needs to be changed for user: %s.", user.ID).WithType("PasswordExpired")
	}
	if user.FailedAuthCount > 0 || s.cfg.SecurityCompliance.DisableUserAccountDaysInactive > 0 {
		if err := s.st.RecordSuccessfulAuth(ctx, user.ID, time.Now()); err != nil {
			s.log.WarnContext(ctx, "cannot record a login", "user_id", user.ID, "err", err)
		}
	}
	return user.ID, nil
}

func optTrue(opts map[string]any, name string) bool {
	b, _ := opts[name].(bool)
	return b
}

// accountLocked is Keystone's lockout check.
func (s *Service) accountLocked(ctx context.Context, u *store.User) bool {
	max := s.cfg.SecurityCompliance.LockoutFailureAttempts
	if max <= 0 || optTrue(u.Options, "ignore_lockout_failure_attempts") || u.FailedAuthCount < max {
		return false
	}
	d := s.cfg.SecurityCompliance.LockoutDuration
	if d <= 0 || u.FailedAuthAt.Add(d).After(time.Now()) {
		return true
	}
	if err := s.st.ResetFailedAuth(ctx, u.ID); err != nil {
		s.log.WarnContext(ctx, "cannot reset a lockout", "user_id", u.ID, "err", err)
	}
	return false
}

// checkUserPassword checks pw against the user's current password.
func (s *Service) checkUserPassword(ctx context.Context, userID, pw string) (bool, error) {
	if m, ok := s.mapping(ctx, userID); ok && m.EntityType == "user" {
		ld := s.directory(ctx, m.DomainID)
		if ld == nil {
			return false, nil
		}
		return s.checkDirectoryPassword(ctx, ld, m.LocalID, pw)
	}
	ps, err := s.st.Passwords(ctx, userID, 1)
	if err != nil {
		return false, err
	}
	if len(ps) == 0 {
		return false, nil
	}
	pw = s.truncatePassword(pw)
	ok, err := password.Check(pw, ps[0].Hash)
	if err != nil {
		s.log.WarnContext(ctx, "stored password hash is not usable", "user_id", userID, "err", err)
		return false, nil
	}
	return ok, nil
}

func (s *Service) truncatePassword(pw string) string {
	if max := s.cfg.Identity.MaxPasswordLength; max > 0 && len(pw) > max {
		return pw[:max]
	}
	return pw
}

// userEnabled is the user's enabled flag, false too when the account has been
// inactive longer than disable_user_account_days_inactive.
func (s *Service) userEnabled(u *store.User) bool {
	if !u.Enabled {
		return false
	}
	if days := s.cfg.SecurityCompliance.DisableUserAccountDaysInactive; days > 0 && !u.LastActiveAt.IsZero() {
		if time.Since(u.LastActiveAt) > time.Duration(days)*24*time.Hour {
			return false
		}
	}
	return true
}

// authToken is the token method: the new token keeps the old one's user,
// expiry and audit chain.
func (s *Service) authToken(ctx context.Context, ar *authRequest, res *authResult) (string, error) {
	e, err := s.validateToken(ctx, ar.token, 0)
	if err != nil {
		if errors.Is(err, errTokenInvalid) {
			return "", fault.NotFound("Could not find token: %s.", ar.token).WithType("TokenNotFound")
		}
		return "", err
	}
	m := e.model
	switch {
	case m.trust != nil:
		return "", fault.Forbidden("You are not authorized to perform the requested action: Using trust-scoped token to create another token. Create a new trust-scoped token instead.").WithType("ForbiddenAction")
	case m.p.System != "" && (ar.scope.kind == scopeProject || ar.scope.kind == scopeDomain):
		return "", fault.Forbidden("You are not authorized to perform the requested action: Using a system-scoped token to create a project-scoped or domain-scoped token is not allowed.").WithType("ForbiddenAction")
	case !s.cfg.Token.AllowRescopeScopedToken && (m.project != nil || m.domain != nil):
		return "", fault.Forbidden("You are not authorized to perform the requested action: rescope a scoped token.").WithType("ForbiddenAction")
	case m.appCred != nil:
		return "", fault.Forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.").WithType("ForbiddenAction")
	}
	res.expiresAt = m.p.ExpiresAt
	res.parent = m.p.ParentAuditID()
	if res.parent == "" {
		res.parent = m.p.AuditID()
	}
	res.fromToken = m
	for _, old := range m.p.Methods {
		if !slices.Contains(res.methods, old) {
			res.methods = append(res.methods, old)
		}
	}
	return m.p.UserID, nil
}

// authAppCred is the application_credential method.
func (s *Service) authAppCred(ctx context.Context, ar *authRequest, res *authResult) (string, error) {
	a := ar.appCred
	if a == nil {
		return "", expecting("application_credential", "identity")
	}
	if ar.scope.kind != scopeDefault {
		return "", fault.Unauthorized("Error authenticating with application credential: Application credentials cannot request a scope.").WithType("ApplicationCredentialAuthError")
	}
	var ac *store.AppCred
	var err error
	switch {
	case a.ID != nil:
		ac, err = s.st.GetAppCred(ctx, *a.ID)
		if err != nil {
			if fault.IsNotFound(err) {
				return "", unauthorized()
			}
			return "", err
		}
	case a.Name != nil:
		if a.User == nil {
			return "", expecting("user", "application credential")
		}
		var uid string
		if a.User.ID != nil {
			uid = *a.User.ID
		} else {
			if a.User.Domain == nil || a.User.Name == nil {
				return "", expecting("domain", "user")
			}
			d, err := s.lookupDomain(ctx, a.User.Domain)
			if err != nil {
				return "", err
			}
			u, err := s.st.GetUserByName(ctx, *a.User.Name, d.ID)
			if err != nil {
				return "", unauthorized()
			}
			uid = u.ID
		}
		all, err := s.st.ListAppCreds(ctx, uid)
		if err != nil {
			return "", err
		}
		for _, x := range all {
			if x.Name == *a.Name {
				ac = x
			}
		}
		if ac == nil {
			return "", fault.Unauthorized("Could not find application credential: %s", *a.Name)
		}
	default:
		return "", expecting("name or ID", "application credential")
	}
	if a.Secret == nil {
		return "", expecting("secret", "application credential")
	}
	if !ac.ExpiresAt.IsZero() && !time.Now().Before(ac.ExpiresAt) {
		return "", fault.Unauthorized("Application credential %s has expired.", ac.ID)
	}
	ok, err := password.Check(*a.Secret, ac.SecretHash)
	if err != nil || !ok {
		return "", fault.Unauthorized("Invalid application credential: Invalid secret")
	}
	user, err := s.user(ctx, ac.UserID)
	if err != nil || !s.userEnabled(user) {
		return "", unauthorized()
	}
	res.appCred = ac
	res.expiresAt = ac.ExpiresAt
	return ac.UserID, nil
}

// issueToken authenticates an auth request and returns the new token.
func (s *Service) issueToken(ctx context.Context, ar *authRequest) (*tokenEntry, error) {
	res, err := s.authenticate(ctx, ar)
	if err != nil {
		return nil, err
	}
	p := fernet.Payload{UserID: res.userID, Methods: res.methods}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	switch ar.scope.kind {
	case scopeProject:
		proj, err := s.lookupProject(ctx, sn, ar.scope.project)
		if err != nil {
			return nil, err
		}
		p.ProjectID = proj.ID
	case scopeDomain:
		d, err := s.lookupDomain(ctx, ar.scope.domain)
		if err != nil {
			return nil, err
		}
		p.DomainID = d.ID
	case scopeSystem:
		p.System = "all"
	case scopeTrust:
		t, err := s.st.GetTrust(ctx, ar.scope.trustID)
		if err != nil {
			if fault.IsNotFound(err) {
				return nil, fault.Unauthorized("Could not find trust: %s.", ar.scope.trustID)
			}
			return nil, err
		}
		if t.TrusteeUserID != res.userID {
			return nil, fault.Forbidden("You are not authorized to perform the requested action: User %s is not a trustee.", res.userID).WithType("Forbidden")
		}
		if t.RemainingUses != nil && *t.RemainingUses <= 0 {
			return nil, fault.Unauthorized("Could not find trust: %s.", t.ID)
		}
		p.TrustID = t.ID
		if !t.ExpiresAt.IsZero() && (res.expiresAt.IsZero() || t.ExpiresAt.Before(res.expiresAt)) {
			res.expiresAt = t.ExpiresAt
		}
	case scopeDefault:
		if res.appCred != nil {
			p.ProjectID = res.appCred.ProjectID
			p.AppCredID = res.appCred.ID
			if res.appCred.System != "" {
				p.System = res.appCred.System
			}
		} else if res.fromToken == nil {
			if u, err := s.user(ctx, res.userID); err == nil && u.DefaultProjectID != "" {
				if dp := sn.projects[u.DefaultProjectID]; dp != nil && dp.Enabled && !dp.IsDomain {
					if d := sn.projects[dp.DomainID]; d != nil && d.Enabled && len(sn.projectRoles(u.ID, dp.ID)) > 0 {
						p.ProjectID = dp.ID
					}
				}
			}
		}
	}
	now := time.Now()
	p.ExpiresAt = now.Add(s.cfg.Token.Expiration).UTC().Truncate(time.Second)
	if !res.expiresAt.IsZero() && res.expiresAt.Before(p.ExpiresAt) {
		p.ExpiresAt = res.expiresAt
	}
	audit, err := fernet.NewAuditID()
	if err != nil {
		return nil, err
	}
	p.AuditIDs = []string{audit}
	if res.parent != "" {
		p.AuditIDs = append(p.AuditIDs, res.parent)
	}
	tok, err := s.tokens().IssueAt(p, now)
	if err != nil {
		return nil, fmt.Errorf("issue token: %w", err)
	}
	// Decode what was issued so that POST and GET render the same document.
	dp, issued, err := s.tokens().Validate(tok)
	if err != nil {
		return nil, fmt.Errorf("issued token does not validate: %w", err)
	}
	m, err := s.buildToken(ctx, dp, issued)
	if err != nil {
		return nil, err
	}
	m.id = tok
	if res.fromToken == nil && p.TrustID != "" {
		if err := s.st.ConsumeTrustUse(ctx, p.TrustID); err != nil {
			return nil, fault.Unauthorized("Could not find trust: %s.", p.TrustID)
		}
		s.changed(ctx)
	}
	e := &tokenEntry{gen: s.cache.gen.Load(), at: now, model: m, auth: s.authContext(m)}
	if s.cfg.Token.CacheOnIssue {
		s.cache.tokens.put(tok, e)
	}
	return e, nil
}

// lookupProject finds an enabled project (in an enabled domain) by id, or by
// name and domain; failures are 401s, as Keystone's auth answers them.
func (s *Service) lookupProject(ctx context.Context, sn *snapshot, ref *wire.ProjectRef) (*store.Project, error) {
	var p *store.Project
	if ref.Name != nil {
		d, err := s.lookupDomain(ctx, ref.Domain)
		if err != nil {
			return nil, err
		}
		for _, x := range sn.projects {
			if x.Name == *ref.Name && x.DomainID == d.ID {
				p = x
				break
			}
		}
		if p == nil {
			return nil, fault.Unauthorized("Could not find project: %s.", *ref.Name)
		}
	} else {
		p = sn.projects[*ref.ID]
		if p == nil {
			return nil, fault.Unauthorized("Could not find project: %s.", *ref.ID)
		}
		if d := sn.projects[p.DomainID]; !p.IsDomain && (d == nil || !d.Enabled) {
			return nil, fault.Unauthorized("Domain is disabled: %s", p.DomainID)
		}
	}
	if !p.Enabled {
		return nil, fault.Unauthorized("Project is disabled: %s", p.ID)
	}
	return p, nil
}

package identity

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	wire "github.com/tenku-cloud/tenku/api/identity"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/identity/token/fernet"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
)

// tokenModel is a token with everything it refers to resolved and checked:
// Keystone's TokenModel after mint.
type tokenModel struct {
	id       string
	p        fernet.Payload
	issuedAt time.Time

	user          *store.User
	userDomain    *store.Project
	project       *store.Project
	projectDomain *store.Project
	domain        *store.Project
	roleIDs       []string
	roles         []wire.IDName
	trust         *store.Trust
	trustor       *store.User
	trustorDomain *store.Project
	appCred       *store.AppCred
	// catalog is the rendered catalog of a scoped token.
	catalog []wire.CatalogEntry
}

// tokenEntry is a validated token in the cache, with its renderings made
// once, on first use.
type tokenEntry struct {
	gen   uint64
	at    time.Time
	model *tokenModel
	auth  *authn.Context

	once    [2]sync.Once
	bodies  [2][]byte
	bodyErr [2]error

	// creds and target are the policy credentials of the bearer and the
	// "target.token" of the token as a subject, made once (read-only).
	credsOnce  sync.Once
	creds      policy.Credentials
	targetOnce sync.Once
	target     map[string]any
}

// policyCreds returns the bearer's policy credentials.
func (e *tokenEntry) policyCreds() policy.Credentials {
	e.credsOnce.Do(func() { e.creds = credentials(e.auth) })
	return e.creds
}

// subjectTarget returns the policy target of the token as a subject.
func (e *tokenEntry) subjectTarget() map[string]any {
	e.targetOnce.Do(func() { e.target = tokenTarget(e) })
	return e.target
}

func (e *tokenEntry) body(s *Service, withCatalog bool) ([]byte, error) {
	i := 0
	if withCatalog {
		i = 1
	}
	e.once[i].Do(func() {
		e.bodies[i], e.bodyErr[i] = json.Marshal(wire.TokenResponse{Token: s.renderToken(e.model, withCatalog)})
	})
	return e.bodies[i], e.bodyErr[i]
}

func (m *tokenModel) unscoped() bool {
	return m.project == nil && m.domain == nil && m.p.System == ""
}

// errTokenInvalid is the cause behind every validation failure; callers turn
// it into a 404 (X-Subject-Token) or a 401 (X-Auth-Token).
var errTokenInvalid = errors.New("token is invalid")

func invalid(format string, args ...any) *fault.Error {
	f := fault.Unauthorized(format, args...)
	f.Err = errTokenInvalid
	return f
}

// validateToken decodes and checks a token, from the cache when possible.
// window > 0 accepts tokens expired for less than window (allow_expired).
func (s *Service) validateToken(ctx context.Context, tok string, window time.Duration) (*tokenEntry, error) {
	if tok == "" {
		return nil, invalid("No token in the request")
	}
	now := time.Now()
	gen := s.cache.gen.Load()
	if e := s.cache.tokens.get(tok); e != nil && e.gen == gen && now.Sub(e.at) < s.cache.maxAge {
		if !e.model.p.Expired(now, window) {
			return e, nil
		}
		return nil, invalid("The token is expired")
	}
	if len(tok) > fernet.MaxTokenLength {
		return nil, invalid("Could not recognize Fernet token")
	}
	p, issued, err := s.tokens().Validate(tok)
	if err != nil {
		return nil, invalid("Could not recognize Fernet token")
	}
	if p.Expired(now, window) {
		return nil, invalid("The token is expired")
	}
	m, err := s.buildToken(ctx, p, issued)
	if err != nil {
		return nil, err
	}
	m.id = tok
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if s.revoked(sn, m) {
		return nil, invalid("The token has been revoked")
	}
	e := &tokenEntry{gen: gen, at: now, model: m, auth: s.authContext(m)}
	if !p.Expired(now, 0) {
		s.cache.tokens.put(tok, e)
	}
	return e, nil
}

// buildToken resolves a payload: the user, the scope, the roles, the catalog;
// any failure is a 401 carrying errTokenInvalid (Keystone's mint checks).
func (s *Service) buildToken(ctx context.Context, p fernet.Payload, issued time.Time) (*tokenModel, error) {
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	m := &tokenModel{p: p, issuedAt: issued}
	m.user, err = s.user(ctx, p.UserID)
	if err != nil {
		if fault.IsNotFound(err) {
			return nil, invalid("Could not find user: %s.", p.UserID)
		}
		return nil, err
	}
	if !s.userEnabled(m.user) {
		return nil, invalid("The account is disabled for user: %s.", p.UserID)
	}
	m.userDomain = sn.projects[m.user.DomainID]
	if m.userDomain == nil || !m.userDomain.Enabled {
		return nil, invalid("Unable to validate token because domain %s is disabled", m.user.DomainID)
	}
	if p.AppCredID != "" {
		ac, err := s.st.GetAppCred(ctx, p.AppCredID)
		if err != nil {
			if fault.IsNotFound(err) {
				return nil, invalid("Could not find Application Credential: %s.", p.AppCredID)
			}
			return nil, err
		}
		if !ac.ExpiresAt.IsZero() && !time.Now().Before(ac.ExpiresAt) {
			return nil, invalid("Application credential %s has expired.", ac.ID)
		}
		m.appCred = ac
	}
	switch {
	case p.TrustID != "":
		if err := s.buildTrustScope(ctx, sn, m); err != nil {
			return nil, err
		}
	case p.ProjectID != "":
		m.project = sn.projects[p.ProjectID]
		if m.project == nil {
			return nil, invalid("Could not find project: %s.", p.ProjectID)
		}
		if !m.project.Enabled {
			return nil, invalid("Unable to validate token because project %s is disabled", p.ProjectID)
		}
		m.projectDomain = sn.projects[m.project.DomainID]
		if m.project.IsDomain {
			m.projectDomain = m.project
		}
		if m.projectDomain == nil || !m.projectDomain.Enabled {
			return nil, invalid("Unable to validate token because domain %s is disabled", m.project.DomainID)
		}
		m.roleIDs = sn.projectRoles(p.UserID, p.ProjectID)
		if m.appCred != nil {
			m.roleIDs = intersect(m.appCred.RoleIDs, m.roleIDs)
		}
		if len(m.roleIDs) == 0 {
			return nil, invalid("User %s has no access to project %s", p.UserID, p.ProjectID)
		}
	case p.DomainID != "":
		m.domain = sn.projects[p.DomainID]
		if m.domain == nil || !m.domain.IsDomain {
			return nil, invalid("Could not find domain: %s.", p.DomainID)
		}
		if !m.domain.Enabled {
			return nil, invalid("Unable to validate token because domain %s is disabled", p.DomainID)
		}
		m.roleIDs = sn.domainRoles(p.UserID, p.DomainID)
		if len(m.roleIDs) == 0 {
			return nil, invalid("User %s has no access to domain %s", p.UserID, p.DomainID)
		}
	case p.System != "":
		m.roleIDs = sn.systemRoles(p.UserID)
		if len(m.roleIDs) == 0 {
			return nil, invalid("User %s has no access to the system", p.UserID)
		}
	}
	m.roles = sn.roleRefs(m.roleIDs)
	if !m.unscoped() {
		userID := p.UserID
		if m.trust != nil {
			userID = m.trust.TrustorUserID
		}
		projectID := ""
		if m.project != nil {
			projectID = m.project.ID
		}
		m.catalog = s.catalogFor(sn, userID, projectID)
	}
	return m, nil
}

func (s *Service) buildTrustScope(ctx context.Context, sn *snapshot, m *tokenModel) error {
	t, err := s.st.GetTrust(ctx, m.p.TrustID)
	if err != nil {
		if fault.IsNotFound(err) {
			return invalid("Could not find trust: %s.", m.p.TrustID)
		}
		return err
	}
	if !t.ExpiresAt.IsZero() && !time.Now().Before(t.ExpiresAt) {
		return invalid("Trust %s has expired.", t.ID)
	}
	if t.TrusteeUserID != m.p.UserID {
		return invalid("User is not a trustee.")
	}
	m.trust = t
	if m.trustor, err = s.user(ctx, t.TrustorUserID); err != nil {
		return invalid("Could not find user: %s.", t.TrustorUserID)
	}
	if !s.userEnabled(m.trustor) {
		return invalid("Trustor is disabled.")
	}
	m.trustorDomain = sn.projects[m.trustor.DomainID]
	if m.trustorDomain == nil || !m.trustorDomain.Enabled {
		return invalid("Trustor domain is disabled.")
	}
	if t.ProjectID != "" {
		m.project = sn.projects[t.ProjectID]
		if m.project == nil || !m.project.Enabled {
			return invalid("Could not find project: %s.", t.ProjectID)
		}
		m.projectDomain = sn.projects[m.project.DomainID]
		if m.projectDomain == nil || !m.projectDomain.Enabled {
			return invalid("Unable to validate token because domain %s is disabled", m.project.DomainID)
		}
	}
	// Every role the trust delegates (with what it implies) must still be
	// held by the trustor.
	trustorRoles := sn.projectRoles(t.TrustorUserID, t.ProjectID)
	for _, id := range sn.expand(t.RoleIDs) {
		if !slices.Contains(trustorRoles, id) {
			return invalid("Trustee has no delegated roles.")
		}
		if r := sn.roles[id]; r != nil && r.DomainID == "" {
			m.roleIDs = append(m.roleIDs, id)
		}
	}
	if len(m.roleIDs) == 0 && t.ProjectID != "" {
		return invalid("Trustee has no delegated roles.")
	}
	return nil
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// revoked reports whether a revocation event matches the token.
func (s *Service) revoked(sn *snapshot, m *tokenModel) bool {
	if len(sn.revocations) == 0 {
		return false
	}
	v := tokenValues{
		userID: m.p.UserID, identityDomainID: m.user.DomainID, auditID: m.p.AuditID(),
		issuedAt: m.issuedAt, expiresAt: m.p.ExpiresAt, roles: m.roleIDs, trustID: m.p.TrustID,
	}
	v.auditChainID = m.p.ParentAuditID()
	if v.auditChainID == "" {
		v.auditChainID = v.auditID
	}
	if m.project != nil {
		v.projectID, v.assignmentDomainID = m.project.ID, m.project.DomainID
	}
	if m.domain != nil {
		v.assignmentDomainID = m.domain.ID
	}
	if m.trust != nil {
		v.trustorID, v.trusteeID = m.trust.TrustorUserID, m.trust.TrusteeUserID
	}
	for _, e := range sn.revocations {
		if revokes(e, &v) {
			return true
		}
	}
	return false
}

// tokenValues are the attributes of a token revocation events match against.
type tokenValues struct {
	userID, trustorID, trusteeID         string
	identityDomainID, assignmentDomainID string
	projectID, trustID                   string
	auditID, auditChainID                string
	roles                                []string
	issuedAt, expiresAt                  time.Time
}

// revokes is Keystone's revoke_model.matches: every field the event sets
// must match, and the token must have been issued no later than the event's
// issued_before (both at Keystone's precision of a second).
func revokes(e *store.RevocationEvent, v *tokenValues) bool {
	if e.UserID != "" && e.UserID != v.userID && e.UserID != v.trustorID && e.UserID != v.trusteeID {
		return false
	}
	if e.DomainID != "" && e.DomainID != v.identityDomainID && e.DomainID != v.assignmentDomainID {
		return false
	}
	if !e.ExpiresAt.IsZero() && !e.ExpiresAt.Truncate(time.Second).Equal(v.expiresAt.Truncate(time.Second)) {
		return false
	}
	if e.TrustID != "" && e.TrustID != v.trustID {
		return false
	}
	if e.ConsumerID != "" || e.AccessTokenID != "" {
		return false // no OAuth1 tokens here
	}
	if e.AuditID != "" && e.AuditID != v.auditID {
		return false
	}
	if e.AuditChainID != "" && e.AuditChainID != v.auditChainID {
		return false
	}
	if e.RoleID != "" && !slices.Contains(v.roles, e.RoleID) {
		return false
	}
	if e.ProjectID != "" && e.ProjectID != v.projectID {
		return false
	}
	return !v.issuedAt.After(e.IssuedBefore.Truncate(time.Second))
}

// authContext is what the token tells other code about its bearer.
func (s *Service) authContext(m *tokenModel) *authn.Context {
	c := &authn.Context{
		Token: m.id, UserID: m.user.ID, UserName: m.user.Name,
		UserDomainID: m.user.DomainID, Methods: m.p.Methods, AuditIDs: m.p.AuditIDs,
		ExpiresAt: m.p.ExpiresAt.Truncate(time.Second), IssuedAt: m.issuedAt, System: m.p.System,
		AppCredentialID: m.p.AppCredID, TrustID: m.p.TrustID, IsAdminProject: true,
	}
	if m.userDomain != nil {
		c.UserDomainName = m.userDomain.Name
	}
	if m.project != nil {
		c.ProjectID, c.ProjectName = m.project.ID, m.project.Name
		c.ProjectDomainID, c.ProjectDomainName = m.projectDomain.ID, m.projectDomain.Name
		c.IsAdminProject = s.isAdminProject(m)
	}
	if m.domain != nil {
		c.DomainID, c.DomainName = m.domain.ID, m.domain.Name
	}
	for _, r := range m.roles {
		c.Roles = append(c.Roles, strings.ToLower(r.Name))
		c.RoleIDs = append(c.RoleIDs, r.ID)
	}
	return c
}

func (s *Service) isAdminProject(m *tokenModel) bool {
	name, dom := s.cfg.Resource.AdminProjectName, s.cfg.Resource.AdminProjectDomainName
	if name == "" || dom == "" || m.project == nil {
		return true
	}
	return m.project.Name == name && m.projectDomain.Name == dom
}

func isoTime(t time.Time) string { return t.UTC().Format(wire.TimeFormat) }

// renderToken is Keystone's render_token_response_from_model.
func (s *Service) renderToken(m *tokenModel, withCatalog bool) wire.Token {
	t := wire.Token{
		Methods:   m.p.Methods,
		AuditIDs:  m.p.AuditIDs,
		ExpiresAt: isoTime(m.p.ExpiresAt.Truncate(time.Second)),
		IssuedAt:  isoTime(m.issuedAt),
		User:      s.tokenUser(m.user, m.userDomain),
	}
	if t.AuditIDs == nil {
		t.AuditIDs = []string{}
	}
	switch {
	case m.p.System != "":
		t.System = map[string]any{"all": true}
		t.Roles = m.roles
	case m.domain != nil:
		t.Domain = &wire.IDName{ID: m.domain.ID, Name: m.domain.Name}
		t.Roles = m.roles
	case m.trust != nil:
		t.Trust = &wire.TokenTrust{ID: m.trust.ID, TrustorUser: wire.IDRef{ID: m.trust.TrustorUserID},
			TrusteeUser: wire.IDRef{ID: m.trust.TrusteeUserID}, Impersonation: m.trust.Impersonation}
		if m.project != nil {
			t.Project = &wire.TokenProject{Domain: wire.IDName{ID: m.projectDomain.ID, Name: m.projectDomain.Name}, ID: m.project.ID, Name: m.project.Name}
		}
		if m.trust.Impersonation {
			t.User = s.tokenUser(m.trustor, m.trustorDomain)
		}
		t.Roles = m.roles
	case m.project != nil:
		t.Project = &wire.TokenProject{Domain: wire.IDName{ID: m.projectDomain.ID, Name: m.projectDomain.Name}, ID: m.project.ID, Name: m.project.Name}
		isDomain := m.project.IsDomain
		t.IsDomain = &isDomain
		t.Roles = m.roles
		if s.cfg.Resource.AdminProjectName != "" && s.cfg.Resource.AdminProjectDomainName != "" {
			ap := s.isAdminProject(m)
			t.IsAdminProject = &ap
		}
	}
	if withCatalog && !m.unscoped() {
		cat := m.catalog
		if cat == nil {
			cat = []wire.CatalogEntry{}
		}
		t.Catalog = &cat
	}
	if m.appCred != nil {
		t.ApplicationCredential = &wire.TokenAppCred{ID: m.appCred.ID, Name: m.appCred.Name, Restricted: !m.appCred.Unrestricted}
		for _, r := range m.appCred.AccessRules {
			t.ApplicationCredential.AccessRules = append(t.ApplicationCredential.AccessRules,
				wire.AccessRule{ID: r.ID, Service: r.Service, Path: r.Path, Method: r.Method})
		}
	}
	return t
}

func (s *Service) tokenUser(u *store.User, d *store.Project) wire.TokenUser {
	tu := wire.TokenUser{ID: u.ID, Name: u.Name, Domain: wire.IDName{ID: u.DomainID}}
	if d != nil {
		tu.Domain.Name = d.Name
	}
	if !u.PasswordExpiresAt.IsZero() {
		e := u.PasswordExpiresAt.UTC().Format(userTimeFormat)
		tu.PasswordExpiresAt = &e
	}
	return tu
}

// catalogFor renders the catalog a user sees in a project (Keystone's
// get_v3_catalog): enabled services with their enabled endpoints, URLs with
// $(project_id)s and friends substituted, restricted by the endpoint filter
// when the project has endpoint associations.
func (s *Service) catalogFor(sn *snapshot, userID, projectID string) []wire.CatalogEntry {
	allowed := s.filteredEndpoints(sn, projectID)
	out := []wire.CatalogEntry{}
	for _, svc := range sn.services {
		if !svc.Enabled {
			continue
		}
		e := wire.CatalogEntry{ID: svc.ID, Type: svc.Type, Name: svc.Name, Endpoints: []wire.CatalogEndpoint{}}
		for _, ep := range sn.endpoints {
			if ep.ServiceID != svc.ID || !ep.Enabled {
				continue
			}
			if allowed != nil && !allowed[ep.ID] {
				continue
			}
			u, ok := formatURL(ep.URL, userID, projectID)
			if !ok {
				continue
			}
			e.Endpoints = append(e.Endpoints, wire.CatalogEndpoint{ID: ep.ID, Interface: ep.Interface,
				Region: ep.RegionID, RegionID: ep.RegionID, URL: u})
		}
		if allowed != nil && len(e.Endpoints) == 0 {
			continue
		}
		out = append(out, e)
	}
	return out
}

// filteredEndpoints returns the endpoints a project is restricted to, or nil
// when it has no associations (and return_all_endpoints_if_no_filter).
func (s *Service) filteredEndpoints(sn *snapshot, projectID string) map[string]bool {
	if projectID == "" {
		return nil
	}
	eps, groups := sn.projectEndpoints[projectID], sn.projectEndpointGroups[projectID]
	if len(eps) == 0 && len(groups) == 0 {
		if s.cfg.EndpointFilter.ReturnAllEndpointsIfNoFilter {
			return nil
		}
		return map[string]bool{}
	}
	allowed := map[string]bool{}
	for _, id := range eps {
		allowed[id] = true
	}
	for _, gid := range groups {
		if g := sn.endpointGroups[gid]; g != nil {
			for _, ep := range sn.endpointsMatching(g.Filters) {
				allowed[ep.ID] = true
			}
		}
	}
	return allowed
}

// endpointsMatching returns the endpoints an endpoint group's filters select
// (service_id, interface, region_id).
func (sn *snapshot) endpointsMatching(filters map[string]any) []*store.Endpoint {
	var out []*store.Endpoint
	for _, ep := range sn.endpoints {
		ok := true
		for k, v := range filters {
			s, _ := v.(string)
			switch k {
			case "service_id":
				ok = ok && ep.ServiceID == s
			case "interface":
				ok = ok && ep.Interface == s
			case "region_id":
				ok = ok && ep.RegionID == s
			}
		}
		if ok {
			out = append(out, ep)
		}
	}
	return out
}

// formatURL substitutes $(project_id)s, $(tenant_id)s and $(user_id)s (and
// their %(...)s spelling) in an endpoint URL. An endpoint that needs a
// project id the token has not is left out, as Keystone does.
func formatURL(raw, userID, projectID string) (string, bool) {
	if !strings.Contains(raw, "(") {
		return raw, true
	}
	vals := map[string]string{"project_id": projectID, "tenant_id": projectID, "user_id": userID}
	var b strings.Builder
	rest := raw
	for {
		i := strings.IndexAny(rest, "$%")
		if i < 0 || i+1 >= len(rest) || rest[i+1] != '(' {
			if i < 0 {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:i+1])
			rest = rest[i+1:]
			continue
		}
		end := strings.Index(rest[i:], ")s")
		if end < 0 {
			b.WriteString(rest)
			break
		}
		key := rest[i+2 : i+end]
		v, known := vals[key]
		if !known || v == "" {
			return "", false
		}
		b.WriteString(rest[:i])
		b.WriteString(url.PathEscape(v))
		rest = rest[i+end+2:]
	}
	return b.String(), true
}

package identity

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	wire "github.com/tenku-cloud/tenku/api/identity"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

func (s *Service) authRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/", Public: true, Handler: s.versions},
		{Method: "GET", Path: "/v3", Public: true, Handler: s.version},
		{Method: "POST", Path: "/v3/auth/tokens", Public: true, Status: http.StatusCreated, Handler: s.postToken},
		{Method: "GET", Path: "/v3/auth/tokens", Handler: s.getToken},
		{Method: "DELETE", Path: "/v3/auth/tokens", Status: http.StatusNoContent, Handler: s.deleteToken},
		{Method: "GET", Path: "/v3/auth/catalog", Handler: s.authCatalog},
		{Method: "GET", Path: "/v3/auth/projects", Handler: s.authProjects},
		{Method: "GET", Path: "/v3/auth/domains", Handler: s.authDomains},
		{Method: "GET", Path: "/v3/auth/system", Handler: s.authSystem},
		{Method: "GET", Path: "/v3/auth/tokens/OS-PKI/revoked", Handler: s.pkiRevoked},
	}
}

func (s *Service) versions(ctx context.Context, r *rest.Request) (any, error) {
	self := s.v3URL(r) + "/"
	var v wire.Versions
	v.Versions.Values = []wire.Version{wire.V3(self)}
	return &rest.Response{Status: http.StatusMultipleChoices, Header: http.Header{"Location": {self}}, Body: v}, nil
}

func (s *Service) version(ctx context.Context, r *rest.Request) (any, error) {
	return wire.VersionResponse{Version: wire.V3(s.v3URL(r) + "/")}, nil
}

func (s *Service) postToken(ctx context.Context, r *rest.Request) (any, error) {
	body, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	ar, err := parseAuthRequest(body)
	if err != nil {
		return nil, err
	}
	e, err := s.issueToken(ctx, ar)
	if err != nil {
		if errors.Is(err, errTokenInvalid) {
			return nil, fault.Unauthorized("%s", fault.As(err).Message)
		}
		return nil, err
	}
	out, err := e.body(s, !r.HTTP.URL.Query().Has("nocatalog"))
	if err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusCreated, Header: http.Header{"X-Subject-Token": {e.model.id}}, Body: out}, nil
}

// subjectToken validates X-Subject-Token; a bad one is Keystone's 404.
func (s *Service) subjectToken(ctx context.Context, r *rest.Request, window time.Duration) (*tokenEntry, error) {
	tok := r.HTTP.Header.Get("X-Subject-Token")
	e, err := s.validateToken(ctx, tok, window)
	if err != nil {
		if errors.Is(err, errTokenInvalid) {
			return nil, fault.NotFound("%s", fault.As(err).Message).WithType("TokenNotFound")
		}
		return nil, err
	}
	// A token bound to access rules is only for services that enforce them,
	// which say so with OpenStack-Identity-Access-Rules (version 1.0 or later).
	if ac := e.model.appCred; ac != nil && len(ac.AccessRules) > 0 {
		v, err := strconv.ParseFloat(strings.TrimSpace(r.HTTP.Header.Get("OpenStack-Identity-Access-Rules")), 64)
		if err != nil || v < 1.0 {
			return nil, fault.NotFound("Failed to validate token").WithType("TokenNotFound")
		}
	}
	return e, nil
}

func tokenTarget(e *tokenEntry) map[string]any {
	m := e.model
	t := map[string]any{"user_id": m.p.UserID, "user": map[string]any{"id": m.p.UserID, "domain": map[string]any{"id": m.user.DomainID}}}
	if m.project != nil {
		t["project"] = map[string]any{"id": m.project.ID, "domain": map[string]any{"id": m.project.DomainID}}
	}
	if m.domain != nil {
		t["domain"] = map[string]any{"id": m.domain.ID}
	}
	return map[string]any{"target": map[string]any{"token": t}}
}

func (s *Service) getToken(ctx context.Context, r *rest.Request) (any, error) {
	var window time.Duration
	raw := r.HTTP.URL.RawQuery
	if raw != "" && boolString(r.HTTP.URL.Query().Get("allow_expired")) {
		window = s.cfg.Token.AllowExpiredWindow
	}
	e, err := s.subjectToken(ctx, r, window)
	if err != nil {
		return nil, err
	}
	rule := "identity:validate_token"
	if r.HTTP.Method == http.MethodHead {
		rule = "identity:check_token"
	}
	if err := r.Enforce(ctx, rule, e.subjectTarget()); err != nil {
		return nil, err
	}
	r.Header()["X-Subject-Token"] = []string{e.model.id}
	if r.HTTP.Method == http.MethodHead {
		return &rest.Response{Status: http.StatusOK}, nil
	}
	out, err := e.body(s, raw == "" || !r.HTTP.URL.Query().Has("nocatalog"))
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) deleteToken(ctx context.Context, r *rest.Request) (any, error) {
	e, err := s.subjectToken(ctx, r, 0)
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:revoke_token", e.subjectTarget()); err != nil {
		return nil, err
	}
	if !s.cfg.Token.RevokeByID {
		return nil, fault.Forbidden("Token revocation by id is disabled.")
	}
	if err := s.revoke(ctx, &store.RevocationEvent{AuditID: e.model.p.AuditID()}); err != nil {
		return nil, err
	}
	return nil, nil
}

// revoke stores a revocation event, flushes the caches and tells every
// service to flush its token cache.
func (s *Service) revoke(ctx context.Context, ev *store.RevocationEvent) error {
	if err := s.st.AddRevocationEvent(ctx, ev); err != nil {
		return err
	}
	s.changed(ctx)
	s.announce(ctx, ev)
	return nil
}

// revocationNotice is what the bus carries to other services.
type revocationNotice struct {
	UserID    string `json:"user_id,omitempty"`
	ProjectID string `json:"project_id,omitempty"`
	DomainID  string `json:"domain_id,omitempty"`
	RoleID    string `json:"role_id,omitempty"`
	TrustID   string `json:"trust_id,omitempty"`
	AuditID   string `json:"audit_id,omitempty"`
	RevokedAt string `json:"revoked_at"`
}

func (s *Service) announce(ctx context.Context, ev *store.RevocationEvent) {
	if s.deps.Bus == nil {
		return
	}
	n := revocationNotice{UserID: ev.UserID, ProjectID: ev.ProjectID, DomainID: ev.DomainID, RoleID: ev.RoleID,
		TrustID: ev.TrustID, AuditID: ev.AuditID, RevokedAt: isoTime(ev.RevokedAt)}
	if err := s.deps.Bus.Cast(context.WithoutCancel(ctx), service.Revocations, "revoked", n); err != nil {
		s.log.WarnContext(ctx, "revocation not announced on the bus", "err", err)
	}
}

func boolString(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "on", "y", "yes":
		return true
	}
	return false
}

func (s *Service) authCatalog(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_auth_catalog", map[string]any{}); err != nil {
		return nil, err
	}
	if r.Auth.ProjectID == "" {
		return nil, fault.Forbidden("A project-scoped token is required to produce a service catalog.")
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return wire.CatalogResponse{Catalog: s.catalogFor(sn, r.Auth.UserID, r.Auth.ProjectID),
		Links: wire.Links{Self: s.v3URL(r) + "/auth/catalog"}}, nil
}

// userProjectIDs are the projects a user has an effective role on.
func (sn *snapshot) userProjectIDs(userID string) []string {
	var out []string
	for id, p := range sn.projects {
		if p.IsDomain && p.DomainID == store.RootDomain {
			continue
		}
		if len(sn.projectRoles(userID, id)) > 0 {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// userDomainIDs are the domains a user has an effective role on.
func (sn *snapshot) userDomainIDs(userID string) []string {
	var out []string
	for id, p := range sn.projects {
		if p.IsDomain && len(sn.domainRoles(userID, id)) > 0 {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Service) authProjects(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_auth_projects", map[string]any{}); err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	out := []any{}
	for _, id := range sn.userProjectIDs(r.Auth.UserID) {
		out = append(out, s.renderProject(base, sn.projects[id]))
	}
	return map[string]any{"projects": out, "links": collectionLinks(base + "/v3/auth/projects")}, nil
}

func (s *Service) authDomains(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_auth_domains", map[string]any{}); err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	out := []any{}
	for _, id := range sn.userDomainIDs(r.Auth.UserID) {
		out = append(out, s.renderDomain(base, sn.projects[id]))
	}
	return map[string]any{"domains": out, "links": collectionLinks(base + "/v3/auth/domains")}, nil
}

func (s *Service) authSystem(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_auth_system", map[string]any{}); err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	sys := []any{}
	if len(sn.systemDirectRoleIDs(r.Auth.UserID)) > 0 {
		sys = append(sys, map[string]any{"all": true})
	}
	return map[string]any{"system": sys, "links": map[string]any{"self": s.v3URL(r) + "/auth/system"}}, nil
}

func (s *Service) pkiRevoked(ctx context.Context, r *rest.Request) (any, error) {
	if !s.cfg.Token.RevokeByID {
		return nil, fault.Gone("This resource is no longer available.")
	}
	return nil, fault.Forbidden("You are not authorized to perform the requested action.")
}

package identity

import (
	"context"
	"net/http"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

const (
	trustRoles        = `{"type":"array","items":{"type":"object","properties":{"id":` + idSchema + `,"name":` + roleName + `},"minProperties":1,"maxProperties":1,"additionalProperties":false}}`
	extID             = `{"type":"string","minLength":1,"maxLength":64}`
	trustProps        = `"trustor_user_id":` + extID + `,"trustee_user_id":` + extID + `,"impersonation":{"type":"boolean"},"project_id":` + nullableID + `,"remaining_uses":{"type":["integer","null"],"minimum":1},"expires_at":{"type":["null","string"]},"allow_redelegation":{"type":["boolean","null"]},"redelegation_count":{"type":["integer","null"],"minimum":0},"roles":` + trustRoles
	trustCreateSchema = `{"type":"object","properties":{"trust":{"type":"object","properties":{` + trustProps + `},"required":["trustor_user_id","trustee_user_id","impersonation"]}},"required":["trust"]}`
)

func (s *Service) trustRoutes() []rest.Route {
	return []rest.Route{
		{Method: "POST", Path: "/v3/OS-TRUST/trusts", Status: 201, Schema: trustCreateSchema, Handler: s.createTrust},
		{Method: "GET", Path: "/v3/OS-TRUST/trusts", Handler: s.listTrusts},
		{Method: "GET", Path: "/v3/OS-TRUST/trusts/{trust_id}", Handler: s.getTrust},
		{Method: "DELETE", Path: "/v3/OS-TRUST/trusts/{trust_id}", Status: 204, Handler: s.deleteTrust},
		{Method: "GET", Path: "/v3/OS-TRUST/trusts/{trust_id}/roles", Handler: s.listTrustRoles},
		{Method: "GET", Path: "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}", Handler: s.getTrustRole},

		{Method: "GET", Path: "/v3/OS-REVOKE/events", Handler: s.listRevokeEvents},
	}
}

const trustTimeFormat = "2006-01-02T15:04:05.000000Z"

func (s *Service) renderTrust(base string, sn *snapshot, t *store.Trust) map[string]any {
	roles := []any{}
	for _, id := range t.RoleIDs {
		if ro := sn.roles[id]; ro != nil {
			roles = append(roles, s.renderRole(base, ro))
		}
	}
	out := map[string]any{"id": t.ID, "trustor_user_id": t.TrustorUserID, "trustee_user_id": t.TrusteeUserID,
		"project_id": nullIfEmpty(t.ProjectID), "impersonation": t.Impersonation, "expires_at": nil,
		"remaining_uses": nil, "redelegated_trust_id": nullIfEmpty(t.RedelegatedTrustID), "redelegation_count": 0,
		"allow_redelegation": false, "roles": roles,
		"roles_links": map[string]any{"self": base + "/v3/OS-TRUST/trusts/" + t.ID + "/roles", "previous": nil, "next": nil},
		"links":       map[string]any{"self": base + "/v3/OS-TRUST/trusts/" + t.ID}}
	if !t.ExpiresAt.IsZero() {
		out["expires_at"] = t.ExpiresAt.UTC().Format(trustTimeFormat)
	}
	if t.RemainingUses != nil {
		out["remaining_uses"] = *t.RemainingUses
	}
	if t.RedelegationCount != nil {
		out["redelegation_count"] = *t.RedelegationCount
		out["allow_redelegation"] = *t.RedelegationCount > 0
	}
	return out
}

func trustTarget(t *store.Trust) map[string]any {
	return map[string]any{"id": t.ID, "trustor_user_id": t.TrustorUserID, "trustee_user_id": t.TrusteeUserID, "project_id": t.ProjectID}
}

func (s *Service) createTrust(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "trust")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_trust", map[string]any{"trust": obj}); err != nil {
		return nil, err
	}
	a := caller(ctx, r)
	if a.AppCredentialID != "" {
		if ac, err := s.st.GetAppCred(ctx, a.AppCredentialID); err == nil && !ac.Unrestricted {
			return nil, fault.Forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing trusts.").WithType("ForbiddenAction")
		}
	}
	if a.TrustID != "" && !s.cfg.Trust.AllowRedelegation {
		return nil, fault.Forbidden("You are not authorized to perform the requested action: Redelegation is not allowed.").WithType("ForbiddenAction")
	}
	t := &store.Trust{ID: hexID(), TrustorUserID: str(obj, "trustor_user_id"), TrusteeUserID: str(obj, "trustee_user_id"),
		ProjectID: str(obj, "project_id"), Impersonation: boolean(obj, "impersonation", false),
		Extra: extraOf(obj, "id", "trustor_user_id", "trustee_user_id", "project_id", "impersonation", "expires_at", "remaining_uses", "roles", "allow_redelegation", "redelegation_count", "links")}
	if _, err := s.st.GetUser(ctx, t.TrusteeUserID); err != nil {
		return nil, err
	}
	if e := str(obj, "expires_at"); e != "" {
		ts, err := parseTime(e)
		if err != nil {
			return nil, err
		}
		if !ts.After(time.Now()) {
			return nil, fault.BadRequest("The expiration time of the trust is in the past.").WithType("ValidationError")
		}
		t.ExpiresAt = ts
	}
	if n, ok := obj["remaining_uses"]; ok && n != nil {
		v, ok := intOf(n)
		if !ok || v < 1 {
			return nil, fault.BadRequest("Invalid input for field 'remaining_uses': it must be a positive integer.").WithType("SchemaValidationError")
		}
		t.RemainingUses = &v
	}
	if boolean(obj, "allow_redelegation", false) {
		if !s.cfg.Trust.AllowRedelegation {
			return nil, fault.Forbidden("You are not authorized to perform the requested action: Redelegation is not allowed.").WithType("ForbiddenAction")
		}
		c := s.cfg.Trust.MaxRedelegationCount
		t.RedelegationCount = &c
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	l, _ := obj["roles"].([]any)
	if len(l) > 0 && t.ProjectID == "" {
		return nil, fault.Forbidden("You are not authorized to perform the requested action: Trusts with roles need a project.").WithType("ForbiddenAction")
	}
	var held []string
	if t.ProjectID != "" {
		if _, err := s.st.GetProject(ctx, t.ProjectID); err != nil {
			return nil, err
		}
		held = sn.projectRoles(t.TrustorUserID, t.ProjectID)
	}
	for _, x := range l {
		m, _ := x.(map[string]any)
		id := str(m, "id")
		if id == "" {
			for _, ro := range sn.roles {
				if ro.Name == str(m, "name") && ro.DomainID == "" {
					id = ro.ID
				}
			}
		}
		if sn.roles[id] == nil {
			return nil, fault.NotFound("Could not find role: %s.", str(m, "name")+id).WithType("RoleNotFound")
		}
		ok := false
		for _, h := range held {
			ok = ok || h == id
		}
		if !ok {
			return nil, fault.Forbidden("You are not authorized to perform the requested action: The trustor does not hold role %s on the project.", id).WithType("Forbidden")
		}
		t.RoleIDs = append(t.RoleIDs, id)
	}
	if err := s.st.Tx(ctx, func(tx *store.Store) error { return tx.CreateTrust(ctx, t) }); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"trust": s.renderTrust(s.baseURL(r), sn, t)}, nil
}

func (s *Service) listTrusts(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	trustor, trustee := q.Get("trustor_user_id"), q.Get("trustee_user_id")
	var err error
	switch {
	case trustor != "":
		err = r.Enforce(ctx, "identity:list_trusts_for_trustor", map[string]any{"target": map[string]any{"trust": map[string]any{"trustor_user_id": trustor}}})
	case trustee != "":
		err = r.Enforce(ctx, "identity:list_trusts_for_trustee", map[string]any{"target": map[string]any{"trust": map[string]any{"trustee_user_id": trustee}}})
	default:
		err = r.Enforce(ctx, "identity:list_trusts", map[string]any{})
	}
	if err != nil {
		return nil, err
	}
	ts, err := s.st.ListTrusts(ctx)
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	now := time.Now()
	for _, t := range ts {
		if trustor != "" && t.TrustorUserID != trustor || trustee != "" && t.TrusteeUserID != trustee {
			continue
		}
		if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
			continue
		}
		items = append(items, s.renderTrust(base, sn, t))
	}
	return listResponse("trusts", items, s.selfURL(r), 0), nil
}

func (s *Service) trust(ctx context.Context, r *rest.Request, rule string) (*store.Trust, error) {
	t, err := s.st.GetTrust(ctx, r.Param("trust_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, rule, map[string]any{"target": map[string]any{"trust": trustTarget(t)}, "trust_id": t.ID}); err != nil {
		return nil, err
	}
	if !t.ExpiresAt.IsZero() && !time.Now().Before(t.ExpiresAt) {
		return nil, store.TrustNotFound(t.ID)
	}
	return t, nil
}

func (s *Service) getTrust(ctx context.Context, r *rest.Request) (any, error) {
	t, err := s.trust(ctx, r, "identity:get_trust")
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"trust": s.renderTrust(s.baseURL(r), sn, t)}, nil
}

func (s *Service) deleteTrust(ctx context.Context, r *rest.Request) (any, error) {
	t, err := s.trust(ctx, r, "identity:delete_trust")
	if err != nil {
		return nil, err
	}
	if err := s.st.DeleteTrust(ctx, t.ID); err != nil {
		return nil, err
	}
	return nil, s.revoke(ctx, &store.RevocationEvent{TrustID: t.ID})
}

func (s *Service) listTrustRoles(ctx context.Context, r *rest.Request) (any, error) {
	t, err := s.trust(ctx, r, "identity:list_roles_for_trust")
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	for _, id := range t.RoleIDs {
		if ro := sn.roles[id]; ro != nil {
			items = append(items, s.renderRole(base, ro))
		}
	}
	return listResponse("roles", items, s.selfURL(r), 0), nil
}

func (s *Service) getTrustRole(ctx context.Context, r *rest.Request) (any, error) {
	t, err := s.trust(ctx, r, "identity:get_role_for_trust")
	if err != nil {
		return nil, err
	}
	for _, id := range t.RoleIDs {
		if id == r.Param("role_id") {
			ro, err := s.st.GetRole(ctx, id)
			if err != nil {
				return nil, err
			}
			if r.HTTP.Method == http.MethodHead {
				return &rest.Response{Status: http.StatusOK}, nil
			}
			return map[string]any{"role": s.renderRole(s.baseURL(r), ro)}, nil
		}
	}
	return nil, fault.NotFound("Could not find role: %s.", r.Param("role_id")).WithType("RoleNotFound")
}

// listRevokeEvents is GET /v3/OS-REVOKE/events.
func (s *Service) listRevokeEvents(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_revoke_events", map[string]any{}); err != nil {
		return nil, err
	}
	since := time.Now().Add(-s.cache.revokeW)
	if v := r.HTTP.URL.Query().Get("since"); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return nil, err
		}
		since = t
	}
	evs, err := s.st.RevocationEvents(ctx, since)
	if err != nil {
		return nil, err
	}
	items := []any{}
	for _, e := range evs {
		m := map[string]any{"issued_before": isoTime(e.IssuedBefore), "revoked_at": isoTime(e.RevokedAt)}
		for k, v := range map[string]string{"user_id": e.UserID, "project_id": e.ProjectID, "domain_id": e.DomainID, "role_id": e.RoleID,
			"trust_id": e.TrustID, "audit_id": e.AuditID, "audit_chain_id": e.AuditChainID} {
			if v != "" {
				m[k] = v
			}
		}
		if !e.ExpiresAt.IsZero() {
			m["expires_at"] = isoTime(e.ExpiresAt)
		}
		items = append(items, m)
	}
	return map[string]any{"events": items, "links": collectionLinks(s.selfURL(r))}, nil
}

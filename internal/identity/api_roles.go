package identity

import (
	"context"
	"net/http"
	"sort"

	wire "github.com/tenku-cloud/tenku/api/identity"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

const (
	roleName         = `{"type":"string","minLength":1,"maxLength":255,"pattern":"[\\S]+"}`
	roleProps        = `"name":` + roleName + `,"description":{"type":["string","null"]},"domain_id":` + nullableID + `,"options":` + immutableOption
	roleCreateSchema = `{"type":"object","properties":{"role":{"type":"object","properties":{` + roleProps + `},"required":["name"]}},"required":["role"]}`
	roleUpdateSchema = `{"type":"object","properties":{"role":{"type":"object","properties":{` + roleProps + `},"minProperties":1}},"required":["role"]}`
)

func (s *Service) roleRoutes() []rest.Route {
	rt := []rest.Route{
		{Method: "POST", Path: "/v3/roles", Status: 201, Schema: roleCreateSchema, Handler: s.createRole},
		{Method: "GET", Path: "/v3/roles", Handler: s.listRoles},
		{Method: "GET", Path: "/v3/roles/{role_id}", Handler: s.getRole},
		{Method: "PATCH", Path: "/v3/roles/{role_id}", Schema: roleUpdateSchema, Handler: s.updateRole},
		{Method: "DELETE", Path: "/v3/roles/{role_id}", Status: 204, Handler: s.deleteRole},

		{Method: "GET", Path: "/v3/roles/{role_id}/implies", Handler: s.listImplied},
		{Method: "PUT", Path: "/v3/roles/{role_id}/implies/{implied_role_id}", Status: 201, Handler: s.createImplied},
		{Method: "GET", Path: "/v3/roles/{role_id}/implies/{implied_role_id}", Handler: s.getImplied},
		{Method: "HEAD", Path: "/v3/roles/{role_id}/implies/{implied_role_id}", Status: 204, Handler: s.getImplied},
		{Method: "DELETE", Path: "/v3/roles/{role_id}/implies/{implied_role_id}", Status: 204, Handler: s.deleteImplied},
		{Method: "GET", Path: "/v3/role_inferences", Handler: s.listRoleInferences},

		{Method: "GET", Path: "/v3/role_assignments", Handler: s.listRoleAssignments},
	}
	// Grants: {projects,domains} x {users,groups}, and the system.
	for _, tgt := range []struct{ coll, param string }{{"projects", "project_id"}, {"domains", "domain_id"}} {
		for _, act := range []struct{ coll, param string }{{"users", "user_id"}, {"groups", "group_id"}} {
			base := "/v3/" + tgt.coll + "/{" + tgt.param + "}/" + act.coll + "/{" + act.param + "}/roles"
			g := grantRoute{target: tgt.param, actor: act.param}
			rt = append(rt,
				rest.Route{Method: "GET", Path: base, Handler: s.listGrants(g, false)},
				rest.Route{Method: "PUT", Path: base + "/{role_id}", Status: 204, Handler: s.putGrant(g, false)},
				rest.Route{Method: "GET", Path: base + "/{role_id}", Status: 204, Handler: s.checkGrant(g, false)},
				rest.Route{Method: "DELETE", Path: base + "/{role_id}", Status: 204, Handler: s.deleteGrant(g, false)},
			)
			inh := "/v3/OS-INHERIT/" + tgt.coll + "/{" + tgt.param + "}/" + act.coll + "/{" + act.param + "}/roles"
			rt = append(rt,
				rest.Route{Method: "PUT", Path: inh + "/{role_id}/inherited_to_projects", Status: 204, Handler: s.putGrant(g, true)},
				rest.Route{Method: "GET", Path: inh + "/{role_id}/inherited_to_projects", Status: 204, Handler: s.checkGrant(g, true)},
				rest.Route{Method: "DELETE", Path: inh + "/{role_id}/inherited_to_projects", Status: 204, Handler: s.deleteGrant(g, true)},
			)
			if tgt.coll == "domains" {
				rt = append(rt, rest.Route{Method: "GET", Path: inh + "/inherited_to_projects", Handler: s.listGrants(g, true)})
			}
		}
	}
	for _, act := range []struct{ coll, param string }{{"users", "user_id"}, {"groups", "group_id"}} {
		base := "/v3/system/" + act.coll + "/{" + act.param + "}/roles"
		g := grantRoute{target: "system", actor: act.param}
		rt = append(rt,
			rest.Route{Method: "GET", Path: base, Handler: s.listGrants(g, false)},
			rest.Route{Method: "PUT", Path: base + "/{role_id}", Status: 204, Handler: s.putGrant(g, false)},
			rest.Route{Method: "GET", Path: base + "/{role_id}", Status: 204, Handler: s.checkGrant(g, false)},
			rest.Route{Method: "DELETE", Path: base + "/{role_id}", Status: 204, Handler: s.deleteGrant(g, false)},
		)
	}
	return rt
}

func (s *Service) renderRole(base string, r *store.Role) wire.Role {
	out := wire.Role{ID: r.ID, Name: r.Name, Options: r.Options, Extra: r.Extra,
		Links: wire.SelfLink{Self: base + "/v3/roles/" + r.ID}}
	if out.Options == nil {
		out.Options = map[string]any{}
	}
	if r.DomainID != "" {
		d := r.DomainID
		out.DomainID = &d
	}
	desc := r.Description
	out.Description = &desc
	return out
}

func roleTarget(r *store.Role) map[string]any {
	t := map[string]any{"id": r.ID, "name": r.Name, "domain_id": nil}
	if r.DomainID != "" {
		t["domain_id"] = r.DomainID
	}
	return t
}

func (s *Service) createRole(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "role")
	if err != nil {
		return nil, err
	}
	rule := "identity:create_role"
	domainID := str(obj, "domain_id")
	if domainID != "" {
		rule = "identity:create_domain_role"
	}
	if err := r.Enforce(ctx, rule, map[string]any{"target": map[string]any{"role": obj}, "role": obj}); err != nil {
		return nil, err
	}
	if domainID != "" {
		if _, err := s.st.GetDomain(ctx, domainID); err != nil {
			return nil, err
		}
	}
	ro := &store.Role{ID: hexID(), Name: str(obj, "name"), DomainID: domainID, Description: str(obj, "description"),
		Options: userOptionsOf(obj, nil), Extra: extraOf(obj, "id", "name", "domain_id", "description", "options", "links")}
	if err := s.st.CreateRole(ctx, ro); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"role": s.renderRole(s.baseURL(r), ro)}, nil
}

func (s *Service) listRoles(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	rule := "identity:list_roles"
	if q.Get("domain_id") != "" {
		rule = "identity:list_domain_roles"
	}
	if err := r.Enforce(ctx, rule, map[string]any{"name": q.Get("name"), "domain_id": q.Get("domain_id")}); err != nil {
		return nil, err
	}
	roles, err := s.st.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(q, "name", "id")
	want := q.Get("domain_id")
	base := s.baseURL(r)
	items := []any{}
	for _, ro := range roles {
		if ro.DomainID != want {
			continue
		}
		if fs.match(func(k string) (string, bool) {
			switch k {
			case "name":
				return ro.Name, true
			case "id":
				return ro.ID, true
			}
			return "", false
		}) {
			items = append(items, s.renderRole(base, ro))
		}
	}
	return listResponse("roles", items, s.selfURL(r), s.limit(0)), nil
}

func (s *Service) roleOr404(ctx context.Context, id string) (*store.Role, error) {
	return s.st.GetRole(ctx, id)
}

func roleRule(ro *store.Role, global, domain string) string {
	if ro.DomainID != "" {
		return domain
	}
	return global
}

func (s *Service) getRole(ctx context.Context, r *rest.Request) (any, error) {
	ro, err := s.roleOr404(ctx, r.Param("role_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, roleRule(ro, "identity:get_role", "identity:get_domain_role"), map[string]any{"target": map[string]any{"role": roleTarget(ro)}, "role_id": ro.ID}); err != nil {
		return nil, err
	}
	return map[string]any{"role": s.renderRole(s.baseURL(r), ro)}, nil
}

func (s *Service) updateRole(ctx context.Context, r *rest.Request) (any, error) {
	ro, err := s.roleOr404(ctx, r.Param("role_id"))
	if err != nil {
		return nil, err
	}
	obj, _, err := body(r, "role")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, roleRule(ro, "identity:update_role", "identity:update_domain_role"), map[string]any{"target": map[string]any{"role": roleTarget(ro)}, "role_id": ro.ID}); err != nil {
		return nil, err
	}
	if err := immutableUpdate("role", ro.ID, map[string]any{"options": ro.Options}, obj); err != nil {
		return nil, err
	}
	if has(obj, "domain_id") && str(obj, "domain_id") != ro.DomainID {
		return nil, fault.BadRequest("Update of `domain_id` is not allowed.").WithType("ValidationError")
	}
	if has(obj, "name") {
		ro.Name = str(obj, "name")
	}
	if has(obj, "description") {
		ro.Description = str(obj, "description")
	}
	ro.Options = userOptionsOf(obj, ro.Options)
	ro.Extra = mergeExtra(ro.Extra, extraOf(obj, "id", "name", "domain_id", "description", "options", "links"))
	if err := s.st.UpdateRole(ctx, ro); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"role": s.renderRole(s.baseURL(r), ro)}, nil
}

func (s *Service) deleteRole(ctx context.Context, r *rest.Request) (any, error) {
	ro, err := s.roleOr404(ctx, r.Param("role_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, roleRule(ro, "identity:delete_role", "identity:delete_domain_role"), map[string]any{"target": map[string]any{"role": roleTarget(ro)}, "role_id": ro.ID}); err != nil {
		return nil, err
	}
	if optTrue(ro.Options, "immutable") {
		return nil, forbidden("Unable to delete immutable role resource: `%s`. Set resource option \"immutable\" to false first.", ro.ID).WithType("ResourceDeleteForbidden")
	}
	if err := s.st.DeleteRole(ctx, ro.ID); err != nil {
		return nil, err
	}
	return nil, s.revoke(ctx, &store.RevocationEvent{RoleID: ro.ID})
}

// ---- implied roles ----

func (s *Service) roleRef(base string, ro *store.Role) map[string]any {
	return map[string]any{"id": ro.ID, "name": ro.Name, "links": map[string]any{"self": base + "/v3/roles/" + ro.ID}}
}

func (s *Service) impliedPair(ctx context.Context, r *rest.Request, rule string) (*store.Role, *store.Role, error) {
	prior, err := s.roleOr404(ctx, r.Param("role_id"))
	if err != nil {
		return nil, nil, err
	}
	implied, err := s.roleOr404(ctx, r.Param("implied_role_id"))
	if err != nil {
		return nil, nil, err
	}
	err = r.Enforce(ctx, rule, map[string]any{"prior_role_id": prior.ID, "implied_role_id": implied.ID})
	return prior, implied, err
}

func (s *Service) createImplied(ctx context.Context, r *rest.Request) (any, error) {
	prior, implied, err := s.impliedPair(ctx, r, "identity:create_implied_role")
	if err != nil {
		return nil, err
	}
	for _, name := range s.cfg.Assignment.ProhibitedImpliedRole {
		if implied.Name == name {
			return nil, forbidden("%s is not permitted to be an implied role", implied.ID).WithType("InvalidImpliedRole")
		}
	}
	if prior.DomainID == "" && implied.DomainID != "" {
		return nil, forbidden("Global role cannot imply a domain-specific role")
	}
	if prior.ID == implied.ID {
		return nil, forbidden("A role cannot imply itself").WithType("InvalidImpliedRole")
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range sn.expand([]string{implied.ID}) {
		if id == prior.ID {
			return nil, forbidden("Implied role %s would create a cycle.", implied.ID).WithType("ImpliedRoleCycle")
		}
	}
	if err := s.st.CreateImpliedRole(ctx, store.ImpliedRole{PriorID: prior.ID, ImpliedID: implied.ID}); err != nil {
		return nil, err
	}
	s.changed(ctx)
	base := s.baseURL(r)
	return &rest.Response{Status: http.StatusCreated, Body: map[string]any{"role_inference": map[string]any{
		"prior_role": s.roleRef(base, prior), "implies": s.roleRef(base, implied)},
		"links": map[string]any{"self": s.selfURL(r)}}}, nil
}

func (s *Service) impliedExists(ctx context.Context, prior, implied string) (bool, error) {
	ims, err := s.st.ListImpliedRoles(ctx)
	if err != nil {
		return false, err
	}
	for _, im := range ims {
		if im.PriorID == prior && im.ImpliedID == implied {
			return true, nil
		}
	}
	return false, nil
}

func impliedNotFound(prior, implied string) *fault.Error {
	return fault.NotFound("%s is not an implied role of %s.", implied, prior).WithType("ImpliedRoleNotFound")
}

func (s *Service) getImplied(ctx context.Context, r *rest.Request) (any, error) {
	prior, implied, err := s.impliedPair(ctx, r, "identity:get_implied_role")
	if err != nil {
		return nil, err
	}
	ok, err := s.impliedExists(ctx, prior.ID, implied.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, impliedNotFound(prior.ID, implied.ID)
	}
	if r.HTTP.Method == http.MethodHead {
		return &rest.Response{Status: http.StatusNoContent}, nil
	}
	base := s.baseURL(r)
	return map[string]any{"role_inference": map[string]any{"prior_role": s.roleRef(base, prior), "implies": s.roleRef(base, implied)},
		"links": map[string]any{"self": s.selfURL(r)}}, nil
}

func (s *Service) deleteImplied(ctx context.Context, r *rest.Request) (any, error) {
	prior, implied, err := s.impliedPair(ctx, r, "identity:delete_implied_role")
	if err != nil {
		return nil, err
	}
	ok, err := s.st.DeleteImpliedRole(ctx, store.ImpliedRole{PriorID: prior.ID, ImpliedID: implied.ID})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, impliedNotFound(prior.ID, implied.ID)
	}
	s.changed(ctx)
	return nil, nil
}

func (s *Service) listImplied(ctx context.Context, r *rest.Request) (any, error) {
	prior, err := s.roleOr404(ctx, r.Param("role_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:list_implied_roles", map[string]any{"prior_role_id": prior.ID}); err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	implies := []any{}
	for _, id := range sortedIDs(sn.implies[prior.ID]) {
		if ro := sn.roles[id]; ro != nil {
			implies = append(implies, s.roleRef(base, ro))
		}
	}
	return map[string]any{"role_inference": map[string]any{"prior_role": s.roleRef(base, prior), "implies": implies},
		"links": map[string]any{"self": s.selfURL(r)}}, nil
}

func sortedIDs(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

func (s *Service) listRoleInferences(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_role_inference_rules", map[string]any{}); err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	var priors []string
	for id := range sn.implies {
		priors = append(priors, id)
	}
	sort.Strings(priors)
	out := []any{}
	for _, id := range priors {
		prior := sn.roles[id]
		if prior == nil {
			continue
		}
		implies := []any{}
		for _, iid := range sortedIDs(sn.implies[id]) {
			if ro := sn.roles[iid]; ro != nil {
				implies = append(implies, s.roleRef(base, ro))
			}
		}
		out = append(out, map[string]any{"prior_role": s.roleRef(base, prior), "implies": implies})
	}
	return map[string]any{"role_inferences": out, "links": map[string]any{"self": s.selfURL(r)}}, nil
}

package identity

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// ---- endpoint groups and the endpoint filter ----

func (s *Service) renderEndpointGroup(base string, x *store.EndpointGroup) map[string]any {
	return map[string]any{"id": x.ID, "name": x.Name, "description": x.Description, "filters": x.Filters,
		"links": map[string]any{"self": base + "/v3/OS-EP-FILTER/endpoint_groups/" + x.ID}}
}

func checkEndpointFilters(f map[string]any) error {
	if len(f) == 0 {
		return fault.BadRequest("Invalid filters: the endpoint group needs at least one of interface, service_id, region_id.").WithType("ValidationError")
	}
	for k, v := range f {
		switch k {
		case "interface", "service_id", "region_id":
			if _, ok := v.(string); !ok {
				return fault.BadRequest("Invalid filter value for %s.", k).WithType("ValidationError")
			}
		default:
			return fault.BadRequest("%s is not a valid endpoint group filter.", k).WithType("ValidationError")
		}
	}
	return nil
}

func (s *Service) createEndpointGroup(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "endpoint_group")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_endpoint_group", map[string]any{"endpoint_group": obj}); err != nil {
		return nil, err
	}
	f, _ := plain(obj["filters"]).(map[string]any)
	if err := checkEndpointFilters(f); err != nil {
		return nil, err
	}
	x := &store.EndpointGroup{ID: hexID(), Name: str(obj, "name"), Description: str(obj, "description"), Filters: f}
	if err := s.st.CreateEndpointGroup(ctx, x); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"endpoint_group": s.renderEndpointGroup(s.baseURL(r), x)}, nil
}

func (s *Service) listEndpointGroups(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_endpoint_groups", map[string]any{}); err != nil {
		return nil, err
	}
	xs, err := s.st.ListEndpointGroups(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(r.HTTP.URL.Query(), "name")
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		if fs.match(func(k string) (string, bool) { return x.Name, k == "name" }) {
			items = append(items, s.renderEndpointGroup(base, x))
		}
	}
	return listResponse("endpoint_groups", items, s.selfURL(r), 0), nil
}

func (s *Service) endpointGroup(ctx context.Context, r *rest.Request, rule string) (*store.EndpointGroup, error) {
	if err := r.Enforce(ctx, rule, map[string]any{"endpoint_group_id": r.Param("endpoint_group_id")}); err != nil {
		return nil, err
	}
	return s.st.GetEndpointGroup(ctx, r.Param("endpoint_group_id"))
}

func (s *Service) getEndpointGroup(ctx context.Context, r *rest.Request) (any, error) {
	x, err := s.endpointGroup(ctx, r, "identity:get_endpoint_group")
	if err != nil {
		return nil, err
	}
	return map[string]any{"endpoint_group": s.renderEndpointGroup(s.baseURL(r), x)}, nil
}

func (s *Service) updateEndpointGroup(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "endpoint_group")
	if err != nil {
		return nil, err
	}
	x, err := s.endpointGroup(ctx, r, "identity:update_endpoint_group")
	if err != nil {
		return nil, err
	}
	if has(obj, "name") {
		x.Name = str(obj, "name")
	}
	if has(obj, "description") {
		x.Description = str(obj, "description")
	}
	if has(obj, "filters") {
		f, _ := plain(obj["filters"]).(map[string]any)
		if err := checkEndpointFilters(f); err != nil {
			return nil, err
		}
		x.Filters = f
	}
	if err := s.st.UpdateEndpointGroup(ctx, x); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"endpoint_group": s.renderEndpointGroup(s.baseURL(r), x)}, nil
}

func (s *Service) deleteEndpointGroup(ctx context.Context, r *rest.Request) (any, error) {
	x, err := s.endpointGroup(ctx, r, "identity:delete_endpoint_group")
	if err != nil {
		return nil, err
	}
	if err := s.st.DeleteEndpointGroup(ctx, x.ID); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

func (s *Service) listEndpointGroupProjects(ctx context.Context, r *rest.Request) (any, error) {
	x, err := s.endpointGroup(ctx, r, "identity:list_projects_associated_with_endpoint_group")
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	for pid, gids := range sn.projectEndpointGroups {
		for _, gid := range gids {
			if gid == x.ID && sn.projects[pid] != nil {
				items = append(items, s.renderProject(base, sn.projects[pid]))
			}
		}
	}
	return listResponse("projects", items, s.selfURL(r), 0), nil
}

func (s *Service) listEndpointGroupEndpoints(ctx context.Context, r *rest.Request) (any, error) {
	x, err := s.endpointGroup(ctx, r, "identity:list_endpoints_associated_with_endpoint_group")
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return s.endpointList(r, sn.endpointsMatching(x.Filters)), nil
}

func (s *Service) epGroupAndProject(ctx context.Context, r *rest.Request, rule string) (*store.EndpointGroup, *store.Project, error) {
	x, err := s.endpointGroup(ctx, r, rule)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.st.GetProject(ctx, r.Param("project_id"))
	return x, p, err
}

func (s *Service) addEndpointGroupProject(ctx context.Context, r *rest.Request) (any, error) {
	x, p, err := s.epGroupAndProject(ctx, r, "identity:add_endpoint_group_to_project")
	if err != nil {
		return nil, err
	}
	if err := s.st.AddProjectEndpointGroup(ctx, store.ProjectEndpointGroup{EndpointGroupID: x.ID, ProjectID: p.ID}); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

func (s *Service) getEndpointGroupProject(ctx context.Context, r *rest.Request) (any, error) {
	x, p, err := s.epGroupAndProject(ctx, r, "identity:get_endpoint_group_in_project")
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	for _, gid := range sn.projectEndpointGroups[p.ID] {
		if gid == x.ID {
			return map[string]any{"project": s.renderProject(s.baseURL(r), p)}, nil
		}
	}
	return nil, fault.NotFound("Could not find project endpoint group association for endpoint group %s and project %s.", x.ID, p.ID).WithType("NotFound")
}

func (s *Service) removeEndpointGroupProject(ctx context.Context, r *rest.Request) (any, error) {
	x, p, err := s.epGroupAndProject(ctx, r, "identity:remove_endpoint_group_from_project")
	if err != nil {
		return nil, err
	}
	ok, err := s.st.RemoveProjectEndpointGroup(ctx, store.ProjectEndpointGroup{EndpointGroupID: x.ID, ProjectID: p.ID})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.NotFound("Could not find project endpoint group association for endpoint group %s and project %s.", x.ID, p.ID).WithType("NotFound")
	}
	s.changed(ctx)
	return nil, nil
}

func (s *Service) listProjectEndpointGroups(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_endpoint_groups_for_project", map[string]any{"project_id": r.Param("project_id")}); err != nil {
		return nil, err
	}
	p, err := s.st.GetProject(ctx, r.Param("project_id"))
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	for _, gid := range sortedIDs(sn.projectEndpointGroups[p.ID]) {
		if g := sn.endpointGroups[gid]; g != nil {
			items = append(items, s.renderEndpointGroup(base, g))
		}
	}
	return listResponse("endpoint_groups", items, s.selfURL(r), 0), nil
}

func (s *Service) listProjectEndpoints(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_endpoints_for_project", map[string]any{"project_id": r.Param("project_id")}); err != nil {
		return nil, err
	}
	p, err := s.st.GetProject(ctx, r.Param("project_id"))
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	allowed := s.filteredEndpoints(sn, p.ID)
	var eps []*store.Endpoint
	for _, ep := range sn.endpoints {
		if allowed != nil && allowed[ep.ID] {
			eps = append(eps, ep)
		}
	}
	return s.endpointList(r, eps), nil
}

func (s *Service) projectAndEndpoint(ctx context.Context, r *rest.Request, rule string) (*store.Project, *store.Endpoint, error) {
	if err := r.Enforce(ctx, rule, map[string]any{"project_id": r.Param("project_id"), "endpoint_id": r.Param("endpoint_id")}); err != nil {
		return nil, nil, err
	}
	p, err := s.st.GetProject(ctx, r.Param("project_id"))
	if err != nil {
		return nil, nil, err
	}
	ep, err := s.st.GetEndpoint(ctx, r.Param("endpoint_id"))
	return p, ep, err
}

func (s *Service) addProjectEndpoint(ctx context.Context, r *rest.Request) (any, error) {
	p, ep, err := s.projectAndEndpoint(ctx, r, "identity:add_endpoint_to_project")
	if err != nil {
		return nil, err
	}
	if err := s.st.AddProjectEndpoint(ctx, store.ProjectEndpoint{EndpointID: ep.ID, ProjectID: p.ID}); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

func epAssocNotFound(p, ep string) *fault.Error {
	return fault.NotFound("Could not find endpoint %s associated with project %s.", ep, p).WithType("NotFound")
}

func (s *Service) checkProjectEndpoint(ctx context.Context, r *rest.Request) (any, error) {
	p, ep, err := s.projectAndEndpoint(ctx, r, "identity:check_endpoint_in_project")
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range sn.projectEndpoints[p.ID] {
		if id == ep.ID {
			return nil, nil
		}
	}
	return nil, epAssocNotFound(p.ID, ep.ID)
}

func (s *Service) removeProjectEndpoint(ctx context.Context, r *rest.Request) (any, error) {
	p, ep, err := s.projectAndEndpoint(ctx, r, "identity:remove_endpoint_from_project")
	if err != nil {
		return nil, err
	}
	ok, err := s.st.RemoveProjectEndpoint(ctx, store.ProjectEndpoint{EndpointID: ep.ID, ProjectID: p.ID})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, epAssocNotFound(p.ID, ep.ID)
	}
	s.changed(ctx)
	return nil, nil
}

func (s *Service) listEndpointProjects(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_projects_for_endpoint", map[string]any{"endpoint_id": r.Param("endpoint_id")}); err != nil {
		return nil, err
	}
	ep, err := s.st.GetEndpoint(ctx, r.Param("endpoint_id"))
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	for pid, eps := range sn.projectEndpoints {
		for _, id := range eps {
			if id == ep.ID && sn.projects[pid] != nil {
				items = append(items, s.renderProject(base, sn.projects[pid]))
			}
		}
	}
	return listResponse("projects", items, s.selfURL(r), 0), nil
}

// ---- policies (the /v3/policies blob store) ----

func (s *Service) renderPolicy(base string, x *store.PolicyBlob) map[string]any {
	out := map[string]any{}
	for k, v := range x.Extra {
		out[k] = v
	}
	out["id"], out["type"], out["blob"] = x.ID, x.Type, x.Blob
	out["links"] = map[string]any{"self": base + "/v3/policies/" + x.ID}
	return out
}

func (s *Service) createPolicy(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "policy")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_policy", map[string]any{"policy": obj}); err != nil {
		return nil, err
	}
	x := &store.PolicyBlob{ID: hexID(), Type: str(obj, "type"), Blob: str(obj, "blob"), Extra: extraOf(obj, "id", "type", "blob", "links")}
	if err := s.st.CreatePolicy(ctx, x); err != nil {
		return nil, err
	}
	return map[string]any{"policy": s.renderPolicy(s.baseURL(r), x)}, nil
}

func (s *Service) listPolicies(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_policies", map[string]any{"type": r.HTTP.URL.Query().Get("type")}); err != nil {
		return nil, err
	}
	xs, err := s.st.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(r.HTTP.URL.Query(), "type")
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		if fs.match(func(k string) (string, bool) { return x.Type, k == "type" }) {
			items = append(items, s.renderPolicy(base, x))
		}
	}
	return listResponse("policies", items, s.selfURL(r), 0), nil
}

func (s *Service) getPolicy(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_policy", map[string]any{"policy_id": r.Param("policy_id")}); err != nil {
		return nil, err
	}
	x, err := s.st.GetPolicy(ctx, r.Param("policy_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"policy": s.renderPolicy(s.baseURL(r), x)}, nil
}

func (s *Service) updatePolicy(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "policy")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_policy", map[string]any{"policy_id": r.Param("policy_id"), "policy": obj}); err != nil {
		return nil, err
	}
	x, err := s.st.GetPolicy(ctx, r.Param("policy_id"))
	if err != nil {
		return nil, err
	}
	if has(obj, "type") {
		x.Type = str(obj, "type")
	}
	if has(obj, "blob") {
		x.Blob = str(obj, "blob")
	}
	x.Extra = mergeExtra(x.Extra, extraOf(obj, "id", "type", "blob", "links"))
	if err := s.st.UpdatePolicy(ctx, x); err != nil {
		return nil, err
	}
	return map[string]any{"policy": s.renderPolicy(s.baseURL(r), x)}, nil
}

func (s *Service) deletePolicy(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:delete_policy", map[string]any{"policy_id": r.Param("policy_id")}); err != nil {
		return nil, err
	}
	if err := s.st.DeletePolicy(ctx, r.Param("policy_id")); err != nil {
		return nil, err
	}
	return nil, nil
}

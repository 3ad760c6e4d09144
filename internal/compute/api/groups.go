package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) groupRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/os-server-groups", Handler: a.listGroups},
		{Method: "POST", Path: "/v2.1/os-server-groups", Handler: a.createGroup},
		{Method: "GET", Path: "/v2.1/os-server-groups/{group_id}", Handler: a.showGroup},
		{Method: "DELETE", Path: "/v2.1/os-server-groups/{group_id}", Handler: a.deleteGroup, Status: http.StatusNoContent},
	}
}

func (a *API) groupView(r *rest.Request, g *objects.ServerGroup) map[string]any {
	v := map[string]any{"id": g.UUID, "name": g.Name, "members": g.Members}
	if r.Version.AtLeast(rest.V(2, 64)) {
		rules := g.Rules
		if rules == nil {
			rules = map[string]any{}
		}
		v["policy"], v["rules"] = g.Policy, rules
	} else {
		v["policies"], v["metadata"] = []string{g.Policy}, map[string]any{}
	}
	if r.Version.AtLeast(rest.V(2, 13)) {
		v["project_id"], v["user_id"] = g.ProjectID, g.UserID
	}
	return v
}

func (a *API) listGroups(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "os_compute_api:os-server-groups:index", nil); err != nil {
		return nil, err
	}
	project, _ := caller(r)
	q := r.HTTP.URL.Query()
	if v := q.Get("all_projects"); v != "" {
		if b, _ := queryBool("all_projects", v); b && a.can(ctx, r, "os_compute_api:os-server-groups:index:all_projects", nil) {
			project = ""
		}
	}
	groups, err := a.d.Store.ServerGroups(ctx, project)
	if err != nil {
		return nil, err
	}
	offset, limit := 0, a.cfg.API.MaxLimit
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fault.BadRequest("Invalid input for query parameters offset. Value: %s.", s)
		}
		offset = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fault.BadRequest("Invalid input for query parameters limit. Value: %s.", s)
		}
		limit = min(n, a.cfg.API.MaxLimit)
	}
	if offset > len(groups) {
		offset = len(groups)
	}
	groups = groups[offset:]
	if len(groups) > limit {
		groups = groups[:limit]
	}
	list := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		list = append(list, a.groupView(r, g))
	}
	return map[string]any{"server_groups": list}, nil
}

func (a *API) groupFor(ctx context.Context, r *rest.Request) (*objects.ServerGroup, error) {
	g, err := a.d.Store.ServerGroup(ctx, r.Param("group_id"))
	if err != nil {
		return nil, err
	}
	if project, _ := caller(r); !isAdmin(r) && g.ProjectID != project {
		return nil, fault.NotFound("Instance group %s could not be found.", g.UUID).WithType("InstanceGroupNotFound")
	}
	return g, nil
}

func (a *API) showGroup(ctx context.Context, r *rest.Request) (any, error) {
	g, err := a.groupFor(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "os_compute_api:os-server-groups:show", map[string]any{"project_id": g.ProjectID}); err != nil {
		return nil, err
	}
	return map[string]any{"server_group": a.groupView(r, g)}, nil
}

func (a *API) deleteGroup(ctx context.Context, r *rest.Request) (any, error) {
	g, err := a.groupFor(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "os_compute_api:os-server-groups:delete", map[string]any{"project_id": g.ProjectID}); err != nil {
		return nil, err
	}
	return nil, a.d.Store.DeleteServerGroup(ctx, g.UUID)
}

func (a *API) createGroup(ctx context.Context, r *rest.Request) (any, error) {
	project, user := caller(r)
	if err := r.Enforce(ctx, "os_compute_api:os-server-groups:create", map[string]any{"project_id": project, "user_id": user}); err != nil {
		return nil, err
	}
	var body struct {
		Group map[string]json.RawMessage `json:"server_group"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if body.Group == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute server_group. 'server_group' is a required property")
	}
	g := &objects.ServerGroup{UUID: uuid.NewString(), ProjectID: project, UserID: user, Rules: map[string]any{}, Members: []string{}}
	policies := map[string]bool{"affinity": true, "anti-affinity": true}
	if r.Version.AtLeast(rest.V(2, 15)) {
		policies["soft-affinity"], policies["soft-anti-affinity"] = true, true
	}
	for k, raw := range body.Group {
		switch {
		case k == "name":
			if err := json.Unmarshal(raw, &g.Name); err != nil {
				return nil, fault.BadRequest("Invalid input for field/attribute name.")
			}
			if err := validName("name", g.Name, false); err != nil {
				return nil, err
			}
		case k == "policies" && !r.Version.AtLeast(rest.V(2, 64)):
			var ps []string
			if err := json.Unmarshal(raw, &ps); err != nil || len(ps) != 1 || !policies[ps[0]] {
				return nil, fault.BadRequest("Invalid input for field/attribute policies. Value: %s. It must list exactly one of the supported policies", raw)
			}
			g.Policy = ps[0]
		case k == "policy" && r.Version.AtLeast(rest.V(2, 64)):
			if err := json.Unmarshal(raw, &g.Policy); err != nil || !policies[g.Policy] {
				return nil, fault.BadRequest("Invalid input for field/attribute policy. Value: %s. It is not one of the supported policies", raw)
			}
		case k == "rules" && r.Version.AtLeast(rest.V(2, 64)):
			var rules map[string]any
			if err := json.Unmarshal(raw, &rules); err != nil {
				return nil, fault.BadRequest("Invalid input for field/attribute rules.")
			}
			for rk, rv := range rules {
				if rk != "max_server_per_host" {
					return nil, fault.BadRequest("Invalid input for field/attribute rules. Additional properties are not allowed ('%s' was unexpected)", rk)
				}
				n, err := intParam("max_server_per_host", rv, 1, 0x7FFFFFFF)
				if err != nil {
					return nil, err
				}
				g.Rules[rk] = n
			}
		default:
			return nil, fault.BadRequest("Invalid input for field/attribute server_group. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if g.Name == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute server_group. 'name' is a required property")
	}
	if g.Policy == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute server_group. 'policy' is a required property")
	}
	if len(g.Rules) > 0 && g.Policy != "anti-affinity" {
		return nil, fault.BadRequest("Only anti-affinity policy supports rules.")
	}
	pl, err := a.quota.projectLimits(ctx, project)
	if err != nil {
		return nil, err
	}
	ul, err := a.quota.userLimits(ctx, project, user)
	if err != nil {
		return nil, err
	}
	if err := a.d.Store.CreateServerGroup(ctx, g, pl["server_groups"], ul["server_groups"]); err != nil {
		if _, over := store.AsOverQuota(err); over {
			return nil, fault.Forbidden("Quota exceeded, too many server groups.").WithType("OverQuota")
		}
		return nil, err
	}
	return map[string]any{"server_group": a.groupView(r, g)}, nil
}

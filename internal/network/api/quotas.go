package api

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/tenku-cloud/tenku/internal/network/plugin"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) quotaRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.0/quotas", Handler: a.listQuotas},
		{Method: "GET", Path: "/v2.0/quotas/tenant", Handler: a.quotaTenant},
		{Method: "GET", Path: "/v2.0/quotas/project", Handler: a.quotaTenant},
		{Method: "GET", Path: "/v2.0/quotas/{project_id}", Handler: a.showQuota},
		{Method: "PUT", Path: "/v2.0/quotas/{project_id}", Handler: a.updateQuota},
		{Method: "DELETE", Path: "/v2.0/quotas/{project_id}", Status: 204, Handler: a.deleteQuota},
		{Method: "GET", Path: "/v2.0/quotas/{project_id}/default", Handler: a.defaultQuota},
		{Method: "GET", Path: "/v2.0/quotas/{project_id}/details.json", Handler: a.quotaDetails},
		{Method: "GET", Path: "/v2.0/quotas/{project_id}/details", Handler: a.quotaDetails},
	}
}

func quotaBody(limits map[string]int, project string) map[string]any {
	out := map[string]any{}
	for k, v := range limits {
		out[k] = v
	}
	if project != "" {
		out["project_id"], out["tenant_id"] = project, project
	}
	return out
}

func (a *API) listQuotas(ctx context.Context, r *rest.Request) (any, error) {
	all, err := a.p.QuotaProjects(ctx)
	if err != nil {
		return nil, err
	}
	projects := make([]string, 0, len(all))
	for p := range all {
		projects = append(projects, p)
	}
	sort.Strings(projects)
	out := []map[string]any{}
	for _, p := range projects {
		if a.z.allowed(ctx, r.Auth, "get_quota", ownerTarget(p)) {
			out = append(out, quotaBody(all[p], p))
		}
	}
	return map[string]any{"quotas": out}, nil
}

func (a *API) quotaTenant(ctx context.Context, r *rest.Request) (any, error) {
	id := ""
	if r.Auth != nil {
		id = r.Auth.ProjectID
	}
	return map[string]any{"tenant": map[string]any{"tenant_id": id}, "project": map[string]any{"project_id": id}}, nil
}

func (a *API) showQuota(ctx context.Context, r *rest.Request) (any, error) {
	p := r.Param("project_id")
	if err := a.checkQuotaRead(ctx, r, p); err != nil {
		return nil, err
	}
	limits, err := a.p.Quotas(ctx, p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"quota": quotaBody(limits, "")}, nil
}

func (a *API) defaultQuota(ctx context.Context, r *rest.Request) (any, error) {
	p := r.Param("project_id")
	if err := a.checkQuotaRead(ctx, r, p); err != nil {
		return nil, err
	}
	return map[string]any{"quota": quotaBody(a.p.DefaultQuotaLimits(), "")}, nil
}

func (a *API) quotaDetails(ctx context.Context, r *rest.Request) (any, error) {
	p := r.Param("project_id")
	if err := a.checkQuotaRead(ctx, r, p); err != nil {
		return nil, err
	}
	u, err := a.p.QuotaUsage(ctx, p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"quota": u}, nil
}

func (a *API) updateQuota(ctx context.Context, r *rest.Request) (any, error) {
	p := r.Param("project_id")
	if err := a.z.check(ctx, r.Auth, "update_quota", ownerTarget(p)); err != nil {
		return nil, err
	}
	buf, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	var body struct {
		Quota map[string]json.RawMessage `json:"quota"`
	}
	if err := json.Unmarshal(buf, &body); err != nil || body.Quota == nil {
		return nil, fault.BadRequest("Unable to find 'quota' in request body").WithType("HTTPBadRequest")
	}
	limits := map[string]int{}
	for k, v := range body.Quota {
		if k == "force" || k == "check_limit" {
			continue
		}
		n, ok := toInt(v)
		if !ok {
			return nil, plugin.BadAttr(k, "'%s' is not an integer", pyRepr(v))
		}
		limits[k] = n
	}
	out, err := a.p.SetQuotas(ctx, p, limits)
	if err != nil {
		return nil, err
	}
	return map[string]any{"quota": quotaBody(out, "")}, nil
}

func (a *API) deleteQuota(ctx context.Context, r *rest.Request) (any, error) {
	p := r.Param("project_id")
	if err := a.z.check(ctx, r.Auth, "delete_quota", ownerTarget(p)); err != nil {
		return nil, err
	}
	return nil, a.p.ResetQuotas(ctx, p)
}

// checkQuotaRead is Neutron's rule for reading one project's quotas: a project
// may always read its own; any other needs get_quota, checked (as Neutron does)
// against the caller's own project.
func (a *API) checkQuotaRead(ctx context.Context, r *rest.Request, project string) error {
	if r.Auth != nil && r.Auth.ProjectID != "" && project == r.Auth.ProjectID {
		return nil
	}
	caller := ""
	if r.Auth != nil {
		caller = r.Auth.ProjectID
	}
	return a.z.check(ctx, r.Auth, "get_quota", ownerTarget(caller))
}

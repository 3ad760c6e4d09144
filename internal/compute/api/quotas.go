package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// quotaEngine resolves limits as Nova's DbQuotaDriver: nova.conf's [quota]
// defaults, overridden by the "default" quota class, by the project's
// limits, and (for per-user limits) by the user's.
type quotaEngine struct {
	cfg   conf.Quota
	store *store.Store
}

// Resources Nova counts, in the order of its responses.
var (
	quotaCore     = []string{"instances", "cores", "ram", "metadata_items", "key_pairs", "server_groups", "server_group_members"}
	quotaInjected = []string{"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}
	quotaNetwork  = []string{"floating_ips", "fixed_ips", "security_groups", "security_group_rules"}
)

// networkDefaults are the limits Nova showed for the resources it proxied to
// nova-network (removed from the API in 2.36); they are shown, not enforced.
var networkDefaults = map[string]int{"floating_ips": 10, "fixed_ips": -1, "security_groups": 10, "security_group_rules": 20}

func (q *quotaEngine) configDefaults() map[string]int {
	c := q.cfg
	return map[string]int{
		"instances": c.Instances, "cores": c.Cores, "ram": c.RAM, "metadata_items": c.MetadataItems,
		"injected_files": c.InjectedFiles, "injected_file_content_bytes": c.InjectedFileContentBytes,
		"injected_file_path_bytes": c.InjectedFilePathLength, "key_pairs": c.KeyPairs,
		"server_groups": c.ServerGroups, "server_group_members": c.ServerGroupMembers,
	}
}

// classLimits returns a quota class's limits over the config defaults.
func (q *quotaEngine) classLimits(ctx context.Context, class string) (map[string]int, error) {
	out := q.configDefaults()
	for k, v := range networkDefaults {
		out[k] = v
	}
	over, err := q.store.QuotaClass(ctx, class)
	if err != nil {
		return nil, err
	}
	for k, v := range over {
		out[k] = v
	}
	return out, nil
}

// projectLimits returns a project's limits.
func (q *quotaEngine) projectLimits(ctx context.Context, project string) (map[string]int, error) {
	out, err := q.classLimits(ctx, "default")
	if err != nil {
		return nil, err
	}
	over, err := q.store.Quotas(ctx, project, "")
	if err != nil {
		return nil, err
	}
	for k, v := range over {
		out[k] = v
	}
	return out, nil
}

// userLimits returns a user's limits within a project.
func (q *quotaEngine) userLimits(ctx context.Context, project, user string) (map[string]int, error) {
	out, err := q.projectLimits(ctx, project)
	if err != nil {
		return nil, err
	}
	if user == "" {
		return out, nil
	}
	over, err := q.store.Quotas(ctx, project, user)
	if err != nil {
		return nil, err
	}
	for k, v := range over {
		out[k] = v
	}
	return out, nil
}

func (q *quotaEngine) userLimit(ctx context.Context, project, user, res string) (int, error) {
	l, err := q.userLimits(ctx, project, user)
	if err != nil {
		return 0, err
	}
	return l[res], nil
}

// reservation builds the quota reservation for instances.
func (q *quotaEngine) reservation(ctx context.Context, project, user string, deltas map[string]int) (*store.Reservation, error) {
	pl, err := q.projectLimits(ctx, project)
	if err != nil {
		return nil, err
	}
	ul, err := q.userLimits(ctx, project, user)
	if err != nil {
		return nil, err
	}
	return &store.Reservation{ProjectID: project, UserID: user, Deltas: deltas, ProjectLimits: pl, UserLimits: ul}, nil
}

// usage returns what a project (or user) uses of each resource.
func (q *quotaEngine) usage(ctx context.Context, project, user string) (map[string]int, error) {
	u, err := q.store.Usage(ctx, project, user)
	if err != nil {
		return nil, err
	}
	out := map[string]int{"instances": u["instances"], "cores": u["cores"], "ram": u["ram"], "server_groups": u["server_groups"]}
	if user != "" {
		n, err := q.store.CountKeypairs(ctx, user)
		if err != nil {
			return nil, err
		}
		out["key_pairs"] = n
	}
	return out, nil
}

// visible lists the resources a microversion shows in quota sets.
func quotaVisible(v rest.Version, class bool) []string {
	out := append([]string{}, quotaCore...)
	if class && !v.AtLeast(rest.V(2, 50)) {
		out = out[:5] // no server group quotas in classes before 2.50
	}
	if !v.AtLeast(rest.V(2, 57)) {
		out = append(out, quotaInjected...)
	}
	if !v.AtLeast(rest.V(2, 36)) && !(class && v.AtLeast(rest.V(2, 50))) {
		out = append(out, quotaNetwork...)
	}
	return out
}

func (a *API) quotaRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/os-quota-sets/{project_id}", Handler: a.showQuotas, Policy: "os_compute_api:os-quota-sets:show"},
		{Method: "GET", Path: "/v2.1/os-quota-sets/{project_id}/detail", Handler: a.showQuotasDetail, Policy: "os_compute_api:os-quota-sets:detail"},
		{Method: "GET", Path: "/v2.1/os-quota-sets/{project_id}/defaults", Handler: a.showQuotaDefaults, Policy: "os_compute_api:os-quota-sets:defaults"},
		{Method: "PUT", Path: "/v2.1/os-quota-sets/{project_id}", Handler: a.updateQuotas, Policy: "os_compute_api:os-quota-sets:update"},
		{Method: "DELETE", Path: "/v2.1/os-quota-sets/{project_id}", Handler: a.deleteQuotas, Status: http.StatusAccepted, Policy: "os_compute_api:os-quota-sets:delete"},
		{Method: "GET", Path: "/v2.1/os-quota-class-sets/{id}", Handler: a.showQuotaClass, Policy: "os_compute_api:os-quota-class-sets:show"},
		{Method: "PUT", Path: "/v2.1/os-quota-class-sets/{id}", Handler: a.updateQuotaClass, Policy: "os_compute_api:os-quota-class-sets:update"},
	}
}

func pick(limits map[string]int, keys []string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		out[k] = limits[k]
	}
	return out
}

func (a *API) showQuotas(ctx context.Context, r *rest.Request) (any, error) {
	project, user := r.Param("project_id"), r.HTTP.URL.Query().Get("user_id")
	limits, err := a.quota.userLimits(ctx, project, user)
	if err != nil {
		return nil, err
	}
	qs := pick(limits, quotaVisible(r.Version, false))
	qs["id"] = project
	return map[string]any{"quota_set": qs}, nil
}

func (a *API) showQuotasDetail(ctx context.Context, r *rest.Request) (any, error) {
	project, user := r.Param("project_id"), r.HTTP.URL.Query().Get("user_id")
	limits, err := a.quota.userLimits(ctx, project, user)
	if err != nil {
		return nil, err
	}
	u := user
	if u == "" {
		_, u = caller(r)
	}
	usage, err := a.quota.usage(ctx, project, user)
	if err != nil {
		return nil, err
	}
	if user == "" && u != "" {
		if n, err := a.d.Store.CountKeypairs(ctx, u); err == nil {
			usage["key_pairs"] = n
		}
	}
	qs := map[string]any{"id": project}
	for _, k := range quotaVisible(r.Version, false) {
		qs[k] = map[string]int{"limit": limits[k], "in_use": usage[k], "reserved": 0}
	}
	return map[string]any{"quota_set": qs}, nil
}

func (a *API) showQuotaDefaults(ctx context.Context, r *rest.Request) (any, error) {
	limits, err := a.quota.classLimits(ctx, "default")
	if err != nil {
		return nil, err
	}
	qs := pick(limits, quotaVisible(r.Version, false))
	qs["id"] = r.Param("project_id")
	return map[string]any{"quota_set": qs}, nil
}

// readQuotaBody validates a quota update body: known resources only, integers
// >= -1 (a numeric string is accepted, as Nova's schema does).
func readQuotaBody(r *rest.Request, key string, allowed []string, allowForce bool) (map[string]int, bool, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, false, err
	}
	body, err := decodeMap(raw)
	if err != nil {
		return nil, false, err
	}
	qs, ok := body[key].(map[string]any)
	if !ok || len(body) != 1 {
		return nil, false, fault.BadRequest("Invalid input for field/attribute %s. '%s' is a required property", key, key)
	}
	ok2 := map[string]bool{}
	for _, k := range allowed {
		ok2[k] = true
	}
	out := map[string]int{}
	force := false
	for k, v := range qs {
		if k == "force" && allowForce {
			b, err := boolParam("force", v)
			if err != nil {
				return nil, false, err
			}
			force = b
			continue
		}
		if !ok2[k] {
			return nil, false, fault.BadRequest("Invalid input for field/attribute %s. Additional properties are not allowed ('%s' was unexpected)", key, k)
		}
		n, err := intParam(k, v, -1, 0x7FFFFFFF)
		if err != nil {
			return nil, false, err
		}
		out[k] = n
	}
	return out, force, nil
}

func (a *API) updateQuotas(ctx context.Context, r *rest.Request) (any, error) {
	project, user := r.Param("project_id"), r.HTTP.URL.Query().Get("user_id")
	vals, force, err := readQuotaBody(r, "quota_set", quotaVisible(r.Version, false), true)
	if err != nil {
		return nil, err
	}
	if v := a.d.VerifyProject; v != nil && r.Auth != nil {
		if err := v(ctx, r.Auth.Token, project); err != nil {
			return nil, err
		}
	}
	if !force {
		usage, err := a.quota.usage(ctx, project, user)
		if err != nil {
			return nil, err
		}
		var projLimits map[string]int
		if user != "" {
			if projLimits, err = a.quota.projectLimits(ctx, project); err != nil {
				return nil, err
			}
		}
		for k, v := range vals {
			if v == -1 {
				continue
			}
			if used := usage[k]; v < used {
				return nil, fault.BadRequest("Quota limit %d for %s must be greater than or equal to already used and reserved %d.", v, k, used)
			}
			if projLimits != nil && projLimits[k] >= 0 && v > projLimits[k] {
				return nil, fault.BadRequest("Quota limit %d for %s must be less than or equal to %d.", v, k, projLimits[k])
			}
		}
	}
	if err := a.d.Store.SetQuotas(ctx, project, user, vals); err != nil {
		return nil, err
	}
	limits, err := a.quota.userLimits(ctx, project, user)
	if err != nil {
		return nil, err
	}
	return map[string]any{"quota_set": pick(limits, quotaVisible(r.Version, false))}, nil
}

func (a *API) deleteQuotas(ctx context.Context, r *rest.Request) (any, error) {
	return nil, a.d.Store.DeleteQuotas(ctx, r.Param("project_id"), r.HTTP.URL.Query().Get("user_id"))
}

func (a *API) showQuotaClass(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("id")
	limits, err := a.quota.classLimits(ctx, id)
	if err != nil {
		return nil, err
	}
	qs := pick(limits, quotaVisible(r.Version, true))
	qs["id"] = id
	return map[string]any{"quota_class_set": qs}, nil
}

func (a *API) updateQuotaClass(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("id")
	if len(id) > 255 {
		return nil, fault.BadRequest("quota_class_name must be at most 255 characters")
	}
	allowed := quotaVisible(r.Version, true)
	if !r.Version.AtLeast(rest.V(2, 50)) {
		allowed = append(allowed, "server_groups", "server_group_members")
	}
	vals, _, err := readQuotaBody(r, "quota_class_set", allowed, false)
	if err != nil {
		return nil, err
	}
	if err := a.d.Store.SetQuotaClass(ctx, id, vals); err != nil {
		return nil, err
	}
	limits, err := a.quota.classLimits(ctx, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"quota_class_set": pick(limits, quotaVisible(r.Version, true))}, nil
}

func (a *API) limitRoutes() []rest.Route {
	return []rest.Route{{Method: "GET", Path: "/v2.1/limits", Handler: a.showLimits, Policy: "os_compute_api:limits"}}
}

func (a *API) showLimits(ctx context.Context, r *rest.Request) (any, error) {
	project, user := caller(r)
	if t := r.HTTP.URL.Query().Get("tenant_id"); t != "" && t != project {
		if a.can(ctx, r, "os_compute_api:limits:other_project", map[string]any{"project_id": t}) {
			project, user = t, ""
		}
	}
	limits, err := a.quota.projectLimits(ctx, project)
	if err != nil {
		return nil, err
	}
	usage, err := a.quota.usage(ctx, project, "")
	if err != nil {
		return nil, err
	}
	_ = user
	abs := map[string]any{
		"maxServerMeta": limits["metadata_items"], "maxTotalKeypairs": limits["key_pairs"],
		"maxServerGroups": limits["server_groups"], "maxServerGroupMembers": limits["server_group_members"],
		"maxTotalCores": limits["cores"], "maxTotalInstances": limits["instances"], "maxTotalRAMSize": limits["ram"],
		"totalCoresUsed": usage["cores"], "totalInstancesUsed": usage["instances"], "totalRAMUsed": usage["ram"],
		"totalServerGroupsUsed": usage["server_groups"],
	}
	if !r.Version.AtLeast(rest.V(2, 36)) {
		abs["maxSecurityGroups"], abs["maxSecurityGroupRules"] = limits["security_groups"], limits["security_group_rules"]
		abs["maxTotalFloatingIps"], abs["totalFloatingIpsUsed"], abs["totalSecurityGroupsUsed"] = limits["floating_ips"], 0, 0
	}
	if !r.Version.AtLeast(rest.V(2, 39)) {
		abs["maxImageMeta"] = limits["metadata_items"]
	}
	if !r.Version.AtLeast(rest.V(2, 57)) {
		abs["maxPersonality"], abs["maxPersonalitySize"] = limits["injected_files"], limits["injected_file_content_bytes"]
	}
	return map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}}, nil
}

var _ = json.Marshal
var _ = strings.TrimSpace
var _ = fmt.Sprint

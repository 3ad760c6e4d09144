package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// Quotas, as Cinder keeps them: cinder.conf's defaults, overridden by the
// "default" quota class (os-quota-class-sets), overridden by a project's
// own limits (os-quota-sets). Every volume type adds three resources,
// volumes_<type>, gigabytes_<type> and snapshots_<type> (unlimited unless
// set), enforced on volume creation, extension, snapshots and transfers
// with the project-wide ones, under the project's lock.

// typeResources are the per-type resources, by prefix.
var typeResources = []string{"volumes", "gigabytes", "snapshots"}

func quotaClassRules() []policy.Rule {
	return []policy.Rule{
		rule("volume_extension:quota_classes", ruleAdminAPI, "Show a quota class.", op("GET", "/os-quota-class-sets/{project_id}")),
		rule("volume_extension:quota_classes:update", ruleAdminAPI, "Update a quota class.", op("PUT", "/os-quota-class-sets/{project_id}")),
	}
}

func (a *API) quotaRoutes() []rest.Route {
	p := "/v3/{project_id}"
	return []rest.Route{
		{Method: "GET", Path: p + "/os-quota-sets/{target}", Handler: a.showQuotas},
		{Method: "GET", Path: p + "/os-quota-sets/{target}/defaults", Handler: a.showQuotaDefaults},
		{Method: "PUT", Path: p + "/os-quota-sets/{target}", Policy: "volume_extension:quotas:update", Handler: a.updateQuotas},
		{Method: "DELETE", Path: p + "/os-quota-sets/{target}", Policy: "volume_extension:quotas:delete", Handler: a.deleteQuotas},
		{Method: "GET", Path: p + "/os-quota-class-sets/{class}", Policy: "volume_extension:quota_classes", Handler: a.showQuotaClass},
		{Method: "PUT", Path: p + "/os-quota-class-sets/{class}", Policy: "volume_extension:quota_classes:update", Handler: a.updateQuotaClass},
	}
}

// quotaKeys are the resources of a quota set: the project-wide ones, then
// those of every volume type.
func (a *API) quotaKeys(ctx context.Context) ([]string, map[string]string, error) {
	types, err := a.db.ListTypes(ctx)
	if err != nil {
		return nil, nil, err
	}
	keys := slices.Clone(quotaResources)
	typeOf := map[string]string{} // resource → type id
	for _, t := range types {
		for _, p := range typeResources {
			keys = append(keys, p+"_"+t.Name)
			typeOf[p+"_"+t.Name] = t.ID
		}
	}
	return keys, typeOf, nil
}

// classQuotas are a quota class's limits over cinder.conf's defaults (a
// class other than "default" falls back to the default class).
func (a *API) classQuotas(ctx context.Context, class string) (map[string]int64, []string, error) {
	keys, _, err := a.quotaKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]int64{}
	for _, k := range keys {
		out[k] = a.opt.Quotas.value(k)
	}
	for _, c := range slices.Compact([]string{"default", class}) {
		set, err := a.db.QuotaClass(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range set {
			if _, ok := out[k]; ok {
				out[k] = v
			}
		}
	}
	return out, keys, nil
}

// quotaSet returns a project's effective quotas.
func (a *API) quotaSet(ctx context.Context, project string) (map[string]int64, error) {
	out, _, err := a.classQuotas(ctx, "default")
	if err != nil {
		return nil, err
	}
	over, err := a.db.Quotas(ctx, project)
	if err != nil {
		return nil, err
	}
	for k, v := range over {
		if _, ok := out[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// limits are the quotas a change to a project's volume of type typeID
// (empty: no type's) is checked against.
func (a *API) limits(ctx context.Context, project, typeID string) (store.Limits, error) {
	q, err := a.quotaSet(ctx, project)
	if err != nil {
		return store.Limits{}, err
	}
	l := store.Limits{Volumes: q["volumes"], Snapshots: q["snapshots"], Gigabytes: q["gigabytes"], PerVolumeGigabytes: q["per_volume_gigabytes"]}
	if typeID == "" {
		return l, nil
	}
	t, err := a.db.GetTypeAny(ctx, typeID)
	if errors.Is(err, store.ErrNotFound) {
		return l, nil
	}
	if err != nil {
		return store.Limits{}, err
	}
	l.TypeID, l.TypeName = t.ID, t.Name
	l.TypeVolumes, l.TypeSnapshots, l.TypeGigabytes = q["volumes_"+t.Name], q["snapshots_"+t.Name], q["gigabytes_"+t.Name]
	return l, nil
}

func (a *API) showQuotas(ctx context.Context, r *rest.Request) (any, error) {
	target, err := a.quotaTarget(ctx, r, "volume_extension:quotas:show")
	if err != nil {
		return nil, err
	}
	q, err := a.quotaSet(ctx, target)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"id": target}
	if usage, _ := truthy(r.HTTP.URL.Query().Get("usage")); !usage {
		for k, v := range q {
			out[k] = v
		}
		return map[string]any{"quota_set": out}, nil
	}
	inUse, err := a.quotaUsage(ctx, target)
	if err != nil {
		return nil, err
	}
	for k, v := range q {
		out[k] = map[string]int64{"limit": v, "in_use": inUse[k], "reserved": 0, "allocated": 0}
	}
	return map[string]any{"quota_set": out}, nil
}

// quotaUsage is what a project holds of every resource.
func (a *API) quotaUsage(ctx context.Context, project string) (map[string]int64, error) {
	u, err := a.db.ProjectUsage(ctx, project)
	if err != nil {
		return nil, err
	}
	nb, bgb, err := a.db.ProjectBackupUsage(ctx, project)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{"volumes": u.Volumes, "snapshots": u.Snapshots, "gigabytes": u.Gigabytes, "backups": nb, "backup_gigabytes": bgb}
	types, err := a.db.ListTypes(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range types {
		tu, err := a.db.ProjectTypeUsage(ctx, project, t.ID)
		if err != nil {
			return nil, err
		}
		out["volumes_"+t.Name], out["snapshots_"+t.Name], out["gigabytes_"+t.Name] = tu.Volumes, tu.Snapshots, tu.Gigabytes
	}
	return out, nil
}

func (a *API) showQuotaDefaults(ctx context.Context, r *rest.Request) (any, error) {
	target, err := a.quotaTarget(ctx, r, "volume_extension:quotas:show")
	if err != nil {
		return nil, err
	}
	q, _, err := a.classQuotas(ctx, "default")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"id": target}
	for k, v := range q {
		out[k] = v
	}
	return map[string]any{"quota_set": out}, nil
}

// quotaValue reads a limit as Cinder's validate_integer does: an integer
// or a string holding one, at least -1.
func quotaValue(k string, raw json.RawMessage) (int64, error) {
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, fault.BadRequest("Invalid input received: Quota %s must be an integer.", k)
		}
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil {
			return 0, fault.BadRequest("Invalid input received: Quota %s must be an integer.", k)
		}
	}
	if n < -1 {
		return 0, fault.BadRequest("Invalid input received: Quota limit %d for %s must be -1 or greater.", n, k)
	}
	return n, nil
}

func decodeQuotaBody(r *rest.Request, key string) (map[string]json.RawMessage, error) {
	var b map[string]map[string]json.RawMessage
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	set, ok := b[key]
	if !ok || set == nil {
		return nil, fault.BadRequest("Missing required element '%s' in request body.", key)
	}
	return set, nil
}

func (a *API) updateQuotas(ctx context.Context, r *rest.Request) (any, error) {
	body, err := decodeQuotaBody(r, "quota_set")
	if err != nil {
		return nil, err
	}
	keys, _, err := a.quotaKeys(ctx)
	if err != nil {
		return nil, err
	}
	target := r.Param("target")
	set := map[string]int64{}
	for k, raw := range body {
		if k == "id" || k == "tenant_id" {
			continue
		}
		if !slices.Contains(keys, k) {
			return nil, fault.BadRequest("Bad key(s) in quota set: %s", k)
		}
		if set[k], err = quotaValue(k, raw); err != nil {
			return nil, err
		}
	}
	for k, n := range set {
		if err := a.db.SetQuota(ctx, target, k, n); err != nil {
			return nil, err
		}
	}
	q, err := a.quotaSet(ctx, target)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range q {
		out[k] = v
	}
	return map[string]any{"quota_set": out}, nil
}

func (a *API) showQuotaClass(ctx context.Context, r *rest.Request) (any, error) {
	class := r.Param("class")
	q, _, err := a.classQuotas(ctx, class)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"id": class}
	for k, v := range q {
		out[k] = v
	}
	return map[string]any{"quota_class_set": out}, nil
}

// updateQuotaClass sets a class's limits; keys that name no resource are
// ignored, as Cinder ignores them. The answer has no id, as Cinder's.
func (a *API) updateQuotaClass(ctx context.Context, r *rest.Request) (any, error) {
	class := r.Param("class")
	if len(class) > 255 {
		return nil, fault.BadRequest("Invalid input received: quota_class_name has more than 255 characters.")
	}
	body, err := decodeQuotaBody(r, "quota_class_set")
	if err != nil {
		return nil, err
	}
	keys, _, err := a.quotaKeys(ctx)
	if err != nil {
		return nil, err
	}
	set := map[string]int64{}
	for k, raw := range body {
		if !slices.Contains(keys, k) {
			continue
		}
		if set[k], err = quotaValue(k, raw); err != nil {
			return nil, err
		}
	}
	for k, n := range set {
		if err := a.db.SetQuotaClass(ctx, class, k, n); err != nil {
			return nil, err
		}
	}
	q, _, err := a.classQuotas(ctx, class)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range q {
		out[k] = v
	}
	return map[string]any{"quota_class_set": out}, nil
}

package identity

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// JSON schemas of Keystone's unified limits (keystone/limit/schema.py).
const (
	limitValue           = `{"type":"integer","minimum":-1,"maximum":2147483647}`
	resourceName         = `{"type":"string","minLength":1,"maxLength":255}`
	regLimitProps        = `"service_id":` + idSchema + `,"region_id":{"type":["null","string"]},"resource_name":` + resourceName + `,"default_limit":` + limitValue + `,"description":` + nullableDesc
	regLimitCreateSchema = `{"type":"object","properties":{"registered_limits":{"type":"array","minItems":1,"items":{"type":"object","properties":{` + regLimitProps +
		`},"additionalProperties":false,"required":["service_id","resource_name","default_limit"]}}},"required":["registered_limits"]}`
	regLimitUpdateSchema = `{"type":"object","properties":{"registered_limit":{"type":"object","properties":{` + regLimitProps + `},"additionalProperties":false}},"required":["registered_limit"]}`
	limitCommon          = `"service_id":` + idSchema + `,"region_id":{"type":"string"},"resource_name":` + resourceName + `,"resource_limit":` + limitValue + `,"description":` + nullableDesc
	limitCreateSchema    = `{"type":"object","properties":{"limits":{"type":"array","minItems":1,"items":{"type":"object","oneOf":[` +
		`{"properties":{"project_id":` + idSchema + `,` + limitCommon + `},"required":["project_id","service_id","resource_name","resource_limit"],"additionalProperties":false},` +
		`{"properties":{"domain_id":` + idSchema + `,` + limitCommon + `},"required":["domain_id","service_id","resource_name","resource_limit"],"additionalProperties":false}]}}},"required":["limits"]}`
	limitUpdateSchema = `{"type":"object","properties":{"limit":{"type":"object","properties":{"resource_limit":` + limitValue + `,"description":` + nullableDesc + `},"additionalProperties":false}},"required":["limit"]}`
)

func (s *Service) limitRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v3/limits/model", Handler: s.limitModel},
		{Method: "POST", Path: "/v3/registered_limits", Status: 201, Schema: regLimitCreateSchema, Handler: s.createRegisteredLimits},
		{Method: "GET", Path: "/v3/registered_limits", Handler: s.listRegisteredLimits},
		{Method: "GET", Path: "/v3/registered_limits/{registered_limit_id}", Handler: s.getRegisteredLimit},
		{Method: "PATCH", Path: "/v3/registered_limits/{registered_limit_id}", Schema: regLimitUpdateSchema, Handler: s.updateRegisteredLimit},
		{Method: "DELETE", Path: "/v3/registered_limits/{registered_limit_id}", Status: 204, Handler: s.deleteRegisteredLimit},
		{Method: "POST", Path: "/v3/limits", Status: 201, Schema: limitCreateSchema, Handler: s.createLimits},
		{Method: "GET", Path: "/v3/limits", Handler: s.listLimits},
		{Method: "GET", Path: "/v3/limits/{limit_id}", Handler: s.getLimit},
		{Method: "PATCH", Path: "/v3/limits/{limit_id}", Schema: limitUpdateSchema, Handler: s.updateLimit},
		{Method: "DELETE", Path: "/v3/limits/{limit_id}", Status: 204, Handler: s.deleteLimit},
	}
}

func (s *Service) limitModel(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_limit_model", map[string]any{}); err != nil {
		return nil, err
	}
	return map[string]any{"model": map[string]any{"name": "flat",
		"description": "Limit enforcement and validation does not take project hierarchy into consideration."}}, nil
}

func (s *Service) renderRegisteredLimit(base string, x *store.RegisteredLimit) map[string]any {
	return map[string]any{"id": x.ID, "service_id": x.ServiceID, "region_id": nullIfEmpty(x.RegionID), "resource_name": x.ResourceName,
		"default_limit": x.DefaultLimit, "description": nullIfEmpty(x.Description),
		"links": map[string]any{"self": base + "/v3/registered_limits/" + x.ID}}
}

func (s *Service) renderLimit(base string, x *store.Limit) map[string]any {
	return map[string]any{"id": x.ID, "project_id": nullIfEmpty(x.ProjectID), "domain_id": nullIfEmpty(x.DomainID), "service_id": x.ServiceID,
		"region_id": nullIfEmpty(x.RegionID), "resource_name": x.ResourceName, "resource_limit": x.ResourceLimit,
		"description": nullIfEmpty(x.Description), "links": map[string]any{"self": base + "/v3/limits/" + x.ID}}
}

// checkLimitRefs is Keystone's _assert_resource_exist: the service, region,
// project and domain named must exist (a 400 otherwise).
func (s *Service) checkLimitRefs(ctx context.Context, sn *snapshot, serviceID, regionID, projectID, domainID string) error {
	found := false
	for _, svc := range sn.services {
		found = found || svc.ID == serviceID
	}
	if !found {
		return expecting("service_id", "registered limit")
	}
	if regionID != "" && sn.regions[regionID] == nil {
		return expecting("region_id", "registered limit")
	}
	if projectID != "" {
		if p := sn.projects[projectID]; p == nil || p.IsDomain {
			return expecting("project_id", "limit")
		}
	}
	if domainID != "" {
		if d := sn.projects[domainID]; d == nil || !d.IsDomain {
			return expecting("domain_id", "limit")
		}
	}
	return nil
}

func (s *Service) createRegisteredLimits(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_registered_limits", map[string]any{}); err != nil {
		return nil, err
	}
	var in struct {
		RegisteredLimits []struct {
			ServiceID    string  `json:"service_id"`
			RegionID     *string `json:"region_id"`
			ResourceName string  `json:"resource_name"`
			DefaultLimit int64   `json:"default_limit"`
			Description  *string `json:"description"`
		} `json:"registered_limits"`
	}
	if err := jsonDecode(raw, &in); err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	var xs []*store.RegisteredLimit
	for _, l := range in.RegisteredLimits {
		x := &store.RegisteredLimit{ID: hexID(), ServiceID: l.ServiceID, ResourceName: l.ResourceName, DefaultLimit: l.DefaultLimit}
		if l.RegionID != nil {
			x.RegionID = *l.RegionID
		}
		if l.Description != nil {
			x.Description = *l.Description
		}
		if err := s.checkLimitRefs(ctx, sn, x.ServiceID, x.RegionID, "", ""); err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	err = s.st.Tx(ctx, func(tx *store.Store) error {
		for _, x := range xs {
			if err := tx.CreateRegisteredLimit(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		items = append(items, s.renderRegisteredLimit(base, x))
	}
	return map[string]any{"registered_limits": items}, nil
}

func regLimitAttr(x *store.RegisteredLimit) func(string) (string, bool) {
	return func(k string) (string, bool) {
		switch k {
		case "service_id":
			return x.ServiceID, true
		case "region_id":
			return x.RegionID, true
		case "resource_name":
			return x.ResourceName, true
		}
		return "", false
	}
}

func (s *Service) listRegisteredLimits(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_registered_limits", map[string]any{}); err != nil {
		return nil, err
	}
	xs, err := s.st.ListRegisteredLimits(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(r.HTTP.URL.Query(), "service_id", "region_id", "resource_name")
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		if fs.match(regLimitAttr(x)) {
			items = append(items, s.renderRegisteredLimit(base, x))
		}
	}
	return listResponse("registered_limits", items, s.selfURL(r), 0), nil
}

func (s *Service) getRegisteredLimit(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_registered_limit", map[string]any{}); err != nil {
		return nil, err
	}
	x, err := s.st.GetRegisteredLimit(ctx, r.Param("registered_limit_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_limit": s.renderRegisteredLimit(s.baseURL(r), x)}, nil
}

// regLimitInUse refuses changing or deleting a registered limit that limits
// refer to (Keystone's RegisteredLimitError).
func (s *Service) regLimitInUse(ctx context.Context, x *store.RegisteredLimit) error {
	ls, err := s.st.ListLimits(ctx)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if l.ServiceID == x.ServiceID && l.RegionID == x.RegionID && l.ResourceName == x.ResourceName {
			return fault.Forbidden("Unable to update or delete registered limit %s because there are project limits associated with it.", x.ID).WithType("RegisteredLimitError")
		}
	}
	return nil
}

func (s *Service) updateRegisteredLimit(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "registered_limit")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_registered_limit", map[string]any{}); err != nil {
		return nil, err
	}
	x, err := s.st.GetRegisteredLimit(ctx, r.Param("registered_limit_id"))
	if err != nil {
		return nil, err
	}
	if has(obj, "service_id") || has(obj, "region_id") || has(obj, "resource_name") {
		if err := s.regLimitInUse(ctx, x); err != nil {
			return nil, err
		}
	}
	if has(obj, "service_id") {
		x.ServiceID = str(obj, "service_id")
	}
	if has(obj, "region_id") {
		x.RegionID = str(obj, "region_id")
	}
	if has(obj, "resource_name") {
		x.ResourceName = str(obj, "resource_name")
	}
	if v, ok := intOf(obj["default_limit"]); ok {
		x.DefaultLimit = int64(v)
	}
	if has(obj, "description") {
		x.Description = str(obj, "description")
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkLimitRefs(ctx, sn, x.ServiceID, x.RegionID, "", ""); err != nil {
		return nil, err
	}
	if err := s.st.UpdateRegisteredLimit(ctx, x); err != nil {
		return nil, err
	}
	return map[string]any{"registered_limit": s.renderRegisteredLimit(s.baseURL(r), x)}, nil
}

func (s *Service) deleteRegisteredLimit(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:delete_registered_limit", map[string]any{}); err != nil {
		return nil, err
	}
	x, err := s.st.GetRegisteredLimit(ctx, r.Param("registered_limit_id"))
	if err != nil {
		return nil, err
	}
	if err := s.regLimitInUse(ctx, x); err != nil {
		return nil, err
	}
	return nil, s.st.DeleteRegisteredLimit(ctx, x.ID)
}

func (s *Service) createLimits(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_limits", map[string]any{}); err != nil {
		return nil, err
	}
	var in struct {
		Limits []struct {
			ProjectID     string  `json:"project_id"`
			DomainID      string  `json:"domain_id"`
			ServiceID     string  `json:"service_id"`
			RegionID      string  `json:"region_id"`
			ResourceName  string  `json:"resource_name"`
			ResourceLimit int64   `json:"resource_limit"`
			Description   *string `json:"description"`
		} `json:"limits"`
	}
	if err := jsonDecode(raw, &in); err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	regs, err := s.st.ListRegisteredLimits(ctx)
	if err != nil {
		return nil, err
	}
	var xs []*store.Limit
	for _, l := range in.Limits {
		x := &store.Limit{ID: hexID(), ProjectID: l.ProjectID, DomainID: l.DomainID, ServiceID: l.ServiceID, RegionID: l.RegionID,
			ResourceName: l.ResourceName, ResourceLimit: l.ResourceLimit}
		if l.Description != nil {
			x.Description = *l.Description
		}
		if err := s.checkLimitRefs(ctx, sn, x.ServiceID, x.RegionID, x.ProjectID, x.DomainID); err != nil {
			return nil, err
		}
		ref := false
		for _, rl := range regs {
			ref = ref || rl.ServiceID == x.ServiceID && rl.RegionID == x.RegionID && rl.ResourceName == x.ResourceName
		}
		if !ref {
			return nil, fault.Forbidden("Unable to create a limit that has no corresponding registered limit.").WithType("NoLimitReference")
		}
		xs = append(xs, x)
	}
	err = s.st.Tx(ctx, func(tx *store.Store) error {
		for _, x := range xs {
			if err := tx.CreateLimit(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		items = append(items, s.renderLimit(base, x))
	}
	return map[string]any{"limits": items}, nil
}

func (s *Service) listLimits(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_limits", map[string]any{}); err != nil {
		return nil, err
	}
	a := caller(ctx, r)
	xs, err := s.st.ListLimits(ctx)
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(r.HTTP.URL.Query(), "service_id", "region_id", "resource_name", "project_id", "domain_id")
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		// System readers see every limit; a domain its own and its
		// projects'; a project its own (Keystone's _list_limits).
		switch {
		case a.System != "":
		case a.DomainID != "":
			p := sn.projects[x.ProjectID]
			if x.DomainID != a.DomainID && (p == nil || p.DomainID != a.DomainID) {
				continue
			}
		case a.ProjectID != "":
			if x.ProjectID != a.ProjectID {
				continue
			}
		default:
			continue
		}
		if fs.match(func(k string) (string, bool) {
			switch k {
			case "service_id":
				return x.ServiceID, true
			case "region_id":
				return x.RegionID, true
			case "resource_name":
				return x.ResourceName, true
			case "project_id":
				return x.ProjectID, true
			case "domain_id":
				return x.DomainID, true
			}
			return "", false
		}) {
			items = append(items, s.renderLimit(base, x))
		}
	}
	return listResponse("limits", items, s.selfURL(r), 0), nil
}

func (s *Service) getLimit(ctx context.Context, r *rest.Request) (any, error) {
	x, err := s.st.GetLimit(ctx, r.Param("limit_id"))
	if err != nil {
		return nil, err
	}
	t := map[string]any{"project_id": nullIfEmpty(x.ProjectID), "domain": map[string]any{"id": nullIfEmpty(x.DomainID)}}
	if x.ProjectID != "" {
		if p, err := s.st.GetProject(ctx, x.ProjectID); err == nil {
			t["project"] = map[string]any{"domain_id": p.DomainID}
		}
	}
	if err := r.Enforce(ctx, "identity:get_limit", map[string]any{"target": map[string]any{"limit": t}}); err != nil {
		return nil, err
	}
	return map[string]any{"limit": s.renderLimit(s.baseURL(r), x)}, nil
}

func (s *Service) updateLimit(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "limit")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_limit", map[string]any{}); err != nil {
		return nil, err
	}
	x, err := s.st.GetLimit(ctx, r.Param("limit_id"))
	if err != nil {
		return nil, err
	}
	if v, ok := intOf(obj["resource_limit"]); ok {
		x.ResourceLimit = int64(v)
	}
	if has(obj, "description") {
		x.Description = str(obj, "description")
	}
	if err := s.st.UpdateLimit(ctx, x); err != nil {
		return nil, err
	}
	return map[string]any{"limit": s.renderLimit(s.baseURL(r), x)}, nil
}

func (s *Service) deleteLimit(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:delete_limit", map[string]any{}); err != nil {
		return nil, err
	}
	return nil, s.st.DeleteLimit(ctx, r.Param("limit_id"))
}

package identity

import (
	"context"

	wire "github.com/tenku-cloud/tenku/api/identity"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// JSON schemas of Keystone's catalog API (keystone/catalog/schema.py).
const (
	regionProps        = `"description":` + nullableDesc + `,"id":{"type":"string"},"parent_region_id":{"type":["string","null"]}`
	regionCreateSchema = `{"type":"object","properties":{"region":{"type":"object","properties":{` + regionProps + `}}},"required":["region"]}`
	regionUpdateSchema = `{"type":"object","properties":{"region":{"type":"object","properties":{` + regionProps + `},"minProperties":1}},"required":["region"]}`

	serviceProps        = `"enabled":{"type":"boolean"},"name":` + roleName + `,"type":{"type":"string","minLength":1,"maxLength":255}`
	serviceCreateSchema = `{"type":"object","properties":{"service":{"type":"object","properties":{` + serviceProps + `},"required":["type"]}},"required":["service"]}`
	serviceUpdateSchema = `{"type":"object","properties":{"service":{"type":"object","properties":{` + serviceProps + `},"minProperties":1}},"required":["service"]}`

	endpointProps = `"enabled":{"type":"boolean"},"interface":{"type":"string","enum":["admin","internal","public"]},` +
		`"region_id":{"type":"string"},"region":{"type":"string"},"service_id":{"type":"string"},` +
		`"url":{"type":"string","minLength":0,"maxLength":225,"pattern":"^[a-zA-Z0-9+.-]+:.+"}`
	endpointCreateSchema = `{"type":"object","properties":{"endpoint":{"type":"object","properties":{` + endpointProps + `},"required":["interface","service_id","url"]}},"required":["endpoint"]}`
	endpointUpdateSchema = `{"type":"object","properties":{"endpoint":{"type":"object","properties":{` + endpointProps + `},"minProperties":1}},"required":["endpoint"]}`

	epGroupProps        = `"description":` + nullableDesc + `,"filters":{"type":"object"},"name":` + roleName
	epGroupCreateSchema = `{"type":"object","properties":{"endpoint_group":{"type":"object","properties":{` + epGroupProps + `},"required":["name","filters"]}},"required":["endpoint_group"]}`
	epGroupUpdateSchema = `{"type":"object","properties":{"endpoint_group":{"type":"object","properties":{` + epGroupProps + `},"minProperties":1}},"required":["endpoint_group"]}`

	policyProps        = `"blob":{"type":"string"},"type":{"type":"string","maxLength":255}`
	policyCreateSchema = `{"type":"object","properties":{"policy":{"type":"object","properties":{` + policyProps + `},"required":["blob","type"]}},"required":["policy"]}`
	policyUpdateSchema = `{"type":"object","properties":{"policy":{"type":"object","properties":{` + policyProps + `},"minProperties":1}},"required":["policy"]}`
)

func (s *Service) catalogRoutes() []rest.Route {
	return []rest.Route{
		{Method: "POST", Path: "/v3/regions", Status: 201, Schema: regionCreateSchema, Handler: s.createRegion},
		{Method: "PUT", Path: "/v3/regions/{region_id}", Status: 201, Schema: regionCreateSchema, Handler: s.createRegion},
		{Method: "GET", Path: "/v3/regions", Handler: s.listRegions},
		{Method: "GET", Path: "/v3/regions/{region_id}", Handler: s.getRegion},
		{Method: "PATCH", Path: "/v3/regions/{region_id}", Schema: regionUpdateSchema, Handler: s.updateRegion},
		{Method: "DELETE", Path: "/v3/regions/{region_id}", Status: 204, Handler: s.deleteRegion},

		{Method: "POST", Path: "/v3/services", Status: 201, Schema: serviceCreateSchema, Handler: s.createService},
		{Method: "GET", Path: "/v3/services", Handler: s.listServices},
		{Method: "GET", Path: "/v3/services/{service_id}", Handler: s.getService},
		{Method: "PATCH", Path: "/v3/services/{service_id}", Schema: serviceUpdateSchema, Handler: s.updateService},
		{Method: "DELETE", Path: "/v3/services/{service_id}", Status: 204, Handler: s.deleteService},

		{Method: "POST", Path: "/v3/endpoints", Status: 201, Schema: endpointCreateSchema, Handler: s.createEndpoint},
		{Method: "GET", Path: "/v3/endpoints", Handler: s.listEndpoints},
		{Method: "GET", Path: "/v3/endpoints/{endpoint_id}", Handler: s.getEndpoint},
		{Method: "PATCH", Path: "/v3/endpoints/{endpoint_id}", Schema: endpointUpdateSchema, Handler: s.updateEndpoint},
		{Method: "DELETE", Path: "/v3/endpoints/{endpoint_id}", Status: 204, Handler: s.deleteEndpoint},

		{Method: "POST", Path: "/v3/OS-EP-FILTER/endpoint_groups", Status: 201, Schema: epGroupCreateSchema, Handler: s.createEndpointGroup},
		{Method: "GET", Path: "/v3/OS-EP-FILTER/endpoint_groups", Handler: s.listEndpointGroups},
		{Method: "GET", Path: "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}", Handler: s.getEndpointGroup},
		{Method: "PATCH", Path: "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}", Schema: epGroupUpdateSchema, Handler: s.updateEndpointGroup},
		{Method: "DELETE", Path: "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}", Status: 204, Handler: s.deleteEndpointGroup},
		{Method: "GET", Path: "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects", Handler: s.listEndpointGroupProjects},
		{Method: "GET", Path: "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints", Handler: s.listEndpointGroupEndpoints},
		{Method: "PUT", Path: "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}", Status: 204, Handler: s.addEndpointGroupProject},
		{Method: "GET", Path: "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}", Handler: s.getEndpointGroupProject},
		{Method: "DELETE", Path: "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}", Status: 204, Handler: s.removeEndpointGroupProject},
		{Method: "GET", Path: "/v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups", Handler: s.listProjectEndpointGroups},
		{Method: "GET", Path: "/v3/OS-EP-FILTER/projects/{project_id}/endpoints", Handler: s.listProjectEndpoints},
		{Method: "PUT", Path: "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}", Status: 204, Handler: s.addProjectEndpoint},
		{Method: "GET", Path: "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}", Status: 204, Handler: s.checkProjectEndpoint},
		{Method: "DELETE", Path: "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}", Status: 204, Handler: s.removeProjectEndpoint},
		{Method: "GET", Path: "/v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects", Handler: s.listEndpointProjects},

		{Method: "POST", Path: "/v3/policies", Status: 201, Schema: policyCreateSchema, Handler: s.createPolicy},
		{Method: "GET", Path: "/v3/policies", Handler: s.listPolicies},
		{Method: "GET", Path: "/v3/policies/{policy_id}", Handler: s.getPolicy},
		{Method: "PATCH", Path: "/v3/policies/{policy_id}", Schema: policyUpdateSchema, Handler: s.updatePolicy},
		{Method: "DELETE", Path: "/v3/policies/{policy_id}", Status: 204, Handler: s.deletePolicy},
	}
}

// ---- regions ----

func (s *Service) renderRegion(base string, x *store.Region) wire.Region {
	out := wire.Region{ID: x.ID, Description: x.Description, Extra: x.Extra, Links: wire.SelfLink{Self: base + "/v3/regions/" + x.ID}}
	if x.ParentRegionID != "" {
		p := x.ParentRegionID
		out.ParentRegionID = &p
	}
	return out
}

func (s *Service) createRegion(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "region")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_region", map[string]any{"region": obj}); err != nil {
		return nil, err
	}
	id := r.Param("region_id")
	if id == "" {
		id = str(obj, "id")
	} else if bid := str(obj, "id"); bid != "" && bid != id {
		return nil, fault.BadRequest("Conflicting region IDs specified: %q != %q", id, bid).WithType("ValidationError")
	}
	if id == "" {
		id = hexID()
	}
	x := &store.Region{ID: id, Description: str(obj, "description"), ParentRegionID: str(obj, "parent_region_id"),
		Extra: extraOf(obj, "id", "description", "parent_region_id", "links")}
	if x.ParentRegionID != "" {
		if _, err := s.st.GetRegion(ctx, x.ParentRegionID); err != nil {
			if fault.IsNotFound(err) {
				return nil, expecting("parent_region_id", "region table")
			}
			return nil, err
		}
	}
	if err := s.st.CreateRegion(ctx, x); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"region": s.renderRegion(s.baseURL(r), x)}, nil
}

func (s *Service) listRegions(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	if err := r.Enforce(ctx, "identity:list_regions", map[string]any{"parent_region_id": q.Get("parent_region_id")}); err != nil {
		return nil, err
	}
	regs, err := s.st.ListRegions(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(q, "parent_region_id", "id")
	base := s.baseURL(r)
	items := []any{}
	for _, x := range regs {
		if fs.match(func(k string) (string, bool) {
			switch k {
			case "parent_region_id":
				return x.ParentRegionID, true
			case "id":
				return x.ID, true
			}
			return "", false
		}) {
			items = append(items, s.renderRegion(base, x))
		}
	}
	return listResponse("regions", items, s.selfURL(r), s.limit(s.cfg.Catalog.ListLimit)), nil
}

func (s *Service) getRegion(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_region", map[string]any{"region_id": r.Param("region_id")}); err != nil {
		return nil, err
	}
	x, err := s.st.GetRegion(ctx, r.Param("region_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"region": s.renderRegion(s.baseURL(r), x)}, nil
}

func (s *Service) updateRegion(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "region")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_region", map[string]any{"region_id": r.Param("region_id"), "region": obj}); err != nil {
		return nil, err
	}
	x, err := s.st.GetRegion(ctx, r.Param("region_id"))
	if err != nil {
		return nil, err
	}
	if id := str(obj, "id"); id != "" && id != x.ID {
		return nil, fault.BadRequest("Cannot change the region ID.").WithType("ValidationError")
	}
	if has(obj, "description") {
		x.Description = str(obj, "description")
	}
	if has(obj, "parent_region_id") {
		parent := str(obj, "parent_region_id")
		if parent != "" {
			regs, err := s.st.ListRegions(ctx)
			if err != nil {
				return nil, err
			}
			byID := map[string]*store.Region{}
			for _, rg := range regs {
				byID[rg.ID] = rg
			}
			if byID[parent] == nil {
				return nil, expecting("parent_region_id", "region table")
			}
			for cur, n := parent, 0; cur != "" && n < 1000; n++ {
				if cur == x.ID {
					return nil, fault.BadRequest("The specified parent region %s would create a circular region hierarchy.", parent).WithType("CircularRegionHierarchyError")
				}
				if byID[cur] == nil {
					break
				}
				cur = byID[cur].ParentRegionID
			}
		}
		x.ParentRegionID = parent
	}
	x.Extra = mergeExtra(x.Extra, extraOf(obj, "id", "description", "parent_region_id", "links"))
	if err := s.st.UpdateRegion(ctx, x); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"region": s.renderRegion(s.baseURL(r), x)}, nil
}

func (s *Service) deleteRegion(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:delete_region", map[string]any{"region_id": r.Param("region_id")}); err != nil {
		return nil, err
	}
	x, err := s.st.GetRegion(ctx, r.Param("region_id"))
	if err != nil {
		return nil, err
	}
	regs, err := s.st.ListRegions(ctx)
	if err != nil {
		return nil, err
	}
	// The region and its descendants go, unless an endpoint uses one.
	doomed := map[string]bool{x.ID: true}
	for changed := true; changed; {
		changed = false
		for _, rg := range regs {
			if !doomed[rg.ID] && doomed[rg.ParentRegionID] {
				doomed[rg.ID], changed = true, true
			}
		}
	}
	eps, err := s.st.ListEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	for _, ep := range eps {
		if doomed[ep.RegionID] {
			return nil, forbidden("Unable to delete region %s because it or its child regions have associated endpoints.", x.ID).WithType("RegionDeletionError")
		}
	}
	err = s.st.Tx(ctx, func(tx *store.Store) error {
		for id := range doomed {
			if err := tx.DeleteRegion(ctx, id); err != nil && !fault.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

// ---- services ----

func (s *Service) renderService(base string, x *store.Service) wire.Service {
	return wire.Service{ID: x.ID, Type: x.Type, Name: x.Name, Description: x.Description, Enabled: x.Enabled, Extra: x.Extra,
		Links: wire.SelfLink{Self: base + "/v3/services/" + x.ID}}
}

func (s *Service) createService(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "service")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_service", map[string]any{"service": obj}); err != nil {
		return nil, err
	}
	x := &store.Service{ID: hexID(), Type: str(obj, "type"), Name: str(obj, "name"), Description: str(obj, "description"),
		Enabled: boolean(obj, "enabled", true), Extra: extraOf(obj, "id", "type", "name", "description", "enabled", "links")}
	if err := s.st.CreateService(ctx, x); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"service": s.renderService(s.baseURL(r), x)}, nil
}

func (s *Service) listServices(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	if err := r.Enforce(ctx, "identity:list_services", map[string]any{"type": q.Get("type"), "name": q.Get("name")}); err != nil {
		return nil, err
	}
	xs, err := s.st.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(q, "type", "name", "enabled", "id")
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		if fs.match(func(k string) (string, bool) {
			switch k {
			case "type":
				return x.Type, true
			case "name":
				return x.Name, true
			case "enabled":
				return boolStr(x.Enabled), true
			case "id":
				return x.ID, true
			}
			return "", false
		}) {
			items = append(items, s.renderService(base, x))
		}
	}
	return listResponse("services", items, s.selfURL(r), s.limit(s.cfg.Catalog.ListLimit)), nil
}

func (s *Service) getService(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_service", map[string]any{"service_id": r.Param("service_id")}); err != nil {
		return nil, err
	}
	x, err := s.st.GetService(ctx, r.Param("service_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"service": s.renderService(s.baseURL(r), x)}, nil
}

func (s *Service) updateService(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "service")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_service", map[string]any{"service_id": r.Param("service_id"), "service": obj}); err != nil {
		return nil, err
	}
	x, err := s.st.GetService(ctx, r.Param("service_id"))
	if err != nil {
		return nil, err
	}
	if has(obj, "type") {
		x.Type = str(obj, "type")
	}
	if has(obj, "name") {
		x.Name = str(obj, "name")
	}
	if has(obj, "description") {
		x.Description = str(obj, "description")
	}
	x.Enabled = boolean(obj, "enabled", x.Enabled)
	x.Extra = mergeExtra(x.Extra, extraOf(obj, "id", "type", "name", "description", "enabled", "links"))
	if err := s.st.UpdateService(ctx, x); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"service": s.renderService(s.baseURL(r), x)}, nil
}

func (s *Service) deleteService(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:delete_service", map[string]any{"service_id": r.Param("service_id")}); err != nil {
		return nil, err
	}
	if err := s.st.DeleteService(ctx, r.Param("service_id")); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

// ---- endpoints ----

func (s *Service) renderEndpoint(base string, x *store.Endpoint) wire.Endpoint {
	out := wire.Endpoint{ID: x.ID, Interface: x.Interface, ServiceID: x.ServiceID, URL: x.URL, Enabled: x.Enabled, Extra: x.Extra,
		Links: wire.SelfLink{Self: base + "/v3/endpoints/" + x.ID}}
	if x.RegionID != "" {
		rg := x.RegionID
		out.Region, out.RegionID = &rg, &rg
	}
	return out
}

// endpointRegion is Keystone's _validate_endpoint_region: "region" (the v2
// spelling) creates the region when missing; "region_id" must exist.
func (s *Service) endpointRegion(ctx context.Context, obj map[string]any) (string, bool, error) {
	if id := str(obj, "region_id"); id != "" {
		if _, err := s.st.GetRegion(ctx, id); err != nil {
			if fault.IsNotFound(err) {
				return "", false, expecting("endpoint region_id", "region table")
			}
			return "", false, err
		}
		return id, true, nil
	}
	if name := str(obj, "region"); name != "" {
		if _, err := s.st.GetRegion(ctx, name); fault.IsNotFound(err) {
			if err := s.st.CreateRegion(ctx, &store.Region{ID: name, Extra: store.Extra{}}); err != nil && !fault.IsConflict(err) {
				return "", false, err
			}
		} else if err != nil {
			return "", false, err
		}
		return name, true, nil
	}
	return "", has(obj, "region_id") || has(obj, "region"), nil
}

func (s *Service) createEndpoint(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "endpoint")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_endpoint", map[string]any{"endpoint": obj}); err != nil {
		return nil, err
	}
	if _, err := s.st.GetService(ctx, str(obj, "service_id")); err != nil {
		if fault.IsNotFound(err) {
			return nil, expecting("endpoint service_id", "service table")
		}
		return nil, err
	}
	region, _, err := s.endpointRegion(ctx, obj)
	if err != nil {
		return nil, err
	}
	x := &store.Endpoint{ID: hexID(), ServiceID: str(obj, "service_id"), Interface: str(obj, "interface"), RegionID: region,
		URL: str(obj, "url"), Enabled: boolean(obj, "enabled", true),
		Extra: extraOf(obj, "id", "service_id", "interface", "region", "region_id", "url", "enabled", "links", "legacy_endpoint_id")}
	if err := s.st.CreateEndpoint(ctx, x); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"endpoint": s.renderEndpoint(s.baseURL(r), x)}, nil
}

func (s *Service) listEndpoints(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	if err := r.Enforce(ctx, "identity:list_endpoints", map[string]any{"interface": q.Get("interface"), "service_id": q.Get("service_id"), "region_id": q.Get("region_id")}); err != nil {
		return nil, err
	}
	xs, err := s.st.ListEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	return s.endpointList(r, xs), nil
}

func (s *Service) endpointList(r *rest.Request, xs []*store.Endpoint) map[string]any {
	fs := newFilters(r.HTTP.URL.Query(), "interface", "service_id", "region_id", "enabled", "id")
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		if fs.match(func(k string) (string, bool) {
			switch k {
			case "interface":
				return x.Interface, true
			case "service_id":
				return x.ServiceID, true
			case "region_id":
				return x.RegionID, true
			case "enabled":
				return boolStr(x.Enabled), true
			case "id":
				return x.ID, true
			}
			return "", false
		}) {
			items = append(items, s.renderEndpoint(base, x))
		}
	}
	return listResponse("endpoints", items, s.selfURL(r), s.limit(s.cfg.Catalog.ListLimit))
}

func (s *Service) getEndpoint(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_endpoint", map[string]any{"endpoint_id": r.Param("endpoint_id")}); err != nil {
		return nil, err
	}
	x, err := s.st.GetEndpoint(ctx, r.Param("endpoint_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"endpoint": s.renderEndpoint(s.baseURL(r), x)}, nil
}

func (s *Service) updateEndpoint(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "endpoint")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_endpoint", map[string]any{"endpoint_id": r.Param("endpoint_id"), "endpoint": obj}); err != nil {
		return nil, err
	}
	x, err := s.st.GetEndpoint(ctx, r.Param("endpoint_id"))
	if err != nil {
		return nil, err
	}
	if has(obj, "service_id") {
		if _, err := s.st.GetService(ctx, str(obj, "service_id")); err != nil {
			if fault.IsNotFound(err) {
				return nil, expecting("endpoint service_id", "service table")
			}
			return nil, err
		}
		x.ServiceID = str(obj, "service_id")
	}
	if region, given, err := s.endpointRegion(ctx, obj); err != nil {
		return nil, err
	} else if given {
		x.RegionID = region
	}
	if has(obj, "interface") {
		x.Interface = str(obj, "interface")
	}
	if has(obj, "url") {
		x.URL = str(obj, "url")
	}
	x.Enabled = boolean(obj, "enabled", x.Enabled)
	x.Extra = mergeExtra(x.Extra, extraOf(obj, "id", "service_id", "interface", "region", "region_id", "url", "enabled", "links", "legacy_endpoint_id"))
	if err := s.st.UpdateEndpoint(ctx, x); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"endpoint": s.renderEndpoint(s.baseURL(r), x)}, nil
}

func (s *Service) deleteEndpoint(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:delete_endpoint", map[string]any{"endpoint_id": r.Param("endpoint_id")}); err != nil {
		return nil, err
	}
	if err := s.st.DeleteEndpoint(ctx, r.Param("endpoint_id")); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

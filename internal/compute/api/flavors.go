package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) flavorRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/flavors", Handler: a.listFlavors},
		{Method: "GET", Path: "/v2.1/flavors/detail", Handler: a.listFlavorsDetail},
		{Method: "GET", Path: "/v2.1/flavors/{flavor_id}", Handler: a.showFlavor},
		{Method: "POST", Path: "/v2.1/flavors", Handler: a.createFlavor, Policy: "os_compute_api:os-flavor-manage:create", Schema: flavorCreateSchema},
		{Method: "PUT", Path: "/v2.1/flavors/{flavor_id}", Handler: a.updateFlavor, Min: rest.V(2, 55), Policy: "os_compute_api:os-flavor-manage:update", Schema: flavorUpdateSchema},
		{Method: "DELETE", Path: "/v2.1/flavors/{flavor_id}", Handler: a.deleteFlavor, Status: http.StatusAccepted, Policy: "os_compute_api:os-flavor-manage:delete"},
		{Method: "POST", Path: "/v2.1/flavors/{flavor_id}/action", Handler: a.flavorAction},
		{Method: "GET", Path: "/v2.1/flavors/{flavor_id}/os-flavor-access", Handler: a.listFlavorAccess, Policy: "os_compute_api:os-flavor-access"},
		{Method: "GET", Path: "/v2.1/flavors/{flavor_id}/os-extra_specs", Handler: a.listExtraSpecs},
		{Method: "POST", Path: "/v2.1/flavors/{flavor_id}/os-extra_specs", Handler: a.createExtraSpecs, Schema: extraSpecsSchema},
		{Method: "GET", Path: "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", Handler: a.showExtraSpec},
		{Method: "PUT", Path: "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", Handler: a.updateExtraSpec, Schema: extraSpecUpdateSchema},
		{Method: "DELETE", Path: "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", Handler: a.deleteExtraSpec},
	}
}

const flavorCreateSchema = `{
  "type": "object",
  "properties": {
    "flavor": {
      "type": "object",
      "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "id": {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255},
        "ram": {"type": ["integer", "string"]},
        "vcpus": {"type": ["integer", "string"]},
        "disk": {"type": ["integer", "string"]},
        "OS-FLV-EXT-DATA:ephemeral": {"type": ["integer", "string"]},
        "swap": {"type": ["integer", "string"]},
        "rxtx_factor": {"type": ["number", "string"]},
        "os-flavor-access:is_public": {"type": ["boolean", "string"]},
        "description": {"type": ["string", "null"], "maxLength": 65535}
      },
      "required": ["name", "ram", "vcpus", "disk"],
      "additionalProperties": false
    }
  },
  "required": ["flavor"],
  "additionalProperties": false
}`

const flavorUpdateSchema = `{
  "type": "object",
  "properties": {"flavor": {"type": "object",
    "properties": {"description": {"type": ["string", "null"], "maxLength": 65535}},
    "required": ["description"], "additionalProperties": false}},
  "required": ["flavor"], "additionalProperties": false
}`

const extraSpecsSchema = `{
  "type": "object",
  "properties": {"extra_specs": {"type": "object",
    "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": ["string", "number", "boolean"]}},
    "additionalProperties": false}},
  "required": ["extra_specs"], "additionalProperties": false
}`

const extraSpecUpdateSchema = `{
  "type": "object",
  "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": ["string", "number", "boolean"]}},
  "additionalProperties": false, "minProperties": 1, "maxProperties": 1
}`

// flavorView renders a flavor's detailed view for the request's microversion.
func (a *API) flavorView(r *rest.Request, f *objects.Flavor, specs bool) map[string]any {
	v := map[string]any{
		"id": f.FlavorID, "name": f.Name, "ram": f.MemoryMB, "disk": f.RootGB, "vcpus": f.VCPUs,
		"OS-FLV-EXT-DATA:ephemeral": f.EphemeralGB, "OS-FLV-DISABLED:disabled": f.Disabled,
		"os-flavor-access:is_public": f.IsPublic, "links": a.links(r, "flavors", f.FlavorID),
	}
	if f.Swap == 0 && !r.Version.AtLeast(rest.V(2, 75)) {
		v["swap"] = ""
	} else {
		v["swap"] = f.Swap
	}
	if f.RxtxFactor == 0 {
		v["rxtx_factor"] = ""
	} else {
		v["rxtx_factor"] = f.RxtxFactor
	}
	if r.Version.AtLeast(rest.V(2, 55)) {
		v["description"] = f.Description
	}
	if specs && r.Version.AtLeast(rest.V(2, 61)) {
		es := f.ExtraSpecs
		if es == nil {
			es = map[string]string{}
		}
		v["extra_specs"] = es
	}
	return v
}

func (a *API) flavorsQuery(ctx context.Context, r *rest.Request, withSpecs bool) ([]*objects.Flavor, rest.Page, error) {
	q := r.HTTP.URL.Query()
	if r.Version.AtLeast(rest.V(2, 75)) {
		for k := range q {
			switch k {
			case "limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir":
			default:
				return nil, rest.Page{}, fault.BadRequest("Invalid input for query parameters %s. Additional properties are not allowed ('%s' was unexpected)", k, k)
			}
		}
	}
	page, zero, err := a.page(r)
	if err != nil {
		return nil, page, err
	}
	f := store.FlavorFilter{SortKey: q.Get("sort_key"), SortDir: q.Get("sort_dir"), WithSpecs: withSpecs}
	if f.SortKey != "" && !store.ValidFlavorSortKey(f.SortKey) {
		return nil, page, fault.BadRequest("Invalid input for query parameters sort_key. Value: %s. '%s' is not one of the valid sort keys", f.SortKey, f.SortKey)
	}
	if f.SortDir != "" && f.SortDir != "asc" && f.SortDir != "desc" {
		return nil, page, fault.BadRequest("Invalid input for query parameters sort_dir. Value: %s. '%s' is not one of ['asc', 'desc']", f.SortDir, f.SortDir)
	}
	project, _ := caller(r)
	yes, no := true, false
	if isAdmin(r) {
		switch v := q.Get("is_public"); {
		case v == "":
			f.IsPublic = &yes
		case strings.EqualFold(v, "none"):
		default:
			b, err := queryBool("is_public", v)
			if err != nil {
				return nil, page, fault.BadRequest("Invalid is_public filter [%s]", v)
			}
			f.IsPublic = &b
		}
	} else {
		f.IsPublic, f.Disabled = &yes, &no
	}
	if f.IsPublic != nil && *f.IsPublic {
		f.ProjectID = project
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"minRam", &f.MinMemory}, {"minDisk", &f.MinDisk}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, page, fault.BadRequest("Invalid %s filter [%s]", p.name, s)
			}
			*p.dst = n
		}
	}
	all, err := a.d.Store.Flavors(ctx, f)
	if err != nil || zero {
		return nil, page, err
	}
	out, _, err := rest.PageOf(all, page, func(f *objects.Flavor) string { return f.FlavorID })
	return out, page, err
}

func (a *API) listFlavors(ctx context.Context, r *rest.Request) (any, error) {
	fl, page, err := a.flavorsQuery(ctx, r, false)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(fl))
	for _, f := range fl {
		v := map[string]any{"id": f.FlavorID, "name": f.Name, "links": a.links(r, "flavors", f.FlavorID)}
		if r.Version.AtLeast(rest.V(2, 55)) {
			v["description"] = f.Description
		}
		list = append(list, v)
	}
	out := map[string]any{"flavors": list}
	if len(fl) > 0 && len(fl) == page.Limit {
		out["flavors_links"] = a.nextLink(r, fl[len(fl)-1].FlavorID)
	}
	return out, nil
}

func (a *API) listFlavorsDetail(ctx context.Context, r *rest.Request) (any, error) {
	specs := r.Version.AtLeast(rest.V(2, 61)) && a.can(ctx, r, "os_compute_api:os-flavor-extra-specs:index", nil)
	fl, page, err := a.flavorsQuery(ctx, r, specs)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(fl))
	for _, f := range fl {
		list = append(list, a.flavorView(r, f, specs))
	}
	out := map[string]any{"flavors": list}
	if len(fl) > 0 && len(fl) == page.Limit {
		out["flavors_links"] = a.nextLink(r, fl[len(fl)-1].FlavorID)
	}
	return out, nil
}

// flavorFor returns a flavor the caller may see: a private one only with
// access (or as admin), as Nova's DB API filters.
func (a *API) flavorFor(ctx context.Context, r *rest.Request, id string) (*objects.Flavor, error) {
	f, err := a.d.Store.Flavor(ctx, id)
	if err != nil {
		return nil, err
	}
	if !f.IsPublic && !isAdmin(r) {
		project, _ := caller(r)
		ok, err := a.d.Store.HasFlavorAccess(ctx, f, project)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fault.NotFound("Flavor %s could not be found.", id).WithType("FlavorNotFound")
		}
	}
	return f, nil
}

func (a *API) showFlavor(ctx context.Context, r *rest.Request) (any, error) {
	f, err := a.flavorFor(ctx, r, r.Param("flavor_id"))
	if err != nil {
		return nil, err
	}
	specs := r.Version.AtLeast(rest.V(2, 61)) && a.can(ctx, r, "os_compute_api:os-flavor-extra-specs:index", nil)
	return map[string]any{"flavor": a.flavorView(r, f, specs)}, nil
}

func (a *API) createFlavor(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	body, err := decodeMap(raw)
	if err != nil {
		return nil, err
	}
	v, _ := body["flavor"].(map[string]any)
	name, _ := v["name"].(string)
	if err := validName("flavor/name", name, false); err != nil {
		return nil, err
	}
	f := &objects.Flavor{Name: strings.TrimSpace(name), RxtxFactor: 1, IsPublic: true}
	switch id := v["id"].(type) {
	case nil:
		f.FlavorID = uuid.NewString()
	case string:
		if strings.TrimSpace(id) != id || id == "" || !flavorIDChars(id) {
			return nil, fault.BadRequest("Invalid input for field/attribute id. Value: %s. '%s' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'", id, id)
		}
		f.FlavorID = id
	case json.Number:
		f.FlavorID = id.String()
	}
	if f.MemoryMB, err = intParam("ram", v["ram"], 1, 0x7FFFFFFF); err != nil {
		return nil, err
	}
	if f.VCPUs, err = intParam("vcpus", v["vcpus"], 1, 0x7FFFFFFF); err != nil {
		return nil, err
	}
	if f.RootGB, err = intParam("disk", v["disk"], 0, 0x7FFFFFFF); err != nil {
		return nil, err
	}
	if x, ok := v["OS-FLV-EXT-DATA:ephemeral"]; ok {
		if f.EphemeralGB, err = intParam("OS-FLV-EXT-DATA:ephemeral", x, 0, 0x7FFFFFFF); err != nil {
			return nil, err
		}
	}
	if x, ok := v["swap"]; ok {
		if f.Swap, err = intParam("swap", x, 0, 0x7FFFFFFF); err != nil {
			return nil, err
		}
	}
	if x, ok := v["rxtx_factor"]; ok {
		var rx float64
		switch y := x.(type) {
		case json.Number:
			rx, err = y.Float64()
		case string:
			rx, err = strconv.ParseFloat(y, 64)
		}
		if err != nil || rx <= 0 || rx > 3.40282e+38 {
			return nil, fault.BadRequest("Invalid input for field/attribute rxtx_factor. Value: %v. It must be a positive number", x)
		}
		f.RxtxFactor = rx
	}
	if x, ok := v["os-flavor-access:is_public"]; ok {
		if f.IsPublic, err = boolParam("os-flavor-access:is_public", x); err != nil {
			return nil, err
		}
	}
	if x, ok := v["description"]; ok {
		if !r.Version.AtLeast(rest.V(2, 55)) {
			return nil, fault.BadRequest("Invalid input for field/attribute flavor. Additional properties are not allowed ('description' was unexpected)")
		}
		if s, ok := x.(string); ok {
			if err := validDescription("description", s, 65535); err != nil {
				return nil, err
			}
			f.Description = &s
		}
	}
	if err := a.d.Store.CreateFlavor(ctx, f); err != nil {
		return nil, err
	}
	f.ExtraSpecs = map[string]string{}
	specs := r.Version.AtLeast(rest.V(2, 61)) && a.can(ctx, r, "os_compute_api:os-flavor-extra-specs:index", nil)
	return map[string]any{"flavor": a.flavorView(r, f, specs)}, nil
}

func flavorIDChars(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == ' ' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (a *API) updateFlavor(ctx context.Context, r *rest.Request) (any, error) {
	var body struct {
		Flavor struct {
			Description *string `json:"description"`
		} `json:"flavor"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if d := body.Flavor.Description; d != nil {
		if err := validDescription("description", *d, 65535); err != nil {
			return nil, err
		}
	}
	f, err := a.d.Store.UpdateFlavorDescription(ctx, r.Param("flavor_id"), body.Flavor.Description)
	if err != nil {
		return nil, err
	}
	specs := r.Version.AtLeast(rest.V(2, 61)) && a.can(ctx, r, "os_compute_api:os-flavor-extra-specs:index", nil)
	return map[string]any{"flavor": a.flavorView(r, f, specs)}, nil
}

func (a *API) deleteFlavor(ctx context.Context, r *rest.Request) (any, error) {
	return nil, a.d.Store.DeleteFlavor(ctx, r.Param("flavor_id"))
}

func (a *API) flavorAction(ctx context.Context, r *rest.Request) (any, error) {
	var body map[string]json.RawMessage
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	add := true
	if v, ok := body["addTenantAccess"]; ok {
		raw = v
	} else if v, ok := body["removeTenantAccess"]; ok {
		raw, add = v, false
	} else {
		return nil, fault.BadRequest("Invalid input: the action must be addTenantAccess or removeTenantAccess")
	}
	rule := "os_compute_api:os-flavor-access:add_tenant_access"
	if !add {
		rule = "os_compute_api:os-flavor-access:remove_tenant_access"
	}
	if err := r.Enforce(ctx, rule, nil); err != nil {
		return nil, err
	}
	var args struct {
		Tenant *string `json:"tenant"`
	}
	if err := json.Unmarshal(raw, &args); err != nil || args.Tenant == nil || *args.Tenant == "" || len(*args.Tenant) > 255 {
		return nil, fault.BadRequest("Invalid input for field/attribute tenant. 'tenant' is a required property")
	}
	f, err := a.d.Store.Flavor(ctx, r.Param("flavor_id"))
	if err != nil {
		return nil, err
	}
	if add {
		if f.IsPublic && r.Version.AtLeast(rest.V(2, 7)) {
			return nil, fault.Conflict("Can not add access to a public flavor.")
		}
		if err := a.d.Store.AddFlavorAccess(ctx, f, *args.Tenant); err != nil {
			return nil, err
		}
	} else if err := a.d.Store.RemoveFlavorAccess(ctx, f, *args.Tenant); err != nil {
		return nil, err
	}
	return a.flavorAccessBody(ctx, f)
}

func (a *API) flavorAccessBody(ctx context.Context, f *objects.Flavor) (any, error) {
	projects, err := a.d.Store.FlavorAccess(ctx, f.FlavorID)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]string, 0, len(projects))
	for _, p := range projects {
		list = append(list, map[string]string{"flavor_id": f.FlavorID, "tenant_id": p})
	}
	return map[string]any{"flavor_access": list}, nil
}

func (a *API) listFlavorAccess(ctx context.Context, r *rest.Request) (any, error) {
	f, err := a.d.Store.Flavor(ctx, r.Param("flavor_id"))
	if err != nil {
		return nil, err
	}
	if f.IsPublic {
		return nil, fault.NotFound("Access list not available for public flavors.")
	}
	return a.flavorAccessBody(ctx, f)
}

func (a *API) listExtraSpecs(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "os_compute_api:os-flavor-extra-specs:index", nil); err != nil {
		return nil, err
	}
	f, err := a.flavorFor(ctx, r, r.Param("flavor_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"extra_specs": f.ExtraSpecs}, nil
}

func specString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func (a *API) createExtraSpecs(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "os_compute_api:os-flavor-extra-specs:create", nil); err != nil {
		return nil, err
	}
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	body, err := decodeMap(raw)
	if err != nil {
		return nil, err
	}
	in, _ := body["extra_specs"].(map[string]any)
	specs := map[string]string{}
	for k, v := range in {
		s := specString(v)
		if len(s) > 255 {
			return nil, fault.BadRequest("Invalid input for field/attribute extra_specs. Value of %s is too long", k)
		}
		specs[k] = s
	}
	if err := a.d.Store.SetExtraSpecs(ctx, r.Param("flavor_id"), specs); err != nil {
		return nil, err
	}
	return map[string]any{"extra_specs": specs}, nil
}

func (a *API) showExtraSpec(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "os_compute_api:os-flavor-extra-specs:show", nil); err != nil {
		return nil, err
	}
	f, err := a.flavorFor(ctx, r, r.Param("flavor_id"))
	if err != nil {
		return nil, err
	}
	key := r.Param("key")
	v, ok := f.ExtraSpecs[key]
	if !ok {
		return nil, fault.NotFound("Flavor %s has no extra specs with key %s.", f.FlavorID, key).WithType("FlavorExtraSpecsNotFound")
	}
	return map[string]string{key: v}, nil
}

func (a *API) updateExtraSpec(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "os_compute_api:os-flavor-extra-specs:update", nil); err != nil {
		return nil, err
	}
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	body, err := decodeMap(raw)
	if err != nil {
		return nil, err
	}
	key := r.Param("key")
	v, ok := body[key]
	if !ok || len(body) != 1 {
		return nil, fault.BadRequest("Request body and URI mismatch")
	}
	s := specString(v)
	if len(s) > 255 {
		return nil, fault.BadRequest("Invalid input for field/attribute %s. Value is too long", key)
	}
	if err := a.d.Store.SetExtraSpecs(ctx, r.Param("flavor_id"), map[string]string{key: s}); err != nil {
		return nil, err
	}
	return map[string]string{key: s}, nil
}

func (a *API) deleteExtraSpec(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "os_compute_api:os-flavor-extra-specs:delete", nil); err != nil {
		return nil, err
	}
	return nil, a.d.Store.DeleteExtraSpec(ctx, r.Param("flavor_id"), r.Param("key"))
}

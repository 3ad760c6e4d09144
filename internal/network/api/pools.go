package api

import (
	"context"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

var resSubnetPool = newResource("subnetpool", "subnetpools", []attr{
	{name: "name", kind: kString, post: true, put: true},
	{name: "description", kind: kString, post: true, put: true},
	{name: "prefixes", kind: kList, post: true, put: true},
	{name: "default_prefixlen", kind: kInt, post: true, put: true},
	{name: "min_prefixlen", kind: kInt, post: true, put: true},
	{name: "max_prefixlen", kind: kInt, post: true, put: true},
	{name: "default_quota", kind: kInt, post: true, put: true},
	{name: "shared", kind: kBool, post: true, def: false},
	{name: "is_default", kind: kBool, post: true, put: true, def: false},
	{name: "address_scope_id", kind: kString, post: true, put: true},
	{name: "project_id", kind: kString, post: true},
	{name: "tenant_id", kind: kString, post: true},
}, map[string]kind{
	"id": kString, "name": kString, "description": kString, "project_id": kString, "tenant_id": kString,
	"ip_version": kInt, "shared": kBool, "is_default": kBool, "address_scope_id": kString, "default_prefixlen": kInt,
	"min_prefixlen": kInt, "max_prefixlen": kInt, "revision_number": kInt,
}, []string{"id", "name", "description", "ip_version", "shared", "is_default", "project_id", "tenant_id",
	"default_prefixlen", "min_prefixlen", "max_prefixlen", "created_at", "updated_at", "revision_number"})

var resAddressScope = newResource("address_scope", "address_scopes", []attr{
	{name: "name", kind: kString, post: true, put: true},
	{name: "ip_version", kind: kInt, post: true},
	{name: "shared", kind: kBool, post: true, put: true, def: false},
	{name: "project_id", kind: kString, post: true},
	{name: "tenant_id", kind: kString, post: true},
}, map[string]kind{
	"id": kString, "name": kString, "project_id": kString, "tenant_id": kString, "ip_version": kInt, "shared": kBool,
}, []string{"id", "name", "ip_version", "shared", "project_id", "tenant_id"})

func (a *API) poolRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.0/subnetpools", Handler: a.listSubnetPools},
		{Method: "POST", Path: "/v2.0/subnetpools", Status: 201, Handler: a.createSubnetPool},
		{Method: "GET", Path: "/v2.0/subnetpools/{subnetpool_id}", Handler: a.showSubnetPool},
		{Method: "PUT", Path: "/v2.0/subnetpools/{subnetpool_id}", Handler: a.updateSubnetPool},
		{Method: "DELETE", Path: "/v2.0/subnetpools/{subnetpool_id}", Status: 204, Handler: a.deleteSubnetPool},
		{Method: "GET", Path: "/v2.0/address-scopes", Handler: a.listAddressScopes},
		{Method: "POST", Path: "/v2.0/address-scopes", Status: 201, Handler: a.createAddressScope},
		{Method: "GET", Path: "/v2.0/address-scopes/{address_scope_id}", Handler: a.showAddressScope},
		{Method: "PUT", Path: "/v2.0/address-scopes/{address_scope_id}", Handler: a.updateAddressScope},
		{Method: "DELETE", Path: "/v2.0/address-scopes/{address_scope_id}", Status: 204, Handler: a.deleteAddressScope},
	}
}

func sharedTarget(project string, shared bool, fact string) target {
	t := ownerTarget(project)
	if shared {
		t.facts = []string{fact}
	}
	return t
}

func poolTarget(p *netapi.SubnetPool) target {
	return sharedTarget(p.ProjectID, p.Shared, "subnetpools:shared=True")
}

func (a *API) listSubnetPools(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resSubnetPool)
	if err != nil {
		return nil, err
	}
	ps, err := a.p.Store().SubnetPools(ctx, a.scope(ctx, r), q.filters)
	if err != nil {
		return nil, err
	}
	vis := a.z.newVisibility(ctx, r.Auth)
	var items []item
	for _, p := range ps {
		if vis.allowed("get_subnetpool", poolTarget(p)) {
			items = append(items, item{v: rv(p), id: p.ID})
		}
	}
	page, links := a.page(r, q, items)
	return writeList("subnetpools", page, q.fields, links), nil
}

func (a *API) visiblePool(ctx context.Context, r *rest.Request, id string) (*netapi.SubnetPool, target, error) {
	p, err := a.p.SubnetPool(ctx, id)
	if err != nil {
		return nil, target{}, err
	}
	t := poolTarget(p)
	if !a.z.allowed(ctx, r.Auth, "get_subnetpool", t) {
		return nil, t, plugin.SubnetPoolNotFound(id)
	}
	return p, t, nil
}

func (a *API) showSubnetPool(ctx context.Context, r *rest.Request) (any, error) {
	p, _, err := a.visiblePool(ctx, r, r.Param("subnetpool_id"))
	if err != nil {
		return nil, err
	}
	return writeOne("subnetpool", p, rest.ParseFields(r), nil, 200), nil
}

func poolSpec(b *body) (plugin.SubnetPoolSpec, error) {
	var s plugin.SubnetPoolSpec
	var err error
	if s.Name, err = b.str("name", 255); err != nil {
		return s, err
	}
	if s.Description, err = b.str("description", 255); err != nil {
		return s, err
	}
	if b.has("prefixes") {
		if s.Prefixes, err = b.strList("prefixes"); err != nil {
			return s, err
		}
	}
	for name, dst := range map[string]**int{"default_prefixlen": &s.DefaultPrefixLen, "min_prefixlen": &s.MinPrefixLen,
		"max_prefixlen": &s.MaxPrefixLen, "default_quota": &s.DefaultQuota} {
		if *dst, err = b.integer(name); err != nil {
			return s, err
		}
	}
	if s.Shared, err = b.boolean("shared"); err != nil {
		return s, err
	}
	if s.IsDefault, err = b.boolean("is_default"); err != nil {
		return s, err
	}
	if s.AddressScopeSet, s.AddressScopeID, err = b.nullStr("address_scope_id", 36); err != nil {
		return s, err
	}
	return s, nil
}

// checkScope refuses an address scope the caller cannot see: not found,
// as in Neutron, so no pool joins another project's private scope.
func (a *API) checkScope(ctx context.Context, r *rest.Request, s plugin.SubnetPoolSpec) error {
	if s.AddressScopeID == nil || *s.AddressScopeID == "" {
		return nil
	}
	_, _, err := a.visibleScope(ctx, r, *s.AddressScopeID)
	return err
}

func (a *API) createSubnetPool(ctx context.Context, r *rest.Request) (any, error) {
	bodies, _, err := decodeBodies(r, resSubnetPool, true, false)
	if err != nil {
		return nil, err
	}
	b := bodies[0]
	s, err := poolSpec(b)
	if err != nil {
		return nil, err
	}
	if s.ProjectID, err = b.projectOf(r); err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "create_subnetpool", b.explicit(), ownerTarget(s.ProjectID)); err != nil {
		return nil, err
	}
	if err := a.checkScope(ctx, r, s); err != nil {
		return nil, err
	}
	p, err := a.p.CreateSubnetPool(ctx, s)
	if err != nil {
		return nil, err
	}
	return writeOne("subnetpool", p, nil, nil, 201), nil
}

func (a *API) updateSubnetPool(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("subnetpool_id")
	bodies, _, err := decodeBodies(r, resSubnetPool, false, false)
	if err != nil {
		return nil, err
	}
	_, t, err := a.visiblePool(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "update_subnetpool", bodies[0].explicit(), t); err != nil {
		return nil, err
	}
	s, err := poolSpec(bodies[0])
	if err != nil {
		return nil, err
	}
	if err := a.checkScope(ctx, r, s); err != nil {
		return nil, err
	}
	if s.IfMatch, err = ifMatch(r); err != nil {
		return nil, err
	}
	p, err := a.p.UpdateSubnetPool(ctx, id, s)
	if err != nil {
		return nil, err
	}
	return writeOne("subnetpool", p, nil, nil, 200), nil
}

func (a *API) deleteSubnetPool(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("subnetpool_id")
	_, t, err := a.visiblePool(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "delete_subnetpool", t); err != nil {
		return nil, err
	}
	im, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return nil, a.p.DeleteSubnetPool(ctx, id, im)
}

func scopeTarget(s *netapi.AddressScope) target {
	return sharedTarget(s.ProjectID, s.Shared, "address_scopes:shared=True")
}

func (a *API) listAddressScopes(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resAddressScope)
	if err != nil {
		return nil, err
	}
	ss, err := a.p.Store().AddressScopes(ctx, a.scope(ctx, r), q.filters)
	if err != nil {
		return nil, err
	}
	vis := a.z.newVisibility(ctx, r.Auth)
	var items []item
	for _, s := range ss {
		if vis.allowed("get_address_scope", scopeTarget(s)) {
			items = append(items, item{v: rv(s), id: s.ID})
		}
	}
	page, links := a.page(r, q, items)
	return writeList("address_scopes", page, q.fields, links), nil
}

func (a *API) visibleScope(ctx context.Context, r *rest.Request, id string) (*netapi.AddressScope, target, error) {
	s, err := a.p.AddressScope(ctx, id)
	if err != nil {
		return nil, target{}, err
	}
	t := scopeTarget(s)
	if !a.z.allowed(ctx, r.Auth, "get_address_scope", t) {
		return nil, t, plugin.AddressScopeNotFound(id)
	}
	return s, t, nil
}

func (a *API) showAddressScope(ctx context.Context, r *rest.Request) (any, error) {
	s, _, err := a.visibleScope(ctx, r, r.Param("address_scope_id"))
	if err != nil {
		return nil, err
	}
	return writeOne("address_scope", s, rest.ParseFields(r), nil, 200), nil
}

func scopeSpec(b *body) (plugin.AddressScopeSpec, error) {
	var s plugin.AddressScopeSpec
	var err error
	if s.Name, err = b.str("name", 255); err != nil {
		return s, err
	}
	if s.IPVersion, err = b.integer("ip_version"); err != nil {
		return s, err
	}
	if s.Shared, err = b.boolean("shared"); err != nil {
		return s, err
	}
	return s, nil
}

func (a *API) createAddressScope(ctx context.Context, r *rest.Request) (any, error) {
	bodies, _, err := decodeBodies(r, resAddressScope, true, false)
	if err != nil {
		return nil, err
	}
	b := bodies[0]
	s, err := scopeSpec(b)
	if err != nil {
		return nil, err
	}
	if s.ProjectID, err = b.projectOf(r); err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "create_address_scope", b.explicit(), ownerTarget(s.ProjectID)); err != nil {
		return nil, err
	}
	as, err := a.p.CreateAddressScope(ctx, s)
	if err != nil {
		return nil, err
	}
	return writeOne("address_scope", as, nil, nil, 201), nil
}

func (a *API) updateAddressScope(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("address_scope_id")
	bodies, _, err := decodeBodies(r, resAddressScope, false, false)
	if err != nil {
		return nil, err
	}
	_, t, err := a.visibleScope(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "update_address_scope", bodies[0].explicit(), t); err != nil {
		return nil, err
	}
	s, err := scopeSpec(bodies[0])
	if err != nil {
		return nil, err
	}
	as, err := a.p.UpdateAddressScope(ctx, id, s)
	if err != nil {
		return nil, err
	}
	return writeOne("address_scope", as, nil, nil, 200), nil
}

func (a *API) deleteAddressScope(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("address_scope_id")
	_, t, err := a.visibleScope(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "delete_address_scope", t); err != nil {
		return nil, err
	}
	return nil, a.p.DeleteAddressScope(ctx, id)
}

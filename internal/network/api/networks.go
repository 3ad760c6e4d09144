package api

import (
	"context"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

var resNetwork = newResource("network", "networks", []attr{
	{name: "name", kind: kString, post: true, put: true},
	{name: "description", kind: kString, post: true, put: true},
	{name: "admin_state_up", kind: kBool, post: true, put: true, def: true},
	{name: "shared", kind: kBool, post: true, put: true, def: false},
	{name: "router:external", kind: kBool, post: true, put: true, def: false},
	{name: "is_default", kind: kBool, post: true, put: true, def: false},
	{name: "mtu", kind: kInt, post: true, put: true},
	{name: "port_security_enabled", kind: kBool, post: true, put: true, def: true},
	{name: "provider:network_type", kind: kString, post: true, put: true},
	{name: "provider:physical_network", kind: kString, post: true, put: true},
	{name: "provider:segmentation_id", kind: kInt, post: true, put: true},
	{name: "availability_zone_hints", kind: kList, post: true},
	{name: "project_id", kind: kString, post: true},
	{name: "tenant_id", kind: kString, post: true},
}, map[string]kind{
	"id": kString, "name": kString, "description": kString, "project_id": kString, "tenant_id": kString,
	"admin_state_up": kBool, "status": kString, "shared": kBool, "router:external": kBool, "is_default": kBool,
	"mtu": kInt, "port_security_enabled": kBool, "provider:network_type": kString, "provider:physical_network": kString,
	"provider:segmentation_id": kInt, "revision_number": kInt,
}, []string{"id", "name", "description", "status", "admin_state_up", "shared", "mtu", "project_id", "tenant_id",
	"router:external", "port_security_enabled", "created_at", "updated_at", "revision_number"})

func (a *API) networkRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.0/networks", Handler: a.listNetworks},
		{Method: "POST", Path: "/v2.0/networks", Status: 201, Handler: a.createNetwork},
		{Method: "GET", Path: "/v2.0/networks/{network_id}", Handler: a.showNetwork},
		{Method: "PUT", Path: "/v2.0/networks/{network_id}", Handler: a.updateNetwork},
		{Method: "DELETE", Path: "/v2.0/networks/{network_id}", Status: 204, Handler: a.deleteNetwork},
	}
}

func netTarget(n *netapi.Network) target {
	t := target{attrs: map[string]any{"project_id": n.ProjectID, "tenant_id": n.ProjectID, "id": n.ID,
		"shared": n.Shared, "router:external": n.External}}
	if n.Shared {
		t.facts = append(t.facts, "networks:shared=True")
	}
	if n.External {
		t.facts = append(t.facts, "networks:router:external=True")
	}
	return t
}

func (a *API) listNetworks(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resNetwork)
	if err != nil {
		return nil, err
	}
	nets, err := a.p.Networks(ctx, a.scope(ctx, r), q.filters)
	if err != nil {
		return nil, err
	}
	vis := a.z.newVisibility(ctx, r.Auth)
	items := make([]item, 0, len(nets))
	for _, n := range nets {
		t := netTarget(n)
		if !vis.allowed("get_network", t) {
			continue
		}
		items = append(items, item{v: rv(n), id: n.ID, hide: vis.hidden("network", resNetwork.getRules, t)})
	}
	page, links := a.page(r, q, items)
	return writeList("networks", page, q.fields, links), nil
}

// visibleNetwork loads a network the caller may see (404 otherwise).
func (a *API) visibleNetwork(ctx context.Context, r *rest.Request, id string) (*netapi.Network, target, error) {
	n, err := a.p.Network(ctx, id)
	if err != nil {
		return nil, target{}, err
	}
	t := netTarget(n)
	if !a.z.allowed(ctx, r.Auth, "get_network", t) {
		return nil, t, plugin.NetworkNotFound(id)
	}
	return n, t, nil
}

// visibleNetworkBare is visibleNetwork without subnets, tags and zones.
func (a *API) visibleNetworkBare(ctx context.Context, r *rest.Request, id string) (*netapi.Network, error) {
	n, err := a.p.Store().NetworkBare(ctx, id)
	if err != nil {
		if nstore.IsNotFound(err) {
			return nil, plugin.NetworkNotFound(id)
		}
		return nil, err
	}
	if !a.z.allowed(ctx, r.Auth, "get_network", netTarget(n)) {
		return nil, plugin.NetworkNotFound(id)
	}
	return n, nil
}

func (a *API) showNetwork(ctx context.Context, r *rest.Request) (any, error) {
	n, t, err := a.visibleNetwork(ctx, r, r.Param("network_id"))
	if err != nil {
		return nil, err
	}
	hide := a.z.newVisibility(ctx, r.Auth).hidden("network", resNetwork.getRules, t)
	return writeOne("network", n, rest.ParseFields(r), hide, 200), nil
}

func networkSpec(b *body) (plugin.NetworkSpec, error) {
	var s plugin.NetworkSpec
	var err error
	if s.Name, err = b.str("name", 255); err != nil {
		return s, err
	}
	if s.Description, err = b.str("description", 255); err != nil {
		return s, err
	}
	for name, dst := range map[string]**bool{"admin_state_up": &s.AdminStateUp, "shared": &s.Shared, "router:external": &s.External,
		"is_default": &s.IsDefault, "port_security_enabled": &s.PortSecurityEnabled} {
		if *dst, err = b.boolean(name); err != nil {
			return s, err
		}
	}
	if s.MTU, err = b.integer("mtu"); err != nil {
		return s, err
	}
	if _, s.NetworkType, err = b.nullStr("provider:network_type", 255); err != nil {
		return s, err
	}
	if _, s.PhysicalNetwork, err = b.nullStr("provider:physical_network", 64); err != nil {
		return s, err
	}
	if s.SegmentationID, err = b.integer("provider:segmentation_id"); err != nil {
		return s, err
	}
	if b.has("availability_zone_hints") {
		if s.AZHints, err = b.strList("availability_zone_hints"); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (a *API) createNetwork(ctx context.Context, r *rest.Request) (any, error) {
	bodies, bulk, err := decodeBodies(r, resNetwork, true, true)
	if err != nil {
		return nil, err
	}
	var specs []plugin.NetworkSpec
	for _, b := range bodies {
		s, err := networkSpec(b)
		if err != nil {
			return nil, err
		}
		if s.ProjectID, err = b.projectOf(r); err != nil {
			return nil, err
		}
		t := target{attrs: map[string]any{"project_id": s.ProjectID, "tenant_id": s.ProjectID}}
		if err := a.z.checkAll(ctx, r.Auth, "create_network", b.explicit(), t); err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	var created []any
	var hides [][]string
	for _, s := range specs {
		n, err := a.p.CreateNetwork(ctx, s)
		if err != nil {
			for _, c := range created {
				a.p.DeleteNetwork(ctx, c.(*netapi.Network).ID, nil)
			}
			return nil, err
		}
		created = append(created, n)
		hides = append(hides, a.z.newVisibility(ctx, r.Auth).hidden("network", resNetwork.getRules, netTarget(n)))
	}
	if bulk {
		return writeMany("networks", created, hides), nil
	}
	return writeOne("network", created[0], nil, hides[0], 201), nil
}

func (a *API) updateNetwork(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("network_id")
	bodies, _, err := decodeBodies(r, resNetwork, false, false)
	if err != nil {
		return nil, err
	}
	_, t, err := a.visibleNetwork(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "update_network", bodies[0].explicit(), t); err != nil {
		return nil, err
	}
	s, err := networkSpec(bodies[0])
	if err != nil {
		return nil, err
	}
	if s.IfMatch, err = ifMatch(r); err != nil {
		return nil, err
	}
	n, err := a.p.UpdateNetwork(ctx, id, s)
	if err != nil {
		return nil, err
	}
	hide := a.z.newVisibility(ctx, r.Auth).hidden("network", resNetwork.getRules, netTarget(n))
	return writeOne("network", n, nil, hide, 200), nil
}

func (a *API) deleteNetwork(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("network_id")
	_, t, err := a.visibleNetwork(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "delete_network", t); err != nil {
		return nil, err
	}
	im, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return nil, a.p.DeleteNetwork(ctx, id, im)
}

package api

import (
	"context"
	"encoding/json"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

var resRouter = newResource("router", "routers", []attr{
	{name: "name", kind: kString, post: true, put: true},
	{name: "description", kind: kString, post: true, put: true},
	{name: "admin_state_up", kind: kBool, post: true, put: true, def: true},
	{name: "external_gateway_info", kind: kDict, post: true, put: true},
	{name: "routes", kind: kList, put: true},
	{name: "availability_zone_hints", kind: kList, post: true},
	{name: "project_id", kind: kString, post: true},
	{name: "tenant_id", kind: kString, post: true},
}, map[string]kind{
	"id": kString, "name": kString, "description": kString, "project_id": kString, "tenant_id": kString,
	"admin_state_up": kBool, "status": kString, "revision_number": kInt,
}, []string{"id", "name", "description", "status", "admin_state_up", "project_id", "tenant_id", "created_at", "updated_at", "revision_number"})

func (a *API) routerRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.0/routers", Handler: a.listRouters},
		{Method: "POST", Path: "/v2.0/routers", Status: 201, Handler: a.createRouter},
		{Method: "GET", Path: "/v2.0/routers/{router_id}", Handler: a.showRouter},
		{Method: "PUT", Path: "/v2.0/routers/{router_id}", Handler: a.updateRouter},
		{Method: "DELETE", Path: "/v2.0/routers/{router_id}", Status: 204, Handler: a.deleteRouter},
		{Method: "PUT", Path: "/v2.0/routers/{router_id}/add_router_interface", Handler: a.addInterface},
		{Method: "PUT", Path: "/v2.0/routers/{router_id}/remove_router_interface", Handler: a.removeInterface},
	}
}

func ownerTarget(project string) target {
	return target{attrs: map[string]any{"project_id": project, "tenant_id": project}}
}

func (a *API) listRouters(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resRouter)
	if err != nil {
		return nil, err
	}
	rs, err := a.p.Routers(ctx, a.scope(ctx, r), q.filters)
	if err != nil {
		return nil, err
	}
	vis := a.z.newVisibility(ctx, r.Auth)
	items := make([]item, 0, len(rs))
	for _, rt := range rs {
		t := ownerTarget(rt.ProjectID)
		if !vis.allowed("get_router", t) {
			continue
		}
		items = append(items, item{v: rv(&rt.Router), id: rt.ID, hide: vis.hidden("router", resRouter.getRules, t)})
	}
	page, links := a.page(r, q, items)
	return writeList("routers", page, q.fields, links), nil
}

func (a *API) visibleRouter(ctx context.Context, r *rest.Request, id string) (*nstore.Router, target, error) {
	rt, err := a.p.Router(ctx, id)
	if err != nil {
		return nil, target{}, err
	}
	t := ownerTarget(rt.ProjectID)
	if !a.z.allowed(ctx, r.Auth, "get_router", t) {
		return nil, t, plugin.RouterNotFound(id)
	}
	return rt, t, nil
}

func (a *API) showRouter(ctx context.Context, r *rest.Request) (any, error) {
	rt, t, err := a.visibleRouter(ctx, r, r.Param("router_id"))
	if err != nil {
		return nil, err
	}
	return writeOne("router", &rt.Router, rest.ParseFields(r), a.z.newVisibility(ctx, r.Auth).hidden("router", resRouter.getRules, t), 200), nil
}

// routerSpec decodes a router body and the gateway sub-attributes sent.
func routerSpec(b *body) (plugin.RouterSpec, []string, error) {
	var s plugin.RouterSpec
	var sub []string
	var err error
	if s.Name, err = b.str("name", 255); err != nil {
		return s, nil, err
	}
	if s.Description, err = b.str("description", 255); err != nil {
		return s, nil, err
	}
	if s.AdminStateUp, err = b.boolean("admin_state_up"); err != nil {
		return s, nil, err
	}
	if b.has("external_gateway_info") {
		s.GatewaySet = true
		if !b.isNull("external_gateway_info") {
			var raw map[string]json.RawMessage
			if _, err := b.decode("external_gateway_info", &raw, "external gateway info"); err != nil {
				return s, nil, err
			}
			if len(raw) > 0 {
				g := &plugin.GatewaySpec{}
				gb := &body{res: resGateway, raw: raw, create: true}
				if err := gb.check(); err != nil {
					return s, nil, plugin.BadAttr("external_gateway_info", "%v", err)
				}
				nid, err := gb.str("network_id", 36)
				if err != nil {
					return s, nil, err
				}
				if nid != nil {
					g.NetworkID = *nid
					sub = append(sub, "external_gateway_info:network_id")
				} else {
					return s, nil, plugin.BadAttr("external_gateway_info", "Validation of dictionary's keys failed. Expected keys: {'network_id'} Provided keys: %s", pyStrList(gb.names()))
				}
				if g.EnableSNAT, err = gb.boolean("enable_snat"); err != nil {
					return s, nil, err
				}
				if g.EnableSNAT != nil {
					sub = append(sub, "external_gateway_info:enable_snat")
				}
				if gb.has("external_fixed_ips") {
					var ips []map[string]string
					if _, err := gb.decode("external_fixed_ips", &ips, "external fixed IP"); err != nil {
						return s, nil, err
					}
					fs := []plugin.FixedIPSpec{}
					for _, ip := range ips {
						fs = append(fs, plugin.FixedIPSpec{SubnetID: ip["subnet_id"], IPAddress: ip["ip_address"]})
					}
					g.ExternalFixedIPs = &fs
					sub = append(sub, "external_gateway_info:external_fixed_ips")
				}
				s.Gateway = g
			}
		}
	}
	if b.has("routes") {
		routes := []netapi.Route{}
		if !b.isNull("routes") {
			if _, err := b.decode("routes", &routes, "routes"); err != nil {
				return s, nil, err
			}
		}
		s.Routes = &routes
	}
	if b.has("availability_zone_hints") {
		if s.AZHints, err = b.strList("availability_zone_hints"); err != nil {
			return s, nil, err
		}
	}
	return s, sub, nil
}

var resGateway = newResource("external_gateway_info", "", []attr{
	{name: "network_id", kind: kString, post: true}, {name: "enable_snat", kind: kBool, post: true},
	{name: "external_fixed_ips", kind: kList, post: true},
}, nil, nil)

func (a *API) createRouter(ctx context.Context, r *rest.Request) (any, error) {
	bodies, _, err := decodeBodies(r, resRouter, true, false)
	if err != nil {
		return nil, err
	}
	b := bodies[0]
	s, sub, err := routerSpec(b)
	if err != nil {
		return nil, err
	}
	if s.ProjectID, err = b.projectOf(r); err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "create_router", append(b.explicit(), sub...), ownerTarget(s.ProjectID)); err != nil {
		return nil, err
	}
	if s.Gateway != nil {
		if _, _, err := a.visibleNetwork(ctx, r, s.Gateway.NetworkID); err != nil {
			return nil, err
		}
	}
	rt, err := a.p.CreateRouter(ctx, s, a.caller(ctx, r))
	if err != nil {
		return nil, err
	}
	return writeOne("router", &rt.Router, nil, a.z.newVisibility(ctx, r.Auth).hidden("router", resRouter.getRules, ownerTarget(rt.ProjectID)), 201), nil
}

func (a *API) updateRouter(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("router_id")
	bodies, _, err := decodeBodies(r, resRouter, false, false)
	if err != nil {
		return nil, err
	}
	_, t, err := a.visibleRouter(ctx, r, id)
	if err != nil {
		return nil, err
	}
	s, sub, err := routerSpec(bodies[0])
	if err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "update_router", append(bodies[0].explicit(), sub...), t); err != nil {
		return nil, err
	}
	if s.Gateway != nil {
		if _, _, err := a.visibleNetwork(ctx, r, s.Gateway.NetworkID); err != nil {
			return nil, err
		}
	}
	if s.IfMatch, err = ifMatch(r); err != nil {
		return nil, err
	}
	rt, err := a.p.UpdateRouter(ctx, id, s, a.caller(ctx, r))
	if err != nil {
		return nil, err
	}
	return writeOne("router", &rt.Router, nil, a.z.newVisibility(ctx, r.Auth).hidden("router", resRouter.getRules, t), 200), nil
}

func (a *API) deleteRouter(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("router_id")
	_, t, err := a.visibleRouter(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "delete_router", t); err != nil {
		return nil, err
	}
	im, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return nil, a.p.DeleteRouter(ctx, id, im)
}

func interfaceBody(r *rest.Request) (subnetID, portID string, err error) {
	buf, err := r.RawJSON()
	if err != nil {
		return "", "", err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(buf, &m); err != nil {
		return "", "", plugin.BadRequest("router", "Malformed request body")
	}
	for k, v := range m {
		var s string
		if string(v) != "null" {
			if err := json.Unmarshal(v, &s); err != nil {
				return "", "", plugin.BadAttr(k, "'%s' is not a valid UUID", string(v))
			}
		}
		switch k {
		case "subnet_id":
			subnetID = s
		case "port_id":
			portID = s
		}
	}
	return subnetID, portID, nil
}

func (a *API) addInterface(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("router_id")
	subnetID, portID, err := interfaceBody(r)
	if err != nil {
		return nil, err
	}
	_, t, err := a.visibleRouter(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "add_router_interface", t); err != nil {
		return nil, err
	}
	if subnetID != "" {
		if _, _, err := a.visibleSubnet(ctx, r, subnetID); err != nil {
			return nil, err
		}
	}
	if portID != "" {
		if _, _, _, err := a.visiblePort(ctx, r, portID); err != nil {
			return nil, err
		}
	}
	return a.p.AddRouterInterface(ctx, id, subnetID, portID, a.caller(ctx, r))
}

func (a *API) removeInterface(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("router_id")
	subnetID, portID, err := interfaceBody(r)
	if err != nil {
		return nil, err
	}
	_, t, err := a.visibleRouter(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "remove_router_interface", t); err != nil {
		return nil, err
	}
	return a.p.RemoveRouterInterface(ctx, id, subnetID, portID)
}

var resFloatingIP = newResource("floatingip", "floatingips", []attr{
	{name: "floating_network_id", kind: kString, post: true},
	{name: "subnet_id", kind: kString, post: true},
	{name: "floating_ip_address", kind: kString, post: true},
	{name: "port_id", kind: kString, post: true, put: true},
	{name: "fixed_ip_address", kind: kString, post: true, put: true},
	{name: "description", kind: kString, post: true, put: true},
	{name: "project_id", kind: kString, post: true},
	{name: "tenant_id", kind: kString, post: true},
}, map[string]kind{
	"id": kString, "project_id": kString, "tenant_id": kString, "floating_network_id": kString, "floating_ip_address": kString,
	"port_id": kString, "fixed_ip_address": kString, "router_id": kString, "status": kString, "description": kString,
	"revision_number": kInt,
}, []string{"id", "floating_network_id", "floating_ip_address", "fixed_ip_address", "router_id", "port_id", "status",
	"project_id", "tenant_id", "created_at", "updated_at", "revision_number"})

func (a *API) floatingIPRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.0/floatingips", Handler: a.listFloatingIPs},
		{Method: "POST", Path: "/v2.0/floatingips", Status: 201, Handler: a.createFloatingIP},
		{Method: "GET", Path: "/v2.0/floatingips/{floatingip_id}", Handler: a.showFloatingIP},
		{Method: "PUT", Path: "/v2.0/floatingips/{floatingip_id}", Handler: a.updateFloatingIP},
		{Method: "DELETE", Path: "/v2.0/floatingips/{floatingip_id}", Status: 204, Handler: a.deleteFloatingIP},
	}
}

func (a *API) listFloatingIPs(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resFloatingIP)
	if err != nil {
		return nil, err
	}
	fs, err := a.p.Store().FloatingIPs(ctx, a.scope(ctx, r), q.filters)
	if err != nil {
		return nil, err
	}
	vis := a.z.newVisibility(ctx, r.Auth)
	items := make([]item, 0, len(fs))
	for _, f := range fs {
		if !vis.allowed("get_floatingip", ownerTarget(f.ProjectID)) {
			continue
		}
		items = append(items, item{v: rv(&f.FloatingIP), id: f.ID})
	}
	page, links := a.page(r, q, items)
	return writeList("floatingips", page, q.fields, links), nil
}

func (a *API) visibleFloatingIP(ctx context.Context, r *rest.Request, id string) (*nstore.FloatingIP, target, error) {
	f, err := a.p.FloatingIP(ctx, id)
	if err != nil {
		return nil, target{}, err
	}
	t := ownerTarget(f.ProjectID)
	if !a.z.allowed(ctx, r.Auth, "get_floatingip", t) {
		return nil, t, plugin.FloatingIPNotFound(id)
	}
	return f, t, nil
}

func (a *API) showFloatingIP(ctx context.Context, r *rest.Request) (any, error) {
	f, _, err := a.visibleFloatingIP(ctx, r, r.Param("floatingip_id"))
	if err != nil {
		return nil, err
	}
	return writeOne("floatingip", &f.FloatingIP, rest.ParseFields(r), nil, 200), nil
}

func floatingIPSpec(b *body) (plugin.FloatingIPSpec, error) {
	var s plugin.FloatingIPSpec
	var err error
	nid, err := b.uuidStr("floating_network_id")
	if err != nil {
		return s, err
	}
	if nid != nil {
		s.FloatingNetworkID = *nid
	}
	if _, s.SubnetID, err = b.nullStr("subnet_id", 36); err != nil {
		return s, err
	}
	if _, s.FloatingIPAddress, err = b.nullStr("floating_ip_address", 64); err != nil {
		return s, err
	}
	if s.PortSet, s.PortID, err = b.nullStr("port_id", 36); err != nil {
		return s, err
	}
	if _, s.FixedIPAddress, err = b.nullStr("fixed_ip_address", 64); err != nil {
		return s, err
	}
	if s.Description, err = b.str("description", 255); err != nil {
		return s, err
	}
	return s, nil
}

func (a *API) createFloatingIP(ctx context.Context, r *rest.Request) (any, error) {
	bodies, _, err := decodeBodies(r, resFloatingIP, true, false)
	if err != nil {
		return nil, err
	}
	b := bodies[0]
	s, err := floatingIPSpec(b)
	if err != nil {
		return nil, err
	}
	if s.FloatingNetworkID == "" {
		return nil, plugin.BadAttr("floating_network_id", "'None' is not a valid UUID")
	}
	if s.ProjectID, err = b.projectOf(r); err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "create_floatingip", b.explicit(), ownerTarget(s.ProjectID)); err != nil {
		return nil, err
	}
	if _, _, err := a.visibleNetwork(ctx, r, s.FloatingNetworkID); err != nil {
		return nil, err
	}
	if s.PortID != nil {
		if _, _, _, err := a.visiblePort(ctx, r, *s.PortID); err != nil {
			return nil, err
		}
	}
	f, err := a.p.CreateFloatingIP(ctx, s, a.caller(ctx, r))
	if err != nil {
		return nil, err
	}
	return writeOne("floatingip", &f.FloatingIP, nil, nil, 201), nil
}

func (a *API) updateFloatingIP(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("floatingip_id")
	bodies, _, err := decodeBodies(r, resFloatingIP, false, false)
	if err != nil {
		return nil, err
	}
	_, t, err := a.visibleFloatingIP(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "update_floatingip", bodies[0].explicit(), t); err != nil {
		return nil, err
	}
	s, err := floatingIPSpec(bodies[0])
	if err != nil {
		return nil, err
	}
	if s.PortID != nil {
		if _, _, _, err := a.visiblePort(ctx, r, *s.PortID); err != nil {
			return nil, err
		}
	}
	if s.IfMatch, err = ifMatch(r); err != nil {
		return nil, err
	}
	f, err := a.p.UpdateFloatingIP(ctx, id, s, a.caller(ctx, r))
	if err != nil {
		return nil, err
	}
	return writeOne("floatingip", &f.FloatingIP, nil, nil, 200), nil
}

func (a *API) deleteFloatingIP(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("floatingip_id")
	_, t, err := a.visibleFloatingIP(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "delete_floatingip", t); err != nil {
		return nil, err
	}
	im, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return nil, a.p.DeleteFloatingIP(ctx, id, im)
}

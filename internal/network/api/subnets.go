package api

import (
	"context"
	"encoding/json"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

var resSubnet = newResource("subnet", "subnets", []attr{
	{name: "name", kind: kString, post: true, put: true},
	{name: "description", kind: kString, post: true, put: true},
	{name: "network_id", kind: kString, post: true},
	{name: "ip_version", kind: kInt, post: true},
	{name: "cidr", kind: kString, post: true},
	{name: "prefixlen", kind: kInt, post: true},
	{name: "gateway_ip", kind: kString, post: true, put: true},
	{name: "enable_dhcp", kind: kBool, post: true, put: true, def: true},
	{name: "allocation_pools", kind: kList, post: true, put: true},
	{name: "dns_nameservers", kind: kList, post: true, put: true},
	{name: "host_routes", kind: kList, post: true, put: true},
	{name: "ipv6_ra_mode", kind: kString, post: true},
	{name: "ipv6_address_mode", kind: kString, post: true},
	{name: "subnetpool_id", kind: kString, post: true},
	{name: "use_default_subnetpool", kind: kBool, post: true, def: false},
	{name: "service_types", kind: kList, post: true, put: true},
	{name: "segment_id", kind: kString, post: true},
	{name: "project_id", kind: kString, post: true},
	{name: "tenant_id", kind: kString, post: true},
}, map[string]kind{
	"id": kString, "name": kString, "description": kString, "project_id": kString, "tenant_id": kString,
	"network_id": kString, "ip_version": kInt, "cidr": kString, "gateway_ip": kString, "enable_dhcp": kBool,
	"ipv6_ra_mode": kString, "ipv6_address_mode": kString, "subnetpool_id": kString, "revision_number": kInt,
}, []string{"id", "name", "description", "network_id", "ip_version", "cidr", "gateway_ip", "enable_dhcp", "project_id",
	"tenant_id", "ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id", "created_at", "updated_at", "revision_number"})

func (a *API) subnetRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.0/subnets", Handler: a.listSubnets},
		{Method: "POST", Path: "/v2.0/subnets", Status: 201, Handler: a.createSubnet},
		{Method: "GET", Path: "/v2.0/subnets/{subnet_id}", Handler: a.showSubnet},
		{Method: "PUT", Path: "/v2.0/subnets/{subnet_id}", Handler: a.updateSubnet},
		{Method: "DELETE", Path: "/v2.0/subnets/{subnet_id}", Status: 204, Handler: a.deleteSubnet},
	}
}

// networksByID loads the networks items belong to, for policy targets.
func (a *API) networksByID(ctx context.Context, ids map[string]bool) map[string]*netapi.Network {
	out := map[string]*netapi.Network{}
	if len(ids) == 0 {
		return out
	}
	var f []nstore.Filter
	if len(ids) <= 200 {
		vals := make([]any, 0, len(ids))
		for id := range ids {
			vals = append(vals, id)
		}
		f = []nstore.Filter{{Field: "id", Values: vals}}
	}
	nets, err := a.p.Store().Networks(ctx, nstore.Scope{All: true}, f)
	if err != nil {
		return out
	}
	for _, n := range nets {
		out[n.ID] = n
	}
	return out
}

// childTarget is the target of a subnet or port: its owner and its network's.
func childTarget(project, networkID string, net *netapi.Network) target {
	t := target{attrs: map[string]any{"project_id": project, "tenant_id": project, "network_id": networkID}}
	if net != nil {
		t.attrs["network:project_id"] = net.ProjectID
		t.attrs["network:tenant_id"] = net.ProjectID
		if net.Shared {
			t.facts = append(t.facts, "networks:shared=True")
		}
		if net.External {
			t.facts = append(t.facts, "subnets:router:external=True")
		}
	}
	return t
}

func (a *API) listSubnets(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resSubnet)
	if err != nil {
		return nil, err
	}
	subs, err := a.p.Store().Subnets(ctx, a.scope(ctx, r), q.filters)
	if err != nil {
		return nil, err
	}
	netIDs := map[string]bool{}
	for _, s := range subs {
		netIDs[s.NetworkID] = true
	}
	nets := a.networksByID(ctx, netIDs)
	vis := a.z.newVisibility(ctx, r.Auth)
	items := make([]item, 0, len(subs))
	for _, s := range subs {
		t := childTarget(s.ProjectID, s.NetworkID, nets[s.NetworkID])
		if !vis.allowed("get_subnet", t) {
			continue
		}
		items = append(items, item{v: rv(s), id: s.ID, hide: vis.hidden("subnet", resSubnet.getRules, t)})
	}
	page, links := a.page(r, q, items)
	return writeList("subnets", page, q.fields, links), nil
}

func (a *API) visibleSubnet(ctx context.Context, r *rest.Request, id string) (*netapi.Subnet, target, error) {
	s, err := a.p.Subnet(ctx, id)
	if err != nil {
		return nil, target{}, err
	}
	net, _ := a.p.Store().Network(ctx, s.NetworkID)
	t := childTarget(s.ProjectID, s.NetworkID, net)
	if !a.z.allowed(ctx, r.Auth, "get_subnet", t) {
		return nil, t, plugin.SubnetNotFound(id)
	}
	return s, t, nil
}

func (a *API) showSubnet(ctx context.Context, r *rest.Request) (any, error) {
	s, t, err := a.visibleSubnet(ctx, r, r.Param("subnet_id"))
	if err != nil {
		return nil, err
	}
	return writeOne("subnet", s, rest.ParseFields(r), a.z.newVisibility(ctx, r.Auth).hidden("subnet", resSubnet.getRules, t), 200), nil
}

func subnetSpec(b *body) (plugin.SubnetSpec, error) {
	var s plugin.SubnetSpec
	var err error
	if s.Name, err = b.str("name", 255); err != nil {
		return s, err
	}
	if s.Description, err = b.str("description", 255); err != nil {
		return s, err
	}
	if s.NetworkID, err = b.uuidStr("network_id"); err != nil {
		return s, err
	}
	if s.IPVersion, err = b.integer("ip_version"); err != nil {
		return s, err
	}
	if b.has("ip_version") && b.isNull("ip_version") {
		return s, plugin.BadAttr("ip_version", "'None' is not in [4, 6]")
	}
	if _, s.CIDR, err = b.nullStr("cidr", 64); err != nil {
		return s, err
	}
	if s.PrefixLen, err = b.integer("prefixlen"); err != nil {
		return s, err
	}
	if s.GatewaySet, s.GatewayIP, err = b.nullStr("gateway_ip", 64); err != nil {
		return s, err
	}
	if s.EnableDHCP, err = b.boolean("enable_dhcp"); err != nil {
		return s, err
	}
	if b.has("allocation_pools") && !b.isNull("allocation_pools") {
		var pools []netapi.AllocationPool
		var raw []map[string]json.RawMessage
		if _, err := b.decode("allocation_pools", &raw, "IP pool"); err != nil {
			return s, err
		}
		for _, p := range raw {
			var start, end string
			if json.Unmarshal(p["start"], &start) != nil || json.Unmarshal(p["end"], &end) != nil || len(p) != 2 {
				return s, plugin.BadAttr("allocation_pools", "Unrecognized attribute(s) or missing keys 'start', 'end'")
			}
			pools = append(pools, netapi.AllocationPool{Start: start, End: end})
		}
		if pools == nil {
			pools = []netapi.AllocationPool{}
		}
		s.AllocationPools = &pools
	}
	if b.has("dns_nameservers") {
		if s.DNSNameservers, err = b.strList("dns_nameservers"); err != nil {
			return s, err
		}
	}
	if b.has("host_routes") {
		routes := []netapi.HostRoute{}
		if !b.isNull("host_routes") {
			var raw []map[string]json.RawMessage
			if _, err := b.decode("host_routes", &raw, "hostroute"); err != nil {
				return s, err
			}
			for _, hr := range raw {
				var r netapi.HostRoute
				if json.Unmarshal(hr["destination"], &r.Destination) != nil || json.Unmarshal(hr["nexthop"], &r.NextHop) != nil {
					return s, plugin.BadAttr("host_routes", "Invalid data format for hostroute")
				}
				routes = append(routes, r)
			}
		}
		s.HostRoutes = &routes
	}
	if _, s.IPv6RAMode, err = b.nullStr("ipv6_ra_mode", 255); err != nil {
		return s, err
	}
	if _, s.IPv6AddressMode, err = b.nullStr("ipv6_address_mode", 255); err != nil {
		return s, err
	}
	if _, s.SubnetPoolID, err = b.nullStr("subnetpool_id", 36); err != nil {
		return s, err
	}
	if s.UseDefaultPool, err = b.boolean("use_default_subnetpool"); err != nil {
		return s, err
	}
	if b.has("service_types") {
		if s.ServiceTypes, err = b.strList("service_types"); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (a *API) createSubnet(ctx context.Context, r *rest.Request) (any, error) {
	bodies, bulk, err := decodeBodies(r, resSubnet, true, true)
	if err != nil {
		return nil, err
	}
	var specs []plugin.SubnetSpec
	for _, b := range bodies {
		s, err := subnetSpec(b)
		if err != nil {
			return nil, err
		}
		if s.ProjectID, err = b.projectOf(r); err != nil {
			return nil, err
		}
		if s.NetworkID == nil {
			return nil, plugin.BadAttr("network_id", "'None' is not a valid UUID")
		}
		net, _, err := a.visibleNetwork(ctx, r, *s.NetworkID)
		if err != nil {
			return nil, err
		}
		if s.SubnetPoolID != nil && *s.SubnetPoolID != "" {
			// A pool the caller cannot see is not found, as in Neutron.
			if _, _, err := a.visiblePool(ctx, r, *s.SubnetPoolID); err != nil {
				return nil, err
			}
		}
		t := childTarget(s.ProjectID, net.ID, net)
		if err := a.z.checkAll(ctx, r.Auth, "create_subnet", b.explicit(), t); err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	var created []any
	var hides [][]string
	for _, s := range specs {
		sub, err := a.p.CreateSubnet(ctx, s)
		if err != nil {
			for _, c := range created {
				a.p.DeleteSubnet(ctx, c.(*netapi.Subnet).ID, nil)
			}
			return nil, err
		}
		created = append(created, sub)
		hides = append(hides, nil)
	}
	if bulk {
		return writeMany("subnets", created, hides), nil
	}
	return writeOne("subnet", created[0], nil, nil, 201), nil
}

func (a *API) updateSubnet(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("subnet_id")
	bodies, _, err := decodeBodies(r, resSubnet, false, false)
	if err != nil {
		return nil, err
	}
	_, t, err := a.visibleSubnet(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "update_subnet", bodies[0].explicit(), t); err != nil {
		return nil, err
	}
	s, err := subnetSpec(bodies[0])
	if err != nil {
		return nil, err
	}
	if s.IfMatch, err = ifMatch(r); err != nil {
		return nil, err
	}
	sub, err := a.p.UpdateSubnet(ctx, id, s)
	if err != nil {
		return nil, err
	}
	return writeOne("subnet", sub, nil, nil, 200), nil
}

func (a *API) deleteSubnet(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("subnet_id")
	_, t, err := a.visibleSubnet(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "delete_subnet", t); err != nil {
		return nil, err
	}
	im, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return nil, a.p.DeleteSubnet(ctx, id, im)
}

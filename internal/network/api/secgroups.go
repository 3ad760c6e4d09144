package api

import (
	"context"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

var resSecurityGroup = newResource("security_group", "security_groups", []attr{
	{name: "name", kind: kString, post: true, put: true},
	{name: "description", kind: kString, post: true, put: true},
	{name: "stateful", kind: kBool, post: true, put: true, def: true},
	{name: "project_id", kind: kString, post: true},
	{name: "tenant_id", kind: kString, post: true},
}, map[string]kind{
	"id": kString, "name": kString, "description": kString, "project_id": kString, "tenant_id": kString,
	"stateful": kBool, "revision_number": kInt,
}, []string{"id", "name", "description", "project_id", "tenant_id", "stateful", "created_at", "updated_at", "revision_number"})

var resRule = newResource("security_group_rule", "security_group_rules", []attr{
	{name: "security_group_id", kind: kString, post: true},
	{name: "direction", kind: kString, post: true},
	{name: "ethertype", kind: kString, post: true},
	{name: "protocol", kind: kAny, post: true},
	{name: "port_range_min", kind: kAny, post: true},
	{name: "port_range_max", kind: kAny, post: true},
	{name: "remote_ip_prefix", kind: kString, post: true},
	{name: "remote_group_id", kind: kString, post: true},
	{name: "description", kind: kString, post: true},
	{name: "project_id", kind: kString, post: true},
	{name: "tenant_id", kind: kString, post: true},
}, map[string]kind{
	"id": kString, "project_id": kString, "tenant_id": kString, "security_group_id": kString, "direction": kString,
	"ethertype": kString, "protocol": kString, "port_range_min": kInt, "port_range_max": kInt, "remote_ip_prefix": kString,
	"remote_group_id": kString, "description": kString, "revision_number": kInt,
}, []string{"id", "security_group_id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max",
	"remote_ip_prefix", "remote_group_id", "project_id", "tenant_id", "created_at", "updated_at", "revision_number"})

func (a *API) securityGroupRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.0/security-groups", Handler: a.listSecurityGroups},
		{Method: "POST", Path: "/v2.0/security-groups", Status: 201, Handler: a.createSecurityGroup},
		{Method: "GET", Path: "/v2.0/security-groups/{security_group_id}", Handler: a.showSecurityGroup},
		{Method: "PUT", Path: "/v2.0/security-groups/{security_group_id}", Handler: a.updateSecurityGroup},
		{Method: "DELETE", Path: "/v2.0/security-groups/{security_group_id}", Status: 204, Handler: a.deleteSecurityGroup},
		{Method: "GET", Path: "/v2.0/security-group-rules", Handler: a.listRules},
		{Method: "POST", Path: "/v2.0/security-group-rules", Status: 201, Handler: a.createRule},
		{Method: "GET", Path: "/v2.0/security-group-rules/{rule_id}", Handler: a.showRule},
		{Method: "DELETE", Path: "/v2.0/security-group-rules/{rule_id}", Status: 204, Handler: a.deleteRule},
	}
}

func (a *API) listSecurityGroups(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resSecurityGroup)
	if err != nil {
		return nil, err
	}
	// Listing gives the project (or the project listed) its default group,
	// as Neutron does.
	project := ""
	if r.Auth != nil {
		project = r.Auth.ProjectID
	}
	for _, f := range q.filters {
		if (f.Field == "project_id" || f.Field == "tenant_id") && len(f.Values) > 0 {
			project, _ = f.Values[0].(string)
		}
	}
	if err := a.p.EnsureDefaultSecurityGroup(ctx, project); err != nil {
		return nil, err
	}
	gs, err := a.p.Store().SecurityGroups(ctx, a.scope(ctx, r), q.filters)
	if err != nil {
		return nil, err
	}
	vis := a.z.newVisibility(ctx, r.Auth)
	items := make([]item, 0, len(gs))
	for _, g := range gs {
		if !vis.allowed("get_security_group", ownerTarget(g.ProjectID)) {
			continue
		}
		a.visibleRules(vis, g)
		items = append(items, item{v: rv(g), id: g.ID})
	}
	page, links := a.page(r, q, items)
	return writeList("security_groups", page, q.fields, links), nil
}

// visibleRules drops the rules of a group the caller may not see.
func (a *API) visibleRules(vis *visibility, g *netapi.SecurityGroup) {
	kept := g.SecurityGroupRules[:0]
	for _, rl := range g.SecurityGroupRules {
		if vis.allowed("get_security_group_rule", ruleTarget(rl.ProjectID, g.ProjectID)) {
			kept = append(kept, rl)
		}
	}
	g.SecurityGroupRules = kept
}

func ruleTarget(project, sgProject string) target {
	t := ownerTarget(project)
	t.attrs["security_group:project_id"] = sgProject
	t.attrs["security_group:tenant_id"] = sgProject
	return t
}

func (a *API) visibleGroup(ctx context.Context, r *rest.Request, id string) (*netapi.SecurityGroup, target, error) {
	g, err := a.p.SecurityGroup(ctx, id)
	if err != nil {
		return nil, target{}, err
	}
	t := ownerTarget(g.ProjectID)
	if !a.z.allowed(ctx, r.Auth, "get_security_group", t) {
		return nil, t, plugin.SecurityGroupNotFound(id)
	}
	return g, t, nil
}

func (a *API) showSecurityGroup(ctx context.Context, r *rest.Request) (any, error) {
	g, _, err := a.visibleGroup(ctx, r, r.Param("security_group_id"))
	if err != nil {
		return nil, err
	}
	a.visibleRules(a.z.newVisibility(ctx, r.Auth), g)
	return writeOne("security_group", g, rest.ParseFields(r), nil, 200), nil
}

func groupSpec(b *body) (plugin.SecurityGroupSpec, error) {
	var s plugin.SecurityGroupSpec
	var err error
	if s.Name, err = b.str("name", 255); err != nil {
		return s, err
	}
	if s.Description, err = b.str("description", 255); err != nil {
		return s, err
	}
	if s.Stateful, err = b.boolean("stateful"); err != nil {
		return s, err
	}
	return s, nil
}

func (a *API) createSecurityGroup(ctx context.Context, r *rest.Request) (any, error) {
	bodies, bulk, err := decodeBodies(r, resSecurityGroup, true, true)
	if err != nil {
		return nil, err
	}
	var specs []plugin.SecurityGroupSpec
	for _, b := range bodies {
		s, err := groupSpec(b)
		if err != nil {
			return nil, err
		}
		if s.ProjectID, err = b.projectOf(r); err != nil {
			return nil, err
		}
		if err := a.z.checkAll(ctx, r.Auth, "create_security_group", b.explicit(), ownerTarget(s.ProjectID)); err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	var created []any
	var hides [][]string
	for _, s := range specs {
		g, err := a.p.CreateSecurityGroup(ctx, s)
		if err != nil {
			for _, c := range created {
				a.p.DeleteSecurityGroup(ctx, c.(*netapi.SecurityGroup).ID, plugin.Caller{Admin: true}, nil)
			}
			return nil, err
		}
		created = append(created, g)
		hides = append(hides, nil)
	}
	if bulk {
		return writeMany("security_groups", created, hides), nil
	}
	return writeOne("security_group", created[0], nil, nil, 201), nil
}

func (a *API) updateSecurityGroup(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("security_group_id")
	bodies, _, err := decodeBodies(r, resSecurityGroup, false, false)
	if err != nil {
		return nil, err
	}
	_, t, err := a.visibleGroup(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.checkAll(ctx, r.Auth, "update_security_group", bodies[0].explicit(), t); err != nil {
		return nil, err
	}
	s, err := groupSpec(bodies[0])
	if err != nil {
		return nil, err
	}
	if s.IfMatch, err = ifMatch(r); err != nil {
		return nil, err
	}
	g, err := a.p.UpdateSecurityGroup(ctx, id, s)
	if err != nil {
		return nil, err
	}
	return writeOne("security_group", g, nil, nil, 200), nil
}

func (a *API) deleteSecurityGroup(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("security_group_id")
	_, t, err := a.visibleGroup(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "delete_security_group", t); err != nil {
		return nil, err
	}
	im, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return nil, a.p.DeleteSecurityGroup(ctx, id, a.caller(ctx, r), im)
}

func (a *API) listRules(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resRule)
	if err != nil {
		return nil, err
	}
	rules, err := a.p.Store().SecurityGroupRules(ctx, a.scope(ctx, r), q.filters)
	if err != nil {
		return nil, err
	}
	owners := map[string]string{}
	if len(rules) > 0 {
		gs, err := a.p.Store().SecurityGroups(ctx, nstore.Scope{All: true}, nil)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			owners[g.ID] = g.ProjectID
		}
	}
	vis := a.z.newVisibility(ctx, r.Auth)
	items := make([]item, 0, len(rules))
	for _, rl := range rules {
		if !vis.allowed("get_security_group_rule", ruleTarget(rl.ProjectID, owners[rl.SecurityGroupID])) {
			continue
		}
		items = append(items, item{v: rv(rl), id: rl.ID})
	}
	page, links := a.page(r, q, items)
	return writeList("security_group_rules", page, q.fields, links), nil
}

func (a *API) visibleRule(ctx context.Context, r *rest.Request, id string) (*netapi.SecurityGroupRule, target, error) {
	rl, err := a.p.SecurityGroupRule(ctx, id)
	if err != nil {
		return nil, target{}, err
	}
	sgProject := ""
	if g, err := a.p.Store().SecurityGroup(ctx, rl.SecurityGroupID); err == nil {
		sgProject = g.ProjectID
	}
	t := ruleTarget(rl.ProjectID, sgProject)
	if !a.z.allowed(ctx, r.Auth, "get_security_group_rule", t) {
		return nil, t, plugin.SecurityGroupRuleNotFound(id)
	}
	return rl, t, nil
}

func (a *API) showRule(ctx context.Context, r *rest.Request) (any, error) {
	rl, _, err := a.visibleRule(ctx, r, r.Param("rule_id"))
	if err != nil {
		return nil, err
	}
	return writeOne("security_group_rule", rl, rest.ParseFields(r), nil, 200), nil
}

func ruleSpec(b *body) (plugin.RuleSpec, error) {
	var s plugin.RuleSpec
	var err error
	gid, err := b.str("security_group_id", 36)
	if err != nil {
		return s, err
	}
	if gid == nil {
		return s, plugin.BadAttr("security_group_id", "'None' is not a valid UUID")
	}
	s.SecurityGroupID = *gid
	dir, err := b.str("direction", 16)
	if err != nil {
		return s, err
	}
	if dir == nil {
		return s, plugin.BadAttr("direction", "'None' is not in ['ingress', 'egress']")
	}
	s.Direction = *dir
	if _, s.EtherType, err = b.nullStr("ethertype", 16); err != nil {
		return s, err
	}
	if s.Protocol, err = b.text("protocol"); err != nil {
		return s, err
	}
	if s.PortRangeMin, err = b.text("port_range_min"); err != nil {
		return s, err
	}
	if s.PortRangeMax, err = b.text("port_range_max"); err != nil {
		return s, err
	}
	if _, s.RemoteIPPrefix, err = b.nullStr("remote_ip_prefix", 64); err != nil {
		return s, err
	}
	if _, s.RemoteGroupID, err = b.nullStr("remote_group_id", 255); err != nil {
		return s, err
	}
	if s.Description, err = b.str("description", 255); err != nil {
		return s, err
	}
	return s, nil
}

func (a *API) createRule(ctx context.Context, r *rest.Request) (any, error) {
	bodies, bulk, err := decodeBodies(r, resRule, true, true)
	if err != nil {
		return nil, err
	}
	var specs []plugin.RuleSpec
	for _, b := range bodies {
		s, err := ruleSpec(b)
		if err != nil {
			return nil, err
		}
		if s.ProjectID, err = b.projectOf(r); err != nil {
			return nil, err
		}
		g, _, err := a.visibleGroup(ctx, r, s.SecurityGroupID)
		if err != nil {
			return nil, err
		}
		if err := a.z.checkAll(ctx, r.Auth, "create_security_group_rule", b.explicit(), ruleTarget(s.ProjectID, g.ProjectID)); err != nil {
			return nil, err
		}
		if s.RemoteGroupID != nil && *s.RemoteGroupID != "" {
			if _, _, err := a.visibleGroup(ctx, r, *s.RemoteGroupID); err != nil {
				return nil, err
			}
		}
		specs = append(specs, s)
	}
	var created []any
	var hides [][]string
	for _, s := range specs {
		rl, err := a.p.CreateSecurityGroupRule(ctx, s)
		if err != nil {
			for _, c := range created {
				a.p.DeleteSecurityGroupRule(ctx, c.(*netapi.SecurityGroupRule).ID)
			}
			return nil, err
		}
		created = append(created, rl)
		hides = append(hides, nil)
	}
	if bulk {
		return writeMany("security_group_rules", created, hides), nil
	}
	return writeOne("security_group_rule", created[0], nil, nil, 201), nil
}

func (a *API) deleteRule(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("rule_id")
	_, t, err := a.visibleRule(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "delete_security_group_rule", t); err != nil {
		return nil, err
	}
	return nil, a.p.DeleteSecurityGroupRule(ctx, id)
}

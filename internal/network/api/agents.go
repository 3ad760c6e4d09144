package api

import (
	"context"
	"encoding/json"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

var resAgent = newResource("agent", "agents", []attr{
	{name: "admin_state_up", kind: kBool, put: true},
	{name: "description", kind: kString, put: true},
}, map[string]kind{
	"id": kString, "agent_type": kString, "binary": kString, "topic": kString, "host": kString,
	"admin_state_up": kBool, "availability_zone": kString, "description": kString, "alive": kBool,
}, []string{"id", "agent_type", "binary", "topic", "host", "admin_state_up", "availability_zone", "alive"})

func (a *API) agentRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.0/agents", Handler: a.listAgents},
		{Method: "GET", Path: "/v2.0/agents/{agent_id}", Handler: a.showAgent},
		{Method: "PUT", Path: "/v2.0/agents/{agent_id}", Handler: a.updateAgent},
		{Method: "DELETE", Path: "/v2.0/agents/{agent_id}", Status: 204, Handler: a.deleteAgent},
		{Method: "GET", Path: "/v2.0/agents/{agent_id}/dhcp-networks", Handler: a.agentNetworks},
		{Method: "POST", Path: "/v2.0/agents/{agent_id}/dhcp-networks", Handler: a.addAgentNetwork},
		{Method: "DELETE", Path: "/v2.0/agents/{agent_id}/dhcp-networks/{network_id}", Status: 204, Handler: a.removeAgentNetwork},
		{Method: "GET", Path: "/v2.0/networks/{network_id}/dhcp-agents", Handler: a.networkAgents},
		{Method: "GET", Path: "/v2.0/agents/{agent_id}/l3-routers", Handler: a.agentRouters},
		{Method: "POST", Path: "/v2.0/agents/{agent_id}/l3-routers", Handler: a.addAgentRouter},
		{Method: "DELETE", Path: "/v2.0/agents/{agent_id}/l3-routers/{router_id}", Status: 204, Handler: a.removeAgentRouter},
		{Method: "GET", Path: "/v2.0/routers/{router_id}/l3-agents", Handler: a.routerAgents},
	}
}

var noTarget = target{attrs: map[string]any{}}

func (a *API) agentItems(ctx context.Context, r *rest.Request, agents []*nstore.Agent, q *query) []item {
	vis := a.z.newVisibility(ctx, r.Auth)
	var items []item
	for _, ag := range agents {
		if !vis.allowed("get_agent", noTarget) {
			continue
		}
		if q != nil && !matches(q.filters, map[string]any{"alive": ag.Alive}) {
			continue
		}
		items = append(items, item{v: rv(&ag.Agent), id: ag.ID})
	}
	return items
}

func (a *API) listAgents(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resAgent)
	if err != nil {
		return nil, err
	}
	var storeFilters []nstore.Filter
	for _, f := range q.filters {
		if f.Field != "alive" {
			storeFilters = append(storeFilters, f)
		}
	}
	agents, err := a.p.Agents(ctx, storeFilters)
	if err != nil {
		return nil, err
	}
	page, links := a.page(r, q, a.agentItems(ctx, r, agents, q))
	return writeList("agents", page, q.fields, links), nil
}

func (a *API) visibleAgent(ctx context.Context, r *rest.Request, rule string) (*nstore.Agent, error) {
	id := r.Param("agent_id")
	if err := a.z.check(ctx, r.Auth, rule, noTarget); err != nil {
		if !a.z.allowed(ctx, r.Auth, "get_agent", noTarget) {
			return nil, plugin.AgentNotFound(id)
		}
		return nil, err
	}
	return a.p.Agent(ctx, id)
}

func (a *API) showAgent(ctx context.Context, r *rest.Request) (any, error) {
	ag, err := a.visibleAgent(ctx, r, "get_agent")
	if err != nil {
		return nil, err
	}
	return writeOne("agent", &ag.Agent, rest.ParseFields(r), nil, 200), nil
}

func (a *API) updateAgent(ctx context.Context, r *rest.Request) (any, error) {
	bodies, _, err := decodeBodies(r, resAgent, false, false)
	if err != nil {
		return nil, err
	}
	if _, err := a.visibleAgent(ctx, r, "update_agent"); err != nil {
		return nil, err
	}
	b := bodies[0]
	up, err := b.boolean("admin_state_up")
	if err != nil {
		return nil, err
	}
	set, desc, err := b.nullStr("description", 255)
	if err != nil {
		return nil, err
	}
	ag, err := a.p.UpdateAgent(ctx, r.Param("agent_id"), up, desc, set)
	if err != nil {
		return nil, err
	}
	return writeOne("agent", &ag.Agent, nil, nil, 200), nil
}

func (a *API) deleteAgent(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.visibleAgent(ctx, r, "delete_agent"); err != nil {
		return nil, err
	}
	return nil, a.p.DeleteAgent(ctx, r.Param("agent_id"))
}

func (a *API) agentNetworks(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.visibleAgent(ctx, r, "get_dhcp-networks"); err != nil {
		return nil, err
	}
	nets, err := a.p.NetworksOfDHCPAgent(ctx, r.Param("agent_id"))
	if err != nil {
		return nil, err
	}
	items := make([]item, 0, len(nets))
	for _, n := range nets {
		items = append(items, item{v: rv(n), id: n.ID})
	}
	return writeList("networks", items, rest.ParseFields(r), nil), nil
}

func idFromBody(r *rest.Request, key string) (string, error) {
	buf, err := r.RawJSON()
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(buf, &m); err != nil {
		return "", plugin.BadAttr(key, "Malformed request body")
	}
	s, _ := m[key].(string)
	if s == "" {
		return "", plugin.BadAttr(key, "'%v' is not a valid UUID", m[key])
	}
	return s, nil
}

func (a *API) addAgentNetwork(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.visibleAgent(ctx, r, "create_dhcp-network"); err != nil {
		return nil, err
	}
	id, err := idFromBody(r, "network_id")
	if err != nil {
		return nil, err
	}
	if err := a.p.AddNetworkToDHCPAgent(ctx, r.Param("agent_id"), id); err != nil {
		return nil, err
	}
	return &rest.Response{Status: 201}, nil
}

func (a *API) removeAgentNetwork(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.visibleAgent(ctx, r, "delete_dhcp-network"); err != nil {
		return nil, err
	}
	return nil, a.p.RemoveNetworkFromDHCPAgent(ctx, r.Param("agent_id"), r.Param("network_id"))
}

func (a *API) networkAgents(ctx context.Context, r *rest.Request) (any, error) {
	if err := a.z.check(ctx, r.Auth, "get_dhcp-agents", noTarget); err != nil {
		return nil, err
	}
	agents, err := a.p.DHCPAgentsOfNetwork(ctx, r.Param("network_id"))
	if err != nil {
		return nil, err
	}
	return writeList("agents", a.agentItems(ctx, r, agents, nil), rest.ParseFields(r), nil), nil
}

func (a *API) agentRouters(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.visibleAgent(ctx, r, "get_l3-routers"); err != nil {
		return nil, err
	}
	rs, err := a.p.RoutersOfL3Agent(ctx, r.Param("agent_id"))
	if err != nil {
		return nil, err
	}
	items := make([]item, 0, len(rs))
	for _, rt := range rs {
		items = append(items, item{v: rv(&rt.Router), id: rt.ID})
	}
	return writeList("routers", items, rest.ParseFields(r), nil), nil
}

func (a *API) addAgentRouter(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.visibleAgent(ctx, r, "create_l3-router"); err != nil {
		return nil, err
	}
	id, err := idFromBody(r, "router_id")
	if err != nil {
		return nil, err
	}
	if err := a.p.AddRouterToL3Agent(ctx, r.Param("agent_id"), id); err != nil {
		return nil, err
	}
	return &rest.Response{Status: 201}, nil
}

func (a *API) removeAgentRouter(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.visibleAgent(ctx, r, "delete_l3-router"); err != nil {
		return nil, err
	}
	return nil, a.p.RemoveRouterFromL3Agent(ctx, r.Param("agent_id"), r.Param("router_id"))
}

func (a *API) routerAgents(ctx context.Context, r *rest.Request) (any, error) {
	if err := a.z.check(ctx, r.Auth, "get_l3-agents", noTarget); err != nil {
		return nil, err
	}
	agents, err := a.p.L3AgentsOfRouter(ctx, r.Param("router_id"))
	if err != nil {
		return nil, err
	}
	return writeList("agents", a.agentItems(ctx, r, agents, nil), rest.ParseFields(r), nil), nil
}

var _ = netapi.AgentTypeDHCP

package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// The security group and floating IP proxies Nova deprecated in 2.36 pass
// through to Neutron with the caller's token, translated to and from the
// nova-network shapes, as nova/network/security_group_api.py does.

func (a *API) netProxyRoutes() []rest.Route {
	v235 := rest.V(2, 35)
	sg := "os_compute_api:os-security-groups:"
	fip := "os_compute_api:os-floating-ips:"
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/os-security-groups", Handler: a.listSecurityGroups, Max: v235, Policy: sg + "get"},
		{Method: "POST", Path: "/v2.1/os-security-groups", Handler: a.createSecurityGroup, Max: v235, Policy: sg + "create"},
		{Method: "GET", Path: "/v2.1/os-security-groups/{id}", Handler: a.showSecurityGroup, Max: v235, Policy: sg + "show"},
		{Method: "PUT", Path: "/v2.1/os-security-groups/{id}", Handler: a.updateSecurityGroup, Max: v235, Policy: sg + "update"},
		{Method: "DELETE", Path: "/v2.1/os-security-groups/{id}", Handler: a.deleteSecurityGroup, Max: v235, Policy: sg + "delete", Status: http.StatusAccepted},
		{Method: "POST", Path: "/v2.1/os-security-group-rules", Handler: a.createSecurityGroupRule, Max: v235, Policy: sg + "rule:create"},
		{Method: "DELETE", Path: "/v2.1/os-security-group-rules/{id}", Handler: a.deleteSecurityGroupRule, Max: v235, Policy: sg + "rule:delete", Status: http.StatusAccepted},
		{Method: "GET", Path: "/v2.1/os-floating-ips", Handler: a.listFloatingIPs, Max: v235, Policy: fip + "list"},
		{Method: "POST", Path: "/v2.1/os-floating-ips", Handler: a.createFloatingIP, Max: v235, Policy: fip + "create"},
		{Method: "GET", Path: "/v2.1/os-floating-ips/{id}", Handler: a.showFloatingIP, Max: v235, Policy: fip + "show"},
		{Method: "DELETE", Path: "/v2.1/os-floating-ips/{id}", Handler: a.deleteFloatingIP, Max: v235, Policy: fip + "delete", Status: http.StatusAccepted},
		{Method: "GET", Path: "/v2.1/os-floating-ip-pools", Handler: a.listFloatingIPPools, Max: v235, Policy: "os_compute_api:os-floating-ip-pools"},
	}
}

// validateSGID is Nova's validate_id: group ids are UUIDs.
func validateSGID(id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return fault.BadRequest("Security group id should be uuid")
	}
	return nil
}

// sgGroups caches the groups a view names (remote groups of rules).
type sgGroups map[string]*clients.SecurityGroup

func (a *API) sgLookup(ctx context.Context, cache sgGroups, id string) *clients.SecurityGroup {
	if g, ok := cache[id]; ok {
		return g
	}
	g, err := a.d.Network.SecurityGroup(ctx, id)
	if err != nil {
		g = nil
	}
	cache[id] = g
	return g
}

// sgRuleView is Nova's _format_security_group_rule of a Neutron rule.
func (a *API) sgRuleView(ctx context.Context, cache sgGroups, r clients.SecurityGroupRule) map[string]any {
	v := map[string]any{"id": r.ID, "parent_group_id": r.SecurityGroupID, "ip_protocol": nil, "from_port": nil, "to_port": nil,
		"group": map[string]any{}, "ip_range": map[string]any{}}
	if r.Protocol != "" {
		v["ip_protocol"] = r.Protocol
	}
	switch {
	case r.Protocol != "" && r.PortRangeMin == nil && r.PortRangeMax == nil:
		if p := strings.ToUpper(r.Protocol); p == "TCP" || p == "UDP" {
			v["from_port"], v["to_port"] = 1, 65535
		} else {
			v["from_port"], v["to_port"] = -1, -1
		}
	default:
		if r.PortRangeMin != nil {
			v["from_port"] = *r.PortRangeMin
		}
		if r.PortRangeMax != nil {
			v["to_port"] = *r.PortRangeMax
		}
	}
	if r.RemoteGroupID != "" {
		g := a.sgLookup(ctx, cache, r.RemoteGroupID)
		if g == nil {
			return nil
		}
		v["group"] = map[string]any{"name": g.Name, "tenant_id": g.ProjectID}
	} else {
		cidr := r.RemoteIPPrefix
		if cidr == "" {
			cidr = "0.0.0.0/0"
		}
		v["ip_range"] = map[string]any{"cidr": cidr}
	}
	return v
}

// sgView is Nova's view of a group: its ingress rules only.
func (a *API) sgView(ctx context.Context, cache sgGroups, g *clients.SecurityGroup) map[string]any {
	cache[g.ID] = g
	rules := []any{}
	for _, r := range g.Rules {
		if r.Direction != "" && r.Direction != "ingress" {
			continue
		}
		if v := a.sgRuleView(ctx, cache, r); v != nil {
			rules = append(rules, v)
		}
	}
	return map[string]any{"id": g.ID, "name": g.Name, "description": g.Description, "tenant_id": g.ProjectID, "rules": rules}
}

func (a *API) listSecurityGroups(ctx context.Context, r *rest.Request) (any, error) {
	project, _ := caller(r)
	q := r.HTTP.URL.Query()
	if v := q.Get("all_tenants"); isAdmin(r) && q.Has("all_tenants") && !strings.EqualFold(v, "false") && v != "0" {
		project = ""
	} else if p := q.Get("project_id"); p != "" && isAdmin(r) {
		project = p
	}
	groups, err := a.d.Network.ListSecurityGroups(ctx, project)
	if err != nil {
		return nil, err
	}
	offset, limit := 0, len(groups)
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return nil, fault.BadRequest("offset param must be an integer")
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			return nil, fault.BadRequest("limit param must be an integer")
		}
	}
	if offset > len(groups) {
		offset = len(groups)
	}
	groups = groups[offset:]
	if limit < len(groups) {
		groups = groups[:limit]
	}
	cache := sgGroups{}
	list := []any{}
	for i := range groups {
		list = append(list, a.sgView(ctx, cache, &groups[i]))
	}
	return map[string]any{"security_groups": list}, nil
}

// sgBody reads {"<key>": {...}} as Nova's _from_body does.
func sgBody(r *rest.Request, key string) (map[string]any, error) {
	var body map[string]any
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	v, ok := body[key].(map[string]any)
	if !ok {
		return nil, fault.BadRequest("Missing parameter %s", key)
	}
	return v, nil
}

// sgProperty is Nova's validate_property: a string of 1 to 255 characters
// once trimmed.
func sgProperty(v any, name string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fault.BadRequest("Security group %s is not a string or unicode", name)
	}
	// The length is checked on the trimmed value; Neutron gets the value as given.
	// A name needs a character; a description may be empty (Nova: 0-255).
	min := 1
	if name == "description" {
		min = 0
	}
	if n := len([]rune(strings.TrimSpace(s))); n < min || n > 255 {
		if n < min {
			return "", fault.BadRequest("%s has a minimum character requirement of 1.", name)
		}
		return "", fault.BadRequest("%s has more than 255 characters.", name)
	}
	return s, nil
}

func (a *API) createSecurityGroup(ctx context.Context, r *rest.Request) (any, error) {
	body, err := sgBody(r, "security_group")
	if err != nil {
		return nil, err
	}
	name, err := sgProperty(body["name"], "name")
	if err != nil {
		return nil, err
	}
	desc, err := sgProperty(body["description"], "description")
	if err != nil {
		return nil, err
	}
	g, err := a.d.Network.CreateSecurityGroup(ctx, name, desc)
	if err != nil {
		if fault.IsConflict(err) {
			return nil, fault.Forbidden("Quota exceeded, too many security groups.").WithType("SecurityGroupLimitExceeded")
		}
		return nil, err
	}
	return map[string]any{"security_group": a.sgView(ctx, sgGroups{}, g)}, nil
}

func (a *API) showSecurityGroup(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("id")
	if err := validateSGID(id); err != nil {
		return nil, err
	}
	g, err := a.d.Network.SecurityGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"security_group": a.sgView(ctx, sgGroups{}, g)}, nil
}

func (a *API) updateSecurityGroup(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("id")
	if err := validateSGID(id); err != nil {
		return nil, err
	}
	if _, err := a.d.Network.SecurityGroup(ctx, id); err != nil {
		return nil, err
	}
	body, err := sgBody(r, "security_group")
	if err != nil {
		return nil, err
	}
	name, err := sgProperty(body["name"], "name")
	if err != nil {
		return nil, err
	}
	desc, err := sgProperty(body["description"], "description")
	if err != nil {
		return nil, err
	}
	g, err := a.d.Network.UpdateSecurityGroup(ctx, id, name, desc)
	if err != nil {
		return nil, err
	}
	return map[string]any{"security_group": a.sgView(ctx, sgGroups{}, g)}, nil
}

func (a *API) deleteSecurityGroup(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("id")
	if err := validateSGID(id); err != nil {
		return nil, err
	}
	if _, err := a.d.Network.SecurityGroup(ctx, id); err != nil {
		return nil, err
	}
	if err := a.d.Network.DeleteSecurityGroup(ctx, id); err != nil {
		if fault.IsConflict(err) {
			return nil, fault.BadRequest("%s", fault.As(err).Message)
		}
		return nil, err
	}
	return nil, nil
}

// portParam reads a port or ICMP type/code given as a number or a string.
func portParam(v any) (*int, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case float64:
		if x != float64(int(x)) {
			return nil, false
		}
		n := int(x)
		return &n, true
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return nil, false
		}
		return &n, true
	}
	return nil, false
}

// ingressRule is Nova's _new_ingress_rule: nil when a CIDR rule lacks its
// protocol and ports.
func ingressRule(proto any, fromV, toV any, groupID, cidr string) (*clients.SecurityGroupRule, error) {
	rule := &clients.SecurityGroupRule{Direction: "ingress"}
	p, _ := proto.(string)
	if proto != nil {
		if _, ok := proto.(string); !ok {
			return nil, fault.BadRequest("Invalid IP protocol %v.", proto)
		}
	}
	from, okFrom := portParam(fromV)
	to, okTo := portParam(toV)
	up := strings.ToUpper(p)
	if groupID != "" {
		rule.RemoteGroupID = groupID
		if fromV == nil && toV == nil {
			switch up {
			case "ICMP":
				m := -1
				from, to = &m, &m
			case "TCP", "UDP":
				lo, hi := 1, 65535
				from, to = &lo, &hi
			}
		}
	} else if cidr != "" {
		rule.RemoteIPPrefix = cidr
	}
	if p != "" && fromV != nil && toV != nil || p != "" && from != nil && to != nil {
		if !okFrom || !okTo || from == nil || to == nil {
			if up == "ICMP" {
				return nil, fault.BadRequest("Invalid input received: Type and Code must be integers for ICMP protocol type")
			}
			return nil, fault.BadRequest("Invalid input received: To and From ports must be integers")
		}
		if up != "TCP" && up != "UDP" && up != "ICMP" {
			return nil, fault.BadRequest("Invalid IP protocol %s.", p)
		}
		if (up == "TCP" || up == "UDP") && *from > *to {
			return nil, fault.BadRequest("Invalid port range %d:%d. Former value cannot be greater than the later", *from, *to)
		}
		if (up == "TCP" || up == "UDP") && (*from < 1 || *to > 65535) {
			return nil, fault.BadRequest("Invalid port range %d:%d. Valid %s ports should be between 1-65535", *from, *to, up)
		}
		if up == "ICMP" && (*from < -1 || *from > 255 || *to < -1 || *to > 255) {
			return nil, fault.BadRequest("Invalid port range %d:%d. For ICMP, the type:code must be valid", *from, *to)
		}
		rule.Protocol = strings.ToLower(p)
		if *from != -1 {
			rule.PortRangeMin = from
		}
		if *to != -1 {
			rule.PortRangeMax = to
		}
	} else if cidr != "" {
		return nil, nil
	}
	rule.EtherType = "IPv4"
	if strings.Contains(cidr, ":") {
		rule.EtherType = "IPv6"
	}
	return rule, nil
}

func (a *API) createSecurityGroupRule(ctx context.Context, r *rest.Request) (any, error) {
	body, err := sgBody(r, "security_group_rule")
	if err != nil {
		return nil, err
	}
	parent := fmt.Sprint(body["parent_group_id"])
	if body["parent_group_id"] == nil {
		parent = ""
	}
	if err := validateSGID(parent); err != nil {
		return nil, err
	}
	sg, err := a.d.Network.SecurityGroup(ctx, parent)
	if err != nil {
		return nil, err
	}
	groupID, _ := body["group_id"].(string)
	cidr := ""
	var groupData map[string]any
	if body["group_id"] != nil {
		if groupID == "" {
			groupID = fmt.Sprint(body["group_id"])
		}
		if err := validateSGID(groupID); err != nil {
			return nil, err
		}
		src, err := a.d.Network.SecurityGroup(ctx, groupID)
		if err != nil {
			return nil, err
		}
		groupData = map[string]any{"name": src.Name, "tenant_id": src.ProjectID}
	} else {
		cidr = "0.0.0.0/0"
		if c, ok := body["cidr"].(string); ok && c != "" {
			pfx, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fault.BadRequest("Invalid cidr %s.", c)
			}
			if pfx.Bits() == 0 && !pfx.Addr().IsUnspecified() {
				return nil, fault.BadRequest("Bad prefix for network in cidr %s", c)
			}
			cidr = c
		} else if body["cidr"] != nil && body["cidr"] != "" {
			return nil, fault.BadRequest("Invalid cidr %v.", body["cidr"])
		}
	}
	rule, err := ingressRule(body["ip_protocol"], body["from_port"], body["to_port"], groupID, cidr)
	if err != nil {
		return nil, err
	}
	if rule == nil {
		return nil, fault.BadRequest("Not enough parameters to build a valid rule.")
	}
	rule.SecurityGroupID = sg.ID
	created, err := a.d.Network.CreateSecurityGroupRule(ctx, *rule)
	if err != nil {
		if fault.IsConflict(err) {
			if strings.Contains(fault.As(err).Message, "uota") {
				return nil, fault.Forbidden("Quota exceeded, too many security group rules.").WithType("SecurityGroupLimitExceeded")
			}
			return nil, fault.BadRequest("This rule already exists in group %s", sg.ID)
		}
		return nil, err
	}
	v := a.sgRuleView(ctx, sgGroups{sg.ID: sg}, *created)
	if groupData != nil {
		v["group"] = groupData
	}
	return map[string]any{"security_group_rule": v}, nil
}

func (a *API) deleteSecurityGroupRule(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("id")
	if err := validateSGID(id); err != nil {
		return nil, err
	}
	if _, err := a.d.Network.SecurityGroupRule(ctx, id); err != nil {
		return nil, err
	}
	return nil, a.d.Network.DeleteSecurityGroupRule(ctx, id)
}

// fipView is Nova's _translate_floating_ip_view.
func (a *API) fipView(ctx context.Context, pools map[string]string, f clients.FloatingIP) map[string]any {
	pool, ok := pools[f.FloatingNetworkID]
	if !ok {
		pool = f.FloatingNetworkID
		if n, err := a.d.Network.Network(ctx, f.FloatingNetworkID); err == nil && n.Name != "" {
			pool = n.Name
		}
		pools[f.FloatingNetworkID] = pool
	}
	v := map[string]any{"id": f.ID, "ip": f.FloatingIPAddress, "pool": pool, "fixed_ip": nil, "instance_id": nil}
	if f.FixedIPAddress != "" {
		v["fixed_ip"] = f.FixedIPAddress
	}
	if f.PortID != "" && f.PortDeviceID != "" {
		v["instance_id"] = f.PortDeviceID
	}
	return v
}

func (a *API) listFloatingIPs(ctx context.Context, r *rest.Request) (any, error) {
	project, _ := caller(r)
	fips, err := a.d.Network.ListFloatingIPs(ctx, project, "")
	if err != nil {
		return nil, err
	}
	pools := map[string]string{}
	list := []any{}
	for _, f := range fips {
		list = append(list, a.fipView(ctx, pools, f))
	}
	return map[string]any{"floating_ips": list}, nil
}

func (a *API) showFloatingIP(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return nil, fault.BadRequest("Invalid ID received %s.", id).WithType("InvalidID")
	}
	f, err := a.d.Network.FloatingIP(ctx, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"floating_ip": a.fipView(ctx, map[string]string{}, *f)}, nil
}

// floatingPool finds the external network a pool names (by name, then id).
func (a *API) floatingPool(ctx context.Context, pool string) (*clients.Net, error) {
	nets, err := a.d.Network.ExternalNetworks(ctx)
	if err != nil {
		return nil, err
	}
	for _, byID := range []bool{false, true} {
		for i, n := range nets {
			if !byID && n.Name == pool || byID && n.ID == pool {
				return &nets[i], nil
			}
		}
	}
	return nil, fault.NotFound("Floating IP pool not found.").WithType("FloatingIpPoolNotFound")
}

func (a *API) createFloatingIP(ctx context.Context, r *rest.Request) (any, error) {
	var body struct {
		Pool *string `json:"pool"`
	}
	if r.HTTP.ContentLength != 0 {
		raw, err := r.RawJSON()
		if err != nil && !strings.Contains(err.Error(), "empty") {
			return nil, err
		}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &body); err != nil {
				return nil, fault.BadRequest("Malformed request body")
			}
		}
	}
	pool := a.cfg.Neutron.DefaultFloatingPool
	named := body.Pool != nil && *body.Pool != ""
	if named {
		pool = *body.Pool
	}
	n, err := a.floatingPool(ctx, pool)
	if err != nil {
		return nil, err
	}
	f, err := a.d.Network.CreateFloatingIP(ctx, n.ID)
	if err != nil {
		switch fault.As(err).Status {
		case http.StatusConflict:
			msg := fault.As(err).Message
			if strings.Contains(msg, "uota") {
				if named {
					return nil, fault.Forbidden("IP allocation over quota in pool %s.", pool)
				}
				return nil, fault.Forbidden("IP allocation over quota.")
			}
			if named {
				return nil, fault.NotFound("No more floating IPs in pool %s.", pool)
			}
			return nil, fault.NotFound("No more floating IPs available.")
		case http.StatusNotFound:
			return nil, fault.NotFound("Floating IP pool not found.").WithType("FloatingIpPoolNotFound")
		}
		return nil, err
	}
	return map[string]any{"floating_ip": a.fipView(ctx, map[string]string{n.ID: n.Name}, *f)}, nil
}

func (a *API) deleteFloatingIP(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("id")
	notFound := fault.NotFound("Floating IP not found for ID %s", id).WithType("FloatingIpNotFound")
	if _, err := uuid.Parse(id); err != nil {
		return nil, notFound
	}
	f, err := a.d.Network.FloatingIP(ctx, id)
	if err != nil {
		if fault.IsNotFound(err) {
			return nil, notFound
		}
		return nil, err
	}
	if err := a.d.Network.DeleteFloatingIP(ctx, id); err != nil {
		return nil, err
	}
	if f.PortDeviceID != "" {
		a.refreshNetworkInfo(ctx, f.PortDeviceID)
	}
	return nil, nil
}

func (a *API) listFloatingIPPools(ctx context.Context, r *rest.Request) (any, error) {
	nets, err := a.d.Network.ExternalNetworks(ctx)
	if err != nil {
		return nil, err
	}
	list := []any{}
	for _, n := range nets {
		list = append(list, map[string]any{"name": n.Name})
	}
	return map[string]any{"floating_ip_pools": list}, nil
}

// refreshNetworkInfo asks the instance's host to rebuild its network info
// cache from Neutron (a floating IP or security group changed).
func (a *API) refreshNetworkInfo(ctx context.Context, instanceUUID string) {
	inst, err := a.d.Store.Instance(ctx, instanceUUID, store.GetOptions{})
	if err != nil || inst.Host == "" {
		return
	}
	_ = a.d.Bus.Send(ctx, rpc.ComputeSubject(inst.Host), rpc.ExternalEvent, rpc.Event{InstanceUUID: inst.UUID, Name: "network-changed", Status: "completed"})
}

// actAddFloatingIP associates a floating IP with one of the server's fixed
// addresses (removed in 2.44).
func (a *API) actAddFloatingIP(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-floating-ips:add", inst); err != nil {
		return nil, err
	}
	var args map[string]any
	if err := json.Unmarshal(raw, &args); err != nil || args == nil {
		return nil, schemaError("addFloatingIp", "None is not of type 'object'")
	}
	address, err := ipArg(args, "address", true)
	if err != nil {
		return nil, err
	}
	fixed, err := ipArg(args, "fixed_address", false)
	if err != nil {
		return nil, err
	}
	for k := range args {
		if k != "address" && k != "fixed_address" {
			return nil, fault.BadRequest("Invalid input for field/attribute addFloatingIp. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if len(inst.NetworkInfo) == 0 {
		return nil, fault.BadRequest("Instance network is not ready yet")
	}
	type fixedIP struct{ port, addr string }
	var fixedIPs []fixedIP
	for _, v := range inst.NetworkInfo {
		for _, ip := range v.IPs {
			if ip.Type == "fixed" || ip.Type == "" {
				fixedIPs = append(fixedIPs, fixedIP{v.ID, ip.Address})
			}
		}
	}
	if len(fixedIPs) == 0 {
		return nil, fault.BadRequest("No fixed IPs associated to instance")
	}
	var target *fixedIP
	if fixed != "" {
		for i := range fixedIPs {
			if fixedIPs[i].addr == fixed {
				target = &fixedIPs[i]
			}
		}
		if target == nil {
			return nil, fault.BadRequest("Specified fixed address not assigned to instance")
		}
	} else {
		for i := range fixedIPs {
			if !strings.Contains(fixedIPs[i].addr, ":") {
				target = &fixedIPs[i]
				break
			}
		}
		if target == nil {
			return nil, fault.BadRequest("Unable to associate floating IP %s to any fixed IPs for instance %s. Instance has no fixed IPv4 addresses to associate.", address, inst.UUID)
		}
	}
	fips, err := a.d.Network.ListFloatingIPs(ctx, "", address)
	if err != nil {
		return nil, err
	}
	if len(fips) == 0 {
		return nil, fault.NotFound("floating IP not found").WithType("FloatingIpNotFoundForAddress")
	}
	prev := fips[0].PortDeviceID
	if _, err := a.d.Network.AssociateFloatingIP(ctx, fips[0].ID, target.port, target.addr); err != nil {
		switch fault.As(err).Status {
		case http.StatusForbidden:
			return nil, err
		case http.StatusNotFound:
			return nil, fault.NotFound("floating IP not found")
		}
		return nil, fault.BadRequest("Unable to associate floating IP %s to fixed IP %s for instance %s. Error: %s", address, target.addr, inst.UUID, fault.As(err).Message)
	}
	a.refreshNetworkInfo(ctx, inst.UUID)
	if prev != "" && prev != inst.UUID {
		a.refreshNetworkInfo(ctx, prev)
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

// actRemoveFloatingIP disassociates a floating IP from the server (removed
// in 2.44).
func (a *API) actRemoveFloatingIP(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-floating-ips:remove", inst); err != nil {
		return nil, err
	}
	var args map[string]any
	if err := json.Unmarshal(raw, &args); err != nil || args == nil {
		return nil, schemaError("removeFloatingIp", "None is not of type 'object'")
	}
	address, err := ipArg(args, "address", true)
	if err != nil {
		return nil, err
	}
	for k := range args {
		if k != "address" {
			return nil, fault.BadRequest("Invalid input for field/attribute removeFloatingIp. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	fips, err := a.d.Network.ListFloatingIPs(ctx, "", address)
	if err != nil {
		return nil, err
	}
	if len(fips) == 0 {
		return nil, fault.NotFound("floating IP not found").WithType("FloatingIpNotFoundForAddress")
	}
	f := fips[0]
	if f.PortID == "" || f.PortDeviceID != inst.UUID {
		return nil, fault.Conflict("Floating IP %s is not associated with instance %s.", address, inst.UUID)
	}
	if _, err := a.d.Network.AssociateFloatingIP(ctx, f.ID, "", ""); err != nil {
		return nil, err
	}
	a.refreshNetworkInfo(ctx, inst.UUID)
	return &rest.Response{Status: http.StatusAccepted}, nil
}

// ipArg reads an IP address argument.
func ipArg(args map[string]any, name string, required bool) (string, error) {
	v, ok := args[name]
	if !ok {
		if required {
			return "", fault.BadRequest("Invalid input for field/attribute %s. '%s' is a required property", name, name)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fault.BadRequest("Invalid input for field/attribute %s. Value: %v. %v is not of type 'string'", name, v, v)
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return "", fault.BadRequest("Invalid input for field/attribute %s. Value: %s. '%s' is not a 'ip-address'", name, s, s)
	}
	return s, nil
}

// instancePorts are the ports of an instance the caller sees.
func (a *API) instancePorts(ctx context.Context, inst *objects.Instance) ([]clients.Port, error) {
	return a.d.Network.Ports(ctx, inst.UUID)
}

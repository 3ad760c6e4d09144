package api

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

var resPort = newResource("port", "ports", []attr{
	{name: "name", kind: kString, post: true, put: true},
	{name: "description", kind: kString, post: true, put: true},
	{name: "network_id", kind: kString, post: true},
	{name: "admin_state_up", kind: kBool, post: true, put: true, def: true},
	{name: "mac_address", kind: kString, post: true, put: true},
	{name: "fixed_ips", kind: kList, post: true, put: true},
	{name: "device_id", kind: kString, post: true, put: true, def: ""},
	{name: "device_owner", kind: kString, post: true, put: true, def: ""},
	{name: "security_groups", kind: kList, post: true, put: true},
	{name: "port_security_enabled", kind: kBool, post: true, put: true},
	{name: "allowed_address_pairs", kind: kList, post: true, put: true},
	{name: "extra_dhcp_opts", kind: kList, post: true, put: true},
	{name: "binding:host_id", kind: kString, post: true, put: true, def: ""},
	{name: "binding:vnic_type", kind: kString, post: true, put: true, def: "normal"},
	{name: "binding:profile", kind: kDict, post: true, put: true},
	{name: "project_id", kind: kString, post: true},
	{name: "tenant_id", kind: kString, post: true},
}, map[string]kind{
	"id": kString, "name": kString, "description": kString, "project_id": kString, "tenant_id": kString,
	"network_id": kString, "mac_address": kString, "admin_state_up": kBool, "status": kString, "device_id": kString,
	"device_owner": kString, "port_security_enabled": kBool, "binding:host_id": kString, "binding:vnic_type": kString,
	"binding:vif_type": kString, "revision_number": kInt, "security_groups": kString,
}, []string{"id", "name", "description", "network_id", "mac_address", "admin_state_up", "status", "device_id",
	"device_owner", "project_id", "tenant_id", "created_at", "updated_at", "revision_number"})

func (a *API) portRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.0/ports", Handler: a.listPorts},
		{Method: "POST", Path: "/v2.0/ports", Status: 201, Handler: a.createPort},
		{Method: "GET", Path: "/v2.0/ports/{port_id}", Handler: a.showPort},
		{Method: "PUT", Path: "/v2.0/ports/{port_id}", Handler: a.updatePort},
		{Method: "DELETE", Path: "/v2.0/ports/{port_id}", Status: 204, Handler: a.deletePort},
	}
}

func portTarget(project, networkID, owner string, net *netapi.Network) target {
	t := childTarget(project, networkID, net)
	t.attrs["device_owner"] = owner
	if strings.HasPrefix(owner, netapi.DeviceOwnerNetworkPrefix) {
		t.facts = append(t.facts, "port:device_owner=~^network:")
	}
	return t
}

func (a *API) listPorts(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.parseQuery(r, resPort)
	if err != nil {
		return nil, err
	}
	ports, err := a.p.Store().Ports(ctx, a.scope(ctx, r), q.filters)
	if err != nil {
		return nil, err
	}
	netIDs := map[string]bool{}
	for _, p := range ports {
		netIDs[p.NetworkID] = true
	}
	nets := a.networksByID(ctx, netIDs)
	vis := a.z.newVisibility(ctx, r.Auth)
	items := make([]item, 0, len(ports))
	for _, p := range ports {
		net := nets[p.NetworkID]
		k := fastKey{rule: "get_port", project: p.ProjectID}
		if net != nil {
			k.netProject = net.ProjectID
			if net.Shared {
				k.flags |= 1
			}
			if net.External {
				k.flags |= 2
			}
		}
		if strings.HasPrefix(p.DeviceOwner, netapi.DeviceOwnerNetworkPrefix) {
			k.flags |= 4
		}
		mk := func() target { return portTarget(p.ProjectID, p.NetworkID, p.DeviceOwner, net) }
		if !vis.allowedFast(k, mk) {
			continue
		}
		items = append(items, item{v: rv(p), id: p.ID, hide: vis.hiddenFast(k, "port", resPort.getRules, mk)})
	}
	page, links := a.page(r, q, items)
	return writeList("ports", page, q.fields, links), nil
}

func (a *API) visiblePort(ctx context.Context, r *rest.Request, id string) (*netapi.Port, *netapi.Network, target, error) {
	p, err := a.p.Port(ctx, id)
	if err != nil {
		return nil, nil, target{}, err
	}
	net, _ := a.p.Store().Network(ctx, p.NetworkID)
	t := portTarget(p.ProjectID, p.NetworkID, p.DeviceOwner, net)
	if !a.z.allowed(ctx, r.Auth, "get_port", t) {
		return nil, nil, t, plugin.PortNotFound(id)
	}
	return p, net, t, nil
}

func (a *API) showPort(ctx context.Context, r *rest.Request) (any, error) {
	p, _, t, err := a.visiblePort(ctx, r, r.Param("port_id"))
	if err != nil {
		return nil, err
	}
	return writeOne("port", p, rest.ParseFields(r), a.z.newVisibility(ctx, r.Auth).hidden("port", resPort.getRules, t), 200), nil
}

// portSpec decodes a port body; subAttrs are the sub-attribute rules that
// apply (fixed_ips:ip_address, ...).
func portSpec(b *body) (plugin.PortSpec, []string, error) {
	var s plugin.PortSpec
	var sub []string
	var err error
	if s.Name, err = b.str("name", 255); err != nil {
		return s, nil, err
	}
	if s.Description, err = b.str("description", 255); err != nil {
		return s, nil, err
	}
	if s.NetworkID, err = b.uuidStr("network_id"); err != nil {
		return s, nil, err
	}
	if s.AdminStateUp, err = b.boolean("admin_state_up"); err != nil {
		return s, nil, err
	}
	if s.MACAddress, err = b.str("mac_address", 32); err != nil {
		return s, nil, err
	}
	if s.DeviceID, err = b.str("device_id", 255); err != nil {
		return s, nil, err
	}
	if s.DeviceOwner, err = b.str("device_owner", 255); err != nil {
		return s, nil, err
	}
	if s.PortSecurityEnabled, err = b.boolean("port_security_enabled"); err != nil {
		return s, nil, err
	}
	if s.FixedIPs, err = portFixedIPs(b, &sub); err != nil {
		return s, nil, err
	}
	if b.has("security_groups") {
		if s.SecurityGroups, err = b.strList("security_groups"); err != nil {
			return s, nil, err
		}
	}
	if s.AllowedAddressPairs, err = portAddressPairs(b, &sub); err != nil {
		return s, nil, err
	}
	if s.ExtraDHCPOpts, err = portDHCPOpts(b); err != nil {
		return s, nil, err
	}
	if s.HostID, err = b.str("binding:host_id", 255); err != nil {
		return s, nil, err
	}
	if s.VNICType, err = b.str("binding:vnic_type", 64); err != nil {
		return s, nil, err
	}
	if b.has("binding:profile") {
		prof := map[string]any{}
		if !b.isNull("binding:profile") {
			if _, err := b.decode("binding:profile", &prof, "binding profile"); err != nil {
				return s, nil, err
			}
		}
		s.Profile = &prof
	}
	return s, sub, nil
}

// portFixedIPs decodes fixed_ips (nil when absent), noting in sub the
// sub-attributes sent.
func portFixedIPs(b *body, sub *[]string) (*[]plugin.FixedIPSpec, error) {
	if !b.has("fixed_ips") {
		return nil, nil
	}
	ips := []plugin.FixedIPSpec{}
	if !b.isNull("fixed_ips") {
		var raw []map[string]json.RawMessage
		if _, err := b.decode("fixed_ips", &raw, "fixed IP"); err != nil {
			return nil, err
		}
		for _, f := range raw {
			var fs plugin.FixedIPSpec
			for k, v := range f {
				var str string
				if err := json.Unmarshal(v, &str); err != nil {
					return nil, plugin.BadAttr("fixed_ips", "Invalid data format for fixed IP: '%s'", string(v))
				}
				switch k {
				case "subnet_id":
					fs.SubnetID = str
					if !slices.Contains(*sub, "fixed_ips:subnet_id") {
						*sub = append(*sub, "fixed_ips:subnet_id")
					}
				case "ip_address":
					fs.IPAddress = str
					if !slices.Contains(*sub, "fixed_ips:ip_address") {
						*sub = append(*sub, "fixed_ips:ip_address")
					}
				default:
					return nil, plugin.BadAttr("fixed_ips", "Unrecognized attribute(s) '%s'", k)
				}
			}
			if fs.SubnetID == "" && fs.IPAddress == "" {
				return nil, plugin.BadAttr("fixed_ips", "Invalid data format for fixed IP: '{}'")
			}
			ips = append(ips, fs)
		}
	}
	return &ips, nil
}

// portAddressPairs decodes allowed_address_pairs (nil when absent), noting
// in sub the sub-attributes sent.
func portAddressPairs(b *body, sub *[]string) (*[]netapi.AddressPair, error) {
	if !b.has("allowed_address_pairs") {
		return nil, nil
	}
	pairs := []netapi.AddressPair{}
	if !b.isNull("allowed_address_pairs") {
		var raw []map[string]json.RawMessage
		if _, err := b.decode("allowed_address_pairs", &raw, "allowed address pair"); err != nil {
			return nil, err
		}
		for _, pr := range raw {
			var ap netapi.AddressPair
			for k, v := range pr {
				var str string
				if err := json.Unmarshal(v, &str); err != nil {
					return nil, plugin.BadAttr("allowed_address_pairs", "'%s' is not valid", string(v))
				}
				switch k {
				case "ip_address":
					ap.IPAddress = str
					if !slices.Contains(*sub, "allowed_address_pairs:ip_address") {
						*sub = append(*sub, "allowed_address_pairs:ip_address")
					}
				case "mac_address":
					ap.MACAddress = str
					if !slices.Contains(*sub, "allowed_address_pairs:mac_address") {
						*sub = append(*sub, "allowed_address_pairs:mac_address")
					}
				default:
					return nil, plugin.BadAttr("allowed_address_pairs", "Unrecognized attribute(s) '%s'", k)
				}
			}
			pairs = append(pairs, ap)
		}
	}
	return &pairs, nil
}

// portDHCPOpts decodes extra_dhcp_opts (nil when absent).
func portDHCPOpts(b *body) (*[]plugin.ExtraDHCPOptSpec, error) {
	if !b.has("extra_dhcp_opts") {
		return nil, nil
	}
	opts := []plugin.ExtraDHCPOptSpec{}
	if !b.isNull("extra_dhcp_opts") {
		var raw []map[string]json.RawMessage
		if _, err := b.decode("extra_dhcp_opts", &raw, "extra DHCP option"); err != nil {
			return nil, err
		}
		for _, o := range raw {
			var os plugin.ExtraDHCPOptSpec
			json.Unmarshal(o["opt_name"], &os.Name)
			if v, ok := o["opt_value"]; ok && string(v) != "null" {
				var str string
				if err := json.Unmarshal(v, &str); err != nil {
					return nil, plugin.BadAttr("extra_dhcp_opts", "'%s' is not a valid string", string(v))
				}
				os.Value = &str
			}
			if v, ok := o["ip_version"]; ok {
				n, ok := toInt(v)
				if !ok {
					return nil, plugin.BadAttr("extra_dhcp_opts", "'%s' is not in [4, 6]", string(v))
				}
				os.IPVersion = n
			}
			opts = append(opts, os)
		}
	}
	return &opts, nil
}

func (a *API) createPort(ctx context.Context, r *rest.Request) (any, error) {
	bodies, bulk, err := decodeBodies(r, resPort, true, true)
	if err != nil {
		return nil, err
	}
	var specs []plugin.PortSpec
	nets := map[string]*netapi.Network{}
	for _, b := range bodies {
		s, sub, err := portSpec(b)
		if err != nil {
			return nil, err
		}
		if s.ProjectID, err = b.projectOf(r); err != nil {
			return nil, err
		}
		if s.NetworkID == nil {
			return nil, plugin.BadAttr("network_id", "'None' is not a valid UUID")
		}
		net, err := a.visibleNetworkBare(ctx, r, *s.NetworkID)
		if err != nil {
			return nil, err
		}
		nets[net.ID] = net
		t := portTarget(s.ProjectID, net.ID, deref(s.DeviceOwner), net)
		if err := a.z.checkAll(ctx, r.Auth, "create_port", append(b.explicit(), sub...), t); err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	c := a.caller(ctx, r)
	var created []any
	var hides [][]string
	vis := a.z.newVisibility(ctx, r.Auth)
	for _, s := range specs {
		p, err := a.p.CreatePort(ctx, s, c)
		if err != nil {
			for _, x := range created {
				a.p.DeletePort(ctx, x.(*netapi.Port).ID, nil)
			}
			return nil, err
		}
		created = append(created, p)
		hides = append(hides, vis.hidden("port", resPort.getRules, portTarget(p.ProjectID, p.NetworkID, p.DeviceOwner, nets[p.NetworkID])))
	}
	if bulk {
		return writeMany("ports", created, hides), nil
	}
	return writeOne("port", created[0], nil, hides[0], 201), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (a *API) updatePort(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("port_id")
	bodies, _, err := decodeBodies(r, resPort, false, false)
	if err != nil {
		return nil, err
	}
	cur, net, _, err := a.visiblePort(ctx, r, id)
	if err != nil {
		return nil, err
	}
	s, sub, err := portSpec(bodies[0])
	if err != nil {
		return nil, err
	}
	owner := cur.DeviceOwner
	if s.DeviceOwner != nil {
		owner = *s.DeviceOwner
	}
	t := portTarget(cur.ProjectID, cur.NetworkID, owner, net)
	if err := a.z.checkAll(ctx, r.Auth, "update_port", append(bodies[0].explicit(), sub...), t); err != nil {
		return nil, err
	}
	if s.IfMatch, err = ifMatch(r); err != nil {
		return nil, err
	}
	p, err := a.p.UpdatePort(ctx, id, s, a.caller(ctx, r))
	if err != nil {
		return nil, err
	}
	hide := a.z.newVisibility(ctx, r.Auth).hidden("port", resPort.getRules, portTarget(p.ProjectID, p.NetworkID, p.DeviceOwner, net))
	return writeOne("port", p, nil, hide, 200), nil
}

func (a *API) deletePort(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("port_id")
	_, _, t, err := a.visiblePort(ctx, r, id)
	if err != nil {
		return nil, err
	}
	if err := a.z.check(ctx, r.Auth, "delete_port", t); err != nil {
		return nil, err
	}
	im, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return nil, a.p.DeletePort(ctx, id, im)
}

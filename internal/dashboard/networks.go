package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	compute "github.com/tenku-cloud/tenku/api/compute"
	network "github.com/tenku-cloud/tenku/api/network"
)

type netRow struct {
	network.Network
	SubnetList []network.Subnet
}

type networksData struct {
	Networks    []netRow
	Subnets     []network.Subnet // the project's own, for the routers' forms
	External    []network.Network
	Routers     []network.Router
	FloatingIPs []network.FloatingIP
	Pager       *pager
}

// subnetFields are what the networks page shows of a subnet.
const subnetFields = "fields=id&fields=name&fields=cidr&fields=network_id"

// networksPage reads one page of networks (by name) and, in the same
// parallel fan-out, the external networks, the project's subnets, routers
// and floating IPs; then the subnets of the page's networks that are not the
// project's (shared ones) in one more call. Nothing here grows with the
// project's servers or ports: the topology and the floating IPs'
// association have pages of their own.
func (d *Dashboard) networksPage(p *page) error {
	p.Title = "Networks"
	pg := d.newPager(p.r)
	var (
		nets struct{ Networks []network.Network }
		ext  struct{ Networks []network.Network }
		subs struct{ Subnets []network.Subnet }
		rts  struct{ Routers []network.Router }
		fips struct {
			FloatingIPs []network.FloatingIP `json:"floatingips"`
		}
	)
	pid := url.QueryEscape(p.s.ProjectID)
	errs := fanout(p.ctx,
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/networks?"+pg.query("sort_key", false, "name", "id").Encode(), &nets)
		},
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/networks?router:external=true&fields=id&fields=name", &ext)
		},
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/subnets?project_id="+pid+"&"+subnetFields, &subs)
		},
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/routers?project_id="+pid, &rts)
		},
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/floatingips?project_id="+pid, &fips)
		},
	)
	if errs[0] != nil {
		return errs[0]
	}
	for _, e := range errs[1:] {
		if statusOf(e) == http.StatusUnauthorized {
			return e
		}
		p.fail(e)
	}
	shown := cut(pg, nets.Networks, func(n network.Network) string { return n.ID })
	bySubnet := map[string][]network.Subnet{}
	for _, s := range subs.Subnets {
		bySubnet[s.NetworkID] = append(bySubnet[s.NetworkID], s)
	}
	// Subnets of shown networks that are not the project's (shared or
	// external ones): one call for the page.
	q := url.Values{}
	for _, n := range shown {
		if n.ProjectID != p.s.ProjectID && len(n.Subnets) > 0 {
			q.Add("network_id", n.ID)
		}
	}
	if len(q) > 0 {
		var more struct{ Subnets []network.Subnet }
		p.fail(p.cl.get(p.ctx, "network", "/v2.0/subnets?"+q.Encode()+"&"+subnetFields, &more))
		for _, s := range more.Subnets {
			bySubnet[s.NetworkID] = append(bySubnet[s.NetworkID], s)
		}
	}
	data := &networksData{Routers: rts.Routers, FloatingIPs: fips.FloatingIPs, External: ext.Networks, Subnets: subs.Subnets, Pager: pg}
	sort.Slice(data.Subnets, func(i, j int) bool { return data.Subnets[i].Name < data.Subnets[j].Name })
	sort.Slice(data.External, func(i, j int) bool { return data.External[i].Name < data.External[j].Name })
	for _, n := range shown {
		data.Networks = append(data.Networks, netRow{Network: n, SubnetList: bySubnet[n.ID]})
	}
	p.Data = data
	return nil
}

// topologyPage draws every network the project sees, its routers and its
// instances from one parallel fan-out (networks, routers, the project's
// ports), then, for a picture of at most topology_max_instances instances,
// their names (Nova's short list). Beyond that each network shows how many
// instances it has, so that the picture stays readable and the page needs
// no list of servers.
func (d *Dashboard) topologyPage(p *page) error {
	p.Title = "Network Topology"
	var (
		nets  struct{ Networks []network.Network }
		rts   struct{ Routers []network.Router }
		ports struct{ Ports []network.Port }
	)
	pid := url.QueryEscape(p.s.ProjectID)
	errs := fanout(p.ctx,
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/networks?fields=id&fields=name&fields=router:external", &nets)
		},
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/routers?project_id="+pid, &rts)
		},
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/ports?project_id="+pid+"&fields=id&fields=device_id&fields=device_owner&fields=network_id", &ports)
		},
	)
	for _, e := range errs {
		if statusOf(e) == http.StatusUnauthorized {
			return e
		}
		p.fail(e)
	}
	var drawn []network.Port
	devices := map[string]bool{}
	perNet := map[string]int{}
	for _, pt := range ports.Ports {
		switch {
		case strings.HasPrefix(pt.DeviceOwner, "network:router_interface"):
			drawn = append(drawn, pt)
		case strings.HasPrefix(pt.DeviceOwner, "compute:"):
			devices[pt.DeviceID] = true
			perNet[pt.NetworkID]++
		}
	}
	var svs []compute.Server
	if len(devices) <= d.cfg.TopologyMaxInstances {
		for _, pt := range ports.Ports {
			if strings.HasPrefix(pt.DeviceOwner, "compute:") {
				drawn = append(drawn, pt)
			}
		}
		if len(devices) > 0 && p.cl.has("compute") {
			all, err := pageAll(p.ctx, p.cl, "compute", "/servers", "servers", func(s compute.Server) string { return s.ID })
			p.fail(err)
			for _, s := range all {
				if devices[s.ID] {
					svs = append(svs, s)
				}
			}
			sort.Slice(svs, func(i, j int) bool { return svs[i].Name < svs[j].Name })
		}
	} else {
		// One node per network standing for its instances.
		for _, n := range nets.Networks {
			if c := perNet[n.ID]; c > 0 {
				id := "instances-" + n.ID
				svs = append(svs, compute.Server{ID: id, Name: p.Tf("%d instances", c)})
				drawn = append(drawn, network.Port{DeviceOwner: "compute:", DeviceID: id, NetworkID: n.ID})
			}
		}
	}
	sort.Slice(nets.Networks, func(i, j int) bool { return nets.Networks[i].Name < nets.Networks[j].Name })
	p.Data = drawTopology(nets.Networks, rts.Routers, drawn, svs)
	return nil
}

type associateData struct {
	FloatingIP network.FloatingIP
	Ports      []portChoice
}

// portChoice is a server's port a floating IP may be associated with.
type portChoice struct {
	ID, Server string
	IPs        []string
}

// associateForm offers the project's servers' ports for one floating IP
// (Horizon's "Manage Floating IP Associations"), in one fan-out.
func (d *Dashboard) associateForm(p *page) error {
	p.Title = "Associate Floating IP"
	id := p.r.PathValue("id")
	var (
		fip struct {
			FloatingIP network.FloatingIP `json:"floatingip"`
		}
		ports struct{ Ports []network.Port }
		svs   []compute.Server
	)
	calls := []func(context.Context) error{
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/floatingips/"+url.PathEscape(id), &fip)
		},
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/ports?project_id="+url.QueryEscape(p.s.ProjectID)+"&fields=id&fields=device_id&fields=device_owner&fields=fixed_ips", &ports)
		},
	}
	if p.cl.has("compute") {
		calls = append(calls, func(ctx context.Context) (err error) {
			svs, err = pageAll(ctx, p.cl, "compute", "/servers", "servers", func(s compute.Server) string { return s.ID })
			return
		})
	}
	errs := fanout(p.ctx, calls...)
	if errs[0] != nil {
		return errs[0]
	}
	for _, e := range errs[1:] {
		p.fail(e)
	}
	names := make(map[string]string, len(svs))
	for _, s := range svs {
		names[s.ID] = s.Name
	}
	data := &associateData{FloatingIP: fip.FloatingIP}
	for _, pt := range ports.Ports {
		if !strings.HasPrefix(pt.DeviceOwner, "compute:") {
			continue
		}
		c := portChoice{ID: pt.ID, Server: orDefault(names[pt.DeviceID], pt.DeviceID)}
		for _, ip := range pt.FixedIPs {
			c.IPs = append(c.IPs, ip.IPAddress)
		}
		data.Ports = append(data.Ports, c)
	}
	sort.Slice(data.Ports, func(i, j int) bool { return data.Ports[i].Server < data.Ports[j].Server })
	p.Data = data
	return nil
}

// topology is the network picture: external networks on top, routers below,
// then project networks, then instances, with lines for every connection.
type topology struct {
	Width, Height int
	Nodes         []topoNode
	Links         []topoLink
}

type topoNode struct {
	ID, Label, Kind string
	X, Y, W, H      int
}

type topoLink struct{ X1, Y1, X2, Y2 int }

func drawTopology(nets []network.Network, routers []network.Router, ports []network.Port, servers []compute.Server) *topology {
	t := &topology{}
	pos := map[string]*topoNode{}
	place := func(row int, kind string, items []struct{ id, label string }) {
		for i, it := range items {
			n := topoNode{ID: it.id, Label: it.label, Kind: kind, X: 20 + i*170, Y: 20 + row*110, W: 150, H: 44}
			t.Nodes = append(t.Nodes, n)
			t.Width = max(t.Width, n.X+n.W+20)
		}
	}
	var ext, proj, rts, vms []struct{ id, label string }
	for _, n := range nets {
		if n.External {
			ext = append(ext, struct{ id, label string }{n.ID, n.Name})
		} else {
			proj = append(proj, struct{ id, label string }{n.ID, n.Name})
		}
	}
	for _, r := range routers {
		rts = append(rts, struct{ id, label string }{r.ID, r.Name})
	}
	for _, s := range servers {
		vms = append(vms, struct{ id, label string }{s.ID, s.Name})
	}
	place(0, "external", ext)
	place(1, "router", rts)
	place(2, "network", proj)
	place(3, "instance", vms)
	t.Height = 20 + 4*110
	for i := range t.Nodes {
		pos[t.Nodes[i].ID] = &t.Nodes[i]
	}
	link := func(a, b string) {
		na, nb := pos[a], pos[b]
		if na == nil || nb == nil {
			return
		}
		if na.Y > nb.Y {
			na, nb = nb, na
		}
		t.Links = append(t.Links, topoLink{na.X + na.W/2, na.Y + na.H, nb.X + nb.W/2, nb.Y})
	}
	for _, r := range routers {
		if r.ExternalGatewayInfo != nil {
			link(r.ExternalGatewayInfo.NetworkID, r.ID)
		}
	}
	for _, pt := range ports {
		switch {
		case strings.HasPrefix(pt.DeviceOwner, "network:router_interface"):
			link(pt.DeviceID, pt.NetworkID)
		case strings.HasPrefix(pt.DeviceOwner, "compute:"):
			link(pt.NetworkID, pt.DeviceID)
		}
	}
	if len(t.Nodes) == 0 {
		return nil
	}
	return t
}

func (d *Dashboard) createNetwork(p *page) (string, error) {
	f := p.r
	name := strings.TrimSpace(f.PostFormValue("name"))
	var out struct{ Network network.Network }
	if err := p.cl.do(p.ctx, "network", "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": name, "admin_state_up": true}}, &out); err != nil {
		return "", err
	}
	if cidr := strings.TrimSpace(f.PostFormValue("cidr")); cidr != "" {
		sub := map[string]any{"network_id": out.Network.ID, "cidr": cidr, "ip_version": 4, "name": f.PostFormValue("subnet_name"), "enable_dhcp": true}
		if strings.Contains(cidr, ":") {
			sub["ip_version"] = 6
		}
		if gw := strings.TrimSpace(f.PostFormValue("gateway_ip")); gw != "" {
			sub["gateway_ip"] = gw
		}
		if err := p.cl.do(p.ctx, "network", "POST", "/v2.0/subnets", map[string]any{"subnet": sub}, nil); err != nil {
			d.flashT(p, "Created network %q, but not its subnet.", name)
			return "", err
		}
	}
	d.flashT(p, "Created network %q.", name)
	return "/project/networks/", nil
}

func (d *Dashboard) createRouter(p *page) (string, error) {
	f := p.r
	name := strings.TrimSpace(f.PostFormValue("name"))
	r := map[string]any{"name": name, "admin_state_up": true}
	if ext := f.PostFormValue("external_network"); ext != "" {
		r["external_gateway_info"] = map[string]any{"network_id": ext}
	}
	var out struct{ Router network.Router }
	if err := p.cl.do(p.ctx, "network", "POST", "/v2.0/routers", map[string]any{"router": r}, &out); err != nil {
		return "", err
	}
	if sub := f.PostFormValue("subnet"); sub != "" {
		if err := p.cl.do(p.ctx, "network", "PUT", "/v2.0/routers/"+url.PathEscape(out.Router.ID)+"/add_router_interface", map[string]any{"subnet_id": sub}, nil); err != nil {
			return "", err
		}
	}
	d.flashT(p, "Created router %q.", name)
	return "/project/networks/", nil
}

func (d *Dashboard) routerInterface(p *page) (string, error) {
	id := url.PathEscape(p.r.PathValue("id"))
	op := "add_router_interface"
	if p.r.PostFormValue("op") == "remove" {
		op = "remove_router_interface"
	}
	if err := p.cl.do(p.ctx, "network", "PUT", "/v2.0/routers/"+id+"/"+op, map[string]any{"subnet_id": p.r.PostFormValue("subnet")}, nil); err != nil {
		return "", err
	}
	d.flashT(p, "The router's interfaces were changed.")
	return "/project/networks/", nil
}

func (d *Dashboard) deleteNetworkThing(kind string) func(p *page) (string, error) {
	return func(p *page) (string, error) {
		if err := p.cl.do(p.ctx, "network", "DELETE", "/v2.0/"+kind+"/"+url.PathEscape(p.r.PathValue("id")), nil, nil); err != nil {
			return "", err
		}
		d.flashT(p, "Deleted.")
		if kind == "security-groups" {
			return "/project/security_groups/", nil
		}
		return "/project/networks/", nil
	}
}

func (d *Dashboard) allocateFIP(p *page) (string, error) {
	body := map[string]any{"floatingip": map[string]any{"floating_network_id": p.r.PostFormValue("pool")}}
	var out struct {
		FloatingIP network.FloatingIP `json:"floatingip"`
	}
	if err := p.cl.do(p.ctx, "network", "POST", "/v2.0/floatingips", body, &out); err != nil {
		return "", err
	}
	d.flashT(p, "Allocated floating IP %s.", out.FloatingIP.FloatingIPAddress)
	return "/project/networks/#floating", nil
}

func (d *Dashboard) associateFIP(p *page) (string, error) {
	var port any
	if v := p.r.PostFormValue("port_id"); v != "" {
		port = v
	}
	if err := p.cl.do(p.ctx, "network", "PUT", "/v2.0/floatingips/"+url.PathEscape(p.r.PathValue("id")), map[string]any{"floatingip": map[string]any{"port_id": port}}, nil); err != nil {
		return "", err
	}
	if port == nil {
		d.flashT(p, "Disassociated the floating IP.")
	} else {
		d.flashT(p, "Associated the floating IP.")
	}
	return "/project/networks/#floating", nil
}

type securityData struct {
	Groups []network.SecurityGroup
}

func (d *Dashboard) securityGroups(p *page) error {
	p.Title = "Security Groups"
	var sgs struct {
		SecurityGroups []network.SecurityGroup `json:"security_groups"`
	}
	if err := p.cl.get(p.ctx, "network", "/v2.0/security-groups?project_id="+url.QueryEscape(p.s.ProjectID), &sgs); err != nil {
		return err
	}
	sort.Slice(sgs.SecurityGroups, func(i, j int) bool { return sgs.SecurityGroups[i].Name < sgs.SecurityGroups[j].Name })
	p.Data = &securityData{Groups: sgs.SecurityGroups}
	return nil
}

func (d *Dashboard) createSecurityGroup(p *page) (string, error) {
	name := strings.TrimSpace(p.r.PostFormValue("name"))
	body := map[string]any{"security_group": map[string]any{"name": name, "description": p.r.PostFormValue("description")}}
	if err := p.cl.do(p.ctx, "network", "POST", "/v2.0/security-groups", body, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Created security group %q.", name)
	return "/project/security_groups/", nil
}

func (d *Dashboard) addRule(p *page) (string, error) {
	f := p.r
	rule := map[string]any{"security_group_id": f.PathValue("id"), "direction": f.PostFormValue("direction"), "ethertype": "IPv4"}
	if proto := f.PostFormValue("protocol"); proto != "" && proto != "any" {
		rule["protocol"] = proto
	}
	for _, k := range []string{"port_range_min", "port_range_max"} {
		if v := f.PostFormValue(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", badRequest("%s must be a number", k)
			}
			rule[k] = n
		}
	}
	if cidr := strings.TrimSpace(f.PostFormValue("remote_ip_prefix")); cidr != "" {
		rule["remote_ip_prefix"] = cidr
		if strings.Contains(cidr, ":") {
			rule["ethertype"] = "IPv6"
		}
	}
	if err := p.cl.do(p.ctx, "network", "POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": rule}, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Added the rule.")
	return "/project/security_groups/", nil
}

func (d *Dashboard) deleteRule(p *page) (string, error) {
	if err := p.cl.do(p.ctx, "network", "DELETE", "/v2.0/security-group-rules/"+url.PathEscape(p.r.PathValue("id")), nil, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Deleted the rule.")
	return "/project/security_groups/", nil
}

package network_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func (c *cloud) gopher(token string) *gophercloud.ServiceClient {
	return &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{TokenID: token, HTTPClient: http.Client{}},
		Endpoint:       c.srv.URL + "/", ResourceBase: c.srv.URL + "/v2.0/", Type: "network",
	}
}

func TestGophercloud(t *testing.T) {
	c := newCloud(t, nil)
	ctx := context.Background()
	cl := c.gopher("demo")
	n, err := networks.Create(ctx, cl, networks.CreateOpts{Name: "g1"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	s, err := subnets.Create(ctx, cl, subnets.CreateOpts{NetworkID: n.ID, CIDR: "10.20.0.0/24", IPVersion: gophercloud.IPv4,
		DNSNameservers: []string{"1.1.1.1"}}).Extract()
	if err != nil || s.GatewayIP != "10.20.0.1" || s.DNSNameservers[0] != "1.1.1.1" {
		t.Fatalf("subnet %+v %v", s, err)
	}
	p, err := ports.Create(ctx, cl, ports.CreateOpts{NetworkID: n.ID, Name: "gp", FixedIPs: []ports.IP{{SubnetID: s.ID, IPAddress: "10.20.0.30"}}}).Extract()
	if err != nil || p.FixedIPs[0].IPAddress != "10.20.0.30" {
		t.Fatalf("port %+v %v", p, err)
	}
	var names []string
	err = ports.List(cl, ports.ListOpts{NetworkID: n.ID}).EachPage(ctx, func(ctx context.Context, pg pagination.Page) (bool, error) {
		l, err := ports.ExtractPorts(pg)
		for _, x := range l {
			names = append(names, x.Name)
		}
		return true, err
	})
	if err != nil || len(names) != 1 {
		t.Fatalf("list ports %v %v", names, err)
	}
	r, err := routers.Create(ctx, cl, routers.CreateOpts{Name: "gr"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	ri, err := routers.AddInterface(ctx, cl, r.ID, routers.AddInterfaceOpts{SubnetID: s.ID}).Extract()
	if err != nil || ri.SubnetID != s.ID || ri.PortID == "" {
		t.Fatalf("interface %+v %v", ri, err)
	}
	g, err := groups.Create(ctx, cl, groups.CreateOpts{Name: "web"}).Extract()
	if err != nil || len(g.Rules) != 2 {
		t.Fatalf("group %+v %v", g, err)
	}
	rl, err := rules.Create(ctx, cl, rules.CreateOpts{SecGroupID: g.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4,
		Protocol: rules.ProtocolTCP, PortRangeMin: 22, PortRangeMax: 22}).Extract()
	if err != nil || rl.PortRangeMin != 22 || rl.Protocol != "tcp" {
		t.Fatalf("rule %+v %v", rl, err)
	}
	if _, err := routers.RemoveInterface(ctx, cl, r.ID, routers.RemoveInterfaceOpts{SubnetID: s.ID}).Extract(); err != nil {
		t.Fatal(err)
	}
	if err := ports.Delete(ctx, cl, p.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := networks.Delete(ctx, cl, n.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := networks.Get(ctx, cl, n.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("deleted network: %v", err)
	}
}

// TestBadInput checks Neutron's error document and status for bad requests.
func TestBadInput(t *testing.T) {
	c := newCloud(t, nil)
	net := c.ok(c.do("POST", "/v2.0/networks", "demo", map[string]any{"network": map[string]any{"name": "n"}}), 201, "network")
	nid := net["id"].(string)
	sub := c.ok(c.do("POST", "/v2.0/subnets", "demo", map[string]any{"subnet": map[string]any{"network_id": nid, "ip_version": 4, "cidr": "10.0.0.0/29"}}), 201, "subnet")
	port := c.ok(c.do("POST", "/v2.0/ports", "demo", map[string]any{"port": map[string]any{"network_id": nid}}), 201, "port")
	ip := port["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	g := c.ok(c.do("POST", "/v2.0/security-groups", "alt", map[string]any{"security_group": map[string]any{"name": "alts"}}), 201, "security_group")
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		typ, msg                  string
	}{
		{"overlapping cidr", "POST", "/v2.0/subnets", "demo", map[string]any{"subnet": map[string]any{"network_id": nid, "ip_version": 4, "cidr": "10.0.0.0/24"}},
			400, "InvalidInput", "overlaps with another subnet"},
		{"gateway outside is the network address", "POST", "/v2.0/subnets", "demo", map[string]any{"subnet": map[string]any{"network_id": nid, "ip_version": 4,
			"cidr": "10.5.0.0/24", "gateway_ip": "10.5.0.0"}}, 400, "InvalidInput", "Gateway is not valid on subnet"},
		{"address taken", "POST", "/v2.0/ports", "demo", map[string]any{"port": map[string]any{"network_id": nid, "fixed_ips": []any{map[string]any{"ip_address": ip}}}},
			409, "IpAddressAlreadyAllocated", "already allocated"},
		{"bad MAC", "POST", "/v2.0/ports", "demo", map[string]any{"port": map[string]any{"network_id": nid, "mac_address": "zz:zz"}},
			400, "HTTPBadRequest", "is not a valid MAC address"},
		{"network with ports", "DELETE", "/v2.0/networks/" + nid, "demo", nil, 409, "NetworkInUse", "still in use"},
		{"subnet with allocations", "DELETE", "/v2.0/subnets/" + sub["id"].(string), "demo", nil, 409, "SubnetInUse", "IP allocation"},
		{"bad port range", "POST", "/v2.0/security-group-rules", "alt", map[string]any{"security_group_rule": map[string]any{
			"security_group_id": g["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 79}},
			400, "SecurityGroupInvalidPortRange", "port_range_min must be <= port_range_max"},
		{"rule on a foreign group", "POST", "/v2.0/security-group-rules", "demo", map[string]any{"security_group_rule": map[string]any{
			"security_group_id": g["id"], "direction": "ingress"}}, 404, "SecurityGroupNotFound", "does not exist"},
		{"unknown attribute", "POST", "/v2.0/networks", "demo", map[string]any{"network": map[string]any{"bogus": 1}}, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'bogus'"},
		{"read-only attribute", "PUT", "/v2.0/subnets/" + sub["id"].(string), "demo", map[string]any{"subnet": map[string]any{"cidr": "10.9.0.0/24"}},
			400, "HTTPBadRequest", "Cannot update read-only attribute cidr"},
		{"bad boolean", "POST", "/v2.0/networks", "demo", map[string]any{"network": map[string]any{"admin_state_up": "maybe"}}, 400, "HTTPBadRequest", "cannot be converted to boolean"},
		{"no resource key", "POST", "/v2.0/networks", "demo", map[string]any{"net": map[string]any{}}, 400, "HTTPBadRequest", "Unable to find 'network'"},
		{"provider attributes are for admins", "POST", "/v2.0/networks", "demo", map[string]any{"network": map[string]any{"provider:network_type": "vlan"}},
			403, "PolicyNotAuthorized", "create_network:provider:network_type"},
		{"external networks are for admins", "POST", "/v2.0/networks", "demo", map[string]any{"network": map[string]any{"router:external": true}},
			403, "PolicyNotAuthorized", "create_network:router:external"},
		{"others' networks are invisible", "GET", "/v2.0/networks/" + nid, "alt", nil, 404, "NetworkNotFound", "could not be found"},
		{"unknown filter", "GET", "/v2.0/networks?bogus=1", "demo", nil, 400, "HTTPBadRequest", "['bogus'] is invalid attribute for filtering"},
		{"bad sort key", "GET", "/v2.0/networks?sort_key=bogus&sort_dir=asc", "demo", nil, 400, "HTTPBadRequest", "is invalid attribute for sort_keys"},
		{"bad limit", "GET", "/v2.0/networks?limit=-1", "demo", nil, 400, "BadRequest", "Limit must be an integer"},
		{"stale revision", "PUT", "/v2.0/networks/" + nid, "demo", map[string]any{"network": map[string]any{"name": "x"}}, 412, "RevisionNumberConstraintFailed", "Constrained to 99"},
		{"bad vlan", "POST", "/v2.0/networks", "admin", map[string]any{"network": map[string]any{"provider:network_type": "vlan", "provider:physical_network": "nowhere"}},
			400, "InvalidInput", "unknown for VLAN provider network"},
		{"gateway not external", "PUT", "/v2.0/routers/none", "demo", map[string]any{"router": map[string]any{"name": "x"}}, 404, "RouterNotFound", "could not be found"},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			var hdr []string
			if cs.name == "stale revision" {
				hdr = []string{"If-Match", "revision_number=99"}
			}
			r := c.do(cs.method, cs.path, cs.token, cs.body, hdr...)
			e, _ := r.body["NeutronError"].(map[string]any)
			if r.status != cs.status || e == nil || e["type"] != cs.typ || !strings.Contains(fmt.Sprint(e["message"]), cs.msg) {
				t.Fatalf("got %d %s, want %d %s %q", r.status, r.raw, cs.status, cs.typ, cs.msg)
			}
			if _, ok := e["detail"]; !ok {
				t.Fatal("no detail")
			}
		})
	}
	if r := c.do("GET", "/v2.0/networks", "", nil); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
}

func TestListsAndShapes(t *testing.T) {
	c := newCloud(t, nil)
	var ids []string
	for i := 0; i < 5; i++ {
		n := c.ok(c.do("POST", "/v2.0/networks", "demo", map[string]any{"network": map[string]any{"name": fmt.Sprintf("n%d", 4-i)}}), 201, "network")
		ids = append(ids, n["id"].(string))
	}
	// fields
	l := c.ok(c.do("GET", "/v2.0/networks?fields=id&fields=name", "demo", nil), 200, "")["networks"].([]any)
	if len(l) != 5 || len(l[0].(map[string]any)) != 2 {
		t.Fatalf("fields: %v", l)
	}
	one := c.ok(c.do("GET", "/v2.0/networks/"+ids[0]+"?fields=mtu&fields=id", "demo", nil), 200, "network")
	if len(one) != 2 || one["mtu"] != float64(1450) {
		t.Fatalf("show fields: %v", one)
	}
	// sorting and pagination with links
	r := c.ok(c.do("GET", "/v2.0/networks?sort_key=name&sort_dir=asc&limit=2", "demo", nil), 200, "")
	page := r["networks"].([]any)
	links := r["networks_links"].([]any)
	if len(page) != 2 || page[0].(map[string]any)["name"] != "n0" || page[1].(map[string]any)["name"] != "n1" || len(links) != 2 {
		t.Fatalf("page 1: %v %v", page, links)
	}
	var next string
	for _, lk := range links {
		if m := lk.(map[string]any); m["rel"] == "next" {
			next = m["href"].(string)
		}
	}
	if !strings.Contains(next, "marker="+page[1].(map[string]any)["id"].(string)) {
		t.Fatalf("next link %s", next)
	}
	r2 := c.ok(c.do("GET", strings.TrimPrefix(next, c.srv.URL), "demo", nil), 200, "")
	if p2 := r2["networks"].([]any); len(p2) != 2 || p2[0].(map[string]any)["name"] != "n2" {
		t.Fatalf("page 2: %v", p2)
	}
	// filters
	if l := c.ok(c.do("GET", "/v2.0/networks?name=n3&name=n4", "demo", nil), 200, "")["networks"].([]any); len(l) != 2 {
		t.Fatalf("name filter: %d", len(l))
	}
	// tags
	c.ok(c.do("PUT", "/v2.0/networks/"+ids[0]+"/tags/red", "demo", nil), 201, "")
	c.ok(c.do("PUT", "/v2.0/networks/"+ids[1]+"/tags", "demo", map[string]any{"tags": []string{"red", "blue"}}), 200, "")
	if l := c.ok(c.do("GET", "/v2.0/networks?tags=red,blue", "demo", nil), 200, "")["networks"].([]any); len(l) != 1 {
		t.Fatalf("tags filter: %d", len(l))
	}
	if l := c.ok(c.do("GET", "/v2.0/networks?tags-any=red", "demo", nil), 200, "")["networks"].([]any); len(l) != 2 {
		t.Fatalf("tags-any filter: %d", len(l))
	}
	c.ok(c.do("GET", "/v2.0/networks/"+ids[0]+"/tags/red", "demo", nil), 204, "")
	if r := c.do("GET", "/v2.0/networks/"+ids[0]+"/tags/green", "demo", nil); r.status != 404 {
		t.Fatalf("missing tag: %d", r.status)
	}
	// If-Match with the current revision succeeds.
	n := c.ok(c.do("GET", "/v2.0/networks/"+ids[2], "demo", nil), 200, "network")
	rev := int(n["revision_number"].(float64))
	up := c.ok(c.do("PUT", "/v2.0/networks/"+ids[2], "demo", map[string]any{"network": map[string]any{"name": "renamed"}},
		"If-Match", fmt.Sprintf("revision_number=%d", rev)), 200, "network")
	if int(up["revision_number"].(float64)) != rev+1 {
		t.Fatalf("revision %v after %d", up["revision_number"], rev)
	}
	// Bulk creation.
	bulk := c.ok(c.do("POST", "/v2.0/networks", "demo", map[string]any{"networks": []any{map[string]any{"name": "b1"}, map[string]any{"name": "b2"}}}), 201, "")
	if l := bulk["networks"].([]any); len(l) != 2 {
		t.Fatalf("bulk: %v", bulk)
	}
	// Quotas, extensions, versions.
	q := c.ok(c.do("GET", "/v2.0/quotas/demo-p/details.json", "admin", nil), 200, "quota")
	if nq := q["network"].(map[string]any); nq["used"] != float64(7) || nq["limit"] != float64(100) {
		t.Fatalf("quota details %v", q)
	}
	exts := c.ok(c.do("GET", "/v2.0/extensions", "demo", nil), 200, "")["extensions"].([]any)
	if len(exts) < 30 {
		t.Fatalf("%d extensions", len(exts))
	}
	c.ok(c.do("GET", "/v2.0/extensions/router", "demo", nil), 200, "extension")
	v := c.ok(c.do("GET", "/", "", nil), 200, "")["versions"].([]any)[0].(map[string]any)
	if v["id"] != "v2.0" || v["status"] != "CURRENT" {
		t.Fatalf("versions %v", v)
	}
	if res := c.ok(c.do("GET", "/v2.0/", "demo", nil), 200, "")["resources"].([]any); len(res) < 3 {
		t.Fatalf("v2.0 resources %v", res)
	}
	// A member sees its default security group appear on first listing.
	sgs := c.ok(c.do("GET", "/v2.0/security-groups", "alt", nil), 200, "")["security_groups"].([]any)
	if len(sgs) != 1 || sgs[0].(map[string]any)["name"] != "default" || len(sgs[0].(map[string]any)["security_group_rules"].([]any)) != 4 {
		t.Fatalf("default group: %v", sgs)
	}
}

package network_test

import (
	"testing"

	"github.com/tenku-cloud/tenku/internal/network/dataplane/fake"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// TestOnEveryDatabase runs one pass over the API on SQLite, PostgreSQL and
// MariaDB, with an agent, so that every statement of the service meets each
// engine.
func TestOnEveryDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		c := newCloud(t, db)
		d := fake.New()
		c.agent("h1", d)
		eventually(t, "agents", func() bool {
			l, _ := c.do("GET", "/v2.0/agents", "admin", nil).body["agents"].([]any)
			return len(l) == 4
		})
		pub := c.ok(c.do("POST", "/v2.0/networks", "admin", map[string]any{"network": map[string]any{"name": "public", "router:external": true,
			"provider:network_type": "flat", "provider:physical_network": "public"}}), 201, "network")
		c.ok(c.do("POST", "/v2.0/subnets", "admin", map[string]any{"subnet": map[string]any{"network_id": pub["id"], "ip_version": 4,
			"cidr": "172.24.4.0/24", "enable_dhcp": false}}), 201, "subnet")
		net := c.ok(c.do("POST", "/v2.0/networks", "demo", map[string]any{"network": map[string]any{"name": "private"}}), 201, "network")
		sub := c.ok(c.do("POST", "/v2.0/subnets", "demo", map[string]any{"subnet": map[string]any{"network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/26"}}), 201, "subnet")
		c.ok(c.do("POST", "/v2.0/subnets", "demo", map[string]any{"subnet": map[string]any{"network_id": net["id"], "ip_version": 6, "cidr": "2001:db8::/64",
			"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}}), 201, "subnet")
		r := c.ok(c.do("POST", "/v2.0/routers", "demo", map[string]any{"router": map[string]any{"name": "r1",
			"external_gateway_info": map[string]any{"network_id": pub["id"]}}}), 201, "router")
		c.ok(c.do("PUT", "/v2.0/routers/"+r["id"].(string)+"/add_router_interface", "demo", map[string]any{"subnet_id": sub["id"]}), 200, "")
		bulk := c.ok(c.do("POST", "/v2.0/ports", "demo", map[string]any{"ports": []any{
			map[string]any{"network_id": net["id"], "name": "a"}, map[string]any{"network_id": net["id"], "name": "b"}}}), 201, "")
		ports := bulk["ports"].([]any)
		p0 := ports[0].(map[string]any)
		if len(p0["fixed_ips"].([]any)) != 2 {
			t.Fatalf("dual-stack port: %v", p0["fixed_ips"])
		}
		c.ok(c.do("PUT", "/v2.0/ports/"+p0["id"].(string), "admin", map[string]any{"port": map[string]any{"binding:host_id": "h1",
			"device_owner": "compute:nova", "device_id": "vm"}}), 200, "port")
		eventually(t, "port active", func() bool {
			return c.ok(c.do("GET", "/v2.0/ports/"+p0["id"].(string), "demo", nil), 200, "port")["status"] == "ACTIVE"
		})
		fip := c.ok(c.do("POST", "/v2.0/floatingips", "demo", map[string]any{"floatingip": map[string]any{"floating_network_id": pub["id"], "port_id": p0["id"]}}), 201, "floatingip")
		sg := c.ok(c.do("POST", "/v2.0/security-groups", "demo", map[string]any{"security_group": map[string]any{"name": "web"}}), 201, "security_group")
		c.ok(c.do("POST", "/v2.0/security-group-rules", "demo", map[string]any{"security_group_rule": map[string]any{"security_group_id": sg["id"],
			"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_group_id": sg["id"]}}), 201, "security_group_rule")
		c.ok(c.do("PUT", "/v2.0/ports/"+p0["id"].(string), "demo", map[string]any{"port": map[string]any{"security_groups": []any{sg["id"]}}}), 200, "port")
		c.ok(c.do("PUT", "/v2.0/networks/"+net["id"].(string)+"/tags", "demo", map[string]any{"tags": []string{"x", "y"}}), 200, "")
		if l := c.ok(c.do("GET", "/v2.0/ports?fixed_ips=ip_address_substr=10.0.0&sort_key=name&sort_dir=desc&limit=1", "demo", nil), 200, "")["ports"].([]any); len(l) != 1 {
			t.Fatalf("filtered page: %v", l)
		}
		if l := c.ok(c.do("GET", "/v2.0/networks?tags=x,y", "demo", nil), 200, "")["networks"].([]any); len(l) != 1 {
			t.Fatalf("tag filter: %v", l)
		}
		c.ok(c.do("PUT", "/v2.0/quotas/demo-p", "admin", map[string]any{"quota": map[string]any{"network": 5}}), 200, "quota")
		// Tear down in the order a user would.
		c.ok(c.do("DELETE", "/v2.0/floatingips/"+fip["id"].(string), "demo", nil), 204, "")
		for _, p := range ports {
			c.ok(c.do("DELETE", "/v2.0/ports/"+p.(map[string]any)["id"].(string), "demo", nil), 204, "")
		}
		c.ok(c.do("PUT", "/v2.0/routers/"+r["id"].(string)+"/remove_router_interface", "demo", map[string]any{"subnet_id": sub["id"]}), 200, "")
		c.ok(c.do("DELETE", "/v2.0/routers/"+r["id"].(string), "demo", nil), 204, "")
		c.ok(c.do("DELETE", "/v2.0/security-groups/"+sg["id"].(string), "demo", nil), 204, "")
		c.ok(c.do("DELETE", "/v2.0/networks/"+net["id"].(string), "demo", nil), 204, "")
		c.ok(c.do("DELETE", "/v2.0/networks/"+pub["id"].(string), "admin", nil), 204, "")
		if l := c.ok(c.do("GET", "/v2.0/ports", "admin", nil), 200, "")["ports"].([]any); len(l) != 0 {
			t.Fatalf("ports left: %v", l)
		}
	})
}

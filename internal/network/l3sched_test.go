package network_test

import (
	"context"
	"testing"

	"github.com/tenku-cloud/tenku/internal/network"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/fake"
)

// TestRouterUnscheduledFloatingIPsGoDown is tempest's router rescheduling
// as the server sees it: a router removed from its L3 agent leaves that
// host and its floating IPs go DOWN; added to an agent again, the host
// makes it and they are ACTIVE again.
func TestRouterUnscheduledFloatingIPsGoDown(t *testing.T) {
	c := newCloud(t, nil)
	d := fake.New()
	c.agent("net1", d)
	var l3 string
	eventually(t, "L3 agent", func() bool {
		l, _ := c.do("GET", "/v2.0/agents?agent_type=L3+agent", "admin", nil).body["agents"].([]any)
		if len(l) == 1 {
			l3 = l[0].(map[string]any)["id"].(string)
		}
		return l3 != ""
	})
	ids, err := c.svc.EnsureDefaultTopology(context.Background(), network.DevstackTopology("admin-p", "demo-p"))
	if err != nil {
		t.Fatal(err)
	}
	port := c.ok(c.do("POST", "/v2.0/ports", "demo", map[string]any{"port": map[string]any{"network_id": ids.PrivateNetworkID}}), 201, "port")
	fip := c.ok(c.do("POST", "/v2.0/floatingips", "demo", map[string]any{"floatingip": map[string]any{
		"floating_network_id": ids.PublicNetworkID, "port_id": port["id"]}}), 201, "floatingip")
	status := func() any {
		return c.do("GET", "/v2.0/floatingips/"+fip["id"].(string), "demo", nil).body["floatingip"].(map[string]any)["status"]
	}
	eventually(t, "floating IP active", func() bool { return status() == "ACTIVE" })

	c.ok(c.do("DELETE", "/v2.0/agents/"+l3+"/l3-routers/"+ids.RouterID, "admin", nil), 204, "")
	eventually(t, "router gone from the host", func() bool { _, ok := d.Router(ids.RouterID); return !ok })
	if s := status(); s != "DOWN" {
		t.Fatalf("floating IP of an unscheduled router: status %v, want DOWN", s)
	}
	if l := c.ok(c.do("GET", "/v2.0/routers/"+ids.RouterID+"/l3-agents", "admin", nil), 200, "")["agents"].([]any); len(l) != 0 {
		t.Fatalf("router still hosted by %v", l)
	}

	c.ok(c.do("POST", "/v2.0/agents/"+l3+"/l3-routers", "admin", map[string]any{"router_id": ids.RouterID}), 201, "")
	eventually(t, "router back on the host", func() bool {
		r, ok := d.Router(ids.RouterID)
		return ok && len(r.FloatingIPs) == 1
	})
	eventually(t, "floating IP active again", func() bool { return status() == "ACTIVE" })
}

package computetest_test

import (
	"context"
	"testing"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
)

// The deprecated security group and floating IP proxies, on the in-memory
// Neutron.
func TestNetworkProxies(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	ctx := context.Background()
	demo := computetest.DemoToken
	do := func(method, path, version string, body, out any) int {
		t.Helper()
		code, err := c.Do(ctx, method, path, demo, version, body, out)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	// Security groups and rules.
	var sg struct {
		SecurityGroup struct {
			ID    string           `json:"id"`
			Name  string           `json:"name"`
			Rules []map[string]any `json:"rules"`
		} `json:"security_group"`
	}
	if code := do("POST", "/v2.1/os-security-groups", "", map[string]any{"security_group": map[string]any{"name": "web", "description": "web servers"}}, &sg); code != 200 || sg.SecurityGroup.ID == "" {
		t.Fatalf("create group: %d %+v", code, sg)
	}
	gid := sg.SecurityGroup.ID
	for _, bad := range []map[string]any{
		{"security_group": map[string]any{"name": " ", "description": "x"}},
		{"security_group": map[string]any{"name": "x"}},
		{"nothing": 1},
	} {
		if code := do("POST", "/v2.1/os-security-groups", "", bad, nil); code != 400 {
			t.Fatalf("create %v: %d, want 400", bad, code)
		}
	}
	if code := do("GET", "/v2.1/os-security-groups", "2.36", nil, nil); code != 404 {
		t.Fatalf("security groups at 2.36: %d, want 404", code)
	}
	var rule struct {
		Rule map[string]any `json:"security_group_rule"`
	}
	if code := do("POST", "/v2.1/os-security-group-rules", "", map[string]any{"security_group_rule": map[string]any{
		"parent_group_id": gid, "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"}}, &rule); code != 200 {
		t.Fatalf("create rule: %d", code)
	}
	if rule.Rule["from_port"] != float64(22) || rule.Rule["ip_range"].(map[string]any)["cidr"] != "10.0.0.0/8" || rule.Rule["parent_group_id"] != gid {
		t.Fatalf("rule view: %v", rule.Rule)
	}
	badRules := []struct {
		body map[string]any
		code int
	}{
		{map[string]any{"parent_group_id": gid, "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"}, 400}, // duplicate
		{map[string]any{"parent_group_id": "not-a-uuid", "ip_protocol": "tcp", "from_port": 22, "to_port": 22}, 400},
		{map[string]any{"parent_group_id": "1f6f6b2e-8f0a-4d7e-9a1c-2f0f1e2d3c4b", "ip_protocol": "tcp", "from_port": 22, "to_port": 22}, 404},
		{map[string]any{"parent_group_id": gid, "ip_protocol": "tcp", "from_port": 30, "to_port": 20}, 400},
		{map[string]any{"parent_group_id": gid, "ip_protocol": "tcp", "from_port": 0, "to_port": 20}, 400},
		{map[string]any{"parent_group_id": gid, "ip_protocol": "ipip", "from_port": 1, "to_port": 2}, 400},
		{map[string]any{"parent_group_id": gid, "ip_protocol": "icmp", "from_port": 300, "to_port": 2}, 400},
		{map[string]any{"parent_group_id": gid}, 400},
	}
	for _, br := range badRules {
		if code := do("POST", "/v2.1/os-security-group-rules", "", map[string]any{"security_group_rule": br.body}, nil); code != br.code {
			t.Fatalf("rule %v: %d, want %d", br.body, code, br.code)
		}
	}
	if code := do("GET", "/v2.1/os-security-groups/"+gid, "", nil, &sg); code != 200 || len(sg.SecurityGroup.Rules) != 1 {
		t.Fatalf("show group: %d %+v", code, sg)
	}
	// A server gains and loses the group on its ports.
	id := bootActive(t, c, "sg")
	if code := action(t, c, demo, "", id, map[string]any{"addSecurityGroup": map[string]any{"name": "web"}}, nil); code != 202 {
		t.Fatalf("add group: %d", code)
	}
	var groups struct {
		SecurityGroups []map[string]any `json:"security_groups"`
	}
	do("GET", "/v2.1/servers/"+id+"/os-security-groups", "", nil, &groups)
	found := false
	for _, g := range groups.SecurityGroups {
		found = found || g["id"] == gid
	}
	if !found {
		t.Fatalf("server groups: %v", groups)
	}
	if code := do("DELETE", "/v2.1/os-security-groups/"+gid, "", nil, nil); code != 400 {
		t.Fatalf("delete group in use: %d, want 400", code)
	}
	if code := action(t, c, demo, "", id, map[string]any{"removeSecurityGroup": map[string]any{"name": "web"}}, nil); code != 202 {
		t.Fatalf("remove group: %d", code)
	}
	if code := action(t, c, demo, "", id, map[string]any{"removeSecurityGroup": map[string]any{"name": "web"}}, nil); code != 400 {
		t.Fatalf("remove group again: %d, want 400", code)
	}
	if code := action(t, c, demo, "", id, map[string]any{"addSecurityGroup": map[string]any{"name": "nosuch"}}, nil); code != 404 {
		t.Fatalf("add unknown group: %d, want 404", code)
	}
	if code := do("DELETE", "/v2.1/os-security-group-rules/"+rule.Rule["id"].(string), "", nil, nil); code != 202 {
		t.Fatalf("delete rule: %d", code)
	}
	if code := do("DELETE", "/v2.1/os-security-groups/"+gid, "", nil, nil); code != 202 {
		t.Fatalf("delete group: %d", code)
	}

	// Floating IPs.
	c.Network.AddExternalNetwork("public", "172.24.4.0/24")
	var pools struct {
		Pools []map[string]string `json:"floating_ip_pools"`
	}
	if code := do("GET", "/v2.1/os-floating-ip-pools", "", nil, &pools); code != 200 || len(pools.Pools) != 1 || pools.Pools[0]["name"] != "public" {
		t.Fatalf("pools: %d %+v", code, pools)
	}
	var fip struct {
		FIP map[string]any `json:"floating_ip"`
	}
	if code := do("POST", "/v2.1/os-floating-ips", "", map[string]any{"pool": "public"}, &fip); code != 200 || fip.FIP["pool"] != "public" || fip.FIP["instance_id"] != nil {
		t.Fatalf("allocate: %d %+v", code, fip)
	}
	if code := do("POST", "/v2.1/os-floating-ips", "", map[string]any{"pool": "nosuch"}, nil); code != 404 {
		t.Fatalf("allocate from an unknown pool: %d, want 404", code)
	}
	addr, fid := fip.FIP["ip"].(string), fip.FIP["id"].(string)
	if code := action(t, c, demo, "2.43", id, map[string]any{"addFloatingIp": map[string]any{"address": addr}}, nil); code != 202 {
		t.Fatalf("associate: %d", code)
	}
	if code := action(t, c, demo, "2.44", id, map[string]any{"addFloatingIp": map[string]any{"address": addr}}, nil); code != 400 && code != 404 {
		t.Fatalf("associate at 2.44: %d", code)
	}
	do("GET", "/v2.1/os-floating-ips/"+fid, "", nil, &fip)
	if fip.FIP["instance_id"] != id || fip.FIP["fixed_ip"] == nil {
		t.Fatalf("associated floating IP: %+v", fip)
	}
	eventually(t, 5e9, "the floating address in the server's addresses", func() bool {
		s := show(t, c, id)
		for _, as := range s.Addresses {
			for _, a := range as {
				if a["addr"] == addr {
					return true
				}
			}
		}
		return false
	})
	if code := action(t, c, demo, "2.43", id, map[string]any{"addFloatingIp": map[string]any{"address": "1.2.3.4"}}, nil); code != 404 {
		t.Fatalf("associate an unknown address: %d, want 404", code)
	}
	if code := action(t, c, demo, "2.43", id, map[string]any{"removeFloatingIp": map[string]any{"address": addr}}, nil); code != 202 {
		t.Fatalf("disassociate: %d", code)
	}
	if code := action(t, c, demo, "2.43", id, map[string]any{"removeFloatingIp": map[string]any{"address": addr}}, nil); code != 409 {
		t.Fatalf("disassociate again: %d, want 409", code)
	}
	var list struct {
		FIPs []map[string]any `json:"floating_ips"`
	}
	if code := do("GET", "/v2.1/os-floating-ips", "", nil, &list); code != 200 || len(list.FIPs) != 1 {
		t.Fatalf("list: %d %+v", code, list)
	}
	if code := do("DELETE", "/v2.1/os-floating-ips/"+fid, "", nil, nil); code != 202 {
		t.Fatalf("release: %d", code)
	}
	if code := do("GET", "/v2.1/os-floating-ips/"+fid, "", nil, nil); code != 404 {
		t.Fatalf("show released: %d, want 404", code)
	}
}

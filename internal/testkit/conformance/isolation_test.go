package conformance_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

// as calls an API with one token and decodes the JSON answer.
type as struct {
	t     *testing.T
	token string
}

// do sends body (marshalled unless it is a string) and returns the status
// and the decoded answer (nil when it is not a JSON object).
func (a as) do(method, url string, body any, hdr ...string) (int, map[string]any) {
	a.t.Helper()
	s, ok := body.(string)
	if !ok && body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		s = string(b)
	}
	code, out := rawRequest(a.t, method, url, a.token, s, hdr...)
	var m map[string]any
	json.Unmarshal([]byte(out), &m)
	return code, m
}

// must is do for a call that has to succeed; it returns the object under key.
func (a as) must(method, url string, body any, key string, hdr ...string) map[string]any {
	a.t.Helper()
	code, m := a.do(method, url, body, hdr...)
	if code >= 300 {
		a.t.Fatalf("%s %s: %d %v", method, url, code, m)
	}
	if key == "" {
		return m
	}
	o, _ := m[key].(map[string]any)
	if o == nil {
		a.t.Fatalf("%s %s: no %q in %v", method, url, key, m)
	}
	return o
}

// id is the string id of an API object.
func id(o map[string]any) string { s, _ := o["id"].(string); return s }

// listed reports whether a list answer holds an object with that id.
func listed(m map[string]any, key, want string) bool {
	l, _ := m[key].([]any)
	for _, o := range l {
		if om, _ := o.(map[string]any); om != nil && (om["id"] == want || om["name"] == want) {
			return true
		}
	}
	return false
}

// A member of project B can neither see nor touch nor use anything of
// project A, in any service (issue 13): every resource of A is asked for,
// listed, updated, deleted and named in B's own requests (boot with A's
// port, network, group, image, key pair and security group; a router
// interface on A's subnet; a floating IP onto A's port; A's image shared,
// A's volume attached or copied...). Each row states the status OpenStack
// answers. A's own show of every resource is the control: each URL is right.
func TestTenantIsolation(t *testing.T) {
	c := startCloud(t, nil)
	ks := strings.TrimSuffix(c.AuthURL, "/")
	nova := strings.TrimSuffix(c.URLs["nova"], "/")
	neutron := "http://" + c.Addrs["neutron"] + "/v2.0"
	glance := "http://" + c.Addrs["glance"] + "/v2"
	admin := as{t, c.Token(t, "admin", "admin")}
	aProject := projectID(t, c, "demo")

	// Project B with its own member.
	member := admin.must("GET", ks+"/roles?name=member", nil, "")["roles"].([]any)[0].(map[string]any)
	bProj := admin.must("POST", ks+"/projects", map[string]any{"project": map[string]any{"name": "rival", "domain_id": "default"}}, "project")
	bUser := admin.must("POST", ks+"/users", map[string]any{"user": map[string]any{"name": "rival", "domain_id": "default",
		"password": testkit.Password, "default_project_id": id(bProj)}}, "user")
	admin.must("PUT", ks+"/projects/"+id(bProj)+"/users/"+id(bUser)+"/roles/"+id(member), nil, "")
	A := as{t, c.Token(t, "demo", "demo")}
	B := as{t, c.Token(t, "rival", "rival")}
	cinderA := "http://" + c.Addrs["cinder"] + "/v3/" + aProject
	cinderB := "http://" + c.Addrs["cinder"] + "/v3/" + id(bProj)
	mv := []string{"OpenStack-API-Version", "compute 2.79"}

	image := anImage(t, c) // a public one, before A has its own

	// Project A's resources.
	aUser := A.must("GET", ks+"/auth/tokens", nil, "token", "X-Subject-Token", A.token)["user"].(map[string]any)
	cred := A.must("POST", ks+"/credentials", map[string]any{"credential": map[string]any{"type": "ec2", "user_id": id(aUser),
		"project_id": aProject, "blob": `{"access":"a","secret":"s"}`}}, "credential")
	appCred := A.must("POST", ks+"/users/"+id(aUser)+"/application_credentials",
		map[string]any{"application_credential": map[string]any{"name": "a-cred"}}, "application_credential")
	img := A.must("POST", glance+"/images", map[string]any{"name": "a-image", "disk_format": "raw", "container_format": "bare", "visibility": "private"}, "")
	if code, out := rawRequest(t, "PUT", glance+"/images/"+id(img)+"/file", A.token, strings.Repeat("\x00", 4096), "Content-Type", "application/octet-stream"); code != 204 {
		t.Fatalf("upload: %d %s", code, out)
	}
	net := A.must("POST", neutron+"/networks", map[string]any{"network": map[string]any{"name": "a-net"}}, "network")
	sub := A.must("POST", neutron+"/subnets", map[string]any{"subnet": map[string]any{"network_id": id(net), "cidr": "10.9.0.0/24", "ip_version": 4}}, "subnet")
	port := A.must("POST", neutron+"/ports", map[string]any{"port": map[string]any{"network_id": id(net), "name": "a-port"}}, "port")
	sg := A.must("POST", neutron+"/security-groups", map[string]any{"security_group": map[string]any{"name": "a-sg"}}, "security_group")
	pub := admin.must("GET", neutron+"/networks?name=public", nil, "")["networks"].([]any)[0].(map[string]any)
	router := A.must("POST", neutron+"/routers", map[string]any{"router": map[string]any{"name": "a-router", "external_gateway_info": map[string]any{"network_id": id(pub)}}}, "router")
	A.must("PUT", neutron+"/routers/"+id(router)+"/add_router_interface", map[string]any{"subnet_id": id(sub)}, "")
	fip := A.must("POST", neutron+"/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": id(pub)}}, "floatingip")
	key := A.must("POST", nova+"/os-keypairs", map[string]any{"keypair": map[string]any{"name": "a-key"}}, "keypair", mv...)
	group := A.must("POST", nova+"/os-server-groups", map[string]any{"server_group": map[string]any{"name": "a-group", "policy": "anti-affinity"}}, "server_group", mv...)
	server := A.must("POST", nova+"/servers", map[string]any{"server": map[string]any{"name": "a-server", "imageRef": image, "flavorRef": "1",
		"networks": []any{map[string]any{"uuid": id(net)}}}}, "server", mv...)
	vol := A.must("POST", cinderA+"/volumes", map[string]any{"volume": map[string]any{"name": "a-vol", "size": 1}}, "volume")

	scope := A.must("POST", neutron+"/address-scopes", map[string]any{"address_scope": map[string]any{"name": "a-scope", "ip_version": 4}}, "address_scope")
	pool := A.must("POST", neutron+"/subnetpools", map[string]any{"subnetpool": map[string]any{"name": "a-pool", "prefixes": []any{"10.100.0.0/16"}, "default_prefixlen": 24}}, "subnetpool")
	rule := A.must("POST", neutron+"/security-group-rules", map[string]any{"security_group_rule": map[string]any{"security_group_id": id(sg), "direction": "ingress", "protocol": "tcp"}}, "security_group_rule")
	trust := A.must("POST", ks+"/OS-TRUST/trusts", map[string]any{"trust": map[string]any{"trustor_user_id": id(aUser),
		"trustee_user_id": id(admin.must("GET", ks+"/auth/tokens", nil, "token", "X-Subject-Token", admin.token)["user"].(map[string]any)),
		"project_id":      aProject, "impersonation": false, "roles": []any{map[string]any{"name": "member"}}}}, "trust")
	flavor := admin.must("POST", nova+"/flavors", map[string]any{"flavor": map[string]any{"name": "a-private", "ram": 64, "vcpus": 1, "disk": 1,
		"os-flavor-access:is_public": false}}, "flavor", mv...)
	admin.must("POST", nova+"/flavors/"+id(flavor)+"/action", map[string]any{"addTenantAccess": map[string]any{"tenant": aProject}}, "", mv...)
	vtype := admin.must("POST", cinderA+"/types", map[string]any{"volume_type": map[string]any{"name": "a-private", "os-volume-type-access:is_public": false}}, "volume_type")
	admin.must("POST", cinderA+"/types/"+id(vtype)+"/action", map[string]any{"addProjectAccess": map[string]any{"project": aProject}}, "")
	legacy := []string{"OpenStack-API-Version", "compute 2.1"} // the proxy APIs end at 2.36

	// Project B's own, to name A's resources in.
	bNet := B.must("POST", neutron+"/networks", map[string]any{"network": map[string]any{"name": "b-net"}}, "network")
	B.must("POST", neutron+"/subnets", map[string]any{"subnet": map[string]any{"network_id": id(bNet), "cidr": "10.8.0.0/24", "ip_version": 4}}, "subnet")
	bRouter := B.must("POST", neutron+"/routers", map[string]any{"router": map[string]any{"name": "b-router"}}, "router")
	bFip := B.must("POST", neutron+"/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": id(pub)}}, "floatingip")
	bServer := B.must("POST", nova+"/servers", map[string]any{"server": map[string]any{"name": "b-server", "imageRef": image, "flavorRef": "1",
		"networks": []any{map[string]any{"uuid": id(bNet)}}}}, "server", mv...)
	for _, s := range []struct {
		who as
		id  string
	}{{A, id(server)}, {B, id(bServer)}} {
		testkit.Eventually(t, 60*time.Second, func() bool {
			_, m := s.who.do("GET", nova+"/servers/"+s.id, nil, mv...)
			o, _ := m["server"].(map[string]any)
			return o != nil && o["status"] == "ACTIVE"
		}, "server %s not ACTIVE", s.id)
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, m := A.do("GET", cinderA+"/volumes/"+id(vol), nil)
		o, _ := m["volume"].(map[string]any)
		return o != nil && o["status"] == "available"
	}, "volume not available")
	snap := A.must("POST", cinderA+"/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": id(vol), "name": "a-snap"}}, "snapshot")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, m := A.do("GET", cinderA+"/snapshots/"+id(snap), nil)
		o, _ := m["snapshot"].(map[string]any)
		return o != nil && o["status"] == "available"
	}, "snapshot not available")
	boot := func(extra map[string]any) map[string]any {
		s := map[string]any{"name": "b-boot", "imageRef": image, "flavorRef": "1", "networks": []any{map[string]any{"uuid": id(bNet)}}}
		for k, v := range extra {
			s[k] = v
		}
		body := map[string]any{"server": s}
		if h, ok := extra["os:scheduler_hints"]; ok {
			delete(s, "os:scheduler_hints")
			body["os:scheduler_hints"] = h
		}
		return body
	}

	type row struct {
		resource, verb, method, url string
		body                        any
		want                        int
		hdr                         []string
	}
	rows := []row{
		// Keystone
		{"project", "show", "GET", ks + "/projects/" + aProject, nil, 403, nil},
		{"project", "update", "PATCH", ks + "/projects/" + aProject, map[string]any{"project": map[string]any{"description": "x"}}, 403, nil},
		{"project", "delete", "DELETE", ks + "/projects/" + aProject, nil, 403, nil},
		{"project", "grant self a role", "PUT", ks + "/projects/" + aProject + "/users/" + id(bUser) + "/roles/" + id(member), nil, 403, nil},
		{"user", "show", "GET", ks + "/users/" + id(aUser), nil, 403, nil},
		{"user", "update", "PATCH", ks + "/users/" + id(aUser), map[string]any{"user": map[string]any{"description": "x"}}, 403, nil},
		{"user", "delete", "DELETE", ks + "/users/" + id(aUser), nil, 403, nil},
		{"user", "list projects", "GET", ks + "/users/" + id(aUser) + "/projects", nil, 403, nil},
		{"credential", "show", "GET", ks + "/credentials/" + id(cred), nil, 403, nil},
		{"credential", "update", "PATCH", ks + "/credentials/" + id(cred), map[string]any{"credential": map[string]any{"blob": "{}"}}, 403, nil},
		{"credential", "delete", "DELETE", ks + "/credentials/" + id(cred), nil, 403, nil},
		{"application credential", "show", "GET", ks + "/users/" + id(aUser) + "/application_credentials/" + id(appCred), nil, 403, nil},
		{"application credential", "list", "GET", ks + "/users/" + id(aUser) + "/application_credentials", nil, 403, nil},
		{"application credential", "delete", "DELETE", ks + "/users/" + id(aUser) + "/application_credentials/" + id(appCred), nil, 403, nil},
		// Glance
		{"image", "show", "GET", glance + "/images/" + id(img), nil, 404, nil},
		{"image", "update", "PATCH", glance + "/images/" + id(img), `[{"op":"replace","path":"/name","value":"x"}]`, 404, []string{"Content-Type", "application/openstack-images-v2.1-json-patch"}},
		{"image", "delete", "DELETE", glance + "/images/" + id(img), nil, 404, nil},
		{"image", "download", "GET", glance + "/images/" + id(img) + "/file", nil, 404, nil},
		{"image", "member add", "POST", glance + "/images/" + id(img) + "/members", map[string]any{"member": id(bProj)}, 404, nil},
		{"image", "members list", "GET", glance + "/images/" + id(img) + "/members", nil, 404, nil},
		{"image", "tag add", "PUT", glance + "/images/" + id(img) + "/tags/x", nil, 404, nil},
		{"image", "deactivate", "POST", glance + "/images/" + id(img) + "/actions/deactivate", nil, 404, nil},
		// Neutron
		{"network", "show", "GET", neutron + "/networks/" + id(net), nil, 404, nil},
		{"network", "update", "PUT", neutron + "/networks/" + id(net), map[string]any{"network": map[string]any{"name": "x"}}, 404, nil},
		{"network", "delete", "DELETE", neutron + "/networks/" + id(net), nil, 404, nil},
		{"network", "port on it", "POST", neutron + "/ports", map[string]any{"port": map[string]any{"network_id": id(net)}}, 404, nil},
		{"network", "subnet on it", "POST", neutron + "/subnets", map[string]any{"subnet": map[string]any{"network_id": id(net), "cidr": "10.7.0.0/24", "ip_version": 4}}, 404, nil},
		{"subnet", "show", "GET", neutron + "/subnets/" + id(sub), nil, 404, nil},
		{"subnet", "update", "PUT", neutron + "/subnets/" + id(sub), map[string]any{"subnet": map[string]any{"name": "x"}}, 404, nil},
		{"subnet", "delete", "DELETE", neutron + "/subnets/" + id(sub), nil, 404, nil},
		{"subnet", "router interface", "PUT", neutron + "/routers/" + id(bRouter) + "/add_router_interface", map[string]any{"subnet_id": id(sub)}, 404, nil},
		{"subnet", "port with an address on it", "POST", neutron + "/ports", map[string]any{"port": map[string]any{"network_id": id(bNet), "fixed_ips": []any{map[string]any{"subnet_id": id(sub)}}}}, 400, nil},
		{"port", "show", "GET", neutron + "/ports/" + id(port), nil, 404, nil},
		{"port", "update", "PUT", neutron + "/ports/" + id(port), map[string]any{"port": map[string]any{"name": "x"}}, 404, nil},
		{"port", "delete", "DELETE", neutron + "/ports/" + id(port), nil, 404, nil},
		{"port", "router interface", "PUT", neutron + "/routers/" + id(bRouter) + "/add_router_interface", map[string]any{"port_id": id(port)}, 404, nil},
		{"port", "floating IP onto it", "POST", neutron + "/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": id(pub), "port_id": id(port)}}, 404, nil},
		{"port", "own floating IP moved onto it", "PUT", neutron + "/floatingips/" + id(bFip), map[string]any{"floatingip": map[string]any{"port_id": id(port)}}, 404, nil},
		{"security group", "show", "GET", neutron + "/security-groups/" + id(sg), nil, 404, nil},
		{"security group", "update", "PUT", neutron + "/security-groups/" + id(sg), map[string]any{"security_group": map[string]any{"name": "x"}}, 404, nil},
		{"security group", "delete", "DELETE", neutron + "/security-groups/" + id(sg), nil, 404, nil},
		{"security group", "rule in it", "POST", neutron + "/security-group-rules", map[string]any{"security_group_rule": map[string]any{"security_group_id": id(sg), "direction": "ingress"}}, 404, nil},
		{"security group", "port in it", "POST", neutron + "/ports", map[string]any{"port": map[string]any{"network_id": id(bNet), "security_groups": []any{id(sg)}}}, 404, nil},
		{"router", "show", "GET", neutron + "/routers/" + id(router), nil, 404, nil},
		{"router", "update", "PUT", neutron + "/routers/" + id(router), map[string]any{"router": map[string]any{"name": "x"}}, 404, nil},
		{"router", "delete", "DELETE", neutron + "/routers/" + id(router), nil, 404, nil},
		{"router", "interface added", "PUT", neutron + "/routers/" + id(router) + "/add_router_interface", map[string]any{"subnet_id": id(sub)}, 404, nil},
		{"router", "interface removed", "PUT", neutron + "/routers/" + id(router) + "/remove_router_interface", map[string]any{"subnet_id": id(sub)}, 404, nil},
		{"floating IP", "show", "GET", neutron + "/floatingips/" + id(fip), nil, 404, nil},
		{"floating IP", "update", "PUT", neutron + "/floatingips/" + id(fip), map[string]any{"floatingip": map[string]any{"port_id": nil}}, 404, nil},
		{"floating IP", "delete", "DELETE", neutron + "/floatingips/" + id(fip), nil, 404, nil},
		{"address scope", "show", "GET", neutron + "/address-scopes/" + id(scope), nil, 404, nil},
		{"address scope", "update", "PUT", neutron + "/address-scopes/" + id(scope), map[string]any{"address_scope": map[string]any{"name": "x"}}, 404, nil},
		{"address scope", "delete", "DELETE", neutron + "/address-scopes/" + id(scope), nil, 404, nil},
		{"address scope", "subnet pool in it", "POST", neutron + "/subnetpools", map[string]any{"subnetpool": map[string]any{"name": "b-pool", "prefixes": []any{"10.101.0.0/16"}, "address_scope_id": id(scope)}}, 404, nil},
		{"subnet pool", "show", "GET", neutron + "/subnetpools/" + id(pool), nil, 404, nil},
		{"subnet pool", "update", "PUT", neutron + "/subnetpools/" + id(pool), map[string]any{"subnetpool": map[string]any{"name": "x"}}, 404, nil},
		{"subnet pool", "delete", "DELETE", neutron + "/subnetpools/" + id(pool), nil, 404, nil},
		{"subnet pool", "subnet from it", "POST", neutron + "/subnets", map[string]any{"subnet": map[string]any{"network_id": id(bNet), "subnetpool_id": id(pool), "ip_version": 4}}, 404, nil},
		{"security group rule", "show", "GET", neutron + "/security-group-rules/" + id(rule), nil, 404, nil},
		{"security group rule", "delete", "DELETE", neutron + "/security-group-rules/" + id(rule), nil, 404, nil},
		{"trust", "show", "GET", ks + "/OS-TRUST/trusts/" + id(trust), nil, 403, nil},
		{"trust", "delete", "DELETE", ks + "/OS-TRUST/trusts/" + id(trust), nil, 403, nil},
		{"trust", "roles", "GET", ks + "/OS-TRUST/trusts/" + id(trust) + "/roles", nil, 403, nil},
		// Nova
		{"flavor (private to A)", "show", "GET", nova + "/flavors/" + id(flavor), nil, 404, mv},
		{"flavor (private to A)", "boot with it", "POST", nova + "/servers", boot(map[string]any{"flavorRef": id(flavor)}), 400, mv},
		{"image", "show through Nova", "GET", nova + "/images/" + id(img), nil, 404, legacy},
		{"network", "show through Nova", "GET", nova + "/os-tenant-networks/" + id(net), nil, 404, legacy},
		{"security group", "show through Nova", "GET", nova + "/os-security-groups/" + id(sg), nil, 404, legacy},
		{"security group", "delete through Nova", "DELETE", nova + "/os-security-groups/" + id(sg), nil, 404, legacy},
		{"security group", "rule through Nova", "POST", nova + "/os-security-group-rules", map[string]any{"security_group_rule": map[string]any{
			"parent_group_id": id(sg), "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0"}}, 404, legacy},
		{"floating IP", "show through Nova", "GET", nova + "/os-floating-ips/" + id(fip), nil, 404, legacy},
		{"floating IP", "release through Nova", "DELETE", nova + "/os-floating-ips/" + id(fip), nil, 404, legacy},
		{"server", "show", "GET", nova + "/servers/" + id(server), nil, 404, mv},
		{"server", "update", "PUT", nova + "/servers/" + id(server), map[string]any{"server": map[string]any{"name": "x"}}, 404, mv},
		{"server", "delete", "DELETE", nova + "/servers/" + id(server), nil, 404, mv},
		{"server", "reboot", "POST", nova + "/servers/" + id(server) + "/action", map[string]any{"reboot": map[string]any{"type": "SOFT"}}, 404, mv},
		{"server", "metadata", "GET", nova + "/servers/" + id(server) + "/metadata", nil, 404, mv},
		{"server", "interfaces", "GET", nova + "/servers/" + id(server) + "/os-interface", nil, 404, mv},
		{"server", "volume attach", "POST", nova + "/servers/" + id(server) + "/os-volume_attachments", map[string]any{"volumeAttachment": map[string]any{"volumeId": id(vol)}}, 404, mv},
		{"server", "console", "POST", nova + "/servers/" + id(server) + "/remote-consoles", map[string]any{"remote_console": map[string]any{"protocol": "vnc", "type": "novnc"}}, 404, mv},
		{"server", "actions", "GET", nova + "/servers/" + id(server) + "/os-instance-actions", nil, 404, mv},
		{"key pair", "show", "GET", nova + "/os-keypairs/" + key["name"].(string), nil, 404, mv},
		{"key pair", "delete", "DELETE", nova + "/os-keypairs/" + key["name"].(string), nil, 404, mv},
		{"key pair", "boot with it", "POST", nova + "/servers", boot(map[string]any{"key_name": key["name"]}), 400, mv},
		{"server group", "show", "GET", nova + "/os-server-groups/" + id(group), nil, 404, mv},
		{"server group", "delete", "DELETE", nova + "/os-server-groups/" + id(group), nil, 404, mv},
		{"server group", "boot into it", "POST", nova + "/servers", boot(map[string]any{"os:scheduler_hints": map[string]any{"group": id(group)}}), 400, mv},
		{"port", "boot with it", "POST", nova + "/servers", boot(map[string]any{"networks": []any{map[string]any{"port": id(port)}}}), 400, mv},
		{"port", "interface attach", "POST", nova + "/servers/" + id(bServer) + "/os-interface", map[string]any{"interfaceAttachment": map[string]any{"port_id": id(port)}}, 404, mv},
		{"network", "boot on it", "POST", nova + "/servers", boot(map[string]any{"networks": []any{map[string]any{"uuid": id(net)}}}), 400, mv},
		{"network", "interface attach", "POST", nova + "/servers/" + id(bServer) + "/os-interface", map[string]any{"interfaceAttachment": map[string]any{"net_id": id(net)}}, 404, mv},
		{"image", "boot from it", "POST", nova + "/servers", boot(map[string]any{"imageRef": id(img)}), 400, mv},
		{"image", "boot from it as a block device", "POST", nova + "/servers", boot(map[string]any{"imageRef": "", "block_device_mapping_v2": []any{map[string]any{
			"boot_index": 0, "uuid": id(img), "source_type": "image", "destination_type": "local", "delete_on_termination": true}}}), 400, mv},
		{"security group", "boot in it", "POST", nova + "/servers", boot(map[string]any{"security_groups": []any{map[string]any{"name": id(sg)}}}), 400, mv},
		{"volume", "attach to own server", "POST", nova + "/servers/" + id(bServer) + "/os-volume_attachments", map[string]any{"volumeAttachment": map[string]any{"volumeId": id(vol)}}, 404, mv},
		{"volume", "boot from it", "POST", nova + "/servers", boot(map[string]any{"imageRef": "", "block_device_mapping_v2": []any{map[string]any{
			"boot_index": 0, "uuid": id(vol), "source_type": "volume", "destination_type": "volume"}}}), 400, mv},
		{"project", "compute quota", "GET", nova + "/os-quota-sets/" + aProject, nil, 403, mv},
		{"project", "compute quota update", "PUT", nova + "/os-quota-sets/" + aProject, map[string]any{"quota_set": map[string]any{"instances": 99}}, 403, mv},
		{"project", "compute usage", "GET", nova + "/os-simple-tenant-usage/" + aProject, nil, 403, mv},
		{"project", "network quota", "GET", neutron + "/quotas/" + aProject, nil, 403, nil},
		{"project", "network quota update", "PUT", neutron + "/quotas/" + aProject, map[string]any{"quota": map[string]any{"network": 99}}, 403, nil},
		// Cinder
		{"volume type (private to A)", "show", "GET", cinderB + "/types/" + id(vtype), nil, 404, nil},
		{"volume type (private to A)", "volume of it", "POST", cinderB + "/volumes", map[string]any{"volume": map[string]any{"size": 1, "volume_type": id(vtype)}}, 404, nil},
		{"project", "volume quota", "GET", cinderB + "/os-quota-sets/" + aProject, nil, 403, nil},
		{"volume", "show", "GET", cinderB + "/volumes/" + id(vol), nil, 404, nil},
		{"volume", "update", "PUT", cinderB + "/volumes/" + id(vol), map[string]any{"volume": map[string]any{"name": "x"}}, 404, nil},
		{"volume", "delete", "DELETE", cinderB + "/volumes/" + id(vol), nil, 404, nil},
		{"volume", "extend", "POST", cinderB + "/volumes/" + id(vol) + "/action", map[string]any{"os-extend": map[string]any{"new_size": 2}}, 404, nil},
		{"volume", "metadata", "GET", cinderB + "/volumes/" + id(vol) + "/metadata", nil, 404, nil},
		{"volume", "clone", "POST", cinderB + "/volumes", map[string]any{"volume": map[string]any{"size": 1, "source_volid": id(vol)}}, 404, nil},
		{"volume", "snapshot", "POST", cinderB + "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": id(vol)}}, 404, nil},
		{"volume", "show in A's URL", "GET", cinderA + "/volumes/" + id(vol), nil, 404, nil},
		{"volume snapshot", "show", "GET", cinderB + "/snapshots/" + id(snap), nil, 404, nil},
		{"volume snapshot", "update", "PUT", cinderB + "/snapshots/" + id(snap), map[string]any{"snapshot": map[string]any{"name": "x"}}, 404, nil},
		{"volume snapshot", "delete", "DELETE", cinderB + "/snapshots/" + id(snap), nil, 404, nil},
		{"volume snapshot", "metadata", "GET", cinderB + "/snapshots/" + id(snap) + "/metadata", nil, 404, nil},
		{"volume snapshot", "volume from it", "POST", cinderB + "/volumes", map[string]any{"volume": map[string]any{"size": 1, "snapshot_id": id(snap)}}, 404, nil},
		{"volume snapshot", "force delete", "POST", cinderB + "/snapshots/" + id(snap) + "/action", map[string]any{"os-force_delete": map[string]any{}}, 404, nil},
	}
	// B's lists hold none of A's resources.
	lists := []struct{ url, key, id string }{
		{ks + "/credentials", "credentials", id(cred)},
		{ks + "/users/" + id(bUser) + "/projects", "projects", aProject},
		{glance + "/images", "images", id(img)},
		{neutron + "/networks", "networks", id(net)},
		{neutron + "/subnets", "subnets", id(sub)},
		{neutron + "/ports", "ports", id(port)},
		{neutron + "/security-groups", "security_groups", id(sg)},
		{neutron + "/routers", "routers", id(router)},
		{neutron + "/floatingips", "floatingips", id(fip)},
		{nova + "/servers", "servers", id(server)},
		{nova + "/servers/detail", "servers", id(server)},
		{nova + "/os-keypairs", "keypairs", key["name"].(string)},
		{nova + "/os-server-groups?all_projects=1", "server_groups", id(group)},
		{cinderB + "/volumes/detail?all_tenants=1", "volumes", id(vol)},
		{cinderB + "/types", "volume_types", id(vtype)},
		{cinderB + "/snapshots/detail?all_tenants=1", "snapshots", id(snap)},
		{nova + "/flavors", "flavors", id(flavor)},
		{neutron + "/subnetpools", "subnetpools", id(pool)},
		{neutron + "/address-scopes", "address_scopes", id(scope)},
		{neutron + "/security-group-rules", "security_group_rules", id(rule)},
	}
	for _, l := range lists {
		code, m := B.do("GET", l.url, nil, mv...)
		if code != 200 {
			t.Errorf("B lists %s: %d %v", l.url, code, m)
		}
		if listed(m, l.key, l.id) {
			t.Errorf("B's list %s shows A's %s", l.url, l.id)
		}
		if strings.Contains(l.url, "/users/") {
			continue
		}
		if _, m := A.do("GET", strings.Replace(l.url, cinderB, cinderA, 1), nil, mv...); !listed(m, l.key, l.id) && !strings.Contains(l.url, "keypairs") {
			t.Errorf("control: A's list %s lacks %s", l.url, l.id)
		}
	}
	for _, r := range rows {
		if r.verb == "show" {
			if code, m := A.do(r.method, strings.Replace(r.url, cinderB, cinderA, 1), nil, r.hdr...); code != 200 {
				t.Errorf("control: A shows its %s: %d %v", r.resource, code, m)
			}
		}
		code, m := B.do(r.method, r.url, r.body, r.hdr...)
		if code != r.want {
			t.Errorf("B %s A's %s (%s %s): %d %v, want %d", r.verb, r.resource, r.method, r.url, code, m, r.want)
		}
	}
	// Nothing of A's changed.
	if _, m := A.do("GET", nova+"/servers/"+id(server), nil, mv...); m["server"] == nil || m["server"].(map[string]any)["name"] != "a-server" {
		t.Errorf("A's server after B's tries: %v", m)
	}
	if code, m := A.do("GET", nova+"/os-server-groups/"+id(group), nil, mv...); code != 200 || fmt.Sprint(m["server_group"].(map[string]any)["members"]) != "[]" {
		t.Errorf("A's server group after B's tries: %d %v", code, m)
	}
}

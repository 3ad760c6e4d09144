package network_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/fake"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

func TestAgentsWirePortsAndNovaHears(t *testing.T) {
	c := newCloud(t, nil)
	d := fake.New()
	c.agent("compute1", d)

	// The host's agents show up, alive, to admins only.
	eventually(t, "agents", func() bool {
		r := c.do("GET", "/v2.0/agents", "admin", nil)
		l, _ := r.body["agents"].([]any)
		return len(l) == 4 && l[0].(map[string]any)["alive"] == true
	})
	if l := c.ok(c.do("GET", "/v2.0/agents", "demo", nil), 200, "")["agents"].([]any); len(l) != 0 {
		t.Fatalf("demo sees %d agents", len(l))
	}

	net := c.ok(c.do("POST", "/v2.0/networks", "demo", map[string]any{"network": map[string]any{"name": "n1"}}), 201, "network")
	netID := net["id"].(string)
	c.ok(c.do("POST", "/v2.0/subnets", "demo", map[string]any{"subnet": map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.1.0.0/24"}}), 201, "subnet")

	// DHCP is scheduled on the host; its port comes up.
	eventually(t, "dhcp on the host", func() bool { _, ok := d.DHCP(netID); return ok })
	eventually(t, "dhcp port active", func() bool {
		r := c.do("GET", "/v2.0/ports?device_owner=network:dhcp&network_id="+netID, "admin", nil)
		l, _ := r.body["ports"].([]any)
		return len(l) == 1 && l[0].(map[string]any)["status"] == "ACTIVE"
	})

	// Nova binds an instance port to the host: the agent wires it, the port
	// goes ACTIVE and Nova hears network-vif-plugged.
	port := c.ok(c.do("POST", "/v2.0/ports", "demo", map[string]any{"port": map[string]any{"network_id": netID}}), 201, "port")
	portID := port["id"].(string)
	if port["status"] != "DOWN" || port["binding:host_id"] != nil {
		t.Fatalf("new port: status %v, binding visible to a member: %v", port["status"], port["binding:host_id"])
	}
	up := c.ok(c.do("PUT", "/v2.0/ports/"+portID, "admin", map[string]any{"port": map[string]any{
		"binding:host_id": "compute1", "device_id": "vm-1", "device_owner": "compute:nova"}}), 200, "port")
	if up["binding:vif_type"] != "bridge" {
		t.Fatalf("binding: %v %v", up["binding:vif_type"], up["binding:vif_details"])
	}
	if !c.nova.Wait(netapi.EventVIFPlugged, portID, 10*time.Second) {
		t.Fatalf("no network-vif-plugged; events %v", c.nova.Events())
	}
	if p := c.ok(c.do("GET", "/v2.0/ports/"+portID, "demo", nil), 200, "port"); p["status"] != "ACTIVE" {
		t.Fatalf("port status %v", p["status"])
	}
	pp, ok := d.Port(portID)
	f, okf := d.Filter(portID)
	if !ok || pp.Device != "tap"+portID[:11] || pp.Network.Segment.NetworkType != "vxlan" || !okf || !f.Enabled || len(f.Rules) != 4 ||
		f.Rules[0].RemoteGroupID == "" || len(f.Rules[0].RemoteCIDRs) != 0 {
		t.Fatalf("driver: plugged=%v %+v filter=%v %+v", ok, pp, okf, f)
	}
	// The default group's ingress rules name the group: the host holds its
	// member sets, with the port's address (and no IPv6 one).
	group := f.Rules[0].RemoteGroupID
	ip := port["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	eventually(t, "member sets", func() bool {
		v4, ok4 := d.MemberSet(group, "IPv4")
		v6, ok6 := d.MemberSet(group, "IPv6")
		return ok4 && ok6 && slices.Equal(v4.CIDRs, []string{ip + "/32"}) && len(v6.CIDRs) == 0
	})
	// The DHCP server learned the host.
	eventually(t, "dhcp host entry", func() bool {
		dh, _ := d.DHCP(netID)
		for _, h := range dh.Hosts {
			if h.PortID == portID {
				return true
			}
		}
		return false
	})

	// A restarted agent (on a host whose data plane was lost) resyncs.
	d2 := fake.New()
	c.agent("compute1", d2)
	eventually(t, "resync", func() bool {
		_, p := d2.Port(portID)
		_, dh := d2.DHCP(netID)
		return p && dh && d2.Resyncs() >= 1
	})

	// Deleting the port unplugs it and tells Nova.
	c.ok(c.do("DELETE", "/v2.0/ports/"+portID, "demo", nil), 204, "")
	if !c.nova.Wait(netapi.EventVIFDeleted, portID, 10*time.Second) {
		t.Fatalf("no network-vif-deleted; events %v", c.nova.Events())
	}
	eventually(t, "unplug", func() bool { _, ok := d2.Port(portID); return !ok })
}

func TestRoutersOnTheAgent(t *testing.T) {
	c := newCloud(t, nil)
	d := fake.New()
	c.agent("net1", d)
	eventually(t, "agents", func() bool {
		l, _ := c.do("GET", "/v2.0/agents?agent_type=L3+agent", "admin", nil).body["agents"].([]any)
		return len(l) == 1
	})
	ids, err := c.svc.EnsureDefaultTopology(context.Background(), network.DevstackTopology("admin-p", "demo-p"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.svc.EnsureDefaultTopology(context.Background(), network.DevstackTopology("admin-p", "demo-p"))
	if err != nil || again != ids {
		t.Fatalf("second run: %+v %v, first %+v", again, err, ids)
	}
	eventually(t, "router on the host", func() bool {
		r, ok := d.Router(ids.RouterID)
		return ok && r.Gateway != nil && len(r.Interfaces) == 1 && r.EnableSNAT
	})
	r, _ := d.Router(ids.RouterID)
	if r.Interfaces[0].Addresses[0].IP != "10.0.0.1" || r.Interfaces[0].Addresses[0].PrefixLen != 26 || r.Gateway.Network.Segment.NetworkType != "flat" {
		t.Fatalf("router: %+v", r)
	}
	// A floating IP on an instance port reaches the router and goes ACTIVE.
	port := c.ok(c.do("POST", "/v2.0/ports", "demo", map[string]any{"port": map[string]any{"network_id": ids.PrivateNetworkID}}), 201, "port")
	fip := c.ok(c.do("POST", "/v2.0/floatingips", "demo", map[string]any{"floatingip": map[string]any{
		"floating_network_id": ids.PublicNetworkID, "port_id": port["id"]}}), 201, "floatingip")
	if fip["router_id"] != ids.RouterID {
		t.Fatalf("floating IP router %v", fip["router_id"])
	}
	eventually(t, "DNAT", func() bool {
		r, _ := d.Router(ids.RouterID)
		return len(r.FloatingIPs) == 1 && r.FloatingIPs[0].FloatingIP == fip["floating_ip_address"]
	})
	eventually(t, "floating IP active", func() bool {
		return c.do("GET", "/v2.0/floatingips/"+fip["id"].(string), "demo", nil).body["floatingip"].(map[string]any)["status"] == "ACTIVE"
	})
	// The demo project sees public (external) and its own network.
	nets := c.ok(c.do("GET", "/v2.0/networks", "demo", nil), 200, "")["networks"].([]any)
	if len(nets) != 2 {
		t.Fatalf("demo sees %d networks", len(nets))
	}
	for _, n := range nets {
		m := n.(map[string]any)
		if _, ok := m["provider:network_type"]; ok {
			t.Fatal("provider attributes shown to a member")
		}
	}
}

func TestAgentRetriesAFailedPlug(t *testing.T) {
	c := newCloud(t, nil)
	d := fake.New()
	boom := errors.New("tap busy")
	d.Fail("PlugPort", boom)
	c.agent("compute9", d)
	eventually(t, "agents", func() bool {
		l, _ := c.do("GET", "/v2.0/agents?host=compute9", "admin", nil).body["agents"].([]any)
		return len(l) == 4
	})
	net := c.ok(c.do("POST", "/v2.0/networks", "admin", map[string]any{"network": map[string]any{"name": "r"}}), 201, "network")
	port := c.ok(c.do("POST", "/v2.0/ports", "admin", map[string]any{"port": map[string]any{"network_id": net["id"],
		"binding:host_id": "compute9", "device_owner": "compute:nova", "device_id": "vm-9"}}), 201, "port")
	id := port["id"].(string)
	eventually(t, "a failed plug", func() bool {
		for _, call := range d.Calls() {
			if call == "PlugPort "+id {
				return true
			}
		}
		return false
	})
	if p := c.ok(c.do("GET", "/v2.0/ports/"+id, "admin", nil), 200, "port"); p["status"] != "DOWN" {
		t.Fatalf("status %v while the plug fails", p["status"])
	}
	d.Fail("PlugPort", nil)
	eventually(t, "port active after the retry", func() bool {
		return c.ok(c.do("GET", "/v2.0/ports/"+id, "admin", nil), 200, "port")["status"] == "ACTIVE"
	})
	if !c.nova.Wait(netapi.EventVIFPlugged, id, 5*time.Second) {
		t.Fatal("no network-vif-plugged")
	}
	// A port bound to a host without agent fails to bind.
	other := c.ok(c.do("POST", "/v2.0/ports", "admin", map[string]any{"port": map[string]any{"network_id": net["id"], "binding:host_id": "nowhere"}}), 201, "port")
	if other["binding:vif_type"] != "binding_failed" {
		t.Fatalf("vif_type %v", other["binding:vif_type"])
	}
}

// metadataDriver is the fake data plane with a metadata proxy's hook: it
// keeps the lookup the agent hands it.
type metadataDriver struct {
	*fake.Driver
	mu     sync.Mutex
	lookup dataplane.MetadataLookup
}

func (m *metadataDriver) SetMetadataLookup(l dataplane.MetadataLookup) {
	m.mu.Lock()
	m.lookup = l
	m.mu.Unlock()
}

// The agent gives a metadata proxy a lookup that asks the server: a guest's
// address on one of the proxy's networks names its port's instance and
// project; an address no instance port holds, or one on another network,
// names none.
func TestMetadataLookupAsksTheServer(t *testing.T) {
	c := newCloud(t, nil)
	d := &metadataDriver{Driver: fake.New()}
	a, err := network.NewAgent(c.cfg, service.Deps{Bus: c.bus, Host: "compute1"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	d.mu.Lock()
	lookup := d.lookup
	d.mu.Unlock()
	if lookup == nil {
		t.Fatal("the agent handed the driver no metadata lookup")
	}

	mkNet := func(name, cidr string) string {
		n := c.ok(c.do("POST", "/v2.0/networks", "demo", map[string]any{"network": map[string]any{"name": name}}), 201, "network")
		c.ok(c.do("POST", "/v2.0/subnets", "demo", map[string]any{"subnet": map[string]any{"network_id": n["id"], "ip_version": 4, "cidr": cidr}}), 201, "subnet")
		return n["id"].(string)
	}
	net1, net2 := mkNet("n1", "10.1.0.0/24"), mkNet("n2", "10.2.0.0/24")
	port := func(netID, ip, device string) {
		body := map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"ip_address": ip}}}
		if device != "" {
			body["device_id"], body["device_owner"] = device, "compute:nova"
		}
		c.ok(c.do("POST", "/v2.0/ports", "demo", map[string]any{"port": body}), 201, "port")
	}
	port(net1, "10.1.0.10", "vm-1")
	port(net1, "10.1.0.11", "")
	port(net2, "10.2.0.10", "vm-2")

	ctx := context.Background()
	cases := []struct {
		nets              []string
		ip                string
		instance, project string
		err               error
	}{
		{[]string{net1}, "10.1.0.10", "vm-1", "demo-p", nil},
		{[]string{net2, net1}, "10.2.0.10", "vm-2", "demo-p", nil},
		{[]string{net1}, "10.2.0.10", "", "", dataplane.ErrUnknownAddress}, // another network's guest
		{[]string{net1}, "10.1.0.11", "", "", dataplane.ErrUnknownAddress}, // a port of no instance
		{[]string{net1}, "10.1.0.99", "", "", dataplane.ErrUnknownAddress},
	}
	for _, tc := range cases {
		inst, proj, err := lookup(ctx, tc.nets, tc.ip)
		if inst != tc.instance || proj != tc.project || !errors.Is(err, tc.err) {
			t.Errorf("lookup(%v, %s) = %q, %q, %v; want %q, %q, %v", tc.nets, tc.ip, inst, proj, err, tc.instance, tc.project, tc.err)
		}
	}
	if _, _, err := lookup(ctx, []string{net1}, "not-an-ip"); err == nil || errors.Is(err, dataplane.ErrUnknownAddress) {
		t.Errorf("lookup of a bad address: %v, want the server's refusal", err)
	}
}

package network_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network"
	"github.com/tenku-cloud/tenku/internal/network/agent"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/linuxbridge"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/linuxbridge/lbtest"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

// lbHost is a stand-in host: a namespace holding the Linux bridge driver's
// devices, with its tunnel address on the underlay, and the host's agent.
type lbHost struct {
	name, ns, ip string
	agent        *agent.Agent
}

// lbAgent starts host's network agent with the Linux bridge driver confined
// to the host's namespace (its own namespaces carry a prefix of the test's).
func (c *cloud) lbAgent(t *testing.T, h *lbHost) {
	t.Helper()
	cfg := linuxbridge.DefaultConfig()
	cfg.VXLAN.LocalIP = h.ip
	prefix := fmt.Sprintf("tk%d-%s-", os.Getpid(), h.name)
	t.Cleanup(func() { lbtest.CleanupPrefix(t, prefix) })
	d, err := linuxbridge.New(cfg, linuxbridge.Options{Namespace: h.ns, NamespacePrefix: prefix,
		StateDir: t.TempDir(), PollInterval: 100 * time.Millisecond})
	lbtest.Must(t, err)
	t.Cleanup(func() { d.Close() })
	a, err := network.NewAgent(c.cfg, service.Deps{Bus: c.bus, Host: h.name}, d)
	lbtest.Must(t, err)
	lbtest.Must(t, a.Start(context.Background()))
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	h.agent = a
}

// TestLinuxBridgeTwoHosts is the tunnel path end to end: two hosts' agents
// with the Linux bridge driver, each host a namespace, joined by a veth pair
// carrying their tunnel addresses. A VXLAN network has a port bound on each
// host; stand-in guests on the ports' taps ping each other across the hosts
// over the tunnel the server told the agents of; once host b's agent is
// stopped and deleted, host a floods nothing to b's address any more.
func TestLinuxBridgeTwoHosts(t *testing.T) {
	lbtest.NeedRoot(t, "ping", "nft")
	ctx := context.Background()
	c := newCloud(t, nil)
	a := &lbHost{name: "lbhosta", ns: lbtest.Namespace(t, "ha"), ip: "192.0.2.1"}
	b := &lbHost{name: "lbhostb", ns: lbtest.Namespace(t, "hb"), ip: "192.0.2.2"}
	lbtest.Must(t, netdev.Handle{NS: a.ns}.AddVeth(ctx, "under0", "under1", b.ns))
	for _, x := range []struct {
		h   *lbHost
		dev string
	}{{a, "under0"}, {b, "under1"}} {
		h := netdev.Handle{NS: x.h.ns}
		lbtest.Must(t, h.AddAddress(ctx, x.dev, x.h.ip+"/24"))
		lbtest.Must(t, h.SetUp(ctx, x.dev, true))
	}
	lbtest.Must(t, lbtest.Ping(ctx, a.ns, b.ip)) // the underlay works
	c.lbAgent(t, a)
	c.lbAgent(t, b)

	net := c.ok(c.do("POST", "/v2.0/networks", "admin", map[string]any{"network": map[string]any{"name": "tun"}}), 201, "network")
	if net["provider:network_type"] != "vxlan" {
		t.Fatalf("network type %v, want vxlan", net["provider:network_type"])
	}
	netID, mtu := net["id"].(string), int(net["mtu"].(float64))
	vxlanDev := linuxbridge.VXLANDevice(int(net["provider:segmentation_id"].(float64)))
	c.ok(c.do("POST", "/v2.0/subnets", "admin", map[string]any{"subnet": map[string]any{"network_id": netID,
		"ip_version": 4, "cidr": "10.31.0.0/24", "enable_dhcp": false}}), 201, "subnet")

	// One port bound on each host, its guest on the port's tap.
	guests := map[*lbHost]string{}
	addrs := map[*lbHost]string{}
	for _, h := range []*lbHost{a, b} {
		p := c.ok(c.do("POST", "/v2.0/ports", "admin", map[string]any{"port": map[string]any{"network_id": netID,
			"binding:host_id": h.name, "device_id": "vm-" + h.name, "device_owner": "compute:nova"}}), 201, "port")
		if p["binding:vif_type"] != "bridge" {
			t.Fatalf("port on %s: vif_type %v", h.name, p["binding:vif_type"])
		}
		id := p["id"].(string)
		addrs[h] = p["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
		guests[h] = lbtest.Guest(t, h.ns, dataplane.Port{ID: id, MAC: p["mac_address"].(string),
			Device: dataplane.TapName(id), Network: dataplane.Network{MTU: mtu}}, addrs[h]+"/24")
		eventually(t, "port on "+h.name+" active", func() bool {
			return c.ok(c.do("GET", "/v2.0/ports/"+id, "admin", nil), 200, "port")["status"] == "ACTIVE"
		})
	}
	floods := func(h *lbHost) []string {
		peers, err := netdev.Handle{NS: h.ns}.FloodPeers(ctx, vxlanDev)
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		return peers
	}
	eventually(t, "a floods to b", func() bool { return slices.Equal(floods(a), []string{b.ip}) })
	eventually(t, "b floods to a", func() bool { return slices.Equal(floods(b), []string{a.ip}) })
	lbtest.PingEventually(t, guests[a], addrs[b])
	lbtest.PingEventually(t, guests[b], addrs[a])

	// Host b stops and its agent is deleted: a forgets b's address.
	lbtest.Must(t, b.agent.Shutdown(ctx))
	var bID string
	for _, x := range c.ok(c.do("GET", "/v2.0/agents?agent_type=Linux+bridge+agent&host="+b.name, "admin", nil), 200, "")["agents"].([]any) {
		bID = x.(map[string]any)["id"].(string)
	}
	if bID == "" {
		t.Fatal("no Linux bridge agent of host b")
	}
	c.ok(c.do("DELETE", "/v2.0/agents/"+bID, "admin", nil), 204, "")
	eventually(t, "a no longer floods to b", func() bool { return len(floods(a)) == 0 })
}

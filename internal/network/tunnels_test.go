package network_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/network/dataplane/fake"
)

// TestTunnelPeers: each host's L2 agent reports its tunnel address
// (configurations.tunneling_ip on GET /v2.0/agents); the server tells every
// agent the other hosts' addresses, and a host whose agent is deleted
// leaves them.
func TestTunnelPeers(t *testing.T) {
	c := newCloud(t, nil)
	tunnelHost := func(ip string) *fake.Driver {
		d := fake.New()
		caps := d.Capabilities()
		caps.TunnelingIP, caps.TunnelTypes = ip, []string{"vxlan"}
		d.SetCapabilities(caps)
		return d
	}
	a, b := tunnelHost("192.0.2.1"), tunnelHost("192.0.2.2")
	c.agent("hosta", a)
	eventually(t, "host a alone", func() bool { return a.Resyncs() > 0 && len(a.TunnelPeers()) == 0 })
	agentB := c.agent("hostb", b)
	eventually(t, "a hears of b", func() bool { return slices.Equal(a.TunnelPeers(), []string{"192.0.2.2"}) })
	eventually(t, "b hears of a", func() bool { return slices.Equal(b.TunnelPeers(), []string{"192.0.2.1"}) })

	var bID string
	for _, x := range c.ok(c.do("GET", "/v2.0/agents?agent_type=Linux+bridge+agent", "admin", nil), 200, "")["agents"].([]any) {
		ag := x.(map[string]any)
		conf, _ := ag["configurations"].(map[string]any)
		want := map[string]string{"hosta": "192.0.2.1", "hostb": "192.0.2.2"}[ag["host"].(string)]
		if conf["tunneling_ip"] != want {
			t.Fatalf("agent of %v: tunneling_ip %v, want %s", ag["host"], conf["tunneling_ip"], want)
		}
		if ag["host"] == "hostb" {
			bID = ag["id"].(string)
		}
	}
	// Host b stops and its agent is deleted.
	if err := agentB.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.ok(c.do("DELETE", "/v2.0/agents/"+bID, "admin", nil), 204, "")
	eventually(t, "b leaves a's peers", func() bool { return len(a.TunnelPeers()) == 0 })
}

// TestTunnelPeersSilentHost: a host whose agent stops without being deleted
// leaves the others' peers once it has been silent for agent_down_time (5 s
// here), by the server's liveness job (run under its lease).
func TestTunnelPeersSilentHost(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for agent_down_time")
	}
	c := newCloud(t, nil)
	tunnelHost := func(ip string) *fake.Driver {
		d := fake.New()
		caps := d.Capabilities()
		caps.TunnelingIP, caps.TunnelTypes = ip, []string{"vxlan"}
		d.SetCapabilities(caps)
		return d
	}
	a, b := tunnelHost("192.0.2.1"), tunnelHost("192.0.2.2")
	c.agent("hosta", a)
	agentB := c.agent("hostb", b)
	eventually(t, "a hears of b", func() bool { return slices.Equal(a.TunnelPeers(), []string{"192.0.2.2"}) })
	stopped := time.Now()
	if err := agentB.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "silent b leaves a's peers", func() bool { return len(a.TunnelPeers()) == 0 })
	if d := time.Since(stopped); d < 4*time.Second {
		t.Fatalf("b left after %v, before agent_down_time", d)
	}
}

package network

import (
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/config"
)

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	p, err := c.pluginConfig()
	if err != nil {
		t.Fatal(err)
	}
	if p.VNIRanges[0].Min != 1 || p.VNIRanges[0].Max != 1000 || p.Quotas["port"] != 500 || p.AgentDownTime != 75*time.Second {
		t.Fatalf("defaults: %+v", p)
	}
	if _, ok := p.VLANRanges["public"]; !ok {
		t.Fatal("devstack's public physical network takes provider VLANs")
	}
	bad := []func(*Config){
		func(c *Config) { c.ML2VXLAN.VNIRanges = []string{"5"} },
		func(c *Config) { c.ML2VXLAN.VNIRanges = []string{"10:1"} },
		func(c *Config) { c.ML2VLAN.NetworkVLANRanges = []string{"physnet1:1:5000"} },
		func(c *Config) { c.ML2.TypeDrivers = []string{"geneve"} },
		func(c *Config) { c.ML2.TenantNetworkTypes = []string{"vlan"}; c.ML2.TypeDrivers = []string{"vxlan"} },
		func(c *Config) { c.Default.DHCPAgentsPerNetwork = 0 },
	}
	for i, f := range bad {
		c := DefaultConfig()
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("bad config %d accepted", i)
		}
	}
	c = DefaultConfig()
	c.ML2VLAN.NetworkVLANRanges = []string{"physnet1:100:200", "physnet2"}
	p, err = c.pluginConfig()
	if err != nil || len(p.VLANRanges["physnet1"]) != 1 || p.VLANRanges["physnet1"][0].Max != 200 || p.VLANRanges["physnet2"] != nil {
		t.Fatalf("vlan ranges %+v %v", p.VLANRanges, err)
	}
	// Every option is documented for `tenku manage config sample`.
	var b strings.Builder
	if err := config.Sample(&b, &c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[ml2_type_vxlan]", "vni_ranges", "[quotas]", "quota_port", "base_mac", "[agent]", "report_interval"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("sample lacks %s", want)
		}
	}
}

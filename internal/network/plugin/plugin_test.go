package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

func newPlugin(t testing.TB, db *pstore.DB) *Plugin {
	t.Helper()
	if _, err := db.Migrate(context.Background(), nstore.Migrations); err != nil {
		t.Fatal(err)
	}
	p, err := New(DefaultConfig(), Deps{Store: nstore.New(db)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sqlitePlugin(t testing.TB) *Plugin { return newPlugin(t, storetest.Open(t, pstore.SQLite)) }

func s(v string) *string { return &v }
func b(v bool) *bool     { return &v }

// wantFault checks an error's status and Neutron type.
func wantFault(t *testing.T, err error, status int, typ string) {
	t.Helper()
	f, ok := err.(*fault.Error)
	if !ok {
		t.Fatalf("want %d %s, got %v (%T)", status, typ, err, err)
	}
	if f.Status != status || typ != "" && f.Type != typ {
		t.Fatalf("want %d %s, got %d %s: %s", status, typ, f.Status, f.Type, f.Message)
	}
}

func mkNet(t *testing.T, p *Plugin, project string) *netapi.Network {
	t.Helper()
	n, err := p.CreateNetwork(context.Background(), NetworkSpec{ProjectID: project, Name: s("n")})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mkSubnet(t *testing.T, p *Plugin, n *netapi.Network, cidr string) *netapi.Subnet {
	t.Helper()
	v := 4
	if strings.Contains(cidr, ":") {
		v = 6
	}
	sub, err := p.CreateSubnet(context.Background(), SubnetSpec{ProjectID: n.ProjectID, NetworkID: &n.ID, CIDR: &cidr, IPVersion: &v})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestNetworkSubnetPortRules(t *testing.T) {
	ctx := context.Background()
	p := sqlitePlugin(t)
	c := Caller{ProjectID: "p1"}
	n := mkNet(t, p, "p1")
	if *n.NetworkType != "vxlan" || *n.SegmentationID != 1 || n.MTU != 1450 {
		t.Fatalf("segment: %s %v mtu %d", *n.NetworkType, *n.SegmentationID, n.MTU)
	}
	n2 := mkNet(t, p, "p1")
	if *n2.SegmentationID != 2 {
		t.Fatalf("second VNI %d", *n2.SegmentationID)
	}
	sub := mkSubnet(t, p, n, "10.0.0.0/24")
	if *sub.GatewayIP != "10.0.0.1" || sub.AllocationPools[0].Start != "10.0.0.2" || sub.AllocationPools[0].End != "10.0.0.254" {
		t.Fatalf("subnet defaults: %+v", sub)
	}
	cases := []struct {
		name   string
		spec   SubnetSpec
		status int
		typ    string
	}{
		{"overlap", SubnetSpec{CIDR: s("10.0.0.128/25")}, 400, "InvalidInput"},
		{"gateway is the network address", SubnetSpec{CIDR: s("10.1.0.0/24"), GatewaySet: true, GatewayIP: s("10.1.0.0")}, 400, "InvalidInput"},
		{"gateway of the wrong family", SubnetSpec{CIDR: s("10.1.0.0/24"), GatewaySet: true, GatewayIP: s("2001:db8::1")}, 400, "InvalidInput"},
		{"gateway in a pool", SubnetSpec{CIDR: s("10.1.0.0/24"), GatewaySet: true, GatewayIP: s("10.1.0.5"),
			AllocationPools: &[]netapi.AllocationPool{{Start: "10.1.0.2", End: "10.1.0.9"}}}, 409, "GatewayConflictWithAllocationPools"},
		{"pool outside", SubnetSpec{CIDR: s("10.1.0.0/24"), AllocationPools: &[]netapi.AllocationPool{{Start: "10.1.0.2", End: "10.1.1.9"}}}, 400, "OutOfBoundsAllocationPool"},
		{"bad cidr", SubnetSpec{CIDR: s("10.1.0.0/33")}, 400, "HTTPBadRequest"},
		{"bad nameserver", SubnetSpec{CIDR: s("10.1.0.0/24"), DNSNameservers: &[]string{"x"}}, 400, "HTTPBadRequest"},
		{"ipv6 modes on v4", SubnetSpec{CIDR: s("10.1.0.0/24"), IPv6RAMode: s("slaac")}, 400, "InvalidInput"},
	}
	for _, cs := range cases {
		v := 4
		cs.spec.IPVersion, cs.spec.NetworkID, cs.spec.ProjectID = &v, &n.ID, "p1"
		_, err := p.CreateSubnet(ctx, cs.spec)
		t.Run(cs.name, func(t *testing.T) { wantFault(t, err, cs.status, cs.typ) })
	}
	v6 := 6
	_, err := p.CreateSubnet(ctx, SubnetSpec{ProjectID: "p1", NetworkID: &n2.ID, IPVersion: &v6, CIDR: s("2001:db8::/64"),
		IPv6RAMode: s("slaac"), IPv6AddressMode: s("dhcpv6-stateful")})
	wantFault(t, err, 400, "InvalidInput")

	pt, err := p.CreatePort(ctx, PortSpec{NetworkID: &n.ID}, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(pt.FixedIPs) != 1 || !strings.HasPrefix(pt.MACAddress, "fa:16:3e:") || len(pt.SecurityGroups) != 1 || pt.Status != "DOWN" {
		t.Fatalf("port: %+v", pt)
	}
	ip := pt.FixedIPs[0].IPAddress
	_, err = p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, FixedIPs: &[]FixedIPSpec{{IPAddress: ip}}}, c)
	wantFault(t, err, 409, "IpAddressAlreadyAllocated")
	_, err = p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, FixedIPs: &[]FixedIPSpec{{IPAddress: "10.9.9.9"}}}, c)
	wantFault(t, err, 400, "InvalidIpForNetwork")
	_, err = p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, FixedIPs: &[]FixedIPSpec{{SubnetID: sub.ID, IPAddress: "10.0.0.255"}}}, c)
	wantFault(t, err, 400, "InvalidIpForSubnet")
	_, err = p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, MACAddress: s("not-a-mac")}, c)
	wantFault(t, err, 400, "HTTPBadRequest")
	_, err = p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, MACAddress: &pt.MACAddress}, c)
	wantFault(t, err, 409, "MacAddressInUse")
	_, err = p.CreatePort(ctx, PortSpec{NetworkID: s("nope")}, c)
	wantFault(t, err, 404, "NetworkNotFound")

	wantFault(t, p.DeleteNetwork(ctx, n.ID, nil), 409, "NetworkInUse")
	wantFault(t, p.DeleteSubnet(ctx, sub.ID, nil), 409, "SubnetInUse")
	rev := pt.RevisionNumber + 5
	_, err = p.UpdatePort(ctx, pt.ID, PortSpec{Name: s("x"), IfMatch: &rev}, c)
	wantFault(t, err, 412, "RevisionNumberConstraintFailed")

	// Deleting the port returns its address to the pool.
	if err := p.DeletePort(ctx, pt.ID, nil); err != nil {
		t.Fatal(err)
	}
	again, err := p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, FixedIPs: &[]FixedIPSpec{{IPAddress: ip}}}, c)
	if err != nil || again.FixedIPs[0].IPAddress != ip {
		t.Fatalf("address not returned to the pool: %v", err)
	}
	wantFault(t, p.DeletePort(ctx, "missing", nil), 404, "PortNotFound")
	if err := p.DeletePort(ctx, again.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteNetwork(ctx, n.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Subnet(ctx, sub.ID); !fault.IsNotFound(err) {
		t.Fatalf("subnet survived its network: %v", err)
	}
}

func TestPoolExhaustionAndUpdateIPs(t *testing.T) {
	ctx := context.Background()
	p := sqlitePlugin(t)
	c := Caller{ProjectID: "p1"}
	n := mkNet(t, p, "p1")
	sub := mkSubnet(t, p, n, "10.0.0.0/29") // .2-.6: five addresses
	var got []string
	for i := 0; i < 5; i++ {
		pt, err := p.CreatePort(ctx, PortSpec{NetworkID: &n.ID}, c)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pt.FixedIPs[0].IPAddress)
	}
	slices.Sort(got)
	if want := []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}; !slices.Equal(got, want) {
		t.Fatalf("addresses %v, want %v", got, want)
	}
	_, err := p.CreatePort(ctx, PortSpec{NetworkID: &n.ID}, c)
	wantFault(t, err, 409, "IpAddressGenerationFailure")

	n2 := mkNet(t, p, "p1")
	s1 := mkSubnet(t, p, n2, "10.1.0.0/24")
	s2 := mkSubnet(t, p, n2, "10.2.0.0/24")
	pt, err := p.CreatePort(ctx, PortSpec{NetworkID: &n2.ID, FixedIPs: &[]FixedIPSpec{{SubnetID: s1.ID}, {SubnetID: s2.ID}}}, c)
	if err != nil || len(pt.FixedIPs) != 2 {
		t.Fatalf("two subnets: %+v %v", pt, err)
	}
	first := pt.FixedIPs[0]
	pt, err = p.UpdatePort(ctx, pt.ID, PortSpec{FixedIPs: &[]FixedIPSpec{{SubnetID: s1.ID}}}, c)
	if err != nil || len(pt.FixedIPs) != 1 || pt.FixedIPs[0] != first {
		t.Fatalf("back to one address, the same: %+v %v", pt.FixedIPs, err)
	}
	pt, err = p.UpdatePort(ctx, pt.ID, PortSpec{FixedIPs: &[]FixedIPSpec{{SubnetID: s1.ID}, {SubnetID: s2.ID}}}, c)
	if err != nil || len(pt.FixedIPs) != 2 || pt.FixedIPs[0] != first {
		t.Fatalf("two again: %+v %v", pt.FixedIPs, err)
	}
	_ = sub
}

func TestSLAACAddresses(t *testing.T) {
	ctx := context.Background()
	p := sqlitePlugin(t)
	c := Caller{ProjectID: "p1"}
	n := mkNet(t, p, "p1")
	v6 := 6
	slaac, err := p.CreateSubnet(ctx, SubnetSpec{ProjectID: "p1", NetworkID: &n.ID, IPVersion: &v6, CIDR: s("2001:db8::/64"),
		IPv6RAMode: s("slaac"), IPv6AddressMode: s("slaac")})
	if err != nil {
		t.Fatal(err)
	}
	mkSubnet(t, p, n, "10.0.0.0/24")
	pt, err := p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, MACAddress: s("fa:16:3e:4f:3a:2b")}, c)
	if err != nil {
		t.Fatal(err)
	}
	var v6ip string
	for _, ip := range pt.FixedIPs {
		if ip.SubnetID == slaac.ID {
			v6ip = ip.IPAddress
		}
	}
	if v6ip != "2001:db8::f816:3eff:fe4f:3a2b" || len(pt.FixedIPs) != 2 {
		t.Fatalf("EUI-64 address: %+v", pt.FixedIPs)
	}
	_, err = p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, FixedIPs: &[]FixedIPSpec{{SubnetID: slaac.ID, IPAddress: "2001:db8::5"}}}, c)
	wantFault(t, err, 400, "AllocationOnAutoAddressSubnet")
	// A SLAAC subnet with ports can go; the network cannot.
	if err := p.DeleteSubnet(ctx, slaac.ID, nil); err != nil {
		t.Fatal(err)
	}
	pt, _ = p.Port(ctx, pt.ID)
	if len(pt.FixedIPs) != 1 {
		t.Fatalf("SLAAC address survived its subnet: %+v", pt.FixedIPs)
	}
	wantFault(t, p.DeleteNetwork(ctx, n.ID, nil), 409, "NetworkInUse")
}

// TestConcurrentPortCreation creates ports from many goroutines on every
// database and checks that no address is handed out twice.
func TestConcurrentPortCreation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		p := newPlugin(t, db)
		cfg := p.cfg
		cfg.Quotas = map[string]int{"port": -1, "network": -1, "subnet": -1}
		p.cfg = cfg
		n := mkNet(t, p, "p1")
		// A /26 holds 61 addresses: 80 requests race for them.
		mkSubnet(t, p, n, "10.0.0.0/26")
		var mu sync.Mutex
		seen := map[string]string{}
		var failures, exhausted int
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5; i++ {
					pt, err := p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, SecurityGroups: &[]string{}}, Caller{ProjectID: "p1"})
					mu.Lock()
					switch {
					case err == nil:
						ip := pt.FixedIPs[0].IPAddress
						if other, dup := seen[ip]; dup {
							t.Errorf("%s given to %s and %s", ip, other, pt.ID)
						}
						seen[ip] = pt.ID
					case fault.IsConflict(err) && strings.Contains(err.Error(), "No more IP addresses"):
						exhausted++
					default:
						failures++
						t.Errorf("create: %v", err)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 61 || exhausted != 19 || failures != 0 {
			t.Fatalf("%d ports, %d exhausted, %d failures; want 61, 19, 0", len(seen), exhausted, failures)
		}
		for ip := range seen {
			if !netip.MustParsePrefix("10.0.0.0/26").Contains(netip.MustParseAddr(ip)) {
				t.Fatalf("%s outside the subnet", ip)
			}
		}
	})
}

// TestConcurrentQuota races creations against a quota on every database:
// exactly the quota's worth succeed, the rest are OverQuota.
func TestConcurrentQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		p := newPlugin(t, db)
		cfg := p.cfg
		cfg.Quotas = map[string]int{"network": 7}
		p.cfg = cfg
		var mu sync.Mutex
		var created, over int
		var wg sync.WaitGroup
		for g := 0; g < 12; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 3; i++ {
					_, err := p.CreateNetwork(ctx, NetworkSpec{ProjectID: "p1", Name: s("n")})
					mu.Lock()
					var f *fault.Error
					switch {
					case err == nil:
						created++
					case errors.As(err, &f) && f.Type == "OverQuota":
						over++
					default:
						t.Errorf("create: %v", err)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if created != 7 || over != 29 {
			t.Fatalf("%d networks created, %d over quota: want 7 and 29", created, over)
		}
	})
}

func TestSecurityGroupRuleValidation(t *testing.T) {
	cases := []struct {
		name       string
		spec       RuleSpec
		status     int
		msg        string
		wantProto  string
		wantPrefix string
	}{
		{"tcp 22", RuleSpec{Protocol: s("tcp"), PortRangeMin: s("22"), PortRangeMax: s("22")}, 0, "", "tcp", ""},
		{"protocol number", RuleSpec{Protocol: s("17")}, 0, "", "17", ""},
		{"bad protocol", RuleSpec{Protocol: s("bad_protocol_name")}, 400, "not supported", "", ""},
		{"protocol 256", RuleSpec{Protocol: s("256")}, 400, "not supported", "", ""},
		{"negative port", RuleSpec{Protocol: s("tcp"), PortRangeMin: s("-16"), PortRangeMax: s("80")}, 400, "Invalid value for port -16", "", ""},
		{"reversed", RuleSpec{Protocol: s("tcp"), PortRangeMin: s("80"), PortRangeMax: s("79")}, 400, "port_range_min must be <= port_range_max", "", ""},
		{"port too big", RuleSpec{Protocol: s("tcp"), PortRangeMin: s("80"), PortRangeMax: s("65536")}, 400, "Invalid value for port 65536", "", ""},
		{"max only", RuleSpec{Protocol: s("tcp"), PortRangeMax: s("6")}, 400, "port_range_min must be <= port_range_max", "", ""},
		{"icmp code", RuleSpec{Protocol: s("icmp"), PortRangeMin: s("1"), PortRangeMax: s("256")}, 400, "Invalid value for ICMP code", "", ""},
		{"icmp type", RuleSpec{Protocol: s("icmp"), PortRangeMin: s("300"), PortRangeMax: s("1")}, 400, "Invalid value for ICMP type", "", ""},
		{"icmp missing type", RuleSpec{Protocol: s("icmp"), PortRangeMax: s("6")}, 400, "ICMP type (port-range-min) is missing", "", ""},
		{"ports without protocol", RuleSpec{PortRangeMin: s("1"), PortRangeMax: s("2")}, 400, "Must also specify protocol", "", ""},
		{"ports on gre", RuleSpec{Protocol: s("gre"), PortRangeMin: s("1"), PortRangeMax: s("2")}, 400, "Ports cannot be specified", "", ""},
		{"bad ethertype", RuleSpec{EtherType: s("bad_ethertype")}, 400, "not supported", "", ""},
		{"prefix and group", RuleSpec{RemoteIPPrefix: s("10.0.0.0/8"), RemoteGroupID: s("g")}, 400, "Only one of", "", ""},
		{"bad prefix", RuleSpec{RemoteIPPrefix: s("192.168.1./24")}, 400, "Invalid CIDR", "", ""},
		{"prefix /33", RuleSpec{RemoteIPPrefix: s("192.168.1.1/33")}, 400, "Invalid CIDR", "", ""},
		{"prefix family", RuleSpec{EtherType: s("IPv6"), RemoteIPPrefix: s("10.0.0.0/8")}, 400, "Conflicting value ethertype", "", ""},
		{"bare address", RuleSpec{RemoteIPPrefix: s("10.1.2.3")}, 0, "", "", "10.1.2.3/32"},
		{"v6 icmp on v4", RuleSpec{Protocol: s("ipv6-icmp")}, 400, "Invalid ethertype", "", ""},
		{"whole range", RuleSpec{Protocol: s("udp"), PortRangeMin: s("1"), PortRangeMax: s("65535")}, 0, "", "udp", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.spec.Direction, c.spec.SecurityGroupID = "ingress", "sg"
			r, key, err := validateRule(c.spec)
			if c.status != 0 {
				if err == nil || !fault.Is(err, c.status) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("err %v, want %d with %q", err, c.status, c.msg)
				}
				return
			}
			if err != nil || key == "" {
				t.Fatal(err)
			}
			if c.wantProto != "" && deref(r.Protocol) != c.wantProto {
				t.Fatalf("protocol %q", deref(r.Protocol))
			}
			if c.wantPrefix != "" && deref(r.RemoteIPPrefix) != c.wantPrefix {
				t.Fatalf("prefix %q", deref(r.RemoteIPPrefix))
			}
			if c.name == "whole range" && (r.PortRangeMin != nil || r.PortRangeMax != nil) {
				t.Fatal("1-65535 not made unbounded")
			}
		})
	}
	// tcp by name and by number are the same rule.
	a, _, _ := validateRule(RuleSpec{Direction: "ingress", Protocol: s("tcp")})
	b, _, _ := validateRule(RuleSpec{Direction: "ingress", Protocol: s("6")})
	if ruleKey(a) != ruleKey(b) {
		t.Fatalf("keys differ: %s %s", ruleKey(a), ruleKey(b))
	}
}

func TestSecurityGroups(t *testing.T) {
	ctx := context.Background()
	p := sqlitePlugin(t)
	if err := p.EnsureDefaultSecurityGroup(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if err := p.EnsureDefaultSecurityGroup(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	groups, _ := p.st.SecurityGroups(ctx, nstore.Scope{ProjectID: "p1"}, nil)
	if len(groups) != 1 || groups[0].Name != "default" || len(groups[0].SecurityGroupRules) != 4 {
		t.Fatalf("default group: %+v", groups)
	}
	_, err := p.CreateSecurityGroup(ctx, SecurityGroupSpec{ProjectID: "p1", Name: s("default")})
	wantFault(t, err, 409, "SecurityGroupDefaultAlreadyExists")
	g, err := p.CreateSecurityGroup(ctx, SecurityGroupSpec{ProjectID: "p1", Name: s("web")})
	if err != nil || len(g.SecurityGroupRules) != 2 {
		t.Fatalf("new group: %+v %v", g, err)
	}
	_, err = p.UpdateSecurityGroup(ctx, g.ID, SecurityGroupSpec{Name: s("default")})
	wantFault(t, err, 409, "SecurityGroupDefaultAlreadyExists")
	r, err := p.CreateSecurityGroupRule(ctx, RuleSpec{ProjectID: "p1", SecurityGroupID: g.ID, Direction: "ingress", Protocol: s("tcp"), PortRangeMin: s("22"), PortRangeMax: s("22")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.CreateSecurityGroupRule(ctx, RuleSpec{ProjectID: "p1", SecurityGroupID: g.ID, Direction: "ingress", Protocol: s("6"), PortRangeMin: s("22"), PortRangeMax: s("22")})
	wantFault(t, err, 409, "SecurityGroupRuleExists")
	_, err = p.CreateSecurityGroupRule(ctx, RuleSpec{ProjectID: "p1", SecurityGroupID: "nope", Direction: "ingress"})
	wantFault(t, err, 404, "SecurityGroupNotFound")
	_, err = p.CreateSecurityGroupRule(ctx, RuleSpec{ProjectID: "p1", SecurityGroupID: g.ID, Direction: "ingress", RemoteGroupID: s("bad_group_id")})
	wantFault(t, err, 404, "SecurityGroupNotFound")
	n := mkNet(t, p, "p1")
	pt, err := p.CreatePort(ctx, PortSpec{NetworkID: &n.ID, SecurityGroups: &[]string{g.ID}}, Caller{ProjectID: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	wantFault(t, p.DeleteSecurityGroup(ctx, g.ID, Caller{ProjectID: "p1"}, nil), 409, "SecurityGroupInUse")
	wantFault(t, p.DeleteSecurityGroup(ctx, groups[0].ID, Caller{ProjectID: "p1"}, nil), 409, "SecurityGroupCannotRemoveDefault")
	_, err = p.UpdatePort(ctx, pt.ID, PortSpec{PortSecurityEnabled: b(false)}, Caller{ProjectID: "p1"})
	wantFault(t, err, 409, "PortSecurityPortHasSecurityGroup")
	if _, err := p.UpdatePort(ctx, pt.ID, PortSpec{PortSecurityEnabled: b(false), SecurityGroups: &[]string{}}, Caller{ProjectID: "p1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteSecurityGroupRule(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteSecurityGroup(ctx, g.ID, Caller{ProjectID: "p1"}, nil); err != nil {
		t.Fatal(err)
	}
	// Unused now, the default group may be deleted by an admin.
	if err := p.DeleteSecurityGroup(ctx, groups[0].ID, Caller{Admin: true}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRoutersAndFloatingIPs(t *testing.T) {
	ctx := context.Background()
	p := sqlitePlugin(t)
	admin := Caller{ProjectID: "admin", Admin: true}
	demo := Caller{ProjectID: "demo"}
	pub, err := p.CreateNetwork(ctx, NetworkSpec{ProjectID: "admin", Name: s("public"), External: b(true),
		NetworkType: s("flat"), PhysicalNetwork: s("public")})
	if err != nil {
		t.Fatal(err)
	}
	pubSub, err := p.CreateSubnet(ctx, SubnetSpec{ProjectID: "admin", NetworkID: &pub.ID, IPVersion: intp(4), CIDR: s("172.24.4.0/24"),
		GatewaySet: true, GatewayIP: s("172.24.4.1"), EnableDHCP: b(false)})
	if err != nil {
		t.Fatal(err)
	}
	priv := mkNet(t, p, "demo")
	privSub := mkSubnet(t, p, priv, "10.0.0.0/26")
	_, err = p.CreateRouter(ctx, RouterSpec{ProjectID: "demo", GatewaySet: true, Gateway: &GatewaySpec{NetworkID: priv.ID}}, demo)
	wantFault(t, err, 400, "BadRequest")
	r, err := p.CreateRouter(ctx, RouterSpec{ProjectID: "demo", Name: s("router1"), GatewaySet: true, Gateway: &GatewaySpec{NetworkID: pub.ID}}, demo)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExternalGatewayInfo == nil || !r.ExternalGatewayInfo.EnableSNAT || len(r.ExternalGatewayInfo.ExternalFixedIPs) != 1 ||
		r.ExternalGatewayInfo.ExternalFixedIPs[0].SubnetID != pubSub.ID {
		t.Fatalf("gateway: %+v", r.ExternalGatewayInfo)
	}
	info, err := p.AddRouterInterface(ctx, r.ID, privSub.ID, "", demo)
	if err != nil {
		t.Fatal(err)
	}
	ip, _ := p.Port(ctx, info.PortID)
	if ip.FixedIPs[0].IPAddress != "10.0.0.1" || ip.DeviceOwner != netapi.DeviceOwnerRouterInterface {
		t.Fatalf("interface port: %+v", ip)
	}
	wantFault(t, p.DeletePort(ctx, info.PortID, nil), 409, "ServicePortInUse")
	_, err = p.AddRouterInterface(ctx, r.ID, privSub.ID, "", demo)
	wantFault(t, err, 400, "BadRequest")
	wantFault(t, p.DeleteRouter(ctx, r.ID, nil), 409, "RouterInUse")
	// Routes must go through an attached subnet.
	_, err = p.UpdateRouter(ctx, r.ID, RouterSpec{Routes: &[]netapi.Route{{Destination: "10.9.0.0/24", NextHop: "192.168.7.7"}}}, demo)
	wantFault(t, err, 400, "InvalidRoutes")
	r2, err := p.UpdateRouter(ctx, r.ID, RouterSpec{Routes: &[]netapi.Route{{Destination: "10.9.0.0/24", NextHop: "10.0.0.9"}}}, demo)
	if err != nil || len(r2.Routes) != 1 {
		t.Fatalf("routes: %v %v", r2, err)
	}
	_, err = p.RemoveRouterInterface(ctx, r.ID, privSub.ID, "")
	wantFault(t, err, 409, "RouterInterfaceInUseByRoute")
	if _, err := p.UpdateRouter(ctx, r.ID, RouterSpec{Routes: &[]netapi.Route{}}, demo); err != nil {
		t.Fatal(err)
	}

	vm, err := p.CreatePort(ctx, PortSpec{NetworkID: &priv.ID, DeviceOwner: s("compute:nova"), DeviceID: s("vm1")}, demo)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.CreateFloatingIP(ctx, FloatingIPSpec{ProjectID: "demo", FloatingNetworkID: priv.ID}, demo)
	wantFault(t, err, 400, "BadRequest")
	f, err := p.CreateFloatingIP(ctx, FloatingIPSpec{ProjectID: "demo", FloatingNetworkID: pub.ID, PortID: &vm.ID}, demo)
	if err != nil {
		t.Fatal(err)
	}
	if deref(f.RouterID) != r.ID || deref(f.FixedIPAddress) != vm.FixedIPs[0].IPAddress || f.PortDetails == nil || f.PortDetails.DeviceID != "vm1" {
		t.Fatalf("floating IP: %+v", f)
	}
	// The floating address is taken on the external network.
	_, err = p.CreatePort(ctx, PortSpec{NetworkID: &pub.ID, FixedIPs: &[]FixedIPSpec{{IPAddress: f.FloatingIPAddress}}}, admin)
	wantFault(t, err, 409, "IpAddressAlreadyAllocated")
	_, err = p.RemoveRouterInterface(ctx, r.ID, privSub.ID, "")
	wantFault(t, err, 409, "RouterInterfaceInUseByFloatingIP")
	_, err = p.UpdateRouter(ctx, r.ID, RouterSpec{GatewaySet: true}, demo)
	wantFault(t, err, 409, "RouterExternalGatewayInUseByFloatingIp")
	// Deleting the port disassociates its floating IP.
	if err := p.DeletePort(ctx, vm.ID, nil); err != nil {
		t.Fatal(err)
	}
	f, _ = p.FloatingIP(ctx, f.ID)
	if f.PortID != nil || f.RouterID != nil || f.FixedIPAddress != nil {
		t.Fatalf("still associated: %+v", f)
	}
	// An isolated network's port cannot have one.
	iso := mkNet(t, p, "demo")
	mkSubnet(t, p, iso, "10.5.0.0/24")
	isoPort, _ := p.CreatePort(ctx, PortSpec{NetworkID: &iso.ID}, demo)
	_, err = p.UpdateFloatingIP(ctx, f.ID, FloatingIPSpec{PortSet: true, PortID: &isoPort.ID}, demo)
	wantFault(t, err, 404, "ExternalGatewayForFloatingIPNotFound")
	if err := p.DeleteFloatingIP(ctx, f.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RemoveRouterInterface(ctx, r.ID, privSub.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteRouter(ctx, r.ID, nil); err != nil {
		t.Fatal(err)
	}
	ports, _ := p.st.NetworkPorts(ctx, pub.ID)
	if len(ports) != 0 {
		t.Fatalf("gateway/floating ports left: %d", len(ports))
	}
	if err := p.DeleteNetwork(ctx, pub.ID, nil); err != nil {
		t.Fatal(err)
	}
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	p := sqlitePlugin(t)
	if _, err := p.SetQuotas(ctx, "p1", map[string]int{"network": 1}); err != nil {
		t.Fatal(err)
	}
	mkNet(t, p, "p1")
	_, err := p.CreateNetwork(ctx, NetworkSpec{ProjectID: "p1"})
	wantFault(t, err, 409, "OverQuota")
	if !strings.Contains(err.Error(), "Quota exceeded for resources: ['network']") {
		t.Fatal(err)
	}
	if _, err := p.SetQuotas(ctx, "p1", map[string]int{"bogus": 1}); err == nil {
		t.Fatal("unknown quota accepted")
	}
	u, _ := p.QuotaUsage(ctx, "p1")
	if u["network"].Used != 1 || u["network"].Limit != 1 || u["port"].Limit != 500 {
		t.Fatalf("usage %+v", u)
	}
	_ = fmt.Sprint()
}

func intp(i int) *int { return &i }

// A subnet with DHCP binds its network to a DHCP agent before CreateSubnet
// returns, as Neutron does (clients list the network's agents right after).
func TestSubnetSchedulesDHCPAgentAtOnce(t *testing.T) {
	ctx := context.Background()
	p := sqlitePlugin(t)
	if err := p.ReportState(ctx, rpc.ReportState{Host: "h1", Start: true,
		Agents: []rpc.AgentInfo{{AgentType: netapi.AgentTypeDHCP, Binary: "neutron-dhcp-agent", Topic: "dhcp_agent"}}}); err != nil {
		t.Fatal(err)
	}
	n := mkNet(t, p, "p1")
	mkSubnet(t, p, n, "10.1.0.0/24")
	as, err := p.DHCPAgentsOfNetwork(ctx, n.ID)
	if err != nil || len(as) != 1 || as[0].Host != "h1" {
		t.Fatalf("agents of the network: %+v %v, want the DHCP agent of h1", as, err)
	}
	nets, err := p.NetworksOfDHCPAgent(ctx, as[0].ID)
	if err != nil || len(nets) != 1 || nets[0].ID != n.ID {
		t.Fatalf("networks of the agent: %v %v", nets, err)
	}
}

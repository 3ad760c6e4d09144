package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	netapi "github.com/tenku-cloud/tenku/api/network"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

func open(t *testing.T, db *pstore.DB) *Store {
	t.Helper()
	if _, err := db.Migrate(context.Background(), Migrations); err != nil {
		t.Fatal(err)
	}
	return New(db)
}

func str(s string) *string { return &s }

func newNet(id, project string, seg int) *netapi.Network {
	return &netapi.Network{ID: id, ProjectID: project, Name: "net-" + id, AdminStateUp: true, Status: netapi.StatusActive,
		MTU: 1450, PortSecurityEnabled: true, NetworkType: str("vxlan"), SegmentationID: &seg, AvailabilityZoneHints: []string{}}
}

func TestNetworksSubnetsPorts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		s := open(t, db)
		if err := s.InsertNetwork(ctx, newNet("n1", "p1", 10)); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertNetwork(ctx, newNet("n2", "p2", 10)); !pstore.IsUnique(err) {
			t.Fatalf("duplicate VNI: %v", err)
		}
		shared := newNet("n3", "p2", 11)
		shared.Shared = true
		if err := s.InsertNetwork(ctx, shared); err != nil {
			t.Fatal(err)
		}
		flat := newNet("f1", "admin", 0)
		flat.NetworkType, flat.PhysicalNetwork, flat.SegmentationID = str("flat"), str("public"), nil
		flat.External = true
		if err := s.InsertNetwork(ctx, flat); err != nil {
			t.Fatal(err)
		}
		flat2 := *flat
		flat2.ID = "f2"
		if err := s.InsertNetwork(ctx, &flat2); !pstore.IsUnique(err) {
			t.Fatalf("second flat network on a physnet: %v", err)
		}
		// Visibility: p1 sees its own, the shared and the external network.
		nets, err := s.Networks(ctx, Scope{ProjectID: "p1"}, nil)
		if err != nil || len(nets) != 3 {
			t.Fatalf("p1 networks: %d %v", len(nets), err)
		}
		nets, err = s.Networks(ctx, Scope{ProjectID: "p1"}, []Filter{{Field: "router:external", Values: []any{true}}})
		if err != nil || len(nets) != 1 || nets[0].ID != "f1" || nets[0].SegmentationID != nil || *nets[0].PhysicalNetwork != "public" {
			t.Fatalf("external filter: %+v %v", nets, err)
		}
		if _, err := s.Networks(ctx, Scope{All: true}, []Filter{{Field: "bogus", Values: []any{"x"}}}); err == nil {
			t.Fatal("unknown filter accepted")
		}

		sub := &netapi.Subnet{ID: "s1", ProjectID: "p1", NetworkID: "n1", IPVersion: 4, CIDR: "10.0.0.0/24", GatewayIP: str("10.0.0.1"),
			EnableDHCP: true, AllocationPools: []netapi.AllocationPool{{Start: "10.0.0.2", End: "10.0.0.254"}},
			DNSNameservers: []string{"8.8.8.8"}, HostRoutes: []netapi.HostRoute{}, ServiceTypes: []string{}}
		if err := s.InsertSubnet(ctx, sub); err != nil {
			t.Fatal(err)
		}
		n1, err := s.Network(ctx, "n1")
		if err != nil || len(n1.Subnets) != 1 || n1.Subnets[0] != "s1" {
			t.Fatalf("network subnets: %+v %v", n1, err)
		}
		got, err := s.Subnet(ctx, "s1")
		if err != nil || *got.GatewayIP != "10.0.0.1" || got.AllocationPools[0].End != "10.0.0.254" || got.DNSNameservers[0] != "8.8.8.8" || got.IPv6RAMode != nil {
			t.Fatalf("subnet round trip: %+v %v", got, err)
		}

		// IPAM uniqueness is the primary key's.
		ok, err := s.AllocateIP(ctx, "s1", "n1", "port1", "10.0.0.5")
		if err != nil || !ok {
			t.Fatalf("first allocation: %v %v", ok, err)
		}
		ok, err = s.AllocateIP(ctx, "s1", "n1", "port2", "10.0.0.5")
		if err != nil || ok {
			t.Fatalf("second allocation of the same address: %v %v", ok, err)
		}
		port := &netapi.Port{ID: "port1", ProjectID: "p1", NetworkID: "n1", MACAddress: "fa:16:3e:00:00:01", AdminStateUp: true,
			Status: netapi.StatusDown, FixedIPs: []netapi.FixedIP{{SubnetID: "s1", IPAddress: "10.0.0.5"}}, VNICType: "normal",
			VIFType: "unbound", SecurityGroups: []string{}, PortSecurityEnabled: true}
		if err := s.InsertPort(ctx, port); err != nil {
			t.Fatal(err)
		}
		dup := *port
		dup.ID = "port9"
		if err := s.InsertPort(ctx, &dup); !pstore.IsUnique(err) {
			t.Fatalf("duplicate MAC: %v", err)
		}
		ports, err := s.Ports(ctx, Scope{ProjectID: "p1"}, []Filter{{Field: "fixed_ips.ip_address", Values: []any{"10.0.0.5"}}})
		if err != nil || len(ports) != 1 || ports[0].FixedIPs[0].IPAddress != "10.0.0.5" {
			t.Fatalf("fixed_ips filter: %+v %v", ports, err)
		}
		ports, err = s.Ports(ctx, Scope{ProjectID: "p1"}, []Filter{{Field: "fixed_ips.ip_address_substr", Values: []any{"0.0.5"}},
			{Field: "fixed_ips.subnet_id", Values: []any{"s1"}}})
		if err != nil || len(ports) != 1 {
			t.Fatalf("substring filter: %d %v", len(ports), err)
		}
		ports, err = s.Ports(ctx, Scope{ProjectID: "p2"}, nil)
		if err != nil || len(ports) != 0 {
			t.Fatalf("p2 sees p1's port: %d %v", len(ports), err)
		}
		// CAS on revision.
		p, _ := s.Port(ctx, "port1")
		p.Name = "renamed"
		if err := s.UpdatePort(ctx, p, p.RevisionNumber, false); err != nil || p.RevisionNumber != 1 {
			t.Fatalf("update: %v rev %d", err, p.RevisionNumber)
		}
		p.Name = "stale"
		if err := s.UpdatePort(ctx, p, 0, false); !pstore.IsRetryable(err) && err != pstore.ErrConflict {
			t.Fatalf("stale update: %v", err)
		}
		// Tags.
		if err := s.SetTags(ctx, "ports", "port1", []string{"a", "b", "a"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			field string
			vals  []any
			n     int
		}{{"tags", []any{"a", "b"}, 1}, {"tags", []any{"a", "c"}, 0}, {"tags-any", []any{"c", "b"}, 1},
			{"not-tags", []any{"a", "b"}, 0}, {"not-tags-any", []any{"c"}, 1}} {
			ports, err := s.Ports(ctx, Scope{All: true}, []Filter{{Field: c.field, Values: c.vals}})
			if err != nil || len(ports) != c.n {
				t.Errorf("%s=%v: %d ports, want %d (%v)", c.field, c.vals, len(ports), c.n, err)
			}
		}
		if p, _ := s.Port(ctx, "port1"); len(p.Tags) != 2 {
			t.Fatalf("tags: %v", p.Tags)
		}
		if err := s.DeletePort(ctx, "port1"); err != nil {
			t.Fatal(err)
		}
		if ips, _ := s.AllocatedIPs(ctx, "s1"); len(ips) != 0 {
			t.Fatalf("allocation survived its port: %v", ips)
		}
		if err := s.DeletePort(ctx, "port1"); !IsNotFound(err) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

func TestConcurrentAllocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		s := open(t, db)
		if err := s.InsertNetwork(ctx, newNet("n1", "p1", 10)); err != nil {
			t.Fatal(err)
		}
		sub := &netapi.Subnet{ID: "s1", ProjectID: "p1", NetworkID: "n1", IPVersion: 4, CIDR: "10.0.0.0/24"}
		if err := s.InsertSubnet(ctx, sub); err != nil {
			t.Fatal(err)
		}
		// 16 goroutines race for the same 8 addresses: each address goes to exactly one.
		var mu sync.Mutex
		winners := map[string]string{}
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 8; i++ {
					ip := fmt.Sprintf("10.0.0.%d", 10+i)
					var won bool
					err := s.Tx(ctx, func(q Q) error {
						var err error
						won, err = q.AllocateIP(ctx, "s1", "n1", fmt.Sprintf("port-%d", g), ip)
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
					if won {
						mu.Lock()
						if prev, ok := winners[ip]; ok {
							t.Errorf("%s won by %s and port-%d", ip, prev, g)
						}
						winners[ip] = fmt.Sprintf("port-%d", g)
						mu.Unlock()
					}
				}
			}(g)
		}
		wg.Wait()
		if len(winners) != 8 {
			t.Fatalf("%d addresses allocated, want 8", len(winners))
		}
	})
}

func TestSecurityGroupsRoutersAgents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		s := open(t, db)
		g := &netapi.SecurityGroup{ID: "g1", ProjectID: "p1", Name: "default", Stateful: true}
		if err := s.InsertSecurityGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.SetDefaultSecurityGroup(ctx, "p1", "g1"); !ok || err != nil {
			t.Fatalf("default: %v %v", ok, err)
		}
		if ok, err := s.SetDefaultSecurityGroup(ctx, "p1", "g1"); ok || err != nil {
			t.Fatalf("second default: %v %v", ok, err)
		}
		r := &netapi.SecurityGroupRule{ID: "r1", ProjectID: "p1", SecurityGroupID: "g1", Direction: "ingress", EtherType: "IPv4",
			Protocol: str("tcp"), PortRangeMin: intp(22), PortRangeMax: intp(22), RemoteGroupID: str("g1")}
		if err := s.InsertSecurityGroupRule(ctx, r, "k1"); err != nil {
			t.Fatal(err)
		}
		r2 := *r
		r2.ID = "r2"
		if err := s.InsertSecurityGroupRule(ctx, &r2, "k1"); !pstore.IsUnique(err) {
			t.Fatalf("duplicate rule: %v", err)
		}
		if id, _ := s.RuleByKey(ctx, "g1", "k1"); id != "r1" {
			t.Fatalf("RuleByKey = %q", id)
		}
		got, err := s.SecurityGroup(ctx, "g1")
		if err != nil || len(got.SecurityGroupRules) != 1 || !got.SecurityGroupRules[0].BelongsToDefaultSG || *got.SecurityGroupRules[0].PortRangeMax != 22 {
			t.Fatalf("group: %+v %v", got, err)
		}
		if rules, _ := s.SecurityGroupRules(ctx, Scope{ProjectID: "p2"}, nil); len(rules) != 0 {
			t.Fatalf("p2 sees p1's rules")
		}
		if err := s.DeleteSecurityGroup(ctx, "g1"); err != nil {
			t.Fatal(err)
		}
		if id, _ := s.DefaultSecurityGroup(ctx, "p1"); id != "" {
			t.Fatalf("default survived the group: %q", id)
		}

		rt := &Router{Router: netapi.Router{ID: "r1", ProjectID: "p1", Name: "r", AdminStateUp: true, Status: "ACTIVE",
			Routes: []netapi.Route{{Destination: "10.1.0.0/24", NextHop: "10.0.0.9"}}}, EnableSNAT: true}
		if err := s.InsertRouter(ctx, rt); err != nil {
			t.Fatal(err)
		}
		got2, err := s.Router(ctx, "r1")
		if err != nil || got2.ExternalGatewayInfo != nil || len(got2.Routes) != 1 || got2.Routes[0].NextHop != "10.0.0.9" {
			t.Fatalf("router: %+v %v", got2, err)
		}

		az := "nova"
		id, isNew, err := s.ReportAgent(ctx, "a1", AgentReport{AgentType: netapi.AgentTypeDHCP, Binary: "neutron-dhcp-agent", Host: "h1",
			Topic: "dhcp_agent", AvailabilityZone: &az, Configurations: map[string]any{"networks": 1}, Start: true})
		if err != nil || !isNew || id != "a1" {
			t.Fatalf("first report: %s %v %v", id, isNew, err)
		}
		id, isNew, err = s.ReportAgent(ctx, "a2", AgentReport{AgentType: netapi.AgentTypeDHCP, Binary: "neutron-dhcp-agent", Host: "h1", Topic: "dhcp_agent"})
		if err != nil || isNew || id != "a1" {
			t.Fatalf("second report: %s %v %v", id, isNew, err)
		}
		agents, err := s.Agents(ctx, []Filter{{Field: "agent_type", Values: []any{netapi.AgentTypeDHCP}}})
		if err != nil || len(agents) != 1 || agents[0].Heartbeat.IsZero() {
			t.Fatalf("agents: %+v %v", agents, err)
		}
		if err := s.SetQuota(ctx, "p1", "network", 5); err != nil {
			t.Fatal(err)
		}
		if err := s.SetQuota(ctx, "p1", "network", 7); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.QuotaLimits(ctx, "p1"); l["network"] != 7 {
			t.Fatalf("quota: %v", l)
		}
	})
}

func intp(i int) *int { return &i }

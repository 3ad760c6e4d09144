package store

import (
	"context"
	"slices"
	"testing"

	netapi "github.com/tenku-cloud/tenku/api/network"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// TestListReads reads back what the lists gather apart from their rows
// (tags of each kind, group members and the hosts following a group, every
// project's quotas, a subnet's allocations), on every engine.
func TestListReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		s := open(t, db)
		for i, id := range []string{"n1", "n2"} {
			if err := s.InsertNetwork(ctx, newNet(id, "p1", 10+i)); err != nil {
				t.Fatal(err)
			}
		}
		sub := &netapi.Subnet{ID: "s1", ProjectID: "p1", NetworkID: "n1", IPVersion: 4, CIDR: "10.0.0.0/24",
			AllocationPools: []netapi.AllocationPool{}, DNSNameservers: []string{}, HostRoutes: []netapi.HostRoute{}, ServiceTypes: []string{}}
		if err := s.InsertSubnet(ctx, sub); err != nil {
			t.Fatal(err)
		}
		pool := &netapi.SubnetPool{ID: "sp1", ProjectID: "p1", Name: "pool", IPVersion: 4, Prefixes: []string{"10.8.0.0/16"}}
		if err := s.InsertSubnetPool(ctx, pool); err != nil {
			t.Fatal(err)
		}
		g := &netapi.SecurityGroup{ID: "g1", ProjectID: "p1", Name: "web", Stateful: true}
		if err := s.InsertSecurityGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		r := &netapi.SecurityGroupRule{ID: "r1", ProjectID: "p1", SecurityGroupID: "g1", Direction: "ingress", EtherType: "IPv4", RemoteGroupID: str("g1")}
		if err := s.InsertSecurityGroupRule(ctx, r, "k1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AllocateIP(ctx, "s1", "n1", "port1", "10.0.0.5"); err != nil {
			t.Fatal(err)
		}
		port := &netapi.Port{ID: "port1", ProjectID: "p1", NetworkID: "n1", MACAddress: "fa:16:3e:00:00:01", AdminStateUp: true,
			Status: netapi.StatusDown, FixedIPs: []netapi.FixedIP{{SubnetID: "s1", IPAddress: "10.0.0.5"}}, VNICType: "normal",
			VIFType: "ovs", SecurityGroups: []string{"g1"}, PortSecurityEnabled: true, HostID: "h1", DeviceOwner: "compute:nova",
			AllowedAddressPairs: []netapi.AddressPair{{IPAddress: "10.0.0.99"}}}
		if err := s.InsertPort(ctx, port); err != nil {
			t.Fatal(err)
		}
		for _, tg := range []struct{ kind, id string }{{"networks", "n1"}, {"subnets", "s1"}, {"subnetpools", "sp1"}, {"ports", "port1"}, {"security_groups", "g1"}} {
			if err := s.SetTags(ctx, tg.kind, tg.id, []string{"b", "a"}); err != nil {
				t.Fatal(err)
			}
		}
		tagged := func(what string, tags []string, want bool) {
			t.Helper()
			if tags == nil || want != slices.Equal(tags, []string{"a", "b"}) || !want && len(tags) != 0 {
				t.Fatalf("%s tags: %#v", what, tags)
			}
		}
		all := Scope{All: true}
		nets, err := s.Networks(ctx, all, nil)
		if err != nil || len(nets) != 2 {
			t.Fatalf("networks: %v %v", nets, err)
		}
		for _, n := range nets {
			tagged("network "+n.ID, n.Tags, n.ID == "n1")
		}
		nets, err = s.Networks(ctx, all, []Filter{{Field: "id", Values: []any{"n1"}}})
		if err != nil || len(nets) != 1 || !slices.Equal(nets[0].Subnets, []string{"s1"}) {
			t.Fatalf("filtered network: %+v %v", nets, err)
		}
		tagged("filtered network", nets[0].Tags, true)
		subs, err := s.Subnets(ctx, all, nil)
		if err != nil || len(subs) != 1 {
			t.Fatalf("subnets: %v %v", subs, err)
		}
		tagged("subnet", subs[0].Tags, true)
		pools, err := s.SubnetPools(ctx, all, nil)
		if err != nil || len(pools) != 1 {
			t.Fatalf("pools: %v %v", pools, err)
		}
		tagged("pool", pools[0].Tags, true)
		ports, err := s.Ports(ctx, all, nil)
		if err != nil || len(ports) != 1 {
			t.Fatalf("ports: %v %v", ports, err)
		}
		tagged("port", ports[0].Tags, true)
		groups, err := s.SecurityGroups(ctx, all, nil)
		if err != nil || len(groups) != 1 || len(groups[0].SecurityGroupRules) != 1 {
			t.Fatalf("groups: %+v %v", groups, err)
		}
		tagged("group", groups[0].Tags, true)

		members, err := s.SecurityGroupMembers(ctx, []string{"g1", "g9"})
		if err != nil || len(members) != 1 || members[0].PortID != "port1" || members[0].FixedIPs[0].IPAddress != "10.0.0.5" ||
			members[0].AllowedAddressPairs[0].IPAddress != "10.0.0.99" {
			t.Fatalf("members: %+v %v", members, err)
		}
		hosts, err := s.RemoteGroupHosts(ctx, []string{"g1"})
		if err != nil || !slices.Equal(hosts["g1"], []string{"h1"}) {
			t.Fatalf("remote group hosts: %v %v", hosts, err)
		}
		allocs, err := s.SubnetAllocations(ctx, "s1")
		if err != nil || len(allocs) != 1 || allocs[0].DeviceOwner != "compute:nova" || allocs[0].IP != "10.0.0.5" {
			t.Fatalf("allocations: %+v %v", allocs, err)
		}
		s.SetQuota(ctx, "p1", "network", 7)
		s.SetQuota(ctx, "p2", "port", 3)
		q, err := s.QuotaProjects(ctx)
		if err != nil || len(q) != 2 || q["p1"]["network"] != 7 || q["p2"]["port"] != 3 {
			t.Fatalf("quota projects: %v %v", q, err)
		}
	})
}

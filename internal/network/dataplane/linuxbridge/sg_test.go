package linuxbridge

import (
	"context"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/dataplanetest"
)

func filterOf(p dataplane.Port, ip string, rules ...dataplane.Rule) dataplane.PortFilter {
	return dataplane.PortFilter{PortID: p.ID, Device: p.Device, MAC: p.MAC, IPs: []string{ip}, Enabled: true, Stateful: true,
		Rules: append([]dataplane.Rule{{Direction: "egress", EtherType: "IPv4"}, {Direction: "egress", EtherType: "IPv6"}}, rules...)}
}

func intp(n int) *int { return &n }

// TestSecurityGroups filters two stand-in guests on one network: ingress is
// closed until a rule opens it, replies of allowed connections pass
// (stateful), remote groups follow their member sets, spoofed sources are
// dropped unless an allowed address pair allows them, and a port without
// port security is not filtered.
func TestSecurityGroups(t *testing.T) {
	needRoot(t, "nft")
	ctx := context.Background()
	h := newHost(t, underlay(t), "192.0.2.1", nil)
	n := vxlanNet(1450)
	must(t, h.d.EnsureNetwork(ctx, n))
	pa, ga := routedGuest(t, h, n, "10.60.0.1/24", "")
	pb, gb := routedGuest(t, h, n, "10.60.0.2/24", "")
	pingEventually(t, ga, "10.60.0.2") // no filters yet

	group := dataplanetest.ID()
	fa := filterOf(pa, "10.60.0.1")
	fb := filterOf(pb, "10.60.0.2")
	fa.Groups, fb.Groups = []string{group}, []string{group}
	must(t, h.d.ApplySecurityGroups(ctx, []dataplane.PortFilter{fa, fb}))
	if err := ping(ctx, ga, "10.60.0.2"); err == nil {
		t.Fatal("ingress open without a rule")
	}
	// An ICMP rule on b: a reaches b, and b's replies return though a
	// allows no ingress (stateful).
	fb.Rules = append(fb.Rules, dataplane.Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "icmp"})
	start := time.Now()
	must(t, h.d.ApplySecurityGroups(ctx, []dataplane.PortFilter{fb}))
	t.Logf("rule change applied in %v", time.Since(start))
	must(t, ping(ctx, ga, "10.60.0.2"))
	if err := ping(ctx, gb, "10.60.0.1"); err == nil {
		t.Fatal("a allowed ingress it has no rule for")
	}
	// A remote-group rule on a: b may reach a while b is a member.
	fa.Rules = append(fa.Rules, dataplane.Rule{Direction: "ingress", EtherType: "IPv4", RemoteGroupID: group})
	must(t, h.d.ApplySecurityGroups(ctx, []dataplane.PortFilter{fa}))
	if err := ping(ctx, gb, "10.60.0.1"); err == nil {
		t.Fatal("a remote group without a member set allowed traffic")
	}
	must(t, h.d.SetMemberSets(ctx, []dataplane.MemberSet{{GroupID: group, EtherType: "IPv4", CIDRs: []string{"10.60.0.2/32"}}}))
	must(t, ping(ctx, gb, "10.60.0.1"))
	must(t, h.d.SetMemberSets(ctx, []dataplane.MemberSet{{GroupID: group, EtherType: "IPv4", CIDRs: []string{}}}))
	if err := ping(ctx, gb, "10.60.0.1"); err == nil {
		t.Fatal("a port that left the group still reaches a")
	}
	// A TCP port range rule is accepted by nft.
	fb.Rules = append(fb.Rules, dataplane.Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortMin: intp(22), PortMax: intp(22),
		RemoteCIDRs: []string{"10.60.0.0/24"}})
	must(t, h.d.ApplySecurityGroups(ctx, []dataplane.PortFilter{fb}))
	// Spoofing: a takes another address; b's open ICMP rule must not help.
	gah := netdev.Handle{NS: ga}
	must(t, gah.DeleteAddress(ctx, "eth0", "10.60.0.1/24"))
	must(t, gah.AddAddress(ctx, "eth0", "10.60.0.99/24"))
	if err := ping(ctx, ga, "10.60.0.2"); err == nil {
		t.Fatal("a spoofed source address passed")
	}
	fa.AllowedAddressPairs = []dataplane.AddressPair{{IP: "10.60.0.99"}}
	must(t, h.d.ApplySecurityGroups(ctx, []dataplane.PortFilter{fa}))
	pingEventually(t, ga, "10.60.0.2")
	// Port security off on b: b is open, even for a's (allowed) address.
	fb.Enabled = false
	fb.Rules = nil
	must(t, h.d.ApplySecurityGroups(ctx, []dataplane.PortFilter{fb}))
	must(t, ping(ctx, ga, "10.60.0.2"))
	// Bad rules are refused and change nothing.
	bad := fa
	bad.Rules = []dataplane.Rule{{Direction: "sideways", EtherType: "IPv4"}}
	if err := h.d.ApplySecurityGroups(ctx, []dataplane.PortFilter{bad}); err == nil {
		t.Fatal("a bad rule was accepted")
	}
	must(t, ping(ctx, ga, "10.60.0.2"))
	// Resync to filters again, then remove everything: no table left.
	must(t, h.d.Resync(ctx, dataplane.State{Networks: []dataplane.Network{n}, Ports: []dataplane.Port{pa, pb},
		Filters: []dataplane.PortFilter{fa, filterOf(pb, "10.60.0.2")}}))
	if err := ping(ctx, ga, "10.60.0.2"); err == nil {
		t.Fatal("resync did not restore b's filter")
	}
	must(t, h.d.RemoveSecurityGroups(ctx, []string{pa.ID, pb.ID}))
	must(t, h.d.RemoveSecurityGroups(ctx, []string{pa.ID, pb.ID}))
	pingEventually(t, ga, "10.60.0.2")
	out, err := netdev.Handle{NS: h.ns}.Exec(ctx, "nft", "list", "tables")
	must(t, err)
	if len(out) != 0 {
		t.Fatalf("tables left: %s", out)
	}
}

package linuxbridge

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/dataplanetest"
)

// TestFigures prints the security group figures the issue asks for:
// 1,000 filtered ports wired in one nft batch, and one rule change on top.
// It runs with TENKU_FIGURES=1:
//
//	TENKU_FIGURES=1 go test -run TestFigures -v ./internal/network/dataplane/linuxbridge/
func TestFigures(t *testing.T) {
	if os.Getenv("TENKU_FIGURES") == "" {
		t.Skip("set TENKU_FIGURES=1 to print the figures")
	}
	needRoot(t, "nft")
	ctx := context.Background()
	h := newHost(t, underlay(t), "192.0.2.1", nil)
	n := vxlanNet(1450)
	group := dataplanetest.ID()
	var fs []dataplane.PortFilter
	for i := 0; i < 1000; i++ {
		p := dataplanetest.Port(n)
		f := filterOf(p, fmt.Sprintf("10.100.%d.%d", i/250, i%250+1),
			dataplane.Rule{Direction: "ingress", EtherType: "IPv4", RemoteGroupID: group},
			dataplane.Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortMin: intp(22), PortMax: intp(22)},
			dataplane.Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "icmp"})
		fs = append(fs, f)
	}
	start := time.Now()
	must(t, h.d.ApplySecurityGroups(ctx, fs))
	t.Logf("1000 ports with security groups: %v (one nft batch)", time.Since(start))
	fs[0].Rules = append(fs[0].Rules, dataplane.Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "udp", PortMin: intp(53), PortMax: intp(53)})
	start = time.Now()
	must(t, h.d.ApplySecurityGroups(ctx, fs[:1]))
	t.Logf("one rule change among 1000 ports: %v", time.Since(start))
	start = time.Now()
	must(t, h.d.SetMemberSets(ctx, []dataplane.MemberSet{{GroupID: group, EtherType: "IPv4", CIDRs: []string{"10.100.0.1/32", "10.100.0.2/32"}}}))
	t.Logf("one member set change among 1000 ports: %v", time.Since(start))
	must(t, h.d.RemoveSecurityGroups(ctx, func() []string {
		var ids []string
		for _, f := range fs {
			ids = append(ids, f.PortID)
		}
		return ids
	}()))
}

package metadata

import (
	"testing"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
)

// A port's floating IP is EC2's public-ipv4 (what tempest's
// test_server_basic_ops reads from inside the guest), not one of the NIC's
// own addresses.
func TestFloatingIPIsPublicIPv4(t *testing.T) {
	inst := &objects.Instance{UUID: "u1"}
	vifs := []objects.VIF{{ID: "p1", IPs: []objects.IP{
		{Address: "10.0.0.5", Version: 4, Type: "fixed", CIDR: "10.0.0.0/24"},
		{Address: "172.24.4.7", Version: 4, Type: "floating"},
	}}}
	m := FromInstance(inst, vifs, "").EC2MetaData()
	if m["public-ipv4"] != "172.24.4.7" || m["local-ipv4"] != "10.0.0.5" {
		t.Fatalf("public-ipv4 %v, local-ipv4 %v", m["public-ipv4"], m["local-ipv4"])
	}
	if in := FromInstance(inst, vifs, ""); len(in.Links) != 1 || len(in.Links[0].Addrs) != 1 {
		t.Fatalf("the floating IP is among the NIC's addresses: %+v", in.Links)
	}
	if m := FromInstance(inst, vifs[:0], "").EC2MetaData(); m["public-ipv4"] != "" {
		t.Fatalf("public-ipv4 without floating IPs: %v", m["public-ipv4"])
	}
}

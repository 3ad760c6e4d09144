package conformance_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/secgroups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/osinherit"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"golang.org/x/crypto/ssh"
)

// A role owned by the default domain can be granted on another domain (to a
// user, to a group, and inherited to its projects): Keystone checks a
// domain-specific role's domain only against a project target (issue 13 §5).
func TestDomainRoleGrantedOnAnotherDomain(t *testing.T) {
	c := startCloud(t, nil)
	ctx := context.Background()
	id := c.Client(t, "admin", "admin", "identity")
	d, err := domains.Create(ctx, id, domains.CreateOpts{Name: "other-domain"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	role, err := roles.Create(ctx, id, roles.CreateOpts{Name: "default-owned", DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	u, err := users.Create(ctx, id, users.CreateOpts{Name: "grantee", DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	g, err := groups.Create(ctx, id, groups.CreateOpts{Name: "grantees", DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := roles.Assign(ctx, id, role.ID, roles.AssignOpts{UserID: u.ID, DomainID: d.ID}).ExtractErr(); err != nil {
		t.Errorf("user grant on another domain: %v", err)
	}
	if err := roles.Assign(ctx, id, role.ID, roles.AssignOpts{GroupID: g.ID, DomainID: d.ID}).ExtractErr(); err != nil {
		t.Errorf("group grant on another domain: %v", err)
	}
	if err := osinherit.Assign(ctx, id, role.ID, osinherit.AssignOpts{UserID: u.ID, DomainID: d.ID}).ExtractErr(); err != nil {
		t.Errorf("inherited grant on another domain: %v", err)
	}
}

// An imported key pair's public key comes back exactly as given, trailing
// newline included (issue 13 §5).
func TestKeypairPublicKeyKeptAsGiven(t *testing.T) {
	c := startCloud(t, nil)
	ctx := context.Background()
	sc := computeClient(t, c, "demo", "demo", "2.92")
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	key := string(ssh.MarshalAuthorizedKey(sp)) // ends in "\n"
	kp, err := keypairs.Create(ctx, sc, keypairs.CreateOpts{Name: "imported", PublicKey: key}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if kp.PublicKey != key {
		t.Errorf("create returned %q, want %q", kp.PublicKey, key)
	}
	got, err := keypairs.Get(ctx, sc, "imported", nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.PublicKey != key {
		t.Errorf("show returned %q, want %q", got.PublicKey, key)
	}
}

type sgBody map[string]any

func (b sgBody) ToSecGroupCreateMap() (map[string]any, error) {
	return map[string]any{"security_group": map[string]any(b)}, nil
}
func (b sgBody) ToSecGroupUpdateMap() (map[string]any, error) { return b.ToSecGroupCreateMap() }

// Nova's security group proxy takes an empty description on create and
// update (0-255 characters; a name needs one) (issue 13 §5).
func TestSecurityGroupEmptyDescription(t *testing.T) {
	c := startCloud(t, nil)
	ctx := context.Background()
	sc := computeClient(t, c, "demo", "demo", "2.1")
	g, err := secgroups.Create(ctx, sc, sgBody{"name": "no-description", "description": ""}).Extract()
	if err != nil {
		t.Fatalf("create with an empty description: %v", err)
	}
	if g.Description != "" {
		t.Errorf("description %q", g.Description)
	}
	if _, err := secgroups.Update(ctx, sc, g.ID, sgBody{"name": "still-none", "description": ""}).Extract(); err != nil {
		t.Errorf("update with an empty description: %v", err)
	}
	if _, err := secgroups.Create(ctx, sc, sgBody{"name": "", "description": "x"}).Extract(); err == nil {
		t.Error("an empty name was accepted")
	}
}

// Updating a router's gateway with its current address on subnet S plus a
// second {subnet_id: S} entry leaves the gateway port alone, as Neutron's
// _check_for_external_ip_change: same subnets, same addresses (issue 13 §5).
func TestRouterGatewaySameIPsLeftAlone(t *testing.T) {
	c := startCloud(t, nil)
	ctx := context.Background()
	nc := c.Client(t, "admin", "admin", "network")
	pubs, err := networks.List(nc, networks.ListOpts{Name: "public"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nets, _ := networks.ExtractNetworks(pubs)
	if len(nets) == 0 {
		t.Fatal("no public network")
	}
	r, err := routers.Create(ctx, nc, routers.CreateOpts{Name: "gw", GatewayInfo: &routers.GatewayInfo{NetworkID: nets[0].ID}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	cur := r.GatewayInfo.ExternalFixedIPs
	if len(cur) == 0 {
		t.Fatalf("router has no gateway address: %+v", r.GatewayInfo)
	}
	s := cur[0].SubnetID
	want := append([]routers.ExternalFixedIP(nil), cur...)
	req := append(append([]routers.ExternalFixedIP(nil), cur...), routers.ExternalFixedIP{SubnetID: s})
	r2, err := routers.Update(ctx, nc, r.ID, routers.UpdateOpts{GatewayInfo: &routers.GatewayInfo{NetworkID: nets[0].ID, ExternalFixedIPs: req}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.GatewayInfo.ExternalFixedIPs) != len(want) {
		t.Fatalf("gateway addresses %+v, want %+v unchanged", r2.GatewayInfo.ExternalFixedIPs, want)
	}
	for i := range want {
		if r2.GatewayInfo.ExternalFixedIPs[i] != want[i] {
			t.Errorf("gateway address %d: %+v, want %+v", i, r2.GatewayInfo.ExternalFixedIPs[i], want[i])
		}
	}
}

package stack_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestMultinicFixedIPs drives addFixedIp and removeFixedIp (os-multinic,
// up to 2.43) through Nova and a real Neutron on the fake driver: an added
// address is one more fixed IP on the server's port on that network and
// shows in the server's addresses; a removed one leaves the port and the
// addresses and is free again (Neutron gives it to a new port); a locked
// server is refused 409 for its owner, bad bodies 400, and 2.44 no longer
// has the actions (404).
func TestMultinicFixedIPs(t *testing.T) {
	c := testkit.Start(t, "glance", "neutron", "neutron-agent", "nova", "nova-compute")
	ctx := context.Background()
	nova := c.Client(t, "demo", "demo", "compute")
	nova.Microversion = "2.43"
	neutron := c.Client(t, "demo", "demo", "network")
	netID := func(name string) string {
		pages, err := networks.List(neutron, networks.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ns, _ := networks.ExtractNetworks(pages)
		if len(ns) != 1 {
			t.Fatalf("networks named %s: %+v", name, ns)
		}
		return ns[0].ID
	}
	private, public := netID("private"), netID("public")
	s, err := servers.Create(ctx, nova, servers.CreateOpts{Name: "multinic", ImageRef: testImageID(t, c), FlavorRef: "1",
		Networks: []servers.Network{{UUID: private}}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, nova, s.ID, "ACTIVE", time.Minute)
	port := func() ports.Port {
		t.Helper()
		pages, err := ports.List(neutron, ports.ListOpts{DeviceID: s.ID}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ps, _ := ports.ExtractPorts(pages)
		if len(ps) != 1 {
			t.Fatalf("ports of the server: %+v", ps)
		}
		return ps[0]
	}
	addresses := func() []string {
		got, err := servers.Get(ctx, nova, s.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range got.Addresses["private"].([]any) {
			out = append(out, a.(map[string]any)["addr"].(string))
		}
		slices.Sort(out)
		return out
	}
	ipsOf := func(p ports.Port) []string {
		var out []string
		for _, ip := range p.FixedIPs {
			out = append(out, ip.IPAddress)
		}
		slices.Sort(out)
		return out
	}
	act := func(version, body string) (int, string) {
		t.Helper()
		sc := *nova
		sc.Microversion = version
		resp, err := sc.Post(ctx, sc.ServiceURL("servers", s.ID, "action"), rawBody(body), nil, &gophercloud.RequestOpts{OkCodes: []int{202}})
		var e gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &e) {
			return e.Actual, string(e.Body)
		}
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, ""
	}
	want := func(what string, code int, body string, wantCode int, has string) {
		t.Helper()
		if code != wantCode || !strings.Contains(body, has) {
			t.Fatalf("%s: %d %s, want %d with %q", what, code, body, wantCode, has)
		}
	}
	first := ipsOf(port())
	if len(first) != 1 {
		t.Fatalf("the server's port has %v, want one address", first)
	}

	code, body := act("2.43", `{"addFixedIp": {"networkId": "`+private+`"}}`)
	want("addFixedIp", code, body, 202, "")
	var both []string
	testkit.Eventually(t, 30*time.Second, func() bool {
		both = ipsOf(port())
		return len(both) == 2 && slices.Equal(addresses(), both)
	}, "the port and the server's addresses to have two addresses; the port has %v", &both)
	added := both[0]
	if added == first[0] {
		added = both[1]
	}

	for _, tc := range []struct {
		what, version, body string
		code                int
		has                 string
	}{
		{"addFixedIp without networkId", "2.43", `{"addFixedIp": {}}`, 400, "'networkId' is a required property"},
		{"addFixedIp with a number", "2.43", `{"addFixedIp": {"networkId": 5}}`, 400, "addFixedIp"},
		{"addFixedIp not an object", "2.43", `{"addFixedIp": "x"}`, 400, "addFixedIp"},
		{"addFixedIp on a network the server is not on", "2.43", `{"addFixedIp": {"networkId": "` + public + `"}}`, 400, "could not be found for instance"},
		{"removeFixedIp without address", "2.43", `{"removeFixedIp": {}}`, 400, "'address' is a required property"},
		{"removeFixedIp of an address the server lacks", "2.43", `{"removeFixedIp": {"address": "192.0.2.9"}}`, 400, "There are no fixed ips associated with instance"},
		{"addFixedIp after 2.43", "2.44", `{"addFixedIp": {"networkId": "` + private + `"}}`, 404, ""},
		{"removeFixedIp after 2.43", "2.44", `{"removeFixedIp": {"address": "` + added + `"}}`, 404, ""},
	} {
		code, body := act(tc.version, tc.body)
		want(tc.what, code, body, tc.code, tc.has)
	}
	if got := ipsOf(port()); !slices.Equal(got, both) {
		t.Fatalf("refused requests changed the port: %v, was %v", got, both)
	}

	// A locked server refuses both to its owner.
	code, body = act("2.43", `{"lock": null}`)
	want("lock", code, body, 202, "")
	code, body = act("2.43", `{"addFixedIp": {"networkId": "`+private+`"}}`)
	want("addFixedIp on a locked server", code, body, 409, "locked")
	code, body = act("2.43", `{"removeFixedIp": {"address": "`+added+`"}}`)
	want("removeFixedIp on a locked server", code, body, 409, "locked")
	code, body = act("2.43", `{"unlock": null}`)
	want("unlock", code, body, 202, "")

	code, body = act("2.43", `{"removeFixedIp": {"address": "`+added+`"}}`)
	want("removeFixedIp", code, body, 202, "")
	var left []string
	testkit.Eventually(t, 30*time.Second, func() bool {
		left = ipsOf(port())
		return slices.Equal(left, first) && slices.Equal(addresses(), first)
	}, "the port and the server's addresses to be back to %v; the port has %v", first, &left)
	// The address is free: Neutron gives it to a new port.
	p, err := ports.Create(ctx, neutron, ports.CreateOpts{NetworkID: private, FixedIPs: []ports.IP{{IPAddress: added}}}).Extract()
	if err != nil {
		t.Fatalf("a new port on the removed address %s: %v", added, err)
	}
	if err := ports.Delete(ctx, neutron, p.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := servers.Delete(ctx, nova, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

// testImageID is the ID of the fake driver's test image, tenku-blank.
func testImageID(t *testing.T, c *testkit.Cloud) string {
	t.Helper()
	pages, err := images.List(c.Client(t, "demo", "demo", "image"), images.ListOpts{Name: "tenku-blank"}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ims, _ := images.ExtractImages(pages)
	if len(ims) != 1 {
		t.Fatalf("images named tenku-blank: %+v", ims)
	}
	return ims[0].ID
}

// rawBody is a request body sent as it is.
type rawBody string

func (r rawBody) MarshalJSON() ([]byte, error) { return []byte(r), nil }

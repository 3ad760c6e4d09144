package dashboard_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestLaunchExtras launches with a description, an availability zone and a
// server group, and sees them at Nova; a bad new-volume size is refused.
func TestLaunchExtras(t *testing.T) {
	c := testkit.StartWith(t, testkit.Options{})
	ctx := context.Background()
	cc := c.Client(t, "demo", "demo", "compute")
	cc.Microversion = "2.79"
	sg, err := servergroups.Create(ctx, cc, servergroups.CreateOpts{Name: "spread", Policy: "anti-affinity"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, c.URLs["horizon"])
	b.login("demo", testkit.Password)
	_, page := b.get("/project/instances/launch/")
	for _, want := range []string{`<option value="nova">nova</option>`, `<option value="` + sg.ID + `">spread</option>`, `id="id_description"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("the wizard lacks %s", want)
		}
	}
	form := launchForm(t, b)
	form.Set("name", "placed")
	form.Set("description", "in a group")
	form.Set("availability_zone", "nova")
	form.Set("server_group", sg.ID)
	form.Set("new_volume", "1")
	form.Set("volume_size", "0")
	if _, page = b.post("/project/instances/launch/", form); !strings.Contains(page, "The volume size must be a whole number") {
		t.Errorf("a zero volume size was not refused")
	}
	form.Del("new_volume")
	resp, page := b.post("/project/instances/launch/", form)
	m := regexp.MustCompile(`/project/instances/([0-9a-f-]{36})/`).FindStringSubmatch(resp.Request.URL.Path)
	if m == nil {
		t.Fatalf("launch: %s\n%s", resp.Request.URL, page)
	}
	r := servers.Get(ctx, cc, m[1])
	body, _ := r.Body.(map[string]any)
	srv, _ := body["server"].(map[string]any)
	if r.Err != nil || srv["description"] != "in a group" {
		t.Fatalf("the server's description at Nova: %v %v", r.Body, r.Err)
	}
	got, err := servergroups.Get(ctx, cc, sg.ID).Extract()
	if err != nil || len(got.Members) != 1 || got.Members[0] != m[1] {
		t.Fatalf("the server group's members: %+v %v", got, err)
	}
}

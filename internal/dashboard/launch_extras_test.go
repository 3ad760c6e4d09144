package dashboard_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
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

// TestLaunchFromVolume boots an instance from an existing bootable volume
// through the wizard's "Volume" source: the wizard offers the volume, Nova
// gets a block_device_mapping_v2 volume mapping and no image, the server
// becomes ACTIVE with the volume attached, and a volume source without a
// volume is refused on the form.
func TestLaunchFromVolume(t *testing.T) {
	c := testkit.StartWith(t, testkit.Options{})
	ctx := context.Background()
	b := newBrowser(t, c.URLs["horizon"])
	b.login("demo", testkit.Password)
	form := launchForm(t, b)
	vc := c.Client(t, "demo", "demo", "volume")
	vol, err := volumes.Create(ctx, vc, volumes.CreateOpts{Name: "rootvol", Size: 1, ImageID: form.Get("image")}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, func() bool {
		v, err := volumes.Get(ctx, vc, vol.ID).Extract()
		return err == nil && v.Status == "available"
	}, "volume %s never became available", vol.ID)

	_, page := b.get("/project/instances/launch/")
	for _, want := range []string{`name="source_type" value="volume"`, `<option value="` + vol.ID + `">rootvol (1 GiB)</option>`} {
		if !strings.Contains(page, want) {
			t.Fatalf("the wizard lacks %s:\n%s", want, page)
		}
	}
	form.Set("name", "from-volume")
	form.Set("source_type", "volume")
	if _, page = b.post("/project/instances/launch/", form); !strings.Contains(page, "Choose a volume to boot from.") {
		t.Errorf("a volume source without a volume was not refused")
	}
	form.Set("volume", vol.ID)
	resp, page := b.post("/project/instances/launch/", form)
	m := regexp.MustCompile(`/project/instances/([0-9a-f-]{36})/`).FindStringSubmatch(resp.Request.URL.Path)
	if m == nil {
		t.Fatalf("launch: %s\n%s", resp.Request.URL, page)
	}
	cc := c.Client(t, "demo", "demo", "compute")
	var srv *servers.Server
	testkit.Eventually(t, 60*time.Second, func() bool {
		srv, err = servers.Get(ctx, cc, m[1]).Extract()
		return err == nil && (srv.Status == "ACTIVE" || srv.Status == "ERROR")
	}, "from-volume never built")
	if srv.Status != "ACTIVE" {
		t.Fatalf("from-volume is %s: %+v", srv.Status, srv.Fault)
	}
	if id, _ := srv.Image["id"].(string); id != "" {
		t.Errorf("the server booted from a volume has image %q", id)
	}
	if len(srv.AttachedVolumes) != 1 || srv.AttachedVolumes[0].ID != vol.ID {
		t.Errorf("the server's volumes: %+v, want %s", srv.AttachedVolumes, vol.ID)
	}
}

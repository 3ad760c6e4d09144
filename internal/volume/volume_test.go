package volume_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
	"github.com/tenku-cloud/tenku/internal/volume/api"
)

func startCloud(t *testing.T, size string) *testkit.Cloud {
	t.Helper()
	return testkit.StartWith(t, testkit.Options{
		Services: []string{"keystone", "cinder", "cinder-volume"},
		Tweak:    func(o *stack.Options) { o.VolumeBackingFileSize = size },
	})
}

func waitStatus(t *testing.T, c *gophercloud.ServiceClient, id string, want ...string) *volumes.Volume {
	t.Helper()
	var v *volumes.Volume
	testkit.Eventually(t, 10*time.Second, func() bool {
		var err error
		v, err = volumes.Get(context.Background(), c, id).Extract()
		if err != nil {
			return false
		}
		for _, w := range want {
			if v.Status == w {
				return true
			}
		}
		return false
	}, "volume %s never reached %v", id, want)
	return v
}

// raw sends a request with a token and returns status and decoded body.
func raw(t *testing.T, c *gophercloud.ServiceClient, method, path, body string, hdr ...string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(c.ResourceBaseURL(), "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", c.TokenID)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m, resp.Header
}

func TestVolumeLifecycle(t *testing.T) {
	c := startCloud(t, "3G")
	ctx := context.Background()
	demo := c.Client(t, "demo", "demo", "volumev3")
	admin := c.Client(t, "admin", "admin", "volumev3")

	v, err := volumes.Create(ctx, demo, volumes.CreateOpts{Size: 1, Name: "v1", Metadata: map[string]string{"k": "v"}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "creating" || v.VolumeType != "__DEFAULT__" || v.AvailabilityZone != "nova" {
		t.Fatalf("created %+v", v)
	}
	v = waitStatus(t, demo, v.ID, "available")
	if v.Size != 1 || v.Name != "v1" || v.Metadata["k"] != "v" || v.Bootable != "false" {
		t.Fatalf("volume %+v", v)
	}
	// The data is a sparse file of the volume's size under the data directory.
	file := filepath.Join(c.DataDir, "cinder-volume", "volumes", "volume-"+v.ID)
	if fi, err := os.Stat(file); err != nil || fi.Size() != 1<<30 {
		t.Fatalf("volume file %v %v", fi, err)
	}
	// Admins see the host; members do not.
	av, err := volumes.Get(ctx, admin, v.ID).Extract()
	if err != nil || !strings.HasSuffix(av.Host, "@file#file") {
		t.Fatalf("admin view host %q %v", av.Host, err)
	}
	if v.Host != "" {
		t.Fatalf("member sees the host %q", v.Host)
	}

	name := "v1-renamed"
	if u, err := volumes.Update(ctx, demo, v.ID, volumes.UpdateOpts{Name: &name}).Extract(); err != nil || u.Name != name {
		t.Fatalf("update %+v %v", u, err)
	}

	// Two more, to page through; the third does not fit the 3 GiB backend.
	v2, _ := volumes.Create(ctx, demo, volumes.CreateOpts{Size: 1, Name: "v2"}, nil).Extract()
	v3, _ := volumes.Create(ctx, demo, volumes.CreateOpts{Size: 2, Name: "big"}, nil).Extract()
	waitStatus(t, demo, v2.ID, "available")
	waitStatus(t, demo, v3.ID, "error")

	var ids []string
	err = volumes.List(demo, volumes.ListOpts{Limit: 1, Sort: "name:asc"}).EachPage(ctx, func(ctx context.Context, p pagination.Page) (bool, error) {
		vs, err := volumes.ExtractVolumes(p)
		for _, x := range vs {
			ids = append(ids, x.Name)
		}
		return true, err
	})
	if err != nil || strings.Join(ids, ",") != "big,v1-renamed,v2" {
		t.Fatalf("paged list %v %v", ids, err)
	}
	all, _ := volumes.List(demo, volumes.ListOpts{Status: "error"}).AllPages(ctx)
	errs, _ := volumes.ExtractVolumes(all)
	if len(errs) != 1 || errs[0].ID != v3.ID {
		t.Fatalf("status filter %+v", errs)
	}
	all, _ = volumes.List(demo, volumes.ListOpts{Metadata: map[string]string{"k": "v"}}).AllPages(ctx)
	withMeta, _ := volumes.ExtractVolumes(all)
	if len(withMeta) != 1 || withMeta[0].ID != v.ID {
		t.Fatalf("metadata filter %+v", withMeta)
	}

	// Bad input gets Cinder's error bodies.
	for _, tc := range []struct {
		method, path, body string
		status             int
		key                string
	}{
		{"POST", "/volumes", `{"volume": {"size": 0}}`, 400, "badRequest"},
		{"POST", "/volumes", `{"volume": {"size": "x"}}`, 400, "badRequest"},
		{"POST", "/volumes", `{"volume": {}}`, 400, "badRequest"},
		{"POST", "/volumes", `{"volume": {"size": 1, "volume_type": "nope"}}`, 404, "itemNotFound"},
		{"POST", "/volumes", `{"volume": {"size": 1, "availability_zone": "mars"}}`, 400, "badRequest"},
		{"POST", "/volumes", `{"volume": {"size": 1, "snapshot_id": "00000000-0000-0000-0000-000000000000"}}`, 404, "itemNotFound"},
		{"POST", "/volumes", `{"volume": {"size": 1, "imageRef": "00000000-0000-0000-0000-000000000000"}}`, 503, "serviceUnavailable"}, // no Glance in this cloud
		{"POST", "/volumes", `not json`, 400, "badRequest"},
		{"GET", "/volumes/00000000-0000-0000-0000-000000000000", "", 404, "itemNotFound"},
		{"GET", "/volumes?sort=bogus", "", 400, "badRequest"},
		{"GET", "/volumes?limit=-1", "", 400, "badRequest"},
		{"GET", "/volumes?marker=nope", "", 404, "itemNotFound"},
		{"POST", "/types", `{"volume_type": {"name": "t"}}`, 403, "forbidden"},
	} {
		st, body, _ := raw(t, demo, tc.method, tc.path, tc.body)
		if st != tc.status || body[tc.key] == nil {
			t.Errorf("%s %s %s: %d %v", tc.method, tc.path, tc.body, st, body)
		}
	}

	// Microversions.
	if st, _, h := raw(t, demo, "GET", "/volumes", "", "OpenStack-API-Version", "volume 3.0"); st != 200 || h.Get("OpenStack-API-Version") != "volume 3.0" {
		t.Errorf("3.0: %d %v", st, h)
	}
	if st, _, _ := raw(t, demo, "GET", "/volumes", "", "OpenStack-API-Version", "volume 9.0"); st != 406 {
		t.Errorf("9.0: %d", st)
	}
	above := rest.V(api.MaxVersion.Major, api.MaxVersion.Minor+1).String()
	if st, _, _ := raw(t, demo, "GET", "/volumes", "", "OpenStack-API-Version", "volume "+above); st != 406 {
		t.Errorf("%s (above the maximum): %d", above, st)
	}
	if st, _, h := raw(t, demo, "GET", "/volumes", "", "OpenStack-API-Version", "volume latest"); st != 200 || h.Get("OpenStack-API-Version") != "volume "+api.MaxVersion.String() {
		t.Errorf("latest: %d %v", st, h)
	}
	// The bootable filter: strict from 3.2, before it anything but
	// false/False selects bootable volumes.
	for _, c := range []struct {
		ver, val string
		status   int
	}{{"3.2", "maybe", 400}, {"3.2", "true", 200}, {"3.1", "maybe", 200}, {"3.0", "0", 200}} {
		if st, body, _ := raw(t, demo, "GET", "/volumes?bootable="+c.val, "", "OpenStack-API-Version", "volume "+c.ver); st != c.status {
			t.Errorf("bootable=%s at %s: %d %v", c.val, c.ver, st, body)
		}
	}

	// Types: the admin makes a private one with a backend name nothing has.
	vt, err := volumetypes.Create(ctx, admin, volumetypes.CreateOpts{Name: "nowhere", ExtraSpecs: map[string]string{"volume_backend_name": "lvm"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	nv, err := volumes.Create(ctx, demo, volumes.CreateOpts{Size: 1, VolumeType: "nowhere"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, demo, nv.ID, "error")
	if err := volumetypes.Delete(ctx, admin, vt.ID).ExtractErr(); err == nil {
		t.Fatal("deleted a type in use")
	}
	// The scheduler left a user message (3.3): no backend.
	if st, _, _ := raw(t, demo, "GET", "/messages", ""); st != 404 {
		t.Errorf("messages at 3.0: %d", st)
	}
	st, body, _ := raw(t, demo, "GET", "/messages?resource_uuid="+nv.ID, "", "OpenStack-API-Version", "volume 3.5")
	msgs, _ := body["messages"].([]any)
	if st != 200 || len(msgs) != 1 {
		t.Fatalf("messages %d %v", st, body)
	}
	msg := msgs[0].(map[string]any)
	if msg["event_id"] != "VOLUME_VOLUME_001_003" || msg["user_message"] != "schedule allocate volume: Could not find any available weighted backend." ||
		msg["resource_type"] != "VOLUME" || msg["message_level"] != "ERROR" || msg["guaranteed_until"] == nil {
		t.Fatalf("message %v", msg)
	}
	mid := msg["id"].(string)
	if st, _, _ := raw(t, demo, "GET", "/messages/"+mid, "", "OpenStack-API-Version", "volume 3.3"); st != 200 {
		t.Errorf("show message %d", st)
	}
	if st, _, _ := raw(t, demo, "DELETE", "/messages/"+mid, "", "OpenStack-API-Version", "volume 3.3"); st != 204 {
		t.Errorf("delete message %d", st)
	}
	if st, _, _ := raw(t, demo, "GET", "/messages/"+mid, "", "OpenStack-API-Version", "volume 3.3"); st != 404 {
		t.Errorf("deleted message %d", st)
	}
	// Clusters (3.7): none, as tenku's services are not clustered.
	if st, body, _ := raw(t, admin, "GET", "/clusters", "", "OpenStack-API-Version", "volume 3.7"); st != 200 || len(body["clusters"].([]any)) != 0 {
		t.Errorf("clusters %d %v", st, body)
	}
	if st, _, _ := raw(t, admin, "GET", "/clusters/x", "", "OpenStack-API-Version", "volume 3.7"); st != 404 {
		t.Errorf("a cluster %d", st)
	}
	if st, _, _ := raw(t, demo, "GET", "/clusters", "", "OpenStack-API-Version", "volume 3.7"); st != 403 {
		t.Errorf("clusters as a user %d", st)
	}

	// Actions: extend (beyond the backend it fails and the volume stays usable),
	// bootable, reset-status (admin only), metadata.
	act := func(cl *gophercloud.ServiceClient, id, body string) int {
		st, _, _ := raw(t, cl, "POST", "/volumes/"+id+"/action", body)
		return st
	}
	if st := act(demo, v.ID, `{"os-extend": {"new_size": 1}}`); st != 400 {
		t.Errorf("extend to the same size: %d", st)
	}
	if st := act(demo, v.ID, `{"os-extend": {"new_size": 2}}`); st != 202 {
		t.Fatalf("extend: %d", st)
	}
	if ev := waitStatus(t, demo, v.ID, "available"); ev.Size != 2 {
		t.Fatalf("extended size %d", ev.Size)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() != 2<<30 {
		t.Fatalf("extended file %v %v", fi, err)
	}
	if st := act(demo, v.ID, `{"os-extend": {"new_size": 50}}`); st != 202 {
		t.Fatalf("extend: %d", st)
	}
	waitStatus(t, demo, v.ID, "error_extending")
	if st := act(demo, v.ID, `{"os-reset_status": {"status": "available"}}`); st != 403 {
		t.Errorf("member reset-status: %d", st)
	}
	if st := act(admin, v.ID, `{"os-reset_status": {"status": "available"}}`); st != 202 {
		t.Errorf("admin reset-status: %d", st)
	}
	if st := act(demo, v.ID, `{"os-set_bootable": {"bootable": true}}`); st != 200 {
		t.Errorf("set bootable: %d", st)
	}
	if st := act(demo, v.ID, `{"os-retype": {"new_type": "x"}}`); st != 400 {
		t.Errorf("retype to an unknown type: %d", st)
	}
	if st := act(demo, v.ID, `{"os-migrate_volume": {"host": "x"}}`); st != 501 {
		t.Errorf("migrate (not implemented): %d", st)
	}
	if st := act(demo, v.ID, `{"os-bogus": {}}`); st != 400 {
		t.Errorf("unknown action: %d", st)
	}
	if st, body, _ := raw(t, demo, "POST", "/volumes/"+v.ID+"/metadata", `{"metadata": {"x": "y"}}`); st != 200 || body["metadata"].(map[string]any)["k"] != "v" {
		t.Errorf("metadata merge: %d %v", st, body)
	}
	if st, _, _ := raw(t, demo, "DELETE", "/volumes/"+v.ID+"/metadata/nokey", ""); st != 404 {
		t.Errorf("delete missing metadata key: %d", st)
	}
	bv := waitStatus(t, demo, v.ID, "available")
	if bv.Bootable != "true" || bv.Metadata["x"] != "y" {
		t.Fatalf("after actions %+v", bv)
	}

	// Quotas: the admin lowers demo's to the volumes it has; one more is 413.
	st, lim, _ := raw(t, demo, "GET", "/limits", "")
	abs, _ := lim["limits"].(map[string]any)["absolute"].(map[string]any)
	if st != 200 || abs["totalVolumesUsed"] != 4.0 || abs["maxTotalVolumes"] != 10.0 {
		t.Fatalf("limits %d %v", st, lim)
	}
	if st, _, _ := raw(t, admin, "PUT", "/os-quota-sets/"+v.TenantID, `{"quota_set": {"volumes": 4}}`); st != 200 {
		t.Fatalf("set quota %d", st)
	}
	if st, body, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1}}`); st != 413 || body["overLimit"] == nil {
		t.Errorf("over quota: %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "GET", "/os-quota-sets/"+v.TenantID+"?usage=True", ""); st != 200 || body["quota_set"].(map[string]any)["volumes"].(map[string]any)["in_use"] != 4.0 {
		t.Errorf("quota usage %d %v", st, body)
	}
	raw(t, admin, "DELETE", "/os-quota-sets/"+v.TenantID, "")

	// Zones, services and pools.
	if st, body, _ := raw(t, demo, "GET", "/os-availability-zone", ""); st != 200 || !strings.Contains(fmt.Sprint(body), "zoneName:nova") {
		t.Errorf("zones %d %v", st, body)
	}
	if st, body, _ := raw(t, admin, "GET", "/os-services", ""); st != 200 || !strings.Contains(fmt.Sprint(body), "cinder-volume") || !strings.Contains(fmt.Sprint(body), "cinder-scheduler") {
		t.Errorf("services %d %v", st, body)
	}
	if st, _, _ := raw(t, demo, "GET", "/os-services", ""); st != 403 {
		t.Errorf("member lists services: %d", st)
	}
	if st, body, _ := raw(t, admin, "GET", "/scheduler-stats/get_pools?detail=True", ""); st != 200 || !strings.Contains(fmt.Sprint(body), "total_capacity_gb:3") {
		t.Errorf("pools %d %v", st, body)
	}

	// Delete: the file goes, the volume goes.
	if err := volumes.Delete(ctx, demo, v.ID, nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool {
		_, err := volumes.Get(ctx, demo, v.ID).Extract()
		return gophercloud.ResponseCodeIs(err, 404)
	}, "volume not deleted")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("volume file left: %v", err)
	}
	for _, id := range []string{v2.ID, v3.ID, nv.ID} {
		if err := volumes.Delete(ctx, demo, id, nil).ExtractErr(); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
	if err := volumetypes.Delete(ctx, admin, vt.ID).ExtractErr(); err != nil {
		testkit.Eventually(t, 10*time.Second, func() bool {
			return volumetypes.Delete(ctx, admin, vt.ID).ExtractErr() == nil
		}, "type not deletable after its volumes went: %v", err)
	}
}

func TestVersions(t *testing.T) {
	c := startCloud(t, "")
	demo := c.Client(t, "demo", "demo", "volumev3")
	root := strings.TrimSuffix(demo.ResourceBaseURL(), "/")
	root = root[:strings.Index(root, "/v3/")]
	resp, err := http.Get(root + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Versions []struct {
			ID, Status, Version string
			MinVersion          string `json:"min_version"`
		} `json:"versions"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	if resp.StatusCode != 300 || len(doc.Versions) != 1 || doc.Versions[0].Status != "CURRENT" {
		t.Fatalf("versions %d %+v", resp.StatusCode, doc)
	}
}

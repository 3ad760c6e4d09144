package volume_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

func waitSnapshot(t *testing.T, c *gophercloud.ServiceClient, id string, want string) *snapshots.Snapshot {
	t.Helper()
	var s *snapshots.Snapshot
	testkit.Eventually(t, 10*time.Second, func() bool {
		var err error
		s, err = snapshots.Get(context.Background(), c, id).Extract()
		return err == nil && s.Status == want
	}, "snapshot %s never reached %s", id, want)
	return s
}

func waitSnapshotGone(t *testing.T, c *gophercloud.ServiceClient, id string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() bool {
		_, err := snapshots.Get(context.Background(), c, id).Extract()
		return gophercloud.ResponseCodeIs(err, 404)
	}, "snapshot %s not deleted", id)
}

// TestSnapshots takes a snapshot of a volume with data on it, checks the
// copy on the file backend, the API's views, metadata, quotas, the admin
// actions and that a volume with snapshots is deleted only with cascade.
func TestSnapshots(t *testing.T) {
	c := startCloud(t, "8G")
	ctx := context.Background()
	demo := c.Client(t, "demo", "demo", "volumev3")
	admin := c.Client(t, "admin", "admin", "volumev3")
	dir := filepath.Join(c.DataDir, "cinder-volume", "volumes")

	v, err := volumes.Create(ctx, demo, volumes.CreateOpts{Size: 1, Name: "src"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	v = waitStatus(t, demo, v.ID, "available")
	f, err := os.OpenFile(filepath.Join(dir, "volume-"+v.ID), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("marker"), 300<<20)
	f.Close()

	s, err := snapshots.Create(ctx, demo, snapshots.CreateOpts{VolumeID: v.ID, Name: "s1", Metadata: map[string]string{"k": "v"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != "creating" || s.Size != 1 || s.VolumeID != v.ID || s.Metadata["k"] != "v" {
		t.Fatalf("created %+v", s)
	}
	s = waitSnapshot(t, demo, s.ID, "available")
	if s.Progress != "100%" || s.ProjectID != v.TenantID {
		t.Fatalf("extended attributes %+v", s)
	}
	b := make([]byte, 6)
	if sf, err := os.Open(filepath.Join(dir, "snapshot-"+s.ID)); err != nil {
		t.Fatal(err)
	} else {
		sf.ReadAt(b, 300<<20)
		sf.Close()
	}
	if string(b) != "marker" {
		t.Fatalf("snapshot file holds %q", b)
	}
	// The summary views (create, update, plain list) have no extended attributes.
	if st, body, _ := raw(t, demo, "GET", "/snapshots", ""); st != 200 || len(body["snapshots"].([]any)) != 1 ||
		body["snapshots"].([]any)[0].(map[string]any)["os-extended-snapshot-attributes:progress"] != nil {
		t.Fatalf("list %d %v", st, body)
	}
	name := "s1-renamed"
	if u, err := snapshots.Update(ctx, demo, s.ID, snapshots.UpdateOpts{Name: &name}).Extract(); err != nil || u.Name != name {
		t.Fatalf("update %+v %v", u, err)
	}
	// Metadata.
	if st, body, _ := raw(t, demo, "PUT", "/snapshots/"+s.ID+"/metadata/x", `{"meta": {"x": "y"}}`); st != 200 || body["meta"] == nil {
		t.Fatalf("put metadata key %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "GET", "/snapshots/"+s.ID+"/metadata", ""); st != 200 || len(body["metadata"].(map[string]any)) != 2 {
		t.Fatalf("metadata %d %v", st, body)
	}
	if st, _, _ := raw(t, demo, "DELETE", "/snapshots/"+s.ID+"/metadata/k", ""); st != 200 {
		t.Fatalf("delete metadata key %d", st)
	}
	if st, body, _ := raw(t, demo, "GET", "/snapshots/"+s.ID+"/metadata/k", ""); st != 404 || body["itemNotFound"] == nil {
		t.Fatalf("deleted key %d %v", st, body)
	}

	// Quotas: the snapshot counts, in snapshots and in gigabytes.
	st, body, _ := raw(t, demo, "GET", "/os-quota-sets/"+v.TenantID+"?usage=True", "")
	qs := body["quota_set"].(map[string]any)
	if st != 200 || qs["snapshots"].(map[string]any)["in_use"] != 1.0 || qs["gigabytes"].(map[string]any)["in_use"] != 2.0 {
		t.Fatalf("usage %d %v", st, body)
	}
	raw(t, admin, "PUT", "/os-quota-sets/"+v.TenantID, `{"quota_set": {"snapshots": 1}}`)
	if st, body, _ := raw(t, demo, "POST", "/snapshots", `{"snapshot": {"volume_id": "`+v.ID+`"}}`); st != 413 || body["overLimit"] == nil {
		t.Fatalf("over the snapshots quota: %d %v", st, body)
	}
	raw(t, admin, "PUT", "/os-quota-sets/"+v.TenantID, `{"quota_set": {"snapshots": 10, "gigabytes": 2}}`)
	if st, body, _ := raw(t, demo, "POST", "/snapshots", `{"snapshot": {"volume_id": "`+v.ID+`"}}`); st != 413 || body["overLimit"] == nil {
		t.Fatalf("over the gigabytes quota: %d %v", st, body)
	}
	raw(t, admin, "DELETE", "/os-quota-sets/"+v.TenantID, "")

	// Bad input.
	for _, tc := range []struct {
		method, path, body string
		status             int
		key                string
	}{
		{"POST", "/snapshots", `{"snapshot": {}}`, 400, "badRequest"},
		{"POST", "/snapshots", `{"snapshot": {"volume_id": null}}`, 404, "itemNotFound"},
		{"POST", "/snapshots", `{"snapshot": {"volume_id": "00000000-0000-0000-0000-000000000000"}}`, 404, "itemNotFound"},
		{"POST", "/snapshots", `{"snapshot": {"volume_id": "nope"}}`, 400, "badRequest"},
		{"POST", "/snapshots", `{"snapshot": {"volume_id": "` + v.ID + `", "force": "maybe"}}`, 400, "badRequest"},
		{"GET", "/snapshots/00000000-0000-0000-0000-000000000000", "", 404, "itemNotFound"},
		{"GET", "/snapshots?sort=bogus", "", 400, "badRequest"},
		{"GET", "/snapshots?limit=x", "", 400, "badRequest"},
		{"POST", "/snapshots/" + s.ID + "/action", `{"os-reset_status": {"status": "error"}}`, 403, "forbidden"},
		{"POST", "/snapshots/" + s.ID + "/action", `{"os-bogus": {}}`, 400, "badRequest"},
		{"DELETE", "/volumes/" + v.ID, "", 400, "badRequest"},
	} {
		st, body, _ := raw(t, demo, tc.method, tc.path, tc.body)
		if st != tc.status || body[tc.key] == nil {
			t.Errorf("%s %s %s: %d %v", tc.method, tc.path, tc.body, st, body)
		}
	}

	// Admin actions: reset-status, then force-delete from error.
	if st, _, _ := raw(t, admin, "POST", "/snapshots/"+s.ID+"/action", `{"os-reset_status": {"status": "error"}}`); st != 202 {
		t.Fatalf("reset status %d", st)
	}
	if st, _, _ := raw(t, admin, "POST", "/snapshots/"+s.ID+"/action", `{"os-reset_status": {"status": "nonsense"}}`); st != 400 {
		t.Fatalf("reset to a bad status %d", st)
	}
	waitSnapshot(t, demo, s.ID, "error")
	if st, _, _ := raw(t, admin, "POST", "/snapshots/"+s.ID+"/action", `{"os-force_delete": {}}`); st != 202 {
		t.Fatalf("force delete %d", st)
	}
	waitSnapshotGone(t, demo, s.ID)
	if _, err := os.Stat(filepath.Join(dir, "snapshot-"+s.ID)); !os.IsNotExist(err) {
		t.Fatalf("snapshot file left: %v", err)
	}

	// Two snapshots, a page each; then cascade deletes them with the volume.
	s2, _ := snapshots.Create(ctx, demo, snapshots.CreateOpts{VolumeID: v.ID, Name: "a"}).Extract()
	s3, _ := snapshots.Create(ctx, demo, snapshots.CreateOpts{VolumeID: v.ID, Name: "b"}).Extract()
	waitSnapshot(t, demo, s2.ID, "available")
	waitSnapshot(t, demo, s3.ID, "available")
	if st, body, _ := raw(t, demo, "GET", "/snapshots/detail?limit=1&sort=name:asc", ""); st != 200 || len(body["snapshots"].([]any)) != 1 ||
		body["snapshots"].([]any)[0].(map[string]any)["name"] != "a" || body["snapshots_links"] == nil {
		t.Fatalf("page %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "GET", "/snapshots?name=b&volume_id="+v.ID, ""); st != 200 || len(body["snapshots"].([]any)) != 1 {
		t.Fatalf("filter %d %v", st, body)
	}
	if st, _, _ := raw(t, demo, "DELETE", "/snapshots/"+s2.ID, ""); st != 202 {
		t.Fatalf("delete snapshot %d", st)
	}
	waitSnapshotGone(t, demo, s2.ID)
	if st, body, _ := raw(t, demo, "DELETE", "/volumes/"+v.ID+"?cascade=true", ""); st != 202 {
		t.Fatalf("cascade delete %d %v", st, body)
	}
	waitSnapshotGone(t, demo, s3.ID)
	testkit.Eventually(t, 10*time.Second, func() bool {
		_, err := volumes.Get(ctx, demo, v.ID).Extract()
		return gophercloud.ResponseCodeIs(err, 404)
	}, "volume not deleted")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left: %v", ents)
	}
}

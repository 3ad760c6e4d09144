package volume_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// TestCreateFromSnapshotAndVolume makes volumes from a snapshot (larger
// than it) and from another volume (at its size) on the file backend:
// the data is copied, the sizes, type, bootable flag and source fields are
// Cinder's, bad requests are 400, the gigabytes quota counts the copy, and
// a snapshot or volume being copied from cannot be deleted.
func TestCreateFromSnapshotAndVolume(t *testing.T) {
	c := startCloud(t, "16G")
	ctx := context.Background()
	demo := c.Client(t, "demo", "demo", "volumev3")
	admin := c.Client(t, "admin", "admin", "volumev3")
	dir := filepath.Join(c.DataDir, "cinder-volume", "volumes")
	readMarker := func(id string) string {
		t.Helper()
		f, err := os.Open(filepath.Join(dir, "volume-"+id))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 6)
		f.ReadAt(b, 300<<20)
		return string(b)
	}
	fileSize := func(id string) int64 {
		t.Helper()
		st, err := os.Stat(filepath.Join(dir, "volume-"+id))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}

	src, err := volumes.Create(ctx, demo, volumes.CreateOpts{Size: 1, Name: "src", Metadata: map[string]string{"src": "only"}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	src = waitStatus(t, demo, src.ID, "available")
	f, err := os.OpenFile(filepath.Join(dir, "volume-"+src.ID), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("marker"), 300<<20)
	f.Close()
	if st, _, _ := raw(t, demo, "POST", "/volumes/"+src.ID+"/action", `{"os-set_bootable": {"bootable": true}}`); st != 200 {
		t.Fatalf("set bootable %d", st)
	}
	snap, err := snapshots.Create(ctx, demo, snapshots.CreateOpts{VolumeID: src.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, demo, snap.ID, "available")

	// From the snapshot, larger: the copy is extended.
	st, body, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"snapshot_id": "`+snap.ID+`", "size": 2, "metadata": {"k": "v"}}}`)
	if st != 202 {
		t.Fatalf("create from snapshot %d %v", st, body)
	}
	vb := body["volume"].(map[string]any)
	if vb["snapshot_id"] != snap.ID || vb["source_volid"] != nil || vb["size"] != 2.0 || vb["volume_type"] != src.VolumeType {
		t.Fatalf("create response %v", vb)
	}
	fromSnap := waitStatus(t, demo, vb["id"].(string), "available")
	if fromSnap.Bootable != "true" || fromSnap.Metadata["k"] != "v" || fromSnap.Metadata["src"] != "" || fromSnap.AvailabilityZone != src.AvailabilityZone {
		t.Fatalf("from snapshot %+v", fromSnap)
	}
	if m, n := readMarker(fromSnap.ID), fileSize(fromSnap.ID); m != "marker" || n != 2<<30 {
		t.Fatalf("from snapshot holds %q in %d bytes", m, n)
	}

	// From the volume, no size: the source's.
	st, body, _ = raw(t, demo, "POST", "/volumes", `{"volume": {"source_volid": "`+src.ID+`", "name": "clone"}}`)
	if st != 202 {
		t.Fatalf("clone %d %v", st, body)
	}
	clone := waitStatus(t, demo, body["volume"].(map[string]any)["id"].(string), "available")
	if clone.SourceVolID != src.ID || clone.SnapshotID != "" || clone.Size != 1 || clone.Bootable != "true" || clone.VolumeType != src.VolumeType {
		t.Fatalf("clone %+v", clone)
	}
	if m := readMarker(clone.ID); m != "marker" {
		t.Fatalf("clone holds %q", m)
	}

	// Bad requests.
	for _, tc := range []struct {
		body   string
		status int
		key    string
	}{
		{`{"volume": {"source_volid": "` + fromSnap.ID + `", "size": 1}}`, 400, "badRequest"},
		{`{"volume": {"snapshot_id": "` + snap.ID + `", "source_volid": "` + src.ID + `"}}`, 400, "badRequest"},
		{`{"volume": {"snapshot_id": "00000000-0000-0000-0000-000000000000"}}`, 404, "itemNotFound"},
		{`{"volume": {"source_volid": "00000000-0000-0000-0000-000000000000"}}`, 404, "itemNotFound"},
		{`{"volume": {"source_volid": "` + src.ID + `", "volume_type": "nope"}}`, 404, "itemNotFound"},
	} {
		if st, body, _ := raw(t, demo, "POST", "/volumes", tc.body); st != tc.status || body[tc.key] == nil {
			t.Errorf("%s: %d %v", tc.body, st, body)
		}
	}
	// A snapshot in error cannot be copied.
	raw(t, admin, "POST", "/snapshots/"+snap.ID+"/action", `{"os-reset_status": {"status": "error"}}`)
	if st, body, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"snapshot_id": "`+snap.ID+`"}}`); st != 400 || body["badRequest"] == nil {
		t.Errorf("from a snapshot in error: %d %v", st, body)
	}
	raw(t, admin, "POST", "/snapshots/"+snap.ID+"/action", `{"os-reset_status": {"status": "available"}}`)

	// Quota: the copy's size counts in gigabytes (1+1+2+1 held, 5 allowed).
	raw(t, admin, "PUT", "/os-quota-sets/"+src.TenantID, `{"quota_set": {"gigabytes": 5}}`)
	if st, body, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"source_volid": "`+src.ID+`"}}`); st != 413 || body["overLimit"] == nil {
		t.Errorf("over the gigabytes quota: %d %v", st, body)
	}
	raw(t, admin, "DELETE", "/os-quota-sets/"+src.TenantID, "")

	// While a copy is being made, its sources cannot be deleted.
	if st, _, _ := raw(t, admin, "POST", "/volumes/"+fromSnap.ID+"/action", `{"os-reset_status": {"status": "creating"}}`); st != 202 {
		t.Fatalf("reset status %d", st)
	}
	if st, body, _ := raw(t, demo, "DELETE", "/snapshots/"+snap.ID, ""); st != 400 || body["badRequest"] == nil {
		t.Errorf("delete a snapshot being copied: %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "DELETE", "/volumes/"+src.ID+"?cascade=true", ""); st != 400 || body["badRequest"] == nil {
		t.Errorf("cascade delete a volume whose snapshot is being copied: %d %v", st, body)
	}
	waitSnapshot(t, demo, snap.ID, "available")
	raw(t, admin, "POST", "/volumes/"+fromSnap.ID+"/action", `{"os-reset_status": {"status": "available"}}`)
	raw(t, admin, "POST", "/volumes/"+clone.ID+"/action", `{"os-reset_status": {"status": "creating"}}`)
	if st, body, _ := raw(t, demo, "DELETE", "/snapshots/"+snap.ID, ""); st != 202 {
		t.Errorf("delete a snapshot no longer copied: %d %v", st, body)
	}
	waitSnapshotGone(t, demo, snap.ID)
	if st, body, _ := raw(t, demo, "DELETE", "/volumes/"+src.ID, ""); st != 400 || body["badRequest"] == nil {
		t.Errorf("delete a volume being cloned: %d %v", st, body)
	}
	raw(t, admin, "POST", "/volumes/"+clone.ID+"/action", `{"os-reset_status": {"status": "available"}}`)
	for _, id := range []string{src.ID, clone.ID, fromSnap.ID} {
		if st, body, _ := raw(t, demo, "DELETE", "/volumes/"+id, ""); st != 202 {
			t.Errorf("delete %s: %d %v", id, st, body)
		}
	}
}

package volume_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// TestLegacyAttachActions runs the attach steps Nova's old flow and
// tempest's volume action tests use: reserve, unreserve, initialize a
// connection, attach, begin/roll detaching, detach, with the volume's
// status and attachments after each and the refusals in between.
func TestLegacyAttachActions(t *testing.T) {
	c := startCloud(t, "2G")
	ctx := context.Background()
	demo := c.Client(t, "demo", "demo", "volumev3")
	v, err := volumes.Create(ctx, demo, volumes.CreateOpts{Size: 1, Name: "att"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, demo, v.ID, "available")
	act := "/volumes/" + v.ID + "/action"
	status := func(want string) *volumes.Volume {
		t.Helper()
		got, err := volumes.Get(ctx, demo, v.ID).Extract()
		if err != nil || got.Status != want {
			t.Fatalf("status %+v %v, want %s", got, err, want)
		}
		return got
	}

	if err := volumes.Reserve(ctx, demo, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	status("attaching")
	if code, body, _ := raw(t, demo, "POST", act, `{"os-reserve": {}}`); code != http.StatusBadRequest || body["badRequest"] == nil {
		t.Fatalf("second reserve %d %v", code, body)
	}
	if err := volumes.Unreserve(ctx, demo, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	status("available")

	// The file backend's connection names the volume's file.
	info, err := volumes.InitializeConnection(ctx, demo, v.ID, volumes.InitializeConnectionOpts{Host: "h1", IP: "127.0.0.1", Initiator: "iqn.x"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := info["data"].(map[string]any)
	path, _ := data["path"].(string)
	if info["driver_volume_type"] != "file" || data["access_mode"] != "rw" {
		t.Fatalf("connection_info %v", info)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("connection path %q: %v", path, err)
	}
	if code, body, _ := raw(t, demo, "POST", act, `{"os-initialize_connection": {}}`); code != http.StatusBadRequest || body["badRequest"] == nil {
		t.Fatalf("connection without connector %d %v", code, body)
	}

	server := "5b5bd7a4-7a4f-4d1e-9b1e-1f0f2a1c0d01"
	if code, body, _ := raw(t, demo, "POST", act, `{"os-attach": {"mountpoint": "/dev/vdb", "mode": "xx", "instance_uuid": "`+server+`"}}`); code != http.StatusBadRequest || body["badRequest"] == nil {
		t.Fatalf("bad mode %d %v", code, body)
	}
	if code, body, _ := raw(t, demo, "POST", act, `{"os-attach": {"mountpoint": "/dev/vdb"}}`); code != http.StatusBadRequest {
		t.Fatalf("no target %d %v", code, body)
	}
	if err := volumes.Attach(ctx, demo, v.ID, volumes.AttachOpts{MountPoint: "/dev/vdb", Mode: "rw", InstanceUUID: server}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	got := status("in-use")
	if len(got.Attachments) != 1 || got.Attachments[0].ServerID != server || got.Attachments[0].Device != "/dev/vdb" ||
		got.Attachments[0].AttachmentID == "" || got.Attachments[0].VolumeID != v.ID || got.Attachments[0].AttachedAt.IsZero() {
		t.Fatalf("attachments %+v", got.Attachments)
	}
	// Not multiattach: a second attach and a delete are refused.
	if code, body, _ := raw(t, demo, "POST", act, `{"os-attach": {"mountpoint": "/dev/vdc", "instance_uuid": "`+server+`"}}`); code != http.StatusBadRequest || body["badRequest"] == nil {
		t.Fatalf("second attach %d %v", code, body)
	}
	if code, _, _ := raw(t, demo, "DELETE", "/volumes/"+v.ID, ""); code != http.StatusBadRequest {
		t.Fatalf("delete in-use %d", code)
	}

	if err := volumes.BeginDetaching(ctx, demo, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	status("detaching")
	if code, body, _ := raw(t, demo, "POST", act, `{"os-begin_detaching": {}}`); code != http.StatusBadRequest {
		t.Fatalf("second begin_detaching %d %v", code, body)
	}
	if code, _, _ := raw(t, demo, "POST", act, `{"os-roll_detaching": {}}`); code != http.StatusAccepted {
		t.Fatalf("roll_detaching %d", code)
	}
	status("in-use")
	if code, body, _ := raw(t, demo, "POST", act, `{"os-detach": {"attachment_id": "nope"}}`); code != http.StatusNotFound {
		t.Fatalf("detach unknown attachment %d %v", code, body)
	}
	if err := volumes.Detach(ctx, demo, v.ID, volumes.DetachOpts{AttachmentID: got.Attachments[0].AttachmentID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := status("available"); len(got.Attachments) != 0 {
		t.Fatalf("attachments after detach %+v", got.Attachments)
	}
	if err := volumes.TerminateConnection(ctx, demo, v.ID, volumes.TerminateConnectionOpts{Host: "h1"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := volumes.Delete(ctx, demo, v.ID, nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

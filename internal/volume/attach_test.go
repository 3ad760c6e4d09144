package volume_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/attachments"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/api"
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

// TestAttachmentsAPI drives Nova's new attach flow through gophercloud:
// create (reserved), update with a connector (attaching, connection_info),
// complete (in-use), delete (available), with the refusals in between.
// The attachments API is served from microversion 3.27, above what tenku
// advertises, so the test raises the maximum for its cloud.
func TestAttachmentsAPI(t *testing.T) {
	old := api.MaxVersion
	api.MaxVersion = rest.V(3, 44)
	t.Cleanup(func() { api.MaxVersion = old })
	c := startCloud(t, "2G")
	ctx := context.Background()
	demo := c.Client(t, "demo", "demo", "volumev3")
	v, err := volumes.Create(ctx, demo, volumes.CreateOpts{Size: 1, Name: "att"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, demo, v.ID, "available")
	demo.Microversion = "3.44"
	server := "5b5bd7a4-7a4f-4d1e-9b1e-1f0f2a1c0d02"

	at, err := attachments.Create(ctx, demo, attachments.CreateOpts{VolumeUUID: v.ID, InstanceUUID: server}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if at.Status != "reserved" || at.Instance != server || at.VolumeID != v.ID || len(at.ConnectionInfo) != 0 {
		t.Fatalf("created %+v", at)
	}
	if got := waitStatus(t, demo, v.ID, "reserved"); len(got.Attachments) != 0 {
		t.Fatalf("a reserved attachment is listed: %+v", got.Attachments)
	}
	// Not multiattach: a second attachment is refused.
	if _, err := attachments.Create(ctx, demo, attachments.CreateOpts{VolumeUUID: v.ID, InstanceUUID: server}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("second attachment %v", err)
	}
	// Completing before a connector is given is refused.
	if err := attachments.Complete(ctx, demo, at.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("complete without a connection %v", err)
	}
	if code, body, _ := raw(t, demo, "PUT", "/attachments/"+at.ID, `{"attachment": {}}`, "OpenStack-API-Version", "volume 3.44"); code != http.StatusBadRequest || body["badRequest"] == nil {
		t.Fatalf("update without connector %d %v", code, body)
	}
	at, err = attachments.Update(ctx, demo, at.ID, attachments.UpdateOpts{Connector: map[string]any{"host": "cmp1", "mountpoint": "/dev/vdb"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := at.ConnectionInfo["data"].(map[string]any)
	if at.Status != "attaching" || at.ConnectionInfo["driver_volume_type"] != "file" || data["path"] == nil {
		t.Fatalf("updated %+v", at)
	}
	waitStatus(t, demo, v.ID, "attaching")
	if err := attachments.Complete(ctx, demo, at.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	got := waitStatus(t, demo, v.ID, "in-use")
	if len(got.Attachments) != 1 || got.Attachments[0].AttachmentID != at.ID || got.Attachments[0].Device != "/dev/vdb" {
		t.Fatalf("attachments %+v", got.Attachments)
	}
	shown, err := attachments.Get(ctx, demo, at.ID).Extract()
	if err != nil || shown.Status != "attached" || shown.AttachedAt.IsZero() || shown.AttachMode != "rw" {
		t.Fatalf("shown %+v %v", shown, err)
	}
	pages, err := attachments.List(demo, attachments.ListOpts{VolumeID: v.ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := attachments.ExtractAttachments(pages); len(list) != 1 || list[0].ID != at.ID {
		t.Fatalf("list %+v", list)
	}
	// Below 3.27 the API does not exist.
	if code, _, _ := raw(t, demo, "GET", "/attachments", ""); code != http.StatusNotFound {
		t.Fatalf("attachments at 3.0: %d", code)
	}

	if err := attachments.Delete(ctx, demo, at.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := waitStatus(t, demo, v.ID, "available"); len(got.Attachments) != 0 {
		t.Fatalf("attachments after delete %+v", got.Attachments)
	}
	if err := attachments.Delete(ctx, demo, at.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("second delete %v", err)
	}
}

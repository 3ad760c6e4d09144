package volume_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/tenku-cloud/tenku/internal/linux/qemuimg"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

const imageMarkerAt = 3 << 20

// qcowWithMarker returns a small qcow2 image holding marker at
// imageMarkerAt.
func qcowWithMarker(t *testing.T, marker string) []byte {
	t.Helper()
	if _, err := exec.LookPath(qemuimg.Bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("qemu-img is missing: %v", err)
		}
		t.Skipf("qemu-img is missing: %v", err)
	}
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(16 << 20)
	f.WriteAt([]byte(marker), imageMarkerAt)
	f.Close()
	qcow := filepath.Join(dir, "disk.qcow2")
	if err := qemuimg.Convert(context.Background(), raw, "raw", qcow, "qcow2"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(qcow)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func uploadImage(t *testing.T, img *gophercloud.ServiceClient, name, format string, minDisk int, data []byte, props map[string]string) string {
	t.Helper()
	ctx := context.Background()
	im, err := images.Create(ctx, img, images.CreateOpts{Name: name, DiskFormat: format, ContainerFormat: "bare", MinDisk: minDisk, Properties: props}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := imagedata.Upload(ctx, img, im.ID, bytes.NewReader(data)).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	return im.ID
}

// TestVolumeFromImageAndUpload makes a volume from a qcow2 image (the
// data is converted into the raw volume file, the volume is bootable and
// records volume_image_metadata), refuses what Cinder refuses with 400,
// and uploads a volume back to Glance as a new qcow2 image whose data
// is the volume's.
func TestVolumeFromImageAndUpload(t *testing.T) {
	marker := "tenku-volume-from-image"
	data := qcowWithMarker(t, marker)
	c := testkit.StartWith(t, testkit.Options{
		Services: []string{"keystone", "glance", "cinder", "cinder-volume"},
		Tweak:    func(o *stack.Options) { o.VolumeBackingFileSize = "8G" },
	})
	ctx := context.Background()
	demo := c.Client(t, "demo", "demo", "volumev3")
	img := c.Client(t, "demo", "demo", "image")
	dir := filepath.Join(c.DataDir, "cinder-volume", "volumes")
	imageID := uploadImage(t, img, "marker-image", "qcow2", 0, data, map[string]string{"hw_disk_bus": "virtio"})

	st, body, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"imageRef": "`+imageID+`", "size": 1, "name": "from-image"}}`)
	if st != 202 {
		t.Fatalf("create from image %d %v", st, body)
	}
	id := body["volume"].(map[string]any)["id"].(string)
	v := waitStatus(t, demo, id, "available", "error")
	if v.Status != "available" || v.Bootable != "true" {
		t.Fatalf("volume from image %+v", v)
	}
	md := v.VolumeImageMetadata
	if md["image_id"] != imageID || md["image_name"] != "marker-image" || md["disk_format"] != "qcow2" || md["hw_disk_bus"] != "virtio" || md["min_disk"] != "0" {
		t.Fatalf("volume_image_metadata %v", md)
	}
	f, err := os.Open(filepath.Join(dir, "volume-"+id))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(marker))
	f.ReadAt(got, imageMarkerAt)
	fi, _ := f.Stat()
	f.Close()
	if string(got) != marker || fi.Size() != 1<<30 {
		t.Fatalf("volume file holds %q in %d bytes", got, fi.Size())
	}
	// Image metadata actions.
	if st, body, _ := raw(t, demo, "POST", "/volumes/"+id+"/action", `{"os-set_image_metadata": {"metadata": {"extra": "yes"}}}`); st != 200 || body["metadata"].(map[string]any)["extra"] != "yes" || body["metadata"].(map[string]any)["image_id"] != imageID {
		t.Fatalf("set image metadata %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "POST", "/volumes/"+id+"/action", `{"os-unset_image_metadata": {"key": "extra"}}`); st != 200 {
		t.Fatalf("unset image metadata %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "POST", "/volumes/"+id+"/action", `{"os-unset_image_metadata": {"key": "extra"}}`); st != 404 || body["itemNotFound"] == nil {
		t.Fatalf("unset a missing key %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "POST", "/volumes/"+id+"/action", `{"os-show_image_metadata": null}`); st != 200 || body["metadata"].(map[string]any)["extra"] != nil || body["metadata"].(map[string]any)["hw_disk_bus"] != "virtio" {
		t.Fatalf("show image metadata %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "POST", "/volumes/"+id+"/action", `{"os-set_image_metadata": {"metadata": {"": "x"}}}`); st != 400 {
		t.Fatalf("set an empty key %d %v", st, body)
	}
	// The update response has no volume_image_metadata (tempest's schema).
	if st, body, _ := raw(t, demo, "PUT", "/volumes/"+id, `{"volume": {"description": "d"}}`); st != 200 || body["volume"].(map[string]any)["volume_image_metadata"] != nil {
		t.Fatalf("update %d %v", st, body)
	}
	// By name, as Cinder resolves an imageRef that is not an id.
	if st, body, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"imageRef": "marker-image", "size": 1}}`); st != 202 {
		t.Fatalf("create from image by name %d %v", st, body)
	} else {
		waitStatus(t, demo, body["volume"].(map[string]any)["id"].(string), "available")
	}
	// The glance_metadata filter (3.4): the two volumes made from the image.
	if st, body, _ := raw(t, demo, "GET", `/volumes?glance_metadata={"image_name":"marker-image"}`, "", "OpenStack-API-Version", "volume 3.4"); st != 200 || len(body["volumes"].([]any)) != 2 {
		t.Fatalf("glance_metadata filter %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "GET", `/volumes?glance_metadata={"image_name":"other"}`, "", "OpenStack-API-Version", "volume 3.4"); st != 200 || len(body["volumes"].([]any)) != 0 {
		t.Fatalf("glance_metadata filter %d %v", st, body)
	}
	// A clone keeps the image metadata.
	if st, body, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"source_volid": "`+id+`"}}`); st != 202 {
		t.Fatalf("clone %d %v", st, body)
	} else if cl := waitStatus(t, demo, body["volume"].(map[string]any)["id"].(string), "available"); cl.VolumeImageMetadata["image_id"] != imageID || cl.Bootable != "true" {
		t.Fatalf("clone %+v", cl)
	}

	big := uploadImage(t, img, "needs-3g", "qcow2", 3, data, nil)
	for _, bad := range []struct{ name, body string }{
		{"unknown image", `{"volume": {"imageRef": "7a9a8d9e-2d3c-4b8e-9f11-000000000000", "size": 1}}`},
		{"unknown name", `{"volume": {"imageRef": "no-such-image", "size": 1}}`},
		{"min_disk", `{"volume": {"imageRef": "` + big + `", "size": 1}}`},
		{"no size", `{"volume": {"imageRef": "` + imageID + `"}}`},
		{"image and snapshot", `{"volume": {"imageRef": "` + imageID + `", "snapshot_id": "` + id + `", "size": 1}}`},
	} {
		if st, body, _ := raw(t, demo, "POST", "/volumes", bad.body); st != 400 || body["badRequest"] == nil {
			t.Errorf("%s: %d %v, want 400 badRequest", bad.name, st, body)
		}
	}
	queued, err := images.Create(ctx, img, images.CreateOpts{Name: "queued", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if st, body, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"imageRef": "`+queued.ID+`", "size": 1}}`); st != 400 {
		t.Errorf("image not active: %d %v", st, body)
	}

	// Upload the volume as a qcow2 image.
	st, body, _ = raw(t, demo, "POST", "/volumes/"+id+"/action", `{"os-volume_upload_image": {"image_name": "uploaded", "disk_format": "qcow2"}}`)
	if st != 202 {
		t.Fatalf("upload %d %v", st, body)
	}
	up := body["os-volume_upload_image"].(map[string]any)
	newImage, _ := up["image_id"].(string)
	if up["status"] != "uploading" || up["disk_format"] != "qcow2" || up["container_format"] != "bare" || up["image_name"] != "uploaded" || newImage == "" {
		t.Fatalf("upload answer %v", up)
	}
	waitStatus(t, demo, id, "available")
	var im *images.Image
	testkit.Eventually(t, 20*time.Second, func() bool {
		im, err = images.Get(ctx, img, newImage).Extract()
		return err == nil && im.Status == "active"
	}, "uploaded image never became active")
	if im.DiskFormat != "qcow2" || im.Properties["hw_disk_bus"] != "virtio" {
		t.Fatalf("uploaded image %+v", im)
	}
	rc, err := imagedata.Download(ctx, img, newImage).Extract()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	back := filepath.Join(t.TempDir(), "back.qcow2")
	os.WriteFile(back, b, 0o600)
	info, err := qemuimg.Inspect(ctx, back, "qcow2")
	if err != nil || info.VirtualSize != 1<<30 {
		t.Fatalf("uploaded image is not a 1 GiB qcow2: %+v %v", info, err)
	}
	// The uploaded image makes a volume holding the same marker.
	st, body, _ = raw(t, demo, "POST", "/volumes", `{"volume": {"imageRef": "`+newImage+`", "size": 1}}`)
	if st != 202 {
		t.Fatalf("create from uploaded image %d %v", st, body)
	}
	again := waitStatus(t, demo, body["volume"].(map[string]any)["id"].(string), "available", "error")
	if again.Status != "available" {
		t.Fatalf("from the uploaded image: %+v", again)
	}
	f, _ = os.Open(filepath.Join(dir, "volume-"+again.ID))
	f.ReadAt(got, imageMarkerAt)
	f.Close()
	if string(got) != marker {
		t.Fatalf("round trip lost the data: %q", got)
	}
	// Bad uploads.
	for _, bad := range []string{
		`{"os-volume_upload_image": {}}`,
		`{"os-volume_upload_image": {"image_name": "x", "disk_format": "ami"}}`,
		`{"os-volume_upload_image": {"image_name": "x", "force": "maybe"}}`,
	} {
		if st, body, _ := raw(t, demo, "POST", "/volumes/"+id+"/action", bad); st != 400 {
			t.Errorf("%s: %d %v", bad, st, body)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(c.DataDir, "cinder-volume", "conversion")); len(ents) != 0 {
		t.Errorf("conversion files left: %v", ents)
	}
}

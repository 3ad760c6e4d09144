package api

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/api/image"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open("testdata/" + name + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUploadInspectsContent is the malicious-image suite: content that is
// not what disk_format says, or that would make QEMU open other files, is
// refused with 415 and leaves the image queued with nothing in the store.
func TestUploadInspectsContent(t *testing.T) {
	h := newHarness(t, nil)
	cases := []struct {
		name, fixture, disk, container string
		data                           []byte
		ok                             bool
		vsize                          int64
		why                            string
	}{
		{name: "qcow2 as qcow2", fixture: "good.qcow2", disk: "qcow2", ok: true, vsize: 16 << 20},
		{name: "vhd as vhd", fixture: "dynamic.vhd", disk: "vhd", ok: true},
		{name: "random bytes as raw", data: randomBytes(4096), disk: "raw", ok: true, vsize: 4096},
		{name: "random bytes as ami", data: randomBytes(4096), disk: "ami", ok: true},
		{name: "qcow2 with a backing file", fixture: "backing.qcow2", disk: "qcow2", why: "backing"},
		{name: "qcow2 with an external data file", fixture: "datafile.qcow2", disk: "qcow2", why: "data"},
		{name: "vmdk whose extent names a file", fixture: "flat.vmdk", disk: "vmdk", why: "files"},
		{name: "qcow2 declared raw", fixture: "good.qcow2", disk: "raw", why: "does not match"},
		{name: "raw declared qcow2", data: randomBytes(4096), disk: "qcow2", why: "does not match"},
		{name: "vhd declared vmdk", fixture: "dynamic.vhd", disk: "vmdk", why: "does not match"},
		{name: "qcow2 with a backing file in an ovf container", fixture: "backing.qcow2", disk: "qcow2", container: "ovf", why: "backing"},
		{name: "random bytes declared qcow2 in an ami container", data: randomBytes(4096), disk: "qcow2", container: "ami", ok: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if c.fixture != "" {
				data = fixture(t, c.fixture)
			}
			container := c.container
			if container == "" {
				container = "bare"
			}
			id := h.create("demo", map[string]any{"disk_format": c.disk, "container_format": container})
			r := h.do("PUT", "/v2/images/"+id+"/file", "demo", data)
			im := h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)
			if c.ok {
				if r.StatusCode != 204 || im["status"] != "active" {
					t.Fatalf("refused: %d %s", r.StatusCode, r.body)
				}
				if c.vsize != 0 && im["virtual_size"] != float64(c.vsize) {
					t.Fatalf("virtual_size %v, want %d", im["virtual_size"], c.vsize)
				}
				return
			}
			if r.StatusCode != 415 || !strings.Contains(string(r.body), c.why) {
				t.Fatalf("got %d %s, want 415 mentioning %q", r.StatusCode, r.body, c.why)
			}
			if im["status"] != "queued" || im["size"] != nil || im["checksum"] != nil {
				t.Fatalf("refused image not back to queued: %v", im)
			}
			for _, f := range h.storeFiles() {
				if strings.Contains(f, id) {
					t.Fatalf("data of refused image left in the store: %s", f)
				}
			}
			// The image is usable again: a good upload succeeds.
			h.must(200, "PATCH", "/v2/images/"+id, "demo", `[{"op":"replace","path":"/disk_format","value":"raw"},{"op":"replace","path":"/container_format","value":"bare"}]`,
				"Content-Type", image.PatchContentType)
			h.must(204, "PUT", "/v2/images/"+id+"/file", "demo", randomBytes(1024))
		})
	}
}

// TestInterruptedUpload: a client that goes away mid-stream leaves the
// image queued and no file behind.
func TestInterruptedUpload(t *testing.T) {
	h := newHarness(t, nil)
	id := h.create("demo", nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: demo\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n", id)
	chunk := randomBytes(1 << 20)
	for i := 0; i < 5; i++ {
		fmt.Fprintf(conn, "%x\r\n", len(chunk))
		conn.Write(chunk)
		conn.Write([]byte("\r\n"))
	}
	// The image is being saved...
	eventually(t, func() bool {
		im := h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)
		return im["status"] == "saving"
	})
	// ...and the client disappears.
	conn.Close()
	eventually(t, func() bool {
		im := h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)
		return im["status"] == "queued" && len(h.storeFiles()) == 0
	})
	// A new upload works.
	h.must(204, "PUT", "/v2/images/"+id+"/file", "demo", randomBytes(100))
}

// TestDeleteDuringUpload: deleting a saving image wins; the upload's data
// does not outlive it.
func TestDeleteDuringUpload(t *testing.T) {
	h := newHarness(t, nil)
	id := h.create("demo", nil)
	pr, pw := io.Pipe()
	done := make(chan reply)
	go func() { done <- h.do("PUT", "/v2/images/"+id+"/file", "demo", pr) }()
	pw.Write(randomBytes(1 << 20))
	eventually(t, func() bool {
		return h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)["status"] == "saving"
	})
	h.must(204, "DELETE", "/v2/images/"+id, "demo", nil)
	pw.Write(randomBytes(1 << 20))
	pw.Close()
	r := <-done
	if r.StatusCode != 410 {
		t.Fatalf("upload after delete: %d %s", r.StatusCode, r.body)
	}
	if f := h.storeFiles(); len(f) != 0 {
		t.Fatalf("files left: %v", f)
	}
}

func eventually(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDownloadRanges(t *testing.T) {
	h := newHarness(t, nil)
	id := h.create("demo", nil)
	data := randomBytes(100)
	h.must(204, "PUT", "/v2/images/"+id+"/file", "demo", data)
	cases := []struct {
		hdr, val string
		status   int
		lo, hi   int // the bytes returned, data[lo:hi]
		cr       string
	}{
		{"Range", "bytes=0-9", 206, 0, 10, "bytes 0-9/100"},
		{"Range", "bytes=90-", 206, 90, 100, "bytes 90-99/100"},
		{"Range", "bytes=-5", 206, 95, 100, "bytes 95-99/100"},
		{"Range", "bytes=50-500", 206, 50, 100, "bytes 50-99/100"},
		{"Range", "bytes=100-", 416, 0, 0, ""},
		{"Range", "bytes=0-1,5-6", 400, 0, 0, ""},
		{"Range", "pages=1-2", 416, 0, 0, ""},
		{"Content-Range", "bytes 10-19/100", 206, 10, 20, "bytes 10-19/100"},
	}
	for _, c := range cases {
		r := h.do("GET", "/v2/images/"+id+"/file", "demo", nil, c.hdr, c.val)
		if r.StatusCode != c.status {
			t.Errorf("%s: %s → %d %s", c.hdr, c.val, r.StatusCode, r.body)
			continue
		}
		if c.status == 206 && (!bytes.Equal(r.body, data[c.lo:c.hi]) || r.Header.Get("Content-Range") != c.cr) {
			t.Errorf("%s: %s → %d bytes, Content-Range %q", c.hdr, c.val, len(r.body), r.Header.Get("Content-Range"))
		}
	}
}

func TestUploadChecks(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ImageSizeCap = 1000 })
	id := h.create("demo", nil)
	// Content-Type must be application/octet-stream.
	h.must(415, "PUT", "/v2/images/"+id+"/file", "demo", `{}`)
	// Over the size cap.
	h.must(413, "PUT", "/v2/images/"+id+"/file", "demo", randomBytes(1001))
	h.must(200, "GET", "/v2/images/"+id, "demo", nil)
	// Chunked (no Content-Length) over the cap.
	r := h.do("PUT", "/v2/images/"+id+"/file", "demo", io.MultiReader(bytes.NewReader(randomBytes(2000))))
	if r.StatusCode != 413 {
		t.Fatalf("chunked over the cap: %d %s", r.StatusCode, r.body)
	}
	if im := h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t); im["status"] != "queued" {
		t.Fatalf("status %v", im["status"])
	}
	// No disk format yet.
	bare := h.must(201, "POST", "/v2/images", "demo", map[string]any{"container_format": "bare"}).json(t)["id"].(string)
	r = h.must(400, "PUT", "/v2/images/"+bare+"/file", "demo", randomBytes(10))
	if !strings.Contains(string(r.body), "Property disk_format must be set prior to saving data.") {
		t.Fatalf("%s", r.body)
	}
	// Not the owner: the image is not even visible.
	h.must(404, "PUT", "/v2/images/"+id+"/file", "alt", randomBytes(10))
	// A reader cannot upload.
	h.must(403, "PUT", "/v2/images/"+id+"/file", "reader", randomBytes(10))
	h.must(404, "PUT", "/v2/images/00000000-0000-0000-0000-000000000000/file", "demo", randomBytes(10))
}

func TestImportGlanceDirect(t *testing.T) {
	h := newHarness(t, nil)
	id := h.create("demo", nil)
	info := h.must(200, "GET", "/v2/info/import", "demo", nil).json(t)
	if fmt.Sprint(info["import-methods"].(map[string]any)["value"]) != "[glance-direct]" {
		t.Fatalf("info %v", info)
	}
	// Import before staging is a conflict.
	h.must(409, "POST", "/v2/images/"+id+"/import", "demo", map[string]any{"method": map[string]any{"name": "glance-direct"}})
	// Disabled methods are unknown, as in a Glance without them.
	r := h.must(400, "POST", "/v2/images/"+id+"/import", "demo", map[string]any{"method": map[string]any{"name": "web-download", "uri": "http://example.com/x"}})
	if !strings.Contains(string(r.body), "Unknown import method name 'web-download'.") {
		t.Fatalf("%s", r.body)
	}
	data := fixture(t, "good.qcow2")
	h.must(200, "PATCH", "/v2/images/"+id, "demo", `[{"op":"replace","path":"/disk_format","value":"qcow2"}]`, "Content-Type", image.PatchContentType)
	h.must(204, "PUT", "/v2/images/"+id+"/stage", "demo", data)
	im := h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)
	if im["status"] != "uploading" || im["size"] != float64(len(data)) {
		t.Fatalf("after stage: %v", im)
	}
	h.must(409, "PUT", "/v2/images/"+id+"/stage", "demo", data)
	r = h.must(202, "POST", "/v2/images/"+id+"/import", "demo", map[string]any{"method": map[string]any{"name": "glance-direct"}})
	reqID := r.Header.Get("X-Openstack-Request-Id")
	eventually(t, func() bool {
		return h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)["status"] == "active"
	})
	im = h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)
	if im["virtual_size"] != float64(16<<20) || im["os_glance_import_task"] != nil {
		t.Fatalf("after import: %v", im)
	}
	tasks := h.must(200, "GET", "/v2/images/"+id+"/tasks", "demo", nil).json(t)["tasks"].([]any)
	if len(tasks) != 1 {
		t.Fatalf("tasks %v", tasks)
	}
	task := tasks[0].(map[string]any)
	if task["status"] != "success" || task["request_id"] != reqID || task["type"] != "api_image_import" {
		t.Fatalf("task %v (request %s)", task, reqID)
	}
	if files, _ := osReadDir(h.api.stage.Dir()); len(files) != 0 {
		t.Fatalf("staging left: %v", files)
	}
	got := h.must(200, "GET", "/v2/images/"+id+"/file", "demo", nil)
	if !bytes.Equal(got.body, data) {
		t.Fatal("imported data differs")
	}

	// An import of unsafe data fails: the image goes back to queued, the
	// staged data goes, the task says why.
	bad := h.create("demo", map[string]any{"disk_format": "qcow2"})
	h.must(204, "PUT", "/v2/images/"+bad+"/stage", "demo", fixture(t, "backing.qcow2"))
	h.must(202, "POST", "/v2/images/"+bad+"/import", "demo", map[string]any{"method": map[string]any{"name": "glance-direct"}})
	eventually(t, func() bool {
		ts := h.must(200, "GET", "/v2/images/"+bad+"/tasks", "demo", nil).json(t)["tasks"].([]any)
		return len(ts) == 1 && ts[0].(map[string]any)["status"] == "failure"
	})
	im = h.must(200, "GET", "/v2/images/"+bad, "demo", nil).json(t)
	if im["status"] != "queued" || im["size"] != nil {
		t.Fatalf("after failed import: %v", im)
	}
	if files, _ := osReadDir(h.api.stage.Dir()); len(files) != 0 {
		t.Fatalf("staging left: %v", files)
	}
}

func TestStageWithoutGlanceDirect(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.EnabledImportMethods = nil })
	id := h.create("demo", nil)
	r := h.must(404, "PUT", "/v2/images/"+id+"/stage", "demo", randomBytes(10))
	if !strings.Contains(string(r.body), "'glance-direct' method is not available at this site.") {
		t.Fatalf("%s", r.body)
	}
}

// TestRecover: what a crash leaves half done is put right at start.
func TestRecover(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	saving := h.create("demo", nil)
	staged := h.create("demo", nil)
	h.must(204, "PUT", "/v2/images/"+staged+"/stage", "demo", randomBytes(100))
	other := h.create("demo", nil)
	// Simulate a crash in the middle of an upload, of an import, and an
	// upload by another worker.
	for id, st := range map[string]image.Status{saving: image.StatusSaving, staged: image.StatusImporting, other: image.StatusSaving} {
		worker := "test-host"
		if id == other {
			worker = "elsewhere"
		}
		if _, err := h.db.UpdateImage(ctx, id, func(cur *dbImage) error { cur.Status, cur.Worker = st, worker; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.api.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{saving: "queued", staged: "uploading", other: "saving"} {
		if got := h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)["status"]; got != want {
			t.Errorf("%s: %v, want %s", id, got, want)
		}
	}
	// The recovered import can run again.
	h.must(202, "POST", "/v2/images/"+staged+"/import", "demo", map[string]any{"method": map[string]any{"name": "glance-direct"}})
	eventually(t, func() bool {
		return h.must(200, "GET", "/v2/images/"+staged, "demo", nil).json(t)["status"] == "active"
	})
}

var _ = bufio.NewReader

func TestTasksAPI(t *testing.T) {
	h := newHarness(t, nil)
	id := h.create("demo", nil)
	h.must(204, "PUT", "/v2/images/"+id+"/stage", "demo", randomBytes(10))
	h.must(202, "POST", "/v2/images/"+id+"/import", "demo", map[string]any{"method": map[string]any{"name": "glance-direct"}})
	eventually(t, func() bool {
		return h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)["status"] == "active"
	})
	// tasks_api_access is for admins.
	h.must(403, "GET", "/v2/tasks", "demo", nil)
	list := h.must(200, "GET", "/v2/tasks", "admin", nil).json(t)["tasks"].([]any)
	if len(list) != 1 {
		t.Fatalf("tasks %v", list)
	}
	tid := list[0].(map[string]any)["id"].(string)
	task := h.must(200, "GET", "/v2/tasks/"+tid, "admin", nil).json(t)
	if task["status"] != "success" || task["image_id"] != id || task["self"] != "/v2/tasks/"+tid {
		t.Fatalf("task %v", task)
	}
	h.must(405, "DELETE", "/v2/tasks/"+tid, "admin", nil)
	h.must(404, "GET", "/v2/tasks/00000000-0000-0000-0000-000000000000", "admin", nil)
}

// TestShutdownDuringImport: an import stopped by a shutdown keeps its
// staged data and goes back to uploading (or it finished first); it is
// never left queued with the data lost, nor importing.
func TestShutdownDuringImport(t *testing.T) {
	h := newHarness(t, nil)
	id := h.create("demo", nil)
	h.must(204, "PUT", "/v2/images/"+id+"/stage", "demo", io.LimitReader(&pattern{}, 64<<20))
	h.must(202, "POST", "/v2/images/"+id+"/import", "demo", map[string]any{"method": map[string]any{"name": "glance-direct"}})
	if err := h.api.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	im, err := h.db.GetImage(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	staged, _ := osReadDir(h.api.stage.Dir())
	switch im.Status {
	case image.StatusActive:
		t.Log("the import finished before the shutdown")
	case image.StatusUploading:
		if len(staged) != 1 || im.Worker != "" || im.Properties["os_glance_import_task"] != "" {
			t.Fatalf("interrupted import: staged %v, image %+v", staged, im)
		}
	default:
		t.Fatalf("status %s after shutdown", im.Status)
	}
}

// TestStageBeforeFormats: staging needs no formats (as in Glance); the
// import does.
func TestStageBeforeFormats(t *testing.T) {
	h := newHarness(t, nil)
	id := h.must(201, "POST", "/v2/images", "demo", map[string]any{"name": "x"}).json(t)["id"].(string)
	h.must(204, "PUT", "/v2/images/"+id+"/stage", "demo", randomBytes(10))
	r := h.must(409, "POST", "/v2/images/"+id+"/import", "demo", map[string]any{"method": map[string]any{"name": "glance-direct"}})
	if !strings.Contains(string(r.body), "'container_format' needs to be set before import") {
		t.Fatalf("%s", r.body)
	}
}

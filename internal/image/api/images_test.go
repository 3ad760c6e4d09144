package api

import (
	"bytes"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

// TestImageLifecycle walks an image through its life on every database:
// create, show, list, update, upload, download, deactivate, delete.
func TestImageLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.DB) {
		h := newHarnessOn(t, s, nil)
		r := h.must(201, "POST", "/v2/images", "demo", map[string]any{
			"name": "cirros", "disk_format": "raw", "container_format": "bare",
			"tags": []string{"b", "a"}, "os_distro": "cirros", "min_ram": 64,
		})
		im := r.json(t)
		id := im["id"].(string)
		if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/v2/images/"+id) || !strings.HasPrefix(loc, "http") {
			t.Errorf("Location %q", loc)
		}
		if got := r.Header.Get("OpenStack-image-import-methods"); got != "glance-direct" {
			t.Errorf("import methods header %q", got)
		}
		want := map[string]any{"status": "queued", "visibility": "shared", "owner": "p-demo", "size": nil, "checksum": nil,
			"os_distro": "cirros", "min_ram": float64(64), "min_disk": float64(0), "protected": false, "os_hidden": false,
			"self": "/v2/images/" + id, "file": "/v2/images/" + id + "/file", "schema": "/v2/schemas/image", "virtual_size": nil}
		for k, v := range want {
			if im[k] != v {
				t.Errorf("%s = %#v, want %#v", k, im[k], v)
			}
		}
		if fmt.Sprint(im["tags"]) != "[a b]" {
			t.Errorf("tags %v", im["tags"])
		}

		// Nothing to download yet: 204.
		h.must(204, "GET", "/v2/images/"+id+"/file", "demo", nil)

		data := randomBytes(3 << 20)
		h.must(204, "PUT", "/v2/images/"+id+"/file", "demo", data)
		im = h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)
		sum := md5.Sum(data)
		sha := sha512.Sum512(data)
		if im["status"] != "active" || im["size"] != float64(len(data)) || im["checksum"] != hex.EncodeToString(sum[:]) ||
			im["os_hash_algo"] != "sha512" || im["os_hash_value"] != hex.EncodeToString(sha[:]) || im["virtual_size"] != float64(len(data)) {
			t.Fatalf("after upload: %v", im)
		}
		got := h.must(200, "GET", "/v2/images/"+id+"/file", "demo", nil)
		if !bytes.Equal(got.body, data) || got.Header.Get("Content-MD5") != hex.EncodeToString(sum[:]) ||
			got.Header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("download: %d bytes, headers %v", len(got.body), got.Header)
		}
		part := h.must(206, "GET", "/v2/images/"+id+"/file", "demo", nil, "Range", "bytes=10-19")
		if !bytes.Equal(part.body, data[10:20]) || part.Header.Get("Content-Range") != fmt.Sprintf("bytes 10-19/%d", len(data)) {
			t.Fatalf("range: %q %v", part.body, part.Header)
		}
		// A second upload to an active image is a conflict.
		h.must(409, "PUT", "/v2/images/"+id+"/file", "demo", []byte("x"))

		// PATCH with both media types.
		h.must(200, "PATCH", "/v2/images/"+id, "demo", `[{"op":"replace","path":"/name","value":"renamed"},{"op":"add","path":"/hw_disk_bus","value":"virtio"}]`,
			"Content-Type", "application/openstack-images-v2.1-json-patch")
		im = h.must(200, "PATCH", "/v2/images/"+id, "demo", `[{"remove":"/os_distro"},{"replace":"/tags","value":["z"]}]`,
			"Content-Type", "application/openstack-images-v2.0-json-patch").json(t)
		if im["name"] != "renamed" || im["hw_disk_bus"] != "virtio" || im["os_distro"] != nil || fmt.Sprint(im["tags"]) != "[z]" {
			t.Fatalf("after patch: %v", im)
		}

		// demo's shared image is not listed for alt, nor visible.
		list := h.must(200, "GET", "/v2/images", "alt", nil).json(t)
		if n := len(list["images"].([]any)); n != 0 {
			t.Fatalf("alt sees %d images", n)
		}
		h.must(404, "GET", "/v2/images/"+id, "alt", nil)

		h.must(204, "POST", "/v2/images/"+id+"/actions/deactivate", "demo", nil)
		h.must(403, "GET", "/v2/images/"+id+"/file", "demo", nil)
		h.must(200, "GET", "/v2/images/"+id+"/file", "admin", nil)
		h.must(204, "POST", "/v2/images/"+id+"/actions/reactivate", "demo", nil)
		h.must(200, "GET", "/v2/images/"+id+"/file", "demo", nil)

		h.must(204, "DELETE", "/v2/images/"+id, "demo", nil)
		h.must(404, "GET", "/v2/images/"+id, "demo", nil)
		h.must(404, "DELETE", "/v2/images/"+id, "demo", nil)
		if files := h.storeFiles(); len(files) != 0 {
			t.Fatalf("data left after delete: %v", files)
		}
	})
}

// storeFiles lists the files of the data store.
func (h *harness) storeFiles() []string {
	h.t.Helper()
	var out []string
	ents, _ := osReadDir(h.api.data.Dir())
	out = append(out, ents...)
	slices.Sort(out)
	return out
}

func TestErrorBodiesAreGlances(t *testing.T) {
	h := newHarness(t, nil)
	r := h.must(404, "GET", "/v2/images/00000000-0000-0000-0000-000000000000", "demo", nil)
	m := r.json(t)
	if len(m) != 3 || m["code"] != "404 Not Found" || m["title"] != "Not Found" ||
		m["message"] != "No image found with ID 00000000-0000-0000-0000-000000000000<br /><br />\n\n\n" {
		t.Fatalf("body %s", r.body)
	}
	r = h.must(405, "PUT", "/v2/images", "demo", nil)
	if m := r.json(t); m["message"] != "The method PUT is not allowed for this resource. <br /><br />\n" || r.Header.Get("Allow") == "" {
		t.Fatalf("405: %s %v", r.body, r.Header)
	}
	r = h.must(401, "GET", "/v2/images", "nobody", nil)
	if !strings.Contains(string(r.body), `"error"`) {
		t.Fatalf("401 is keystonemiddleware's: %s", r.body)
	}
	id := h.create("demo", nil)
	r = h.must(415, "PATCH", "/v2/images/"+id, "demo", `[]`)
	if r.Header.Get("Accept-Patch") != "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch" {
		t.Fatalf("Accept-Patch %q", r.Header.Get("Accept-Patch"))
	}
	if m := r.json(t); m["message"] != "The request media type application/json is not supported by this server.\n<br /><br />\nImage PATCH expects Content-Type one of: application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch" {
		t.Fatalf("415 message %q", m["message"])
	}
}

func TestVersions(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		path   string
		status int
	}{{"/", 300}, {"/versions", 200}, {"/v1/images", 300}, {"/v3", 300}} {
		r := h.must(c.status, "GET", c.path, "", nil)
		vs := r.json(t)["versions"].([]any)
		first := vs[0].(map[string]any)
		href := first["links"].([]any)[0].(map[string]any)["href"]
		if len(vs) != 11 || href != h.srv.URL+"/v2/" {
			t.Fatalf("%s: %d versions, href %v", c.path, len(vs), href)
		}
	}
	// A version alias reaches the v2 API.
	h.must(200, "GET", "/v2.1/images", "demo", nil)
	// Trailing slashes match nothing, as in Glance: an empty image id is 404.
	h.must(404, "GET", "/v2/images/", "demo", nil)
	h.must(404, "DELETE", "/v2/images/", "demo", nil)
}

var _ = http.StatusOK

package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/api/image"
)

// TestBadInput: every kind of bad request gets Glance's status and
// message, never a 500.
func TestBadInput(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ImagePropertyQuota, o.ImageTagQuota = 3, 2 })
	id := h.create("demo", map[string]any{"os_distro": "debian"})
	protected := h.create("demo", map[string]any{"protected": true})
	missing := "00000000-0000-0000-0000-00000000beef"
	patch := "Content-Type"
	v21 := image.PatchContentType
	v20 := image.PatchContentTypeV20
	cases := []struct {
		name        string
		method, url string
		token       string
		body        any
		hdr         []string
		status      int
		message     string
	}{
		{"bad container format", "POST", "/v2/images", "demo", map[string]any{"container_format": "wrong", "disk_format": "vhd"}, nil, 400, "'wrong' is not one of"},
		{"bad disk format", "POST", "/v2/images", "demo", map[string]any{"container_format": "bare", "disk_format": "wrong"}, nil, 400, "Failed validating 'enum' in schema['properties']['disk_format']"},
		{"read-only status", "POST", "/v2/images", "demo", map[string]any{"status": "active"}, nil, 403, "Attribute 'status' is read-only."},
		{"read-only self", "POST", "/v2/images", "demo", map[string]any{"self": "x"}, nil, 403, "Attribute 'self' is read-only."},
		{"reserved os_glance", "POST", "/v2/images", "demo", map[string]any{"os_glance_foo": "bar"}, nil, 403, "Attribute 'os_glance_foo' is reserved."},
		{"reserved location", "POST", "/v2/images", "demo", map[string]any{"location": "http://x"}, nil, 403, "Attribute 'location' is reserved."},
		{"property not a string", "POST", "/v2/images", "demo", map[string]any{"foo": 1}, nil, 400, "1 is not of type 'string'"},
		{"property name too long", "POST", "/v2/images", "demo", map[string]any{strings.Repeat("k", 256): "v"}, nil, 400, "Custom property should not be greater than 255 characters."},
		{"name too long", "POST", "/v2/images", "demo", map[string]any{"name": strings.Repeat("n", 256)}, nil, 400, "is too long"},
		{"negative min_ram", "POST", "/v2/images", "demo", map[string]any{"min_ram": -1}, nil, 400, "Invalid value '-1' for parameter 'min_ram': Cannot be a negative value"},
		{"bad id", "POST", "/v2/images", "demo", map[string]any{"id": "not-a-uuid"}, nil, 400, "does not match"},
		{"duplicate id", "POST", "/v2/images", "demo", map[string]any{"id": id}, nil, 409, "already exists"},
		{"too many properties", "POST", "/v2/images", "demo", map[string]any{"a": "1", "b": "2", "c": "3", "d": "4"}, nil, 413, "Attempted: 4, Maximum: 3"},
		{"too many tags", "POST", "/v2/images", "demo", map[string]any{"tags": []string{"a", "b", "c"}}, nil, 413, "Attempted: 3, Maximum: 2"},
		{"public by a member", "POST", "/v2/images", "demo", map[string]any{"visibility": "public"}, nil, 403, "publicize_image"},
		{"other owner", "POST", "/v2/images", "demo", map[string]any{"owner": "someone-else"}, nil, 403, "You are not permitted to create images owned by 'someone-else'"},
		{"malformed JSON", "POST", "/v2/images", "demo", `{"name":`, nil, 400, "Malformed JSON in request body."},
		{"no body", "POST", "/v2/images", "demo", nil, nil, 400, "Body expected in request."},
		{"scalar body", "POST", "/v2/images", "demo", `"x"`, nil, 400, "Unexpected body type. Expected list/dict."},
		{"body too large", "POST", "/v2/images", "demo", `{"name":"` + strings.Repeat("x", 200<<10) + `"}`, nil, 413, ""},
		{"reader creates", "POST", "/v2/images", "reader", map[string]any{}, nil, 403, "add_image"},
		{"system scope", "GET", "/v2/images", "system", nil, nil, 403, "get_images"},

		{"patch wrong content type", "PATCH", "/v2/images/" + id, "demo", `[]`, []string{patch, "application/json"}, 415, "Image PATCH expects Content-Type one of"},
		{"patch not a list", "PATCH", "/v2/images/" + id, "demo", `{}`, []string{patch, v21}, 400, "Request body must be a JSON array of operation objects."},
		{"patch op missing", "PATCH", "/v2/images/" + id, "demo", `[{"path":"/name","value":"x"}]`, []string{patch, v21}, 400, "Unable to find `op` in JSON Schema change."},
		{"patch bad op", "PATCH", "/v2/images/" + id, "demo", `[{"op":"move","path":"/name","value":"x"}]`, []string{patch, v21}, 400, "Invalid operation: `move`."},
		{"patch path missing", "PATCH", "/v2/images/" + id, "demo", `[{"op":"add","value":"x"}]`, []string{patch, v21}, 400, "Unable to find 'path' in JSON Schema change"},
		{"patch path without slash", "PATCH", "/v2/images/" + id, "demo", `[{"op":"add","path":"name","value":"x"}]`, []string{patch, v21}, 400, "does not start with \"/\"."},
		{"patch nested path", "PATCH", "/v2/images/" + id, "demo", `[{"op":"add","path":"/a/b","value":"x"}]`, []string{patch, v21}, 400, "Invalid JSON pointer for this resource: '/a/b'"},
		{"patch bad escape", "PATCH", "/v2/images/" + id, "demo", `[{"op":"add","path":"/a~2b","value":"x"}]`, []string{patch, v21}, 400, "not part of a recognized escape sequence"},
		{"patch value missing", "PATCH", "/v2/images/" + id, "demo", `[{"op":"add","path":"/x"}]`, []string{patch, v21}, 400, "Operation \"add\" requires a member named \"value\"."},
		{"patch read-only", "PATCH", "/v2/images/" + id, "demo", `[{"op":"replace","path":"/status","value":"active"}]`, []string{patch, v21}, 403, "Attribute 'status' is read-only."},
		{"patch id", "PATCH", "/v2/images/" + id, "demo", `[{"op":"replace","path":"/id","value":"x"}]`, []string{patch, v21}, 403, "Attribute 'id' is read-only."},
		{"patch reserved", "PATCH", "/v2/images/" + id, "demo", `[{"op":"add","path":"/os_glance_foo","value":"bar"}]`, []string{patch, v21}, 403, "Attribute 'os_glance_foo' is reserved."},
		{"patch remove core", "PATCH", "/v2/images/" + id, "demo", `[{"op":"remove","path":"/name"}]`, []string{patch, v21}, 403, "Property name may not be removed."},
		{"patch remove missing", "PATCH", "/v2/images/" + id, "demo", `[{"op":"remove","path":"/nope"}]`, []string{patch, v21}, 409, "Property nope does not exist."},
		{"patch replace missing", "PATCH", "/v2/images/" + id, "demo", `[{"op":"replace","path":"/nope","value":"x"}]`, []string{patch, v21}, 409, "Property nope does not exist."},
		{"patch v2.0 add existing", "PATCH", "/v2/images/" + id, "demo", `[{"add":"/os_distro","value":"x"}]`, []string{patch, v20}, 409, "Property os_distro already present."},
		{"patch v2.0 two ops", "PATCH", "/v2/images/" + id, "demo", `[{"add":"/a","remove":"/b","value":"x"}]`, []string{patch, v20}, 400, "must contain only one member"},
		{"patch bad visibility", "PATCH", "/v2/images/" + id, "demo", `[{"op":"replace","path":"/visibility","value":"secret"}]`, []string{patch, v21}, 400, "'secret' is not one of"},
		{"patch owner by a member", "PATCH", "/v2/images/" + id, "demo", `[{"op":"replace","path":"/owner","value":"x"}]`, []string{patch, v21}, 403, "Owner can't be updated by non admin."},
		{"patch public by a member", "PATCH", "/v2/images/" + id, "demo", `[{"op":"replace","path":"/visibility","value":"public"}]`, []string{patch, v21}, 403, "publicize_image"},
		{"patch locations invisible", "PATCH", "/v2/images/" + id, "demo", `[{"op":"add","path":"/locations/-","value":{"url":"http://x","metadata":{}}}]`, []string{patch, v21}, 403, "It's not allowed to add locations if locations are invisible."},
		{"patch property too long", "PATCH", "/v2/images/" + id, "demo", `[{"op":"add","path":"/` + strings.Repeat("k", 256) + `","value":"x"}]`, []string{patch, v21}, 400, "Custom property should not be greater than 255 characters."},
		{"patch too many properties", "PATCH", "/v2/images/" + id, "demo", `[{"op":"add","path":"/a","value":"1"},{"op":"add","path":"/b","value":"2"},{"op":"add","path":"/c","value":"3"}]`, []string{patch, v21}, 413, "Attempted: 4, Maximum: 3"},
		{"patch by another project", "PATCH", "/v2/images/" + id, "alt", `[]`, []string{patch, v21}, 404, "No image found with ID"},
		{"patch by a reader", "PATCH", "/v2/images/" + id, "reader", `[{"op":"add","path":"/x","value":"y"}]`, []string{patch, v21}, 403, "modify_image"},
		{"patch unknown image", "PATCH", "/v2/images/" + missing, "demo", `[]`, []string{patch, v21}, 404, "No image found with ID"},

		{"show unknown", "GET", "/v2/images/" + missing, "demo", nil, nil, 404, "No image found with ID " + missing},
		{"delete unknown", "DELETE", "/v2/images/" + missing, "demo", nil, nil, 404, "Failed to find image " + missing + " to delete"},
		{"delete protected", "DELETE", "/v2/images/" + protected, "demo", nil, nil, 403, "is protected and cannot be deleted."},
		{"delete by a reader", "DELETE", "/v2/images/" + id, "reader", nil, nil, 403, "delete_image"},
		{"upload to unknown", "PUT", "/v2/images/" + missing + "/file", "demo", []byte("x"), nil, 404, ""},
		{"download unknown", "GET", "/v2/images/" + missing + "/file", "demo", nil, nil, 404, ""},
		{"deactivate queued", "POST", "/v2/images/" + id + "/actions/deactivate", "demo", nil, nil, 403, "Not allowed to deactivate image in status 'queued'"},
		{"tag unknown image", "PUT", "/v2/images/" + missing + "/tags/x", "demo", nil, nil, 404, "Image " + missing + " not found."},
		{"delete missing tag", "DELETE", "/v2/images/" + id + "/tags/nope", "demo", nil, nil, 404, ""},
		{"tag too long", "PUT", "/v2/images/" + id + "/tags/" + strings.Repeat("t", 256), "demo", nil, nil, 400, "is too long"},

		{"bad limit", "GET", "/v2/images?limit=x", "demo", nil, nil, 400, "limit param must be an integer"},
		{"negative limit", "GET", "/v2/images?limit=-1", "demo", nil, nil, 400, "limit param must be positive"},
		{"bad sort key", "GET", "/v2/images?sort_key=owner", "demo", nil, nil, 400, "Invalid sort key: owner."},
		{"bad sort dir", "GET", "/v2/images?sort=name:up", "demo", nil, nil, 400, "Invalid sort direction: up"},
		{"mixed sort syntax", "GET", "/v2/images?sort=name&sort_key=size", "demo", nil, nil, 400, "Old and new sorting syntax cannot be combined"},
		{"sort dirs mismatch", "GET", "/v2/images?sort_key=name&sort_key=size&sort_key=id&sort_dir=asc&sort_dir=desc", "demo", nil, nil, 400, "Number of sort dirs does not match the number of sort keys"},
		{"unknown marker", "GET", "/v2/images?marker=" + missing, "demo", nil, nil, 400, "No image found with ID " + missing},
		{"bad visibility filter", "GET", "/v2/images?visibility=x", "demo", nil, nil, 400, "Invalid visibility value: x"},
		{"bad member_status", "GET", "/v2/images?member_status=x", "demo", nil, nil, 400, "Invalid status: x"},
		{"bad os_hidden", "GET", "/v2/images?os_hidden=maybe", "demo", nil, nil, 400, "Invalid value 'maybe' for 'os_hidden' filter."},
		{"changes-since", "GET", "/v2/images?changes-since=2020-01-01", "demo", nil, nil, 400, "no longer available on v2"},
		{"bad size range", "GET", "/v2/images?size_min=big", "demo", nil, nil, 400, "Unable to filter on a range with a non-numeric value."},
		{"bad operator", "GET", "/v2/images?name=foo:bar", "demo", nil, nil, 400, "Unable to filter by unknown operator 'foo'."},
		{"bad time filter", "GET", "/v2/images?created_at=gt:yesterday", "demo", nil, nil, 400, "Bad \"created_at\" query filter format."},
		{"body on GET", "GET", "/v2/schemas/image", "demo", `{"a":1}`, nil, 400, "A body is not expected with this request."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do(c.method, c.url, c.token, c.body, c.hdr...)
			if r.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, c.status, r.body)
			}
			m := r.json(t)
			if msg, _ := m["message"].(string); !strings.Contains(msg, c.message) {
				t.Fatalf("message %q lacks %q", msg, c.message)
			}
			if m["code"] != fmt.Sprintf("%d %s", c.status, title(c.status)) {
				t.Fatalf("code %v", m["code"])
			}
		})
	}
	// Nothing above changed the image.
	im := h.must(200, "GET", "/v2/images/"+id, "demo", nil).json(t)
	if im["os_distro"] != "debian" || im["name"] != nil || len(im["tags"].([]any)) != 0 || im["a"] != nil {
		t.Fatalf("image changed by refused requests: %v", im)
	}
}

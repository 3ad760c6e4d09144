package api

import (
	"context"
	"slices"
	"testing"
)

func TestSchemas(t *testing.T) {
	h := newHarness(t, nil)
	for path, name := range map[string]string{
		"image": "image", "images": "images", "member": "member", "members": "members", "task": "task", "tasks": "tasks",
		"metadefs/namespace": "namespace", "metadefs/namespaces": "namespaces",
		"metadefs/resource_type": "resource_type_association", "metadefs/resource_types": "resource_type_associations",
		"metadefs/object": "object", "metadefs/objects": "objects", "metadefs/property": "property",
		"metadefs/properties": "properties", "metadefs/tag": "tag", "metadefs/tags": "tags",
	} {
		s := h.must(200, "GET", "/v2/schemas/"+path, "demo", nil).json(t)
		if s["name"] != name {
			t.Errorf("%s: name %v", path, s["name"])
		}
	}
	img := h.must(200, "GET", "/v2/schemas/image", "demo", nil).json(t)
	props := img["properties"].(map[string]any)
	disk := props["disk_format"].(map[string]any)
	if enum := disk["enum"].([]any); enum[0] != nil || !slices.Contains(enum, any("qcow2")) {
		t.Fatalf("disk_format enum %v", enum)
	}
	if img["additionalProperties"].(map[string]any)["type"] != "string" {
		t.Fatalf("additionalProperties %v", img["additionalProperties"])
	}
	for _, k := range []string{"kernel_id", "os_distro", "os_hash_value", "locations"} {
		if _, ok := props[k]; !ok {
			t.Errorf("image schema lacks %s", k)
		}
	}
}

// TestMetadefs follows tempest's metadata-definition tests.
func TestMetadefs(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.api.LoadMetadefs(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Loading twice changes nothing.
	if err := h.api.LoadMetadefs(context.Background()); err != nil {
		t.Fatal(err)
	}
	rts := h.must(200, "GET", "/v2/metadefs/resource_types", "admin", nil).json(t)["resource_types"].([]any)
	if len(rts) < 5 || rts[0].(map[string]any)["name"] != "OS::Glance::Image" {
		t.Fatalf("resource types %v", rts)
	}
	rt := "OS::Glance::Image"
	// A protected namespace with an association cannot be deleted until unprotected.
	ns := h.must(201, "POST", "/v2/metadefs/namespaces", "admin", map[string]any{
		"namespace": "tempest-ns", "visibility": "public", "description": "Tempest", "display_name": "tempest-ns",
		"resource_type_associations": []any{map[string]any{"name": rt}}, "protected": true,
	}).json(t)
	if ns["namespace"] != "tempest-ns" || ns["owner"] != "p-admin" || ns["protected"] != true {
		t.Fatalf("namespace %v", ns)
	}
	h.must(409, "POST", "/v2/metadefs/namespaces", "admin", map[string]any{"namespace": "tempest-ns"})
	list := h.must(200, "GET", "/v2/metadefs/namespaces", "admin", nil).json(t)["namespaces"].([]any)
	var names []string
	for _, n := range list {
		names = append(names, n.(map[string]any)["namespace"].(string))
	}
	if !slices.Contains(names, "tempest-ns") || !slices.Contains(names, "OS::Compute::Hypervisor") {
		t.Fatalf("namespaces %v", names)
	}
	h.must(403, "DELETE", "/v2/metadefs/namespaces/tempest-ns", "admin", nil)
	up := h.must(200, "PUT", "/v2/metadefs/namespaces/tempest-ns", "admin", map[string]any{
		"namespace": "tempest-ns", "description": "Tempest", "visibility": "private", "display_name": "tempest-ns", "protected": false,
	}).json(t)
	if up["visibility"] != "private" || up["protected"] != false {
		t.Fatalf("updated %v", up)
	}
	// Private now: invisible to other projects.
	h.must(404, "GET", "/v2/metadefs/namespaces/tempest-ns", "demo", nil)

	// Properties.
	enum := []string{"xen", "qemu", "kvm"}
	p := h.must(201, "POST", "/v2/metadefs/namespaces/tempest-ns/properties", "admin", map[string]any{
		"title": "prop", "name": rt, "type": "string", "enum": enum}).json(t)
	if p["title"] != "prop" || p["name"] != rt {
		t.Fatalf("property %v", p)
	}
	if got := h.must(200, "GET", "/v2/metadefs/namespaces/tempest-ns/properties/"+rt, "admin", nil).json(t); got["name"] != rt {
		t.Fatalf("show property %v", got)
	}
	p = h.must(200, "PUT", "/v2/metadefs/namespaces/tempest-ns/properties/"+rt, "admin", map[string]any{
		"title": "prop2", "name": rt, "type": "string", "enum": enum}).json(t)
	if p["title"] != "prop2" {
		t.Fatalf("updated property %v", p)
	}
	h.must(400, "POST", "/v2/metadefs/namespaces/tempest-ns/properties", "admin", map[string]any{"name": "x", "type": "string"})
	h.must(400, "POST", "/v2/metadefs/namespaces/tempest-ns/properties", "admin", map[string]any{"name": "x", "title": "x", "type": "text"})
	h.must(204, "DELETE", "/v2/metadefs/namespaces/tempest-ns/properties/"+rt, "admin", nil)
	if props := h.must(200, "GET", "/v2/metadefs/namespaces/tempest-ns/properties", "admin", nil).json(t)["properties"].(map[string]any); len(props) != 0 {
		t.Fatalf("properties left %v", props)
	}

	// Objects.
	o := h.must(201, "POST", "/v2/metadefs/namespaces/tempest-ns/objects", "admin", map[string]any{"name": "obj"}).json(t)
	if o["name"] != "obj" || o["self"] != "/v2/metadefs/namespaces/tempest-ns/objects/obj" {
		t.Fatalf("object %v", o)
	}
	h.must(200, "GET", "/v2/metadefs/namespaces/tempest-ns/objects/obj", "admin", nil)
	h.must(200, "PUT", "/v2/metadefs/namespaces/tempest-ns/objects/obj", "admin", map[string]any{"name": "obj2"})
	h.must(404, "GET", "/v2/metadefs/namespaces/tempest-ns/objects/obj", "admin", nil)
	objs := h.must(200, "GET", "/v2/metadefs/namespaces/tempest-ns/objects", "admin", nil).json(t)["objects"].([]any)
	if len(objs) != 1 || objs[0].(map[string]any)["name"] != "obj2" {
		t.Fatalf("objects %v", objs)
	}
	h.must(204, "DELETE", "/v2/metadefs/namespaces/tempest-ns/objects/obj2", "admin", nil)

	// Tags.
	tags := h.must(201, "POST", "/v2/metadefs/namespaces/tempest-ns/tags", "admin", map[string]any{
		"tags": []any{map[string]any{"name": "sample-tag1"}, map[string]any{"name": "sample-tag2"}, map[string]any{"name": "sample-tag3"}}}).json(t)
	if len(tags["tags"].([]any)) != 3 {
		t.Fatalf("tags %v", tags)
	}
	if got := h.must(200, "GET", "/v2/metadefs/namespaces/tempest-ns/tags", "admin", nil).json(t)["tags"].([]any); len(got) != 3 {
		t.Fatalf("listed tags %v", got)
	}
	h.must(201, "POST", "/v2/metadefs/namespaces/tempest-ns/tags/extra", "admin", nil)
	h.must(409, "POST", "/v2/metadefs/namespaces/tempest-ns/tags/EXTRA", "admin", nil)
	if got := h.must(200, "PUT", "/v2/metadefs/namespaces/tempest-ns/tags/extra", "admin", map[string]any{"name": "renamed"}).json(t); got["name"] != "renamed" {
		t.Fatalf("renamed tag %v", got)
	}
	h.must(204, "DELETE", "/v2/metadefs/namespaces/tempest-ns/tags/renamed", "admin", nil)
	h.must(204, "DELETE", "/v2/metadefs/namespaces/tempest-ns/tags", "admin", nil)
	if got := h.must(200, "GET", "/v2/metadefs/namespaces/tempest-ns/tags", "admin", nil).json(t)["tags"].([]any); len(got) != 0 {
		t.Fatalf("tags left %v", got)
	}

	// Resource type associations.
	h.must(201, "POST", "/v2/metadefs/namespaces/tempest-ns/resource_types", "admin", map[string]any{"name": "OS::Nova::Flavor", "prefix": "hw:"})
	h.must(409, "POST", "/v2/metadefs/namespaces/tempest-ns/resource_types", "admin", map[string]any{"name": "OS::Nova::Flavor"})
	assocs := h.must(200, "GET", "/v2/metadefs/namespaces/tempest-ns/resource_types", "admin", nil).json(t)["resource_type_associations"].([]any)
	if len(assocs) != 2 {
		t.Fatalf("associations %v", assocs)
	}
	h.must(204, "DELETE", "/v2/metadefs/namespaces/tempest-ns/resource_types/OS::Nova::Flavor", "admin", nil)
	h.must(404, "DELETE", "/v2/metadefs/namespaces/tempest-ns/resource_types/OS::Nova::Flavor", "admin", nil)

	// Only admins write; members read public namespaces.
	h.must(403, "POST", "/v2/metadefs/namespaces", "demo", map[string]any{"namespace": "mine"})
	h.must(200, "GET", "/v2/metadefs/namespaces/OS::Compute::Watchdog", "demo", nil)
	h.must(403, "DELETE", "/v2/metadefs/namespaces/OS::Compute::Watchdog", "demo", nil)
	// The standard namespaces are protected.
	h.must(403, "DELETE", "/v2/metadefs/namespaces/OS::Compute::Watchdog", "admin", nil)
	// Properties shown for a resource type carry its prefix.
	w := h.must(200, "GET", "/v2/metadefs/namespaces/OS::Compute::Watchdog?resource_type=OS::Nova::Flavor", "demo", nil).json(t)
	if _, ok := w["properties"].(map[string]any)["hw:hw_watchdog_action"]; !ok {
		t.Fatalf("prefixed properties %v", w["properties"])
	}

	h.must(204, "DELETE", "/v2/metadefs/namespaces/tempest-ns", "admin", nil)
	h.must(404, "GET", "/v2/metadefs/namespaces/tempest-ns", "admin", nil)
}

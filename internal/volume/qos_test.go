package volume_test

import (
	"testing"
)

// TestQoSSpecs drives /qos-specs as Cinder answers it: create (name
// unique, consumer checked), set and unset keys, associate with types (one
// QoS specs per type), delete refused while associated unless forced, and
// admin-only.
func TestQoSSpecs(t *testing.T) {
	c := startCloud(t, "4G")
	admin := c.Client(t, "admin", "admin", "volumev3")
	demo := c.Client(t, "demo", "demo", "volumev3")

	st, b, _ := raw(t, admin, "POST", "/qos-specs", `{"qos_specs": {"name": "gold", "consumer": "front-end", "read_iops_sec": "2000"}}`)
	if st != 200 {
		t.Fatalf("create %d %v", st, b)
	}
	q := b["qos_specs"].(map[string]any)
	id := q["id"].(string)
	if q["name"] != "gold" || q["consumer"] != "front-end" || q["specs"].(map[string]any)["read_iops_sec"] != "2000" || len(b["links"].([]any)) != 2 {
		t.Fatalf("created %v", b)
	}
	for body, want := range map[string]int{
		`{"qos_specs": {"name": "gold"}}`:                     409,
		`{"qos_specs": {"name": "x", "consumer": "nobody"}}`:  400,
		`{"qos_specs": {"consumer": "both"}}`:                 400,
		`{"qos_specs": {"name": "y", "read_iops_sec": 2000}}`: 400,
		`{"nope": {}}`: 400,
	} {
		if st, b, _ := raw(t, admin, "POST", "/qos-specs", body); st != want {
			t.Fatalf("create %s: %d %v", body, st, b)
		}
	}
	if st, b, _ := raw(t, admin, "POST", "/qos-specs", `{"qos_specs": {"name": "plain"}}`); st != 200 || b["qos_specs"].(map[string]any)["consumer"] != "back-end" {
		t.Fatalf("default consumer %d %v", st, b)
	}
	if st, _, _ := raw(t, demo, "GET", "/qos-specs", ""); st != 403 {
		t.Fatalf("a member lists qos specs: %d", st)
	}
	if st, b, _ := raw(t, admin, "GET", "/qos-specs", ""); st != 200 || len(b["qos_specs"].([]any)) != 2 {
		t.Fatalf("list %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "PUT", "/qos-specs/"+id, `{"qos_specs": {"iops_bytes": "500"}}`); st != 200 || b["qos_specs"].(map[string]any)["iops_bytes"] != "500" {
		t.Fatalf("set %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "PUT", "/qos-specs/"+id+"/delete_keys", `{"keys": ["iops_bytes", "missing"]}`); st != 404 {
		t.Fatalf("unset a missing key %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "PUT", "/qos-specs/"+id+"/delete_keys", `{"keys": ["iops_bytes"]}`); st != 202 {
		t.Fatalf("unset %d", st)
	}
	st, b, _ = raw(t, admin, "GET", "/qos-specs/"+id, "")
	if specs := b["qos_specs"].(map[string]any)["specs"].(map[string]any); st != 200 || specs["iops_bytes"] != nil || specs["read_iops_sec"] != "2000" {
		t.Fatalf("show %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "GET", "/qos-specs/00000000-0000-4000-8000-000000000000", ""); st != 404 {
		t.Fatalf("show missing %d", st)
	}

	st, b, _ = raw(t, admin, "POST", "/types", `{"volume_type": {"name": "fast"}}`)
	if st != 200 {
		t.Fatalf("type %d %v", st, b)
	}
	typ := b["volume_type"].(map[string]any)["id"].(string)
	if st, _, _ := raw(t, admin, "GET", "/qos-specs/"+id+"/associate", ""); st != 400 {
		t.Fatalf("associate without a type %d", st)
	}
	if st, _, _ := raw(t, admin, "GET", "/qos-specs/"+id+"/associate?vol_type_id=nope", ""); st != 404 {
		t.Fatalf("associate an unknown type %d", st)
	}
	if st, _, _ := raw(t, admin, "GET", "/qos-specs/"+id+"/associate?vol_type_id="+typ, ""); st != 202 {
		t.Fatalf("associate %d", st)
	}
	st, b, _ = raw(t, admin, "GET", "/qos-specs/"+id+"/associations", "")
	if as := b["qos_associations"].([]any); st != 200 || len(as) != 1 || as[0].(map[string]any)["id"] != typ || as[0].(map[string]any)["association_type"] != "volume_type" {
		t.Fatalf("associations %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "GET", "/types/"+typ, ""); st != 200 || b["volume_type"].(map[string]any)["qos_specs_id"] != id {
		t.Fatalf("type's qos_specs_id %d %v", st, b)
	}
	if st, b, _ := raw(t, demo, "GET", "/types/"+typ, ""); st != 200 || b["volume_type"].(map[string]any)["qos_specs_id"] != nil {
		t.Fatalf("a member sees qos_specs_id %d %v", st, b)
	}
	// Front-end specs reach the connection_info, per-GiB limits worked out.
	raw(t, admin, "PUT", "/qos-specs/"+id, `{"qos_specs": {"total_iops_sec_per_gb": "100", "total_iops_sec_max": "150"}}`)
	st, b, _ = raw(t, admin, "POST", "/volumes", `{"volume": {"size": 2, "volume_type": "fast"}}`)
	if st != 202 {
		t.Fatalf("volume %d %v", st, b)
	}
	vol := waitStatus(t, admin, b["volume"].(map[string]any)["id"].(string), "available").ID
	st, b, _ = raw(t, admin, "POST", "/volumes/"+vol+"/action", `{"os-initialize_connection": {"connector": {"host": "h1"}}}`)
	if st != 200 {
		t.Fatalf("initialize_connection %d %v", st, b)
	}
	qs, _ := b["connection_info"].(map[string]any)["data"].(map[string]any)["qos_specs"].(map[string]any)
	if qs["read_iops_sec"] != "2000" || qs["total_iops_sec"] != 150.0 || qs["total_iops_sec_per_gb"] != nil {
		t.Fatalf("connection qos_specs %v", b)
	}
	raw(t, admin, "PUT", "/qos-specs/"+id, `{"qos_specs": {"consumer": "back-end"}}`)
	st, b, _ = raw(t, admin, "POST", "/volumes/"+vol+"/action", `{"os-initialize_connection": {"connector": {"host": "h1"}}}`)
	if data := b["connection_info"].(map[string]any)["data"].(map[string]any); st != 200 || data["qos_specs"] != nil {
		t.Fatalf("back-end qos specs in the connection %d %v", st, b)
	}
	if _, ok := b["connection_info"].(map[string]any)["data"].(map[string]any)["qos_specs"]; !ok {
		t.Fatalf("no qos_specs key %v", b)
	}
	raw(t, admin, "PUT", "/qos-specs/"+id, `{"qos_specs": {"consumer": "front-end"}}`)
	if st, _, _ := raw(t, admin, "DELETE", "/volumes/"+vol, ""); st != 202 {
		t.Fatalf("delete volume %d", st)
	}
	if st, _, _ := raw(t, admin, "DELETE", "/qos-specs/"+id+"?force=False", ""); st != 400 {
		t.Fatalf("delete associated %d", st)
	}
	if st, _, _ := raw(t, admin, "GET", "/qos-specs/"+id+"/disassociate?vol_type_id="+typ, ""); st != 202 {
		t.Fatalf("disassociate %d", st)
	}
	if st, b, _ := raw(t, admin, "GET", "/qos-specs/"+id+"/associations", ""); st != 200 || len(b["qos_associations"].([]any)) != 0 {
		t.Fatalf("associations after disassociate %d %v", st, b)
	}
	raw(t, admin, "GET", "/qos-specs/"+id+"/associate?vol_type_id="+typ, "")
	if st, _, _ := raw(t, admin, "DELETE", "/qos-specs/"+id+"?force=True", ""); st != 202 {
		t.Fatalf("force delete %d", st)
	}
	if st, b, _ := raw(t, admin, "GET", "/types/"+typ, ""); st != 200 || b["volume_type"].(map[string]any)["qos_specs_id"] != nil {
		t.Fatalf("type after force delete %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "GET", "/qos-specs/"+id, ""); st != 404 {
		t.Fatalf("deleted qos specs shown %d", st)
	}
}

package volume_test

import (
	"testing"
)

// TestGroupTypes drives the group types and group specs of 3.11: 404
// before it, admin-only changes, the name unique among live types, private
// types hidden from members, is_public and sort in the list, specs set
// key by key.
func TestGroupTypes(t *testing.T) {
	c := startCloud(t, "4G")
	admin := c.Client(t, "admin", "admin", "volumev3")
	demo := c.Client(t, "demo", "demo", "volumev3")
	mv := []string{"OpenStack-API-Version", "volume 3.11"}
	if st, _, _ := raw(t, admin, "GET", "/group_types", "", "OpenStack-API-Version", "volume 3.10"); st != 404 {
		t.Fatalf("group types at 3.10: %d", st)
	}
	st, b, _ := raw(t, admin, "POST", "/group_types", `{"group_type": {"name": "b-gt", "description": "d", "is_public": false, "group_specs": {"consistent_group_snapshot_enabled": "<is> False"}}}`, mv...)
	if st != 202 || b["group_type"].(map[string]any)["group_specs"].(map[string]any)["consistent_group_snapshot_enabled"] != "<is> False" {
		t.Fatalf("create %d %v", st, b)
	}
	priv := b["group_type"].(map[string]any)["id"].(string)
	st, b, _ = raw(t, admin, "POST", "/group_types", `{"group_type": {"name": "a-gt"}}`, mv...)
	if st != 202 || b["group_type"].(map[string]any)["is_public"] != true {
		t.Fatalf("create public %d %v", st, b)
	}
	pub := b["group_type"].(map[string]any)["id"].(string)
	for body, want := range map[string]int{
		`{"group_type": {"name": "a-gt"}}`:                       409,
		`{"group_type": {"name": "  "}}`:                         400,
		`{"group_type": {"description": "x"}}`:                   400,
		`{"group_type": {"name": "c", "is_public": "maybe"}}`:    400,
		`{"group_type": {"name": "c", "group_specs": {"": ""}}}`: 400,
		`{"nope": {}}`: 400,
	} {
		if st, b, _ := raw(t, admin, "POST", "/group_types", body, mv...); st != want {
			t.Fatalf("create %s: %d %v", body, st, b)
		}
	}
	if st, _, _ := raw(t, demo, "POST", "/group_types", `{"group_type": {"name": "m"}}`, mv...); st != 403 {
		t.Fatalf("a member creates a group type: %d", st)
	}
	names := func(c2 any, q string) []string {
		st, b, _ := raw(t, admin, "GET", "/group_types"+q, "", mv...)
		if c2 != nil {
			st, b, _ = raw(t, demo, "GET", "/group_types"+q, "", mv...)
		}
		if st != 200 {
			t.Fatalf("list %s: %d %v", q, st, b)
		}
		var out []string
		for _, g := range b["group_types"].([]any) {
			out = append(out, g.(map[string]any)["name"].(string))
		}
		return out
	}
	if n := names(nil, "?is_public=none&sort=name:asc"); len(n) != 2 || n[0] != "a-gt" || n[1] != "b-gt" {
		t.Fatalf("sorted asc %v", n)
	}
	if n := names(nil, "?is_public=none&sort=name:desc"); len(n) != 2 || n[0] != "b-gt" {
		t.Fatalf("sorted desc %v", n)
	}
	if n := names(nil, "?is_public=false"); len(n) != 1 || n[0] != "b-gt" {
		t.Fatalf("private %v", n)
	}
	if n := names(nil, ""); len(n) != 1 || n[0] != "a-gt" {
		t.Fatalf("default list %v", n)
	}
	if n := names(true, "?is_public=false"); len(n) != 1 || n[0] != "a-gt" {
		t.Fatalf("a member's list %v", n)
	}
	if st, _, _ := raw(t, demo, "GET", "/group_types/"+priv, "", mv...); st != 404 {
		t.Fatalf("a member sees a private group type: %d", st)
	}
	if st, b, _ := raw(t, demo, "GET", "/group_types/"+pub, "", mv...); st != 200 || b["group_type"].(map[string]any)["group_specs"] != nil {
		t.Fatalf("a member's show %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "GET", "/group_types/default", "", mv...); st != 404 {
		t.Fatalf("default group type: %d", st)
	}
	st, b, _ = raw(t, admin, "PUT", "/group_types/"+priv, `{"group_type": {"name": "b2", "description": "new"}}`, mv...)
	if g := b["group_type"].(map[string]any); st != 200 || g["name"] != "b2" || g["description"] != "new" || g["is_public"] != false {
		t.Fatalf("update %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "PUT", "/group_types/"+priv, `{"group_type": {"name": "a-gt"}}`, mv...); st != 409 {
		t.Fatalf("rename onto another: %d", st)
	}
	if st, _, _ := raw(t, admin, "PUT", "/group_types/"+priv, `{"group_type": {}}`, mv...); st != 400 {
		t.Fatalf("empty update: %d", st)
	}

	s := "/group_types/" + pub + "/group_specs"
	if st, b, _ := raw(t, admin, "POST", s, `{"group_specs": {"k1": "v1", "k2": "v2"}}`, mv...); st != 202 || len(b["group_specs"].(map[string]any)) != 2 {
		t.Fatalf("set specs %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "POST", s, `{"group_specs": {"k2": "v2b", "k3": "v3"}}`, mv...); st != 202 || b["group_specs"].(map[string]any)["k2"] != "v2b" {
		t.Fatalf("update specs %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "PUT", s+"/k3", `{"k3": "v3b"}`, mv...); st != 200 || b["k3"] != "v3b" {
		t.Fatalf("update spec %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "PUT", s+"/k3", `{"k4": "x"}`, mv...); st != 400 {
		t.Fatalf("mismatched spec: %d", st)
	}
	if st, b, _ := raw(t, admin, "GET", s, "", mv...); st != 200 || len(b["group_specs"].(map[string]any)) != 3 || b["group_specs"].(map[string]any)["k1"] != "v1" {
		t.Fatalf("list specs %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "DELETE", s+"/k1", "", mv...); st != 202 {
		t.Fatalf("delete spec: %d", st)
	}
	for _, p := range []string{s + "/k1", "/group_types/00000000-0000-4000-8000-000000000000/group_specs"} {
		if st, _, _ := raw(t, admin, "GET", p, "", mv...); st != 404 {
			t.Fatalf("GET %s: %d", p, st)
		}
	}
	if st, _, _ := raw(t, admin, "DELETE", s+"/k1", "", mv...); st != 404 {
		t.Fatalf("delete a missing spec: %d", st)
	}
	if st, _, _ := raw(t, demo, "GET", s, "", mv...); st != 403 {
		t.Fatalf("a member lists specs: %d", st)
	}

	if st, _, _ := raw(t, admin, "DELETE", "/group_types/"+priv, "", mv...); st != 202 {
		t.Fatalf("delete: %d", st)
	}
	if st, _, _ := raw(t, admin, "DELETE", "/group_types/"+priv, "", mv...); st != 404 {
		t.Fatalf("delete again: %d", st)
	}
	if st, _, _ := raw(t, admin, "POST", "/group_types", `{"group_type": {"name": "b2"}}`, mv...); st != 202 {
		t.Fatalf("reuse a deleted type's name: %d", st)
	}
}

// TestVolumeSummary: /volumes/summary (3.12; 404 before) counts the
// caller's volumes and their sizes, honours the list's filters, and an
// administrator's all_tenants.
func TestVolumeSummary(t *testing.T) {
	c := startCloud(t, "8G")
	admin := c.Client(t, "admin", "admin", "volumev3")
	demo := c.Client(t, "demo", "demo", "volumev3")
	mv := []string{"OpenStack-API-Version", "volume 3.12"}
	for _, size := range []string{"1", "2"} {
		st, b, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"size": `+size+`, "name": "s`+size+`"}}`)
		if st != 202 {
			t.Fatalf("create %d %v", st, b)
		}
		waitStatus(t, demo, b["volume"].(map[string]any)["id"].(string), "available")
	}
	sum := func(c2 any, q string) map[string]any {
		cl := demo
		if c2 != nil {
			cl = admin
		}
		st, b, _ := raw(t, cl, "GET", "/volumes/summary"+q, "", mv...)
		if st != 200 {
			t.Fatalf("summary %s: %d %v", q, st, b)
		}
		return b["volume-summary"].(map[string]any)
	}
	if s := sum(nil, ""); s["total_count"] != 2.0 || s["total_size"] != 3.0 || s["metadata"] != nil {
		t.Fatalf("summary %v", s)
	}
	if s := sum(nil, "?name=s2"); s["total_count"] != 1.0 || s["total_size"] != 2.0 {
		t.Fatalf("summary by name %v", s)
	}
	if s := sum(true, ""); s["total_count"] != 0.0 || s["total_size"] != 0.0 {
		t.Fatalf("the admin project's summary %v", s)
	}
	if s := sum(true, "?all_tenants=1"); s["total_count"] != 2.0 || s["total_size"] != 3.0 {
		t.Fatalf("all projects' summary %v", s)
	}
	if st, _, _ := raw(t, demo, "GET", "/volumes/summary", "", "OpenStack-API-Version", "volume 3.11"); st != 404 {
		t.Fatalf("summary at 3.11: %d", st)
	}
	if st, _, _ := raw(t, demo, "GET", "/volumes/summary?bootable=maybe", "", mv...); st != 400 {
		t.Fatalf("summary with a bad filter: %d", st)
	}
}

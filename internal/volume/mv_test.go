package volume_test

import (
	"testing"
)

// TestMicroversions38To310: manageable lists (3.8; 404 before; host
// required and known), backup update (3.9; 404 before), and the group_id
// filter (3.10) selecting nothing, as no volume is in a group.
func TestMicroversions38To310(t *testing.T) {
	c := startCloud(t, "4G")
	admin := c.Client(t, "admin", "admin", "volumev3")
	demo := c.Client(t, "demo", "demo", "volumev3")
	mv := func(v string) []string { return []string{"OpenStack-API-Version", "volume " + v} }
	st, b, _ := raw(t, admin, "GET", "/os-services?binary=cinder-volume", "")
	if st != 200 {
		t.Fatalf("services %d", st)
	}
	host := b["services"].([]any)[0].(map[string]any)["host"].(string)
	if st, _, _ := raw(t, admin, "GET", "/manageable_volumes?host="+host, "", mv("3.7")...); st != 404 {
		t.Fatalf("manageable volumes at 3.7: %d", st)
	}
	if st, b, _ := raw(t, admin, "GET", "/manageable_volumes/detail?host="+host, "", mv("3.8")...); st != 200 || len(b["manageable-volumes"].([]any)) != 0 {
		t.Fatalf("manageable volumes %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "GET", "/manageable_snapshots?host="+host, "", mv("3.8")...); st != 200 || b["manageable-snapshots"] == nil {
		t.Fatalf("manageable snapshots %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "GET", "/manageable_volumes", "", mv("3.8")...); st != 400 {
		t.Fatalf("manageable volumes without a host: %d", st)
	}
	if st, _, _ := raw(t, admin, "GET", "/manageable_volumes?host=nowhere@x", "", mv("3.8")...); st != 404 {
		t.Fatalf("manageable volumes of an unknown host: %d", st)
	}
	if st, _, _ := raw(t, demo, "GET", "/manageable_volumes?host="+host, "", mv("3.8")...); st != 403 {
		t.Fatalf("a member lists manageable volumes: %d", st)
	}

	st, b, _ = raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1}}`)
	if st != 202 {
		t.Fatalf("create %d %v", st, b)
	}
	vol := waitStatus(t, demo, b["volume"].(map[string]any)["id"].(string), "available").ID
	st, b, _ = raw(t, demo, "POST", "/backups", `{"backup": {"volume_id": "`+vol+`", "name": "b1"}}`)
	if st != 202 {
		t.Fatalf("backup %d %v", st, b)
	}
	bk := b["backup"].(map[string]any)["id"].(string)
	if st, _, _ := raw(t, demo, "PUT", "/backups/"+bk, `{"backup": {"name": "b2"}}`, mv("3.8")...); st != 404 {
		t.Fatalf("backup update at 3.8: %d", st)
	}
	if st, _, _ := raw(t, demo, "PUT", "/backups/"+bk, `{"nope": {}}`, mv("3.9")...); st != 400 {
		t.Fatalf("backup update without backup: %d", st)
	}
	st, b, _ = raw(t, demo, "PUT", "/backups/"+bk, `{"backup": {"name": "b2", "description": "renamed"}}`, mv("3.9")...)
	if st != 200 || b["backup"].(map[string]any)["name"] != "b2" || b["backup"].(map[string]any)["links"] == nil {
		t.Fatalf("backup update %d %v", st, b)
	}
	if st, b, _ := raw(t, demo, "GET", "/backups/"+bk, ""); st != 200 || b["backup"].(map[string]any)["description"] != "renamed" {
		t.Fatalf("updated backup %d %v", st, b)
	}

	if st, b, _ := raw(t, demo, "GET", "/volumes?group_id=00000000-0000-4000-8000-000000000000", "", mv("3.10")...); st != 200 || len(b["volumes"].([]any)) != 0 {
		t.Fatalf("group_id filter %d %v", st, b)
	}
	if st, b, _ := raw(t, demo, "GET", "/volumes", "", mv("3.10")...); st != 200 || len(b["volumes"].([]any)) != 1 {
		t.Fatalf("list %d %v", st, b)
	}

	if st, b, _ := raw(t, demo, "GET", "/extensions", ""); st != 200 || len(b["extensions"].([]any)) == 0 || b["extensions"].([]any)[0].(map[string]any)["name"] != "Hosts" {
		t.Fatalf("extensions %d %v", st, b)
	}
	if st, b, _ := raw(t, demo, "GET", "/extensions/qos-specs", ""); st != 200 || b["extension"].(map[string]any)["alias"] != "qos-specs" {
		t.Fatalf("extension %d %v", st, b)
	}
	if st, _, _ := raw(t, demo, "GET", "/extensions/os-nothing", ""); st != 404 {
		t.Fatalf("unknown extension %d", st)
	}
}

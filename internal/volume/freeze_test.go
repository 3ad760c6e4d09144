package volume_test

import (
	"testing"
)

// TestFreezeThaw: a frozen backend refuses deletes and snapshots (400),
// the scheduler sends it no new volume, freezing twice, thawing a thawed
// host or an unknown host is 400, a member 403; thawed, it works again.
func TestFreezeThaw(t *testing.T) {
	c := startCloud(t, "4G")
	admin := c.Client(t, "admin", "admin", "volumev3")
	demo := c.Client(t, "demo", "demo", "volumev3")
	st, b, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1}}`)
	if st != 202 {
		t.Fatalf("create %d %v", st, b)
	}
	vol := waitStatus(t, demo, b["volume"].(map[string]any)["id"].(string), "available").ID
	st, b, _ = raw(t, admin, "GET", "/os-services?binary=cinder-volume", "")
	if st != 200 || len(b["services"].([]any)) == 0 {
		t.Fatalf("services %d %v", st, b)
	}
	svc := b["services"].([]any)[0].(map[string]any)
	host := svc["host"].(string)
	if svc["frozen"] != false {
		t.Fatalf("service %v", svc)
	}
	if st, _, _ := raw(t, demo, "PUT", "/os-services/freeze", `{"host": "`+host+`"}`); st != 403 {
		t.Fatalf("a member freezes: %d", st)
	}
	if st, _, _ := raw(t, admin, "PUT", "/os-services/freeze", `{"host": "nowhere@x"}`); st != 400 {
		t.Fatalf("freeze an unknown host: %d", st)
	}
	if st, _, _ := raw(t, admin, "PUT", "/os-services/thaw", `{"host": "`+host+`"}`); st != 400 {
		t.Fatalf("thaw a thawed host: %d", st)
	}
	if st, b, _ := raw(t, admin, "PUT", "/os-services/freeze", `{"host": "`+host+`"}`); st != 200 {
		t.Fatalf("freeze %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "PUT", "/os-services/freeze", `{"host": "`+host+`"}`); st != 400 {
		t.Fatalf("freeze twice: %d", st)
	}
	if st, b, _ := raw(t, admin, "GET", "/os-services?binary=cinder-volume", ""); st != 200 || b["services"].([]any)[0].(map[string]any)["frozen"] != true {
		t.Fatalf("services while frozen %d %v", st, b)
	}
	if st, b, _ := raw(t, demo, "DELETE", "/volumes/"+vol, ""); st != 400 || b["badRequest"] == nil {
		t.Fatalf("delete on a frozen backend %d %v", st, b)
	}
	if st, b, _ := raw(t, demo, "POST", "/snapshots", `{"snapshot": {"volume_id": "`+vol+`"}}`); st != 400 {
		t.Fatalf("snapshot on a frozen backend %d %v", st, b)
	}
	st, b, _ = raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1}}`)
	if st != 202 {
		t.Fatalf("create %d %v", st, b)
	}
	if v := waitStatus(t, demo, b["volume"].(map[string]any)["id"].(string), "error", "available"); v.Status != "error" {
		t.Fatalf("a volume scheduled to a frozen backend: %s", v.Status)
	}
	if st, _, _ := raw(t, admin, "PUT", "/os-services/thaw", `{"host": "`+host+`"}`); st != 200 {
		t.Fatalf("thaw %d", st)
	}
	if st, b, _ := raw(t, demo, "POST", "/snapshots", `{"snapshot": {"volume_id": "`+vol+`"}}`); st != 202 {
		t.Fatalf("snapshot after thaw %d %v", st, b)
	}
}

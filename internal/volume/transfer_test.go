package volume_test

import (
	"testing"
)

// TestTransfers offers a volume with a snapshot to another project: the
// volume waits (awaiting-transfer, not deletable), a wrong key is 400,
// the recipient's quota is checked (413), the right key moves the volume
// and its snapshot to the recipient, and a withdrawn offer returns the
// volume to available.
func TestTransfers(t *testing.T) {
	c := startCloud(t, "4G")
	demo := c.Client(t, "demo", "demo", "volumev3")
	admin := c.Client(t, "admin", "admin", "volumev3")
	mk := func(body string) string {
		t.Helper()
		st, b, _ := raw(t, demo, "POST", "/volumes", body)
		if st != 202 {
			t.Fatalf("create %d %v", st, b)
		}
		return waitStatus(t, demo, b["volume"].(map[string]any)["id"].(string), "available").ID
	}
	vol := mk(`{"volume": {"size": 1, "name": "gift"}}`)
	st, b, _ := raw(t, demo, "POST", "/snapshots", `{"snapshot": {"volume_id": "`+vol+`"}}`)
	if st != 202 {
		t.Fatalf("snapshot %d %v", st, b)
	}
	snap := b["snapshot"].(map[string]any)["id"].(string)
	waitSnapshot(t, demo, snap, "available")

	st, b, _ = raw(t, demo, "POST", "/os-volume-transfer", `{"transfer": {"volume_id": "`+vol+`", "name": "to-admin"}}`)
	if st != 202 {
		t.Fatalf("create transfer %d %v", st, b)
	}
	tr := b["transfer"].(map[string]any)
	id, key := tr["id"].(string), tr["auth_key"].(string)
	if len(key) != 16 || tr["volume_id"] != vol || tr["name"] != "to-admin" || tr["created_at"] == nil || tr["links"] == nil {
		t.Fatalf("transfer %v", tr)
	}
	if v := waitStatus(t, demo, vol, "awaiting-transfer"); v.Status != "awaiting-transfer" {
		t.Fatal(v.Status)
	}
	if st, _, _ := raw(t, demo, "DELETE", "/volumes/"+vol, ""); st != 400 {
		t.Fatalf("delete a volume awaiting transfer: %d", st)
	}
	if st, b, _ := raw(t, demo, "GET", "/os-volume-transfer/detail", ""); st != 200 || len(b["transfers"].([]any)) != 1 {
		t.Fatalf("list %d %v", st, b)
	}
	if st, b, _ := raw(t, demo, "GET", "/os-volume-transfer/"+id, ""); st != 200 || b["transfer"].(map[string]any)["auth_key"] != nil {
		t.Fatalf("show %d %v", st, b)
	}
	if st, b, _ := raw(t, demo, "POST", "/os-volume-transfer", `{"transfer": {"volume_id": "`+vol+`"}}`); st != 400 {
		t.Fatalf("second offer %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "POST", "/os-volume-transfer/"+id+"/accept", `{"accept": {"auth_key": "wrong"}}`); st != 400 || b["badRequest"] == nil {
		t.Fatalf("wrong key %d %v", st, b)
	}
	// The recipient's quota: no room for a volume.
	st, b, _ = raw(t, admin, "POST", "/volumes", `{"volume": {"size": 1}}`)
	if st != 202 {
		t.Fatalf("admin volume %d %v", st, b)
	}
	adminProject := waitStatus(t, admin, b["volume"].(map[string]any)["id"].(string), "available").TenantID
	raw(t, admin, "PUT", "/os-quota-sets/"+adminProject, `{"quota_set": {"volumes": 1}}`)
	if st, b, _ := raw(t, admin, "POST", "/os-volume-transfer/"+id+"/accept", `{"accept": {"auth_key": "`+key+`"}}`); st != 413 {
		t.Fatalf("over the recipient's quota %d %v", st, b)
	}
	raw(t, admin, "PUT", "/os-quota-sets/"+adminProject, `{"quota_set": {"volumes": 10}}`)
	st, b, _ = raw(t, admin, "POST", "/os-volume-transfer/"+id+"/accept", `{"accept": {"auth_key": "`+key+`"}}`)
	if st != 202 || b["transfer"].(map[string]any)["volume_id"] != vol {
		t.Fatalf("accept %d %v", st, b)
	}
	if st, _, _ := raw(t, demo, "GET", "/volumes/"+vol, ""); st != 404 {
		t.Fatalf("the donor still sees the volume: %d", st)
	}
	if v := waitStatus(t, admin, vol, "available"); v.TenantID != adminProject {
		t.Fatalf("volume %+v", v)
	}
	if st, b, _ := raw(t, admin, "GET", "/snapshots/"+snap, ""); st != 200 || b["snapshot"].(map[string]any)["os-extended-snapshot-attributes:project_id"] != adminProject {
		t.Fatalf("snapshot %d %v", st, b)
	}
	if st, _, _ := raw(t, demo, "GET", "/os-volume-transfer/"+id, ""); st != 404 {
		t.Fatalf("accepted transfer still shown: %d", st)
	}
	// Withdrawn.
	other := mk(`{"volume": {"size": 1}}`)
	st, b, _ = raw(t, demo, "POST", "/os-volume-transfer", `{"transfer": {"volume_id": "`+other+`"}}`)
	if st != 202 {
		t.Fatalf("create transfer %d %v", st, b)
	}
	if st, _, _ := raw(t, demo, "DELETE", "/os-volume-transfer/"+b["transfer"].(map[string]any)["id"].(string), ""); st != 202 {
		t.Fatalf("delete transfer %d", st)
	}
	if v := waitStatus(t, demo, other, "available"); v.Status != "available" {
		t.Fatal(v.Status)
	}
}

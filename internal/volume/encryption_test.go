package volume_test

import (
	"testing"
)

// TestTypeEncryption drives /types/{id}/encryption: create (one per type,
// provider required, fields checked), show (empty when none), show one
// key, update, delete; volumes of an encrypted type are refused (no key
// manager), and admin-only.
func TestTypeEncryption(t *testing.T) {
	c := startCloud(t, "4G")
	admin := c.Client(t, "admin", "admin", "volumev3")
	demo := c.Client(t, "demo", "demo", "volumev3")
	st, b, _ := raw(t, admin, "POST", "/types", `{"volume_type": {"name": "secret"}}`)
	if st != 200 {
		t.Fatalf("type %d %v", st, b)
	}
	typ := b["volume_type"].(map[string]any)["id"].(string)
	p := "/types/" + typ + "/encryption"
	if st, b, _ := raw(t, admin, "GET", p, ""); st != 200 || len(b) != 0 {
		t.Fatalf("no encryption yet %d %v", st, b)
	}
	for body, want := range map[string]int{
		`{"encryption": {"cipher": "aes"}}`:                                  400,
		`{"encryption": {"provider": "luks", "control_location": "middle"}}`: 400,
		`{"encryption": {"provider": "luks", "key_size": -1}}`:               400,
		`{"encryption": {"provider": "luks", "colour": "blue"}}`:             400,
		`{"encryption": {"provider": 7}}`:                                    400,
	} {
		if st, b, _ := raw(t, admin, "POST", p, body); st != want {
			t.Fatalf("create %s: %d %v", body, st, b)
		}
	}
	if st, _, _ := raw(t, admin, "POST", "/types/00000000-0000-4000-8000-000000000000/encryption", `{"encryption": {"provider": "luks"}}`); st != 404 {
		t.Fatalf("unknown type %d", st)
	}
	if st, _, _ := raw(t, demo, "POST", p, `{"encryption": {"provider": "luks"}}`); st != 403 {
		t.Fatalf("a member creates encryption: %d", st)
	}
	st, b, _ = raw(t, admin, "POST", p, `{"encryption": {"provider": "luks", "key_size": 256, "cipher": "aes-xts-plain64", "control_location": "front-end"}}`)
	e, _ := b["encryption"].(map[string]any)
	if st != 200 || e["volume_type_id"] != typ || e["encryption_id"] == nil || e["key_size"] != 256.0 || e["provider"] != "luks" {
		t.Fatalf("create %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "POST", p, `{"encryption": {"provider": "luks"}}`); st != 400 {
		t.Fatalf("second encryption %d", st)
	}
	if st, b, _ := raw(t, admin, "PUT", p+"/provider", `{"encryption": {"key_size": 128, "control_location": "back-end"}}`); st != 200 || b["encryption"].(map[string]any)["key_size"] != 128.0 {
		t.Fatalf("update %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "GET", p, ""); st != 200 || b["key_size"] != 128.0 || b["control_location"] != "back-end" || b["cipher"] != "aes-xts-plain64" || b["deleted"] != false {
		t.Fatalf("show %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "GET", p+"/cipher", ""); st != 200 || len(b) != 1 || b["cipher"] != "aes-xts-plain64" {
		t.Fatalf("show cipher %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "GET", p+"/colour", ""); st != 404 {
		t.Fatalf("show an unknown key %d", st)
	}
	if st, b, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1, "volume_type": "secret"}}`); st != 400 && st != 404 {
		t.Fatalf("volume of an encrypted type %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "POST", "/volumes", `{"volume": {"size": 1, "volume_type": "`+typ+`"}}`); st != 400 {
		t.Fatalf("volume of an encrypted type %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "DELETE", p+"/provider", ""); st != 202 {
		t.Fatalf("delete %d", st)
	}
	if st, _, _ := raw(t, admin, "DELETE", p+"/provider", ""); st != 404 {
		t.Fatalf("delete again %d", st)
	}
	if st, b, _ := raw(t, admin, "GET", p, ""); st != 200 || len(b) != 0 {
		t.Fatalf("after delete %d %v", st, b)
	}
	if st, b, _ := raw(t, admin, "POST", "/volumes", `{"volume": {"size": 1, "volume_type": "`+typ+`"}}`); st != 202 {
		t.Fatalf("volume of a type no longer encrypted %d %v", st, b)
	}
}

package volume_test

import "testing"

// TestRetype changes a volume's type on its own backend, and refuses a
// type its backend cannot satisfy (no migration in tenku), the same
// type, an unknown type and a bad migration_policy.
func TestRetype(t *testing.T) {
	c := startCloud(t, "2G")
	demo := c.Client(t, "demo", "demo", "volumev3")
	admin := c.Client(t, "admin", "admin", "volumev3")
	for _, body := range []string{`{"volume_type": {"name": "gold", "extra_specs": {"volume_backend_name": "file"}}}`,
		`{"volume_type": {"name": "elsewhere", "extra_specs": {"volume_backend_name": "lvm"}}}`} {
		if st, b, _ := raw(t, admin, "POST", "/types", body); st != 200 {
			t.Fatalf("type %d %v", st, b)
		}
	}
	st, b, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1}}`)
	if st != 202 {
		t.Fatalf("create %d %v", st, b)
	}
	id := waitStatus(t, demo, b["volume"].(map[string]any)["id"].(string), "available").ID
	for _, bad := range []string{
		`{"os-retype": {"new_type": "elsewhere"}}`,
		`{"os-retype": {"new_type": "__DEFAULT__"}}`,
		`{"os-retype": {"new_type": "nope"}}`,
		`{"os-retype": {"new_type": "gold", "migration_policy": "sometimes"}}`,
		`{"os-retype": {}}`,
	} {
		if st, b, _ := raw(t, demo, "POST", "/volumes/"+id+"/action", bad); st != 400 || b["badRequest"] == nil {
			t.Errorf("%s: %d %v", bad, st, b)
		}
	}
	if st, b, _ := raw(t, demo, "POST", "/volumes/"+id+"/action", `{"os-retype": {"new_type": "gold", "migration_policy": "never"}}`); st != 202 {
		t.Fatalf("retype %d %v", st, b)
	}
	if v := waitStatus(t, demo, id, "available"); v.VolumeType != "gold" {
		t.Fatalf("volume type %q", v.VolumeType)
	}
}

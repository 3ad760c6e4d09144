package volume_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

func waitBackup(t *testing.T, c *gophercloud.ServiceClient, id string, want ...string) map[string]any {
	t.Helper()
	var b map[string]any
	testkit.Eventually(t, 20*time.Second, func() bool {
		st, body, _ := raw(t, c, "GET", "/backups/"+id, "")
		if st != 200 {
			return false
		}
		b = body["backup"].(map[string]any)
		for _, w := range want {
			if b["status"] == w {
				return true
			}
		}
		return false
	}, "backup %s never reached %v", id, want)
	return b
}

// TestBackups takes a full and an incremental backup of a volume on the
// file backend, restores them into a new and an existing volume (the
// data is the backup's), refuses what Cinder refuses (in-use without
// force, deleting a parent, restoring into a busy volume, over quota),
// and deletes them, leaving an empty repository.
func TestBackups(t *testing.T) {
	c := startCloud(t, "8G")
	demo := c.Client(t, "demo", "demo", "volumev3")
	admin := c.Client(t, "admin", "admin", "volumev3")
	dir := filepath.Join(c.DataDir, "cinder-volume", "volumes")
	repo := filepath.Join(c.DataDir, "cinder-volume", "backups")
	write := func(id, s string, off int64) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(dir, "volume-"+id), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte(s), off)
		f.Close()
	}
	read := func(id string, off int64, n int) string {
		t.Helper()
		f, err := os.Open(filepath.Join(dir, "volume-"+id))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, n)
		f.ReadAt(b, off)
		return string(b)
	}
	create := func(body string) string {
		t.Helper()
		st, b, _ := raw(t, demo, "POST", "/volumes", body)
		if st != 202 {
			t.Fatalf("create volume %d %v", st, b)
		}
		return waitStatus(t, demo, b["volume"].(map[string]any)["id"].(string), "available").ID
	}
	backup := func(body string) string {
		t.Helper()
		st, b, _ := raw(t, demo, "POST", "/backups", body)
		if st != 202 {
			t.Fatalf("create backup %s: %d %v", body, st, b)
		}
		bb := b["backup"].(map[string]any)
		if bb["links"] == nil || len(bb) != 3 {
			t.Fatalf("create backup answer %v", bb)
		}
		return bb["id"].(string)
	}

	vol := create(`{"volume": {"size": 1, "name": "src", "metadata": {"kept": "yes"}}}`)
	write(vol, "first", 300<<20)
	full := backup(`{"backup": {"volume_id": "` + vol + `", "name": "full"}}`)
	fb := waitBackup(t, demo, full, "available", "error")
	if fb["status"] != "available" || fb["size"] != 1.0 || fb["is_incremental"] != false || fb["object_count"].(float64) < 1 || fb["volume_id"] != vol {
		t.Fatalf("full backup %v", fb)
	}
	if v := waitStatus(t, demo, vol, "available"); v.Status != "available" {
		t.Fatalf("volume after backup %s", v.Status)
	}
	write(vol, "second", 700<<20)
	inc := backup(`{"backup": {"volume_id": "` + vol + `", "incremental": true}}`)
	ib := waitBackup(t, demo, inc, "available", "error")
	if ib["status"] != "available" || ib["is_incremental"] != true || ib["object_count"] != 1.0 {
		t.Fatalf("incremental backup %v", ib)
	}
	if fb = waitBackup(t, demo, full, "available"); fb["has_dependent_backups"] != true {
		t.Fatalf("parent %v", fb)
	}
	if st, body, _ := raw(t, demo, "DELETE", "/backups/"+full, ""); st != 400 || body["badRequest"] == nil {
		t.Fatalf("delete a parent %d %v", st, body)
	}

	// Restore the incremental one into a new volume.
	st, body, _ := raw(t, demo, "POST", "/backups/"+inc+"/restore", `{"restore": {"name": "restored"}}`)
	if st != 202 {
		t.Fatalf("restore to new %d %v", st, body)
	}
	rs := body["restore"].(map[string]any)
	if rs["backup_id"] != inc || rs["volume_name"] != "restored" {
		t.Fatalf("restore answer %v", rs)
	}
	nv := waitStatus(t, demo, rs["volume_id"].(string), "available", "error", "error_restoring")
	if nv.Status != "available" || nv.Size != 1 || nv.Metadata["kept"] != "yes" || read(nv.ID, 300<<20, 5) != "first" || read(nv.ID, 700<<20, 6) != "second" {
		t.Fatalf("restored volume %+v", nv)
	}
	waitBackup(t, demo, inc, "available")
	// Restore the full one over an existing volume: the later write is gone.
	other := create(`{"volume": {"size": 1}}`)
	write(other, "junk!!", 700<<20)
	if st, body, _ := raw(t, demo, "POST", "/backups/"+full+"/restore", `{"restore": {"volume_id": "`+other+`"}}`); st != 202 {
		t.Fatalf("restore to existing %d %v", st, body)
	}
	waitBackup(t, demo, full, "available")
	if v := waitStatus(t, demo, other, "available", "error_restoring"); v.Status != "available" || read(other, 300<<20, 5) != "first" || read(other, 700<<20, 6) != "\x00\x00\x00\x00\x00\x00" {
		t.Fatalf("restored over an existing volume: %s %q", v.Status, read(other, 700<<20, 6))
	}

	// Refusals.
	for _, act := range []string{`{"os-reserve": null}`, `{"os-attach": {"instance_uuid": "0b7e6c1e-1111-4222-8333-444455556666", "mountpoint": "/dev/vdb"}}`} {
		if st, body, _ := raw(t, demo, "POST", "/volumes/"+other+"/action", act); st != 202 {
			t.Fatalf("%s: %d %v", act, st, body)
		}
	}
	waitStatus(t, demo, other, "in-use")
	for _, bad := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/backups", `{"backup": {"volume_id": "` + other + `"}}`, 400},
		{"POST", "/backups", `{"backup": {"volume_id": "3c4f5e1a-0000-4000-8000-000000000000"}}`, 404},
		{"POST", "/backups", `{"backup": {"volume_id": "not-a-uuid"}}`, 400},
		{"POST", "/backups", `{"backup": {}}`, 400},
		{"POST", "/backups", `{"backup": {"volume_id": "` + nv.ID + `", "incremental": true}}`, 400},
		{"POST", "/backups/" + full + "/restore", `{"restore": {"volume_id": "` + other + `"}}`, 400},
		{"GET", "/backups/3c4f5e1a-0000-4000-8000-000000000000", "", 404},
		{"DELETE", "/backups/3c4f5e1a-0000-4000-8000-000000000000", "", 404},
		{"POST", "/backups/" + full + "/action", `{"os-reset_status": {"status": "error"}}`, 403},
	} {
		if st, body, _ := raw(t, demo, bad.method, bad.path, bad.body); st != bad.status {
			t.Errorf("%s %s %s: %d %v, want %d", bad.method, bad.path, bad.body, st, body, bad.status)
		}
	}
	// In use, with force: the volume stays in-use.
	forced := backup(`{"backup": {"volume_id": "` + other + `", "force": true}}`)
	waitBackup(t, demo, forced, "available")
	if v := waitStatus(t, demo, other, "in-use"); v.Status != "in-use" {
		t.Fatal(v.Status)
	}
	// Quota: three backups exist; a limit of three refuses a fourth.
	project := waitStatus(t, demo, vol, "available").TenantID
	if st, body, _ := raw(t, admin, "PUT", "/os-quota-sets/"+project, `{"quota_set": {"backups": 3}}`); st != 200 {
		t.Fatalf("set quota %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "POST", "/backups", `{"backup": {"volume_id": "`+vol+`"}}`); st != 413 || body["overLimit"] == nil {
		t.Fatalf("over the backups quota: %d %v", st, body)
	}
	if st, body, _ := raw(t, demo, "GET", "/os-quota-sets/"+project+"?usage=true", ""); st != 200 || body["quota_set"].(map[string]any)["backups"].(map[string]any)["in_use"] != 3.0 {
		t.Fatalf("quota usage %d %v", st, body)
	}
	// Export the full backup's record and import it under another id
	// (as tempest does): the import shares the data; deleting it keeps the
	// data for the original.
	st, body, _ = raw(t, admin, "GET", "/backups/"+full+"/export_record", "")
	if st != 200 {
		t.Fatalf("export %d %v", st, body)
	}
	rec := body["backup-record"].(map[string]any)
	url, _ := base64.StdEncoding.DecodeString(rec["backup_url"].(string))
	var fields map[string]any
	json.Unmarshal(url, &fields)
	fields["id"] = "5d1f7a3e-6b7c-4d8e-9f00-112233445566"
	url, _ = json.Marshal(fields)
	imp := `{"backup-record": {"backup_service": "` + rec["backup_service"].(string) + `", "backup_url": "` + base64.StdEncoding.EncodeToString(url) + `"}}`
	if st, body, _ := raw(t, admin, "POST", "/backups/import_record", imp); st != 201 || body["backup"].(map[string]any)["id"] != fields["id"] {
		t.Fatalf("import %d %v", st, body)
	}
	waitBackup(t, admin, fields["id"].(string), "available")
	if st, _, _ := raw(t, admin, "POST", "/backups/import_record", imp); st != 400 {
		t.Fatalf("second import %d", st)
	}
	if st, _, _ := raw(t, demo, "GET", "/backups/"+full+"/export_record", ""); st != 403 {
		t.Fatalf("export as a user %d", st)
	}
	if st, _, _ := raw(t, admin, "DELETE", "/backups/"+fields["id"].(string), ""); st != 202 {
		t.Fatalf("delete the import %d", st)
	}
	testkit.Eventually(t, 10*time.Second, func() bool {
		st, _, _ := raw(t, admin, "GET", "/backups/"+fields["id"].(string), "")
		return st == 404
	}, "imported backup never went away")
	if _, err := os.Stat(filepath.Join(repo, full, "manifest.json")); err != nil {
		t.Fatalf("deleting the import removed the original's data: %v", err)
	}
	// List and delete, children first.
	if st, body, _ := raw(t, demo, "GET", "/backups/detail?volume_id="+vol, ""); st != 200 || len(body["backups"].([]any)) != 2 {
		t.Fatalf("list %d %v", st, body)
	}
	for _, id := range []string{forced, inc, full} {
		if st, body, _ := raw(t, demo, "DELETE", "/backups/"+id, ""); st != 202 {
			t.Fatalf("delete %s: %d %v", id, st, body)
		}
		testkit.Eventually(t, 10*time.Second, func() bool {
			st, _, _ := raw(t, demo, "GET", "/backups/"+id, "")
			return st == 404
		}, "backup %s never went away", id)
	}
	if ents, _ := os.ReadDir(repo); len(ents) != 0 {
		t.Fatalf("repository not empty: %v", ents)
	}
}

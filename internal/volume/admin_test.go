package volume_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminExtensions drives the smaller admin APIs as tempest does:
// os-hosts, capabilities, the os-services host filter (a host matches its
// backends), the 404s of an empty id, force-detach and backups of
// snapshots.
func TestAdminExtensions(t *testing.T) {
	c := startCloud(t, "4G")
	demo := c.Client(t, "demo", "demo", "volumev3")
	admin := c.Client(t, "admin", "admin", "volumev3")

	// An empty id is no route (Cinder's mapper answers 404, not 405).
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		body := ""
		if m == "PUT" {
			body = `{"volume": {"name": "x"}}`
		}
		if st, b, _ := raw(t, demo, m, "/volumes/", body); st != 404 || b["itemNotFound"] == nil {
			t.Errorf("%s /volumes/: %d %v", m, st, b)
		}
	}

	st, b, _ := raw(t, admin, "GET", "/os-services?binary=cinder-volume", "")
	svcs, _ := b["services"].([]any)
	if st != 200 || len(svcs) != 1 {
		t.Fatalf("os-services %d %v", st, b)
	}
	backend := svcs[0].(map[string]any)["host"].(string) // host@backend
	host := strings.SplitN(backend, "@", 2)[0]
	for _, f := range []string{host, backend} {
		st, b, _ := raw(t, admin, "GET", "/os-services?binary=cinder-volume&host="+f, "")
		if got, _ := b["services"].([]any); st != 200 || len(got) != 1 {
			t.Errorf("os-services host=%s: %d %v", f, st, b)
		}
	}
	if _, b, _ := raw(t, admin, "GET", "/os-services?host="+host+"x", ""); len(b["services"].([]any)) != 0 {
		t.Errorf("a host prefix matched: %v", b)
	}

	st, b, _ = raw(t, admin, "GET", "/os-hosts", "")
	hosts, _ := b["hosts"].([]any)
	if st != 200 || len(hosts) < 2 {
		t.Fatalf("os-hosts %d %v", st, b)
	}
	if st, _, _ := raw(t, demo, "GET", "/os-hosts", ""); st != 403 {
		t.Errorf("os-hosts as a member: %d", st)
	}

	st, b, _ = raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1}}`)
	if st != 202 {
		t.Fatalf("create %d %v", st, b)
	}
	vol := waitStatus(t, demo, b["volume"].(map[string]any)["id"].(string), "available").ID
	st, b, _ = raw(t, admin, "GET", "/os-hosts/"+backend, "")
	res, _ := b["host"].([]any)
	if st != 200 || len(res) != 2 {
		t.Fatalf("os-hosts/%s %d %v", backend, st, b)
	}
	if tot := res[0].(map[string]any)["resource"].(map[string]any); tot["project"] != "(total)" || tot["volume_count"] != "1" || tot["total_volume_gb"] != "1" {
		t.Errorf("host total %v", tot)
	}
	if st, _, _ := raw(t, admin, "GET", "/os-hosts/nowhere", ""); st != 404 {
		t.Errorf("unknown host %d", st)
	}
	if st, _, _ := raw(t, admin, "PUT", "/os-hosts/"+backend, `{"status": "disable"}`); st != 501 {
		t.Errorf("os-hosts update %d", st)
	}
	if st, _, _ := raw(t, admin, "PUT", "/os-hosts/"+backend, `{"state": "x"}`); st != 400 {
		t.Errorf("os-hosts bad update %d", st)
	}

	_, b, _ = raw(t, admin, "GET", "/scheduler-stats/get_pools?detail=true", "")
	pool := b["pools"].([]any)[0].(map[string]any)
	st, caps, _ := raw(t, admin, "GET", "/capabilities/"+pool["name"].(string), "")
	pc := pool["capabilities"].(map[string]any)
	if st != 200 || caps["vendor_name"] != pc["vendor_name"] || caps["storage_protocol"] != pc["storage_protocol"] ||
		caps["volume_backend_name"] != pc["volume_backend_name"] || caps["namespace"] != "OS::Storage::Capabilities::"+backend {
		t.Fatalf("capabilities %d %v (pool %v)", st, caps, pc)
	}
	if st, _, _ := raw(t, admin, "GET", "/capabilities/nowhere@x", ""); st != 404 {
		t.Errorf("capabilities of an unknown backend %d", st)
	}

	// Force-detach a volume left in error with an attachment.
	if st, b, _ := raw(t, demo, "POST", "/volumes/"+vol+"/action", `{"os-attach": {"instance_uuid": "0b1a3a56-7d8e-4c5a-9c3e-6a1f8c2b9d10", "mountpoint": "/dev/vdb"}}`); st != 202 {
		t.Fatalf("attach %d %v", st, b)
	}
	waitStatus(t, demo, vol, "in-use")
	if st, _, _ := raw(t, admin, "POST", "/volumes/"+vol+"/action", `{"os-reset_status": {"status": "error"}}`); st != 202 {
		t.Fatalf("reset %d", st)
	}
	if st, _, _ := raw(t, demo, "POST", "/volumes/"+vol+"/action", `{"os-force_detach": {}}`); st != 403 {
		t.Errorf("force-detach as a member %d", st)
	}
	if st, b, _ := raw(t, admin, "POST", "/volumes/"+vol+"/action", `{"os-force_detach": {"attachment_id": "nope"}}`); st != 400 {
		t.Errorf("force-detach of an unknown attachment %d %v", st, b)
	}
	_, b, _ = raw(t, admin, "GET", "/volumes/"+vol, "")
	att := b["volume"].(map[string]any)["attachments"].([]any)[0].(map[string]any)["attachment_id"].(string)
	if st, b, _ := raw(t, admin, "POST", "/volumes/"+vol+"/action", `{"os-force_detach": {"attachment_id": "`+att+`", "connector": null}}`); st != 202 {
		t.Fatalf("force-detach %d %v", st, b)
	}
	if v := waitStatus(t, demo, vol, "available"); len(v.Attachments) != 0 {
		t.Fatalf("attachments after force-detach %v", v.Attachments)
	}

	// A backup of a snapshot reads the snapshot, not the volume.
	dir := filepath.Join(c.DataDir, "cinder-volume", "volumes")
	writeAt(t, filepath.Join(dir, "volume-"+vol), "snapped", 1<<20)
	st, b, _ = raw(t, demo, "POST", "/snapshots", `{"snapshot": {"volume_id": "`+vol+`"}}`)
	if st != 202 {
		t.Fatalf("snapshot %d %v", st, b)
	}
	snap := b["snapshot"].(map[string]any)["id"].(string)
	waitSnapshot(t, demo, snap, "available")
	writeAt(t, filepath.Join(dir, "volume-"+vol), "changed", 1<<20)
	if st, b, _ := raw(t, demo, "POST", "/backups", `{"backup": {"volume_id": "`+vol+`", "snapshot_id": "00000000-0000-4000-8000-000000000000"}}`); st != 404 {
		t.Errorf("backup of a missing snapshot %d %v", st, b)
	}
	st, b, _ = raw(t, demo, "POST", "/backups", `{"backup": {"volume_id": "`+vol+`", "snapshot_id": "`+snap+`"}}`)
	if st != 202 {
		t.Fatalf("backup of a snapshot %d %v", st, b)
	}
	bk := waitBackup(t, demo, b["backup"].(map[string]any)["id"].(string), "available", "error")
	if bk["status"] != "available" || bk["snapshot_id"] != snap || bk["volume_id"] != vol {
		t.Fatalf("backup %v", bk)
	}
	waitSnapshot(t, demo, snap, "available")
	st, b, _ = raw(t, demo, "POST", "/backups/"+bk["id"].(string)+"/restore", `{"restore": {"volume_id": "`+vol+`"}}`)
	if st != 202 {
		t.Fatalf("restore %d %v", st, b)
	}
	waitBackup(t, demo, bk["id"].(string), "available")
	waitStatus(t, demo, vol, "available")
	if got := readAt(t, filepath.Join(dir, "volume-"+vol), 1<<20, 7); got != "snapped" {
		t.Fatalf("restored data %q, want the snapshot's", got)
	}
}

func writeAt(t *testing.T, path, s string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(s), off); err != nil {
		t.Fatal(err)
	}
}

func readAt(t *testing.T, path string, off int64, n int) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	f.ReadAt(b, off)
	return string(b)
}

// TestQuotaClasses: the default quota class sets every project's
// defaults, per-type quotas appear for every volume type and are
// enforced.
func TestQuotaClasses(t *testing.T) {
	c := startCloud(t, "4G")
	demo := c.Client(t, "demo", "demo", "volumev3")
	admin := c.Client(t, "admin", "admin", "volumev3")
	st, b, _ := raw(t, admin, "GET", "/os-quota-class-sets/default", "")
	qc, _ := b["quota_class_set"].(map[string]any)
	if st != 200 || qc["id"] != "default" || qc["volumes"] == nil || qc["volumes___DEFAULT__"] != -1.0 {
		t.Fatalf("quota class %d %v", st, b)
	}
	if st, _, _ := raw(t, demo, "GET", "/os-quota-class-sets/default", ""); st != 403 {
		t.Errorf("quota class as a member %d", st)
	}
	st, b, _ = raw(t, admin, "POST", "/types", `{"volume_type": {"name": "gold"}}`)
	if st != 200 {
		t.Fatalf("type %d %v", st, b)
	}
	st, b, _ = raw(t, admin, "PUT", "/os-quota-class-sets/default", `{"quota_class_set": {"volumes": 7, "volumes_gold": 1, "gigabytes_gold": "3", "bogus": 1}}`)
	qc, _ = b["quota_class_set"].(map[string]any)
	if st != 200 || qc["volumes"] != 7.0 || qc["volumes_gold"] != 1.0 || qc["gigabytes_gold"] != 3.0 || qc["id"] != nil || qc["bogus"] != nil {
		t.Fatalf("update quota class %d %v", st, b)
	}
	if st, _, _ := raw(t, admin, "PUT", "/os-quota-class-sets/default", `{"quota_class_set": {"volumes": -2}}`); st != 400 {
		t.Errorf("a limit below -1: %d", st)
	}
	project := demo.ResourceBaseURL()
	project = project[strings.LastIndex(strings.TrimSuffix(project, "/"), "/")+1:]
	project = strings.TrimSuffix(project, "/")
	_, b, _ = raw(t, demo, "GET", "/os-quota-sets/"+project+"/defaults", "")
	if d := b["quota_set"].(map[string]any); d["volumes"] != 7.0 || d["volumes_gold"] != 1.0 {
		t.Fatalf("defaults after the class update %v", d)
	}
	st, b, _ = raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1, "volume_type": "gold"}}`)
	if st != 202 {
		t.Fatalf("first gold volume %d %v", st, b)
	}
	waitStatus(t, demo, b["volume"].(map[string]any)["id"].(string), "available")
	if st, b, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1, "volume_type": "gold"}}`); st != 413 || !strings.Contains(b["overLimit"].(map[string]any)["message"].(string), "volumes_gold") {
		t.Fatalf("second gold volume over volumes_gold: %d %v", st, b)
	}
	if st, _, _ := raw(t, demo, "POST", "/volumes", `{"volume": {"size": 1}}`); st != 202 {
		t.Fatalf("a volume of another type: %d", st)
	}
	_, b, _ = raw(t, demo, "GET", "/os-quota-sets/"+project+"?usage=true", "")
	if u := b["quota_set"].(map[string]any)["volumes_gold"].(map[string]any); u["in_use"] != 1.0 || u["limit"] != 1.0 {
		t.Fatalf("usage of volumes_gold %v", u)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/compute"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// TestManageService lists, disables and enables Nova's services in a SQLite
// data directory, and refuses a service that does not exist.
func TestManageService(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "nova.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, compute.Migrations); err != nil {
		t.Fatal(err)
	}
	st := cstore.New(db)
	for _, h := range []string{"node1", "node2"} {
		if _, err := st.Heartbeat(ctx, h, "nova-compute", "compute", 1, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Heartbeat(ctx, "ctl1", "nova-conductor", "conductor", 1, true); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A nova.conf with a 1 h service_down_time: all are up.
	os.MkdirAll(filepath.Join(dir, "etc"), 0o700)
	os.WriteFile(filepath.Join(dir, "etc", "nova.conf"), []byte("[DEFAULT]\nservice_down_time = 3600\n"), 0o600)

	run := func(args ...string) (string, error) {
		cmd := serviceCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append(args, "--data-dir", dir))
		err := cmd.Execute()
		return out.String(), err
	}
	row := func(out, host string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, " "+host+" ") {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		return ""
	}
	out, err := run("list")
	if err != nil {
		t.Fatal(err, out)
	}
	for _, h := range []string{"node1", "node2", "ctl1"} {
		if r := row(out, h); !strings.Contains(r, " enabled up ") {
			t.Errorf("%s: %q in\n%s", h, r, out)
		}
	}
	if out, err := run("disable", "node1", "nova-compute", "--reason", "disk swap"); err != nil || !strings.Contains(out, "is disabled") {
		t.Fatalf("disable: %v %s", err, out)
	}
	out, _ = run("list", "--binary", "nova-compute")
	if r := row(out, "node1"); !strings.Contains(r, " disabled up ") || !strings.HasSuffix(r, "disk swap") {
		t.Errorf("node1 after disable: %q", r)
	}
	if r := row(out, "node2"); !strings.Contains(r, " enabled ") {
		t.Errorf("node2 changed: %q", r)
	}
	if row(out, "ctl1") != "" {
		t.Errorf("--binary did not filter:\n%s", out)
	}
	if out, err := run("enable", "node1", "nova-compute"); err != nil || !strings.Contains(out, "is enabled") {
		t.Fatalf("enable: %v %s", err, out)
	}
	out, _ = run("list", "--host", "node1")
	if r := row(out, "node1"); !strings.Contains(r, " enabled up") || strings.Contains(r, "disk swap") {
		t.Errorf("node1 after enable: %q", r)
	}
	if _, err := run("disable", "node9", "nova-compute"); err == nil || !strings.Contains(err.Error(), "no service nova-compute on host node9") {
		t.Errorf("unknown host: %v", err)
	}
	// service_down_time is read from nova.conf: at 1 s, records 10 s old are down.
	os.WriteFile(filepath.Join(dir, "etc", "nova.conf"), []byte("[DEFAULT]\nreport_interval = 1\nservice_down_time = 1\n"), 0o600)
	db, _ = store.Open(ctx, "sqlite://"+filepath.Join(dir, "nova.db"))
	db.Exec(ctx, "UPDATE services SET last_seen_up = ?", store.TimeOf(store.Now().Add(-10e9)))
	db.Close()
	out, _ = run("list")
	if r := row(out, "node2"); !strings.Contains(r, " enabled down ") {
		t.Errorf("stale node2: %q", r)
	}
}

package computetest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
)

func action(t *testing.T, c *computetest.Cloud, token, version, id string, body map[string]any, out any) int {
	t.Helper()
	code, err := c.Do(context.Background(), "POST", "/v2.1/servers/"+id+"/action", token, version, body, out)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func bootActive(t *testing.T, c *computetest.Cloud, name string) string {
	t.Helper()
	id, code := create(t, c, computetest.DemoToken, map[string]any{"name": name, "imageRef": c.Image.ID, "flavorRef": "1",
		"networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
	if code != 202 {
		t.Fatalf("create %s: %d", name, code)
	}
	waitStatus(t, c, id, "ACTIVE")
	return id
}

func TestPowerActions(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	id := bootActive(t, c, "power")
	demo := computetest.DemoToken
	steps := []struct {
		body   map[string]any
		code   int
		status string
		power  int
	}{
		{map[string]any{"reboot": map[string]any{"type": "SOFT"}}, 202, "ACTIVE", 1},
		{map[string]any{"reboot": map[string]any{"type": "HARD"}}, 202, "ACTIVE", 1},
		{map[string]any{"os-stop": nil}, 202, "SHUTOFF", 4},
		{map[string]any{"os-stop": nil}, 409, "SHUTOFF", 4},
		{map[string]any{"reboot": map[string]any{"type": "SOFT"}}, 409, "SHUTOFF", 4},
		{map[string]any{"os-start": nil}, 202, "ACTIVE", 1},
		{map[string]any{"pause": nil}, 202, "PAUSED", 3},
		{map[string]any{"suspend": nil}, 409, "PAUSED", 3},
		{map[string]any{"unpause": nil}, 202, "ACTIVE", 1},
		{map[string]any{"suspend": nil}, 202, "SUSPENDED", 7},
		{map[string]any{"resume": nil}, 202, "ACTIVE", 1},
		{map[string]any{"rescue": nil}, 200, "RESCUE", 1},
		{map[string]any{"unrescue": nil}, 202, "ACTIVE", 1},
		{map[string]any{"reboot": map[string]any{"type": "bogus"}}, 400, "ACTIVE", 1},
		{map[string]any{"nosuchaction": nil}, 404, "ACTIVE", 1},
	}
	for i, st := range steps {
		if code := action(t, c, demo, "2.93", id, st.body, nil); code != st.code {
			t.Fatalf("step %d %v: %d, want %d", i, st.body, code, st.code)
		}
		var s server
		eventually(t, 10*time.Second, "step settles", func() bool {
			s = show(t, c, id)
			return s.TaskState == nil
		})
		if s.Status != st.status || s.Power != st.power {
			t.Fatalf("step %d %v: %s/%d, want %s/%d", i, st.body, s.Status, s.Power, st.status, st.power)
		}
	}
	evs := events(t, c, id, "reboot")
	if result(evs, "compute_reboot_instance") != "Success" {
		t.Fatalf("reboot events: %+v", evs)
	}
	// Console output: the last lines.
	var out struct {
		Output string `json:"output"`
	}
	if code := action(t, c, demo, "", id, map[string]any{"os-getConsoleOutput": map[string]any{"length": 3}}, &out); code != 200 || !strings.Contains(out.Output, "login:") || len(strings.Split(out.Output, "\n")) != 3 {
		t.Fatalf("console: %d %q", code, out.Output)
	}
	// Lock: the owner cannot act, an admin can; unlock.
	if code := action(t, c, demo, "2.73", id, map[string]any{"lock": map[string]any{"locked_reason": "maintenance"}}, nil); code != 202 {
		t.Fatalf("lock: %d", code)
	}
	if code := action(t, c, demo, "", id, map[string]any{"os-stop": nil}, nil); code != 409 {
		t.Fatalf("stop of a locked server: %d", code)
	}
	var locked struct {
		Server struct {
			Locked bool    `json:"locked"`
			Reason *string `json:"locked_reason"`
		} `json:"server"`
	}
	c.Do(context.Background(), "GET", "/v2.1/servers/"+id, demo, "2.73", nil, &locked)
	if !locked.Server.Locked || locked.Server.Reason == nil || *locked.Server.Reason != "maintenance" {
		t.Fatalf("lock view: %+v", locked)
	}
	if code := action(t, c, demo, "", id, map[string]any{"unlock": nil}, nil); code != 202 {
		t.Fatalf("unlock: %d", code)
	}
	// Reset state (admin only).
	if code := action(t, c, demo, "", id, map[string]any{"os-resetState": map[string]any{"state": "error"}}, nil); code != 403 {
		t.Fatalf("demo reset state: %d", code)
	}
	if code := action(t, c, computetest.AdminToken, "", id, map[string]any{"os-resetState": map[string]any{"state": "error"}}, nil); code != 202 {
		t.Fatalf("reset state: %d", code)
	}
	if s := show(t, c, id); s.Status != "ERROR" {
		t.Fatalf("after reset: %s", s.Status)
	}
	// Change password.
	action(t, c, computetest.AdminToken, "", id, map[string]any{"os-resetState": map[string]any{"state": "active"}}, nil)
	if code := action(t, c, demo, "", id, map[string]any{"changePassword": map[string]any{"adminPass": "s3cret"}}, nil); code != 202 {
		t.Fatalf("change password: %d", code)
	}
}

func TestResizeConfirmAndRevert(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	id := bootActive(t, c, "resizer")
	demo := computetest.DemoToken
	if code := action(t, c, demo, "", id, map[string]any{"resize": map[string]any{"flavorRef": "1"}}, nil); code != 400 {
		t.Fatalf("resize to the same flavor: %d", code)
	}
	if code := action(t, c, demo, "", id, map[string]any{"resize": map[string]any{"flavorRef": "2"}}, nil); code != 202 {
		t.Fatalf("resize: %d", code)
	}
	waitStatus(t, c, id, "VERIFY_RESIZE")
	u, _ := c.Store.Usage(context.Background(), computetest.DemoProject, "")
	if u["ram"] != 2048 {
		t.Fatalf("usage while resized: %v", u)
	}
	if code := action(t, c, demo, "", id, map[string]any{"confirmResize": nil}, nil); code != 204 {
		t.Fatalf("confirm: %d", code)
	}
	waitStatus(t, c, id, "ACTIVE")
	var f struct {
		Server struct {
			Flavor map[string]any `json:"flavor"`
		} `json:"server"`
	}
	c.Do(context.Background(), "GET", "/v2.1/servers/"+id, demo, "2.93", nil, &f)
	if f.Server.Flavor["original_name"] != "m1.small" {
		t.Fatalf("flavor after confirm: %v", f.Server.Flavor)
	}
	nodes, _ := c.Store.Nodes(context.Background(), "compute1")
	if nodes[0].MemoryMBUsed != 2048 {
		t.Fatalf("node usage after confirm: %d", nodes[0].MemoryMBUsed)
	}
	// Resize down and revert: back to m1.small, the tiny claim gone.
	if code := action(t, c, demo, "", id, map[string]any{"resize": map[string]any{"flavorRef": "42"}}, nil); code != 400 {
		t.Fatalf("resize to a smaller disk: %d", code)
	}
	if code := action(t, c, demo, "", id, map[string]any{"resize": map[string]any{"flavorRef": "3"}}, nil); code != 202 {
		t.Fatalf("resize 2: %d", code)
	}
	waitStatus(t, c, id, "VERIFY_RESIZE")
	if code := action(t, c, demo, "", id, map[string]any{"revertResize": nil}, nil); code != 202 {
		t.Fatalf("revert: %d", code)
	}
	waitStatus(t, c, id, "ACTIVE")
	c.Do(context.Background(), "GET", "/v2.1/servers/"+id, demo, "2.93", nil, &f)
	if f.Server.Flavor["original_name"] != "m1.small" {
		t.Fatalf("flavor after revert: %v", f.Server.Flavor)
	}
	nodes, _ = c.Store.Nodes(context.Background(), "compute1")
	u, _ = c.Store.Usage(context.Background(), computetest.DemoProject, "")
	if nodes[0].MemoryMBUsed != 2048 || u["ram"] != 2048 || u["cores"] != 1 {
		t.Fatalf("after revert: node %d, usage %v", nodes[0].MemoryMBUsed, u)
	}
	if code := action(t, c, demo, "", id, map[string]any{"confirmResize": nil}, nil); code != 409 {
		t.Fatalf("confirm without a resize: %d", code)
	}
	var migs struct {
		Migrations []map[string]any `json:"migrations"`
	}
	if code, _ := c.Do(context.Background(), "GET", "/v2.1/os-migrations", computetest.AdminToken, "2.93", nil, &migs); code == 200 {
		if len(migs.Migrations) != 2 {
			t.Fatalf("migrations: %v", migs)
		}
	}
}

func TestSnapshotShelveRebuild(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	id := bootActive(t, c, "snap")
	demo := computetest.DemoToken
	var img struct {
		ImageID string `json:"image_id"`
	}
	if code := action(t, c, demo, "2.45", id, map[string]any{"createImage": map[string]any{"name": "snap1", "metadata": map[string]any{"k": "v"}}}, &img); code != 202 || img.ImageID == "" {
		t.Fatalf("create image: %d %+v", code, img)
	}
	eventually(t, 10*time.Second, "the snapshot to be active", func() bool {
		m, err := c.Images.Get(context.Background(), img.ImageID)
		return err == nil && m.Status == "active" && m.Properties["instance_uuid"] == id && m.Properties["k"] == "v"
	})
	waitStatus(t, c, id, "ACTIVE")
	// Rebuild from the snapshot.
	var rb struct {
		Server map[string]any `json:"server"`
	}
	if code := action(t, c, demo, "2.93", id, map[string]any{"rebuild": map[string]any{"imageRef": img.ImageID, "name": "rebuilt"}}, &rb); code != 202 {
		t.Fatalf("rebuild: %d", code)
	}
	if rb.Server["adminPass"] == nil || rb.Server["name"] != "rebuilt" {
		t.Fatalf("rebuild response: %v", rb.Server)
	}
	waitStatus(t, c, id, "ACTIVE")
	// Shelve (offloaded at once) and unshelve.
	if code := action(t, c, demo, "", id, map[string]any{"shelve": nil}, nil); code != 202 {
		t.Fatalf("shelve: %d", code)
	}
	s := waitStatus(t, c, id, "SHELVED_OFFLOADED")
	if s.Host != nil || fakeOf(c, "compute1").Has(id) {
		t.Fatalf("offloaded server still on a host: %+v", s)
	}
	if code := action(t, c, demo, "", id, map[string]any{"unshelve": nil}, nil); code != 202 {
		t.Fatalf("unshelve: %d", code)
	}
	s = waitStatus(t, c, id, "ACTIVE")
	if s.Host == nil || !fakeOf(c, "compute1").Has(id) || len(s.Addresses["private"]) != 1 {
		t.Fatalf("unshelved: %+v", s)
	}
}

func TestMigrationsBetweenHosts(t *testing.T) {
	c := start(t, fakeOpts{Hosts: []string{"h1", "h2"}, PortStatus: "ACTIVE"})
	id := bootActive(t, c, "mover")
	admin := computetest.AdminToken
	src := *show(t, c, id).Host
	other := map[string]string{"h1": "h2", "h2": "h1"}[src]

	// Live migration to the other host.
	if code := action(t, c, admin, "2.93", id, map[string]any{"os-migrateLive": map[string]any{"host": other, "block_migration": "auto"}}, nil); code != 202 {
		t.Fatalf("live migrate: %d", code)
	}
	var s server
	eventually(t, 10*time.Second, "the live migration", func() bool {
		s = show(t, c, id)
		return s.TaskState == nil && s.Host != nil && *s.Host == other
	})
	if s.Status != "ACTIVE" || !fakeOf(c, other).Has(id) || fakeOf(c, src).Has(id) {
		t.Fatalf("after live migration: %+v on %s: %v, %s: %v", s, other, fakeOf(c, other).Has(id), src, fakeOf(c, src).Has(id))
	}
	// Cold migration back, then confirm.
	if code := action(t, c, admin, "2.56", id, map[string]any{"migrate": map[string]any{"host": src}}, nil); code != 202 {
		t.Fatalf("migrate: %d", code)
	}
	waitStatus(t, c, id, "VERIFY_RESIZE")
	if code := action(t, c, computetest.DemoToken, "", id, map[string]any{"confirmResize": nil}, nil); code != 204 {
		t.Fatalf("confirm: %d", code)
	}
	s = waitStatus(t, c, id, "ACTIVE")
	if *s.Host != src || fakeOf(c, other).Has(id) {
		t.Fatalf("after cold migration: %+v", s)
	}
	// Evacuation needs the host down: refused while it is up.
	if code := action(t, c, admin, "2.93", id, map[string]any{"evacuate": map[string]any{}}, nil); code != 409 {
		t.Fatalf("evacuate from a live host: %d", code)
	}
	ctx := context.Background()
	c.StopAgent(ctx, src)
	var svcs struct {
		Services []struct {
			ID   string `json:"id"`
			Host string `json:"host"`
		} `json:"services"`
	}
	c.Do(ctx, "GET", "/v2.1/os-services?binary=nova-compute", admin, "2.93", nil, &svcs)
	for _, sv := range svcs.Services {
		if sv.Host == src {
			if code, _ := c.Do(ctx, "PUT", "/v2.1/os-services/"+sv.ID, admin, "2.93", map[string]any{"forced_down": true}, nil); code != 200 {
				t.Fatalf("force down: %d", code)
			}
		}
	}
	if code := action(t, c, admin, "2.93", id, map[string]any{"evacuate": map[string]any{}}, nil); code != 200 {
		t.Fatalf("evacuate: %d", code)
	}
	eventually(t, 10*time.Second, "the evacuation", func() bool {
		s = show(t, c, id)
		return s.TaskState == nil && s.Host != nil && *s.Host == other && s.Status == "ACTIVE"
	})
	// The old host, back, removes its stale guest.
	c.StartAgent(ctx, src)
	if fakeOf(c, src).Has(id) || !fakeOf(c, other).Has(id) {
		t.Fatalf("after the old host came back: src %v other %v", fakeOf(c, src).Has(id), fakeOf(c, other).Has(id))
	}
}

package computetest_test

import (
	"context"
	"testing"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
)

// A server group hint is resolved in the caller's project: another
// project's member cannot boot into demo's group (400, as for an unknown
// group), while an admin may name any group.
func TestGroupHintIsScopedToTheProject(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	ctx := context.Background()
	var sg struct {
		Group struct {
			ID string `json:"id"`
		} `json:"server_group"`
	}
	if code, err := c.Do(ctx, "POST", "/v2.1/os-server-groups", computetest.DemoToken, "2.64",
		map[string]any{"server_group": map[string]any{"name": "g", "policy": "anti-affinity"}}, &sg); err != nil || code != 200 {
		t.Fatalf("create group: %d %v", code, err)
	}
	boot := func(token string) int {
		t.Helper()
		body := map[string]any{"server": map[string]any{"name": "intruder", "imageRef": c.Image.ID, "flavorRef": "1", "networks": "none"},
			"os:scheduler_hints": map[string]any{"group": sg.Group.ID}}
		var out map[string]any
		code, err := c.Do(ctx, "POST", "/v2.1/servers", token, "2.93", body, &out)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	if code := boot(computetest.AltToken); code != 400 {
		t.Fatalf("another project's boot into the group: %d, want 400", code)
	}
	if code := boot(computetest.AdminToken); code != 202 {
		t.Fatalf("admin's boot into the group: %d, want 202", code)
	}
	if code := boot(computetest.DemoToken); code != 202 {
		t.Fatalf("owner's boot into the group: %d, want 202", code)
	}
}

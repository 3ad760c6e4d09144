package identity

import (
	"testing"
)

func TestUnifiedLimits(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	system := c.login("admin", adminPW, `,"scope":{"system":{"all":true}}`)
	projectAdmin := c.login("admin", adminPW, adminScope())
	demo := c.login("demo", demoPW, "")
	sn, _ := c.svc.snapshot(t.Context())
	var svcID, demoProject, adminProject string
	for _, s := range sn.services {
		if s.Type == "identity" {
			svcID = s.ID
		}
	}
	for _, p := range sn.projects {
		switch p.Name {
		case "demo":
			demoProject = p.ID
		case "admin":
			adminProject = p.ID
		}
	}
	reg := `{"registered_limits":[{"service_id":"` + svcID + `","region_id":"RegionOne","resource_name":"widgets","default_limit":10}]}`
	if st, _, b := c.call("POST", "/v3/registered_limits", projectAdmin, reg); st != 403 {
		t.Fatalf("project admin registered a limit: %d %v", st, b)
	}
	st, _, body := c.call("POST", "/v3/registered_limits", system, reg)
	if st != 201 {
		t.Fatalf("registered limit: %d %v", st, body)
	}
	regID := body["registered_limits"].([]any)[0].(map[string]any)["id"].(string)
	if st, _, _ := c.call("POST", "/v3/registered_limits", system, reg); st != 409 {
		t.Fatalf("duplicate registered limit: %d", st)
	}
	lim := func(project, resource string) string {
		return `{"limits":[{"project_id":"` + project + `","service_id":"` + svcID + `","region_id":"RegionOne","resource_name":"` + resource + `","resource_limit":5}]}`
	}
	if st, _, _ := c.call("POST", "/v3/limits", system, lim(demoProject, "gadgets")); st != 403 {
		t.Fatalf("limit without a registered limit: %d", st)
	}
	for _, p := range []string{demoProject, adminProject} {
		if st, _, b := c.call("POST", "/v3/limits", system, lim(p, "widgets")); st != 201 {
			t.Fatalf("limit: %d %v", st, b)
		}
	}
	// A project sees its own limits only; the system sees all.
	_, _, body = c.call("GET", "/v3/limits", demo, "")
	if l := body["limits"].([]any); len(l) != 1 || l[0].(map[string]any)["project_id"] != demoProject {
		t.Fatalf("demo's limits: %v", body)
	}
	_, _, body = c.call("GET", "/v3/limits?resource_name=widgets", system, "")
	if l := body["limits"].([]any); len(l) != 2 {
		t.Fatalf("system's limits: %v", body)
	}
	if st, _, _ := c.call("DELETE", "/v3/registered_limits/"+regID, system, ""); st != 403 {
		t.Fatalf("registered limit in use deleted: %d", st)
	}
	if st, _, b := c.call("GET", "/v3/limits/model", demo, ""); st != 200 || b["model"].(map[string]any)["name"] != "flat" {
		t.Fatalf("model: %d %v", st, b)
	}
}

package dashboard_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestManageMembers gives and takes roles on a project to a user and a
// group, and adds and removes a group's user, checking each at Keystone.
func TestManageMembers(t *testing.T) {
	c := testkit.Start(t, "horizon")
	ctx := context.Background()
	idc := c.Client(t, "admin", "admin", "identity")
	pr, err := projects.Create(ctx, idc, projects.CreateOpts{Name: "team", DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	u, err := users.Create(ctx, idc, users.CreateOpts{Name: "alice", DomainID: "default", Password: "alice-pass-1"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	g, err := groups.Create(ctx, idc, groups.CreateOpts{Name: "crew", DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	rpages, _ := roles.List(idc, roles.ListOpts{}).AllPages(ctx)
	rs, _ := roles.ExtractRoles(rpages)
	role := map[string]string{}
	for _, r := range rs {
		role[r.Name] = r.ID
	}
	admin := newBrowser(t, c.URLs["horizon"])
	admin.login("admin", testkit.Password)
	_, page := admin.get("/identity/")
	if !strings.Contains(page, `href="/identity/projects/`+pr.ID+`/members/"`) || !strings.Contains(page, `href="/identity/groups/`+g.ID+`/members/"`) {
		t.Fatal("no Manage Members links")
	}
	_, page = admin.get("/identity/projects/" + pr.ID + "/members/")
	noError(t, "project members", page)
	csrf := field(page, "csrfmiddlewaretoken")
	if !strings.Contains(page, "No members.") || !strings.Contains(page, `<option value="user:`+u.ID+`">alice</option>`) || !strings.Contains(page, `<option value="group:`+g.ID+`">crew</option>`) {
		t.Fatalf("the members page does not offer alice and crew:\n%s", page)
	}
	projectRoles := func(kind, id string) []string {
		t.Helper()
		opts := roles.ListAssignmentsOpts{ScopeProjectID: pr.ID, IncludeNames: new(bool)}
		*opts.IncludeNames = true
		if kind == "user" {
			opts.UserID = id
		} else {
			opts.GroupID = id
		}
		pages, err := roles.ListAssignments(idc, opts).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		as, _ := roles.ExtractRoleAssignments(pages)
		var names []string
		for _, a := range as {
			names = append(names, a.Role.Name)
		}
		return names
	}
	for _, add := range []url.Values{
		{"actor": {"user:" + u.ID}, "role_id": {role["member"]}},
		{"actor": {"user:" + u.ID}, "role_id": {role["reader"]}},
		{"actor": {"group:" + g.ID}, "role_id": {role["member"]}},
	} {
		add.Set("csrfmiddlewaretoken", csrf)
		add.Set("op", "add")
		_, page = admin.post("/identity/projects/"+pr.ID+"/members/", add)
		noError(t, "add role", page)
	}
	if got := projectRoles("user", u.ID); len(got) != 2 {
		t.Fatalf("alice's roles on the project: %v", got)
	}
	if got := projectRoles("group", g.ID); len(got) != 1 || got[0] != "member" {
		t.Fatalf("crew's roles on the project: %v", got)
	}
	if !strings.Contains(page, `<tr id="member-user-`+u.ID+`"><td>user alice</td>`) || !strings.Contains(page, `<tr id="member-group-`+g.ID+`"><td>group crew</td>`) {
		t.Fatalf("the members table lacks alice or crew:\n%s", page)
	}
	// alice can now log in to the project.
	if _, p := newBrowser(t, c.URLs["horizon"]).login("alice", "alice-pass-1"); !strings.Contains(p, "team") {
		t.Fatal("alice cannot log in to the project she is a member of")
	}
	_, page = admin.post("/identity/projects/"+pr.ID+"/members/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {"remove"}, "actor": {"user:" + u.ID}, "role_id": {role["reader"]}})
	noError(t, "remove role", page)
	if got := projectRoles("user", u.ID); len(got) != 1 || got[0] != "member" {
		t.Fatalf("alice's roles after the removal: %v", got)
	}
	// A role that does not exist is Keystone's 404; a bad op is ours.
	if _, page = admin.post("/identity/projects/"+pr.ID+"/members/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {"add"}, "actor": {"user:" + u.ID}, "role_id": {"nope"}}); !strings.Contains(page, "HTTP 404") || !strings.Contains(page, `id="addmemberform"`) {
		t.Errorf("an unknown role: no 404 shown on the members page")
	}
	if _, page = admin.post("/identity/projects/"+pr.ID+"/members/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {"steal"}, "actor": {"user:" + u.ID}, "role_id": {role["member"]}}); !strings.Contains(page, "op must be add or remove") {
		t.Errorf("a bad op was not refused")
	}

	// The group's users.
	_, page = admin.get("/identity/groups/" + g.ID + "/members/")
	noError(t, "group members", page)
	_, page = admin.post("/identity/groups/"+g.ID+"/members/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {"add"}, "user_id": {u.ID}})
	noError(t, "add to group", page)
	if err := users.IsMemberOfGroup(ctx, idc, g.ID, u.ID).Err; err != nil {
		t.Fatalf("alice is not in crew: %v", err)
	}
	if !strings.Contains(page, `<tr id="member-user-`+u.ID+`"><td>alice</td>`) || strings.Contains(page, `<option value="`+u.ID+`">alice</option>`) {
		t.Fatalf("the group page after the add:\n%s", page)
	}
	_, page = admin.post("/identity/groups/"+g.ID+"/members/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {"remove"}, "user_id": {u.ID}})
	noError(t, "remove from group", page)
	if ok, _ := users.IsMemberOfGroup(ctx, idc, g.ID, u.ID).Extract(); ok {
		t.Fatal("alice is still in crew")
	}
	// Without CSRF: refused.
	if resp, _ := admin.post("/identity/groups/"+g.ID+"/members/", url.Values{"op": {"add"}, "user_id": {u.ID}}); resp.StatusCode != 403 {
		t.Errorf("a membership change without CSRF: %d", resp.StatusCode)
	}
}

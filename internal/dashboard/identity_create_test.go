package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

// findProject returns the id of the named project at Keystone, or "".
func findProject(t *testing.T, idc *gophercloud.ServiceClient, name string) string {
	t.Helper()
	pages, err := projects.List(idc, projects.ListOpts{Name: name}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := projects.ExtractProjects(pages)
	if len(ps) == 0 {
		return ""
	}
	return ps[0].ID
}

var errorAlert = regexp.MustCompile(`<div class="alert error" role="alert">([^<]*)</div>`)

// TestIdentityCreateDelete creates a project, a user (password, primary
// project, role) and a group through the forms, checks each at Keystone,
// shows Keystone's and the dashboard's refusals on the page, and deletes
// them again.
func TestIdentityCreateDelete(t *testing.T) {
	c := testkit.Start(t, "horizon")
	ctx := context.Background()
	idc := c.Client(t, "admin", "admin", "identity")
	admin := newBrowser(t, c.URLs["horizon"])
	admin.login("admin", testkit.Password)
	_, page := admin.get("/identity/")
	noError(t, "identity", page)
	for _, want := range []string{`id="createprojectform"`, `id="createuserform"`, `id="creategroupform"`, `<option value="default" selected>Default</option>`} {
		if !strings.Contains(page, want) {
			t.Fatalf("identity page lacks %s", want)
		}
	}
	csrf := field(page, "csrfmiddlewaretoken")
	post := func(path string, v url.Values) string {
		t.Helper()
		v.Set("csrfmiddlewaretoken", csrf)
		_, page := admin.post(path, v)
		return page
	}

	page = post("/identity/projects/create/", url.Values{"form": {"project"}, "name": {"made-here"}, "description": {"from the form"}, "domain_id": {"default"}, "enabled": {"1"}})
	noError(t, "create project", page)
	if !strings.Contains(page, `Created new project &#34;made-here&#34;.`) {
		t.Errorf("no message for the new project:\n%s", page)
	}
	pid := findProject(t, idc, "made-here")
	if pid == "" {
		t.Fatal("the project is not at Keystone")
	}
	// The same name again: Keystone's 409, its words, on the page with the form kept.
	page = post("/identity/projects/create/", url.Values{"form": {"project"}, "name": {"made-here"}, "domain_id": {"default"}})
	if m := errorAlert.FindStringSubmatch(page); m == nil || !strings.Contains(m[1], "identity: ") || !strings.Contains(m[1], "HTTP 409") {
		t.Errorf("a duplicate project: no 409 from Keystone shown: %v", m)
	}
	if !strings.Contains(page, `id="id_project_name" name="name" value="made-here"`) || strings.Contains(page, `id="id_user_name" name="name" value="made-here"`) {
		t.Errorf("the refused form is not shown as it was filled in")
	}

	// A user with a password, the new project as primary and the member role.
	member := ""
	rpages, _ := roles.List(idc, roles.ListOpts{Name: "member"}).AllPages(ctx)
	if rs, _ := roles.ExtractRoles(rpages); len(rs) == 1 {
		member = rs[0].ID
	}
	user := url.Values{"form": {"user"}, "name": {"made-user"}, "email": {"m@example.org"}, "password": {"pass-word-1"}, "confirm_password": {"pass-word-2"},
		"domain_id": {"default"}, "project_id": {pid}, "role_id": {member}, "enabled": {"1"}}
	page = post("/identity/users/create/", user)
	if m := errorAlert.FindStringSubmatch(page); m == nil || !strings.Contains(m[1], "Passwords do not match.") {
		t.Errorf("mismatched passwords were not refused: %v", m)
	}
	user.Set("confirm_password", "pass-word-1")
	page = post("/identity/users/create/", user)
	noError(t, "create user", page)
	upages, _ := users.List(idc, users.ListOpts{Name: "made-user"}).AllPages(ctx)
	us, _ := users.ExtractUsers(upages)
	if len(us) != 1 || us[0].DefaultProjectID != pid || us[0].Extra["email"] != "m@example.org" {
		t.Fatalf("the user at Keystone: %+v", us)
	}
	uid := us[0].ID
	// The password and the role work: the new user logs in to the new project.
	nb := newBrowser(t, c.URLs["horizon"])
	if _, page := nb.login("made-user", "pass-word-1"); !strings.Contains(page, "made-here") {
		t.Fatalf("the new user cannot log in to the project:\n%s", page)
	}

	page = post("/identity/groups/create/", url.Values{"form": {"group"}, "name": {"made-group"}, "description": {"people"}, "domain_id": {"default"}})
	noError(t, "create group", page)
	gpages, _ := groups.List(idc, groups.ListOpts{Name: "made-group"}).AllPages(ctx)
	gs, _ := groups.ExtractGroups(gpages)
	if len(gs) != 1 || gs[0].Description != "people" || !strings.Contains(page, `id="group-`+gs[0].ID+`"`) {
		t.Fatalf("the group: %+v", gs)
	}

	// The session's own user and project are not offered for deletion and refused.
	self := regexp.MustCompile(`<tr id="user-([^"]+)"><td>admin</td>`).FindStringSubmatch(page)
	if self == nil || strings.Contains(page, `action="/identity/users/`+self[1]+`/delete/"`) {
		t.Fatal("the admin's own user is offered for deletion")
	}
	if page = post("/identity/users/"+self[1]+"/delete/", url.Values{}); !strings.Contains(page, "You cannot delete the user you are logged in as") {
		t.Errorf("deleting oneself was not refused")
	}
	if resp, _ := admin.post("/identity/groups/"+gs[0].ID+"/delete/", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a delete without CSRF: %d", resp.StatusCode)
	}
	for _, del := range []string{"/identity/users/" + uid, "/identity/groups/" + gs[0].ID, "/identity/projects/" + pid} {
		page = post(del+"/delete/", url.Values{"name": {"x"}})
		noError(t, "delete "+del, page)
	}
	if _, err := users.Get(ctx, idc, uid).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("the user is still at Keystone: %v", err)
	}
	if _, err := groups.Get(ctx, idc, gs[0].ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("the group is still at Keystone: %v", err)
	}
	if findProject(t, idc, "made-here") != "" {
		t.Error("the project is still at Keystone")
	}
	// Deleting what is gone is Keystone's 404, shown.
	if page = post("/identity/groups/"+gs[0].ID+"/delete/", url.Values{}); !strings.Contains(page, "HTTP 404") {
		t.Errorf("deleting a deleted group: no 404 shown")
	}

	// A member's create is refused by Keystone's policy, in its words; our
	// own refusals are in Japanese for a Japanese reader.
	demo := newBrowser(t, c.URLs["horizon"])
	demo.login("demo", testkit.Password)
	_, page = demo.get("/identity/")
	dcsrf := field(page, "csrfmiddlewaretoken")
	if _, page = demo.post("/identity/groups/create/", url.Values{"csrfmiddlewaretoken": {dcsrf}, "name": {"nope"}}); !strings.Contains(page, "HTTP 403") {
		t.Errorf("a member creating a group: no 403 shown")
	}
	demo.post("/i18n/setlang/", url.Values{"language": {"ja"}})
	if _, page = demo.post("/identity/users/create/", url.Values{"csrfmiddlewaretoken": {dcsrf}, "name": {"x"}, "password": {"a"}, "confirm_password": {"b"}}); !strings.Contains(page, "パスワードが一致しません。") {
		t.Errorf("the refusal is not in Japanese")
	}
}

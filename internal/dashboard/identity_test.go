package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

func TestIdentityPages(t *testing.T) {
	c := testkit.Start(t, "horizon")

	admin := newBrowser(t, c.URLs["horizon"])
	_, page := admin.login("admin", testkit.Password)
	if !strings.Contains(page, `href="/identity/"`) {
		t.Fatal("an admin is not offered the identity page")
	}
	_, page = admin.get("/identity/")
	noError(t, "identity", page)
	for _, want := range []string{`id="domains"`, "<td>Default</td>", `id="projects"`, "<td>demo</td>", `id="users"`, `id="roles"`, "<td>member</td>", `id="role_assignments"`, `id="groups"`} {
		if !strings.Contains(page, want) {
			t.Errorf("identity page lacks %s", want)
		}
	}
	if !regexp.MustCompile(`<tr><td>admin</td><td>user admin</td><td>project admin</td></tr>`).MatchString(page) {
		t.Errorf("the admin's own assignment is not listed")
	}
	editIdentity(t, c, admin)

	// A member: no identity menu entry; Keystone's policy refuses the lists,
	// so the page shows no section and no error.
	demo := newBrowser(t, c.URLs["horizon"])
	_, page = demo.login("demo", testkit.Password)
	if strings.Contains(page, `href="/identity/"`) || !strings.Contains(page, `href="/identity/application_credentials/"`) {
		t.Fatal("a member's identity menu is wrong")
	}
	_, page = demo.get("/identity/")
	noError(t, "identity as a member", page)
	if strings.Contains(page, `id="users"`) || strings.Contains(page, `id="domains"`) {
		t.Fatalf("a member sees the user or domain list:\n%s", page)
	}

	// Application credentials: created, its secret shown once, listed, deleted.
	_, page = demo.get("/identity/application_credentials/")
	noError(t, "application credentials", page)
	csrf := field(page, "csrfmiddlewaretoken")
	_, page = demo.post("/identity/application_credentials/create/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"ci"}, "description": {"for CI"}})
	noError(t, "create application credential", page)
	sec := regexp.MustCompile(`<dt>ID</dt><dd>([0-9a-f]+)</dd><dt>Secret</dt><dd><code>([^<]{16,})</code>`).FindStringSubmatch(page)
	if sec == nil || !strings.Contains(page, `<td>ci</td><td>for CI</td>`) {
		t.Fatalf("the new credential's secret or row is missing:\n%s", page)
	}
	// The secret works: Keystone issues a token for it.
	body := `{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"` + sec[1] + `","secret":"` + sec[2] + `"}}}}`
	resp, err := demo.c.Post(c.AuthURL+"/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("token for the application credential: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if _, page = demo.get("/identity/application_credentials/"); strings.Contains(page, sec[2]) || !strings.Contains(page, "<td>ci</td>") {
		t.Fatal("the list must show the credential and never its secret again")
	}
	// An expiry Keystone cannot read is its 400 to report.
	_, page = demo.post("/identity/application_credentials/create/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"bad"}, "expires_at": {"tomorrow"}})
	if !regexp.MustCompile(`class="alert error" role="alert">identity: [^<]*HTTP 400`).MatchString(page) {
		t.Errorf("a bad expiry: no 400 from Keystone shown:\n%s", page)
	}
	_, page = demo.post("/identity/application_credentials/"+sec[1]+"/delete/", url.Values{"csrfmiddlewaretoken": {csrf}})
	noError(t, "delete application credential", page)
	if strings.Contains(page, "<td>ci</td>") {
		t.Fatal("the deleted credential is still listed")
	}
}

// editIdentity edits a project and a user through the forms and enables and
// disables them from the tables, checking each change at Keystone.
func editIdentity(t *testing.T, c *testkit.Cloud, admin *browser) {
	t.Helper()
	ctx := context.Background()
	idc := c.Client(t, "admin", "admin", "identity")
	pr, err := projects.Create(ctx, idc, projects.CreateOpts{Name: "edit-me", DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	u, err := users.Create(ctx, idc, users.CreateOpts{Name: "edit-user", DomainID: "default", Password: "secret-pass-1"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	_, page := admin.get("/identity/")
	if !strings.Contains(page, `href="/identity/projects/`+pr.ID+`/update/"`) || !strings.Contains(page, `href="/identity/users/`+u.ID+`/update/"`) {
		t.Fatalf("no edit links for the new project and user:\n%s", page)
	}
	_, page = admin.get("/identity/projects/" + pr.ID + "/update/")
	noError(t, "edit project form", page)
	csrf := field(page, "csrfmiddlewaretoken")
	if field(page, "name") != "edit-me" || !strings.Contains(page, `id="id_enabled" value="1" checked`) {
		t.Fatalf("the project form does not show the project:\n%s", page)
	}
	_, page = admin.post("/identity/projects/"+pr.ID+"/update/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"edited"}, "description": {"new words"}, "enabled": {"1"}})
	noError(t, "update project", page)
	got, err := projects.Get(ctx, idc, pr.ID).Extract()
	if err != nil || got.Name != "edited" || got.Description != "new words" || !got.Enabled {
		t.Fatalf("project after the edit: %+v %v", got, err)
	}
	// Disable and enable from the table; the session's own project may not be disabled.
	_, page = admin.post("/identity/projects/"+pr.ID+"/toggle/", url.Values{"csrfmiddlewaretoken": {csrf}, "enabled": {"false"}, "name": {"edited"}})
	noError(t, "disable project", page)
	if got, _ := projects.Get(ctx, idc, pr.ID).Extract(); got == nil || got.Enabled {
		t.Fatal("the project is still enabled")
	}
	if !strings.Contains(page, `action="/identity/projects/`+pr.ID+`/toggle/"><input type="hidden" name="csrfmiddlewaretoken" value="`+csrf+`"><input type="hidden" name="name" value="edited"><input type="hidden" name="enabled" value="true">`) {
		t.Errorf("a disabled project is not offered Enable:\n%s", page)
	}
	_, page = admin.post("/identity/projects/"+pr.ID+"/toggle/", url.Values{"csrfmiddlewaretoken": {csrf}, "enabled": {"true"}})
	noError(t, "enable project", page)
	if got, _ := projects.Get(ctx, idc, pr.ID).Extract(); got == nil || !got.Enabled {
		t.Fatal("the project was not enabled again")
	}
	adminProject := regexp.MustCompile(`<tr id="project-([^"]+)"><td>admin</td>`).FindStringSubmatch(page)
	if adminProject == nil {
		t.Fatal("no admin project row")
	}
	if _, page = admin.post("/identity/projects/"+adminProject[1]+"/toggle/", url.Values{"csrfmiddlewaretoken": {csrf}, "enabled": {"false"}}); !strings.Contains(page, "You cannot disable") {
		t.Errorf("disabling the session's own project was not refused:\n%s", page)
	}
	if resp, _ := admin.post("/identity/projects/"+pr.ID+"/toggle/", url.Values{"enabled": {"false"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a toggle without CSRF: %d", resp.StatusCode)
	}

	// The user: email, description, primary project, then disabled.
	_, page = admin.get("/identity/users/" + u.ID + "/update/")
	noError(t, "edit user form", page)
	if !strings.Contains(page, `<option value="`+pr.ID+`">edited</option>`) {
		t.Fatalf("the user form does not offer the project:\n%s", page)
	}
	_, page = admin.post("/identity/users/"+u.ID+"/update/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"edit-user"}, "email": {"e@example.org"},
		"description": {"a person"}, "default_project_id": {pr.ID}, "enabled": {"1"}})
	noError(t, "update user", page)
	gu, err := users.Get(ctx, idc, u.ID).Extract()
	if err != nil || gu.DefaultProjectID != pr.ID || gu.Extra["email"] != "e@example.org" || gu.Description != "a person" {
		t.Fatalf("user after the edit: %+v %v", gu, err)
	}
	_, page = admin.post("/identity/users/"+u.ID+"/toggle/", url.Values{"csrfmiddlewaretoken": {csrf}, "enabled": {"false"}})
	noError(t, "disable user", page)
	if gu, _ := users.Get(ctx, idc, u.ID).Extract(); gu == nil || gu.Enabled {
		t.Fatal("the user is still enabled")
	}
	// A bad value is the dashboard's 400; a name Keystone refuses is Keystone's.
	if _, page = admin.post("/identity/users/"+u.ID+"/toggle/", url.Values{"csrfmiddlewaretoken": {csrf}, "enabled": {"maybe"}}); !strings.Contains(page, "enabled must be true or false") {
		t.Errorf("a bad toggle value:\n%s", page)
	}
	if _, page = admin.post("/identity/users/"+u.ID+"/update/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {strings.Repeat("x", 300)}}); !regexp.MustCompile(`class="alert error" role="alert">identity: [^<]*HTTP 400`).MatchString(page) {
		t.Errorf("a 300-character name: no 400 from Keystone shown:\n%s", page)
	}
}

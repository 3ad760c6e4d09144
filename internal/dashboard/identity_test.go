package dashboard_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

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

package dashboard_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

func TestServerGroups(t *testing.T) {
	c := testkit.Start(t, "nova", "horizon")
	b := newBrowser(t, c.URLs["horizon"])
	_, page := b.login("demo", testkit.Password)
	if !strings.Contains(page, `href="/project/server_groups/"`) {
		t.Fatal("the menu lacks Server Groups")
	}
	_, page = b.get("/project/server_groups/")
	noError(t, "server groups", page)
	csrf := field(page, "csrfmiddlewaretoken")
	_, page = b.post("/project/server_groups/create/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"spread"}, "policy": {"anti-affinity"}})
	noError(t, "create server group", page)
	m := regexp.MustCompile(`<tr id="group-([0-9a-f-]{36})"><td>spread</td><td>anti-affinity</td>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the new group is not listed:\n%s", page)
	}
	// A policy Nova does not know is its 400 to report.
	_, page = b.post("/project/server_groups/create/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"bad"}, "policy": {"scatter"}})
	if !regexp.MustCompile(`class="alert error" role="alert">compute: [^<]*HTTP 400`).MatchString(page) {
		t.Fatalf("an unknown policy: no 400 from Nova shown:\n%s", page)
	}
	// Another project's user does not see it.
	admin := newBrowser(t, c.URLs["horizon"])
	admin.login("admin", testkit.Password)
	if _, p := admin.get("/project/server_groups/"); strings.Contains(p, "spread") {
		t.Fatal("the admin project's page shows demo's group")
	}
	_, page = b.post("/project/server_groups/"+m[1]+"/delete/", url.Values{"csrfmiddlewaretoken": {csrf}})
	noError(t, "delete server group", page)
	if strings.Contains(page, "<td>spread</td>") {
		t.Fatal("the deleted group is still listed")
	}
}

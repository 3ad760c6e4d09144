package dashboard_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

func TestAdminPages(t *testing.T) {
	c := testkit.StartWith(t, testkit.Options{})

	// demo: no admin menu, and the APIs refuse the pages it was not offered.
	demo := newBrowser(t, c.URLs["horizon"])
	_, page := demo.login("demo", testkit.Password)
	if strings.Contains(page, `id="admin_menu"`) || strings.Contains(page, `href="/admin/`) {
		t.Fatal("a member is offered the admin pages")
	}
	form := launchForm(t, demo)
	form.Set("name", "demo-vm")
	_, page = demo.post("/project/instances/launch/", form)
	noError(t, "launch", page)
	// (Flavors are Nova's to list to anyone; it drops is_public=None for members.)
	for _, path := range []string{"/admin/hypervisors/", "/admin/instances/"} {
		_, page = demo.get(path)
		if !regexp.MustCompile(`class="alert error" role="alert">compute: [^<]*HTTP 403`).MatchString(page) {
			t.Errorf("%s as a member: no 403 from Nova shown", path)
		}
		if strings.Contains(page, "demo-vm") {
			t.Errorf("%s as a member shows a server", path)
		}
	}

	admin := newBrowser(t, c.URLs["horizon"])
	_, page = admin.login("admin", testkit.Password)
	for _, want := range []string{`id="admin_menu"`, `href="/admin/hypervisors/"`, `href="/admin/flavors/"`, `href="/admin/instances/"`, `href="/admin/images/"`, `href="/admin/info/"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the admin menu lacks %s", want)
		}
	}

	// Hypervisors with usage: the fake node carries demo-vm's allocation.
	usage := regexp.MustCompile(`<span class="what">VCPUs</span>.*?<span class="fig">([0-9]+) / ([0-9]+)</span>`)
	var row string
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, page = admin.get("/admin/hypervisors/")
		row = page[strings.Index(page, `id="hypervisors"`):]
		if m := usage.FindStringSubmatch(row); m != nil && m[1] != "0" && m[2] != "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no hypervisor shows demo-vm's vCPU in use:\n%s", row)
		}
		time.Sleep(time.Second)
	}
	noError(t, "hypervisors", page)
	if !strings.Contains(page, `id="hypervisor_summary"`) || !strings.Contains(page, "<td>up</td><td>enabled") {
		t.Fatalf("hypervisors page:\n%s", page)
	}

	// Services and agents.
	_, page = admin.get("/admin/info/")
	noError(t, "system information", page)
	for _, want := range []string{`id="compute_services"`, "<td>nova-compute</td>", "<td>nova-scheduler</td>", `id="network_agents"`} {
		if !strings.Contains(page, want) {
			t.Errorf("system information lacks %s", want)
		}
	}
	if !regexp.MustCompile(`<td>nova-compute</td><td>[^<]+</td><td>[^<]*</td><td>enabled</td><td class="state-up">up</td>`).MatchString(page) {
		t.Errorf("nova-compute is not shown enabled and up:\n%s", page)
	}

	// Flavors: create, see, delete; a bad number is Nova's to refuse.
	_, page = admin.get("/admin/flavors/")
	noError(t, "flavors", page)
	csrf := field(page, "csrfmiddlewaretoken")
	_, page = admin.post("/admin/flavors/create/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"dash.tiny"}, "id": {"dash-tiny"},
		"vcpus": {"2"}, "ram": {"256"}, "disk": {"3"}, "is_public": {"1"}})
	noError(t, "create flavor", page)
	if !strings.Contains(page, `<tr id="flavor-dash-tiny"><td>dash.tiny</td><td>2</td><td>256 MiB</td><td>3 GiB</td>`) {
		t.Fatalf("the new flavor is not listed:\n%s", page)
	}
	_, page = admin.post("/admin/flavors/create/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"bad"}, "vcpus": {"0"}, "ram": {"256"}})
	if !regexp.MustCompile(`class="alert error" role="alert">compute: [^<]*HTTP 400`).MatchString(page) {
		t.Fatalf("a flavor with 0 vCPUs: no 400 from Nova shown:\n%s", page)
	}
	_, page = admin.post("/admin/flavors/dash-tiny/delete/", url.Values{"csrfmiddlewaretoken": {"forged"}})
	if !strings.Contains(page, "CSRF") {
		t.Fatal("flavor delete with a forged CSRF token was not refused")
	}
	_, page = admin.post("/admin/flavors/dash-tiny/delete/", url.Values{"csrfmiddlewaretoken": {csrf}})
	noError(t, "delete flavor", page)
	if strings.Contains(page, "dash.tiny") && !strings.Contains(page, "Deleted the flavor.") {
		t.Fatal("the flavor is still listed")
	}

	// All instances: demo's server, with its project's name and host.
	_, page = admin.get("/admin/instances/")
	noError(t, "all instances", page)
	if !regexp.MustCompile(`<tr id="server-[0-9a-f-]{36}"><td>demo</td><td>[^<]+</td><td><a href="/project/instances/[0-9a-f-]{36}/">demo-vm</a>`).MatchString(page) {
		t.Fatalf("all instances lacks demo's server with project and host:\n%s", page)
	}

	// All images: the test cloud's public image, owned by a named project.
	_, page = admin.get("/admin/images/")
	noError(t, "all images", page)
	if !regexp.MustCompile(`<tr id="image-[0-9a-f-]{36}"><td>[a-z]+</td><td>[^<]+</td><td>active</td><td>public</td>`).MatchString(page) {
		t.Fatalf("all images lacks a public image with its owner's name:\n%s", page)
	}
}

package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

var (
	optionRe  = regexp.MustCompile(`<option value="([^"]+)"`)
	flavorRe  = regexp.MustCompile(`name="flavor" value="([^"]+)"`)
	networkRe = regexp.MustCompile(`name="network" value="([^"]+)"`)
)

// launchForm reads the wizard's first image, flavor and network.
func launchForm(t *testing.T, b *browser) url.Values {
	t.Helper()
	resp, page := b.get("/project/instances/launch/")
	if resp.StatusCode != 200 || strings.Contains(page, `class="alert error"`) {
		t.Fatalf("launch form: %d\n%s", resp.StatusCode, page)
	}
	form := page[strings.Index(page, `id="launchform"`):]
	img := optionRe.FindStringSubmatch(form[strings.Index(form, `id="id_image"`):])
	fl := flavorRe.FindStringSubmatch(form)
	nw := networkRe.FindStringSubmatch(form)
	if img == nil || fl == nil || nw == nil {
		t.Fatalf("the wizard lacks an image, a flavor or a network:\n%s", form)
	}
	return url.Values{"csrfmiddlewaretoken": {field(page, "csrfmiddlewaretoken")}, "image": {img[1]}, "flavor": {fl[1]},
		"network": {nw[1]}, "security_group": {"default"}, "count": {"1"}, "user_data": {"#cloud-config\n"}, "config_drive": {"1"}}
}

func TestInstancesLaunchLifecycle(t *testing.T) {
	c := testkit.StartWith(t, testkit.Options{})
	b := newBrowser(t, c.URLs["horizon"])
	b.login("demo", testkit.Password)

	// An admin's server in another project must never show in demo's pages.
	adminCompute := c.Client(t, "admin", "admin", "compute")
	netc := c.Client(t, "admin", "admin", "network")
	allNets, err := networks.List(netc, networks.ListOpts{Name: "private"}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	nets, _ := networks.ExtractNetworks(allNets)
	form := launchForm(t, b)
	if len(nets) > 0 {
		_, err := servers.Create(context.Background(), adminCompute, servers.CreateOpts{Name: "admins-secret", ImageRef: form.Get("image"), FlavorRef: form.Get("flavor"),
			Networks: []servers.Network{{UUID: nets[0].ID}}}, nil).Extract()
		if err != nil {
			t.Logf("admin's server not created (%v); isolation is checked on names only", err)
		}
	}

	form.Set("name", "web-1")
	resp, page := b.post("/project/instances/launch/", form)
	m := regexp.MustCompile(`/project/instances/([0-9a-f-]{36})/`).FindStringSubmatch(resp.Request.URL.Path)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("launch: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	id := m[1]
	if !strings.Contains(page, `Launched instance &#34;web-1&#34;.`) {
		t.Errorf("no launch message:\n%s", page)
	}
	testkit.Eventually(t, 60*time.Second, func() bool {
		_, page = b.get("/project/instances/" + id + "/")
		return strings.Contains(page, `id="status">ACTIVE<`)
	}, "web-1 never became ACTIVE in the dashboard")
	for _, step := range []string{"scheduling", "networking", "block_device_mapping", "spawning", "active"} {
		if !regexp.MustCompile(`class="step done" data-step="` + step + `"`).MatchString(page) {
			t.Errorf("timeline step %s not done:\n%s", step, page[strings.Index(page, `id="timeline"`):][:3000])
		}
	}
	for _, want := range []string{"conductor_schedule_and_build_instances", "compute_build_spawning", "m1.", "private: "} {
		if !strings.Contains(page, want) {
			t.Errorf("instance page lacks %q", want)
		}
	}

	// The list: enriched rows, demo's only; the refreshable fragment alone.
	_, page = b.get("/project/instances/")
	if !strings.Contains(page, "web-1") || strings.Contains(page, "admins-secret") {
		t.Fatalf("instances list (web-1 expected, admins-secret not):\n%s", page)
	}
	resp, frag := b.get("/project/instances/?fragment=rows")
	if resp.StatusCode != 200 || !strings.Contains(frag, `id="server-`+id+`"`) || strings.Contains(frag, "<html") {
		t.Fatalf("rows fragment: %d\n%s", resp.StatusCode, frag)
	}

	resp, page = b.get("/project/instances/" + id + "/console/")
	if resp.StatusCode != 200 || !strings.Contains(page, `id="console"`) || strings.Contains(page, `class="alert error"`) {
		t.Fatalf("console log: %d\n%s", resp.StatusCode, page)
	}

	csrf := field(page, "csrfmiddlewaretoken")
	act := func(op string) string {
		resp, page := b.post("/project/instances/"+id+"/action/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {op}, "name": {"web-1"}})
		if resp.StatusCode != 200 || strings.Contains(page, `class="alert error"`) {
			t.Fatalf("%s: %d\n%s", op, resp.StatusCode, page)
		}
		return page
	}
	if page := act("stop"); !strings.Contains(page, "Request to shut off instance") {
		t.Errorf("no stop message")
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, page = b.get("/project/instances/" + id + "/")
		return strings.Contains(page, `id="status">SHUTOFF<`)
	}, "web-1 never stopped")
	if !strings.Contains(page, `value="start"`) || strings.Contains(page, `value="stop"`) {
		t.Errorf("a stopped instance should offer start, not stop")
	}
	act("start")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, page = b.get("/project/instances/" + id + "/")
		return strings.Contains(page, `id="status">ACTIVE<`)
	}, "web-1 never started again")
	act("reboot")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, page = b.get("/project/instances/" + id + "/")
		return strings.Contains(page, `id="status">ACTIVE<`)
	}, "web-1 never came back from its reboot")
	// Destructive actions ask first; the ones a state forbids are not offered.
	for _, op := range []string{"delete", "stop", "hard_reboot"} {
		if !regexp.MustCompile(`<button type="submit" name="op" value="` + op + `" class="op-` + op + `" data-confirm="[^"]*web-1\?">`).MatchString(page) {
			t.Errorf("%s does not ask for confirmation", op)
		}
	}
	if strings.Contains(page, `value="unpause"`) || strings.Contains(page, `value="unlock"`) {
		t.Error("an active, unlocked instance offers unpause or unlock")
	}
	act("pause")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, page = b.get("/project/instances/" + id + "/")
		return strings.Contains(page, `id="status">PAUSED<`)
	}, "web-1 never paused")
	if !strings.Contains(page, `value="unpause"`) || strings.Contains(page, `value="pause"`) {
		t.Error("a paused instance should offer unpause, not pause")
	}
	act("unpause")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, page = b.get("/project/instances/" + id + "/")
		return strings.Contains(page, `id="status">ACTIVE<`)
	}, "web-1 never unpaused")
	act("lock")
	if _, page = b.get("/project/instances/" + id + "/"); !strings.Contains(page, `value="unlock"`) {
		t.Error("a locked instance does not offer unlock")
	}
	act("unlock")
	if _, page := b.post("/project/instances/"+id+"/action/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {"snapshot"}}); !strings.Contains(page, "A snapshot needs a name.") {
		t.Errorf("a snapshot without a name was not refused:\n%s", page)
	}
	if _, page := b.post("/project/instances/"+id+"/action/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {"snapshot"}, "name": {"web-1"}, "snapshot_name": {"web-1-snap"}}); !strings.Contains(page, "Creating snapshot &#34;web-1-snap&#34;") {
		t.Errorf("snapshot:\n%s", page)
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, page = b.get("/project/images/")
		return strings.Contains(page, "web-1-snap")
	}, "the snapshot never showed in the images")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, page = b.get("/project/instances/" + id + "/")
		return strings.Contains(page, `id="task_state">None<`)
	}, "the snapshot never finished")

	// An action the API refuses shows the API's message.
	resp, page = b.post("/project/instances/"+id+"/action/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {"start"}})
	if !strings.Contains(page, "compute: ") || !strings.Contains(page, "HTTP 409") {
		t.Errorf("starting an active server: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post("/project/instances/"+id+"/action/", url.Values{"op": {"delete"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("delete without CSRF: %d", resp.StatusCode)
	}
	act("delete")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, page = b.get("/project/instances/")
		return !strings.Contains(page, "web-1")
	}, "web-1 never went away")
}

func TestInstanceSchedulerFault(t *testing.T) {
	c := testkit.StartWith(t, testkit.Options{})
	admin := c.Client(t, "admin", "admin", "compute")
	pub := true
	_, err := flavors.Create(context.Background(), admin, flavors.CreateOpts{Name: "huge", RAM: 1024, VCPUs: 1, Disk: gib(90000), IsPublic: &pub}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, c.URLs["horizon"])
	b.login("demo", testkit.Password)
	form := launchForm(t, b)
	_, page := b.get("/project/instances/launch/")
	fl := regexp.MustCompile(`name="flavor" value="([^"]+)" id="flavor-[^"]+"></td><td><label[^>]*>huge<`).FindStringSubmatch(page)
	if fl == nil {
		t.Fatalf("no huge flavor in the wizard")
	}
	form.Set("flavor", fl[1])
	form.Set("name", "too-big")
	resp, page := b.post("/project/instances/launch/", form)
	m := regexp.MustCompile(`/project/instances/([0-9a-f-]{36})/`).FindStringSubmatch(resp.Request.URL.Path)
	if m == nil {
		t.Fatalf("launch: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	testkit.Eventually(t, 60*time.Second, func() bool {
		_, page = b.get("/project/instances/" + m[1] + "/")
		return strings.Contains(page, `id="status">ERROR<`)
	}, "too-big never failed")
	if !strings.Contains(page, `id="fault"`) || !regexp.MustCompile(`class="step failed" data-step="scheduling"`).MatchString(page) {
		t.Fatalf("no fault or failed scheduling step:\n%s", page)
	}
	t.Logf("fault shown: %s", regexp.MustCompile(`(?s)<section class="fault-box".*?</section>`).FindString(page))
}

func gib(n int) *int { return &n }

package dashboard_test

import (
	"bytes"
	"mime/multipart"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

func noError(t *testing.T, what string, page string) {
	t.Helper()
	if m := regexp.MustCompile(`<div class="alert error"[^>]*>([^<]*)<`).FindStringSubmatch(page); m != nil {
		t.Fatalf("%s: %s", what, m[1])
	}
}

func TestNetworkPages(t *testing.T) {
	c := testkit.StartWith(t, testkit.Options{})
	b := newBrowser(t, c.URLs["horizon"])
	b.login("demo", testkit.Password)
	_, page := b.get("/project/networks/")
	noError(t, "networks page", page)
	csrf := field(page, "csrfmiddlewaretoken")

	_, page = b.post("/project/networks/create/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"dash-net"}, "subnet_name": {"dash-sub"}, "cidr": {"10.77.0.0/24"}})
	noError(t, "create network", page)
	if !strings.Contains(page, "dash-sub 10.77.0.0/24") {
		t.Fatalf("the new network and subnet are not listed:\n%s", page)
	}
	ext := regexp.MustCompile(`id="id_external_network" name="external_network"><option value="">None</option><option value="([^"]+)"`).FindStringSubmatch(page)
	sub := regexp.MustCompile(`<option value="([^"]+)">dash-sub 10.77.0.0/24</option>`).FindStringSubmatch(page)
	if ext == nil || sub == nil {
		t.Fatalf("no external network or subnet to pick:\n%s", page)
	}
	_, page = b.post("/project/routers/create/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"dash-router"}, "external_network": {ext[1]}, "subnet": {sub[1]}})
	noError(t, "create router", page)
	if !strings.Contains(page, `id="routers"`) || !strings.Contains(page, "dash-router") {
		t.Fatalf("router not in the list:\n%s", page)
	}
	_, topo := b.get("/project/network_topology/")
	noError(t, "topology", topo)
	if !regexp.MustCompile(`class="node router"[^>]*>.*dash-router`).MatchString(topo) || !regexp.MustCompile(`class="node network"[^>]*>.*dash-net`).MatchString(topo) {
		t.Fatalf("router or network not in the topology:\n%s", topo)
	}
	// The topology links the router to the external network and to dash-net.
	if n := strings.Count(topo, `<line `); n < 2 {
		t.Fatalf("topology has %d links", n)
	}

	// A server on dash-net, then a floating IP associated to its port.
	form := launchForm(t, b)
	netID := regexp.MustCompile(`id="net-([^"]+)"><td>dash-net<`).FindStringSubmatch(page)
	if netID == nil {
		t.Fatal("dash-net has no row")
	}
	form.Set("network", netID[1])
	form.Set("name", "fip-target")
	_, p2 := b.post("/project/instances/launch/", form)
	noError(t, "launch", p2)
	testkit.Eventually(t, 60*time.Second, func() bool {
		_, p2 = b.get("/project/instances/")
		return strings.Contains(p2, "dash-net: 10.77.0.")
	}, "fip-target never got its address")
	_, page = b.post("/project/floating_ips/allocate/", url.Values{"csrfmiddlewaretoken": {csrf}, "pool": {ext[1]}})
	noError(t, "allocate floating IP", page)
	fip := regexp.MustCompile(`<tr id="fip-([^"]+)">`).FindStringSubmatch(page)
	if fip == nil || !strings.Contains(page, `href="/project/floating_ips/`+fip[1]+`/associate/"`) {
		t.Fatalf("no floating IP to associate:\n%s", page[strings.Index(page, `id="floating"`):])
	}
	_, assoc := b.get("/project/floating_ips/" + fip[1] + "/associate/")
	noError(t, "associate form", assoc)
	port := regexp.MustCompile(`<option value="([^"]+)">fip-target 10\.77\.0\.`).FindStringSubmatch(assoc)
	if port == nil {
		t.Fatalf("fip-target's port is not offered:\n%s", assoc)
	}
	_, page = b.post("/project/floating_ips/"+fip[1]+"/associate/", url.Values{"csrfmiddlewaretoken": {csrf}, "port_id": {port[1]}})
	noError(t, "associate", page)
	if !regexp.MustCompile(`<tr id="fip-` + fip[1] + `"><td>[0-9.]+</td><td>10\.77\.0\.`).MatchString(page) {
		t.Fatalf("floating IP not mapped to the server's address:\n%s", page[strings.Index(page, `id="floating"`):])
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, p2 = b.get("/project/instances/")
		return strings.Contains(p2, "(floating)")
	}, "the instances page never showed the floating IP")

	// Security groups: add a rule to default.
	_, page = b.get("/project/security_groups/")
	noError(t, "security groups", page)
	sg := regexp.MustCompile(`action="/project/security_groups/([^/]+)/rules/"`).FindStringSubmatch(page)
	if sg == nil {
		t.Fatalf("no security group:\n%s", page)
	}
	_, page = b.post("/project/security_groups/"+sg[1]+"/rules/", url.Values{"csrfmiddlewaretoken": {csrf}, "direction": {"ingress"}, "protocol": {"tcp"}, "port_range_min": {"22"}, "port_range_max": {"22"}, "remote_ip_prefix": {"0.0.0.0/0"}})
	noError(t, "add rule", page)
	if !strings.Contains(page, "<td>22-22</td>") {
		t.Fatalf("rule not shown:\n%s", page)
	}
}

func TestKeypairsAndImages(t *testing.T) {
	c := testkit.Start(t, "glance", "nova", "horizon")
	b := newBrowser(t, c.URLs["horizon"])
	b.login("demo", testkit.Password)
	_, page := b.get("/project/key_pairs/")
	noError(t, "key pairs", page)
	csrf := field(page, "csrfmiddlewaretoken")
	_, page = b.post("/project/key_pairs/create/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"made"}})
	noError(t, "create key pair", page)
	if !strings.Contains(page, "PRIVATE KEY") || !strings.Contains(page, "shown only once") {
		t.Fatalf("private key not offered:\n%s", page)
	}
	if _, page = b.get("/project/key_pairs/"); strings.Contains(page, "PRIVATE KEY") || !strings.Contains(page, "<td>made</td>") {
		t.Fatalf("the key list should show the pair and never the private key again")
	}

	// Upload a small image, streamed through the dashboard.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrfmiddlewaretoken", csrf)
	mw.WriteField("name", "uploaded-img")
	mw.WriteField("disk_format", "raw")
	mw.WriteField("visibility", "private")
	fw, _ := mw.CreateFormFile("file", "disk.raw")
	fw.Write(bytes.Repeat([]byte{0}, 65536))
	mw.Close()
	resp, err := b.c.Post(b.base+"/project/images/upload/", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, page = b.get("/project/images/")
	noError(t, "images", page)
	if !regexp.MustCompile(`<td>uploaded-img</td><td>active</td><td>private</td><td>raw</td><td>65536</td>`).MatchString(page) {
		t.Fatalf("uploaded image not active with its size:\n%s", page)
	}
}

func TestVolumesPage(t *testing.T) {
	c := testkit.StartWith(t, testkit.Options{})
	if _, ok := c.URLs["cinder"]; !ok {
		t.Skip("this stack has no Cinder")
	}
	b := newBrowser(t, c.URLs["horizon"])
	_, page := b.login("demo", testkit.Password)
	if !strings.Contains(page, `href="/project/volumes/"`) {
		t.Fatal("the menu lacks Volumes while the catalog has Cinder")
	}
	for _, want := range []string{"Volumes</strong>", "Volume Storage"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	_, page = b.get("/project/volumes/")
	noError(t, "volumes", page)
	_, page = b.post("/project/volumes/create/", url.Values{"csrfmiddlewaretoken": {field(page, "csrfmiddlewaretoken")}, "name": {"dash-vol"}, "size": {"1"}})
	noError(t, "create volume", page)
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, page = b.get("/project/volumes/")
		return regexp.MustCompile(`<td>dash-vol</td><td>1 GiB</td><td>available</td>`).MatchString(page)
	}, "dash-vol never became available")
}

package dashboard_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"

	"github.com/tenku-cloud/tenku/internal/dashboard"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// startDashboard runs a dashboard of its own in front of a test cloud, with
// its configuration tweaked.
func startDashboard(t *testing.T, c *testkit.Cloud, tweak func(*dashboard.Options)) *browser {
	t.Helper()
	cfg := dashboard.DefaultConfig()
	cfg.Dashboard.SecretKey = "test-secret"
	if tweak != nil {
		tweak(&cfg.Dashboard)
	}
	d, err := dashboard.New(cfg, service.Deps{AuthURL: c.AuthURL, Region: c.Region})
	if err != nil {
		t.Fatal(err)
	}
	d.Start(context.Background())
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	srv := &http.Server{Handler: d}
	ln, err := service.Listen("test dashboard", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return newBrowser(t, "http://"+ln.Addr().String())
}

var (
	serverRowRe = regexp.MustCompile(`<tr id="server-([0-9a-f-]{36})"`)
	nextRe      = regexp.MustCompile(`<a href="([^"]+)" rel="next"`)
	prevRe      = regexp.MustCompile(`<a href="([^"]+)" rel="prev"`)
)

func link(re *regexp.Regexp, page string) string {
	if m := re.FindStringSubmatch(page); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// TestInstancesPaging walks five servers two at a time, forward by Next and
// back by Prev, as Horizon's tables page.
func TestInstancesPaging(t *testing.T) {
	c := testkit.Start(t, "glance", "nova", "nova-compute", "neutron")
	b := startDashboard(t, c, func(o *dashboard.Options) { o.PageSize, o.TopologyMaxInstances = 2, 3 })
	if resp, _ := b.login("demo", testkit.Password); resp.Request.URL.Path != "/project/" {
		t.Fatalf("login: %s", resp.Request.URL)
	}
	form := launchForm(t, b)
	form.Set("name", "paged")
	form.Set("count", "5")
	if resp, page := b.post("/project/instances/launch/", form); !strings.Contains(page, "Launched 5 instances") {
		t.Fatalf("launch 5: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	var all []string
	walk := func() {
		all = nil
		_, page := b.get("/project/instances/")
		if prev := link(prevRe, page); prev != "" {
			t.Fatalf("the first page has a Prev link %q", prev)
		}
		for i := 0; ; i++ {
			rows := serverRowRe.FindAllStringSubmatch(page, -1)
			if len(rows) == 0 || len(rows) > 2 {
				t.Fatalf("page %d has %d rows:\n%s", i, len(rows), page)
			}
			for _, r := range rows {
				all = append(all, r[1])
			}
			next := link(nextRe, page)
			if next == "" {
				break
			}
			if i > 5 {
				t.Fatal("Next never ends")
			}
			_, page = b.get(next)
		}
	}
	walk()
	if len(all) != 5 {
		t.Fatalf("walked %d servers, want 5: %v", len(all), all)
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Fatalf("server %s on two pages: %v", id, all)
		}
		seen[id] = true
	}
	// Back from the last page: [4] then [2 3] then [0 1], and no Prev there.
	_, page := b.get("/project/instances/?marker=" + all[3])
	if rows := serverRowRe.FindAllStringSubmatch(page, -1); len(rows) != 1 || rows[0][1] != all[4] || link(nextRe, page) != "" {
		t.Fatalf("last page: %v next=%q", rows, link(nextRe, page))
	}
	_, page = b.get(link(prevRe, page))
	if rows := serverRowRe.FindAllStringSubmatch(page, -1); len(rows) != 2 || rows[0][1] != all[2] || rows[1][1] != all[3] {
		t.Fatalf("Prev from the last page: %v, want %v", rows, all[2:4])
	}
	_, page = b.get(link(prevRe, page))
	if rows := serverRowRe.FindAllStringSubmatch(page, -1); len(rows) != 2 || rows[0][1] != all[0] || rows[1][1] != all[1] {
		t.Fatalf("Prev to the first page: %v, want %v", rows, all[0:2])
	}
	if prev := link(prevRe, page); prev != "" {
		t.Fatalf("the first page reached by Prev has a Prev link %q", prev)
	}
	if next := link(nextRe, page); next == "" {
		t.Fatal("the first page reached by Prev has no Next link")
	}
	// The rows fragment the page polls keeps its place.
	_, page = b.get("/project/instances/?marker=" + all[1])
	if m := regexp.MustCompile(`data-poll="([^"]+)"`).FindStringSubmatch(page); m != nil && !strings.Contains(html.UnescapeString(m[1]), "marker="+all[1]) {
		t.Errorf("the poll of page 2 is %q", m[1])
	}
	_, frag := b.get("/project/instances/?fragment=rows&marker=" + all[1])
	if rows := serverRowRe.FindAllStringSubmatch(frag, -1); len(rows) != 2 || rows[0][1] != all[2] {
		t.Fatalf("rows fragment of page 2: %v", rows)
	}
	// A marker Nova does not know is its own 400, shown as such.
	if _, page := b.get("/project/instances/?marker=no-such-server"); !strings.Contains(page, `class="alert error"`) || !strings.Contains(page, "compute: ") {
		t.Errorf("unknown marker:\n%s", page)
	}
	// More instances than the topology draws one by one: a count per network.
	testkit.Eventually(t, 60*time.Second, func() bool {
		_, page = b.get("/project/network_topology/")
		return regexp.MustCompile(`class="node instance"[^>]*>.*>5 instances<`).MatchString(page)
	}, "the topology never showed 5 instances as one node")
	if strings.Contains(page, ">paged-1<") {
		t.Errorf("the topology draws instances one by one beyond its bound:\n%s", page)
	}
	// The admin's list of every project's servers pages the same way.
	a := startDashboard(t, c, func(o *dashboard.Options) { o.PageSize = 2 })
	a.login("admin", testkit.Password)
	_, page = a.get("/admin/instances/")
	if rows := serverRowRe.FindAllStringSubmatch(page, -1); len(rows) != 2 || link(nextRe, page) == "" {
		t.Fatalf("all instances, page 1: %d rows, next %q\n%s", len(rows), link(nextRe, page), page)
	}
	_, page = a.get(link(nextRe, page))
	if rows := serverRowRe.FindAllStringSubmatch(page, -1); len(rows) != 2 || link(prevRe, page) == "" {
		t.Fatalf("all instances, page 2: %d rows, prev %q", len(rows), link(prevRe, page))
	}
}

// TestStaticAndGzip checks the first load's costs: pages and static files
// gzipped for a browser that takes it, static files versioned and cached.
func TestStaticAndGzip(t *testing.T) {
	c := testkit.Start(t, "nova", "neutron")
	b := startDashboard(t, c, nil)
	get := func(path string, hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", b.base+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rd io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatalf("%s: bad gzip: %v", path, err)
			}
			rd = zr
		}
		body, err := io.ReadAll(rd)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp, string(body)
	}
	gz := map[string]string{"Accept-Encoding": "gzip"}
	resp, page := get("/auth/login/", gz)
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(page, `id="id_username"`) {
		t.Fatalf("login page with gzip: %q\n%s", resp.Header.Get("Content-Encoding"), page)
	}
	if resp, page := get("/auth/login/", map[string]string{"Accept-Encoding": "identity"}); resp.Header.Get("Content-Encoding") != "" || !strings.Contains(page, `id="id_username"`) {
		t.Fatalf("login page without gzip: %q", resp.Header.Get("Content-Encoding"))
	}
	assets := regexp.MustCompile(`(?:href|src)="(/static/[^"?]+)\?v=([0-9a-f]+)"`).FindAllStringSubmatch(page, -1)
	if len(assets) != 2 {
		t.Fatalf("the login page links %d versioned static files, want 2 (CSS, JS):\n%s", len(assets), page)
	}
	for _, a := range assets {
		resp, body := get(a[1]+"?v="+a[2], gz)
		if resp.StatusCode != 200 || len(body) == 0 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: %d, %d bytes, encoding %q", a[1], resp.StatusCode, len(body), resp.Header.Get("Content-Encoding"))
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q for the versioned address", a[1], cc)
		}
		if cc := func() string { r, _ := get(a[1], nil); return r.Header.Get("Cache-Control") }(); strings.Contains(cc, "immutable") {
			t.Errorf("%s: the unversioned address is cached as immutable (%q)", a[1], cc)
		}
		if r, _ := get(a[1], map[string]string{"If-None-Match": resp.Header.Get("ETag")}); r.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", a[1], r.StatusCode)
		}
	}
	if resp, _ := get("/static/no-such.js", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing static file: %d", resp.StatusCode)
	}
}

// walkPages follows a list's Next links from its first page and returns the
// row ids in order; every page must hold at most size rows, and Prev from
// the last page must show the page before it.
func walkPages(t *testing.T, b *browser, path string, row *regexp.Regexp, size int) []string {
	t.Helper()
	var (
		all   []string
		pages [][]string
	)
	_, page := b.get(path)
	noError(t, path, page)
	if prev := link(prevRe, page); prev != "" {
		t.Fatalf("%s: the first page has a Prev link %q", path, prev)
	}
	for i := 0; ; i++ {
		var ids []string
		for _, m := range row.FindAllStringSubmatch(page, -1) {
			ids = append(ids, m[1])
		}
		if len(ids) > size {
			t.Fatalf("%s: page %d has %d rows, the page size is %d", path, i, len(ids), size)
		}
		pages = append(pages, ids)
		all = append(all, ids...)
		next := link(nextRe, page)
		if next == "" {
			break
		}
		if i > 50 {
			t.Fatalf("%s: Next never ends", path)
		}
		_, page = b.get(next)
		noError(t, next, page)
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Fatalf("%s: row %s on two pages: %v", path, id, pages)
		}
		seen[id] = true
	}
	if len(pages) > 1 {
		_, back := b.get(link(prevRe, page))
		var ids []string
		for _, m := range row.FindAllStringSubmatch(back, -1) {
			ids = append(ids, m[1])
		}
		if want := pages[len(pages)-2]; strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: Prev from the last page shows %v, want %v", path, ids, want)
		}
	}
	return all
}

// TestListsPaging pages networks, images, volumes and the admin's images.
func TestListsPaging(t *testing.T) {
	c := testkit.StartWith(t, testkit.Options{})
	b := startDashboard(t, c, func(o *dashboard.Options) { o.PageSize = 2 })
	b.login("demo", testkit.Password)
	ctx := context.Background()
	netc := c.Client(t, "demo", "demo", "network")
	imgc := c.Client(t, "demo", "demo", "image")
	want := map[string][]string{}
	for i := range 5 {
		n, err := networks.Create(ctx, netc, networks.CreateOpts{Name: fmt.Sprintf("paged-net-%d", i)}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		want["net"] = append(want["net"], n.ID)
		im, err := images.Create(ctx, imgc, images.CreateOpts{Name: fmt.Sprintf("paged-img-%d", i), DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		want["image"] = append(want["image"], im.ID)
	}
	if _, ok := c.URLs["cinder"]; ok {
		volc := c.Client(t, "demo", "demo", "volume")
		for i := range 3 {
			v, err := volumes.Create(ctx, volc, volumes.CreateOpts{Name: fmt.Sprintf("paged-vol-%d", i), Size: 1}, nil).Extract()
			if err != nil {
				t.Fatal(err)
			}
			want["volume"] = append(want["volume"], v.ID)
		}
	}
	check := func(b *browser, kind, path string) {
		t.Helper()
		got := walkPages(t, b, path, regexp.MustCompile(`<tr id="`+kind+`-([0-9a-f-]{36})"`), 2)
		t.Logf("%s: %d rows on %d-row pages", path, len(got), 2)
		for _, id := range want[kind] {
			if !slices.Contains(got, id) {
				t.Errorf("%s: %s %s is on no page (%v)", path, kind, id, got)
			}
		}
	}
	check(b, "net", "/project/networks/")
	check(b, "image", "/project/images/")
	if want["volume"] != nil {
		check(b, "volume", "/project/volumes/")
	}
	a := startDashboard(t, c, func(o *dashboard.Options) { o.PageSize = 2 })
	a.login("admin", testkit.Password)
	check(a, "image", "/admin/images/")
}

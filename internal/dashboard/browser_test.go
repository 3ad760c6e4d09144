package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

// chromium finds Debian's chromium (scripts/install-deps installs it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (scripts/install-deps installs Debian's chromium)")
	return ""
}

// startChromium starts headless Chromium with the flags the issue names;
// it stops with the test.
func startChromium(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestBrowserLaunchInstance drives headless Chromium through the dashboard as a
// person would: log in as demo, look at the overview, launch an instance
// through the wizard, watch its boot sequence reach ACTIVE, read its console
// log, create a network with a subnet and a router and see them in the
// topology, allocate and associate a floating IP, upload an image, switch to
// Japanese, log out; then log in as admin and walk the admin pages.
// Each page's screenshot is a PNG in $TENKU_SCREENSHOTS (a temporary
// directory when unset):
//
//	TENKU_SCREENSHOTS=/tmp/tenku-shots go test -run TestBrowser ./internal/dashboard/
func TestBrowserLaunchInstance(t *testing.T) {
	exe := chromium(t)
	shots := os.Getenv("TENKU_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	c := testkit.StartWith(t, testkit.Options{})
	base := c.URLs["horizon"]

	ctx := startChromium(t, exe)

	fail := func(what string, err error) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		html, _ := chromedp.Run(sctx, chromedp.Evaluate[string](`document.body ? document.body.outerHTML : ""`))
		t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			fail(what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		v, err := chromedp.Run(sctx, chromedp.Evaluate[string](fmt.Sprintf(`(function(){var e=document.querySelector(%q); return e ? e.innerText : "(no "+%q+")"})()`, sel, sel)))
		if err != nil {
			fail("read "+sel, err)
		}
		return v
	}
	// until waits for the text of sel to contain want (a form's answer is a
	// new page; the old one answers queries until it arrives).
	until := func(sel, want string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			v := text(sel)
			if strings.Contains(v, want) {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never showed %q; it shows %q", sel, want, v)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	n := 0
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100 makes a PNG; other qualities make JPEG
		if err != nil {
			fail("screenshot "+name, err)
		}
		n++
		if err := os.WriteFile(filepath.Join(shots, fmt.Sprintf("%02d-%s.png", n, name)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	do("open the dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#id_username")))
	shot("login")
	do("log in",
		chromedp.SendKeys(css("#id_username"), "demo"),
		chromedp.SendKeys(css("#id_password"), testkit.Password),
		chromedp.Click(css("#loginBtn")),
		chromedp.WaitVisible(css(".gauges")),
	)
	if h := text("main h1"); h != "Overview" {
		t.Fatalf("after login the heading is %q", h)
	}
	shot("overview")

	do("open the launch wizard",
		chromedp.Navigate(base+"/project/instances/"),
		chromedp.Click(css("#launch")),
		chromedp.WaitVisible(css("#id_name")),
		chromedp.SendKeys(css("#id_name"), "browser-vm"),
	)
	shot("launch-wizard")
	do("launch", chromedp.Click(css("#launch_submit")), chromedp.WaitVisible(css("#timeline")))
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := text("#status")
		if st == "ACTIVE" {
			break
		}
		if st == "ERROR" || time.Now().After(deadline) {
			t.Fatalf("browser-vm is %s", st)
		}
		time.Sleep(time.Second)
	}
	do("wait for the page", chromedp.WaitVisible(css("#timeline")))
	done, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("ol.timeline li.done")).map(e => e.dataset.step)`))
	if err != nil {
		fail("timeline", err)
	}
	if strings.Join(done, ",") != "scheduling,networking,block_device_mapping,spawning,active" {
		t.Fatalf("timeline steps done: %v", done)
	}
	shot("instance-active")
	do("console log", chromedp.Click(css(`a[href$="/console/"]`)), chromedp.WaitVisible(css("#console")))
	shot("console-log")

	do("instances list", chromedp.Navigate(base+"/project/instances/"), chromedp.WaitVisible(css("#instances")))
	if rows := text("#instances tbody"); !strings.Contains(rows, "browser-vm") || !strings.Contains(rows, "ACTIVE") {
		t.Fatalf("instances list: %q", rows)
	}
	shot("instances")

	do("create a network and a subnet",
		chromedp.Navigate(base+"/project/networks/"),
		chromedp.WaitVisible(css("#id_net_name")),
		chromedp.SendKeys(css("#id_net_name"), "browser-net"),
		chromedp.SendKeys(css("#id_subnet_name"), "browser-sub"),
		chromedp.SendKeys(css("#id_cidr"), "10.99.0.0/24"),
		chromedp.Click(css("#create_network")),
	)
	until("#networks", "browser-sub 10.99.0.0/24")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){var s=document.getElementById("id_external_network"); s.selectedIndex=s.options.length-1;
		var r=document.getElementById("id_router_subnet"); for (var i=0;i<r.options.length;i++){ if (r.options[i].text.indexOf("browser-sub")===0) r.selectedIndex=i; } return true})()`)); err != nil {
		fail("pick the router's networks", err)
	}
	do("create a router",
		chromedp.SendKeys(css("#id_router_name"), "browser-router"),
		chromedp.Click(css("#create_router")),
	)
	until("#routers", "browser-router")
	do("open the topology", chromedp.Click(css("#topology_link")), chromedp.WaitVisible(css("#topology")))
	if topo := text("#topology"); !strings.Contains(topo, "browser-router") || !strings.Contains(topo, "browser-net") || !strings.Contains(topo, "browser-vm") {
		t.Fatalf("topology: %q\nalerts: %q\nnetworks: %q", topo, text("main"), text("#networks"))
	}
	shot("network-topology")

	do("allocate a floating IP", chromedp.Navigate(base+"/project/networks/"), chromedp.WaitVisible(css("#allocate_fip")), chromedp.Click(css("#allocate_fip")))
	until("main", "Allocated floating IP")
	do("associate it", chromedp.Click(css("#floatingips a.associate")), chromedp.WaitVisible(css("#associate_fip")), chromedp.Click(css("#associate_fip")))
	until("main", "Associated the floating IP")
	if fips := text("#floatingips tbody"); !strings.Contains(fips, "10.") {
		t.Fatalf("floating IP not mapped: %q", fips)
	}
	shot("floating-ips")

	img := filepath.Join(t.TempDir(), "tiny.raw")
	if err := os.WriteFile(img, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	do("upload an image",
		chromedp.Navigate(base+"/project/images/"),
		chromedp.WaitVisible(css("#id_file")),
		chromedp.SendKeys(css("#id_image_name"), "browser-image"),
		chromedp.SetUploadFiles(css("#id_file"), []string{img}),
		chromedp.Click(css("#upload_image")),
	)
	until("main", "Uploaded image")
	if imgs := text("#images"); !strings.Contains(imgs, "browser-image") {
		t.Fatalf("images: %q", imgs)
	}
	shot("images")

	// Japanese, chosen with the switch; the page comes back translated.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){document.getElementById("id_language").value="ja"; return true})()`)); err != nil {
		fail("pick Japanese", err)
	}
	do("switch to Japanese", chromedp.Click(css("#setlang")))
	until("main h1", "イメージ")
	if menu := text("nav.side"); !strings.Contains(menu, "インスタンス") || !strings.Contains(menu, "ネットワーク") {
		t.Fatalf("the menu is not in Japanese: %q", menu)
	}
	shot("images-ja")
	do("instances in Japanese", chromedp.Navigate(base+"/project/instances/"), chromedp.WaitVisible(css("#instances")))
	until("#instances thead", "電源状態")
	shot("instances-ja")

	do("log out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#id_username")))
	shot("logged-out")

	// The admin walks the admin pages (in the language chosen above).
	do("log in as admin",
		chromedp.SendKeys(css("#id_username"), "admin"),
		chromedp.SendKeys(css("#id_password"), testkit.Password),
		chromedp.Click(css("#loginBtn")),
		chromedp.WaitVisible(css("#admin_menu")),
	)
	for _, pg := range []struct{ path, sel, name string }{
		{"/admin/hypervisors/", "main h1", "admin-hypervisors"},
		{"/admin/instances/", "#instances", "admin-instances"},
		{"/admin/images/", "#images", "admin-images"},
		{"/admin/flavors/", "main h1", "admin-flavors"},
		{"/admin/info/", "main h1", "admin-system-information"},
		{"/identity/", "#users", "identity"},
	} {
		do(pg.name, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(css(pg.sel)))
		if e := text(".alert.error"); !strings.HasPrefix(e, "(no ") {
			t.Errorf("%s shows an error: %q", pg.path, e)
		}
		shot(pg.name)
	}
	do("admin logs out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#id_username")))
	t.Logf("screenshots in %s", shots)
}

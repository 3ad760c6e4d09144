package dashboard_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestBrowserLaunchFromVolume picks "Volume" as the launch wizard's boot
// source in headless Chromium: the image's fields hide and the volume's
// show, the instance launched boots from the volume (no image at Nova, the
// volume attached) and reaches ACTIVE. The wizard's screenshot is
// launch-from-volume.png in $TENKU_SCREENSHOTS when that is set.
func TestBrowserLaunchFromVolume(t *testing.T) {
	exe := chromium(t)
	c := testkit.StartWith(t, testkit.Options{})
	bctx := context.Background()
	hb := newBrowser(t, c.URLs["horizon"])
	hb.login("demo", testkit.Password)
	image := launchForm(t, hb).Get("image")
	vc := c.Client(t, "demo", "demo", "volume")
	vol, err := volumes.Create(bctx, vc, volumes.CreateOpts{Name: "browser-root", Size: 1, ImageID: image}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, func() bool {
		v, err := volumes.Get(bctx, vc, vol.ID).Extract()
		return err == nil && v.Status == "available"
	}, "volume %s never became available", vol.ID)

	ctx := startChromium(t, exe)
	base := c.URLs["horizon"]
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	eval := func(js string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		v, err := chromedp.Run(sctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v\npage:\n%s", what, err, eval(`document.body ? document.body.outerHTML : ""`))
		}
	}
	shown := `["image","volume"].map(s => document.querySelector("fieldset[data-source="+s+"]").hidden ? "-" : s).join(",")`

	do("log in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#id_username")),
		chromedp.SendKeys(css("#id_username"), "demo"),
		chromedp.SendKeys(css("#id_password"), testkit.Password),
		chromedp.Click(css("#loginBtn")), chromedp.WaitVisible(css(".gauges")))
	do("open the launch wizard", chromedp.Navigate(base+"/project/instances/launch/"), chromedp.WaitVisible(css("#id_name")),
		chromedp.SendKeys(css("#id_name"), "browser-bfv"))
	if got := eval(shown); got != "image,-" {
		t.Fatalf("with the Image source the wizard shows %q", got)
	}
	do("pick the volume source", chromedp.Click(css("#id_source_volume")), chromedp.WaitVisible(css("#id_volume")))
	if got := eval(shown); got != "-,volume" {
		t.Fatalf("with the Volume source the wizard shows %q", got)
	}
	if got := eval(`document.getElementById("id_volume").value`); got != vol.ID {
		t.Fatalf("the volume offered is %q, want %s", got, vol.ID)
	}
	if dir := os.Getenv("TENKU_SCREENSHOTS"); dir != "" {
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "launch-from-volume.png"), buf, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	do("launch", chromedp.Click(css("#launch_submit")), chromedp.WaitVisible(css("#timeline")))
	m := regexp.MustCompile(`/project/instances/([0-9a-f-]{36})/`).FindStringSubmatch(eval(`location.pathname`))
	if m == nil {
		t.Fatalf("after the launch the browser is at %s", eval(`location.href`))
	}
	cc := c.Client(t, "demo", "demo", "compute")
	var srv *servers.Server
	testkit.Eventually(t, 90*time.Second, func() bool {
		srv, err = servers.Get(bctx, cc, m[1]).Extract()
		return err == nil && (srv.Status == "ACTIVE" || srv.Status == "ERROR")
	}, "browser-bfv never built")
	if srv.Status != "ACTIVE" {
		t.Fatalf("browser-bfv is %s: %+v", srv.Status, srv.Fault)
	}
	if id, _ := srv.Image["id"].(string); id != "" || len(srv.AttachedVolumes) != 1 || srv.AttachedVolumes[0].ID != vol.ID {
		t.Fatalf("browser-bfv has image %q and volumes %+v, want none and %s", id, srv.AttachedVolumes, vol.ID)
	}
}

package dashboard_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestInstanceResize resizes an instance through the flavor picker, reverts
// it from VERIFY_RESIZE, resizes it again and confirms.
func TestInstanceResize(t *testing.T) {
	c := testkit.StartWith(t, testkit.Options{})
	b := newBrowser(t, c.URLs["horizon"])
	b.login("demo", testkit.Password)
	form := launchForm(t, b)
	form.Set("name", "grow-me")
	resp, _ := b.post("/project/instances/launch/", form)
	m := regexp.MustCompile(`/project/instances/([0-9a-f-]{36})/`).FindStringSubmatch(resp.Request.URL.Path)
	if m == nil {
		t.Fatalf("launch went to %s", resp.Request.URL)
	}
	id := m[1]
	var page string
	waitStatus := func(status string) {
		t.Helper()
		testkit.Eventually(t, 60*time.Second, func() bool {
			_, page = b.get("/project/instances/" + id + "/")
			return strings.Contains(page, `id="status">`+status+`<`)
		}, "grow-me never reached "+status)
	}
	waitStatus("ACTIVE")
	if !strings.Contains(page, `href="/project/instances/`+id+`/resize/"`) {
		t.Fatal("an ACTIVE instance is not offered Resize")
	}
	_, page = b.get("/project/instances/" + id + "/resize/")
	noError(t, "resize form", page)
	old := regexp.MustCompile(`id="old_flavor">[^<]*<strong>([^<]+)</strong>`).FindStringSubmatch(page)
	choices := flavorRe.FindAllStringSubmatch(page, -1)
	if old == nil || len(choices) == 0 || strings.Contains(page, `<label for="flavor-`+form.Get("flavor")+`">`) {
		t.Fatalf("the resize form: old flavor %v, choices %v (the current one must not be offered)", old, choices)
	}
	csrf := field(page, "csrfmiddlewaretoken")
	resize := func(flavor string) string {
		t.Helper()
		_, page := b.post("/project/instances/"+id+"/resize/", url.Values{"csrfmiddlewaretoken": {csrf}, "name": {"grow-me"}, "flavor": {flavor}, "disk_config": {"AUTO"}})
		return page
	}
	// The current flavor: Nova's refusal, on the form again.
	if page = resize(form.Get("flavor")); !strings.Contains(page, "HTTP 400") || !strings.Contains(page, `id="resizeform"`) {
		t.Errorf("resize to the same flavor: no 400 from Nova on the form")
	}
	if page = resize(""); !strings.Contains(page, "Choose the new flavor.") {
		t.Errorf("resize without a flavor was not refused")
	}
	op := func(op string) {
		t.Helper()
		_, page := b.post("/project/instances/"+id+"/action/", url.Values{"csrfmiddlewaretoken": {csrf}, "op": {op}, "name": {"grow-me"}})
		noError(t, op, page)
	}
	noError(t, "resize", resize(choices[0][1]))
	waitStatus("VERIFY_RESIZE")
	if !strings.Contains(page, `value="confirm_resize"`) || !strings.Contains(page, `value="revert_resize"`) {
		t.Fatal("VERIFY_RESIZE offers no confirm and revert")
	}
	op("revert_resize")
	waitStatus("ACTIVE")
	if !strings.Contains(page, "<dd>"+old[1]+" (") {
		t.Errorf("after the revert the flavor is not %s again", old[1])
	}
	noError(t, "resize", resize(choices[0][1]))
	waitStatus("VERIFY_RESIZE")
	op("confirm_resize")
	waitStatus("ACTIVE")
	if strings.Contains(page, "<dd>"+old[1]+" (") {
		t.Errorf("after the confirm the flavor is still %s", old[1])
	}
}

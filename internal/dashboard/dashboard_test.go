package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/dashboard"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// browser is a cookie-keeping HTTP client on the dashboard, as tempest's
// urllib opener and a browser are.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	jar  *cookiejar.Jar
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: strings.TrimSuffix(base, "/"), c: &http.Client{Jar: jar, Timeout: 30 * time.Second}, jar: jar}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var inputValue = regexp.MustCompile(`<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"`)

// field returns the value of a named input of a page.
func field(page, name string) string {
	for _, m := range inputValue.FindAllStringSubmatch(page, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}

// login logs in as tempest's scenario does: the form's CSRF token and region,
// the user, the password and the domain.
func (b *browser) login(user, password string) (*http.Response, string) {
	b.t.Helper()
	_, page := b.get("/")
	return b.post("/auth/login/", url.Values{
		"username": {user}, "password": {password}, "domain": {"Default"},
		"region": {field(page, "region")}, "csrfmiddlewaretoken": {field(page, "csrfmiddlewaretoken")},
	})
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func startCloud(t *testing.T) *testkit.Cloud {
	return testkit.Start(t, "neutron", "nova", "horizon")
}

func TestLoginOverviewLogout(t *testing.T) {
	c := startCloud(t)
	b := newBrowser(t, c.URLs["horizon"])
	var banner strings.Builder
	c.Banner(&banner, stack.Components())
	if !strings.Contains(banner.String(), "Horizon is now available at "+c.URLs["horizon"]+"/\n") {
		t.Errorf("banner lacks devstack's Horizon line:\n%s", banner.String())
	}

	// The login page, as tempest's check_login_page and HorizonHTMLParser see it.
	resp, page := b.get("/")
	if resp.StatusCode != 200 || !strings.Contains(page, `id="id_username"`) || !strings.Contains(page, `id="id_password"`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, page)
	}
	if field(page, "csrfmiddlewaretoken") == "" || field(page, "region") != "RegionOne" || !strings.Contains(page, `action="/auth/login/"`) {
		t.Fatalf("login form lacks csrfmiddlewaretoken, region or action:\n%s", page)
	}
	if strings.Contains(page, "Overview") {
		t.Fatal("the login page shows the overview")
	}

	resp, page = b.login("demo", testkit.Password)
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/project/" {
		t.Fatalf("after login: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	for _, want := range []string{"<h1>Overview</h1>", "Instances", "VCPUs", "RAM", "Floating IPs", "Ports", "demo"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(page, `class="alert error"`) {
		t.Errorf("overview shows an error:\n%s", page)
	}
	// tempest's check_home_page reads the dashboard's root.
	if _, home := b.get("/"); !strings.Contains(home, "Overview") {
		t.Fatal("the root page after login lacks Overview")
	}
	sess := b.cookie("tenku_session")
	if sess == nil {
		t.Fatal("no session cookie")
	}
	// The cookie's flags, from the Set-Cookie header itself.
	resp, _ = b.get("/project/")
	sc := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(sc, "tenku_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Fatalf("session cookie flags: %s", sc)
	}
	if strings.Contains(sess.Value, "gAAAA") || len(sess.Value) < 100 {
		t.Fatalf("session cookie looks unsealed: %q", sess.Value)
	}

	// Logging out needs the session's CSRF token.
	resp, _ = b.post("/auth/logout/", url.Values{"csrfmiddlewaretoken": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout with a forged CSRF token: %d", resp.StatusCode)
	}
	_, page = b.get("/auth/logout/")
	csrf := field(page, "csrfmiddlewaretoken")
	resp, page = b.post("/auth/logout/", url.Values{"csrfmiddlewaretoken": {csrf}})
	if resp.Request.URL.Path != "/auth/login/" || !strings.Contains(page, "id_username") {
		t.Fatalf("after logout: %s", resp.Request.URL)
	}
	// Replaying the old cookie finds the tokens revoked at Keystone.
	replay := newBrowser(t, c.URLs["horizon"])
	u, _ := url.Parse(replay.base)
	replay.jar.SetCookies(u, []*http.Cookie{{Name: sess.Name, Value: sess.Value, Path: "/"}})
	resp, _ = replay.get("/project/")
	if resp.Request.URL.Path != "/auth/login/" {
		t.Fatalf("the logged-out session still works: %s", resp.Request.URL)
	}
	// The replayed CSRF token is worthless too.
	resp, _ = replay.post("/auth/switch/", url.Values{"csrfmiddlewaretoken": {csrf}, "project_id": {"x"}})
	if resp.Request.URL.Path != "/auth/login/" {
		t.Fatalf("a replayed CSRF token with a dead session: %d %s", resp.StatusCode, resp.Request.URL)
	}
}

func TestLoginRefusals(t *testing.T) {
	c := startCloud(t)
	b := newBrowser(t, c.URLs["horizon"])
	resp, wrongPass := b.login("demo", "wrong")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(wrongPass, "Invalid credentials.") {
		t.Fatalf("wrong password: %d\n%s", resp.StatusCode, wrongPass)
	}
	resp, wrongUser := b.login("nobody", "wrong")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(wrongUser, "Invalid credentials.") {
		t.Fatalf("unknown user: %d", resp.StatusCode)
	}
	// A login form without the csrftoken cookie's secret is refused.
	_, page := b.get("/")
	resp, _ = b.post("/auth/login/", url.Values{"username": {"demo"}, "password": {testkit.Password}, "region": {field(page, "region")}, "csrfmiddlewaretoken": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged login CSRF: %d", resp.StatusCode)
	}
	other := newBrowser(t, c.URLs["horizon"])
	resp, _ = other.post("/auth/login/", url.Values{"username": {"demo"}, "password": {testkit.Password}, "region": {field(page, "region")}, "csrfmiddlewaretoken": {field(page, "csrfmiddlewaretoken")}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another browser's login CSRF token: %d", resp.StatusCode)
	}
	// A cross-site form post is refused even with the right token.
	req, _ := http.NewRequest("POST", b.base+"/auth/login/", strings.NewReader(url.Values{"username": {"demo"}, "password": {testkit.Password}, "csrfmiddlewaretoken": {field(page, "csrfmiddlewaretoken")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin login: %v %v", resp.StatusCode, err)
	}
	// Pages without a session send the browser to the login form.
	resp, _ = newBrowser(t, c.URLs["horizon"]).get("/project/")
	if resp.Request.URL.Path != "/auth/login/" || resp.Request.URL.Query().Get("next") != "/project/" {
		t.Fatalf("no session: %s", resp.Request.URL)
	}
	// A tampered cookie is no session.
	b.login("demo", testkit.Password)
	sess := b.cookie("tenku_session")
	v := []byte(sess.Value)
	v[len(v)/2] ^= 1
	if v[len(v)/2] == sess.Value[len(v)/2] {
		t.Fatal("tamper failed")
	}
	u, _ := url.Parse(b.base)
	b.jar.SetCookies(u, []*http.Cookie{{Name: sess.Name, Value: string(v), Path: "/"}})
	if resp, _ = b.get("/project/"); resp.Request.URL.Path != "/auth/login/" {
		t.Fatalf("tampered cookie accepted: %s", resp.Request.URL)
	}
}

func TestProjectSwitcher(t *testing.T) {
	c := startCloud(t)
	b := newBrowser(t, c.URLs["horizon"])
	_, page := b.login("admin", testkit.Password)
	if !strings.Contains(page, `<option value="`) || strings.Count(page, "<option ") < 2 {
		t.Fatalf("admin's switcher lists fewer than two projects:\n%s", page)
	}
	var demoID string
	for _, m := range regexp.MustCompile(`<option value="([^"]+)"[^>]*>([^<]+)</option>`).FindAllStringSubmatch(page, -1) {
		if m[2] == "demo" {
			demoID = m[1]
		}
	}
	if demoID == "" {
		t.Fatal("no demo project in the switcher")
	}
	resp, _ := b.post("/auth/switch/", url.Values{"project_id": {demoID}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("switch without CSRF: %d", resp.StatusCode)
	}
	resp, page = b.post("/auth/switch/", url.Values{"project_id": {demoID}, "csrfmiddlewaretoken": {field(page, "csrfmiddlewaretoken")}})
	if resp.StatusCode != 200 || !regexp.MustCompile(`<option value="`+demoID+`" selected>demo</option>`).MatchString(page) {
		t.Fatalf("after switching to demo: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post("/auth/switch/", url.Values{"project_id": {"no-such-project"}, "csrfmiddlewaretoken": {field(page, "csrfmiddlewaretoken")}})
	if !strings.Contains(page, "you have no project") {
		t.Fatalf("switch to a foreign project: %d\n%s", resp.StatusCode, page)
	}
}

func TestIdleTimeout(t *testing.T) {
	c := testkit.Start(t, "nova", "neutron")
	cfg := dashboard.DefaultConfig()
	cfg.Dashboard.SessionTimeout = 1
	cfg.Dashboard.SecretKey = "test-secret"
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
	b := newBrowser(t, "http://"+ln.Addr().String())
	if resp, _ := b.login("demo", testkit.Password); resp.Request.URL.Path != "/project/" {
		t.Fatalf("login: %s", resp.Request.URL)
	}
	time.Sleep(2100 * time.Millisecond)
	if resp, _ := b.get("/project/"); resp.Request.URL.Path != "/auth/login/" {
		t.Fatalf("an idle session outlived its timeout: %s", resp.Request.URL)
	}
}

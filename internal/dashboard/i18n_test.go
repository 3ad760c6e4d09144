package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

func TestLanguages(t *testing.T) {
	c := testkit.Start(t, "nova", "neutron", "horizon")
	b := newBrowser(t, c.URLs["horizon"])
	get := func(path, accept string) string {
		req, _ := http.NewRequest("GET", b.base+path, nil)
		req.Header.Set("Accept-Language", accept)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return sb.String()
	}
	// Accept-Language chooses, by quality.
	if p := get("/auth/login/", "ja,en;q=0.8"); !strings.Contains(p, `<html lang="ja">`) || !strings.Contains(p, "ログイン") || !strings.Contains(p, "ユーザー名") {
		t.Fatalf("Japanese login page:\n%s", p)
	}
	if p := get("/auth/login/", "fr, en;q=0.9, ja;q=0.5"); !strings.Contains(p, `<html lang="en">`) || !strings.Contains(p, "User Name") {
		t.Fatal("English was preferred but not chosen")
	}
	if p := get("/auth/login/", "ja;q=0"); !strings.Contains(p, "User Name") {
		t.Fatal("q=0 means not Japanese")
	}
	// The switch overrides Accept-Language, logged in or not.
	_, page := b.login("demo", testkit.Password)
	if !strings.Contains(page, "<h1>Overview</h1>") {
		t.Fatal("no Accept-Language: not English")
	}
	resp, page := b.post("/i18n/setlang/", url.Values{"language": {"ja"}, "next": {"/project/"}})
	if resp.Request.URL.Path != "/project/" || !strings.Contains(page, "<h1>概要</h1>") || !strings.Contains(page, "インスタンス") || !strings.Contains(page, "仮想 CPU") {
		t.Fatalf("after switching to Japanese: %s\n%s", resp.Request.URL, page)
	}
	if p := get("/project/", "en"); !strings.Contains(p, "<h1>概要</h1>") {
		t.Fatal("the chosen language did not outlast Accept-Language")
	}
	// Beyond the menu: a list page, a form, and the dashboard's own refusal.
	_, page = b.get("/project/instances/")
	if !strings.Contains(page, "<title>インスタンス - tenku</title>") || !strings.Contains(page, ">インスタンスの起動</a>") || !strings.Contains(page, "<th>電源状態</th>") {
		t.Errorf("the instances page is not in Japanese:\n%s", page)
	}
	_, page = b.get("/project/instances/launch/")
	if !strings.Contains(page, "インスタンス名") || !strings.Contains(page, "<legend>フレーバー</legend>") {
		t.Errorf("the launch form is not in Japanese:\n%s", page)
	}
	_, page = b.post("/project/instances/launch/", url.Values{"csrfmiddlewaretoken": {field(page, "csrfmiddlewaretoken")}, "name": {"x"}, "count": {"0"}})
	if !strings.Contains(page, "インスタンス数は 1 から 100 までの数値で指定してください。") {
		t.Errorf("the dashboard's refusal is not in Japanese:\n%s", page)
	}
	if resp, _ := b.post("/i18n/setlang/", url.Values{"language": {"xx"}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown language: %d", resp.StatusCode)
	}
	// The switch goes back only to this site.
	if resp, _ := b.post("/i18n/setlang/", url.Values{"language": {"en"}, "next": {"//evil.example/"}}); resp.Request.URL.Host != strings.TrimPrefix(b.base, "http://") {
		t.Fatalf("the switch redirected off-site: %s", resp.Request.URL)
	}
	if _, p := b.get("/project/"); !strings.Contains(p, "<h1>Overview</h1>") {
		t.Fatal("switching back to English failed")
	}
}

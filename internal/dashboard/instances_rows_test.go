package dashboard

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	compute "github.com/tenku-cloud/tenku/api/compute"
)

// benchPage is the instances page of 20 servers as the bench's project
// shows them: addresses, a flavor, a key pair, and every row's actions.
func benchPage(b *testing.B, lang string) (*Dashboard, *page) {
	d := &Dashboard{assets: map[string]*asset{}}
	if err := d.parseTemplates(); err != nil {
		b.Fatal(err)
	}
	key := "mykey"
	var servers []compute.Server
	for i := range 20 {
		s := compute.Server{ID: fmt.Sprintf("8c1a6b9e-0000-4000-8000-%012d", i), Name: fmt.Sprintf("bench-%d", i),
			Status: "ACTIVE", VMState: "active", PowerState: 1, KeyName: &key, Created: "2026-12-07T20:00:00Z",
			Image:     compute.ImageRef{ID: "img-1"},
			Addresses: map[string][]compute.Address{"private": {{Addr: fmt.Sprintf("10.0.0.%d", i+2)}, {Addr: "172.24.4.9", Type: "floating"}}}}
		s.Flavor.OriginalName = "m1.tiny"
		servers = append(servers, s)
	}
	r := httptest.NewRequest("GET", "/project/instances/", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	tok := &token{Roles: []ref{{Name: "admin"}}}
	for _, typ := range []string{"compute", "network", "image", "volumev3"} {
		e := catalogEntry{Type: typ}
		e.Endpoints = append(e.Endpoints, struct {
			Interface string `json:"interface"`
			Region    string `json:"region"`
			RegionID  string `json:"region_id"`
			URL       string `json:"url"`
		}{Interface: "public", Region: "RegionOne", URL: "http://x/"})
		tok.Catalog = append(tok.Catalog, e)
	}
	p := &page{r: r, Lang: lang, Name: "instances", Title: "Instances", s: &session{CSRF: "c", UserName: "admin"},
		info: &tokenInfo{tok: tok}, cl: &cloud{info: tok, region: "RegionOne"}}
	pg := &pager{Limit: 20, self: *r.URL}
	p.Data = &instancesData{Instances: enrich(servers, nil, p.T), Pager: pg}
	return d, p
}

// BenchmarkInstancesRender: the instances page's template and gzip, without
// the API calls (go test -run X -bench InstancesRender ./internal/dashboard/).
func BenchmarkInstancesRender(b *testing.B) {
	for _, lang := range []string{"en", "ja"} {
		b.Run(lang, func(b *testing.B) {
			d, p := benchPage(b, lang)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				w.Body = nil
				d.render(discard{w}, "instances", p, 200)
			}
		})
	}
}

type discard struct{ *httptest.ResponseRecorder }

func (discard) Write(b []byte) (int, error) { return io.Discard.Write(b) }

// TestInstanceRowsEscaped: the rows written outside the template escape
// what the APIs return (a name, a fault, the page's address) as the
// template would, and keep every row's actions.
func TestInstanceRowsEscaped(t *testing.T) {
	d, p := benchPage(&testing.B{}, "en")
	data := p.Data.(*instancesData)
	data.Instances[0].Name = `<script>x"'&</script>`
	data.Instances[0].Fault = &compute.Fault{Message: `No valid host "<b>"`}
	data.Pager.self.RawQuery = "marker=a&b=<c>"
	var b strings.Builder
	if err := d.pages["instances"].ExecuteTemplate(&b, "rows", p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script>", `"<b>"`, "b=<c>"} {
		if strings.Contains(out, bad) {
			t.Errorf("the rows carry %q unescaped:\n%s", bad, out)
		}
	}
	for _, want := range []string{`&lt;script&gt;x&#34;&#39;&amp;&lt;/script&gt;</a>`, `title="No valid host &#34;&lt;b&gt;&#34;"`,
		`value="/project/instances/?b=%3Cc%3E&amp;marker=a"`, `data-confirm="Delete Instance: &lt;script&gt;`} {
		if !strings.Contains(out, want) {
			t.Errorf("the rows lack %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, `value="delete"`); n != 20 {
		t.Errorf("%d delete buttons, want one a row (20)", n)
	}
}

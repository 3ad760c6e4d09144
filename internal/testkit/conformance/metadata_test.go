package conformance_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// The metadata API is served by the shared router like every other API
// (issue 13): every one of its routes, sent every bad body with and
// without the proxy's signed headers, answers without a 5xx and in its own
// plain-text error format; a password that is not UTF-8 is refused with 400
// and not kept, where it used to be stored as sent.
func TestMetadataBadInput(t *testing.T) {
	c := startCloud(t, nil)
	ctx := context.Background()
	sc := computeClient(t, c, "demo", "demo", "2.93")
	s, err := servers.Create(ctx, sc, servers.CreateOpts{Name: "md-bad-input", ImageRef: anImage(t, c), FlavorRef: "1",
		Networks: []servers.Network{{UUID: networkNamed(t, c, "demo", "demo", "private")}}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, sc, s.ID, "ACTIVE", 30*time.Second)
	mac := hmac.New(sha256.New, []byte(c.Secrets.MetadataSecret))
	mac.Write([]byte(s.ID))
	signed := []string{"X-Instance-ID", s.ID, "X-Tenant-ID", projectID(t, c, "demo"), "X-Instance-ID-Signature", hex.EncodeToString(mac.Sum(nil))}
	base := "http://" + c.Addrs["nova-metadata"]

	svc, ok := c.Service("nova-metadata").(interface{ Routes() []rest.Route })
	if !ok || len(svc.Routes()) < 5 {
		t.Fatalf("the metadata API lists no routes (%T)", c.Service("nova-metadata"))
	}
	plain400 := func(code int, out string) bool { return code == 400 && strings.HasPrefix(out, "400 Bad Request\n\n") }
	password := ""
	for _, r := range svc.Routes() {
		path := strings.NewReplacer("{version}", "latest", "{file...}", "meta_data.json", "{path...}", "latest/meta-data/hostname").Replace(r.Path)
		for what, b := range badBodies {
			code, out := rawRequest(t, r.Method, base+path, "", b)
			if !plain400(code, out) && path != "/" {
				t.Errorf("%s %s unsigned with %s: %d %q, want webob's plain-text 400", r.Method, r.Path, what, code, out)
			}
			code, out = rawRequest(t, r.Method, base+path, "", b, signed...)
			switch {
			case code >= 500:
				t.Errorf("%s %s with %s: %d %q", r.Method, r.Path, what, code, out)
			case r.Method == "POST" && !strings.HasPrefix(what, "invalid UTF-8"):
				// The body is the password as text, not JSON: the first
				// one is kept, the others conflict.
				if code == 200 && password == "" {
					password = b
				} else if code != 409 {
					t.Errorf("%s %s with %s: %d %q, want 200 once then 409", r.Method, r.Path, what, code, out)
				}
			case r.Method == "POST":
				if !plain400(code, out) {
					t.Errorf("%s %s with %s: %d %q, want a plain-text 400", r.Method, r.Path, what, code, out)
				}
			case code != 200:
				t.Errorf("%s %s with %s: %d %q, want 200", r.Method, r.Path, what, code, out)
			}
		}
	}
	if code, out := rawRequest(t, "GET", base+"/openstack/latest/password", "", "", signed...); code != 200 || out != password || strings.ContainsRune(out, '\uFFFD') {
		t.Errorf("the password kept: %d %q, want %q", code, out, password)
	}
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/openstack/latest/nosuch", 404},
		{"GET", "/nosuch/meta-data", 404},
		{"GET", "/openstack/latest/password/x", 404},
		{"DELETE", "/openstack/latest/password", 405},
		{"POST", "/openstack/latest/meta_data.json", 405},
	} {
		code, out := rawRequest(t, c.method, base+c.path, "", "", signed...)
		if code != c.code || !strings.HasPrefix(out, fmt.Sprintf("%d %s\n\n", c.code, http.StatusText(c.code))) {
			t.Errorf("%s %s: %d %q, want %d in plain text", c.method, c.path, code, out, c.code)
		}
	}
}

package conformance_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// rawRequest sends a body as given, with a token, and returns the status
// and the response body.
func rawRequest(t *testing.T, method, url, token, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Every service's create and update routes refuse a JSON body followed by
// trailing bytes, a body that is not UTF-8 and a string with a lone
// surrogate: 400 in the service's own error format (issue 13 §4), because
// they all read bodies through one decoder.
func TestBadBodiesRefusedByEveryService(t *testing.T) {
	c := startCloud(t, nil)
	admin := c.Token(t, "admin", "admin")
	nova, neutron, glance, keystone := c.URLs["nova"], c.URLs["neutron"], c.URLs["glance"], c.AuthURL
	for _, u := range []*string{&nova, &neutron, &glance, &keystone} {
		*u = strings.TrimSuffix(*u, "/")
	}
	neutron = strings.TrimSuffix(neutron, "/v2.0")
	keystone = strings.TrimSuffix(keystone, "/v3")
	glance = strings.TrimSuffix(glance, "/v2")
	nova = strings.TrimSuffix(nova, "/v2.1")
	demoProject := projectID(t, c, "demo")

	type route struct {
		method, url, body string // body has %s where a string value goes
	}
	routes := []route{
		{"PUT", nova + "/v2.1/os-quota-sets/" + demoProject, `{"quota_set":{"instances":11}}`},
		{"POST", nova + "/v2.1/os-keypairs", `{"keypair":{"name":"%s"}}`},
		{"POST", nova + "/v2.1/flavors", `{"flavor":{"name":"%s","ram":64,"vcpus":1,"disk":1}}`},
		{"POST", neutron + "/v2.0/networks", `{"network":{"name":"%s"}}`},
		{"POST", neutron + "/v2.0/security-groups", `{"security_group":{"name":"%s"}}`},
		{"POST", keystone + "/v3/projects", `{"project":{"name":"%s"}}`},
		{"POST", keystone + "/v3/users", `{"user":{"name":"%s"}}`},
		{"POST", glance + "/v2/images", `{"name":"%s"}`},
	}
	for _, r := range routes {
		cases := map[string]string{
			"trailing bytes":  strings.Replace(r.body, "%s", "ok", 1) + "xyz",
			"invalid UTF-8":   strings.Replace(r.body, "%s", "bad\xff\xfe", 1),
			"lone surrogate":  strings.Replace(r.body, "%s", `bad\ud800`, 1),
			"lone low surrog": strings.Replace(r.body, "%s", `bad\udc00x`, 1),
		}
		if !strings.Contains(r.body, "%s") {
			cases = map[string]string{"trailing bytes": r.body + "xyz", "invalid UTF-8": r.body[:len(r.body)-1] + "\xff}"}
		}
		for name, body := range cases {
			code, out := rawRequest(t, r.method, r.url, admin, body)
			if code != 400 {
				t.Errorf("%s %s with %s: %d %s, want 400", r.method, r.url, name, code, out)
			}
		}
	}
}

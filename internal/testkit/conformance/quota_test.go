package conformance_test

import (
	"net/url"
	"strings"
	"testing"
)

// PUT /os-quota-sets/{id} checks the project with Keystone, as Nova: an id
// Keystone does not know is a 400, nothing is stored (issue 13 §4).
func TestQuotaSetProjectChecked(t *testing.T) {
	c := startCloud(t, nil)
	admin := c.Token(t, "admin", "admin")
	nova := strings.TrimSuffix(strings.TrimSuffix(c.URLs["nova"], "/"), "/v2.1")
	body := `{"quota_set":{"instances":7}}`
	for _, id := range []string{"no-such-project", "1' OR '1'='1", strings.Repeat("a", 5000)} {
		code, out := rawRequest(t, "PUT", nova+"/v2.1/os-quota-sets/"+url.PathEscape(id), admin, body)
		if code != 400 || !strings.Contains(out, "is not a valid project") {
			t.Errorf("quota for %.20q: %d %.200s, want 400", id, code, out)
		}
	}
	if code, out := rawRequest(t, "PUT", nova+"/v2.1/os-quota-sets/"+projectID(t, c, "demo"), admin, body); code != 200 {
		t.Errorf("quota for demo: %d %s", code, out)
	}
}

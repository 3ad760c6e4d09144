package computetest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
)

// The metadata service describes a booted server to its guest (through
// Neutron's proxy headers) and keeps the password the guest posts, which the
// owner then reads with os-server-password.
func TestMetadataService(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	id := bootActive(t, c, "md")
	h, err := c.Service.MetadataHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	mac := hmac.New(sha256.New, []byte(c.Config.Neutron.MetadataProxySharedSecret))
	mac.Write([]byte(id))
	do := func(method, path, body string) (int, string) {
		t.Helper()
		r, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		r.Header.Set("X-Instance-ID", id)
		r.Header.Set("X-Tenant-ID", computetest.DemoProject)
		r.Header.Set("X-Instance-ID-Signature", hex.EncodeToString(mac.Sum(nil)))
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := do("GET", "/openstack/latest/meta_data.json", "")
	var md map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &md) != nil || md["uuid"] != id || md["name"] != "md" {
		t.Fatalf("meta_data.json: %d %s", code, body)
	}
	code, body = do("GET", "/openstack/latest/network_data.json", "")
	if code != 200 || !strings.Contains(body, `"ethernet_mac_address"`) {
		t.Fatalf("network_data.json: %d %s", code, body)
	}
	pw := strings.Repeat("p", 600)
	if code, _ := do("POST", "/openstack/2013-04-04/password", pw); code != 200 {
		t.Fatalf("post password: %d", code)
	}
	var got struct {
		Password string `json:"password"`
	}
	if code, err := c.Do(context.Background(), "GET", "/v2.1/servers/"+id+"/os-server-password", computetest.DemoToken, "", nil, &got); err != nil || code != 200 || got.Password != pw {
		t.Fatalf("os-server-password: %d %v %d characters", code, err, len(got.Password))
	}
}

package linuxbridge

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/dataplanetest"
)

// fakeNova checks the proxy's signature as Nova's metadata API does and
// answers with the instance and project named.
func fakeNova(t *testing.T, secret string) (host string, port int) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Instance-ID")
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(id))
		if r.Header.Get("X-Instance-ID-Signature") != hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		io.WriteString(w, id+" "+r.Header.Get("X-Tenant-ID")+" "+r.Header.Get("X-Forwarded-For")+" "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	h, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return h, n
}

// getFrom fetches a URL from inside a guest namespace.
func getFrom(t *testing.T, g, url string, hdr map[string]string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return netdev.Dial(g, network, addr)
		},
	}}
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	var resp *http.Response
	var err error
	for i := 0; i < 10; i++ {
		if resp, err = c.Do(req); err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GET %s from %s: %v", url, g, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetadataProxy reaches Nova's metadata API from stand-in guests at
// 169.254.169.254 through a router and through the DHCP namespace of an
// isolated network; each request names the guest's own instance, signed.
func TestMetadataProxy(t *testing.T) {
	needRoot(t, "nft", "dnsmasq")
	ctx := context.Background()
	const secret = "s3cret"
	host, port := fakeNova(t, secret)
	h := newHost(t, underlay(t), "192.0.2.1", func(c *Config) {
		c.Metadata = MetadataConfig{NovaMetadataHost: host, NovaMetadataPort: port, SharedSecret: secret}
	})
	if !h.d.Capabilities().Metadata {
		t.Fatal("metadata not announced with a shared secret")
	}
	a := vxlanNet(1450)
	a.ProjectID = "proj-a"
	must(t, h.d.EnsureNetwork(ctx, a))
	p := dataplanetest.Port(a)
	p.DeviceID = "inst-1"
	p.Addresses = []dataplane.Address{{IP: "10.70.0.10", PrefixLen: 24, Gateway: "10.70.0.1"}}
	g := guest(t, h, p, "10.70.0.10/24")
	must(t, netdev.Handle{NS: g}.ReplaceRoute(ctx, "default", "10.70.0.1", "eth0"))
	must(t, h.d.PlugPort(ctx, p))
	waitEvent(t, h.d, p.ID, true)
	// Through the router.
	r := dataplane.Router{ID: dataplanetest.ID(), AdminStateUp: true, Interfaces: []dataplane.RouterPort{routerPort(a, "10.70.0.1", 24, "")}}
	must(t, h.d.EnsureRouter(ctx, r))
	code, body := getFrom(t, g, "http://169.254.169.254/openstack/latest/meta_data.json",
		map[string]string{"X-Instance-ID": "inst-2", "X-Instance-ID-Signature": "forged"})
	if code != 200 || body != "inst-1 proj-a 10.70.0.10 /openstack/latest/meta_data.json" {
		t.Fatalf("through the router: %d %q", code, body)
	}
	// Another address is nobody's instance.
	gh := netdev.Handle{NS: g}
	must(t, gh.AddAddress(ctx, "eth0", "10.70.0.11/24"))
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := netdev.InNamespace(g, func() error {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("10.70.0.11")}}
			var err error
			conn, err = d.Dial(network, addr)
			return err
		})
		return conn, err
	}}}
	resp, err := c.Get("http://169.254.169.254/latest/meta-data/")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("an unknown address got %d", resp.StatusCode)
	}
	must(t, gh.DeleteAddress(ctx, "eth0", "10.70.0.11/24"))
	must(t, h.d.DeleteRouter(ctx, r.ID))

	// Isolated network: the DHCP namespace answers.
	dp := dataplanetest.Port(a)
	dp.Addresses = []dataplane.Address{{IP: "10.70.0.2", PrefixLen: 24}}
	svc := dataplane.DHCP{Network: a, Port: dp, MetadataRoute: true,
		Subnets: []dataplane.Subnet{{ID: dataplanetest.ID(), CIDR: "10.70.0.0/24", IPVersion: 4, Gateway: "10.70.0.1", EnableDHCP: true}}}
	must(t, h.d.EnsureDHCP(ctx, svc))
	must(t, gh.ReplaceRoute(ctx, "169.254.169.254/32", "10.70.0.2", "eth0"))
	code, body = getFrom(t, g, "http://169.254.169.254/latest/meta-data/instance-id", nil)
	if code != 200 || !strings.HasPrefix(body, "inst-1 proj-a 10.70.0.10") {
		t.Fatalf("through the DHCP namespace: %d %q", code, body)
	}
	must(t, h.d.DeleteDHCP(ctx, a.ID))
	must(t, h.d.Resync(ctx, dataplane.State{}))
	if len(h.d.proxies) != 0 {
		t.Fatalf("proxies left: %v", h.d.proxies)
	}
	if left := h.leftovers(t); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

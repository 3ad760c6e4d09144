package stack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

const externalNATS = "nats://127.0.0.1:4222"

// TestMultiHost runs the compute issue's multi-host check with real processes:
// a control stack and three hosts' compute and network agents joined over an
// external NATS. Servers spread over the hosts, anti-affinity puts a group on
// distinct hosts, a stopped agent goes down and is avoided, and a live
// migration moves a server between two hosts.
func TestMultiHost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts seven processes")
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:4222", time.Second); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the multi-host check needs the external NATS at 127.0.0.1:4222: %v", err)
		}
		t.Skipf("no external NATS: %v", err)
	} else {
		c.Close()
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tenku")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tenku-cloud/tenku/cmd/tenku").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ip := testkit.FreeLoopback(t)
	var rb [4]byte
	rand.Read(rb[:])
	prefix := "mh" + hex.EncodeToString(rb[:]) + "."
	etc := filepath.Join(dir, "etc")
	os.MkdirAll(etc, 0o700)
	// Short heartbeats so that a stopped agent is seen down in seconds.
	os.WriteFile(filepath.Join(etc, "nova.conf"), []byte("[DEFAULT]\nreport_interval = 1\nservice_down_time = 4\n"), 0o600)
	os.WriteFile(filepath.Join(etc, "neutron.conf"), []byte("[DEFAULT]\nagent_down_time = 4\n"), 0o600)
	os.WriteFile(filepath.Join(etc, "neutron_agent.ini"), []byte("[agent]\nreport_interval = 1\n"), 0o600)

	procs := map[string]*exec.Cmd{}
	start := func(name string, args ...string) {
		cmd := exec.Command(bin, args...)
		out, _ := os.Create(filepath.Join(dir, name+".out"))
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[name] = cmd
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
			}
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(dir, name+".out"))
				t.Logf("%s output:\n%s", name, tail(string(b), 3000))
			}
		})
	}
	data := filepath.Join(dir, "control")
	start("control", "stack", "--data-dir", data, "--config-dir", etc, "--host-ip", ip,
		"--bus-url", externalNATS, "--bus-prefix", prefix, "--disable", "n-cpu,q-agt", "--admin-password", testkit.Password,
		"--service-password", "svc-pass")
	waitFile(t, filepath.Join(data, "clouds.yaml"), 60*time.Second)
	authURL := "http://" + ip + ":5000/v3"
	hosts := []string{"h1", "h2", "h3"}
	for _, h := range hosts {
		for _, kind := range []string{"compute", "network"} {
			start(kind+"-"+h, "agent", kind, "--host", h, "--data-dir", filepath.Join(dir, kind+"-"+h), "--config-dir", etc,
				"--bus-url", externalNATS, "--bus-prefix", prefix, "--auth-url", authURL, "--service-password", "svc-pass", "--host-ip", ip)
		}
	}

	api := newAPI(t, authURL)
	nova := "http://" + ip + ":8774/v2.1"
	upHosts := func() map[string]bool {
		var body struct {
			Services []struct{ Binary, Host, State string } `json:"services"`
		}
		api.do("GET", nova+"/os-services?binary=nova-compute", nil, &body, 200)
		up := map[string]bool{}
		for _, s := range body.Services {
			if s.State == "up" {
				up[s.Host] = true
			}
		}
		return up
	}
	testkit.Eventually(t, 60*time.Second, func() bool { return len(upHosts()) == 3 }, "three compute hosts up")

	var images struct {
		Images []struct{ ID string } `json:"images"`
	}
	api.do("GET", "http://"+ip+":9292/v2/images?name=tenku-blank", nil, &images, 200)
	var nets struct {
		Networks []struct{ ID string } `json:"networks"`
	}
	api.do("GET", "http://"+ip+":9696/v2.0/networks?name=private", nil, &nets, 200)
	if len(images.Images) != 1 || len(nets.Networks) != 1 {
		t.Fatalf("test data: images %v networks %v", images, nets)
	}
	boot := func(name string, hints map[string]any) string {
		body := map[string]any{"server": map[string]any{"name": name, "imageRef": images.Images[0].ID, "flavorRef": "1",
			"networks": []map[string]string{{"uuid": nets.Networks[0].ID}}}}
		if hints != nil {
			body["os:scheduler_hints"] = hints
		}
		var out struct{ Server struct{ ID string } }
		api.do("POST", nova+"/servers", body, &out, 202)
		return out.Server.ID
	}
	hostOf := func(id string) string {
		var out struct {
			Server map[string]any `json:"server"`
		}
		h := ""
		testkit.Eventually(t, 60*time.Second, func() bool {
			api.do("GET", nova+"/servers/"+id, nil, &out, 200)
			if out.Server["status"] == "ERROR" {
				t.Fatalf("server %s went to ERROR: %v", id, out.Server["fault"])
			}
			h, _ = out.Server["OS-EXT-SRV-ATTR:host"].(string)
			return out.Server["status"] == "ACTIVE"
		}, "server %s active", id)
		return h
	}

	// Spread: six servers, two per host (the RAM weigher prefers the emptiest).
	per := map[string]int{}
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, boot(fmt.Sprintf("spread-%d", i), nil))
		per[hostOf(ids[i])]++
	}
	for _, h := range hosts {
		if per[h] != 2 {
			t.Fatalf("servers per host %v, want 2 each", per)
		}
	}
	// Anti-affinity: three members on three hosts.
	var group struct {
		ServerGroup struct{ ID string } `json:"server_group"`
	}
	api.do("POST", nova+"/os-server-groups", map[string]any{"server_group": map[string]any{"name": "g", "policies": []string{"anti-affinity"}}}, &group, 200)
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		seen[hostOf(boot(fmt.Sprintf("anti-%d", i), map[string]any{"group": group.ServerGroup.ID}))] = true
	}
	if len(seen) != 3 {
		t.Fatalf("anti-affinity group on hosts %v, want three distinct", seen)
	}
	// A stopped agent goes down and the scheduler avoids its host.
	procs["compute-h3"].Process.Signal(syscall.SIGTERM)
	procs["compute-h3"].Wait()
	testkit.Eventually(t, 30*time.Second, func() bool { up := upHosts(); return len(up) == 2 && !up["h3"] }, "h3 reported down")
	// Each host holds three servers, so h3 would weigh as well as any: only its
	// being down keeps the tenth server (the project's quota is ten) off it.
	if h := hostOf(boot("after", nil)); h == "h3" {
		t.Fatal("a server was scheduled to the stopped host h3")
	}
	// Live migration from h1 to h2 (microversion 2.30 names the host).
	var onH1 string
	for _, id := range ids {
		if hostOf(id) == "h1" {
			onH1 = id
			break
		}
	}
	api.version = "2.30"
	api.do("POST", nova+"/servers/"+onH1+"/action", map[string]any{"os-migrateLive": map[string]any{"host": "h2", "block_migration": "auto"}}, nil, 202)
	testkit.Eventually(t, 60*time.Second, func() bool { return hostOf(onH1) == "h2" }, "server %s live-migrated to h2", onH1)
}

// rawAPI makes JSON requests with an admin token.
type rawAPI struct {
	t       *testing.T
	token   string
	version string
}

func newAPI(t *testing.T, authURL string) *rawAPI {
	t.Helper()
	var tok string
	testkit.Eventually(t, 60*time.Second, func() bool {
		var err error
		tok, _, err = authn.Login(context.Background(), authn.ServiceCredentials{AuthURL: authURL, Username: "admin",
			Password: testkit.Password, UserDomainName: "Default", ProjectName: "admin", ProjectDomainName: "Default"}, nil)
		return err == nil
	}, "admin login")
	return &rawAPI{t: t, token: tok}
}

func (a *rawAPI) do(method, url string, body, out any, want int) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("X-Auth-Token", a.token)
	req.Header.Set("Content-Type", "application/json")
	if a.version != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+a.version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
}

func waitFile(t *testing.T, path string, d time.Duration) {
	t.Helper()
	testkit.Eventually(t, d, func() bool { _, err := os.Stat(path); return err == nil }, "%s appears", path)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}

package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// crashSettle is the stated time: after a restart, within it every server
// is ACTIVE, ERROR with a fault, or gone ([conductor]
// stranded_build_timeout is 3 s here; the agent reconciles on start).
const crashSettle = 45 * time.Second

// A tenku stack killed with SIGKILL amid parallel creates and deletes and
// restarted on the same data directory recovers (issue 13 §3): within
// crashSettle every server has no task state and is ACTIVE (SHUTOFF or
// VERIFY_RESIZE when that was asked), ERROR with a fault, or deleted; no
// acknowledged create is lost and no acknowledged delete undone; Nova's
// quota usage equals the servers that exist and Neutron's the ports; no
// port is left bound to a server that does not exist.
//
// CI kills at three offsets after the first request (5 ms, 40 ms, 400 ms).
// TENKU_CRASH_OFFSETS takes a longer list in milliseconds:
//
//	TENKU_CRASH_OFFSETS=0,10,20,30,50,80,150,300,600,1200 go test ./internal/stack -run TestCrashRecovery -timeout 30m
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills tenku processes")
	}
	offsets := []time.Duration{5 * time.Millisecond, 40 * time.Millisecond, 400 * time.Millisecond}
	if env := os.Getenv("TENKU_CRASH_OFFSETS"); env != "" {
		offsets = nil
		for _, f := range strings.Split(env, ",") {
			ms, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				t.Fatalf("TENKU_CRASH_OFFSETS: %v", err)
			}
			offsets = append(offsets, time.Duration(ms)*time.Millisecond)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tenku")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tenku-cloud/tenku/cmd/tenku").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ip := testkit.FreeLoopback(t)
	etc := filepath.Join(dir, "etc")
	os.MkdirAll(etc, 0o700)
	// Spawns and deletes that take a moment, so that kills land amid them.
	os.WriteFile(filepath.Join(etc, "nova.conf"), []byte("[DEFAULT]\nreport_interval = 1\nservice_down_time = 4\n"+
		"[conductor]\nstranded_build_timeout = 3\n[quota]\ninstances = 200\ncores = 400\nram = 1000000\n"+
		"[fake_driver]\nspawn_delay = 150ms\naction_delay = 200ms\nsnapshot_delay = 200ms\n"), 0o600)
	data := filepath.Join(dir, "data")
	var proc *exec.Cmd
	run := func() {
		proc = exec.Command(bin, "stack", "--data-dir", data, "--config-dir", etc, "--host-ip", ip, "--compute-driver", "fake",
			"--disable", "horizon,cinder,c-vol", "--admin-password", testkit.Password, "--service-password", "svc-pass")
		out, _ := os.OpenFile(filepath.Join(dir, "stack.out"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		proc.Stdout, proc.Stderr = out, out
		proc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
	}
	kill := func() {
		proc.Process.Signal(syscall.SIGKILL)
		proc.Wait()
	}
	t.Cleanup(func() {
		if proc != nil && proc.ProcessState == nil {
			proc.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { proc.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				kill()
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "stack.out"))
			t.Logf("stack output:\n%s", tail(string(b), 4000))
		}
	})
	run()
	waitFile(t, filepath.Join(data, "clouds.yaml"), 120*time.Second)
	c := &crashAPI{t: t, ip: ip}
	c.login()
	image := c.first("http://"+ip+":9292/v2/images?name=tenku-blank", "images")
	network := c.first("http://"+ip+":9696/v2.0/networks?name=private", "networks")

	acked := map[string]bool{}   // creates answered 202
	deleted := map[string]bool{} // deletes answered 204
	asked := map[string]bool{}   // deletes sent, answered or not
	// Servers for the first round to delete.
	for i := 0; i < 16; i++ {
		code, body := c.call("POST", c.nova("/servers"), map[string]any{"server": map[string]any{
			"name": fmt.Sprintf("base-%d", i), "imageRef": image, "flavorRef": "1", "networks": []map[string]string{{"uuid": network}}}})
		if code != 202 {
			t.Fatalf("boot: %d %v", code, body)
		}
		acked[body["server"].(map[string]any)["id"].(string)] = true
	}
	c.settled(acked, deleted, asked)
	for round, off := range offsets {
		wait := c.storm(round, image, network, acked, deleted, asked)
		time.Sleep(off)
		kill()
		wait()
		t.Logf("round %d: killed %s in; %d creates and %d deletes acknowledged so far", round, off, len(acked), len(deleted))
		run()
		c.login()
		c.settled(acked, deleted, asked)
	}
}

// storm sends, all at once, 30 creates, an action to each of the second
// half of the servers there are and a delete to each of the first half,
// recording what was acknowledged (acked creates, deleted deletes) and what
// was asked; wait waits for every answer (or failure).
func (c *crashAPI) storm(round int, image, network string, acked, deleted, asked map[string]bool) (wait func()) {
	existing := c.servers()
	var mu sync.Mutex
	var wg sync.WaitGroup
	// 30 creates and a delete of half the servers there are, all at
	// once; the kill comes off after the first is sent.
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := c.call("POST", c.nova("/servers"), map[string]any{"server": map[string]any{
				"name": fmt.Sprintf("crash-%d-%d", round, i), "imageRef": image, "flavorRef": "1",
				"networks": []map[string]string{{"uuid": network}}}})
			if code == 202 {
				mu.Lock()
				acked[body["server"].(map[string]any)["id"].(string)] = true
				mu.Unlock()
			}
		}()
	}
	// The other half get an action each, so that kills land in every
	// task state: rebooting, powering-off and -on, rebuilding,
	// resize_prep and on, image_snapshot.
	n := 0
	for id, s := range existing {
		if n++; n <= len(existing)/2 {
			continue
		}
		var body map[string]any
		switch n % 6 {
		case 0:
			body = map[string]any{"reboot": map[string]any{"type": "SOFT"}}
		case 1:
			body = map[string]any{"os-stop": nil}
			if s["status"] == "SHUTOFF" {
				body = map[string]any{"os-start": nil}
			}
		case 2:
			body = map[string]any{"rebuild": map[string]any{"imageRef": image}}
		case 3:
			body = map[string]any{"resize": map[string]any{"flavorRef": "2"}}
			if s["status"] == "VERIFY_RESIZE" {
				body = map[string]any{"confirmResize": nil}
			}
		case 4:
			body = map[string]any{"createImage": map[string]any{"name": "snap-" + id}}
		case 5:
			body = map[string]any{"reboot": map[string]any{"type": "HARD"}}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.call("POST", c.nova("/servers/"+id+"/action"), body)
		}()
	}
	n = 0
	for id := range existing {
		if n++; n > len(existing)/2 {
			break
		}
		asked[id] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _ := c.call("DELETE", c.nova("/servers/"+id), nil); code == 204 {
				mu.Lock()
				deleted[id] = true
				mu.Unlock()
			}
		}()
	}
	return wg.Wait
}

// crashAPI is a tolerant client: calls made while the stack is down fail
// with status 0 instead of failing the test.
type crashAPI struct {
	t     *testing.T
	ip    string
	token string
}

func (c *crashAPI) nova(path string) string { return "http://" + c.ip + ":8774/v2.1" + path }

func (c *crashAPI) login() {
	c.t.Helper()
	testkit.Eventually(c.t, 120*time.Second, func() bool {
		var err error
		c.token, _, err = authn.Login(context.Background(), authn.ServiceCredentials{AuthURL: "http://" + c.ip + ":5000/v3", Username: "demo",
			Password: testkit.Password, UserDomainName: "Default", ProjectName: "demo", ProjectDomainName: "Default"}, nil)
		return err == nil
	}, "demo login")
}

func (c *crashAPI) call(method, url string, body any) (int, map[string]any) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("X-Auth-Token", c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("OpenStack-API-Version", "compute 2.79")
	cl := http.Client{Timeout: 20 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// list GETs a list and returns its objects.
func (c *crashAPI) list(url, key string) []map[string]any {
	c.t.Helper()
	code, out := c.call("GET", url, nil)
	if code != 200 {
		c.t.Fatalf("GET %s: %d %v", url, code, out)
	}
	var objs []map[string]any
	l, _ := out[key].([]any)
	for _, o := range l {
		objs = append(objs, o.(map[string]any))
	}
	return objs
}

func (c *crashAPI) first(url, key string) string {
	c.t.Helper()
	var l []map[string]any
	testkit.Eventually(c.t, 60*time.Second, func() bool {
		code, out := c.call("GET", url, nil)
		if code != 200 {
			return false
		}
		l, _ := out[key].([]any)
		return len(l) > 0
	}, "%s lists something", url)
	l = c.list(url, key)
	return l[0]["id"].(string)
}

// servers maps the id of each of demo's servers to it.
func (c *crashAPI) servers() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, s := range c.list(c.nova("/servers/detail"), "servers") {
		out[s["id"].(string)] = s
	}
	return out
}

// settled waits until the invariants hold: acked creates exist unless a
// delete was asked, acknowledged deletes are gone.
func (c *crashAPI) settled(acked, deleted, asked map[string]bool) {
	c.t.Helper()
	var why string
	check := func() bool {
		why = c.invariants(acked, deleted, asked)
		return why == ""
	}
	deadline := time.Now().Add(crashSettle)
	if !check() {
		c.t.Logf("right after the restart: %s", why)
	}
	for !check() {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s after a restart: %s", crashSettle, why)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// invariants says what does not hold yet, or "".
func (c *crashAPI) invariants(acked, deleted, asked map[string]bool) string {
	servers := c.servers()
	var problems []string
	ram, cores := 0, 0
	for id, s := range servers {
		status, _ := s["status"].(string)
		task, _ := s["OS-EXT-STS:task_state"].(string)
		switch {
		case task == "" && (status == "ACTIVE" || status == "SHUTOFF" || status == "VERIFY_RESIZE"):
		case status == "ERROR" && s["fault"] != nil:
		default:
			problems = append(problems, fmt.Sprintf("server %s is %s/%s", id, status, task))
		}
		if deleted[id] {
			problems = append(problems, fmt.Sprintf("server %s was deleted (204) but is %s", id, status))
		}
		fl, _ := s["flavor"].(map[string]any)
		r, _ := fl["ram"].(float64)
		v, _ := fl["vcpus"].(float64)
		ram, cores = ram+int(r), cores+int(v)
	}
	for id := range acked {
		if _, ok := servers[id]; !ok && !asked[id] {
			problems = append(problems, fmt.Sprintf("server %s was created (202) and is lost", id))
		}
	}
	// Nova's usage is what exists.
	code, out := c.call("GET", c.nova("/os-quota-sets/"+c.project()+"/detail"), nil)
	if code != 200 {
		return fmt.Sprintf("quota detail: %d", code)
	}
	qs, _ := out["quota_set"].(map[string]any)
	for k, want := range map[string]int{"instances": len(servers), "cores": cores, "ram": ram} {
		q, _ := qs[k].(map[string]any)
		if got, _ := q["in_use"].(float64); int(got) != want {
			problems = append(problems, fmt.Sprintf("quota %s in use %v, %d exist", k, q["in_use"], want))
		}
	}
	// Every compute port belongs to a server that exists; Neutron's port
	// usage is the ports there are.
	ports := c.list("http://"+c.ip+":9696/v2.0/ports", "ports")
	for _, p := range ports {
		owner, _ := p["device_owner"].(string)
		dev, _ := p["device_id"].(string)
		if strings.HasPrefix(owner, "compute:") {
			if _, ok := servers[dev]; !ok {
				problems = append(problems, fmt.Sprintf("port %s is bound to server %s, which does not exist", p["id"], dev))
			}
		}
	}
	code, out = c.call("GET", "http://"+c.ip+":9696/v2.0/quotas/"+c.project()+"/details", nil)
	if code != 200 {
		return fmt.Sprintf("network quota detail: %d", code)
	}
	q, _ := out["quota"].(map[string]any)
	pq, _ := q["port"].(map[string]any)
	if got, _ := pq["used"].(float64); int(got) != len(ports) {
		problems = append(problems, fmt.Sprintf("port quota used %v, %d ports exist", pq["used"], len(ports)))
	}
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
	}
	return strings.Join(problems, "; ")
}

// project is demo's project id, from the token.
func (c *crashAPI) project() string {
	req, _ := http.NewRequest("GET", "http://"+c.ip+":5000/v3/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", c.token)
	req.Header.Set("X-Subject-Token", c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var out struct {
		Token struct {
			Project struct{ ID string } `json:"project"`
		} `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return out.Token.Project.ID
}

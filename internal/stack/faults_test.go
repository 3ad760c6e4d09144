package stack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// faultSettle is the stated time: after the last fault and the evacuation,
// within it every server is ACTIVE or ERROR with a fault, none in a task
// state, usage is what exists and ports and servers match.
const faultSettle = 120 * time.Second

// TestReplicatedCloudSurvivesFaults is issue 15's fault test, all separate
// processes on loopback: two control replicas (`tenku serve --services
// keystone,glance,neutron,nova`) on one PostgreSQL (then MariaDB) behind a
// balancer that stands for haproxy, a 3-node nats-server cluster, and the
// compute and network agents of three hosts on the fake driver. While a
// boot load runs (TENKU_FAULT_SERVERS servers, 40 unless set; the issue's
// figure is 200), it kills -9 one NATS node, then one control replica,
// then both agents of host h3; when h3 is reported down it runs `tenku
// manage host evacuate h3 --wait`, as an operator would. Then every server
// that was acknowledged exists, is ACTIVE or ERROR with a fault and in no
// task state, none is left on h3, quota usage equals what exists, every
// compute port has its server and every ACTIVE server its port.
func TestReplicatedCloudSurvivesFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts fourteen processes")
	}
	// Its first runs found builds interrupted in their networking phase on
	// the killed host evacuated without a port; the conductor now
	// reschedules those. It has passed 3 runs (2 on PostgreSQL, 1 on
	// MariaDB) since, not yet the 3 on each that CI asks: until then it
	// runs only when asked.
	if os.Getenv("TENKU_FAULTS") != "1" {
		t.Skip("not yet proven repeatable (see the comment); TENKU_FAULTS=1 runs it")
	}
	natsServerBin(t)
	n := 40
	if v := os.Getenv("TENKU_FAULT_SERVERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 8 {
			t.Fatalf("TENKU_FAULT_SERVERS=%q: want a number ≥ 8", v)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tenku")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tenku-cloud/tenku/cmd/tenku").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, d := range []store.Dialect{store.Postgres, store.MySQL} {
		t.Run(string(d), func(t *testing.T) { faultRun(t, bin, d, n) })
	}
}

// faultCloud is the processes of one run.
type faultCloud struct {
	t        *testing.T
	bin, dir string
	mu       sync.Mutex
	procs    map[string]*faultProc
}

type faultProc struct {
	cmd  *exec.Cmd
	out  string
	done chan struct{}
}

func (c *faultCloud) start(name string, args ...string) {
	c.t.Helper()
	out := filepath.Join(c.dir, name+".out")
	f, err := os.Create(out)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	p := &faultProc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	c.mu.Lock()
	c.procs[name] = p
	c.mu.Unlock()
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *faultCloud) kill(name string) {
	p := c.procs[name]
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stopAll ends every process still running (SIGTERM, then SIGKILL).
func (c *faultCloud) stopAll() {
	for name, p := range c.procs {
		select {
		case <-p.done:
			continue
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		if c.t.Failed() {
			b, _ := os.ReadFile(p.out)
			c.t.Logf("%s output:\n%s", name, tail(string(b), 3000))
		}
	}
}

// exited names processes that ended although the test did not kill them.
func (c *faultCloud) exited(killed map[string]bool) []string {
	var out []string
	for name, p := range c.procs {
		select {
		case <-p.done:
			if !killed[name] {
				out = append(out, name)
			}
		default:
		}
	}
	return out
}

// faultDatabases makes the databases' URL template on a fresh prefix and
// drops them when the test ends.
func faultDatabases(t *testing.T, d store.Dialect, services []string) string {
	ctx := context.Background()
	admin, err := store.Open(ctx, storetest.ServerURL(d))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", d, err)
		}
		t.Skipf("%s unavailable: %v", d, err)
	}
	var b [5]byte
	rand.Read(b[:])
	prefix := "tenku_flt_" + hex.EncodeToString(b[:]) + "_"
	t.Cleanup(func() {
		for _, s := range services {
			drop := "DROP DATABASE IF EXISTS " + prefix + s
			if d == store.Postgres {
				drop += " WITH (FORCE)"
			}
			if _, err := admin.Exec(context.Background(), drop); err != nil {
				t.Logf("drop %s: %v", prefix+s, err)
			}
		}
		admin.Close()
	})
	u, _ := url.Parse(storetest.ServerURL(d))
	u.Path = "/" + prefix + "{service}"
	return strings.Replace(u.String(), "%7Bservice%7D", "{service}", 1)
}

func faultRun(t *testing.T, bin string, d store.Dialect, n int) {
	services := []string{"keystone", "glance", "neutron", "nova"}
	tmpl := faultDatabases(t, d, services)
	lbIP, natsIP, agentIP := testkit.FreeLoopback(t), testkit.FreeLoopback(t), testkit.FreeLoopback(t)
	replicaIPs := []string{testkit.FreeLoopback(t), testkit.FreeLoopback(t)}
	nodes := startNATSCluster(t, natsIP)
	var urls []string
	for _, nd := range nodes {
		urls = append(urls, nd.client)
	}
	busURL := strings.Join(urls, ",")
	var rb [4]byte
	rand.Read(rb[:])
	busPrefix := "flt" + hex.EncodeToString(rb[:]) + "."

	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	os.MkdirAll(etc, 0o700)
	// Short heartbeats and stranded timeouts so that the faults are seen
	// in seconds; quotas for the load; one image store for both replicas
	// (shared storage, as Glance replicas have).
	os.WriteFile(filepath.Join(etc, "nova.conf"), []byte("[DEFAULT]\nreport_interval = 1\nservice_down_time = 6\n"+
		"[conductor]\nstranded_build_timeout = 5\n[compute]\nstranded_task_timeout = 5\n"+
		"[quota]\ninstances = 2000\ncores = 4000\nram = 100000000\n[fake_driver]\nspawn_delay = 200ms\n"), 0o600)
	os.WriteFile(filepath.Join(etc, "neutron.conf"), []byte("[DEFAULT]\nagent_down_time = 6\n[quotas]\nquota_port = 5000\n"), 0o600)
	os.WriteFile(filepath.Join(etc, "neutron_agent.ini"), []byte("[agent]\nreport_interval = 1\n"), 0o600)
	os.WriteFile(filepath.Join(etc, "glance-api.conf"), []byte("[glance_store]\nfilesystem_store_datadir = "+filepath.Join(dir, "images")+"\n"), 0o600)

	run := func(args ...string) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tenku %s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
	}
	svcList := strings.Join(services, ",")
	run("manage", "db", "sync", "--database-url", tmpl, "--services", svcList)
	run("manage", "bootstrap", "--database-url", tmpl, "--services", svcList, "--host-ip", lbIP,
		"--admin-password", testkit.Password, "--service-password", "svc-pass")

	c := &faultCloud{t: t, bin: bin, dir: dir, procs: map[string]*faultProc{}}
	t.Cleanup(c.stopAll)
	for i, ip := range replicaIPs {
		c.start(fmt.Sprintf("control%d", i+1), "serve", "--services", svcList, "--host-ip", ip, "--data-dir", filepath.Join(dir, fmt.Sprintf("control%d", i+1)),
			"--config-dir", etc, "--database-url", tmpl, "--bus-url", busURL, "--bus-prefix", busPrefix, "--service-password", "svc-pass")
	}
	startBalancer(t, lbIP, []int{5000, 9292, 9696, 8774}, replicaIPs)
	authURL := "http://" + lbIP + ":5000/v3"
	hosts := []string{"h1", "h2", "h3"}
	for _, h := range hosts {
		for _, kind := range []string{"compute", "network"} {
			c.start(kind+"-"+h, "agent", kind, "--host", h, "--data-dir", filepath.Join(dir, kind+"-"+h), "--config-dir", etc,
				"--bus-url", busURL, "--bus-prefix", busPrefix, "--auth-url", authURL, "--service-password", "svc-pass", "--host-ip", agentIP)
		}
	}
	admin := newAPI(t, authURL)
	nova := "http://" + lbIP + ":8774/v2.1"
	testkit.Eventually(t, 90*time.Second, func() bool { return len(faultUpHosts(admin, nova)) == 3 }, "three compute hosts up")
	api := &crashAPI{t: t, ip: lbIP}
	api.login()
	ops := &crashAPI{t: t, ip: lbIP, token: admin.token}
	image, network := faultTestData(t, api, lbIP)

	acked := faultLoad(t, c, api, image, network, n, nodes[0])
	killed := map[string]bool{"control1": true, "compute-h3": true, "network-h3": true}
	testkit.Eventually(t, 60*time.Second, func() bool { up := faultUpHosts(admin, nova); return !up["h3"] && len(up) == 2 }, "h3 reported down")
	// Builds that were on h3 when it died settle (ERROR) before they are
	// evacuated: evacuate takes servers in no task state.
	waitNoTask(t, ops, "h3", 60*time.Second)
	cmd := exec.Command(bin, "manage", "host", "evacuate", "h3", "--wait", "90s")
	cmd.Env = append(os.Environ(), "OS_AUTH_URL="+authURL, "OS_USERNAME=admin", "OS_PASSWORD="+testkit.Password, "OS_PROJECT_NAME=admin")
	out, err := cmd.CombinedOutput()
	t.Logf("tenku manage host evacuate h3 (%v):\n%s", err, out)
	if err != nil {
		t.Errorf("evacuate: %v", err)
	}
	var why string
	deadline := time.Now().Add(faultSettle)
	for {
		why = api.invariants(acked, map[string]bool{}, map[string]bool{})
		if why == "" {
			why = faultPortsAndHosts(ops)
		}
		if why == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if why != "" {
		t.Fatalf("%v after the faults and the evacuation: %s", faultSettle, why)
	}
	if gone := c.exited(killed); len(gone) > 0 {
		t.Fatalf("processes exited that the test did not kill: %v", gone)
	}
	status := map[string]int{}
	for _, s := range ops.allServers() {
		status[fmt.Sprint(s["status"], "@", s["OS-EXT-SRV-ATTR:host"])]++
	}
	t.Logf("%s: %d servers acknowledged of %d asked; now %v", d, len(acked), n, status)
}

// faultTestData makes demo's network and a public image (as admin) for
// the load: `tenku serve` has no devstack test data.
func faultTestData(t *testing.T, api *crashAPI, lbIP string) (image, network string) {
	code, body := api.call("POST", "http://"+lbIP+":9696/v2.0/networks", map[string]any{"network": map[string]any{"name": "faults"}})
	if code != 201 {
		t.Fatalf("network: %d %v", code, body)
	}
	network = body["network"].(map[string]any)["id"].(string)
	code, body = api.call("POST", "http://"+lbIP+":9696/v2.0/subnets", map[string]any{"subnet": map[string]any{
		"network_id": network, "ip_version": 4, "cidr": "10.77.0.0/21"}})
	if code != 201 {
		t.Fatalf("subnet: %d %v", code, body)
	}
	code, body = api.call("POST", "http://"+lbIP+":9292/v2/images", map[string]any{"name": "faults-blank", "disk_format": "raw", "container_format": "bare"})
	if code != 201 {
		t.Fatalf("image: %d %v", code, body)
	}
	image = body["id"].(string)
	if code := api.upload("http://"+lbIP+":9292/v2/images/"+image+"/file", make([]byte, 1<<20)); code != 204 {
		t.Fatalf("image upload: %d", code)
	}
	return image, network
}

// faultLoad boots n servers from 8 clients and kills, as they go, NATS
// node victim (after a quarter), control1 (after half) and host h3's
// agents (after three quarters). It returns the servers acknowledged (202).
func faultLoad(t *testing.T, c *faultCloud, api *crashAPI, image, network string, n int, victim *natsNode) map[string]bool {
	acked := map[string]bool{}
	var mu sync.Mutex
	next := 0
	faults := map[int]func(){
		n / 4: func() {
			victim.cmd.Process.Signal(syscall.SIGKILL)
			<-victim.exited
			t.Logf("killed NATS node %s", victim.name)
		},
		n / 2:     func() { c.kill("control1"); t.Log("killed control1") },
		3 * n / 4: func() { c.kill("compute-h3"); c.kill("network-h3"); t.Log("killed h3's agents") },
	}
	var refused []string
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				f := faults[i]
				mu.Unlock()
				if i >= n {
					return
				}
				if f != nil {
					f()
				}
				code, body := api.call("POST", api.nova("/servers"), map[string]any{"server": map[string]any{
					"name": fmt.Sprintf("load-%d", i), "imageRef": image, "flavorRef": "1", "networks": []map[string]string{{"uuid": network}}}})
				mu.Lock()
				if code == 202 {
					acked[body["server"].(map[string]any)["id"].(string)] = true
				} else {
					refused = append(refused, fmt.Sprintf("%d %v", code, body))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Requests in flight to the killed replica fail; a few are allowed.
	if len(refused) > 8 {
		t.Fatalf("%d of %d boots refused (more than the 8 that can be in flight): %v", len(refused), n, refused)
	}
	if len(refused) > 0 {
		t.Logf("%d boots refused while a replica died: %v", len(refused), refused)
	}
	return acked
}

// faultUpHosts are the compute hosts whose service is up.
func faultUpHosts(admin *rawAPI, nova string) map[string]bool {
	var body struct {
		Services []struct{ Binary, Host, State string } `json:"services"`
	}
	admin.do("GET", nova+"/os-services?binary=nova-compute", nil, &body, 200)
	up := map[string]bool{}
	for _, s := range body.Services {
		if s.State == "up" {
			up[s.Host] = true
		}
	}
	return up
}

// waitNoTask waits until no server on host is in a task state.
func waitNoTask(t *testing.T, api *crashAPI, host string, within time.Duration) {
	t.Helper()
	var stuck []string
	deadline := time.Now().Add(within)
	for {
		stuck = nil
		for id, s := range api.allServers() {
			if task, _ := s["OS-EXT-STS:task_state"].(string); task != "" && s["OS-EXT-SRV-ATTR:host"] == host {
				stuck = append(stuck, fmt.Sprintf("%s %v/%s", id, s["status"], task))
			}
		}
		if len(stuck) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after %s died, servers on it still in a task state: %v", within, host, stuck)
		}
		time.Sleep(time.Second)
	}
}

// faultPortsAndHosts says what does not hold yet beyond crashAPI's
// invariants: every ACTIVE server has a port, and none is on h3.
func faultPortsAndHosts(api *crashAPI) string {
	withPort := map[string]bool{}
	for _, p := range api.list("http://"+api.ip+":9696/v2.0/ports", "ports") { // an admin's: every project's
		if dev, _ := p["device_id"].(string); dev != "" {
			withPort[dev] = true
		}
	}
	var problems []string
	for id, s := range api.allServers() {
		if s["status"] == "ACTIVE" && !withPort[id] {
			problems = append(problems, fmt.Sprintf("server %s is ACTIVE without a port", id))
		}
		if s["OS-EXT-SRV-ATTR:host"] == "h3" {
			problems = append(problems, fmt.Sprintf("server %s is %v on the dead host h3", id, s["status"]))
		}
	}
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
	}
	return strings.Join(problems, "; ")
}

// upload PUTs image data.
func (c *crashAPI) upload(url string, data []byte) int {
	req, _ := http.NewRequest("PUT", url, bytes.NewReader(data))
	req.Header.Set("X-Auth-Token", c.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// allServers maps every project's servers by id (an admin's view, with
// their hosts).
func (c *crashAPI) allServers() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, s := range c.list(c.nova("/servers/detail?all_tenants=1"), "servers") {
		out[s["id"].(string)] = s
	}
	return out
}

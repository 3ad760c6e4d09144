package computetest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
)

// fakeOpts are a test cloud's options with the fake hypervisors' settings.
type fakeOpts struct {
	Hosts      []string
	PortStatus string
	PlugDelay  time.Duration
	Config     func(*conf.Config)
	Fake       fake.Config
	HostFake   map[string]fake.Config
}

func start(t *testing.T, f fakeOpts) *computetest.Cloud {
	t.Helper()
	o := computetest.Options{Dir: t.TempDir(), Hosts: f.Hosts, PortStatus: f.PortStatus, PlugDelay: f.PlugDelay, Config: f.Config,
		NewDriver: func(host string) virt.Driver {
			if fc, ok := f.HostFake[host]; ok {
				return fake.New(fc)
			}
			return fake.New(f.Fake)
		}}
	c, err := computetest.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// fakeOf returns a host's fake hypervisor.
func fakeOf(c *computetest.Cloud, host string) *fake.Driver { return c.Driver(host).(*fake.Driver) }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

type server struct {
	ID        string                      `json:"id"`
	Status    string                      `json:"status"`
	VMState   string                      `json:"OS-EXT-STS:vm_state"`
	TaskState *string                     `json:"OS-EXT-STS:task_state"`
	Power     int                         `json:"OS-EXT-STS:power_state"`
	Host      *string                     `json:"OS-EXT-SRV-ATTR:host"`
	Addresses map[string][]map[string]any `json:"addresses"`
	Fault     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"fault"`
}

func create(t *testing.T, c *computetest.Cloud, token string, body map[string]any) (string, int) {
	t.Helper()
	var out struct {
		Server struct {
			ID        string `json:"id"`
			AdminPass string `json:"adminPass"`
		} `json:"server"`
	}
	code, err := c.Do(context.Background(), "POST", "/v2.1/servers", token, "2.93", map[string]any{"server": body}, &out)
	if err != nil {
		t.Fatal(err)
	}
	return out.Server.ID, code
}

func show(t *testing.T, c *computetest.Cloud, id string) server {
	t.Helper()
	var out struct {
		Server server `json:"server"`
	}
	if code, err := c.Do(context.Background(), "GET", "/v2.1/servers/"+id, computetest.AdminToken, "2.93", nil, &out); err != nil || code != 200 {
		t.Fatalf("show %s: %d %v", id, code, err)
	}
	return out.Server
}

func waitStatus(t *testing.T, c *computetest.Cloud, id string, want ...string) server {
	t.Helper()
	var s server
	eventually(t, 20*time.Second, id+" to reach "+strings.Join(want, "/"), func() bool {
		s = show(t, c, id)
		for _, w := range want {
			if s.Status == w {
				// Like tempest's waiter: a stable status counts once no task is running.
				return s.TaskState == nil || transitional[w]
			}
		}
		return false
	})
	return s
}

// transitional statuses carry a task state by definition.
var transitional = map[string]bool{"BUILD": true, "REBOOT": true, "HARD_REBOOT": true, "RESIZE": true,
	"MIGRATING": true, "REBUILD": true, "PASSWORD": true}

type event struct {
	Event  string  `json:"event"`
	Result *string `json:"result"`
	Host   string  `json:"host"`
}

func events(t *testing.T, c *computetest.Cloud, id, action string) []event {
	t.Helper()
	var acts struct {
		InstanceActions []struct {
			Action    string `json:"action"`
			RequestID string `json:"request_id"`
		} `json:"instanceActions"`
	}
	if code, err := c.Do(context.Background(), "GET", "/v2.1/servers/"+id+"/os-instance-actions", computetest.AdminToken, "2.93", nil, &acts); err != nil || code != 200 {
		t.Fatalf("actions: %d %v", code, err)
	}
	for _, a := range acts.InstanceActions {
		if a.Action != action {
			continue
		}
		var out struct {
			InstanceAction struct {
				Events []event `json:"events"`
			} `json:"instanceAction"`
		}
		if code, err := c.Do(context.Background(), "GET", "/v2.1/servers/"+id+"/os-instance-actions/"+a.RequestID, computetest.AdminToken, "2.93", nil, &out); err != nil || code != 200 {
			t.Fatalf("action: %d %v", code, err)
		}
		return out.InstanceAction.Events
	}
	t.Fatalf("no %s action on %s", action, id)
	return nil
}

func result(evs []event, name string) string {
	for _, e := range evs {
		if e.Event == name {
			if e.Result == nil {
				return "running"
			}
			return *e.Result
		}
	}
	return "absent"
}

// TestBootSequence boots a server through every phase: Neutron's port is
// reported plugged by an external event, and each phase is an event.
func TestBootSequence(t *testing.T) {
	c := start(t, fakeOpts{PlugDelay: 50 * time.Millisecond})
	id, code := create(t, c, computetest.DemoToken, map[string]any{"name": "vm1", "imageRef": c.Image.ID, "flavorRef": "1",
		"networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
	if code != 202 || id == "" {
		t.Fatalf("create: %d", code)
	}
	s := waitStatus(t, c, id, "ACTIVE", "ERROR")
	if s.Status != "ACTIVE" || s.Power != 1 || s.TaskState != nil || s.Host == nil || *s.Host != "compute1" {
		t.Fatalf("server: %+v fault %+v", s, s.Fault)
	}
	if addrs := s.Addresses["private"]; len(addrs) != 1 || addrs[0]["addr"] != "10.0.0.2" || addrs[0]["OS-EXT-IPS:type"] != "fixed" {
		t.Fatalf("addresses: %v", s.Addresses)
	}
	evs := events(t, c, id, "create")
	for _, name := range []string{"conductor_schedule_and_build_instances", "compute__do_build_and_run_instance",
		"compute_build_networking", "compute_build_block_device_mapping", "compute_build_spawning"} {
		if r := result(evs, name); r != "Success" {
			t.Errorf("event %s: %s (%+v)", name, r, evs)
		}
	}
	if !fakeOf(c, "compute1").Has(id) || c.Images.Downloads != 1 {
		t.Fatalf("guest %v, downloads %d", fakeOf(c, "compute1").Has(id), c.Images.Downloads)
	}
	// The claim shows in the hypervisor's usage.
	nodes, _ := c.Store.Nodes(context.Background(), "compute1")
	if len(nodes) != 1 || nodes[0].MemoryMBUsed != 512 || nodes[0].VCPUsUsed != 1 {
		t.Fatalf("node usage: %+v", nodes)
	}

	// Delete: guest, port, claim and quota go.
	if code, err := c.Do(context.Background(), "DELETE", "/v2.1/servers/"+id, computetest.DemoToken, "", nil, nil); err != nil || code != 204 {
		t.Fatalf("delete: %d %v", code, err)
	}
	eventually(t, 10*time.Second, "the server to go", func() bool {
		code, _ := c.Do(context.Background(), "GET", "/v2.1/servers/"+id, computetest.DemoToken, "", nil, nil)
		return code == 404
	})
	if fakeOf(c, "compute1").Has(id) || c.Network.PortCount() != 0 {
		t.Fatalf("left behind: guest %v ports %d", fakeOf(c, "compute1").Has(id), c.Network.PortCount())
	}
	u, _ := c.Store.Usage(context.Background(), computetest.DemoProject, "")
	if u["instances"] != 0 || u["ram"] != 0 {
		t.Fatalf("usage after delete: %v", u)
	}
	nodes, _ = c.Store.Nodes(context.Background(), "compute1")
	if nodes[0].MemoryMBUsed != 0 {
		t.Fatalf("claim not freed: %+v", nodes[0])
	}
}

// TestBuildPhasesVisible holds a build in spawning and sees BUILD/spawning.
func TestBuildPhasesVisible(t *testing.T) {
	c := start(t, fakeOpts{Fake: fake.Config{HoldBuild: time.Hour}, PortStatus: "ACTIVE"})
	id, _ := create(t, c, computetest.DemoToken, map[string]any{"name": "held", "imageRef": c.Image.ID, "flavorRef": "1", "networks": "none"})
	eventually(t, 10*time.Second, "spawning", func() bool {
		s := show(t, c, id)
		return s.Status == "BUILD" && s.TaskState != nil && *s.TaskState == "spawning"
	})
	if r := result(events(t, c, id, "create"), "compute_build_spawning"); r != "running" {
		t.Fatalf("spawning event: %s", r)
	}
	// Deleting cancels the build and removes the server.
	c.Do(context.Background(), "DELETE", "/v2.1/servers/"+id, computetest.DemoToken, "", nil, nil)
	eventually(t, 10*time.Second, "the held server to go", func() bool {
		code, _ := c.Do(context.Background(), "GET", "/v2.1/servers/"+id, computetest.DemoToken, "", nil, nil)
		return code == 404
	})
}

// A server deleted while its build waits for network-vif-plugged goes away:
// its ports are deleted and the build is not rescheduled.
func TestDeleteWhileWaitingForVIFs(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "DOWN", PlugDelay: time.Hour})
	id, _ := create(t, c, computetest.DemoToken, map[string]any{"name": "waiting", "imageRef": c.Image.ID, "flavorRef": "1",
		"networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
	eventually(t, 10*time.Second, "networking", func() bool {
		s := show(t, c, id)
		return s.TaskState != nil && *s.TaskState == "networking" && c.Network.PortCount() == 1
	})
	if code, _ := c.Do(context.Background(), "DELETE", "/v2.1/servers/"+id, computetest.DemoToken, "", nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	eventually(t, 10*time.Second, "the server and its port to go", func() bool {
		code, _ := c.Do(context.Background(), "GET", "/v2.1/servers/"+id, computetest.DemoToken, "", nil, nil)
		return code == 404 && c.Network.PortCount() == 0
	})
	time.Sleep(200 * time.Millisecond)
	if n := c.Network.Created; n != 1 {
		t.Fatalf("%d ports created: the build was rescheduled", n)
	}
	// The create action's networking phase did not fail: it was abandoned.
	acts, err := c.Store.Actions(context.Background(), id, cstore.ActionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if a.Action != "create" {
			continue
		}
		full, err := c.Store.Action(context.Background(), id, a.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range full.Events {
			if e.Result == "Error" {
				t.Fatalf("the deleted build recorded a failure: %+v", full.Events)
			}
		}
	}
}

// A build gives up its max_concurrent_builds slot while it waits for
// network-vif-plugged: four builds on a one-slot host wait together.
func TestBuildSlotFreeWhileWaitingForVIFs(t *testing.T) {
	const delay = 500 * time.Millisecond
	c := start(t, fakeOpts{PortStatus: "DOWN", PlugDelay: delay, Config: func(cfg *conf.Config) { cfg.Default.MaxConcurrentBuilds = 1 }})
	t0 := time.Now()
	var ids []string
	for i := 0; i < 4; i++ {
		id, code := create(t, c, computetest.DemoToken, map[string]any{"name": fmt.Sprintf("slot%d", i), "imageRef": c.Image.ID, "flavorRef": "1",
			"networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
		if code != 202 {
			t.Fatalf("create: %d", code)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		waitStatus(t, c, id, "ACTIVE")
	}
	if el := time.Since(t0); el > 3*delay {
		t.Fatalf("4 builds took %s: they waited for their ports one after another", el)
	}
}

// TestSpawnFailureReschedules: a host whose spawns fail hands the build to
// the other host; when every host fails, ERROR with a fault.
func TestSpawnFailureReschedules(t *testing.T) {
	c := start(t, fakeOpts{Hosts: []string{"big", "small"}, PortStatus: "ACTIVE",
		HostFake: map[string]fake.Config{"big": {VCPUs: 64, MemoryMB: 262144, DiskGB: 4000, FailSpawn: true}}})
	id, _ := create(t, c, computetest.DemoToken, map[string]any{"name": "resched", "imageRef": c.Image.ID, "flavorRef": "1", "networks": "none"})
	s := waitStatus(t, c, id, "ACTIVE", "ERROR")
	if s.Status != "ACTIVE" || *s.Host != "small" {
		t.Fatalf("server: %+v", s)
	}
	evs := events(t, c, id, "create")
	failed := 0
	for _, e := range evs {
		if e.Result != nil && *e.Result == "Error" {
			failed++
		}
	}
	if failed == 0 {
		t.Fatalf("the failed attempt on big left no event: %+v", evs)
	}
	// Both hosts fail: ERROR after max_attempts, claims freed.
	fakeOf(c, "small").Configure(func(f *fake.Config) { f.FailSpawn = true })
	id2, _ := create(t, c, computetest.DemoToken, map[string]any{"name": "doomed", "imageRef": c.Image.ID, "flavorRef": "1", "networks": "none"})
	s = waitStatus(t, c, id2, "ERROR")
	if s.Fault == nil || !strings.Contains(s.Fault.Message, "Exceeded maximum number of retries") && !strings.Contains(s.Fault.Message, "No valid host") {
		t.Fatalf("fault: %+v", s.Fault)
	}
	if a, _ := c.Store.Allocations(context.Background(), id2); len(a) != 0 {
		t.Fatalf("claims left: %v", a)
	}
}

// TestNoValidHostSaysWhy: a flavor no host fits fails with the filter named.
func TestNoValidHostSaysWhy(t *testing.T) {
	c := start(t, fakeOpts{Fake: fake.Config{VCPUs: 2, MemoryMB: 1024, DiskGB: 10}, PortStatus: "ACTIVE"})
	id, _ := create(t, c, computetest.DemoToken, map[string]any{"name": "huge", "imageRef": c.Image.ID, "flavorRef": "5", "networks": "none"})
	s := waitStatus(t, c, id, "ERROR")
	if s.Fault == nil || s.Fault.Code != 500 || !strings.Contains(s.Fault.Message, "No valid host was found") || !strings.Contains(s.Fault.Message, "Filter") {
		t.Fatalf("fault: %+v", s.Fault)
	}
	if r := result(events(t, c, id, "create"), "conductor_schedule_and_build_instances"); r != "Error" {
		t.Fatalf("schedule event: %s", r)
	}
}

// TestLostClaimReschedules: the scheduler's snapshot is stale, so its first
// choice has no room any more; the claim CAS fails and the build goes to
// the alternate.
func TestLostClaimReschedules(t *testing.T) {
	c := start(t, fakeOpts{Hosts: []string{"big", "small"}, PortStatus: "ACTIVE",
		HostFake: map[string]fake.Config{"big": {VCPUs: 64, MemoryMB: 8192, DiskGB: 4000}, "small": {VCPUs: 8, MemoryMB: 4096, DiskGB: 100}},
		Config:   func(cfg *conf.Config) { cfg.Scheduler.RefreshInterval = time.Hour }})
	ctx := context.Background()
	// Prime the scheduler's snapshot with one boot, then take big's memory
	// behind its back.
	id0, _ := create(t, c, computetest.DemoToken, map[string]any{"name": "first", "imageRef": c.Image.ID, "flavorRef": "1", "networks": "none"})
	if s := waitStatus(t, c, id0, "ACTIVE"); *s.Host != "big" {
		t.Fatalf("first server on %s, want big", *s.Host)
	}
	nodes, _ := c.Store.Nodes(ctx, "big")
	if err := c.Store.Claim(ctx, cstore.Claim{Consumer: "squatter", NodeUUID: nodes[0].UUID, VCPUs: 1, MemoryMB: 7000}); err != nil {
		t.Fatal(err)
	}
	id, _ := create(t, c, computetest.DemoToken, map[string]any{"name": "second", "imageRef": c.Image.ID, "flavorRef": "1", "networks": "none"})
	s := waitStatus(t, c, id, "ACTIVE", "ERROR")
	if s.Status != "ACTIVE" || *s.Host != "small" {
		t.Fatalf("server after a lost claim: %+v %+v", s, s.Fault)
	}
}

// TestAgentRestartReconciles: what a crash left transitional is resolved.
func TestAgentRestartReconciles(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	ctx := context.Background()
	// An active server whose reboot was interrupted.
	id, _ := create(t, c, computetest.DemoToken, map[string]any{"name": "rebooter", "imageRef": c.Image.ID, "flavorRef": "1", "networks": "none"})
	waitStatus(t, c, id, "ACTIVE")
	if err := c.StopAgent(ctx, "compute1"); err != nil {
		t.Fatal(err)
	}
	reb := states.RebootingHard
	if _, err := c.Store.Save(ctx, cstore.Save{UUID: id, Update: cstore.Update{TaskState: &reb}}); err != nil {
		t.Fatal(err)
	}
	fakeOf(c, "compute1").Destroy(ctx, virt.Ref{UUID: id}, virt.DestroyOptions{})
	// A build that was in flight.
	held := newBuilding(t, c, "compute1")
	// A guest nobody owns.
	fakeOf(c, "compute1").Adopt(virt.Spec{Ref: virt.Ref{UUID: "0b5ad000-0000-4000-8000-000000000000", Name: "instance-stray"}}, states.PowerRunning)

	if err := c.StartAgent(ctx, "compute1"); err != nil {
		t.Fatal(err)
	}
	s := show(t, c, id)
	if s.Status != "ACTIVE" || s.TaskState != nil || !fakeOf(c, "compute1").Has(id) {
		t.Fatalf("interrupted reboot: %+v (guest %v)", s, fakeOf(c, "compute1").Has(id))
	}
	s = show(t, c, held)
	if s.Status != "ERROR" || s.Fault == nil {
		t.Fatalf("interrupted build: %+v", s)
	}
	if fakeOf(c, "compute1").Has("0b5ad000-0000-4000-8000-000000000000") {
		t.Fatal("stray guest survived")
	}
}

// newBuilding writes an instance that was spawning on host when its agent died.
func newBuilding(t *testing.T, c *computetest.Cloud, host string) string {
	t.Helper()
	ctx := context.Background()
	f, _ := c.Store.Flavor(ctx, "1")
	inst := &objects.Instance{UUID: fmt.Sprintf("%08x-0000-4000-8000-000000000001", time.Now().UnixNano()&0xffffffff), ProjectID: computetest.DemoProject,
		UserID: computetest.DemoUser, DisplayName: "half-built", Flavor: *f, VMState: states.Building, TaskState: states.Spawning, Host: host, Node: host}
	if err := c.Store.CreateInstances(ctx, []cstore.NewInstance{{Instance: inst}}, nil, cstore.ActionStart{Action: "create", RequestID: "req-x"}); err != nil {
		t.Fatal(err)
	}
	return inst.UUID
}

// TestConcurrentBootsRespectQuota: 20 concurrent boots against a quota of 5
// instances: exactly 5 are accepted.
func TestConcurrentBootsRespectQuota(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	code, err := c.Do(context.Background(), "PUT", "/v2.1/os-quota-sets/"+computetest.DemoProject, computetest.AdminToken, "", map[string]any{"quota_set": map[string]any{"instances": 5}}, nil)
	if err != nil || code != 200 {
		t.Fatalf("set quota: %d %v", code, err)
	}
	var wg sync.WaitGroup
	var ok, over atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, code := create(t, c, computetest.DemoToken, map[string]any{"name": fmt.Sprint("q", i), "imageRef": c.Image.ID, "flavorRef": "42", "networks": "none"})
			switch code {
			case 202:
				ok.Add(1)
			case 403:
				over.Add(1)
			default:
				t.Errorf("create: %d", code)
			}
		}(i)
	}
	wg.Wait()
	if ok.Load() != 5 || over.Load() != 15 {
		t.Fatalf("accepted %d, over quota %d; want 5 and 15", ok.Load(), over.Load())
	}
}

// TestNetworkAndInputErrors checks the 4xx answers of create.
func TestNetworkAndInputErrors(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	base := func() map[string]any {
		return map[string]any{"name": "x", "imageRef": c.Image.ID, "flavorRef": "1", "networks": "none"}
	}
	for _, tc := range []struct {
		name   string
		change func(m map[string]any)
		want   int
	}{
		{"unknown flavor", func(m map[string]any) { m["flavorRef"] = "nope" }, 400},
		{"unknown image", func(m map[string]any) { m["imageRef"] = "6f7a1c6e-0000-4000-8000-000000000000" }, 400},
		{"bad image ref", func(m map[string]any) { m["imageRef"] = "not-a-uuid" }, 400},
		{"unknown network", func(m map[string]any) {
			m["networks"] = []map[string]any{{"uuid": "6f7a1c6e-0000-4000-8000-000000000000"}}
		}, 400},
		{"bad networks", func(m map[string]any) { m["networks"] = "some" }, 400},
		{"no networks at 2.37", func(m map[string]any) { delete(m, "networks") }, 400},
		{"unknown key", func(m map[string]any) { m["key_name"] = "nokey" }, 400},
		{"min > max", func(m map[string]any) { m["min_count"] = 3; m["max_count"] = 2 }, 400},
		{"bad user data", func(m map[string]any) { m["user_data"] = "!!!" }, 400},
		{"unknown attribute", func(m map[string]any) { m["bogus"] = 1 }, 400},
		{"name missing", func(m map[string]any) { delete(m, "name") }, 400},
		{"flavor too small", func(m map[string]any) { m["flavorRef"] = "42" }, 201},
		{"bad az", func(m map[string]any) { m["availability_zone"] = "nowhere" }, 400},
		{"volume bdm", func(m map[string]any) {
			m["block_device_mapping_v2"] = []map[string]any{{"source_type": "volume", "destination_type": "volume", "uuid": "x", "boot_index": 0}}
		}, 400},
	} {
		m := base()
		tc.change(m)
		_, code := create(t, c, computetest.DemoToken, m)
		want := tc.want
		if want == 201 {
			want = 202
		}
		if code != want {
			t.Errorf("%s: %d, want %d", tc.name, code, want)
		}
	}
	// An image that needs more memory than the flavor has.
	big := c.Images.Add(objects.ImageMeta{Name: "big", MinRAM: 4096}, []byte("x"))
	m := base()
	m["imageRef"] = big.ID
	if _, code := create(t, c, computetest.DemoToken, m); code != 400 {
		t.Errorf("min_ram: %d", code)
	}
	// A port in use is a conflict.
	p, _ := c.Network.AddPort(c.PrivateNet.ID, computetest.DemoProject)
	m = base()
	m["networks"] = []map[string]any{{"port": p.ID}}
	id, code := create(t, c, computetest.DemoToken, m)
	if code != 202 {
		t.Fatalf("boot with port: %d", code)
	}
	waitStatus(t, c, id, "ACTIVE")
	m = base()
	m["networks"] = []map[string]any{{"port": p.ID}}
	if _, code := create(t, c, computetest.DemoToken, m); code != 409 {
		t.Errorf("port in use: %d", code)
	}
	// "auto" finds the demo project's network.
	m = base()
	m["networks"] = "auto"
	id, code = create(t, c, computetest.DemoToken, m)
	if code != 202 {
		t.Fatalf("auto: %d", code)
	}
	if s := waitStatus(t, c, id, "ACTIVE"); len(s.Addresses["private"]) != 1 {
		t.Fatalf("auto network: %v", s.Addresses)
	}
	// The port the user brought is unbound, not deleted, with its server.
	c.Do(context.Background(), "DELETE", "/v2.1/servers/"+id, computetest.DemoToken, "", nil, nil)
	eventually(t, 5*time.Second, "ports", func() bool { return c.Network.PortCount() == 1 })
}

// A server created with config_drive gets an ISO 9660 config drive whose
// meta_data.json and network_data.json describe it; the driver's spec
// carries its path.
func TestConfigDrive(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	id, code := create(t, c, computetest.DemoToken, map[string]any{"name": "cd", "imageRef": c.Image.ID, "flavorRef": "1",
		"config_drive": true, "user_data": base64.StdEncoding.EncodeToString([]byte("#cloud-config\n")),
		"metadata": map[string]any{"role": "db"}, "networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
	if code != 202 {
		t.Fatalf("create: %d", code)
	}
	s := waitStatus(t, c, id, "ACTIVE")
	spec, ok := fakeOf(c, *s.Host).Spec(id)
	if !ok || spec.ConfigDrive == "" {
		t.Fatalf("no config drive in the spec: %+v", spec)
	}
	img, err := os.ReadFile(spec.ConfigDrive)
	if err != nil {
		t.Fatal(err)
	}
	if len(img) < 19*2048 || string(img[16*2048+1:16*2048+6]) != "CD001" || !bytes.Contains(img[16*2048:17*2048], []byte("config-2")) {
		t.Fatal("the config drive is not an ISO 9660 image labelled config-2")
	}
	for _, want := range []string{`"uuid":"` + id + `"`, `"role":"db"`, "#cloud-config", `"ethernet_mac_address"`} {
		if !bytes.Contains(img, []byte(want)) {
			t.Errorf("the config drive lacks %s", want)
		}
	}
	var v struct {
		Server struct {
			ConfigDrive string `json:"config_drive"`
		} `json:"server"`
	}
	c.Do(context.Background(), "GET", "/v2.1/servers/"+id, computetest.DemoToken, "", nil, &v)
	if v.Server.ConfigDrive != "True" {
		t.Fatalf("config_drive shown as %q", v.Server.ConfigDrive)
	}
}

// An AMI-style image (kernel_id and ramdisk_id properties naming images of
// their own) reaches the driver with both fetched into the host's cache; a
// kernel image that does not exist fails the build with a fault naming it.
func TestKernelRamdiskImages(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	kernel := c.Images.Add(objects.ImageMeta{Name: "vmlinuz", DiskFormat: "aki", Visibility: "public"}, []byte("kernel bytes"))
	ramdisk := c.Images.Add(objects.ImageMeta{Name: "initrd", DiskFormat: "ari", Visibility: "public"}, []byte("ramdisk bytes"))
	root := c.Images.Add(objects.ImageMeta{Name: "ami", DiskFormat: "ami", Visibility: "public",
		Properties: map[string]string{"kernel_id": kernel.ID, "ramdisk_id": ramdisk.ID}}, []byte("root bytes"))
	id, code := create(t, c, computetest.DemoToken, map[string]any{"name": "ami", "imageRef": root.ID, "flavorRef": "1",
		"networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
	if code != 202 {
		t.Fatalf("create: %d", code)
	}
	s := waitStatus(t, c, id, "ACTIVE")
	spec, ok := fakeOf(c, *s.Host).Spec(id)
	if !ok {
		t.Fatal("no spec")
	}
	for name, f := range map[string]struct{ path, want string }{"kernel": {spec.Kernel, "kernel bytes"}, "ramdisk": {spec.Ramdisk, "ramdisk bytes"}} {
		b, err := os.ReadFile(f.path)
		if err != nil || string(b) != f.want {
			t.Errorf("%s in the spec: %q (%v), want the cached %s image", name, f.path, err, name)
		}
	}

	broken := c.Images.Add(objects.ImageMeta{Name: "ami-broken", DiskFormat: "ami", Visibility: "public",
		Properties: map[string]string{"kernel_id": "00000000-0000-0000-0000-00000000dead"}}, []byte("root bytes"))
	id, code = create(t, c, computetest.DemoToken, map[string]any{"name": "ami-broken", "imageRef": broken.ID, "flavorRef": "1",
		"networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
	if code != 202 {
		t.Fatalf("create: %d", code)
	}
	if s := waitStatus(t, c, id, "ERROR"); s.Fault == nil || !strings.Contains(s.Fault.Message, "kernel_id") {
		t.Fatalf("fault: %+v", s.Fault)
	}
}

// A host checks what it downloads against Glance's os_hash_value: data that
// does not match fails the build with a fault that says so, and is not
// kept in the cache.
func TestImageHashChecked(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	bad := c.Images.Add(objects.ImageMeta{Name: "tampered", Visibility: "public", HashAlgo: "sha512", HashValue: strings.Repeat("0", 128)}, []byte("not what was uploaded"))
	id, code := create(t, c, computetest.DemoToken, map[string]any{"name": "tampered", "imageRef": bad.ID, "flavorRef": "1",
		"networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
	if code != 202 {
		t.Fatalf("create: %d", code)
	}
	if s := waitStatus(t, c, id, "ERROR"); s.Fault == nil || !strings.Contains(s.Fault.Message, "os_hash_value") {
		t.Fatalf("fault: %+v", s.Fault)
	}
	// The good image (its hash set by the fake Glance) still boots.
	id, _ = create(t, c, computetest.DemoToken, map[string]any{"name": "good", "imageRef": c.Image.ID, "flavorRef": "1",
		"networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
	waitStatus(t, c, id, "ACTIVE")
}

// A build whose network-vif-plugged event is lost (Neutron's server died
// after setting the port ACTIVE, before sending its batch) still goes
// ACTIVE within seconds: the agent reads the port's status while it waits,
// instead of failing after vif_plugging_timeout (300 s).
func TestLostVIFPluggedEventDoesNotStrandTheBuild(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "DOWN", PlugDelay: 100 * time.Millisecond})
	c.Network.LoseNotify = true
	id, _ := create(t, c, computetest.DemoToken, map[string]any{"name": "lost-event", "imageRef": c.Image.ID, "flavorRef": "1",
		"networks": []map[string]any{{"uuid": c.PrivateNet.ID}}})
	eventually(t, 15*time.Second, "the server ACTIVE", func() bool { return show(t, c, id).Status == "ACTIVE" })
}

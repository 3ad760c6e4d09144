package stack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// lockedBuffer is a log sink several goroutines write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRequestIDAcrossProcesses follows one request from the API to the
// compute agent: a control plane (Keystone, Glance, Nova API, conductor,
// scheduler) and a compute agent with their own bus connections to an
// external NATS and their own logs. The x-openstack-request-id Nova answers
// the boot with is on the API's access line, on the conductor's and on the
// agent's lines about that instance, in JSON logs an operator would grep.
func TestRequestIDAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and an agent")
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:4222", time.Second); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the check needs the external NATS at 127.0.0.1:4222: %v", err)
		}
		t.Skipf("no external NATS: %v", err)
	} else {
		c.Close()
	}
	var rb [4]byte
	rand.Read(rb[:])
	prefix := "rid" + hex.EncodeToString(rb[:]) + "."
	ctlLog, agentLog := &lockedBuffer{}, &lockedBuffer{}
	ip := testkit.FreeLoopback(t)
	c := testkit.StartWith(t, testkit.Options{
		Services: []string{"keystone", "glance", "nova"},
		Tweak: func(o *stack.Options) {
			o.HostIP, o.BusURL, o.BusPrefix = ip, externalNATS, prefix
			o.Log = slog.New(logging.Handler(ctlLog, logging.Options{Level: "debug", JSON: true}))
		},
	})
	ctx := context.Background()
	agent, err := stack.Start(ctx, stack.Components(), stack.Options{
		DataDir: t.TempDir(), HostIP: testkit.FreeLoopback(t), Services: []string{"nova-compute"},
		BusURL: externalNATS, BusPrefix: prefix, AuthURL: c.AuthURL, Host: "rid-host",
		Secrets: stack.Secrets{ServicePassword: "service-test-password"},
		Log:     slog.New(logging.Handler(agentLog, logging.Options{Level: "debug", JSON: true})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Stop(context.Background())
		if t.Failed() {
			t.Logf("control log:\n%s\nagent log:\n%s", ctlLog, agentLog)
		}
	})

	img := c.Client(t, "admin", "admin", "image")
	pub := images.ImageVisibilityPublic
	im, err := images.Create(ctx, img, images.CreateOpts{Name: "rid", DiskFormat: "raw", ContainerFormat: "bare", Visibility: &pub}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := imagedata.Upload(ctx, img, im.ID, bytes.NewReader(make([]byte, 4096))).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	nova := c.Client(t, "demo", "demo", "compute")
	nova.Microversion = "2.93"
	// The agent registers with the conductor before the scheduler sees it.
	var res servers.CreateResult
	testkit.Eventually(t, 30*time.Second, func() bool {
		res = servers.Create(ctx, nova, servers.CreateOpts{Name: "rid1", ImageRef: im.ID, FlavorRef: "1", Networks: "none"}, nil)
		return res.Err == nil
	}, "boot accepted")
	srv, err := res.Extract()
	if err != nil {
		t.Fatal(err)
	}
	reqID := res.Header.Get("X-Openstack-Request-Id")
	if !strings.HasPrefix(reqID, "req-") {
		t.Fatalf("boot answered request id %q", reqID)
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		got, err := servers.Get(ctx, nova, srv.ID).Extract()
		return err == nil && (got.Status == "ACTIVE" || got.Status == "ERROR")
	}, "server to build")
	if got, _ := servers.Get(ctx, nova, srv.ID).Extract(); got == nil || got.Status != "ACTIVE" {
		t.Fatalf("server not ACTIVE: %+v", got)
	}
	// Lines are JSON objects: select by request_id and see what they say.
	lines := func(log string) []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(log, "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["request_id"] == reqID {
				out = append(out, m)
			}
		}
		return out
	}
	has := func(ls []map[string]any, want map[string]string) bool {
	next:
		for _, l := range ls {
			for k, v := range want {
				if s, _ := l[k].(string); s != v {
					continue next
				}
			}
			return true
		}
		return false
	}
	ctl, ag := lines(ctlLog.String()), lines(agentLog.String())
	if !has(ctl, map[string]string{"msg": "request", "method": "POST", "path": "/v2.1/servers"}) {
		t.Errorf("no API access line with %s", reqID)
	}
	for _, msg := range []string{"building instance", "instance active"} {
		if !has(ag, map[string]string{"msg": msg, "instance_id": srv.ID}) {
			t.Errorf("no agent line %q with %s", msg, reqID)
		}
	}
	if !has(ctl, map[string]string{"msg": "instance scheduled", "service": "nova", "instance_id": srv.ID}) {
		t.Errorf("no conductor line with %s", reqID)
	}
}

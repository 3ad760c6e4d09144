package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/testkit/loopback"
)

// natsNode is one nats-server process of a test cluster.
type natsNode struct {
	name   string
	client string // nats://ip:port
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCluster runs a 3-node NATS cluster (Debian's nats-server) on its own
// loopback address, with routes between every pair.
func startCluster(t *testing.T) []*natsNode {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the cluster test needs nats-server (Debian's nats-server package)")
		}
		t.Skip("no nats-server installed")
	}
	ip, err := loopback.Free()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var nodes []*natsNode
	var routes []string
	cports := make([]int, 3)
	for i := range cports {
		cports[i] = freePort(t, ip)
		routes = append(routes, fmt.Sprintf("nats://%s:%d", ip, cports[i]))
	}
	for i := 0; i < 3; i++ {
		n := &natsNode{name: fmt.Sprintf("n%d", i+1), exited: make(chan struct{})}
		port := freePort(t, ip)
		n.client = fmt.Sprintf("nats://%s:%d", ip, port)
		n.log = filepath.Join(dir, n.name+".log")
		var others []string
		for j, r := range routes {
			if j != i {
				others = append(others, r)
			}
		}
		n.cmd = exec.Command(bin, "-a", ip, "-p", fmt.Sprint(port), "-n", n.name,
			"--cluster_name", "tenku-test", "--cluster", routes[i], "--routes", strings.Join(others, ","),
			"-l", n.log)
		n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { n.cmd.Wait(); close(n.exited) }()
		t.Cleanup(func() {
			n.cmd.Process.Kill()
			<-n.exited
			if t.Failed() {
				b, _ := os.ReadFile(n.log)
				t.Logf("%s log:\n%s", n.name, b)
			}
		})
		nodes = append(nodes, n)
	}
	// Every node accepts clients and sees its two routes.
	deadline := time.Now().Add(15 * time.Second)
	for _, n := range nodes {
		for {
			b, _ := os.ReadFile(n.log)
			if strings.Count(string(b), "Route connection created") >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not join the cluster:\n%s", n.name, b)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nodes
}

// TestClusterSurvivesANode runs servers and a caller on a 3-node NATS
// cluster and kills (SIGKILL) the node the servers are connected to, amid
// steady calls: calls in flight fail cleanly with a typed fault (503 no
// responders or 504 timeout), never hang past their deadline; the servers'
// subscriptions come back on another node by themselves, and within a few
// seconds every call and cast succeeds again.
func TestClusterSurvivesANode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three nats-server processes")
	}
	nodes := startCluster(t)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.client)
	}
	ctx := context.Background()
	// The servers start on n1 (the first URL; nats.go may pick any, so the
	// test asks which it got).
	srv, err := Open(ctx, Options{URL: strings.Join(urls, ","), Name: "servers"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	var casts atomic.Int32
	_, err = srv.Serve(ctx, "calc", ServeOptions{Queue: "calc"}, map[string]Handler{
		"add": func(ctx context.Context, raw json.RawMessage) (any, error) {
			a, err := Decode[addArgs](raw)
			return a.A + a.B, err
		},
		"note": func(context.Context, json.RawMessage) (any, error) { casts.Add(1); return nil, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	var victim *natsNode
	for _, n := range nodes {
		if n.client == srv.Conn().ConnectedUrl() {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("servers connected to %q, not a cluster node", srv.Conn().ConnectedUrl())
	}
	// The caller on another node, so its calls cross a route.
	var callerURLs []string
	for _, u := range urls {
		if u != victim.client {
			callerURLs = append(callerURLs, u)
		}
	}
	callerURLs = append(callerURLs, victim.client)
	caller, err := Open(ctx, Options{URL: strings.Join(callerURLs, ","), Name: "caller"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(caller.Close)
	call := func() error {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		var sum int
		start := time.Now()
		err := caller.Call(cctx, "calc", "add", addArgs{2, 3}, &sum)
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("a call took %v past its 1 s deadline", d)
		}
		if err == nil && sum != 5 {
			return fmt.Errorf("2+3 = %d", sum)
		}
		return err
	}
	waitFor := func(cond func() bool, within time.Duration, what string) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Routes carry the servers' interest to the caller's node.
	waitFor(func() bool { return call() == nil }, 5*time.Second, "first call across the cluster")
	for i := 0; i < 50; i++ {
		if err := call(); err != nil {
			t.Fatalf("call %d before the kill: %v", i, err)
		}
	}

	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	killed := time.Now()
	var failed int
	var recovered time.Duration
	for time.Since(killed) < 15*time.Second {
		err := call()
		if err == nil {
			recovered = time.Since(killed)
			break
		}
		failed++
		var f *fault.Error
		if !errors.As(err, &f) || (f.Status != 503 && f.Status != 504) {
			t.Fatalf("a call failed with %v, not a typed 503/504 fault", err)
		}
	}
	if recovered == 0 {
		t.Fatal("calls did not recover within 15 s of losing a node")
	}
	if srv.Conn().ConnectedUrl() == victim.client {
		t.Fatal("the servers still claim the dead node")
	}
	for i := 0; i < 100; i++ {
		if err := call(); err != nil {
			t.Fatalf("call %d after recovery: %v", i, err)
		}
	}
	for i := 0; i < 20; i++ {
		if err := caller.Cast(ctx, "calc", "note", nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(func() bool { return casts.Load() == 20 }, 5*time.Second, "20 casts after recovery")
	t.Logf("node %s killed: %d calls failed cleanly, calls served again after %v", victim.name, failed, recovered.Round(time.Millisecond))
}

// TestSendSurvivesFailover: messages sent with Send while their receiver's
// cluster node has just been killed (its connection down, failing over to
// another node) all arrive, once each and in order, after it reconnects;
// plain Casts in the same window are dropped (logged for comparison).
func TestSendSurvivesFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three nats-server processes")
	}
	nodes := startCluster(t)
	ctx := context.Background()
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.client)
	}
	recv, err := Open(ctx, Options{URL: strings.Join(urls, ","), Name: "receiver"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(recv.Close)
	var sink orderedSink
	var plain atomic.Int32
	h := sink.handlers()
	h["plain"] = func(context.Context, json.RawMessage) (any, error) { plain.Add(1); return nil, nil }
	if _, err := recv.Serve(ctx, "agent.h1", ServeOptions{Concurrency: 1}, h); err != nil {
		t.Fatal(err)
	}
	var victim *natsNode
	var others []string
	for _, n := range nodes {
		if n.client == recv.Conn().ConnectedUrl() {
			victim = n
		} else {
			others = append(others, n.client)
		}
	}
	if victim == nil {
		t.Fatalf("receiver connected to %q, not a cluster node", recv.Conn().ConnectedUrl())
	}
	sender, err := Open(ctx, Options{URL: strings.Join(others, ","), Name: "sender"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sender.Close)
	// Interest crosses the routes before the test starts.
	waitUntil(t, 5*time.Second, "the receiver seen across the cluster", func() bool {
		return sender.Call(ctx, "agent.h1", "n", -1, nil) == nil
	})
	sink.mu.Lock()
	sink.got = nil
	sink.mu.Unlock()

	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	const n = 30
	for i := 0; i < n; i++ {
		if err := sender.Send(ctx, "agent.h1", "n", i); err != nil {
			t.Fatal(err)
		}
		if err := sender.Cast(ctx, "agent.h1", "plain", nil); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 20*time.Second, "every sent message after the failover", func() bool { return len(sink.snapshot()) >= n })
	time.Sleep(200 * time.Millisecond)
	got := sink.snapshot()
	if len(got) != n {
		t.Fatalf("received %d sent messages, want %d: %v", len(got), n, got)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("message %d is %d: not in order (%v)", i, v, got)
		}
	}
	t.Logf("node %s killed: %d of %d sent messages delivered; %d of %d plain casts", victim.name, len(got), n, plain.Load(), n)
}

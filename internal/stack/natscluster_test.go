package stack_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// natsNode is one nats-server process of a test cluster.
type natsNode struct {
	name, client, log string
	cmd               *exec.Cmd
	exited            chan struct{}
}

// natsServerBin finds Debian's nats-server; the test skips without it
// (fails in CI).
func natsServerBin(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("nats-server"); err == nil {
		return bin
	}
	for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the fault test needs nats-server (Debian's nats-server package)")
	}
	t.Skip("no nats-server installed")
	return ""
}

func freeTCPPort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNATSCluster runs three nats-server processes on ip, joined by
// routes, and waits until each sees the other two. They are killed when
// the test ends.
func startNATSCluster(t *testing.T, ip string) []*natsNode {
	t.Helper()
	bin := natsServerBin(t)
	dir := t.TempDir()
	routes := make([]string, 3)
	for i := range routes {
		routes[i] = fmt.Sprintf("nats://%s:%d", ip, freeTCPPort(t, ip))
	}
	var nodes []*natsNode
	for i := range routes {
		n := &natsNode{name: fmt.Sprintf("n%d", i+1), exited: make(chan struct{})}
		port := freeTCPPort(t, ip)
		n.client = fmt.Sprintf("nats://%s:%d", ip, port)
		n.log = filepath.Join(dir, n.name+".log")
		var others []string
		for j, r := range routes {
			if j != i {
				others = append(others, r)
			}
		}
		n.cmd = exec.Command(bin, "-a", ip, "-p", fmt.Sprint(port), "-n", n.name, "--cluster_name", "tenku-faults",
			"--cluster", routes[i], "--routes", strings.Join(others, ","), "-l", n.log)
		n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { n.cmd.Wait(); close(n.exited) }()
		t.Cleanup(func() {
			n.cmd.Process.Kill()
			<-n.exited
		})
		nodes = append(nodes, n)
	}
	deadline := time.Now().Add(30 * time.Second)
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

// tcpBalancer stands for the load balancer in front of the API replicas
// (haproxy in the documented layout): one listener per API port on its own
// address, each connection passed to the next replica that accepts a
// connection. A killed replica refuses at once, so it drops out without a
// health check; connections it held fail, as they would behind haproxy.
type tcpBalancer struct {
	mu       sync.Mutex
	next     int
	backends []string
	lns      []net.Listener
	wg       sync.WaitGroup
}

func startBalancer(t *testing.T, ip string, ports []int, backends []string) *tcpBalancer {
	t.Helper()
	b := &tcpBalancer{backends: backends}
	for _, port := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
		if err != nil {
			t.Fatal(err)
		}
		b.lns = append(b.lns, ln)
		b.wg.Add(1)
		go func(port int) {
			defer b.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go b.pass(c, port)
			}
		}(port)
	}
	t.Cleanup(func() {
		for _, ln := range b.lns {
			ln.Close()
		}
		b.wg.Wait()
	})
	return b
}

func (b *tcpBalancer) pass(c net.Conn, port int) {
	defer c.Close()
	b.mu.Lock()
	first := b.next
	b.next++
	b.mu.Unlock()
	for i := range b.backends {
		be := b.backends[(first+i)%len(b.backends)]
		up, err := net.DialTimeout("tcp", net.JoinHostPort(be, fmt.Sprint(port)), time.Second)
		if err != nil {
			continue
		}
		defer up.Close()
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
		go func() { io.Copy(c, up); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
		<-done
		<-done
		return
	}
}

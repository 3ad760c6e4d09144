package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const greeting = `{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "test"}, "capabilities": ["oob"]}}` + "\n"

// fakeServer is a QMP peer the test scripts: handle gets each command and
// writes whatever it likes.
type fakeServer struct {
	t    *testing.T
	path string
	ln   net.Listener
}

type cmd struct {
	Execute   string          `json:"execute"`
	ID        string          `json:"id"`
	Arguments json.RawMessage `json:"arguments"`
}

func newFake(t *testing.T, handle func(w *json.Encoder, c cmd, conn net.Conn)) *fakeServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "qmp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "qmp.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.Write([]byte(greeting))
				enc := json.NewEncoder(conn)
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					var c cmd
					if json.Unmarshal(sc.Bytes(), &c) != nil {
						continue
					}
					if c.Execute == "qmp_capabilities" {
						enc.Encode(map[string]any{"return": map[string]any{}, "id": c.ID})
						continue
					}
					handle(enc, c, conn)
				}
			}()
		}
	}()
	return &fakeServer{t: t, path: path, ln: ln}
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func event(name string, data any) map[string]any {
	return map[string]any{"event": name, "data": data, "timestamp": map[string]any{"seconds": 1, "microseconds": 2}}
}

// Replies are routed by id, not by order: the server answers two
// concurrent commands in reverse order.
func TestRepliesRoutedByID(t *testing.T) {
	var mu sync.Mutex
	var held []cmd
	var enc0 *json.Encoder
	f := newFake(t, func(enc *json.Encoder, c cmd, _ net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, c)
		enc0 = enc
		if len(held) == 2 {
			for i := 1; i >= 0; i-- {
				enc0.Encode(map[string]any{"return": map[string]any{"who": held[i].Execute}, "id": held[i].ID})
			}
		}
	})
	c := dial(t, f.path)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	got := make([]string, 2)
	for i, name := range []string{"first", "second"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct{ Who string }
			if err := c.Run(ctx, name, nil, &out); err != nil {
				t.Error(err)
			}
			got[i] = out.Who
		}()
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	if got[0] != "first" || got[1] != "second" {
		t.Fatalf("replies misrouted: %v", got)
	}
}

// A flood of events nobody reads never stalls a reply, and the oldest
// events are dropped beyond the bound.
func TestUnreadEventsNeverStallReplies(t *testing.T) {
	n := maxQueued + 1000
	f := newFake(t, func(enc *json.Encoder, c cmd, _ net.Conn) {
		for i := 0; i < n; i++ {
			enc.Encode(event("NOISE", map[string]int{"i": i}))
		}
		enc.Encode(map[string]any{"return": map[string]any{"running": true, "status": "running"}, "id": c.ID})
	})
	c := dial(t, f.path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.QueryStatus(ctx)
	if err != nil || !st.Running {
		t.Fatalf("query-status behind %d unread events: %+v %v", n, st, err)
	}
	// the reader is still routing: a second command works too
	if _, err := c.QueryStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if d := c.Dropped(); d == 0 {
		t.Fatalf("expected dropped events, got none")
	}
	// what remains is delivered in order
	last := -1
	timeout := time.After(5 * time.Second)
	for count := 0; count < 100; count++ {
		select {
		case ev := <-c.Events():
			var d struct{ I int }
			json.Unmarshal(ev.Data, &d)
			if d.I <= last {
				t.Fatalf("events out of order: %d after %d", d.I, last)
			}
			last = d.I
		case <-timeout:
			t.Fatal("events not delivered")
		}
	}
}

// DEVICE_DELETED arriving before device_del's reply still completes it;
// an event for another device does not.
func TestDeviceDelWaitsForItsEvent(t *testing.T) {
	f := newFake(t, func(enc *json.Encoder, c cmd, _ net.Conn) {
		var a struct{ ID string }
		json.Unmarshal(c.Arguments, &a)
		switch a.ID {
		case "early":
			enc.Encode(event("DEVICE_DELETED", map[string]string{"device": "other"}))
			enc.Encode(event("DEVICE_DELETED", map[string]string{"device": "early"}))
			enc.Encode(map[string]any{"return": map[string]any{}, "id": c.ID})
		case "never":
			enc.Encode(map[string]any{"return": map[string]any{}, "id": c.ID})
		case "bad":
			enc.Encode(map[string]any{"error": map[string]string{"class": "DeviceNotFound", "desc": "Device 'bad' not found"}, "id": c.ID})
		}
	})
	c := dial(t, f.path)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.DeviceDel(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if err := c.DeviceDel(short, "never"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("device_del without its event: %v", err)
	}
	var qe *Error
	if err := c.DeviceDel(ctx, "bad"); !errors.As(err, &qe) || qe.Class != "DeviceNotFound" {
		t.Fatalf("error reply: %v", err)
	}
	c.mu.Lock()
	n := len(c.waiters) + len(c.pending)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d waiters/pending left behind", n)
	}
}

// When the peer goes away, pending commands and waiters fail with
// ErrClosed, queued events are still delivered and Events is closed.
func TestCloseFailsPending(t *testing.T) {
	f := newFake(t, func(enc *json.Encoder, c cmd, conn net.Conn) {
		enc.Encode(event("SHUTDOWN", map[string]any{"guest": false}))
		conn.Close()
	})
	c := dial(t, f.path)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Execute(ctx, "quit", nil)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("pending command after close: %v", err)
	}
	<-c.Done()
	if _, err := c.Execute(ctx, "query-status", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("command after close: %v", err)
	}
	var names []string
	for ev := range c.Events() {
		names = append(names, ev.Name)
	}
	if len(names) != 1 || names[0] != "SHUTDOWN" {
		t.Fatalf("events after close: %v", names)
	}
}

func TestNotQMP(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			conn.Write([]byte("SSH-2.0-nope\n"))
			time.Sleep(100 * time.Millisecond)
			conn.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if c, err := Dial(ctx, path); err == nil {
		c.Close()
		t.Fatal("accepted a non-QMP peer")
	}
}

// startQEMU runs a machine with no disk, stopped before its first
// instruction, with its QMP socket at the returned path.
func startQEMU(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed (scripts/install-deps installs qemu-system-x86)")
	}
	dir, err := os.MkdirTemp("", "qmp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "qmp.sock")
	cmd := exec.Command(bin, "-S", "-machine", "q35", "-accel", "tcg", "-nodefaults", "-display", "none",
		"-m", "64", "-qmp", "unix:"+sock+",server=on,wait=off")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("QEMU made no QMP socket")
	return ""
}

func TestRealQEMU(t *testing.T) {
	sock := startQEMU(t)
	c := dial(t, sock)
	if g := c.Greeting(); g.QMP.Version.QEMU.Major < 5 {
		t.Fatalf("greeting: %+v", g)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := c.QueryStatus(ctx)
	if err != nil || st.Status != "prelaunch" {
		t.Fatalf("status of a -S machine: %+v %v", st, err)
	}
	if _, err := c.ExecuteUntil(ctx, "cont", nil, Named("RESUME")); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.QueryStatus(ctx); !st.Running {
		t.Fatalf("after cont: %+v", st)
	}
	if _, err := c.ExecuteUntil(ctx, "stop", nil, Named("STOP")); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.QueryStatus(ctx); st.Status != "paused" {
		t.Fatalf("after stop: %+v", st)
	}
	var qe *Error
	if _, err := c.Execute(ctx, "no-such-command", nil); !errors.As(err, &qe) || qe.Class != "CommandNotFound" {
		t.Fatalf("unknown command: %v", err)
	}
	// many concurrent commands, each gets its own answer
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct {
				Name string `json:"name"`
			}
			if err := c.Run(ctx, "query-name", nil, &out); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// device_del with a device that has no guest to cooperate: unplugging a
	// device the machine does not have is QEMU's error
	if err := c.DeviceDel(ctx, "nope"); !errors.As(err, &qe) {
		t.Fatalf("device_del of nothing: %v", err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	var names []string
	for ev := range c.Events() {
		names = append(names, ev.Name)
	}
	if fmt.Sprint(names) != "[RESUME STOP SHUTDOWN]" {
		t.Fatalf("events: %v", names)
	}
}

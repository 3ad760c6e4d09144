package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as an agent that starts a process and dies.
func TestMain(m *testing.M) {
	if pf := os.Getenv("PROC_TEST_AGENT"); pf != "" {
		if _, err := Start(Spec{Path: "/bin/sleep", Args: []string{"60"}, PIDFile: pf}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0) // the agent dies; the process must not
	}
	os.Exit(m.Run())
}

func sessionAndGroup(t *testing.T, pid int) (int, int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
	pgrp, _ := strconv.Atoi(f[2])
	sid, _ := strconv.Atoi(f[3])
	return sid, pgrp
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestStartFindStop(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "p.pid")
	log := filepath.Join(dir, "p.log")
	p, err := Start(Spec{Path: "/bin/sh", Args: []string{"-c", "echo hello; echo oops >&2; exec sleep 60"}, PIDFile: pf, LogFile: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), 0) })
	if sid, pg := sessionAndGroup(t, p.PID); sid != p.PID || pg != p.PID {
		t.Fatalf("pid %d runs in session %d group %d, want its own", p.PID, sid, pg)
	}
	q, err := Find(pf)
	if err != nil || q.PID != p.PID || q.StartTime != p.StartTime {
		t.Fatalf("Find: %+v %v", q, err)
	}
	time.Sleep(200 * time.Millisecond)
	if b, _ := os.ReadFile(log); string(b) != "hello\noops\n" {
		t.Fatalf("log: %q", b)
	}
	if args, _ := q.Cmdline(); len(args) != 2 || args[0] != "sleep" {
		t.Fatalf("cmdline: %q", args)
	}
	// stopping the found process (no SIGTERM grace) ends the started one
	if err := q.Stop(ctx(t), 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("started process still runs")
	}
	if p.Alive() || q.Alive() {
		t.Fatal("Alive after Stop")
	}
	if _, err := os.Stat(pf); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pidfile left: %v", err)
	}
	if _, err := Find(pf); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Find after Stop: %v", err)
	}
}

// A process that ignores SIGTERM is killed after the grace period, with
// its whole group.
func TestStopEscalates(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "p.pid")
	p, err := Start(Spec{Path: "/bin/sh", Args: []string{"-c", "trap '' TERM; sleep 60 & wait"}, PIDFile: pf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-p.PID, syscall.SIGKILL) })
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := p.Stop(ctx(t), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("stopped after %v: SIGTERM was not ignored?", d)
	}
	deadline := time.Now().Add(3 * time.Second)
	for live(t, p.PID) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d members of group %d still run", live(t, p.PID), p.PID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// live counts the group's processes that are not zombies.
func live(t *testing.T, pgid int) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
		if g, _ := strconv.Atoi(f[2]); g == pgid && f[0] != "Z" {
			n++
		}
	}
	return n
}

// A pidfile whose pid now belongs to another process (other start time)
// names nothing; so does garbage.
func TestPIDReuse(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "p.pid")
	os.WriteFile(pf, []byte(fmt.Sprintf("%d 1\n", os.Getpid())), 0o644)
	if _, err := Find(pf); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("reused pid: %v", err)
	}
	os.WriteFile(pf, []byte("nonsense"), 0o644)
	if _, err := Find(pf); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := Find(filepath.Join(dir, "none")); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("missing: %v", err)
	}
}

// The process outlives the agent that started it, and a new agent finds
// and stops it.
func TestOutlivesAgent(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "p.pid")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PROC_TEST_AGENT="+pf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("agent: %v %s", err, out)
	}
	p, err := Find(pf)
	if err != nil {
		t.Fatalf("after the agent died: %v", err)
	}
	t.Cleanup(func() { syscall.Kill(p.PID, syscall.SIGKILL) })
	if err := p.Stop(ctx(t), time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Alive() {
		t.Fatal("still alive")
	}
}

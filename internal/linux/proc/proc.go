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
	"sync"
	"syscall"
	"time"
)

// ErrNotRunning says the pidfile names no live process (or none at all).
var ErrNotRunning = errors.New("process not running")

// Spec is a process to start.
type Spec struct {
	Path string
	Args []string
	Env  []string // nil: the caller's environment
	Dir  string
	// PIDFile records the process; required.
	PIDFile string
	// LogFile receives stdout and stderr (appended); "" discards them.
	LogFile string
}

// Process is a supervised process: one this agent started or one it found
// again from its pidfile.
type Process struct {
	PID       int
	StartTime uint64 // clock ticks since boot, /proc/<pid>/stat field 22
	PIDFile   string

	child  *exec.Cmd     // set when this process started it
	reaped chan struct{} // closed when a child was reaped
	once   sync.Once
	polled chan struct{} // closed when a found process is gone
}

// Start starts a process detached from the caller: its own session and
// process group, so signals to the agent's group and the agent's death do
// not reach it. The caller's process reaps it while alive.
func Start(s Spec) (*Process, error) {
	if s.PIDFile == "" {
		return nil, errors.New("proc: no pidfile")
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	out := devnull
	if s.LogFile != "" {
		f, err := os.OpenFile(s.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		out = f
	}
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Env, cmd.Dir = s.Env, s.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{PID: cmd.Process.Pid, PIDFile: s.PIDFile, child: cmd, reaped: make(chan struct{})}
	go func() { cmd.Wait(); close(p.reaped) }()
	st, err := startTime(p.PID)
	if err == nil {
		err = writePIDFile(s.PIDFile, p.PID, st)
	}
	if err != nil {
		p.signal(syscall.SIGKILL)
		<-p.reaped
		return nil, err
	}
	p.StartTime = st
	return p, nil
}

func writePIDFile(path string, pid int, st uint64) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", pid, st)), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Find returns the live process a pidfile names. It is ErrNotRunning when
// the file is missing, or its process is gone, a zombie, or a different
// process that reuses the pid. A process this agent started is matched too.
func Find(pidfile string) (*Process, error) {
	b, err := os.ReadFile(pidfile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", pidfile, ErrNotRunning)
	}
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return nil, fmt.Errorf("%s: empty pidfile: %w", pidfile, ErrNotRunning)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 1 {
		return nil, fmt.Errorf("%s: bad pidfile %q: %w", pidfile, b, ErrNotRunning)
	}
	var want uint64
	if len(f) > 1 {
		want, _ = strconv.ParseUint(f[1], 10, 64)
	}
	p := &Process{PID: pid, StartTime: want, PIDFile: pidfile}
	if !p.Alive() {
		return nil, fmt.Errorf("%s: pid %d: %w", pidfile, pid, ErrNotRunning)
	}
	return p, nil
}

// Alive says whether the process still runs (a zombie does not).
func (p *Process) Alive() bool {
	if p.reaped != nil {
		select {
		case <-p.reaped:
			return false
		default:
		}
	}
	st, state, err := stat(p.PID)
	if err != nil || state == "Z" || state == "X" {
		return false
	}
	return p.StartTime == 0 || st == p.StartTime
}

// Exited is closed when the process is gone. For a process found again it
// is polled.
func (p *Process) Exited() <-chan struct{} {
	if p.reaped != nil {
		return p.reaped
	}
	p.once.Do(func() {
		p.polled = make(chan struct{})
		go func() {
			for p.Alive() {
				time.Sleep(20 * time.Millisecond)
			}
			close(p.polled)
		}()
	})
	return p.polled
}

// Cmdline returns the process's arguments.
func (p *Process) Cmdline() ([]string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.PID), "cmdline"))
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}

func (p *Process) signal(sig syscall.Signal) error {
	if !p.Alive() {
		return nil
	}
	// The whole group: the process leads its own session and group.
	err := syscall.Kill(-p.PID, sig)
	if errors.Is(err, syscall.ESRCH) {
		err = syscall.Kill(p.PID, sig)
	}
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Signal sends sig to the process's group.
func (p *Process) Signal(sig syscall.Signal) error { return p.signal(sig) }

// Stop sends SIGTERM, waits up to grace, then SIGKILL, and waits until the
// process is gone (bounded by ctx). The pidfile is removed.
func (p *Process) Stop(ctx context.Context, grace time.Duration) error {
	if grace > 0 {
		if err := p.signal(syscall.SIGTERM); err != nil {
			return err
		}
		t := time.NewTimer(grace)
		select {
		case <-p.Exited():
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.Exited():
	case <-ctx.Done():
		return fmt.Errorf("pid %d did not exit: %w", p.PID, ctx.Err())
	}
	if err := os.Remove(p.PIDFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Wait waits until the process is gone.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.Exited():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func startTime(pid int) (uint64, error) {
	st, _, err := stat(pid)
	return st, err
}

// stat reads the state (field 3) and start time (field 22) of
// /proc/<pid>/stat; the command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func stat(pid int) (uint64, string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("proc: bad stat for %d", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, "", fmt.Errorf("proc: short stat for %d", pid)
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	return st, f[0], err
}

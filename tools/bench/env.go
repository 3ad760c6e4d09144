package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tenku-cloud/tenku/internal/testkit/loopback"
)

// env owns the tenku binary, a data directory and the running stack.
type env struct {
	hostIP string
	dir    string
	bin    string
	cmd    *exec.Cmd
	exited chan error
	client *http.Client
	auth   string
	pass   string
}

func newEnv() (*env, error) {
	dir, err := os.MkdirTemp("", "tenku-bench-")
	if err != nil {
		return nil, err
	}
	ip, err := loopback.Free()
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, bin: filepath.Join(dir, "tenku"), hostIP: ip}
	build := exec.Command("go", "build", "-o", e.bin, "./cmd/tenku")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	e.client = &http.Client{Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}, Timeout: 60 * time.Second}
	return e, nil
}

func (e *env) close() {
	e.stop()
	os.RemoveAll(e.dir)
}

// start runs `tenku stack` and returns when the banner is printed.
func (e *env) start(extra ...string) (time.Duration, error) {
	data := filepath.Join(e.dir, "data")
	args := append([]string{"stack", "--data-dir", data, "--host-ip", e.hostIP, "--compute-driver", "fake"}, extra...)
	e.cmd = exec.Command(e.bin, args...)
	var out syncBuf
	e.cmd.Stdout, e.cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := e.cmd.Start(); err != nil {
		return 0, err
	}
	e.exited = make(chan error, 1)
	go func() { e.exited <- e.cmd.Wait() }()
	for {
		if strings.Contains(out.String(), "stack completed in") {
			break
		}
		select {
		case err := <-e.exited:
			return 0, fmt.Errorf("tenku stack exited: %v\n%s", err, out.String())
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(t0) > 2*time.Minute {
			return 0, fmt.Errorf("tenku stack did not come up:\n%s", out.String())
		}
	}
	d := time.Since(t0)
	return d, e.readCreds(data)
}

func (e *env) readCreds(data string) error {
	b, err := os.ReadFile(filepath.Join(data, "secrets"))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && k == "ADMIN_PASSWORD" {
			e.pass = v
		}
	}
	e.auth = "http://" + e.hostIP + ":5000/v3"
	return nil
}

func (e *env) stop() {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(20 * time.Second):
		e.cmd.Process.Kill()
		<-e.exited
	}
	e.cmd = nil
}

// rssMB returns the resident set of the stack process in MiB.
func (e *env) rssMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// passwordToken logs in as admin/admin and returns the token.
func (e *env) passwordToken(ctx context.Context) (string, error) {
	return e.login(ctx, "admin", `{"id":"default"}`, e.pass, `{"project":{"name":"admin","domain":{"id":"default"}}}`)
}

// login asks for a password token of user in domain (a JSON domain
// reference) with scope (a JSON scope, or empty for an unscoped token).
func (e *env) login(ctx context.Context, user, domain, password, scope string) (string, error) {
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"domain":%s,"password":%q}}}`, user, domain, password)
	if scope != "" {
		body += `,"scope":` + scope
	}
	body += "}}"
	req, _ := http.NewRequestWithContext(ctx, "POST", e.auth+"/auth/tokens", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("token: %d", resp.StatusCode)
	}
	return resp.Header.Get("X-Subject-Token"), nil
}

// validate checks subject with GET /v3/auth/tokens, authenticated by auth.
func (e *env) validate(auth, subject string) error {
	req, _ := http.NewRequest("GET", e.auth+"/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", auth)
	req.Header.Set("X-Subject-Token", subject)
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%d", resp.StatusCode)
	}
	return nil
}

// load runs fn from n goroutines for d and returns the latencies of successes
// and the number of errors.
func load(n int, d time.Duration, fn func() error) (lat []time.Duration, errs int, elapsed time.Duration) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(stop) {
				s := time.Now()
				if err := fn(); err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, errs, time.Since(t0)
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	i := int(float64(len(lat)-1) * p)
	return lat[i]
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

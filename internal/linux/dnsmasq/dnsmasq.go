package dnsmasq

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Range is a subnet served with static leases only.
type Range struct {
	// Tag names the subnet in options ("subnet-<id>").
	Tag string
	// Prefix is the subnet (10.0.0.0/24, fd00::/64).
	Prefix netip.Prefix
	// Mode is "" (static) or, for IPv6, "slaac", "ra-stateless" or "ra-only"
	// (DHCPv6 stateless with router advertisements from dnsmasq).
	Mode string
}

// Host is a static lease.
type Host struct {
	MAC  string
	Name string // host name (without domain)
	IPs  []string
	// Tag is set on the host's requests, for its own options ("port-<id>").
	Tag string
}

// Option is one DHCP option line: Values served to requests carrying Tag
// ("" for every request). Name is "option:router", "option6:dns-server",
// or an option number ("121").
type Option struct {
	Tag    string
	Name   string
	Values []string
	// Force sends the option even to clients that did not ask (MTU).
	Force bool
}

// Config is a whole DHCP server.
type Config struct {
	// Namespace the server runs in ("" for the caller's).
	Namespace string
	// Interface the server listens on.
	Interface string
	// Domain completes host names ("openstacklocal").
	Domain  string
	Ranges  []Range
	Hosts   []Host
	Options []Option
	// LeaseTime is the lease duration (a day when 0).
	LeaseTime time.Duration
}

// Server is one dnsmasq whose files live in Dir.
type Server struct {
	Dir string
	// Binary is the dnsmasq to run ("dnsmasq" on PATH when "").
	Binary string
}

func (s Server) path(name string) string { return filepath.Join(s.Dir, name) }

// ErrNotRunning is returned by PID for a server that does not run.
var ErrNotRunning = errors.New("dnsmasq is not running")

// PID returns the running server's pid.
func (s Server) PID() (int, error) {
	b, err := os.ReadFile(s.path("pid"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrNotRunning
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, ErrNotRunning
	}
	// The pid must still be a dnsmasq of this directory, not a reused pid.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("--pid-file="+s.path("pid"))) {
		return 0, ErrNotRunning
	}
	return pid, nil
}

// Running says whether the server runs.
func (s Server) Running() bool {
	_, err := s.PID()
	return err == nil
}

func (c Config) args(s Server) []string {
	lease := c.LeaseTime
	if lease <= 0 {
		lease = 24 * time.Hour
	}
	secs := strconv.Itoa(int(lease / time.Second))
	a := []string{
		"--no-hosts", "--no-resolv", "--port=0", "--conf-file=/dev/null",
		"--pid-file=" + s.path("pid"),
		"--dhcp-hostsfile=" + s.path("host"),
		"--dhcp-optsfile=" + s.path("opts"),
		"--dhcp-leasefile=" + s.path("leases"),
		"--bind-interfaces", "--interface=" + c.Interface, "--except-interface=lo",
		"--dhcp-authoritative", "--user=root", "--group=root",
		fmt.Sprintf("--dhcp-lease-max=%d", 1<<16),
	}
	if c.Domain != "" {
		a = append(a, "--domain="+c.Domain)
	}
	ra := false
	for _, r := range c.Ranges {
		mode := "static"
		if r.Prefix.Addr().Is6() && r.Mode != "" {
			mode = r.Mode
			ra = true
		}
		if r.Prefix.Addr().Is4() {
			a = append(a, fmt.Sprintf("--dhcp-range=set:%s,%s,%s,%s,%ss", r.Tag, r.Prefix.Masked().Addr(), mode, net4Mask(r.Prefix.Bits()), secs))
		} else {
			a = append(a, fmt.Sprintf("--dhcp-range=set:%s,%s,%s,%d,%ss", r.Tag, r.Prefix.Masked().Addr(), mode, r.Prefix.Bits(), secs))
		}
	}
	if ra {
		a = append(a, "--enable-ra")
	}
	for _, o := range c.Options {
		if o.Force {
			a = append(a, "--dhcp-option-force="+o.line())
		}
	}
	return a
}

func net4Mask(bits int) string {
	m := uint32(0xffffffff) << (32 - bits)
	if bits == 0 {
		m = 0
	}
	return fmt.Sprintf("%d.%d.%d.%d", byte(m>>24), byte(m>>16), byte(m>>8), byte(m))
}

func (o Option) line() string {
	parts := []string{}
	if o.Tag != "" {
		parts = append(parts, "tag:"+o.Tag)
	}
	parts = append(parts, o.Name)
	parts = append(parts, o.Values...)
	return strings.Join(parts, ",")
}

func hostAddr(ip string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]"
	}
	return ip
}

func (c Config) hostsFile() []byte {
	var b bytes.Buffer
	for _, h := range c.Hosts {
		parts := []string{strings.ToLower(h.MAC)}
		if h.Tag != "" {
			parts = append(parts, "set:"+h.Tag)
		}
		if h.Name != "" {
			name := h.Name
			if c.Domain != "" {
				name += "." + c.Domain
			}
			parts = append(parts, name)
		}
		for _, ip := range h.IPs {
			parts = append(parts, hostAddr(ip))
		}
		b.WriteString(strings.Join(parts, ",") + "\n")
	}
	return b.Bytes()
}

func (c Config) optsFile() []byte {
	var b bytes.Buffer
	for _, o := range c.Options {
		if !o.Force {
			b.WriteString(o.line() + "\n")
		}
	}
	return b.Bytes()
}

// validate refuses what would make dnsmasq fail or mis-serve.
func (c Config) validate() error {
	if c.Interface == "" {
		return errors.New("dnsmasq: no interface")
	}
	for _, r := range c.Ranges {
		if !r.Prefix.IsValid() || r.Tag == "" {
			return fmt.Errorf("dnsmasq: invalid range %+v", r)
		}
	}
	for _, h := range c.Hosts {
		if _, err := parseMAC(h.MAC); err != nil {
			return err
		}
		for _, ip := range h.IPs {
			if _, err := netip.ParseAddr(ip); err != nil {
				return fmt.Errorf("dnsmasq: host %s: %q is not an address", h.MAC, ip)
			}
		}
		if strings.ContainsAny(h.Name+h.Tag, ", \n") {
			return fmt.Errorf("dnsmasq: host %s: bad name or tag", h.MAC)
		}
	}
	for _, o := range c.Options {
		if strings.ContainsAny(o.Tag+o.Name+strings.Join(o.Values, ""), "\n") {
			return fmt.Errorf("dnsmasq: option %s: a value holds a newline", o.Name)
		}
	}
	return nil
}

func parseMAC(s string) (string, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return "", fmt.Errorf("dnsmasq: %q is not a MAC address", s)
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 16, 8); err != nil || len(p) != 2 {
			return "", fmt.Errorf("dnsmasq: %q is not a MAC address", s)
		}
	}
	return strings.ToLower(s), nil
}

// writeIfChanged writes a file atomically; it reports whether it changed.
func writeIfChanged(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}

// Apply makes the server serve exactly c: it starts it, has it re-read its
// files, or restarts it, as needed.
func (s Server) Apply(ctx context.Context, c Config) error {
	if err := c.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	args := c.args(s)
	argsChanged, err := writeIfChanged(s.path("args"), []byte(strings.Join(append([]string{c.Namespace}, args...), "\n")))
	if err != nil {
		return err
	}
	hostsChanged, err := writeIfChanged(s.path("host"), c.hostsFile())
	if err != nil {
		return err
	}
	optsChanged, err := writeIfChanged(s.path("opts"), c.optsFile())
	if err != nil {
		return err
	}
	pid, err := s.PID()
	running := err == nil
	stale := s.staleLeases(c)
	switch {
	case !running || argsChanged || stale:
		if running {
			if err := s.Stop(ctx); err != nil {
				return err
			}
		}
		if err := s.pruneLeases(c); err != nil {
			return err
		}
		return s.start(ctx, c.Namespace, args)
	case hostsChanged || optsChanged:
		return syscall.Kill(pid, syscall.SIGHUP)
	}
	return nil
}

func (s Server) start(ctx context.Context, ns string, args []string) error {
	bin := s.Binary
	if bin == "" {
		bin = "dnsmasq"
	}
	var cmd *exec.Cmd
	if ns != "" {
		cmd = exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	// dnsmasq forks into the background once it listens; the parent's exit
	// status says whether it could.
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("dnsmasq: %v: %s", err, strings.TrimSpace(string(out)))
	}
	for i := 0; i < 50; i++ {
		if s.Running() {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("dnsmasq: started but wrote no pid file")
}

// Stop ends the server (fine if it does not run) and keeps its files.
func (s Server) Stop(ctx context.Context) error {
	pid, err := s.PID()
	if err != nil {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 200; i++ {
		if err := syscall.Kill(pid, 0); err != nil {
			os.Remove(s.path("pid"))
			return nil
		}
		if i == 100 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("dnsmasq %d does not stop", pid)
}

// Remove stops the server and deletes its directory.
func (s Server) Remove(ctx context.Context) error {
	if err := s.Stop(ctx); err != nil {
		return err
	}
	return os.RemoveAll(s.Dir)
}

// Lease is one entry of the lease file.
type Lease struct {
	Expiry int64
	MAC    string
	IP     string
	Name   string
}

// Leases reads the leases the server has given.
func (s Server) Leases() ([]Lease, error) {
	f, err := os.Open(s.path("leases"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Lease
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || fs[0] == "duid" {
			continue
		}
		exp, _ := strconv.ParseInt(fs[0], 10, 64)
		out = append(out, Lease{Expiry: exp, MAC: strings.ToLower(fs[1]), IP: fs[2], Name: fs[3]})
	}
	return out, sc.Err()
}

func (c Config) holds(l Lease) bool {
	for _, h := range c.Hosts {
		if strings.EqualFold(h.MAC, l.MAC) && slices.Contains(h.IPs, l.IP) {
			return true
		}
	}
	return false
}

// staleLeases says whether the server holds a lease the hosts no longer
// give (a port deleted or readdressed): only a restart drops it.
func (s Server) staleLeases(c Config) bool {
	leases, _ := s.Leases()
	for _, l := range leases {
		if strings.Contains(l.IP, ":") {
			continue // DHCPv6 leases are keyed by IAID and DUID, not MAC
		}
		if !c.holds(l) {
			return true
		}
	}
	return false
}

func (s Server) pruneLeases(c Config) error {
	b, err := os.ReadFile(s.path("leases"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep bytes.Buffer
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) == 0 {
			continue
		}
		if fs[0] == "duid" || len(fs) >= 4 && (strings.Contains(fs[2], ":") || c.holds(Lease{MAC: strings.ToLower(fs[1]), IP: fs[2]})) {
			keep.WriteString(line + "\n")
		}
	}
	_, err = writeIfChanged(s.path("leases"), keep.Bytes())
	return err
}

package netdev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Exists says whether a device exists in the handle's namespace.
func (h Handle) Exists(ctx context.Context, name string) (bool, error) { return h.exists(ctx, name) }

// Exec runs a command inside the handle's namespace (`ip netns exec`), or
// directly when NS is "". It returns the combined output.
func (h Handle) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if h.NS == "" {
		cmd = exec.CommandContext(ctx, name, args...)
	} else {
		cmd = exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	}
	return cmd.CombinedOutput()
}

// Command returns an unstarted command that runs inside the handle's
// namespace (for long-running processes such as dnsmasq).
func (h Handle) Command(name string, args ...string) *exec.Cmd {
	if h.NS == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// DeleteRoute removes a route; absent is fine.
func (h Handle) DeleteRoute(ctx context.Context, dst string) error {
	_, err := h.run(ctx, "ip", "route", "del", dst)
	if err != nil && (errors.Is(err, ErrNotFound) || containsAny(err.Error(), "No such process", "No such file")) {
		return nil
	}
	return err
}

// SetSysctl writes a sysctl (e.g. net.ipv4.ip_forward) inside the namespace.
func (h Handle) SetSysctl(ctx context.Context, key, value string) error {
	out, err := h.Exec(ctx, "sysctl", "-q", "-w", key+"="+value)
	if err != nil {
		return &execError{"sysctl " + key, err, string(out)}
	}
	return nil
}

type execError struct {
	what string
	err  error
	out  string
}

func (e *execError) Error() string { return e.what + ": " + e.err.Error() + ": " + e.out }

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// DeviceWithAddress returns the device holding an IP address ("" if none).
func (h Handle) DeviceWithAddress(ctx context.Context, ip string) (string, error) {
	out, err := h.run(ctx, "ip", "-j", "addr", "show")
	if err != nil {
		return "", err
	}
	var raw []struct {
		IfName   string `json:"ifname"`
		AddrInfo []struct {
			Local string `json:"local"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return "", fmt.Errorf("ip addr show: %w", err)
	}
	for _, r := range raw {
		for _, a := range r.AddrInfo {
			if a.Local == ip {
				return r.IfName, nil
			}
		}
	}
	return "", nil
}

// NamespacePIDs lists the processes running in a named namespace.
func NamespacePIDs(ctx context.Context, name string) ([]int, error) {
	out, err := Handle{}.run(ctx, "ip", "netns", "pids", name)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

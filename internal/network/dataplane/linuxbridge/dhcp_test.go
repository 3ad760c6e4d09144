package linuxbridge

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/dataplanetest"
)

// udhcpc asks for a lease from a guest namespace and returns what it got
// (udhcpc's variables: ip, mask, router, mtu, staticroutes, dns, domain).
func udhcpc(t *testing.T, g string) (map[string]string, error) {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	out := filepath.Join(dir, "out")
	must(t, os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = bound ] || exit 0\n"+
		"for v in ip mask router mtu staticroutes dns domain hostname; do eval \"echo $v=\\$$v\"; done > "+out+"\n"), 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, "ip", "netns", "exec", g, "udhcpc", "-i", "eth0", "-n", "-q", "-f",
		"-t", "4", "-T", "1", "-O", "mtu", "-O", "staticroutes", "-O", "hostname", "-s", script).CombinedOutput()
	if err != nil {
		return nil, &udhcpcError{string(b), err}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	return got, nil
}

type udhcpcError struct {
	out string
	err error
}

func (e *udhcpcError) Error() string { return "udhcpc: " + e.err.Error() + ": " + e.out }

// TestDHCP serves a subnet from a qdhcp- namespace and has stand-in guests
// take their leases with udhcpc: fixed IP, gateway, DNS, host routes with
// the default and metadata routes, MTU; leases follow hosts being added,
// readdressed and removed, a killed dnsmasq comes back, and deleting
// leaves nothing.
func TestDHCP(t *testing.T) {
	needRoot(t, "dnsmasq", "udhcpc")
	ctx := context.Background()
	h := newHost(t, underlay(t), "192.0.2.1", nil)
	n := vxlanNet(1450)
	sub := dataplane.Subnet{ID: dataplanetest.ID(), CIDR: "10.40.0.0/24", IPVersion: 4, Gateway: "10.40.0.1", EnableDHCP: true,
		DNSNameservers: []string{"192.0.2.53"}, HostRoutes: []dataplane.Route{{Destination: "10.99.0.0/16", NextHop: "10.40.0.254"}}}
	dhcpPort := dataplanetest.Port(n)
	dhcpPort.Addresses = []dataplane.Address{{SubnetID: sub.ID, IP: "10.40.0.2", PrefixLen: 24, Gateway: sub.Gateway}}
	p1, p2 := dataplanetest.Port(n), dataplanetest.Port(n)
	svc := dataplane.DHCP{Network: n, Port: dhcpPort, Subnets: []dataplane.Subnet{sub}, MetadataRoute: true,
		Hosts: []dataplane.DHCPHost{{PortID: p1.ID, MAC: p1.MAC, IPs: []string{"10.40.0.11"}, Hostname: "host-10-40-0-11"}}}
	must(t, h.d.EnsureNetwork(ctx, n))
	must(t, h.d.EnsureDHCP(ctx, svc))
	must(t, h.d.EnsureDHCP(ctx, svc))
	g1, g2 := guest(t, h, p1, ""), guest(t, h, p2, "")
	must(t, h.d.PlugPort(ctx, p1))
	must(t, h.d.PlugPort(ctx, p2))
	waitEvent(t, h.d, p1.ID, true)
	waitEvent(t, h.d, p2.ID, true)

	got, err := udhcpc(t, g1)
	must(t, err)
	want := map[string]string{"ip": "10.40.0.11", "mask": "24", "router": "10.40.0.1", "mtu": "1450", "dns": "192.0.2.53",
		"domain": "openstacklocal", "staticroutes": "10.99.0.0/16 10.40.0.254 169.254.169.254/32 10.40.0.2 0.0.0.0/0 10.40.0.1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	// p2 has no lease yet: dnsmasq serves static hosts only.
	if got, err := udhcpc(t, g2); err == nil {
		t.Fatalf("a port without a host entry got a lease: %v", got)
	}
	// A port created: its lease at once.
	svc.Hosts = append(svc.Hosts, dataplane.DHCPHost{PortID: p2.ID, MAC: p2.MAC, IPs: []string{"10.40.0.12"}, Hostname: "host-10-40-0-12"})
	must(t, h.d.EnsureDHCP(ctx, svc))
	if got, err := udhcpc(t, g2); err != nil || got["ip"] != "10.40.0.12" {
		t.Fatalf("after adding the host: %v %v", got, err)
	}
	// p1 readdressed: the old lease is gone, the new address served.
	svc.Hosts[0].IPs = []string{"10.40.0.21"}
	must(t, h.d.EnsureDHCP(ctx, svc))
	if got, err := udhcpc(t, g1); err != nil || got["ip"] != "10.40.0.21" {
		t.Fatalf("after readdressing: %v %v", got, err)
	}
	leases, err := h.d.dhcpServer(n.ID).Leases()
	must(t, err)
	for _, l := range leases {
		if l.IP == "10.40.0.11" {
			t.Fatalf("the old lease survived: %+v", leases)
		}
	}
	// p2 deleted: no lease for it any more.
	svc.Hosts = svc.Hosts[:1]
	must(t, h.d.EnsureDHCP(ctx, svc))
	if got, err := udhcpc(t, g2); err == nil {
		t.Fatalf("a deleted port got a lease: %v", got)
	}
	// dnsmasq killed: supervised, it comes back.
	pid, err := h.d.dhcpServer(n.ID).PID()
	must(t, err)
	p, _ := os.FindProcess(pid)
	must(t, p.Kill())
	deadline := time.Now().Add(10 * time.Second)
	for {
		if np, err := h.d.dhcpServer(n.ID).PID(); err == nil && np != pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dnsmasq was not restarted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := udhcpc(t, g1); err != nil || got["ip"] != "10.40.0.21" {
		t.Fatalf("after restart: %v %v", got, err)
	}
	// Resync without the service removes it; with it, makes it again.
	must(t, h.d.Resync(ctx, dataplane.State{Networks: []dataplane.Network{n}, Ports: []dataplane.Port{p1}}))
	if ok, _ := netdev.NamespaceExists(ctx, h.d.dhcpNS(n.ID)); ok {
		t.Fatal("resync kept a DHCP namespace")
	}
	must(t, h.d.Resync(ctx, dataplane.State{Networks: []dataplane.Network{n}, Ports: []dataplane.Port{p1}, DHCP: []dataplane.DHCP{svc}}))
	if got, err := udhcpc(t, g1); err != nil || got["ip"] != "10.40.0.21" {
		t.Fatalf("after resync: %v %v", got, err)
	}
	// The namespace deleted behind the driver's back (dnsmasq lives on in
	// it, nameless): the next ensure serves from a new one.
	must(t, netdev.DeleteNamespace(ctx, h.d.dhcpNS(n.ID)))
	must(t, h.d.EnsureDHCP(ctx, svc))
	if got, err := udhcpc(t, g1); err != nil || got["ip"] != "10.40.0.21" {
		t.Fatalf("after the namespace was deleted: %v %v", got, err)
	}
	for i := 0; i < 2; i++ {
		must(t, h.d.DeleteDHCP(ctx, n.ID))
	}
	if h.d.dhcpServer(n.ID).Running() {
		t.Fatal("dnsmasq outlived DeleteDHCP")
	}
	must(t, h.d.DeleteNetwork(ctx, n.ID))
	if left := h.leftovers(t); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

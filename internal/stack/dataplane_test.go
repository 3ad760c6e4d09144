package stack_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"golang.org/x/crypto/ssh"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/linuxbridge/lbtest"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// dialIn connects to addr from inside namespace ns, giving up after timeout.
func dialIn(ns, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := netdev.InNamespace(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	return c, err
}

// A real guest on the Linux data plane, end to end through the API: a
// tenku stack (qemu guests, linuxbridge data plane) whose host is a
// namespace the test made. The guest of the demo project's private network
// gets its address by DHCP from tenku's dnsmasq, reads its metadata (key
// pair, user data) through router1's metadata proxy, reaches the host
// through router1's SNAT (its user data calls the host, which sees the
// router's gateway address), and is reached by SSH on its floating IP from
// the host namespace, whose public bridge holds devstack's gateway address;
// once the floating IP is disassociated, SSH no longer connects.
func TestRealGuestOnTheLinuxDataPlane(t *testing.T) {
	lbtest.NeedRoot(t, "nft", "dnsmasq")
	img := realGuests(t)
	ctx := context.Background()

	// The host: a namespace with a tunnel address on a dummy device. What
	// the data plane makes there, or in namespaces named after it, and
	// QEMU, which runs in it, go when the test ends, whatever happens.
	host := lbtest.Namespace(t, "dp")
	t.Cleanup(func() { lbtest.CleanupPrefix(t, host+"-") })
	hh := netdev.Handle{NS: host}
	lbtest.Must(t, hh.AddVeth(ctx, "under", "under1", host))
	lbtest.Must(t, hh.AddAddress(ctx, "under", "192.0.2.1/24"))
	lbtest.Must(t, hh.SetUp(ctx, "under1", true))
	lbtest.Must(t, hh.SetUp(ctx, "under", true))
	dataDir, confDir := t.TempDir(), t.TempDir()
	t.Cleanup(func() {
		for _, pid := range qemuPIDs(t, dataDir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	files := map[string]string{
		"nova.conf": "[DEFAULT]\ncompute_driver = qemu\n\n[libvirt]\nvirt_type = qemu\n",
		"neutron_agent.ini": "[agent]\ndataplane_driver = linuxbridge\n\n[vxlan]\nlocal_ip = 192.0.2.1\n\n" +
			"[linux_bridge]\nbridge_address_mappings = public:172.24.4.1/24\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(confDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The host answers what the guest's user data sends it, noting from
	// which address it came.
	probe, err := netdev.Listen(host, "tcp", "172.24.4.1:0")
	if err == nil {
		probe.Close()
		t.Fatal("172.24.4.1 is in the host namespace before the data plane put it there")
	}
	ln, err := netdev.Listen(host, "tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var callers []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		callers = append(callers, ip)
		mu.Unlock()
		fmt.Fprintln(w, "hello from the host")
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	hostPort := ln.Addr().(*net.TCPAddr).Port

	c := testkit.StartWith(t, testkit.Options{
		Services: []string{"keystone", "glance", "neutron", "neutron-agent", "nova", "nova-metadata", "nova-compute"},
		Tweak: func(o *stack.Options) {
			o.DataDir, o.ConfigDir, o.HostIP, o.HostNamespace = dataDir, confDir, testkit.FreeLoopback(t), host
		}})
	imageID, err := c.RegisterTestImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	nova := c.Client(t, "demo", "demo", "compute")
	nova.Microversion = "2.37"
	neutron := c.Client(t, "demo", "demo", "network")

	// SSH and ping from anywhere, as tempest's scenarios allow them.
	sgs, err := groups.List(neutron, groups.ListOpts{Name: "default"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sgList, err := groups.ExtractGroups(sgs)
	if err != nil || len(sgList) != 1 {
		t.Fatalf("demo's default security group: %v %v", sgList, err)
	}
	for _, r := range []rules.CreateOpts{
		{Direction: rules.DirIngress, EtherType: rules.EtherType4, Protocol: rules.ProtocolTCP, PortRangeMin: 22, PortRangeMax: 22, SecGroupID: sgList[0].ID},
		{Direction: rules.DirIngress, EtherType: rules.EtherType4, Protocol: rules.ProtocolICMP, SecGroupID: sgList[0].ID},
	} {
		if _, err := rules.Create(ctx, neutron, r).Extract(); err != nil {
			t.Fatal(err)
		}
	}

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keypairs.Create(ctx, nova, keypairs.CreateOpts{Name: "dp-key",
		PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))}).Extract(); err != nil {
		t.Fatal(err)
	}
	nets, err := networks.List(neutron, networks.ListOpts{Name: "private"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	netList, err := networks.ExtractNetworks(nets)
	if err != nil || len(netList) != 1 {
		t.Fatalf("private network: %v %v", netList, err)
	}
	userData := fmt.Sprintf("#!/bin/sh\ncurl -s -m 20 http://172.24.4.1:%d/from-the-guest > /dev/console\n", hostPort)
	s, err := servers.Create(ctx, nova, keypairs.CreateOptsExt{KeyName: "dp-key", CreateOptsBuilder: servers.CreateOpts{
		Name: "dp1", ImageRef: imageID, FlavorRef: "42", Networks: []servers.Network{{UUID: netList[0].ID}},
		UserData: []byte(userData)}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { servers.Delete(context.Background(), nova, s.ID) })
	waitServer(t, ctx, nova, s.ID, "ACTIVE", 3*time.Minute)

	pl, err := ports.List(neutron, ports.ListOpts{DeviceID: s.ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	portList, err := ports.ExtractPorts(pl)
	if err != nil || len(portList) != 1 || len(portList[0].FixedIPs) != 1 {
		t.Fatalf("server ports: %+v %v", portList, err)
	}
	port := portList[0]
	fixed := port.FixedIPs[0].IPAddress

	// No config drive: the address came from DHCP, the instance id from
	// the metadata service through the router, and the user data ran.
	var out string
	testkit.Eventually(t, 4*time.Minute, func() bool {
		out, _ = servers.ShowConsoleOutput(ctx, nova, s.ID, servers.ShowConsoleOutputOpts{}).Extract()
		return strings.Contains(out, "=== tenku-testimage: ready ===")
	}, "the guest to be ready; its console:\n%s", &out)
	for _, want := range []string{
		"=== tenku-testimage: instance-id " + s.ID + " ===",
		"=== tenku-testimage: datasource metadata service ===",
		"=== tenku-testimage: eth0 " + port.MACAddress + " " + fixed + "/26",
		"hello from the host",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}

	// The guest reached the host from router1's gateway address (SNAT).
	rl, err := routers.List(c.Client(t, "admin", "admin", "network"), routers.ListOpts{Name: "router1"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rtrs, err := routers.ExtractRouters(rl)
	if err != nil || len(rtrs) != 1 || len(rtrs[0].GatewayInfo.ExternalFixedIPs) == 0 {
		t.Fatalf("router1: %+v %v", rtrs, err)
	}
	gw := rtrs[0].GatewayInfo.ExternalFixedIPs[0].IPAddress
	mu.Lock()
	seen := append([]string(nil), callers...)
	mu.Unlock()
	if len(seen) == 0 || seen[0] != gw {
		t.Errorf("the host heard the guest from %v; want router1's gateway %s", seen, gw)
	}

	// A floating IP: SSH from the host namespace logs in with the key
	// pair the metadata service gave.
	pubs, err := networks.List(neutron, networks.ListOpts{Name: "public"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pubList, err := networks.ExtractNetworks(pubs)
	if err != nil || len(pubList) != 1 {
		t.Fatalf("public network: %v %v", pubList, err)
	}
	fip, err := floatingips.Create(ctx, neutron, floatingips.CreateOpts{FloatingNetworkID: pubList[0].ID, PortID: port.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { floatingips.Delete(context.Background(), neutron, fip.ID) })
	sshAddr := net.JoinHostPort(fip.FloatingIP, "22")
	cfg := &ssh.ClientConfig{User: "cirros", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	var client *ssh.Client
	var lastErr error
	testkit.Eventually(t, 90*time.Second, func() bool {
		conn, err := dialIn(host, sshAddr, 3*time.Second)
		if err != nil {
			lastErr = err
			return false
		}
		cc, chans, reqs, err := ssh.NewClientConn(conn, sshAddr, cfg)
		if err != nil {
			conn.Close()
			lastErr = err
			return false
		}
		client = ssh.NewClient(cc, chans, reqs)
		return true
	}, "ssh cirros@%s from the host: %v", fip.FloatingIP, &lastErr)
	run := func(cmd string) string {
		t.Helper()
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		// As tempest runs guest commands: cirros's shell is bash, whose PATH
		// lacks the sbin directories busybox's ip lives in.
		b, err := sess.CombinedOutput("PATH=$PATH:/sbin:/usr/sbin; " + cmd)
		if err != nil {
			t.Fatalf("%s: %v: %s", cmd, err, b)
		}
		return string(b)
	}
	if got := run("ip -o -4 addr show dev eth0"); !strings.Contains(got, fixed+"/26") {
		t.Errorf("the guest's address: %s", got)
	}
	if got := run("curl -s -m 10 http://169.254.169.254/openstack/latest/meta_data.json"); !strings.Contains(got, s.ID) {
		t.Errorf("the guest's metadata: %s", got)
	}
	// Nova hears of the floating IP (network-changed): EC2's public-ipv4
	// names it, as tempest's test_server_basic_ops checks.
	var pub string
	testkit.Eventually(t, 30*time.Second, func() bool {
		pub = run("curl -s -m 10 http://169.254.169.254/latest/meta-data/public-ipv4")
		return pub == fip.FloatingIP
	}, "public-ipv4 to be %s; it is %q", fip.FloatingIP, &pub)
	// Naming another instance in the proxy's headers changes nothing: the
	// proxy names the guest by its address, and signs that.
	const other = "00000000-0000-4000-8000-000000000001"
	if got := run("curl -s -m 10 -H 'X-Instance-ID: " + other + "' -H 'X-Instance-ID-Signature: 00' " +
		"http://169.254.169.254/openstack/latest/meta_data.json"); !strings.Contains(got, s.ID) || strings.Contains(got, other) {
		t.Errorf("the guest's metadata, asked as another instance: %s", got)
	}
	client.Close()

	// Disassociated, the floating IP leads nowhere.
	if _, err := floatingips.Update(ctx, neutron, fip.ID, floatingips.UpdateOpts{PortID: new(string)}).Extract(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		conn, err := dialIn(host, sshAddr, 2*time.Second)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	}, "ssh to %s to stop connecting once it is disassociated", fip.FloatingIP)

	// Deleted through the API, the guest leaves neither its QEMU nor its
	// tap behind.
	if err := servers.Delete(ctx, nova, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, func() bool {
		_, err := servers.Get(ctx, nova, s.ID).Extract()
		return err != nil && strings.Contains(err.Error(), "404")
	}, "server to be deleted")
	if left := qemuPIDs(t, dataDir); len(left) != 0 {
		t.Errorf("QEMU left: %v", left)
	}
	if ok, err := hh.Exists(ctx, "tap"+port.ID[:11]); err != nil || ok {
		t.Errorf("the guest's tap is left (%v)", err)
	}
}

package testimage

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/tenku-cloud/tenku/internal/compute/metadata"
)

var (
	buildOnce sync.Once
	built     *Image
	buildErr  error
)

// debs is the package cache the build tests share with BuildShared.
func debs(t *testing.T) string {
	d, err := DebCache()
	if err != nil {
		t.Skip(err)
	}
	return d
}

// testImage builds the image once per test binary.
func testImage(t *testing.T) *Image {
	t.Helper()
	if err := Missing(); err != nil {
		t.Skip(err)
	}
	buildOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		built, buildErr = BuildShared(ctx, nil)
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	os.Exit(code)
}

// guest is a QEMU process booting the test image.
type guest struct {
	cmd     *exec.Cmd
	console *lockedBuffer
	monitor string
	done    chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// boot starts the image under TCG with an overlay disk, the config drive
// (if any) as an IDE CD-ROM as Nova attaches it, and extra QEMU arguments.
func boot(t *testing.T, img *Image, configDrive string, extra ...string) *guest {
	t.Helper()
	dir := t.TempDir()
	overlay := filepath.Join(dir, "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", img.Disk, overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	g := &guest{console: &lockedBuffer{}, monitor: filepath.Join(dir, "mon.sock"), done: make(chan error, 1)}
	args := []string{"-accel", "tcg", "-m", "256", "-smp", "1", "-nographic", "-nodefaults", "-no-reboot",
		"-serial", "stdio", "-monitor", "unix:" + g.monitor + ",server=on,wait=off",
		"-kernel", img.Kernel, "-initrd", img.Initrd, "-append", CommandLine,
		"-drive", "file=" + overlay + ",if=virtio,format=qcow2",
		"-device", "virtio-rng-pci"}
	if configDrive != "" {
		args = append(args, "-drive", "file="+configDrive+",if=ide,media=cdrom,format=raw,readonly=on")
	}
	name := "qemu-system-x86_64"
	if len(extra) > 0 && strings.HasPrefix(extra[0], "netns=") {
		// Run QEMU in a namespace (it opens its tap there by name).
		args = append([]string{"netns", "exec", strings.TrimPrefix(extra[0], "netns="), name}, args...)
		name, extra = "ip", extra[1:]
	}
	args = append(args, extra...)
	g.cmd = exec.Command(name, args...)
	g.cmd.Stdout, g.cmd.Stderr = g.console, g.console
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("qemu: %v", err)
	}
	go func() { g.done <- g.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-g.done:
		default:
			g.cmd.Process.Kill()
			<-g.done
		}
		if t.Failed() {
			t.Logf("console:\n%s", g.console.String())
		}
	})
	return g
}

// waitConsole waits for every string to appear on the serial console.
func (g *guest) waitConsole(t *testing.T, timeout time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := g.console.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		select {
		case err := <-g.done:
			g.done <- err
			t.Fatalf("qemu exited (%v) before the console showed %q", err, missing)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console did not show %q within %v", missing, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// hmp sends one human monitor command.
func (g *guest) hmp(t *testing.T, command string) {
	t.Helper()
	c, err := net.DialTimeout("unix", g.monitor, 5*time.Second)
	if err != nil {
		t.Fatalf("monitor: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// The greeting ends with a prompt; so does the command's answer.
	prompt := func() {
		var got []byte
		buf := make([]byte, 4096)
		for !bytes.Contains(got, []byte("(qemu) ")) {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("monitor: %v (read %q)", err, got)
			}
			got = append(got, buf[:n]...)
		}
	}
	prompt()
	if _, err := c.Write([]byte(command + "\n")); err != nil {
		t.Fatalf("monitor: %v", err)
	}
	prompt()
}

const testUUID = "3f1c2b7e-8d4a-4e5f-9b6c-0a1d2e3f4a5b"

func configDrive(t *testing.T, in *metadata.Instance) string {
	t.Helper()
	files, err := in.Files()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config.iso")
	if err := metadata.WriteConfigDrive(p, files); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBootWithConfigDrive boots the image under TCG with a config drive and
// reads the banner: the instance id, the static address network_data.json
// gave, the hostname, the user_data script's run; then an ACPI power-down
// makes the guest power itself off.
func TestBootWithConfigDrive(t *testing.T) {
	img := testImage(t)
	const mac = "fa:16:3e:12:34:56"
	in := &metadata.Instance{UUID: testUUID, Name: "tvm1", Hostname: "tvm1.novalocal", ProjectID: "p1", AvailabilityZone: "nova",
		UserData: []byte("#!/bin/sh\necho user-data-ran-$(hostname) > /dev/console\n"),
		Links: []metadata.Link{{ID: "tap12345678-9a", PortID: "12345678-9abc", MAC: mac, MTU: 1450, Type: "bridge", NetworkID: "n1",
			Addrs: []metadata.Addr{{Address: "10.42.7.5", CIDR: "10.42.7.0/24", Gateway: "10.42.7.1", DNS: []string{"10.42.7.2"}}}}}}
	// A user-mode NIC restricted to the guest: no traffic leaves QEMU.
	g := boot(t, img, configDrive(t, in), "-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0,mac="+mac)
	g.waitConsole(t, 150*time.Second,
		"=== tenku-testimage: instance-id "+testUUID+" ===",
		"=== tenku-testimage: datasource configdrive",
		"=== tenku-testimage: hostname tvm1 ===",
		"=== tenku-testimage: eth0 "+mac+" 10.42.7.5/24",
		"user-data-ran-tvm1",
		"=== tenku-testimage: ready ===")
	// acpid must be listening before the button is pressed.
	time.Sleep(2 * time.Second)
	g.hmp(t, "system_powerdown")
	select {
	case <-g.done:
		g.done <- nil
	case <-time.After(60 * time.Second):
		t.Fatal("the guest ignored the ACPI power-down for 60 s")
	}
	if !strings.Contains(g.console.String(), "ACPI power button") {
		t.Fatalf("the guest stopped without its acpid action")
	}
}

// TestBuildIsReproducible builds again into another directory from the
// cache and compares the files.
func TestBuildIsReproducible(t *testing.T) {
	img := testImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	again, err := Build(ctx, Options{Dir: t.TempDir(), CacheDir: debs(t)})
	if err != nil {
		t.Fatal(err)
	}
	for name, sum := range img.SHA256 {
		if again.SHA256[name] != sum {
			t.Errorf("%s differs between two builds: %s, %s", name, sum, again.SHA256[name])
		}
	}
	if again.Reused {
		t.Fatal("a build into an empty directory says it reused one")
	}
	reuse, err := Build(ctx, Options{Dir: filepath.Dir(again.Disk), CacheDir: debs(t)})
	if err != nil || !reuse.Reused {
		t.Fatalf("a second build into the same directory was not reused: %v", err)
	}
}

// inNetns runs fn on a thread inside the named network namespace (sockets
// made there stay in it).
func inNetns(t *testing.T, ns string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatalf("setns: %v", err)
	}
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(err) // the thread must not go back to the pool in the wrong namespace
		}
	}()
	fn()
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestSSHWithTempestCommands boots the image on a tap on a bridge in a
// namespace the test makes, with a static address from network_data.json,
// logs in as cirros with an ECDSA P-384 key (tempest's default) and runs the
// commands tempest's scenarios run, behind tempest's prologue.
func TestSSHWithTempestCommands(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace and a tap")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	img := testImage(t)
	suffix := strconv.Itoa(os.Getpid() % 100000)
	ns, br, tap := "tkimg"+suffix, "tkbr"+suffix, "tktap"+suffix
	sh(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	sh(t, "ip", "-n", ns, "link", "add", br, "type", "bridge")
	sh(t, "ip", "-n", ns, "addr", "add", "10.42.8.1/24", "dev", br)
	sh(t, "ip", "-n", ns, "link", "set", br, "up")
	sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	sh(t, "ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap")
	sh(t, "ip", "-n", ns, "link", "set", tap, "master", br)
	sh(t, "ip", "-n", ns, "link", "set", tap, "up")

	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	const mac = "fa:16:3e:12:34:57"
	in := &metadata.Instance{UUID: testUUID, Name: "tvm2", Hostname: "tvm2", ProjectID: "p1",
		Keys: []metadata.Key{{Name: "k1", Type: "ssh", Data: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))}},
		Links: []metadata.Link{{ID: "tap12345678-9b", PortID: "12345678-9abd", MAC: mac, MTU: 1500, Type: "bridge", NetworkID: "n1",
			Addrs: []metadata.Addr{{Address: "10.42.8.5", CIDR: "10.42.8.0/24", Gateway: "10.42.8.1"}}}}}
	cd := configDrive(t, in)
	// QEMU opens the tap by name, so it runs in the namespace.
	g := boot(t, img, cd, "netns="+ns, "-netdev", "tap,id=n0,ifname="+tap+",script=no,downscript=no", "-device", "virtio-net-pci,netdev=n0,mac="+mac)
	g.waitConsole(t, 150*time.Second, "=== tenku-testimage: eth0 "+mac+" 10.42.8.5/24", "=== tenku-testimage: ready ===")

	cfg := &ssh.ClientConfig{User: User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	var conn net.Conn
	deadline := time.Now().Add(60 * time.Second)
	for conn == nil {
		inNetns(t, ns, func() { conn, err = net.DialTimeout("tcp", "10.42.8.5:22", 5*time.Second) })
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("ssh port: %v", err)
			}
			time.Sleep(time.Second)
		}
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, "10.42.8.5:22", cfg)
	if err != nil {
		t.Fatalf("ssh login with an ECDSA P-384 key: %v", err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	run := func(cmd string) string {
		t.Helper()
		s, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.CombinedOutput("set -eu -o pipefail; PATH=$PATH:/sbin:/usr/sbin; " + cmd)
		if err != nil {
			t.Fatalf("%s: %v: %s", cmd, err, out)
		}
		return string(out)
	}
	checks := []struct{ cmd, want string }{
		{"sudo id -u", "0"},
		{"whoami", "cirros"},
		{"hostname", "tvm2"},
		{"ip -o link | awk '/" + mac + "/ {print $2}' | cut -d: -f1", "eth0"},
		{"ip address show eth0", "10.42.8.5/24"},
		// ping as cirros, as tempest runs it: iputils' ICMP datagram socket
		// (net.ipv4.ping_group_range opened by rcS) from the login shell, bash:
		// busybox sh runs its own ping applet first, which needs a raw socket.
		{"ping -c1 -w5 -s56 10.42.8.1", "1 received"},
		{"ping6 -c1 -w5 ::1", "1 received"},
		{"cat /proc/uptime | cut -d' ' -f1 | grep -c .", "1"},
		{"grep -c ^processor /proc/cpuinfo", "1"},
		{"blkid -L config-2", "/dev/sr0"},
		{"lsblk -lb --nodeps", "vda"},
		{"sudo mount -t iso9660 /dev/sr0 /mnt && cat /mnt/openstack/latest/meta_data.json && sudo umount /mnt", testUUID},
		// Not yet: mkfs -t vfat (needs glibc gconv modules) and loop mounts (the loop module).
		{"mkfs.ext4 -V 2>&1 | grep mke2fs", "mke2fs"},
		{"date +%s > /tmp/timestamp && sync && cat /tmp/timestamp | grep -c .", "1"},
		{"curl --version | grep -i ^curl", "curl"},
		// Not yet: nc -lk -e (busybox nc knows -ll; the -k wrapper is not picked up yet).
		{"which udhcpc", "udhcpc"},
	}
	for _, ch := range checks {
		if out := run(ch.cmd); !strings.Contains(out, ch.want) {
			t.Errorf("%s: want %q in %q", ch.cmd, ch.want, out)
		}
	}
}

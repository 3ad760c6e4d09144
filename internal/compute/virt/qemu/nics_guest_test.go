package qemu

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/netdev"
)

// nicScript runs in the test image at boot (user_data): it prints the
// interfaces with their MAC and MTU whenever they change.
const nicScript = `#!/bin/sh
(
last=
while :; do
	cur=
	for f in /sys/class/net/eth*; do
		[ -e "$f" ] || continue
		cur="$cur ${f##*/}=$(cat $f/address)/$(cat $f/mtu)"
	done
	if [ "$cur" != "$last" ]; then
		echo "=== nics:$cur ==="
		last=$cur
	fi
	sleep 0.3
done
) </dev/null >/dev/ttyS0 2>&1 &
`

// inNetns re-runs the calling test in a network namespace of its own
// (unshare --net), so the taps and bridges it makes never touch the
// host's, and vanish with it; it reports whether this is the run inside.
func inNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv("TENKU_QEMU_TEST_NETNS") == t.Name() {
		return true
	}
	_, err := exec.LookPath("unshare")
	if os.Geteuid() != 0 || err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s needs root and unshare (CI=true)", t.Name())
		}
		t.Skip("needs root and unshare for a network namespace of its own")
	}
	testImage(t) // built once, outside
	cmd := exec.Command("unshare", "--net", os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "TENKU_QEMU_TEST_NETNS="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in its namespace: %v\n%s", t.Name(), err, out)
	}
	t.Logf("in its own network namespace:\n%s", out)
	return false
}

// waitNICs waits until the last interface line nicScript printed
// satisfies ok.
func waitNICs(t *testing.T, d *Driver, ref virt.Ref, timeout time.Duration, ok func(line string) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		b, err := d.ConsoleLog(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if i := strings.Index(l, "=== nics:"); i >= 0 {
				last = strings.TrimSpace(l[i:])
			}
		}
		if last != "" && ok(last) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	b, _ := d.ConsoleLog(context.Background(), ref)
	t.Fatalf("no interface line as wanted in %s (last %q); console:\n%s", timeout, last, b)
}

// A port hot-plugged into a booted test image shows up inside it with the
// port's MAC and MTU, its tap on the network's bridge as a boot-time NIC's
// is; detaching it and the NIC the guest was built with takes both out of
// the guest and deletes their taps; attaching or detaching twice is a
// no-op.
func TestInterfaceHotplugInGuest(t *testing.T) {
	if !inNetns(t) {
		return
	}
	// on q35 the boot-time NIC sits on a PCIe root port, so it unplugs too
	for _, machine := range []string{"pc", "q35"} {
		t.Run(machine, func(t *testing.T) { interfaceHotplug(t, machine) })
	}
}

func interfaceHotplug(t *testing.T, machine string) {
	img := testImage(t)
	d := newTestDriver(t)
	const uuid = "7a9e2c4d-1f3b-4a5c-8d6e-2b3c4d5e6f70"
	ref := virt.Ref{UUID: uuid, Name: "instance-" + uuid[:8]}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	boot := virt.NIC{PortID: "1c0ffee1-0000-4000-8000-000000000001", NetworkID: "4e7b9c1d-2a3f-4b5c-9d8e-7f6a5b4c3d2e", MAC: "fa:16:3e:00:00:01", MTU: 1450}
	hot := virt.NIC{PortID: "2c0ffee2-0000-4000-8000-000000000002", NetworkID: boot.NetworkID, MAC: "fa:16:3e:00:00:02", MTU: 1400}
	spec := imageSpec(t, d, img, uuid, img.Disk, nicScript)
	spec.NICs = []virt.NIC{boot}
	spec.ImageProperties["hw_machine_type"] = machine
	if machine == "q35" {
		spec.ImageProperties["hw_cdrom_bus"] = "scsi" // the test image's kernel has no SATA
	}
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	waitNICs(t, d, ref, 3*time.Minute, func(l string) bool { return strings.Contains(l, "eth0=fa:16:3e:00:00:01/1450") })

	for i := 0; i < 2; i++ {
		if err := d.AttachInterface(ctx, ref, hot); err != nil {
			t.Fatalf("AttachInterface #%d: %v", i+1, err)
		}
	}
	waitNICs(t, d, ref, time.Minute, func(l string) bool { return strings.Contains(l, "=fa:16:3e:00:00:02/1400") })
	var h netdev.Handle
	bt, ht := tapFor(boot), tapFor(hot)
	for _, tp := range []netdev.Tap{bt, ht} {
		l, err := h.Link(ctx, tp.Name)
		if err != nil || l.Master != tp.Bridge || !l.Up {
			t.Errorf("tap %s: %+v, %v; want up on %s", tp.Name, l, err, tp.Bridge)
		}
	}

	for _, n := range []virt.NIC{hot, boot} {
		for i := 0; i < 2; i++ {
			if err := d.DetachInterface(ctx, ref, virt.NIC{PortID: n.PortID, MAC: n.MAC}); err != nil {
				t.Fatalf("DetachInterface %s #%d: %v", n.MAC, i+1, err)
			}
		}
	}
	waitNICs(t, d, ref, time.Minute, func(l string) bool { return !strings.Contains(l, "eth") })
	for _, tp := range []netdev.Tap{bt, ht} {
		if _, err := h.Link(ctx, tp.Name); err == nil {
			t.Errorf("tap %s is still there after its detach", tp.Name)
		}
	}
	// the next start has neither
	if err := d.Reboot(ctx, ref, true); err != nil {
		t.Fatalf("Reboot: %v", err)
	}
	waitConsole(t, d, uuid, 3*time.Minute, "=== nics: ===")
	g, _ := d.lookup(ctx, uuid)
	if len(g.rec.NICs) != 0 || len(g.rec.Taps) != 0 || strings.Contains(strings.Join(g.rec.Args, " "), "netdev") {
		t.Errorf("record keeps interfaces: %+v %+v", g.rec.NICs, g.rec.Taps)
	}
}

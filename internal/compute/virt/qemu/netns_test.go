package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/linux/proc"
)

// A guest of a driver whose host is a namespace: its tap is made there, on
// its bridge, QEMU runs there (it opened the tap by name), and Destroy
// removes the tap and the bridge only the guest was on.
func TestGuestInANamespace(t *testing.T) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (scripts/install-deps installs qemu-system-x86)")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root for a network namespace (CI=true)")
		}
		t.Skip("needs root for a network namespace")
	}
	ctx := context.Background()
	ns := fmt.Sprintf("tk-qemu%d", os.Getpid())
	if err := netdev.AddNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pids, _ := netdev.NamespacePIDs(context.Background(), ns)
		for _, pid := range pids {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
		netdev.DeleteNamespace(context.Background(), ns)
	})
	c := DefaultConfig()
	c.VirtType, c.InstancesPath, c.Namespace = "qemu", t.TempDir(), ns
	d, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Init(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	ref := virt.Ref{UUID: "6f1c1e9e-4a55-4f0b-9d51-0a3c1b2e7d10", Name: "instance-1"}
	nic := virt.NIC{PortID: "0123456789ab-cdef", NetworkID: "fedcba987654-3210", MAC: "fa:16:3e:00:00:01", MTU: 1450}
	spec := &virt.Spec{Ref: ref, InstanceDir: filepath.Join(c.InstancesPath, ref.UUID),
		Flavor: virt.Flavor{Name: "tiny", VCPUs: 1, MemoryMB: 64}, NICs: []virt.NIC{nic}}
	// Plugged before the guest exists (and unplugged, twice: idempotent),
	// then plugged again for the spawn.
	h := netdev.Handle{NS: ns}
	for range 2 {
		if err := d.PlugVIFs(ctx, ref, spec.NICs); err != nil {
			t.Fatal(err)
		}
	}
	if tap, err := h.Link(ctx, "tap0123456789a"); err != nil || tap.Master != "brqfedcba98765" {
		t.Fatalf("plugged tap: %+v %v", tap, err)
	}
	for range 2 {
		if err := d.UnplugVIFs(ctx, ref, spec.NICs); err != nil {
			t.Fatal(err)
		}
	}
	for _, dev := range []string{"tap0123456789a", "brqfedcba98765"} {
		if ok, _ := h.Exists(ctx, dev); ok {
			t.Fatalf("%s is left after UnplugVIFs", dev)
		}
	}
	if err := d.PlugVIFs(ctx, ref, spec.NICs); err != nil {
		t.Fatal(err)
	}
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Destroy(context.Background(), ref, virt.DestroyOptions{}) })
	tap, err := h.Link(ctx, "tap0123456789a")
	if err != nil || tap.Master != "brqfedcba98765" || tap.MTU != 1450 {
		t.Fatalf("tap in the namespace: %+v %v", tap, err)
	}
	if _, err := (netdev.Handle{}).Link(ctx, "tap0123456789a"); err == nil {
		t.Fatal("the tap is in the host's own namespace too")
	}
	p, err := proc.Find(filepath.Join(spec.InstanceDir, pidFile))
	if err != nil {
		t.Fatal(err)
	}
	pids, err := netdev.NamespacePIDs(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pid := range pids {
		found = found || pid == p.PID
	}
	if !found {
		t.Fatalf("QEMU (pid %d) is not in %s (%v)", p.PID, ns, pids)
	}
	if err := d.Destroy(ctx, ref, virt.DestroyOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Alive() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, dev := range []string{"tap0123456789a", "brqfedcba98765"} {
		if ok, err := h.Exists(ctx, dev); err != nil || ok {
			t.Errorf("%s is left after Destroy (%v)", dev, err)
		}
	}
}

package virttest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// Harness adapts a driver to the suite.
type Harness struct {
	// New returns a driver keeping its state in stateDir (a fresh
	// directory per test; the same one again for a "restart"). The suite
	// calls Init on it.
	New func(t *testing.T, stateDir string) virt.Driver
	// Spec returns a spec of a guest the driver can boot, with ref and
	// instanceDir filled in by the suite; nil uses a small flavor with no
	// disks or NICs.
	Spec func(t *testing.T, ref virt.Ref, instanceDir string) *virt.Spec
	// StopBehindBack stops a running guest as if it had shut down by
	// itself; nil skips the events check.
	StopBehindBack func(t *testing.T, d virt.Driver, uuid string)
	// Timeout bounds each driver call and each wait (default 2 minutes).
	Timeout time.Duration
	// Volumes returns the ids (serials) of the volumes the hypervisor has
	// on a guest now, for the volume cases of a driver that is a
	// virt.VolumeAttacher; nil checks only what its calls return.
	Volumes func(t *testing.T, d virt.Driver, ref virt.Ref) []string
	// HotUnplug says the harness's guest releases a device it is asked to
	// (a guest OS answering ACPI hot-plug). Without it a detach from the
	// running guest must fail, in time, and leave the volume attached.
	HotUnplug bool
}

// Run runs the contract suite.
func Run(t *testing.T, h Harness) {
	if h.Timeout == 0 {
		h.Timeout = 2 * time.Minute
	}
	t.Run("UnknownInstance", func(t *testing.T) { unknown(t, h) })
	t.Run("DestroyIsIdempotent", func(t *testing.T) { destroyTwice(t, h) })
	t.Run("PowerTransitions", func(t *testing.T) { power(t, h) })
	t.Run("ListAfterRestart", func(t *testing.T) { restart(t, h) })
	t.Run("ConsoleLog", func(t *testing.T) { console(t, h) })
	t.Run("StoppedEvent", func(t *testing.T) { events(t, h) })
	t.Run("VolumeAttach", func(t *testing.T) { volumes(t, h) })
}

type env struct {
	t     *testing.T
	h     Harness
	state string
	drv   virt.Driver
}

func newEnv(t *testing.T, h Harness) *env {
	e := &env{t: t, h: h, state: t.TempDir()}
	e.drv = e.open()
	return e
}

func (e *env) open() virt.Driver {
	e.t.Helper()
	d := e.h.New(e.t, e.state)
	ctx, cancel := e.ctx()
	defer cancel()
	if err := d.Init(ctx, "virttest-host"); err != nil {
		e.t.Fatalf("Init: %v", err)
	}
	return d
}

func (e *env) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), e.h.Timeout)
}

func newRef() virt.Ref {
	n := rand.Uint32()
	u := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n, rand.Uint32()&0xffff, rand.Uint32()&0xfff, rand.Uint32()&0xfff, rand.Uint64()&0xffffffffffff)
	return virt.Ref{UUID: u, Name: fmt.Sprintf("instance-%08x", n)}
}

// spawn boots a guest and registers its destruction.
func (e *env) spawn() virt.Ref {
	e.t.Helper()
	ref := newRef()
	dir := e.t.TempDir()
	var spec *virt.Spec
	if e.h.Spec != nil {
		spec = e.h.Spec(e.t, ref, dir)
	} else {
		spec = &virt.Spec{Hostname: "virttest", Flavor: virt.Flavor{Name: "m1.nano", VCPUs: 1, MemoryMB: 128, RootGB: 1}}
	}
	spec.Ref, spec.InstanceDir = ref, dir
	ctx, cancel := e.ctx()
	defer cancel()
	if err := e.drv.Spawn(ctx, spec); err != nil {
		e.t.Fatalf("Spawn: %v", err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := e.ctx()
		defer cancel()
		if err := e.drv.Destroy(ctx, ref, virt.DestroyOptions{}); err != nil {
			e.t.Errorf("cleanup Destroy %s: %v", ref.UUID, err)
		}
	})
	return ref
}

// waitPower waits until Info reports want.
func (e *env) waitPower(ref virt.Ref, want states.Power) {
	e.t.Helper()
	deadline := time.Now().Add(e.h.Timeout)
	var last virt.InstanceInfo
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := e.ctx()
		last, err = e.drv.Info(ctx, ref)
		cancel()
		if err == nil && last.Power == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("%s: power %s (err %v), want %s", ref.UUID, last.Power, err, want)
}

func (e *env) do(what string, fn func(ctx context.Context) error) {
	e.t.Helper()
	ctx, cancel := e.ctx()
	defer cancel()
	if err := fn(ctx); err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

func unknown(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ref := newRef()
	ctx, cancel := e.ctx()
	defer cancel()
	if _, err := e.drv.Info(ctx, ref); !errors.Is(err, virt.ErrNotFound) {
		t.Errorf("Info of an unknown instance: %v, want ErrNotFound", err)
	}
	if _, err := e.drv.ConsoleLog(ctx, ref); !errors.Is(err, virt.ErrNotFound) {
		t.Errorf("ConsoleLog of an unknown instance: %v, want ErrNotFound", err)
	}
	if err := e.drv.Destroy(ctx, ref, virt.DestroyOptions{}); err != nil {
		t.Errorf("Destroy of an unknown instance: %v, want nil", err)
	}
	list, err := e.drv.ListInstances(ctx)
	if err != nil {
		t.Fatalf("ListInstances: %v", err)
	}
	for _, i := range list {
		if i.UUID == ref.UUID {
			t.Errorf("ListInstances lists the unknown %s", ref.UUID)
		}
	}
}

func destroyTwice(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ref := e.spawn()
	e.waitPower(ref, states.PowerRunning)
	for i := 0; i < 2; i++ {
		e.do(fmt.Sprintf("Destroy #%d", i+1), func(ctx context.Context) error { return e.drv.Destroy(ctx, ref, virt.DestroyOptions{}) })
	}
	ctx, cancel := e.ctx()
	defer cancel()
	if _, err := e.drv.Info(ctx, ref); !errors.Is(err, virt.ErrNotFound) {
		t.Errorf("Info after Destroy: %v, want ErrNotFound", err)
	}
	list, err := e.drv.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range list {
		if i.UUID == ref.UUID {
			t.Errorf("ListInstances still lists destroyed %s", ref.UUID)
		}
	}
}

func power(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ref := e.spawn()
	e.waitPower(ref, states.PowerRunning)
	e.do("PowerOff", func(ctx context.Context) error { return e.drv.PowerOff(ctx, ref, 10*time.Second) })
	e.waitPower(ref, states.PowerShutdown)
	e.do("PowerOff of a stopped guest", func(ctx context.Context) error { return e.drv.PowerOff(ctx, ref, time.Second) })
	e.waitPower(ref, states.PowerShutdown)
	e.do("PowerOn", func(ctx context.Context) error { return e.drv.PowerOn(ctx, ref) })
	e.waitPower(ref, states.PowerRunning)
	e.do("Reboot hard", func(ctx context.Context) error { return e.drv.Reboot(ctx, ref, true) })
	e.waitPower(ref, states.PowerRunning)
	e.do("Reboot soft", func(ctx context.Context) error { return e.drv.Reboot(ctx, ref, false) })
	e.waitPower(ref, states.PowerRunning)
	if p, ok := e.drv.(virt.Pauser); ok {
		e.do("Pause", func(ctx context.Context) error { return p.Pause(ctx, ref) })
		e.waitPower(ref, states.PowerPaused)
		e.do("Unpause", func(ctx context.Context) error { return p.Unpause(ctx, ref) })
		e.waitPower(ref, states.PowerRunning)
	}
	if s, ok := e.drv.(virt.Suspender); ok {
		e.do("Suspend", func(ctx context.Context) error { return s.Suspend(ctx, ref) })
		e.waitPower(ref, states.PowerSuspended)
		e.do("Resume", func(ctx context.Context) error { return s.Resume(ctx, ref) })
		e.waitPower(ref, states.PowerRunning)
	}
	ctx, cancel := e.ctx()
	defer cancel()
	unknown := newRef()
	if err := e.drv.PowerOn(ctx, unknown); !errors.Is(err, virt.ErrNotFound) {
		t.Errorf("PowerOn of an unknown instance: %v, want ErrNotFound", err)
	}
}

func restart(t *testing.T, h Harness) {
	e := newEnv(t, h)
	running := e.spawn()
	stopped := e.spawn()
	e.waitPower(running, states.PowerRunning)
	e.do("PowerOff", func(ctx context.Context) error { return e.drv.PowerOff(ctx, stopped, 10*time.Second) })
	e.waitPower(stopped, states.PowerShutdown)

	e.drv = e.open() // the agent restarted: a new driver on the same state
	ctx, cancel := e.ctx()
	defer cancel()
	list, err := e.drv.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]states.Power{}
	for _, i := range list {
		got[i.UUID] = i.Power
	}
	if p, ok := got[running.UUID]; !ok || p != states.PowerRunning {
		t.Errorf("after restart: running guest listed %v (power %s), want running", ok, p)
	}
	if p, ok := got[stopped.UUID]; !ok || p != states.PowerShutdown {
		t.Errorf("after restart: stopped guest listed %v (power %s), want shutdown", ok, p)
	}
	// The new driver controls what the old one made.
	e.do("PowerOn after restart", func(ctx context.Context) error { return e.drv.PowerOn(ctx, stopped) })
	e.waitPower(stopped, states.PowerRunning)
}

func console(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ref := e.spawn()
	e.waitPower(ref, states.PowerRunning)
	ctx, cancel := e.ctx()
	defer cancel()
	if _, err := e.drv.ConsoleLog(ctx, ref); err != nil {
		t.Fatalf("ConsoleLog of a running guest: %v", err)
	}
	e.do("PowerOff", func(ctx context.Context) error { return e.drv.PowerOff(ctx, ref, 10*time.Second) })
	if _, err := e.drv.ConsoleLog(ctx, ref); err != nil {
		t.Fatalf("ConsoleLog of a stopped guest: %v", err)
	}
}

func events(t *testing.T, h Harness) {
	if h.StopBehindBack == nil {
		t.Skip("the harness cannot stop a guest behind the driver's back")
	}
	e := newEnv(t, h)
	if e.drv.Events() == nil {
		t.Fatal("Events returns a nil channel")
	}
	ref := e.spawn()
	e.waitPower(ref, states.PowerRunning)
	h.StopBehindBack(t, e.drv, ref.UUID)
	timeout := time.After(e.h.Timeout)
	for {
		select {
		case ev := <-e.drv.Events():
			if ev.UUID == ref.UUID && ev.Kind == virt.EventStopped {
				e.waitPower(ref, states.PowerShutdown)
				return
			}
		case <-timeout:
			t.Fatalf("no %s event for %s", virt.EventStopped, ref.UUID)
		}
	}
}

// volumes attaches a volume file to a running guest and a stopped one, and
// checks that an attached volume stays through a restart of the driver,
// power off/on and a hard reboot, that attach and detach are idempotent,
// and that a detached volume does not come back at the next start.
func volumes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	if _, ok := e.drv.(virt.VolumeAttacher); !ok {
		t.Skip("the driver does not hot-plug volumes")
	}
	va := func() virt.VolumeAttacher { return e.drv.(virt.VolumeAttacher) }
	path := filepath.Join(t.TempDir(), "volume")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 1<<20); err != nil {
		t.Fatal(err)
	}
	vol := virt.Disk{Kind: virt.DiskVolume, Serial: newRef().UUID, Path: path, Format: "raw", Bus: "virtio", DeviceName: "/dev/vdb"}
	has := func(ref virt.Ref, want bool, when string) {
		t.Helper()
		if h.Volumes == nil {
			return
		}
		n := 0
		for _, s := range h.Volumes(t, e.drv, ref) {
			if s == vol.Serial {
				n++
			}
		}
		if want && n != 1 || !want && n != 0 {
			t.Fatalf("%s: the guest has volume %s %d times, want %v", when, vol.Serial, n, want)
		}
	}
	ref := e.spawn()
	e.waitPower(ref, states.PowerRunning)
	for i := 1; i <= 2; i++ {
		e.do(fmt.Sprintf("AttachVolume #%d to a running guest", i), func(ctx context.Context) error { return va().AttachVolume(ctx, ref, vol) })
	}
	has(ref, true, "attached twice")
	if h.HotUnplug {
		for i := 1; i <= 2; i++ {
			e.do(fmt.Sprintf("DetachVolume #%d from a running guest", i), func(ctx context.Context) error { return va().DetachVolume(ctx, ref, vol) })
		}
		has(ref, false, "detached")
		e.do("AttachVolume again", func(ctx context.Context) error { return va().AttachVolume(ctx, ref, vol) })
	} else {
		ctx, cancel := e.ctx()
		err := va().DetachVolume(ctx, ref, vol)
		cancel()
		if err == nil {
			t.Fatal("DetachVolume from a guest that does not release devices succeeded")
		}
		has(ref, true, "after a refused detach")
	}

	e.drv = e.open() // the agent restarted
	has(ref, true, "after a driver restart")
	e.do("PowerOff", func(ctx context.Context) error { return e.drv.PowerOff(ctx, ref, time.Second) })
	e.waitPower(ref, states.PowerShutdown)
	e.do("PowerOn", func(ctx context.Context) error { return e.drv.PowerOn(ctx, ref) })
	e.waitPower(ref, states.PowerRunning)
	has(ref, true, "after power off and on")
	e.do("Reboot hard", func(ctx context.Context) error { return e.drv.Reboot(ctx, ref, true) })
	e.waitPower(ref, states.PowerRunning)
	has(ref, true, "after a hard reboot")

	e.do("PowerOff", func(ctx context.Context) error { return e.drv.PowerOff(ctx, ref, time.Second) })
	e.waitPower(ref, states.PowerShutdown)
	for i := 1; i <= 2; i++ {
		e.do(fmt.Sprintf("DetachVolume #%d from a stopped guest", i), func(ctx context.Context) error { return va().DetachVolume(ctx, ref, vol) })
	}
	e.do("PowerOn", func(ctx context.Context) error { return e.drv.PowerOn(ctx, ref) })
	e.waitPower(ref, states.PowerRunning)
	has(ref, false, "started after a detach while stopped")

	e.do("PowerOff", func(ctx context.Context) error { return e.drv.PowerOff(ctx, ref, time.Second) })
	e.waitPower(ref, states.PowerShutdown)
	e.do("AttachVolume to a stopped guest", func(ctx context.Context) error { return va().AttachVolume(ctx, ref, vol) })
	e.do("PowerOn", func(ctx context.Context) error { return e.drv.PowerOn(ctx, ref) })
	e.waitPower(ref, states.PowerRunning)
	has(ref, true, "started after an attach while stopped")

	ctx, cancel := e.ctx()
	defer cancel()
	unknown := newRef()
	if err := va().AttachVolume(ctx, unknown, vol); !errors.Is(err, virt.ErrNotFound) {
		t.Errorf("AttachVolume to an unknown instance: %v, want ErrNotFound", err)
	}
	if err := va().DetachVolume(ctx, unknown, vol); !errors.Is(err, virt.ErrNotFound) {
		t.Errorf("DetachVolume from an unknown instance: %v, want ErrNotFound", err)
	}
}

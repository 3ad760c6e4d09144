package qemu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/linux/proc"
	"github.com/tenku-cloud/tenku/internal/linux/qmp"
)

// Files of an instance directory.
const (
	recordFile  = "guest.json"
	pidFile     = "qemu.pid"
	qmpSocket   = "qmp.sock"
	consoleFile = "console.log"
	qemuLog     = "qemu.log"
	stateFile   = "suspend.state"
)

// maxConsole is how much of the console log is returned, from its end, as
// Nova's libvirt driver does (MAX_CONSOLE_BYTES).
const maxConsole = 100 << 10

// record is what the driver keeps of a guest in its directory (guest.json):
// enough to start it again after the agent restarts.
type record struct {
	UUID     string       `json:"uuid"`
	Name     string       `json:"name"`
	VCPUs    int          `json:"vcpus"`
	MemoryMB int          `json:"memory_mb"`
	Args     []string     `json:"args"`
	Taps     []netdev.Tap `json:"taps"`
	Disks    []virt.Disk  `json:"disks"`
	Accel    string       `json:"accel"`
	// Suspended says the guest's state is in suspend.state and its next
	// start resumes from it.
	Suspended bool `json:"suspended,omitempty"`
	// Volumes are the attached volumes (volumes.go), put on the command
	// line after Args at every start.
	Volumes []volume `json:"volumes,omitempty"`
	// Unrescue is the guest's own record while it runs in rescue
	// (rescue.go); Unrescue restores it.
	Unrescue *record `json:"unrescue,omitempty"`
	// NICs are the hot-plugged interfaces (nics.go), put on the command
	// line after the volumes; their taps are in Taps with the others.
	NICs      []hotNIC `json:"nics,omitempty"`
	RootPorts int      `json:"root_ports,omitempty"` // a q35 guest's PCIe root ports (pcie.go)
}

// guest is a guest the driver knows in this process.
type guest struct {
	dir string
	mu  sync.Mutex // serialises operations on the guest

	// guarded by Driver.mu
	rec     record
	proc    *proc.Process
	qmp     *qmp.Client
	started time.Time
	quiet   bool // the driver itself is stopping it: no stopped event
}

// Driver runs each instance as its own QEMU process, controlled over QMP.
type Driver struct {
	cfg   Config
	log   *slog.Logger
	accel string
	net   netdev.Handle
	// netMu keeps one guest's tap from joining a bridge another guest's
	// teardown is removing as empty.
	netMu  sync.Mutex
	events chan virt.Event

	version int

	mu     sync.Mutex
	host   string
	guests map[string]*guest
}

var (
	_ virt.Driver    = (*Driver)(nil)
	_ virt.Pauser    = (*Driver)(nil)
	_ virt.Suspender = (*Driver)(nil)
)

// New returns a QEMU driver. It fails when the emulator is missing.
func New(cfg Config, log *slog.Logger) (*Driver, error) {
	if cfg.Emulator == "" {
		cfg.Emulator = "qemu-system-x86_64"
	}
	if cfg.MachineType == "" {
		cfg.MachineType = "pc"
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath(cfg.Emulator)
	if err != nil {
		return nil, fmt.Errorf("qemu driver: %s: %w (install qemu-system-x86)", cfg.Emulator, err)
	}
	cfg.Emulator = bin
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Driver{cfg: cfg, log: log, net: netdev.Handle{NS: cfg.Namespace}, events: make(chan virt.Event, 256), guests: map[string]*guest{}}
	d.version = emulatorVersion(bin)
	return d, nil
}

var versionRE = regexp.MustCompile(`version (\d+)\.(\d+)\.(\d+)`)

func emulatorVersion(bin string) int {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return 0
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return 0
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	return a*1000000 + b*1000 + c
}

// Capabilities describes QEMU as Nova's libvirt driver does.
func (d *Driver) Capabilities() virt.Capabilities {
	return virt.Capabilities{HypervisorType: "QEMU", HypervisorVersion: d.version, Arch: "x86_64"}
}

// Accelerator is "kvm" or "tcg", as chosen at Init.
func (d *Driver) Accelerator() string { return d.accel }

// Init chooses the accelerator and re-attaches the guests that run.
func (d *Driver) Init(ctx context.Context, host string) error {
	d.mu.Lock()
	d.host = host
	d.mu.Unlock()
	if err := os.MkdirAll(d.cfg.InstancesPath, 0o755); err != nil {
		return err
	}
	d.accel = "tcg"
	if d.cfg.VirtType == "kvm" {
		if err := probeKVM(ctx, d.cfg.Emulator); err != nil {
			d.log.Warn("KVM does not work on this host; guests run under TCG ([libvirt] virt_type = qemu says so and skips the probe)", "err", err)
		} else {
			d.accel = "kvm"
		}
	}
	_, err := d.ListInstances(ctx)
	return err
}

// probeKVM starts the firmware under KVM and waits for it to reach its
// boot menu on the debug console: /dev/kvm existing proves nothing (a PVM
// host has one that cannot run a guest).
func probeKVM(ctx context.Context, bin string) error {
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tenku-kvm-probe")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf := filepath.Join(dir, "debugcon")
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-accel", "kvm", "-machine", "pc", "-cpu", "host", "-m", "32", "-nodefaults", "-display", "none",
		"-no-user-config", "-chardev", "file,id=dbg,path="+logf, "-device", "isa-debugcon,iobase=0x402,chardev=dbg")
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for ctx.Err() == nil {
		b, _ := os.ReadFile(logf)
		if strings.Contains(string(b), "No bootable device") || strings.Contains(string(b), "Booting from") {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the firmware did not reach its boot step under KVM within 8s")
}

func (d *Driver) dirOf(uuid string) string { return filepath.Join(d.cfg.InstancesPath, uuid) }

// lookup returns the guest of an instance, loading it from its directory
// (and re-attaching to its QEMU) when this process has not seen it.
func (d *Driver) lookup(ctx context.Context, uuid string) (*guest, error) {
	if uuid == "" || strings.ContainsAny(uuid, "/\x00") || uuid == "." || uuid == ".." {
		return nil, virt.ErrNotFound
	}
	d.mu.Lock()
	g := d.guests[uuid]
	d.mu.Unlock()
	if g != nil {
		return g, nil
	}
	return d.load(ctx, d.dirOf(uuid))
}

func (d *Driver) load(ctx context.Context, dir string) (*guest, error) {
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, virt.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil || rec.UUID == "" {
		return nil, fmt.Errorf("%s: unreadable guest record: %v", dir, err)
	}
	d.mu.Lock()
	if g := d.guests[rec.UUID]; g != nil {
		d.mu.Unlock()
		return g, nil
	}
	g := &guest{dir: dir, rec: rec}
	d.guests[rec.UUID] = g
	d.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, err := proc.Find(filepath.Join(dir, pidFile)); err == nil {
		if err := d.attach(ctx, g, p); err != nil {
			// QEMU serves one monitor client at a time: another holder
			// keeps it; the process still runs and is controlled by pid.
			d.log.Warn("re-attaching a running guest's monitor failed", "instance_id", rec.UUID, "pid", p.PID, "err", err)
			d.mu.Lock()
			g.proc, g.started = p, processStart(p)
			d.mu.Unlock()
		} else {
			d.log.Info("re-attached a running guest", "instance_id", rec.UUID, "pid", p.PID)
		}
	}
	return g, nil
}

// attach connects to a running QEMU's monitor and watches its events.
func (d *Driver) attach(ctx context.Context, g *guest, p *proc.Process) error {
	sock := qmpPath(g.dir)
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var c *qmp.Client
	var err error
	for {
		c, err = qmp.Dial(actx, sock)
		if err == nil {
			break
		}
		if !p.Alive() {
			return fmt.Errorf("QEMU exited: %s", tail(filepath.Join(g.dir, qemuLog), 2000))
		}
		select {
		case <-actx.Done():
			return fmt.Errorf("QMP socket %s: %w", sock, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	started := time.Now()
	if ct := processStart(p); !ct.IsZero() {
		started = ct
	}
	d.mu.Lock()
	g.proc, g.qmp, g.started, g.quiet = p, c, started, false
	d.mu.Unlock()
	go d.watch(g, p, c)
	return nil
}

// watch turns a guest's QMP events into driver events until its QEMU ends.
func (d *Driver) watch(g *guest, p *proc.Process, c *qmp.Client) {
	uuid := g.rec.UUID
	for ev := range c.Events() {
		switch ev.Name {
		case "STOP":
			d.emit(uuid, virt.EventPaused)
		case "RESUME":
			d.emit(uuid, virt.EventResumed)
		case "SUSPEND":
			d.emit(uuid, virt.EventSuspended)
		}
	}
	select {
	case <-p.Exited():
	case <-time.After(5 * time.Second):
	}
	c.Close()
	d.mu.Lock()
	quiet := g.quiet
	if g.qmp == c {
		g.qmp, g.proc = nil, nil
		if p.Alive() {
			// the monitor went away but QEMU runs on: keep the process
			g.proc = p
		}
	}
	d.mu.Unlock()
	if !quiet {
		d.emit(uuid, virt.EventStopped)
	}
}

func (d *Driver) emit(uuid, kind string) {
	select {
	case d.events <- virt.Event{UUID: uuid, Kind: kind}:
	default:
		d.log.Warn("driver event dropped: nobody reads events", "instance_id", uuid, "kind", kind)
	}
}

// Events delivers lifecycle events.
func (d *Driver) Events() <-chan virt.Event { return d.events }

// ListInstances finds every guest in the instances directory, running or
// not, re-attaching to those that run.
func (d *Driver) ListInstances(ctx context.Context) ([]virt.InstanceInfo, error) {
	ents, err := os.ReadDir(d.cfg.InstancesPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var out []virt.InstanceInfo
	for _, e := range ents {
		if st, err := os.Stat(filepath.Join(d.cfg.InstancesPath, e.Name())); err != nil || !st.IsDir() || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		g, err := d.lookup(ctx, e.Name())
		if errors.Is(err, virt.ErrNotFound) {
			continue
		}
		if err != nil {
			d.log.Warn("skipping an instance directory", "dir", e.Name(), "err", err)
			continue
		}
		out = append(out, d.info(ctx, g))
	}
	return out, nil
}

// Info reports a guest's state.
func (d *Driver) Info(ctx context.Context, ref virt.Ref) (virt.InstanceInfo, error) {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return virt.InstanceInfo{}, err
	}
	return d.info(ctx, g), nil
}

func (d *Driver) info(ctx context.Context, g *guest) virt.InstanceInfo {
	d.mu.Lock()
	i := virt.InstanceInfo{UUID: g.rec.UUID, Name: g.rec.Name, VCPUs: g.rec.VCPUs, MemoryMB: g.rec.MemoryMB, Power: states.PowerShutdown}
	p, c, started, suspended := g.proc, g.qmp, g.started, g.rec.Suspended
	d.mu.Unlock()
	if suspended {
		i.Power = states.PowerSuspended
	}
	if p == nil || !p.Alive() {
		return i
	}
	i.Power, i.Uptime = states.PowerRunning, time.Since(started)
	if c != nil {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		st, err := c.QueryStatus(qctx)
		if err == nil {
			switch st.Status {
			case "paused", "prelaunch", "inmigrate", "postmigrate", "finish-migrate", "save-vm", "restore-vm", "debug":
				i.Power = states.PowerPaused
			case "suspended":
				i.Power = states.PowerSuspended
			case "shutdown":
				i.Power = states.PowerShutdown
			case "internal-error", "guest-panicked", "io-error":
				i.Power = states.PowerCrashed
			}
		}
	}
	return i
}

// Spawn makes the guest's disks and taps and starts its QEMU. Whatever it
// made is removed when it fails.
func (d *Driver) Spawn(ctx context.Context, spec *virt.Spec) (err error) {
	if spec.UUID == "" || strings.ContainsAny(spec.UUID, "/\x00") {
		return fmt.Errorf("qemu driver: bad instance uuid %q", spec.UUID)
	}
	dir := spec.InstanceDir
	if dir == "" {
		dir = d.dirOf(spec.UUID)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if link := d.dirOf(spec.UUID); filepath.Clean(dir) != link {
		// an instance directory elsewhere is found again through a link
		os.MkdirAll(d.cfg.InstancesPath, 0o755)
		os.Remove(link)
		if err := os.Symlink(dir, link); err != nil {
			return err
		}
	}
	g := &guest{dir: dir}
	g.mu.Lock()
	defer g.mu.Unlock()
	d.mu.Lock()
	if old := d.guests[spec.UUID]; old != nil && old.proc != nil && old.proc.Alive() {
		d.mu.Unlock()
		return fmt.Errorf("instance %s already runs on this host", spec.UUID)
	}
	d.guests[spec.UUID] = g
	d.mu.Unlock()
	// A spawn on disks the instance has (a resize on this host) must not
	// remove them when it fails: the revert needs them.
	keep := false
	for _, dk := range spec.Disks {
		if _, err := os.Stat(dk.Path); err == nil && dk.Kind == virt.DiskRoot {
			keep = true
		}
	}
	defer func() {
		if err != nil {
			d.mu.Lock()
			g.quiet = true
			d.mu.Unlock()
			if cerr := d.teardown(context.WithoutCancel(ctx), g, keep); cerr != nil {
				d.log.Warn("cleaning up a failed spawn", "instance_id", spec.UUID, "err", cerr)
			}
			d.mu.Lock()
			if d.guests[spec.UUID] == g {
				delete(d.guests, spec.UUID)
			}
			d.mu.Unlock()
		}
	}()
	rec, err := d.build(ctx, spec, dir)
	if err != nil {
		return err
	}
	d.mu.Lock()
	g.rec = *rec
	d.mu.Unlock()
	if err := d.writeRecord(g); err != nil {
		return err
	}
	return d.start(ctx, g, nil)
}

func (d *Driver) writeRecord(g *guest) error {
	d.mu.Lock()
	b, err := json.MarshalIndent(g.rec, "", "  ")
	d.mu.Unlock()
	if err != nil {
		return err
	}
	tmp := filepath.Join(g.dir, recordFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(g.dir, recordFile))
}

// start launches the guest's QEMU (after creating its taps) and attaches
// to it. extra are arguments for this start only (-incoming).
func (d *Driver) start(ctx context.Context, g *guest, extra []string) error {
	d.mu.Lock()
	rec := g.rec
	d.mu.Unlock()
	d.netMu.Lock()
	for _, t := range rec.Taps {
		if err := d.net.AddTap(ctx, t); err != nil {
			d.netMu.Unlock()
			return fmt.Errorf("tap %s: %w", t.Name, err)
		}
	}
	d.netMu.Unlock()
	sock := qmpPath(g.dir)
	os.Remove(sock)
	os.Truncate(filepath.Join(g.dir, qemuLog), 0)
	path, args := d.cfg.Emulator, append(append(append([]string(nil), rec.Args...), volumeArgs(&rec)...), nicArgs(&rec)...)
	args = append(args, extra...)
	if ns := d.cfg.Namespace; ns != "" {
		// QEMU opens its taps by name, so it runs where they are (ip
		// netns exec execs it: the pid stays QEMU's).
		path, args = "ip", append([]string{"netns", "exec", ns, path}, args...)
	}
	p, err := proc.Start(proc.Spec{Path: path, Args: args,
		Dir: g.dir, PIDFile: filepath.Join(g.dir, pidFile), LogFile: filepath.Join(g.dir, qemuLog)})
	if err != nil {
		return fmt.Errorf("starting QEMU: %w", err)
	}
	if err := d.attach(ctx, g, p); err != nil {
		p.Stop(context.WithoutCancel(ctx), 0)
		return fmt.Errorf("QEMU failed to start: %w", err)
	}
	return nil
}

// stop ends the guest's QEMU: an ACPI power-down first when grace > 0,
// then quit, then SIGKILL. The guest's files stay.
func (d *Driver) stop(ctx context.Context, g *guest, grace time.Duration) error {
	d.mu.Lock()
	p, c := g.proc, g.qmp
	g.quiet = true
	d.mu.Unlock()
	if p == nil {
		// maybe found again by pidfile only
		fp, err := proc.Find(filepath.Join(g.dir, pidFile))
		if err != nil {
			return nil
		}
		p = fp
	}
	if c != nil && grace > 0 {
		powerDown(ctx, c, p.Exited(), grace, shutdownRetryInterval)
	}
	if p.Alive() && c != nil {
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		c.Quit(qctx)
		cancel()
		select {
		case <-p.Exited():
		case <-time.After(3 * time.Second):
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := p.Stop(sctx, 0); err != nil {
		return err
	}
	if c != nil {
		c.Close()
	}
	d.mu.Lock()
	if g.proc == p {
		g.proc, g.qmp = nil, nil
	}
	d.mu.Unlock()
	os.Remove(qmpPath(g.dir))
	return nil
}

// shutdownRetryInterval is how often a clean shutdown presses the power
// button again, as Nova's shutdown_retry_interval (default 10 s): a guest
// still booting when the first press came (no ACPI daemon yet) misses it.
var shutdownRetryInterval = 10 * time.Second

// powerDown asks the guest to power off (an ACPI power button press),
// again every retry, until exited closes or grace passes.
func powerDown(ctx context.Context, c *qmp.Client, exited <-chan struct{}, grace, retry time.Duration) {
	pctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	for {
		if _, err := c.Execute(pctx, "system_powerdown", nil); err != nil {
			return
		}
		select {
		case <-exited:
			return
		case <-pctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

// teardown stops the guest and removes its taps and (unless keepDisks)
// its files.
func (d *Driver) teardown(ctx context.Context, g *guest, keepDisks bool) error {
	var errs []error
	if err := d.stop(ctx, g, 0); err != nil {
		errs = append(errs, err)
	}
	d.mu.Lock()
	rec := g.rec
	d.mu.Unlock()
	d.netMu.Lock()
	defer d.netMu.Unlock()
	for _, t := range rec.Taps {
		if err := d.net.DeleteTap(ctx, t.Name); err != nil {
			errs = append(errs, err)
		}
		// A bridge only this guest was on goes with it (the network
		// agent makes it again for the next port).
		if t.Bridge != "" {
			if err := d.net.DeleteBridgeIfEmpty(ctx, t.Bridge); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if keepDisks {
		os.Remove(qmpPath(g.dir))
		for _, f := range []string{pidFile, recordFile, stateFile} {
			if err := os.Remove(filepath.Join(g.dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	} else {
		os.Remove(qmpPath(g.dir))
		if err := os.RemoveAll(g.dir); err != nil {
			errs = append(errs, err)
		}
		if link := d.dirOf(rec.UUID); rec.UUID != "" && link != filepath.Clean(g.dir) {
			os.Remove(link)
		}
	}
	return errors.Join(errs...)
}

// Destroy stops the guest and removes everything it had: process, socket,
// taps and (unless KeepDisks) its directory.
func (d *Driver) Destroy(ctx context.Context, ref virt.Ref, o virt.DestroyOptions) error {
	g, err := d.lookup(ctx, ref.UUID)
	if errors.Is(err, virt.ErrNotFound) {
		// no record: still remove a directory a failed build left
		if !o.KeepDisks && ref.UUID != "" && !strings.ContainsAny(ref.UUID, "/\x00") && ref.UUID != "." && ref.UUID != ".." {
			if p, err := proc.Find(filepath.Join(d.dirOf(ref.UUID), pidFile)); err == nil {
				p.Stop(ctx, 0)
			}
			return os.RemoveAll(d.dirOf(ref.UUID))
		}
		return nil
	}
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := d.teardown(ctx, g, o.KeepDisks); err != nil {
		return err
	}
	d.mu.Lock()
	if d.guests[ref.UUID] == g {
		delete(d.guests, ref.UUID)
	}
	d.mu.Unlock()
	return nil
}

func (d *Driver) running(g *guest) (*proc.Process, *qmp.Client) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if g.proc == nil || !g.proc.Alive() {
		return nil, nil
	}
	return g.proc, g.qmp
}

// Reboot reboots the guest. Soft: an ACPI power-down, and when the guest
// has shut down within wait_soft_reboot_seconds a fresh start; otherwise
// (and hard) a new QEMU process, as Nova's libvirt driver re-creates the
// domain.
func (d *Driver) Reboot(ctx context.Context, ref virt.Ref, hard bool) error {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, c := d.running(g); !hard && p != nil && c != nil {
		wctx, cancel := context.WithTimeout(ctx, d.cfg.WaitSoftReboot)
		_, err := c.Execute(wctx, "system_powerdown", nil)
		if err == nil {
			d.mu.Lock()
			g.quiet = true
			d.mu.Unlock()
			select {
			case <-p.Exited():
			case <-wctx.Done():
				d.log.Info("guest did not shut down for a soft reboot in time: rebooting hard", "instance_id", ref.UUID, "waited", d.cfg.WaitSoftReboot)
			}
		}
		cancel()
	}
	if err := d.stop(ctx, g, 0); err != nil {
		return err
	}
	d.clearSuspend(g)
	return d.start(ctx, g, nil)
}

// PowerOff stops the guest: an ACPI power-down given timeout to finish,
// then a hard stop. A stopped guest stays stopped.
func (d *Driver) PowerOff(ctx context.Context, ref virt.Ref, timeout time.Duration) error {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return d.stop(ctx, g, timeout)
}

// PowerOn starts a stopped guest (a running one is left alone); a
// suspended guest resumes from its saved state.
func (d *Driver) PowerOn(ctx context.Context, ref virt.Ref) error {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, _ := d.running(g); p != nil {
		return nil
	}
	d.mu.Lock()
	suspended := g.rec.Suspended
	d.mu.Unlock()
	if suspended {
		return d.resume(ctx, g)
	}
	return d.start(ctx, g, nil)
}

// ConsoleLog returns the end of the guest's serial console log.
func (d *Driver) ConsoleLog(ctx context.Context, ref virt.Ref) ([]byte, error) {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(g.dir, consoleFile))
	if errors.Is(err, os.ErrNotExist) {
		return []byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := st.Size() - maxConsole
	if off < 0 {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// HostResources reports this host's CPUs, memory and the instances
// directory's file system.
func (d *Driver) HostResources(ctx context.Context) (virt.Resources, error) {
	d.mu.Lock()
	host := d.host
	d.mu.Unlock()
	r := virt.Resources{VCPUs: runtime.NumCPU(), HypervisorHostname: host, HostIP: "127.0.0.1"}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.Atoi(f[1])
				r.MemoryMB = kb / 1024
			}
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.cfg.InstancesPath, &st); err == nil {
		r.DiskGB = int(uint64(st.Bsize) * st.Blocks >> 30)
	}
	model := "qemu64"
	if d.accel == "kvm" {
		model = "host"
	}
	cpu, _ := json.Marshal(map[string]any{"arch": "x86_64", "model": model, "vendor": "QEMU",
		"topology": map[string]int{"sockets": 1, "cores": r.VCPUs, "threads": 1}, "features": []string{}})
	r.CPUInfo = string(cpu)
	return r, nil
}

// Pause freezes the guest's vCPUs.
func (d *Driver) Pause(ctx context.Context, ref virt.Ref) error {
	return d.command(ctx, ref, "stop")
}

// Unpause lets a paused guest run again.
func (d *Driver) Unpause(ctx context.Context, ref virt.Ref) error {
	return d.command(ctx, ref, "cont")
}

func (d *Driver) command(ctx context.Context, ref virt.Ref, cmd string) error {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	_, c := d.running(g)
	if c == nil {
		return fmt.Errorf("instance %s is not running", ref.UUID)
	}
	_, err = c.Execute(ctx, cmd, nil)
	return err
}

// Suspend saves the guest's memory and device state to its directory and
// ends its QEMU (Nova's libvirt managed save); PowerOn or Resume restores
// it.
func (d *Driver) Suspend(ctx context.Context, ref virt.Ref) error {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	_, c := d.running(g)
	if c == nil {
		return fmt.Errorf("instance %s is not running", ref.UUID)
	}
	state := filepath.Join(g.dir, stateFile)
	os.Remove(state)
	if _, err := c.ExecuteUntil(ctx, "stop", nil, qmp.Named("STOP")); err != nil {
		return err
	}
	if _, err := c.Execute(ctx, "migrate", map[string]any{"uri": "exec:cat > " + shellQuote(state)}); err != nil {
		c.Execute(ctx, "cont", nil)
		return err
	}
	for {
		var mi struct {
			Status    string `json:"status"`
			ErrorDesc string `json:"error-desc"`
		}
		if err := c.Run(ctx, "query-migrate", nil, &mi); err != nil {
			return err
		}
		if mi.Status == "completed" {
			break
		}
		if mi.Status == "failed" || mi.Status == "cancelled" {
			c.Execute(ctx, "cont", nil)
			return fmt.Errorf("saving the guest's state: %s %s", mi.Status, mi.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			c.Execute(context.WithoutCancel(ctx), "migrate_cancel", nil)
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	d.mu.Lock()
	g.rec.Suspended = true
	d.mu.Unlock()
	if err := d.writeRecord(g); err != nil {
		return err
	}
	if err := d.stop(ctx, g, 0); err != nil {
		return err
	}
	d.emit(ref.UUID, virt.EventSuspended)
	return nil
}

// Resume restores a suspended guest.
func (d *Driver) Resume(ctx context.Context, ref virt.Ref) error {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, _ := d.running(g); p != nil {
		return nil
	}
	return d.resume(ctx, g)
}

func (d *Driver) resume(ctx context.Context, g *guest) error {
	state := filepath.Join(g.dir, stateFile)
	if _, err := os.Stat(state); err != nil {
		d.clearSuspend(g)
		return d.start(ctx, g, nil)
	}
	if err := d.start(ctx, g, []string{"-S", "-incoming", "exec:cat " + shellQuote(state)}); err != nil {
		return err
	}
	_, c := d.running(g)
	if c == nil {
		return errors.New("resumed guest has no monitor")
	}
	for {
		st, err := c.QueryStatus(ctx)
		if err != nil {
			return err
		}
		if st.Status != "inmigrate" {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if _, err := c.Execute(ctx, "cont", nil); err != nil {
		return err
	}
	d.clearSuspend(g)
	return nil
}

func (d *Driver) clearSuspend(g *guest) {
	d.mu.Lock()
	was := g.rec.Suspended
	g.rec.Suspended = false
	d.mu.Unlock()
	if was {
		os.Remove(filepath.Join(g.dir, stateFile))
		if err := d.writeRecord(g); err != nil {
			d.log.Warn("writing guest record", "err", err)
		}
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// processStart is when a process started: its start time in clock ticks
// after the boot time of /proc/stat (USER_HZ is 100 on Linux).
func processStart(p *proc.Process) time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil || p.StartTime == 0 {
		return time.Time{}
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "btime" {
			bt, _ := strconv.ParseInt(f[1], 10, 64)
			return time.Unix(bt, 0).Add(time.Duration(p.StartTime) * 10 * time.Millisecond)
		}
	}
	return time.Time{}
}

func tail(path string, n int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return strings.TrimSpace(string(b))
}

// qmpPath is the guest's QMP socket: in its directory, unless that path is
// too long for a Unix socket (108 bytes with the terminator), when it is a
// name in the temporary directory derived from the instance directory, so
// that a restarted agent finds it again (the directory must exist).
func qmpPath(dir string) string {
	p := filepath.Join(dir, qmpSocket)
	if len(p) < 100 {
		return p
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // the spawn's directory and the symlink by uuid agree
	}
	sum := sha256.Sum256([]byte(filepath.Clean(dir)))
	return filepath.Join(os.TempDir(), "tenku-qmp-"+hex.EncodeToString(sum[:8])+".sock")
}

// Close lets go of every guest's monitor (QEMU serves one client at a
// time); the guests run on for the next agent to re-attach, as they do when
// the agent's process dies.
func (d *Driver) Close() error {
	d.mu.Lock()
	var cs []*qmp.Client
	for _, g := range d.guests {
		if g.qmp != nil {
			cs = append(cs, g.qmp)
			g.quiet = true
		}
	}
	d.guests = map[string]*guest{}
	d.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
	return nil
}

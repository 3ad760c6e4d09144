package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// Config sets the fake hypervisor's resources and faults: nova.conf's
// [fake_driver] section.
type Config struct {
	VCPUs    int `opt:"vcpus" help:"vCPUs the fake hypervisor reports."`
	MemoryMB int `opt:"memory_mb" help:"Memory in MiB the fake hypervisor reports."`
	DiskGB   int `opt:"local_gb" help:"Local disk in GiB the fake hypervisor reports."`
	// HoldBuild keeps every spawn waiting this long (or until its context
	// ends).
	HoldBuild time.Duration `opt:"hold_build" help:"Keep every spawn waiting this long (instances stay BUILD/spawning)."`
	// SpawnDelay is how long a spawn takes.
	SpawnDelay time.Duration `opt:"spawn_delay" help:"Time a spawn takes."`
	// FailSpawn fails every spawn; FailSpawnEvery fails every Nth.
	FailSpawn      bool `opt:"fail_spawn" help:"Fail every spawn (to exercise reschedules and ERROR)."`
	FailSpawnEvery int  `opt:"fail_spawn_every" help:"Fail every Nth spawn; 0 never."`
	// FailDestroy fails every destroy.
	FailDestroy bool `opt:"fail_delete" help:"Fail every destroy."`
	// SnapshotDelay is how long taking a snapshot takes (the server stays in
	// image_snapshot meanwhile).
	SnapshotDelay time.Duration `opt:"snapshot_delay" help:"Time taking a snapshot takes (the server stays in image_snapshot meanwhile)."`
	// ActionDelay is how long each power action takes (reboot, stop, start,
	// pause, unpause, suspend, resume, rescue, unrescue), so that the task
	// states a client watches (REBOOT, ...) last as on a real hypervisor.
	// StateDir, when set, keeps the guests in a file there, so that a new
	// Driver on the same directory (an agent restarted in a new process)
	// finds them, as a QEMU guest outlives its agent. Empty keeps them in
	// memory only.
	StateDir    string        `opt:"state_dir" help:"Directory the fake hypervisor keeps its guests in across restarts of the agent (tenku stack and tenku agent compute: fake-guests in the agent's data directory)."`
	ActionDelay time.Duration `opt:"action_delay" help:"Time each reboot, stop, start, pause, unpause, suspend, resume, rescue and unrescue takes (the server shows REBOOT, ... meanwhile)."`
}

// DefaultConfig is what nova.conf's [fake_driver] holds when it says nothing.
func DefaultConfig() Config {
	return Config{VCPUs: 32, MemoryMB: 131072, DiskGB: 2000, SnapshotDelay: time.Second}
}

// Validate rejects a configuration the driver cannot run with.
func (c Config) Validate() error {
	switch {
	case c.VCPUs < 0 || c.MemoryMB < 0 || c.DiskGB < 0:
		return fmt.Errorf("[fake_driver] resources must not be negative")
	case c.HoldBuild < 0 || c.SpawnDelay < 0 || c.SnapshotDelay < 0 || c.ActionDelay < 0:
		return fmt.Errorf("[fake_driver] delays must not be negative")
	case c.FailSpawnEvery < 0:
		return fmt.Errorf("[fake_driver] fail_spawn_every must not be negative")
	}
	return nil
}

type guest struct {
	spec    virt.Spec
	power   states.Power
	started time.Time
	console bytes.Buffer
	rescued bool
}

// Driver is a fake hypervisor.
type Driver struct {
	mu       sync.Mutex
	cfg      Config
	host     string
	guests   map[string]*guest
	events   chan virt.Event
	spawns   int
	failNext int
	saveErr  error
}

var (
	_ virt.Driver            = (*Driver)(nil)
	_ virt.Pauser            = (*Driver)(nil)
	_ virt.Suspender         = (*Driver)(nil)
	_ virt.Snapshotter       = (*Driver)(nil)
	_ virt.Rescuer           = (*Driver)(nil)
	_ virt.LiveMigrator      = (*Driver)(nil)
	_ virt.InterfaceAttacher = (*Driver)(nil)
	_ virt.VolumeSwapper     = (*Driver)(nil)
	_ virt.VolumeAttacher    = (*Driver)(nil)
	_ virt.PasswordSetter    = (*Driver)(nil)
	_ virt.Diagnostician     = (*Driver)(nil)
	_ virt.CrashDumper       = (*Driver)(nil)
)

// Open returns a fake hypervisor holding the guests saved in cfg.StateDir.
func Open(cfg Config) (*Driver, error) {
	d := New(cfg)
	if cfg.StateDir == "" {
		return d, nil
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("fake driver: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(cfg.StateDir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fake driver: %w", err)
	}
	var saved []savedGuest
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, fmt.Errorf("fake driver: %s: %w", filepath.Join(cfg.StateDir, stateFile), err)
	}
	for _, s := range saved {
		g := &guest{spec: s.Spec, power: s.Power, started: s.Started, rescued: s.Rescued}
		g.console.WriteString(s.Console)
		d.guests[s.Spec.UUID] = g
	}
	return d, nil
}

const stateFile = "guests.json"

type savedGuest struct {
	Spec    virt.Spec
	Power   states.Power
	Started time.Time
	Console string
	Rescued bool
}

// saveLocked writes the guests to the state directory, if there is one; a
// failure is reported by the next ListInstances.
func (d *Driver) saveLocked() {
	if d.cfg.StateDir == "" {
		return
	}
	saved := make([]savedGuest, 0, len(d.guests))
	for _, g := range d.guests {
		saved = append(saved, savedGuest{Spec: g.spec, Power: g.power, Started: g.started, Console: g.console.String(), Rescued: g.rescued})
	}
	data, err := json.Marshal(saved)
	if err == nil {
		path := filepath.Join(d.cfg.StateDir, stateFile)
		if err = os.WriteFile(path+".tmp", data, 0o600); err == nil {
			err = os.Rename(path+".tmp", path)
		}
	}
	d.saveErr = err
}

// New returns a fake hypervisor with no guests (it does not read
// cfg.StateDir; Open does).
func New(cfg Config) *Driver {
	if cfg.VCPUs == 0 && cfg.MemoryMB == 0 && cfg.DiskGB == 0 {
		cfg.VCPUs, cfg.MemoryMB, cfg.DiskGB = 32, 131072, 2000
	}
	return &Driver{cfg: cfg, guests: map[string]*guest{}, events: make(chan virt.Event, 256)}
}

// Configure replaces the fault knobs and resources at run time.
func (d *Driver) Configure(fn func(c *Config)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(&d.cfg)
}

// FailNextSpawns makes the next n spawns fail.
func (d *Driver) FailNextSpawns(n int) {
	d.mu.Lock()
	d.failNext = n
	d.mu.Unlock()
}

// Capabilities describes the fake hypervisor.
func (d *Driver) Capabilities() virt.Capabilities {
	return virt.Capabilities{HypervisorType: "fake", HypervisorVersion: 1000, Arch: "x86_64", SupportsRebuildInPlace: true}
}

// Init remembers the host.
func (d *Driver) Init(_ context.Context, host string) error {
	d.mu.Lock()
	d.host = host
	d.mu.Unlock()
	return nil
}

// ListInstances lists the guests.
func (d *Driver) ListInstances(context.Context) ([]virt.InstanceInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.saveErr != nil {
		return nil, fmt.Errorf("fake driver: saving guests: %w", d.saveErr)
	}
	out := make([]virt.InstanceInfo, 0, len(d.guests))
	for _, g := range d.guests {
		out = append(out, d.info(g))
	}
	return out, nil
}

func (d *Driver) info(g *guest) virt.InstanceInfo {
	i := virt.InstanceInfo{UUID: g.spec.UUID, Name: g.spec.Name, Power: g.power, VCPUs: g.spec.Flavor.VCPUs, MemoryMB: g.spec.Flavor.MemoryMB}
	if g.power == states.PowerRunning {
		i.Uptime = time.Since(g.started)
	}
	return i
}

// Spawn creates a running guest, after the configured delay or hold, unless
// a fault is configured.
func (d *Driver) Spawn(ctx context.Context, spec *virt.Spec) error {
	d.mu.Lock()
	d.spawns++
	cfg, n := d.cfg, d.spawns
	fail := cfg.FailSpawn || (cfg.FailSpawnEvery > 0 && n%cfg.FailSpawnEvery == 0)
	if d.failNext > 0 {
		d.failNext--
		fail = true
	}
	d.mu.Unlock()
	for _, wait := range []time.Duration{cfg.SpawnDelay, cfg.HoldBuild} {
		if wait <= 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	if fail {
		return fmt.Errorf("fake driver: spawn of %s failed (fault injected)", spec.UUID)
	}
	g := &guest{spec: *spec, power: states.PowerRunning, started: time.Now()}
	fmt.Fprintf(&g.console, "[    0.000000] Linux version 6.1.0-fake (tenku fake hypervisor)\n"+
		"[    0.000000] Command line: console=ttyS0 root=/dev/vda1\n[    0.412000] virtio_blk virtio1: [vda] 2097152 512-byte logical blocks\n"+
		"[    1.024000] EXT4-fs (vda1): mounted filesystem\n[    1.310000] cloud-init: starting\n"+
		"[    1.622000] cloud-init: hostname set to %s\n%s login: \n", spec.Hostname, spec.Hostname)
	d.mu.Lock()
	d.guests[spec.UUID] = g
	d.saveLocked()
	d.mu.Unlock()
	return nil
}

// Destroy removes a guest.
func (d *Driver) Destroy(_ context.Context, ref virt.Ref, _ virt.DestroyOptions) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cfg.FailDestroy {
		return fmt.Errorf("fake driver: destroy of %s failed (fault injected)", ref.UUID)
	}
	delete(d.guests, ref.UUID)
	d.saveLocked()
	return nil
}

func (d *Driver) get(ref virt.Ref) (*guest, error) {
	g, ok := d.guests[ref.UUID]
	if !ok {
		return nil, virt.ErrNotFound
	}
	return g, nil
}

// act waits for the configured action delay (or the context's end).
func (d *Driver) act(ctx context.Context) error {
	d.mu.Lock()
	wait := d.cfg.ActionDelay
	d.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

func (d *Driver) setPower(ctx context.Context, ref virt.Ref, from []states.Power, to states.Power) error {
	if err := d.act(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return err
	}
	if from != nil {
		ok := false
		for _, p := range from {
			ok = ok || g.power == p
		}
		if !ok {
			return fmt.Errorf("fake driver: %s is %s", ref.UUID, g.power)
		}
	}
	if to == states.PowerRunning && g.power != states.PowerRunning {
		g.started = time.Now()
	}
	g.power = to
	d.saveLocked()
	return nil
}

// Reboot restarts a guest.
func (d *Driver) Reboot(ctx context.Context, ref virt.Ref, hard bool) error {
	if hard {
		return d.setPower(ctx, ref, nil, states.PowerRunning)
	}
	return d.setPower(ctx, ref, []states.Power{states.PowerRunning}, states.PowerRunning)
}

// PowerOff stops a guest.
func (d *Driver) PowerOff(ctx context.Context, ref virt.Ref, _ time.Duration) error {
	return d.setPower(ctx, ref, nil, states.PowerShutdown)
}

// PowerOn starts a guest.
func (d *Driver) PowerOn(ctx context.Context, ref virt.Ref) error {
	return d.setPower(ctx, ref, nil, states.PowerRunning)
}

// Info returns a guest's state.
func (d *Driver) Info(_ context.Context, ref virt.Ref) (virt.InstanceInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return virt.InstanceInfo{}, err
	}
	return d.info(g), nil
}

// ConsoleLog returns the guest's console.
func (d *Driver) ConsoleLog(_ context.Context, ref virt.Ref) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), g.console.Bytes()...), nil
}

// HostResources reports the configured resources.
func (d *Driver) HostResources(context.Context) (virt.Resources, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return virt.Resources{VCPUs: d.cfg.VCPUs, MemoryMB: d.cfg.MemoryMB, DiskGB: d.cfg.DiskGB, HypervisorHostname: d.host,
		CPUInfo: `{"arch": "x86_64", "model": "fake", "vendor": "tenku", "topology": {"sockets": 1, "cores": 1, "threads": 1}, "features": []}`,
		HostIP:  "127.0.0.1"}, nil
}

// Events delivers lifecycle events.
func (d *Driver) Events() <-chan virt.Event { return d.events }

// Crash stops a guest as if it had shut itself down, and emits the event.
func (d *Driver) Crash(uuid string) {
	d.mu.Lock()
	if g, ok := d.guests[uuid]; ok {
		g.power = states.PowerShutdown
		d.saveLocked()
	}
	d.mu.Unlock()
	select {
	case d.events <- virt.Event{UUID: uuid, Kind: virt.EventStopped}:
	default:
	}
}

// Has reports whether the hypervisor has a guest.
func (d *Driver) Has(uuid string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.guests[uuid]
	return ok
}

// Spec returns the spec a guest was spawned with.
func (d *Driver) Spec(uuid string) (virt.Spec, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.guests[uuid]
	if !ok {
		return virt.Spec{}, false
	}
	return g.spec, true
}

// Adopt puts a guest on the hypervisor without a spawn (tests that simulate
// what a crashed agent left behind).
func (d *Driver) Adopt(spec virt.Spec, power states.Power) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.guests[spec.UUID] = &guest{spec: spec, power: power, started: time.Now()}
	d.saveLocked()
}

// Pause pauses a guest.
func (d *Driver) Pause(ctx context.Context, ref virt.Ref) error {
	return d.setPower(ctx, ref, []states.Power{states.PowerRunning}, states.PowerPaused)
}

// Unpause resumes a paused guest.
func (d *Driver) Unpause(ctx context.Context, ref virt.Ref) error {
	return d.setPower(ctx, ref, []states.Power{states.PowerPaused}, states.PowerRunning)
}

// Suspend suspends a guest.
func (d *Driver) Suspend(ctx context.Context, ref virt.Ref) error {
	return d.setPower(ctx, ref, []states.Power{states.PowerRunning}, states.PowerSuspended)
}

// Resume resumes a suspended guest.
func (d *Driver) Resume(ctx context.Context, ref virt.Ref) error {
	return d.setPower(ctx, ref, []states.Power{states.PowerSuspended}, states.PowerRunning)
}

// Snapshot returns a small raw disk image (64 KiB, a note at its start), which
// image services' format inspectors accept as raw.
func (d *Driver) Snapshot(ctx context.Context, ref virt.Ref) (io.ReadCloser, string, error) {
	if wait := d.cfg.SnapshotDelay; wait > 0 {
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(wait):
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.get(ref); err != nil {
		return nil, "", err
	}
	data := make([]byte, 64<<10)
	copy(data, "fake snapshot of "+ref.UUID)
	return io.NopCloser(bytes.NewReader(data)), "raw", nil
}

// Rescue boots a guest from the rescue image.
func (d *Driver) Rescue(ctx context.Context, spec *virt.Spec) error {
	if err := d.act(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(spec.Ref)
	if err != nil {
		return err
	}
	g.rescued, g.power = true, states.PowerRunning
	d.saveLocked()
	return nil
}

// Unrescue boots a guest from its own disk again.
func (d *Driver) Unrescue(ctx context.Context, ref virt.Ref) error {
	if err := d.act(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return err
	}
	g.rescued, g.power = false, states.PowerRunning
	d.saveLocked()
	return nil
}

// PreLiveMigration accepts every instance.
func (d *Driver) PreLiveMigration(context.Context, *virt.Spec) error { return nil }

// LiveMigrate removes the guest from this hypervisor; the destination's
// PostLiveMigrationAtDestination recreates it there.
func (d *Driver) LiveMigrate(_ context.Context, ref virt.Ref, _ string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.get(ref); err != nil {
		return err
	}
	delete(d.guests, ref.UUID)
	d.saveLocked()
	return nil
}

// PostLiveMigrationAtDestination makes the guest run here.
func (d *Driver) PostLiveMigrationAtDestination(_ context.Context, spec *virt.Spec) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.guests[spec.UUID] = &guest{spec: *spec, power: states.PowerRunning, started: time.Now()}
	d.saveLocked()
	return nil
}

// AttachInterface adds a NIC.
func (d *Driver) AttachInterface(_ context.Context, ref virt.Ref, nic virt.NIC) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return err
	}
	g.spec.NICs = append(g.spec.NICs, nic)
	d.saveLocked()
	return nil
}

// DetachInterface removes a NIC.
func (d *Driver) DetachInterface(_ context.Context, ref virt.Ref, nic virt.NIC) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return err
	}
	out := g.spec.NICs[:0]
	for _, n := range g.spec.NICs {
		if n.PortID != nic.PortID {
			out = append(out, n)
		}
	}
	g.spec.NICs = out
	d.saveLocked()
	return nil
}

// AttachVolume adds a disk.
func (d *Driver) AttachVolume(_ context.Context, ref virt.Ref, disk virt.Disk) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return err
	}
	for i, x := range g.spec.Disks {
		if x.Kind == virt.DiskVolume && x.Serial == disk.Serial {
			g.spec.Disks[i] = disk // attached already: as it is now
			d.saveLocked()
			return nil
		}
	}
	g.spec.Disks = append(g.spec.Disks, disk)
	d.saveLocked()
	return nil
}

// DetachVolume removes a disk.
func (d *Driver) DetachVolume(_ context.Context, ref virt.Ref, disk virt.Disk) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return err
	}
	out := g.spec.Disks[:0]
	for _, x := range g.spec.Disks {
		if x.Serial != disk.Serial {
			out = append(out, x)
		}
	}
	g.spec.Disks = out
	d.saveLocked()
	return nil
}

// SwapVolume puts the new volume's disk where the old one's was.
func (d *Driver) SwapVolume(_ context.Context, ref virt.Ref, old, new virt.Disk, _ int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return err
	}
	for i, x := range g.spec.Disks {
		if x.Kind == virt.DiskVolume && x.Serial == old.Serial {
			g.spec.Disks[i] = new
			d.saveLocked()
			return nil
		}
	}
	return fmt.Errorf("volume %s is not attached to instance %s", old.Serial, ref.UUID)
}

// SetAdminPassword accepts any password for a running guest.
func (d *Driver) SetAdminPassword(_ context.Context, ref virt.Ref, _ string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return err
	}
	if g.power != states.PowerRunning {
		return fmt.Errorf("fake driver: %s is not running", ref.UUID)
	}
	return nil
}

// Diagnostics reports what the fake guest has.
func (d *Driver) Diagnostics(_ context.Context, ref virt.Ref) (virt.Diagnostics, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return virt.Diagnostics{}, err
	}
	di := virt.Diagnostics{State: g.power.String(), Driver: "libvirt", NumCPUs: g.spec.Flavor.VCPUs, NumNICs: len(g.spec.NICs),
		NumDisks: len(g.spec.Disks), MemoryMB: g.spec.Flavor.MemoryMB}
	if g.power == states.PowerRunning {
		di.Uptime = int(time.Since(g.started).Seconds())
	}
	for _, n := range g.spec.NICs {
		di.NICMACs = append(di.NICMACs, n.MAC)
	}
	return di, nil
}

// TriggerCrashDump writes a note to the console.
func (d *Driver) TriggerCrashDump(_ context.Context, ref virt.Ref) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.get(ref)
	if err != nil {
		return err
	}
	g.console.WriteString("\nNMI received: dumping\n")
	d.saveLocked()
	return nil
}

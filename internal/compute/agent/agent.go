package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

// Binary is the service binary name agents register as.
const Binary = "nova-compute"

// ServiceVersion is the RPC version agents report.
const ServiceVersion = 66

// Option changes how an agent is built.
type Option func(*Agent)

// WithClients makes the agent use these Glance and Neutron clients instead
// of gophercloud ones built from the service credentials.
func WithClients(images clients.Images, network clients.Network) Option {
	return func(a *Agent) { a.images, a.net = images, network }
}

// WithVolumes makes the agent use this Cinder client instead of one built
// from the service credentials.
func WithVolumes(v clients.Volumes) Option { return func(a *Agent) { a.vols = v } }

// WithClock replaces the clock.
func WithClock(now func() time.Time) Option { return func(a *Agent) { a.now = now } }

// Agent is a compute agent.
type Agent struct {
	cfg    conf.Config
	host   string
	dir    string
	log    *slog.Logger
	bus    *bus.Bus
	cond   *rpc.Conductor
	drv    virt.Driver
	images clients.Images
	net    clients.Network
	vols   clients.Volumes
	now    func() time.Time

	locks   locks
	waiters waiters
	builds  chan struct{}
	cache   imageCache

	mu       sync.Mutex
	building map[string]context.CancelFunc
	node     *objects.ComputeNode

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sub    *bus.Subscription
	// started hears conductors' start announcements.
	started *bus.Subscription
}

// New returns the compute agent of deps.Host, driving drv. deps.Bus is
// required; deps.DB is not used (agents reach the database through the
// conductor).
func New(cfg conf.Config, deps service.Deps, drv virt.Driver, opts ...Option) (*Agent, error) {
	if deps.Bus == nil {
		return nil, errors.New("compute agent: a bus is required")
	}
	if deps.Host == "" {
		return nil, errors.New("compute agent: a host name is required")
	}
	if drv == nil {
		return nil, errors.New("compute agent: a hypervisor driver is required")
	}
	if deps.Log == nil {
		deps.Log = logging.Discard()
	}
	dir := deps.DataDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tenku-compute-"+deps.Host)
	}
	a := &Agent{
		cfg: cfg, host: deps.Host, dir: filepath.Join(dir, "instances"), log: deps.Log.With("host", deps.Host),
		bus: deps.Bus, cond: &rpc.Conductor{Bus: deps.Bus, Timeout: 60 * time.Second}, drv: drv, now: time.Now,
		building: map[string]context.CancelFunc{},
	}
	for _, o := range opts {
		o(a)
	}
	if a.images == nil || a.net == nil || a.vols == nil {
		sess := clients.NewSession(deps.Credentials, deps.Region, nil)
		if a.images == nil {
			a.images = &clients.GlanceImages{S: sess}
		}
		if a.net == nil {
			a.net = &clients.NeutronNetwork{S: sess}
		}
		if a.vols == nil {
			a.vols = &clients.CinderVolumes{S: sess}
		}
	}
	n := cfg.Default.MaxConcurrentBuilds
	if n <= 0 {
		n = 1 << 20
	}
	a.builds = make(chan struct{}, n)
	a.cache = imageCache{dir: filepath.Join(a.dir, "_base"), images: a.images, inflight: map[string]*fetch{}}
	return a, nil
}

// Name names the service.
func (a *Agent) Name() string { return "nova-compute " + a.host }

// Host returns the agent's host name.
func (a *Agent) Host() string { return a.host }

// Driver returns the agent's hypervisor driver.
func (a *Agent) Driver() virt.Driver { return a.drv }

// Start registers the service and the compute node, reconciles the host's
// instances, subscribes to the host's subject and starts the periodic work.
func (a *Agent) Start(ctx context.Context) error {
	a.ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return fmt.Errorf("compute agent: %w", err)
	}
	if err := a.drv.Init(ctx, a.host); err != nil {
		return fmt.Errorf("compute agent: driver init: %w", err)
	}
	if err := a.heartbeat(ctx); err != nil {
		return fmt.Errorf("compute agent: register service: %w", err)
	}
	if err := a.reportResources(ctx); err != nil {
		return fmt.Errorf("compute agent: report resources: %w", err)
	}
	if err := a.reconcile(ctx); err != nil {
		a.log.ErrorContext(ctx, "reconciling instances failed", "err", err)
	}
	started, err := a.bus.Serve(a.ctx, rpc.ConductorStartedSubject, bus.ServeOptions{Concurrency: 1},
		map[string]bus.Handler{rpc.ConductorStarted: a.conductorStarted})
	if err != nil {
		return err
	}
	a.started = started
	sub, err := a.bus.Serve(a.ctx, rpc.ComputeSubject(a.host), bus.ServeOptions{Queue: "compute", Concurrency: 256}, a.handlers())
	if err != nil {
		started.Stop()
		return err
	}
	a.sub = sub
	a.every(a.cfg.Default.ReportInterval, "heartbeat", a.heartbeat)
	a.every(a.cfg.Compute.ResourceUpdateInterval, "resource tracker", a.reportResources)
	if every := a.cfg.Compute.StrandedTaskTimeout / 4; every > 0 {
		a.every(max(every, 50*time.Millisecond), "stranded task sweep", a.sweepStranded)
	}
	if a.cfg.Default.SyncPowerStateInterval > 0 {
		a.every(a.cfg.Default.SyncPowerStateInterval, "power state sync", a.syncPowerStates)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.driverEvents()
	}()
	a.log.Info("compute agent started", "driver", a.drv.Capabilities().HypervisorType)
	return nil
}

// Shutdown stops taking work, cancels what runs and waits for it.
func (a *Agent) Shutdown(ctx context.Context) error {
	if a.sub != nil {
		a.sub.Stop()
	}
	if a.started != nil {
		a.started.Stop()
	}
	if a.cancel != nil {
		a.cancel()
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	// A driver holding connections to its guests releases them; the
	// guests themselves run on.
	if c, ok := a.drv.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// every runs fn periodically until the agent stops.
func (a *Agent) every(d time.Duration, what string, fn func(context.Context) error) {
	if d <= 0 {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-a.ctx.Done():
				return
			case <-t.C:
				if err := fn(a.ctx); err != nil && a.ctx.Err() == nil {
					a.log.Warn(what+" failed", "err", err)
				}
			}
		}
	}()
}

// goWork runs fn in an agent-owned goroutine with the caller's request id
// and identity, and recovers a panic into a log line.
func (a *Agent) goWork(ctx context.Context, what, uuid string, fn func(ctx context.Context)) {
	wctx := logging.WithRequestID(a.ctx, logging.RequestID(ctx))
	wctx = withAuthFrom(wctx, ctx)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				a.log.ErrorContext(wctx, "panic in "+what, "instance_id", uuid, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}()
		fn(wctx)
	}()
}

// heartbeat reports the service alive. It waits at most a few report
// intervals, so that one sent to a conductor that died does not hold the
// next; one that finds no conductor listening abandons the agent's calls in
// flight (rpc.Conductor.Abandon), which that conductor will never answer.
func (a *Agent) heartbeat(ctx context.Context) error {
	hctx, cancel := context.WithTimeout(ctx, max(3*a.cfg.Default.ReportInterval, 5*time.Second))
	defer cancel()
	_, err := a.cond.ReportService(hctx, rpc.ServiceReportArgs{Host: a.host, Binary: Binary, Topic: rpc.ComputeTopic, Version: ServiceVersion, Protocol: rpc.Version})
	if bus.IsNoResponders(err) {
		if n := a.cond.Abandon(0); n > 0 {
			a.log.Warn("no conductor listens: abandoned the calls in flight", "calls", n)
		}
	}
	return err
}

// conductorStarted abandons the calls in flight for more than a second
// when a conductor starts: a restarted conductor's predecessor will never
// answer them.
func (a *Agent) conductorStarted(ctx context.Context, raw json.RawMessage) (any, error) {
	if n := a.cond.Abandon(time.Second); n > 0 {
		a.log.WarnContext(ctx, "a conductor started: abandoned the calls in flight to the one before", "calls", n)
	}
	return nil, nil
}

// nodeName is the hypervisor hostname of this host's node.
func (a *Agent) nodeName(res virt.Resources) string {
	if res.HypervisorHostname != "" {
		return res.HypervisorHostname
	}
	return a.host
}

// reportResources is the resource tracker: it reports the node's totals,
// reservations and allocation ratios; usage follows the claims.
func (a *Agent) reportResources(ctx context.Context) error {
	res, err := a.drv.HostResources(ctx)
	if err != nil {
		return err
	}
	caps := a.drv.Capabilities()
	cpu, ram, disk := a.cfg.Ratios()
	n := &objects.ComputeNode{Host: a.host, HypervisorHostname: a.nodeName(res), HypervisorType: caps.HypervisorType,
		HypervisorVersion: caps.HypervisorVersion, HostIP: res.HostIP, VCPUs: res.VCPUs, MemoryMB: res.MemoryMB, LocalGB: res.DiskGB,
		ReservedHostCPUs: a.cfg.Default.ReservedHostCPUs, ReservedHostMemoryMB: a.cfg.Default.ReservedHostMemoryMB,
		ReservedHostDiskGB: (a.cfg.Default.ReservedHostDiskMB + 1023) / 1024, CPUAllocationRatio: cpu, RAMAllocationRatio: ram,
		DiskAllocationRatio: disk, CPUInfo: res.CPUInfo}
	out, err := a.cond.ReportNode(ctx, n)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.node = out
	a.mu.Unlock()
	return nil
}

// handlers are the methods served on compute.<host>.
func (a *Agent) handlers() map[string]bus.Handler {
	return map[string]bus.Handler{
		rpc.BuildAndRun:           async(a, "build", a.build),
		rpc.TerminateInstance:     a.handleTerminate,
		rpc.ExternalEvent:         a.handleExternalEvent,
		rpc.RebootInstance:        async(a, rpc.RebootInstance, a.reboot),
		rpc.StopInstance:          a.simple(rpc.StopInstance),
		rpc.StartInstance:         a.simple(rpc.StartInstance),
		rpc.PauseInstance:         a.simple(rpc.PauseInstance),
		rpc.UnpauseInstance:       a.simple(rpc.UnpauseInstance),
		rpc.SuspendInstance:       a.simple(rpc.SuspendInstance),
		rpc.ResumeInstance:        a.simple(rpc.ResumeInstance),
		rpc.UnrescueInstance:      a.simple(rpc.UnrescueInstance),
		rpc.TriggerCrashDump:      a.simple(rpc.TriggerCrashDump),
		rpc.InjectNetworkInfo:     a.simple(rpc.InjectNetworkInfo),
		rpc.ResetNetwork:          a.simple(rpc.ResetNetwork),
		rpc.RescueInstance:        async(a, rpc.RescueInstance, a.rescue),
		rpc.SnapshotInstance:      async(a, rpc.SnapshotInstance, a.snapshot),
		rpc.RebuildInstance:       async(a, rpc.RebuildInstance, a.rebuild),
		rpc.GetConsoleOutput:      a.handleConsole,
		rpc.GetDiagnostics:        a.handleDiagnostics,
		rpc.SetAdminPassword:      a.handleSetPassword,
		rpc.AttachInterface:       a.handleAttachInterface,
		rpc.DetachInterface:       a.handleDetachInterface,
		rpc.AttachVolume:          a.handleAttachVolume,
		rpc.DetachVolume:          a.handleDetachVolume,
		rpc.SwapVolume:            a.handleSwapVolume,
		rpc.ShelveInstance:        a.simple(rpc.ShelveInstance),
		rpc.ShelveOffload:         a.simple(rpc.ShelveOffload),
		rpc.UnshelveOnHost:        async(a, rpc.UnshelveOnHost, a.unshelve),
		rpc.PrepResize:            async(a, rpc.PrepResize, a.prepResize),
		rpc.ResizeInstance:        async(a, rpc.ResizeInstance, a.resizeInstance),
		rpc.FinishResize:          async(a, rpc.FinishResize, a.finishResize),
		rpc.ConfirmResize:         async(a, rpc.ConfirmResize, a.confirmResize),
		rpc.RevertResize:          async(a, rpc.RevertResize, a.revertResize),
		rpc.FinishRevertResize:    async(a, rpc.FinishRevertResize, a.finishRevert),
		rpc.LiveMigration:         async(a, rpc.LiveMigration, a.liveMigrate),
		rpc.PreLiveMigration:      a.handlePreLiveMigration,
		rpc.PostLiveMigrationDest: a.handlePostLiveMigrationDest,
	}
}

// save is a CAS save through the conductor.
func (a *Agent) save(ctx context.Context, s rpc.Save) (*objects.Instance, error) {
	return a.cond.Save(ctx, s)
}

// ref returns the hypervisor reference of an instance.
func ref(inst *objects.Instance) virt.Ref { return virt.Ref{UUID: inst.UUID, Name: inst.Name()} }

// locks serialises operations on one instance.
type locks struct {
	mu sync.Mutex
	m  map[string]*lockEntry
}

type lockEntry struct {
	mu sync.Mutex
	n  int
}

// lock takes an instance's lock and returns its release.
func (l *locks) lock(uuid string) func() {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*lockEntry{}
	}
	e := l.m[uuid]
	if e == nil {
		e = &lockEntry{}
		l.m[uuid] = e
	}
	e.n++
	l.mu.Unlock()
	e.mu.Lock()
	return l.release(uuid, e)
}

// release returns the function that gives back a held entry's lock.
func (l *locks) release(uuid string, e *lockEntry) func() {
	return func() {
		e.mu.Unlock()
		l.mu.Lock()
		e.n--
		if e.n == 0 {
			delete(l.m, uuid)
		}
		l.mu.Unlock()
	}
}

// busy reports whether an operation holds or waits for an instance's lock.
func (l *locks) busy(uuid string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[uuid] != nil
}

// tryLock takes an instance's lock only when no operation holds or waits
// for it, and returns its release.
func (l *locks) tryLock(uuid string) (func(), bool) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*lockEntry{}
	}
	if l.m[uuid] != nil {
		l.mu.Unlock()
		return nil, false
	}
	// A new entry is free: nobody else can hold its mutex yet.
	e := &lockEntry{n: 1}
	e.mu.Lock()
	l.m[uuid] = e
	l.mu.Unlock()
	return l.release(uuid, e), true
}

// decode reads handler args.
func decode[T any](raw json.RawMessage) (T, error) { return bus.Decode[T](raw) }

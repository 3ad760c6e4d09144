package conductor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/scheduler"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/lease"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
)

// Event names the conductor records.
const (
	EventSchedule = "conductor_schedule_and_build_instances"
	EventMigrate  = "conductor_migrate_server"
	EventLive     = "conductor_live_migrate_instance"
	EventEvacuate = "conductor_rebuild_instance"
	EventUnshelve = "conductor_unshelve_instance"
)

// AckTimeout bounds the wait for an agent to acknowledge work.
const AckTimeout = 15 * time.Second

// Conductor is nova-conductor.
type Conductor struct {
	cfg   conf.Config
	store *store.Store
	bus   *bus.Bus
	log   *slog.Logger
	sched *Scheduler
	sub   *bus.Subscription

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// holder names this conductor as the holder of its periodic jobs' leases.
	holder string
	// sweeper runs sweepStranded until ctx ends.
	sweeper sync.WaitGroup
}

// New returns a conductor. sched, when given, is told when compute nodes
// report, so that its snapshot follows them.
func New(cfg conf.Config, s *store.Store, b *bus.Bus, log *slog.Logger, sched *Scheduler) *Conductor {
	if log == nil {
		log = logging.Discard()
	}
	return &Conductor{cfg: cfg, store: s, bus: b, log: log, sched: sched, holder: lease.Holder()}
}

// Start serves the conductor's methods in the "conductor" queue group.
func (c *Conductor) Start(ctx context.Context) error {
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	h := map[string]bus.Handler{
		rpc.BuildInstances:    c.buildInstances,
		rpc.Reschedule:        c.reschedule,
		rpc.MigrateServer:     c.migrateServer,
		rpc.LiveMigrate:       c.liveMigrate,
		rpc.Evacuate:          c.evacuate,
		rpc.Unshelve:          c.unshelve,
		rpc.InstanceGet:       c.instanceGet,
		rpc.InstanceSave:      c.instanceSave,
		rpc.InstanceRecord:    c.instanceRecord,
		rpc.InstanceDestroyed: c.instanceDestroyed,
		rpc.InstancesOnHost:   c.instancesOnHost,
		rpc.ServiceReport:     c.serviceReport,
		rpc.NodeReport:        c.nodeReport,
		rpc.MigrationGet:      c.migrationGet,
		rpc.MigrationUpdate:   c.migrationUpdate,
		rpc.MigrationsOnHost:  c.migrationsOnHost,
		rpc.FreeAllocations:   c.freeAllocations,
		rpc.MoveAllocations:   c.moveAllocations,
		rpc.BDMsGet:           c.bdmsGet,
		rpc.BDMUpdate:         c.bdmUpdate,
		rpc.QuotaRelease:      c.quotaRelease,
	}
	sub, err := c.bus.Serve(ctx, rpc.ConductorSubject, bus.ServeOptions{Queue: rpc.ConductorQueue, Concurrency: 256}, h)
	if err != nil {
		return err
	}
	c.sub = sub
	// Agents give up their calls to a conductor that died before this one
	// started: it will never answer them (rpc.Conductor.Abandon).
	if err := c.bus.Cast(ctx, rpc.ConductorStartedSubject, rpc.ConductorStarted, rpc.StartedArgs{Holder: c.holder}); err != nil {
		c.log.WarnContext(ctx, "announcing the conductor's start", "err", err)
	}
	c.sweeper.Add(1)
	go func() {
		defer c.sweeper.Done()
		c.sweepStranded(c.ctx)
	}()
	return nil
}

// Stop stops serving, waiting for running handlers.
func (c *Conductor) Stop() {
	if c.sub != nil {
		c.sub.Stop()
	}
	c.wg.Wait()
	if c.cancel != nil {
		c.cancel()
	}
	c.sweeper.Wait()
}

// async runs work the caller need not wait for (a build's scheduling) in a
// goroutine the conductor owns, with the caller's request id and identity.
func (c *Conductor) async(ctx context.Context, fn func(ctx context.Context)) {
	wctx := logging.WithRequestID(c.ctx, logging.RequestID(ctx))
	if a := authn.From(ctx); a != nil {
		wctx = authn.With(wctx, a)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				c.log.ErrorContext(wctx, "panic in conductor work", "panic", fmt.Sprint(p))
			}
		}()
		fn(wctx)
	}()
}

// selectDestinations asks a scheduler worker.
func (c *Conductor) selectDestinations(ctx context.Context, spec scheduler.RequestSpec, n int) ([]scheduler.Selection, error) {
	var res rpc.SelectResult
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := c.bus.Call(cctx, rpc.SchedulerSubject, rpc.SelectDestinations, rpc.SelectRequest{Spec: spec, N: n}, &res); err != nil {
		return nil, err
	}
	if len(res.Selections) != n {
		return nil, fmt.Errorf("scheduler returned %d selections for %d instances", len(res.Selections), n)
	}
	return res.Selections, nil
}

// schedSpec builds the scheduler's request spec for instances that share a
// request (one flavor, one request spec).
func (c *Conductor) schedSpec(ctx context.Context, insts []*objects.Instance, flavor *objects.Flavor) (scheduler.RequestSpec, error) {
	first := insts[0]
	rs := first.RequestSpec
	if rs == nil {
		rs = &objects.RequestSpec{}
	}
	if flavor == nil {
		flavor = &first.Flavor
	}
	spec := scheduler.RequestSpec{
		ProjectID:        first.ProjectID,
		Flavor:           scheduler.Flavor{VCPUs: flavor.VCPUs, MemoryMB: flavor.MemoryMB, RootGB: flavor.RootGB, EphemeralGB: flavor.EphemeralGB, SwapMB: flavor.Swap, ExtraSpecs: flavor.ExtraSpecs},
		ImageProperties:  rs.Image.Properties,
		BootFromVolume:   rs.BootFromVolume,
		AvailabilityZone: rs.AvailabilityZone,
		Hints:            scheduler.Hints{SameHost: rs.SameHost, DifferentHost: rs.DifferentHost},
		NumInstances:     len(insts),
		IgnoreHosts:      rs.IgnoreHosts,
		ForceHosts:       rs.ForceHosts,
		ForceNodes:       rs.ForceNodes,
	}
	for _, i := range insts {
		spec.InstanceIDs = append(spec.InstanceIDs, i.UUID)
	}
	if d := rs.Destination; d != nil {
		spec.RequestedDestination = &scheduler.RequestedDestination{Host: d.Host, Node: d.Node}
	}
	for _, t := range rs.Tried {
		spec.Tried = append(spec.Tried, scheduler.HostNode{Host: t.Host, Node: t.Node})
	}
	if rs.GroupID != "" {
		g, err := c.store.ServerGroup(ctx, rs.GroupID)
		if err != nil {
			return spec, err
		}
		spec.Hints.Group = g.UUID
		spec.Group = &scheduler.ServerGroup{ID: g.UUID, Policy: scheduler.GroupPolicy(g.Policy), Members: g.Members, MaxServerPerHost: g.MaxServerPerHost()}
	}
	return spec, nil
}

// claimFor returns the claim of an instance's flavor on a node.
func claimFor(inst *objects.Instance, flavor *objects.Flavor, consumer, node string) store.Claim {
	bfv := inst.RequestSpec != nil && inst.RequestSpec.BootFromVolume
	return store.Claim{Consumer: consumer, ProjectID: inst.ProjectID, NodeUUID: node, VCPUs: flavor.VCPUs, MemoryMB: flavor.MemoryMB, DiskGB: flavor.DiskGB(bfv)}
}

func (c *Conductor) buildInstances(ctx context.Context, raw json.RawMessage) (any, error) {
	req, err := bus.Decode[rpc.BuildRequest](raw)
	if err != nil {
		return nil, err
	}
	c.async(ctx, func(ctx context.Context) { c.build(ctx, req) })
	return nil, nil
}

// build schedules the instances of a build request.
func (c *Conductor) build(ctx context.Context, req rpc.BuildRequest) {
	var insts []*objects.Instance
	for _, id := range req.InstanceUUIDs {
		inst, err := c.store.Instance(ctx, id, store.GetOptions{})
		if err != nil {
			continue // deleted while waiting: nothing to build
		}
		if err := c.store.Record(ctx, id, []store.EventRef{{RequestID: req.RequestID, Event: EventSchedule}}, nil, nil); err != nil {
			c.log.WarnContext(ctx, "record event", "instance_id", id, "err", err)
		}
		insts = append(insts, inst)
	}
	if len(insts) == 0 {
		return
	}
	c.schedule(ctx, insts, req.RequestID, req.AdminPasswords)
}

// schedule selects, claims and casts builds, failing instances that find no
// host into ERROR with the scheduler's explanation.
func (c *Conductor) schedule(ctx context.Context, insts []*objects.Instance, requestID string, passwords map[string]string) {
	spec, err := c.schedSpec(ctx, insts, nil)
	var sels []scheduler.Selection
	if err == nil {
		sels, err = c.selectDestinations(ctx, spec, len(insts))
	}
	if err != nil {
		for _, inst := range insts {
			c.failBuild(ctx, inst.UUID, requestID, err)
		}
		return
	}
	for i, inst := range insts {
		cands := append([]scheduler.Destination{sels[i].Primary}, sels[i].Alternates...)
		c.claimAndBuild(ctx, inst, cands, requestID, passwords[inst.UUID])
	}
}

// claimAndBuild claims the first candidate that still has room and hands the
// build to its agent; when every candidate is lost to other claims it asks
// the scheduler again, up to max_attempts.
func (c *Conductor) claimAndBuild(ctx context.Context, inst *objects.Instance, cands []scheduler.Destination, requestID, pass string) {
	for attempt := 0; ; attempt++ {
		for i, d := range cands {
			var alts []objects.HostNode
			for _, a := range cands[i+1:] {
				alts = append(alts, objects.HostNode{Host: a.Host, Node: a.Node})
			}
			ok, stop := c.claimOne(ctx, inst, d, alts, requestID, pass)
			if ok || stop {
				return
			}
			rs := inst.RequestSpec
			if rs == nil {
				rs = &objects.RequestSpec{}
				inst.RequestSpec = rs
			}
			rs.Tried = append(rs.Tried, objects.HostNode{Host: d.Host, Node: d.Node})
		}
		if attempt+1 >= c.cfg.Scheduler.MaxAttempts {
			c.failBuild(ctx, inst.UUID, requestID, fault.New(500, "No valid host was found. Every chosen host was claimed by other requests first (%d attempts).", attempt+1))
			return
		}
		spec, err := c.schedSpec(ctx, []*objects.Instance{inst}, nil)
		if err != nil {
			c.failBuild(ctx, inst.UUID, requestID, err)
			return
		}
		sels, err := c.selectDestinations(ctx, spec, 1)
		if err != nil {
			c.failBuild(ctx, inst.UUID, requestID, err)
			return
		}
		cands = append([]scheduler.Destination{sels[0].Primary}, sels[0].Alternates...)
	}
}

// claimOne claims a node for an instance and casts the build. ok says the
// build is on its way; stop says to give up (the instance is gone).
func (c *Conductor) claimOne(ctx context.Context, inst *objects.Instance, d scheduler.Destination, alts []objects.HostNode, requestID, pass string) (ok, stop bool) {
	cl := claimFor(inst, &inst.Flavor, inst.UUID, d.NodeUUID)
	finish := []store.EventRef{{RequestID: requestID, Event: EventSchedule}}
	saved, err := c.store.ClaimInstance(ctx, cl, d.Host, d.Node, store.Expect{VM: []states.VM{states.Building}, Task: []states.Task{states.Scheduling}}, nil, finish)
	switch {
	case errors.Is(err, store.ErrClaimFailed):
		c.log.InfoContext(ctx, "claim lost, trying another host", "instance_id", inst.UUID, "host", d.Host)
		return false, false
	case err != nil:
		if u, isU := store.IsUnexpected(err); isU {
			c.log.InfoContext(ctx, "instance changed while scheduling", "instance_id", inst.UUID, "state", u.Error())
		} else {
			c.log.ErrorContext(ctx, "claim failed", "instance_id", inst.UUID, "err", err)
		}
		return false, true
	}
	c.log.InfoContext(ctx, "instance scheduled", "instance_id", inst.UUID, "host", d.Host, "node", d.Node)
	args := rpc.BuildArgs{InstanceUUID: saved.UUID, Node: d.Node, AdminPass: pass, RequestID: requestID, Alternates: alts}
	actx, cancel := context.WithTimeout(ctx, AckTimeout)
	err = c.bus.Call(actx, rpc.ComputeSubject(d.Host), rpc.BuildAndRun, args, nil)
	cancel()
	if err != nil {
		// The agent did not take the build: give the claim back and treat
		// the host as failed.
		c.log.WarnContext(ctx, "compute agent did not accept the build", "instance_id", inst.UUID, "host", d.Host, "err", err)
		c.rescheduleInstance(ctx, rpc.RescheduleRequest{InstanceUUID: inst.UUID, Failed: objects.HostNode{Host: d.Host, Node: d.Node},
			Reason: err.Error(), AdminPass: pass, RequestID: requestID, Alternates: alts}, true)
		return true, false
	}
	return true, false
}

// failBuild puts an instance in ERROR with a fault.
func (c *Conductor) failBuild(ctx context.Context, uuid, requestID string, cause error) {
	msg := cause.Error()
	code := 500
	var f *fault.Error
	if errors.As(cause, &f) {
		msg = f.Message
		if f.Type == "NoValidHost" {
			code = 500
		}
	}
	vm, none := states.Error, states.NoTask
	_, err := c.store.Save(ctx, store.Save{UUID: uuid,
		Update: store.Update{VMState: &vm, TaskState: &none},
		Expect: store.Expect{VM: []states.VM{states.Building}},
		Finish: []store.EventRef{{RequestID: requestID, Event: EventSchedule, Error: msg}},
		Fault:  &objects.Fault{Code: code, Message: msg}})
	if err != nil {
		c.log.WarnContext(ctx, "could not set instance to ERROR", "instance_id", uuid, "err", err)
		return
	}
	c.log.InfoContext(ctx, "build failed", "instance_id", uuid, "vm_state", "error", "reason", msg)
}

// reschedule takes a build back from an agent whose spawn failed.
func (c *Conductor) reschedule(ctx context.Context, raw json.RawMessage) (any, error) {
	req, err := bus.Decode[rpc.RescheduleRequest](raw)
	if err != nil {
		return nil, err
	}
	c.async(ctx, func(ctx context.Context) { c.rescheduleInstance(ctx, req, false) })
	return nil, nil
}

func (c *Conductor) rescheduleInstance(ctx context.Context, req rpc.RescheduleRequest, fromConductor bool) {
	inst, err := c.store.Instance(ctx, req.InstanceUUID, store.GetOptions{})
	if err != nil {
		return
	}
	// Give back the failed node's claim; forget the host.
	if err := c.store.FreeAllocations(ctx, inst.UUID); err != nil {
		c.log.ErrorContext(ctx, "free allocations", "instance_id", inst.UUID, "err", err)
	}
	rs := inst.RequestSpec
	if rs == nil {
		rs = &objects.RequestSpec{}
	}
	rs.Tried = append(rs.Tried, req.Failed)
	rs.Attempt++
	sched, empty := states.Scheduling, ""
	expectTasks := []states.Task{states.Scheduling, states.Networking, states.BlockDeviceMapping, states.Spawning}
	inst, err = c.store.Save(ctx, store.Save{UUID: inst.UUID,
		Update: store.Update{TaskState: &sched, Host: &empty, Node: &empty, RequestSpec: rs, NetworkInfo: &[]objects.VIF{}},
		Expect: store.Expect{VM: []states.VM{states.Building}, Task: expectTasks},
		Start:  []store.EventRef{{RequestID: req.RequestID, Event: EventSchedule}}})
	if err != nil {
		c.log.InfoContext(ctx, "not rescheduling", "instance_id", req.InstanceUUID, "err", err)
		return
	}
	if rs.Attempt >= c.cfg.Scheduler.MaxAttempts {
		c.failBuild(ctx, inst.UUID, req.RequestID, fault.New(500, "Exceeded maximum number of retries. Exceeded max scheduling attempts %d for instance %s. Last exception: %s",
			c.cfg.Scheduler.MaxAttempts, inst.UUID, req.Reason))
		return
	}
	c.log.InfoContext(ctx, "rescheduling build", "instance_id", inst.UUID, "failed_host", req.Failed.Host, "attempt", rs.Attempt+1, "reason", req.Reason)
	var cands []scheduler.Destination
	if len(req.Alternates) > 0 {
		nodes, err := c.store.Nodes(ctx, "")
		if err == nil {
			for _, a := range req.Alternates {
				for _, n := range nodes {
					if n.Host == a.Host && n.HypervisorHostname == a.Node && !slices.Contains(rs.Tried, a) {
						cands = append(cands, scheduler.Destination{Host: a.Host, Node: a.Node, NodeUUID: n.UUID})
					}
				}
			}
		}
	}
	if len(cands) == 0 {
		spec, err := c.schedSpec(ctx, []*objects.Instance{inst}, nil)
		if err == nil {
			var sels []scheduler.Selection
			sels, err = c.selectDestinations(ctx, spec, 1)
			if err == nil {
				cands = append([]scheduler.Destination{sels[0].Primary}, sels[0].Alternates...)
			}
		}
		if err != nil {
			c.failBuild(ctx, inst.UUID, req.RequestID, fault.New(500, "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance %s. Last exception: %s", inst.UUID, req.Reason))
			return
		}
	}
	c.claimAndBuild(ctx, inst, cands, req.RequestID, req.AdminPass)
}

// The database proxy for agents.

func (c *Conductor) instanceGet(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.GetArgs](raw)
	if err != nil {
		return nil, err
	}
	return c.store.Instance(ctx, a.UUID, store.GetOptions{ReadDeleted: a.ReadDeleted})
}

func (c *Conductor) instanceSave(ctx context.Context, raw json.RawMessage) (any, error) {
	s, err := bus.Decode[rpc.Save](raw)
	if err != nil {
		return nil, err
	}
	inst, err := c.store.Save(ctx, storeSave(s))
	if u, ok := store.IsUnexpected(err); ok {
		f := u.Fault()
		f.Detail = string(u.Found.VM) + "/" + string(u.Found.Task)
		return nil, f
	}
	return inst, err
}

func (c *Conductor) instanceRecord(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.RecordArgs](raw)
	if err != nil {
		return nil, err
	}
	return nil, c.store.Record(ctx, a.UUID, storeEvents(a.Start), storeEvents(a.Finish), a.Fault)
}

func (c *Conductor) instanceDestroyed(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.DestroyedArgs](raw)
	if err != nil {
		return nil, err
	}
	_, err = c.store.DeleteInstance(ctx, a.UUID, storeEvents(a.Finish), a.RequestID)
	if err == nil {
		c.log.InfoContext(ctx, "instance deleted", "instance_id", a.UUID, "vm_state", "deleted")
	}
	return nil, err
}

func (c *Conductor) instancesOnHost(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.HostArgs](raw)
	if err != nil {
		return nil, err
	}
	return c.store.Instances(ctx, store.InstanceFilter{Host: a.Host})
}

func (c *Conductor) serviceReport(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.ServiceReportArgs](raw)
	if err != nil {
		return nil, err
	}
	if err := checkProtocol(a); err != nil {
		return nil, err
	}
	sv, err := c.store.Heartbeat(ctx, a.Host, a.Binary, a.Topic, a.Version, c.cfg.Default.EnableNewServices)
	c.bus.Metrics().Heartbeat(a.Binary, err)
	if err == nil && sv.ReportCount == 1 && c.sched != nil {
		c.sched.Invalidate()
	}
	return sv, err
}

func (c *Conductor) nodeReport(ctx context.Context, raw json.RawMessage) (any, error) {
	n, err := bus.Decode[objects.ComputeNode](raw)
	if err != nil {
		return nil, err
	}
	out, err := c.store.ReportNode(ctx, &n)
	if err == nil && c.sched != nil && out.CreatedAt.Equal(out.UpdatedAt) {
		c.sched.Invalidate()
	}
	return out, err
}

func (c *Conductor) migrationGet(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.GetArgs](raw)
	if err != nil {
		return nil, err
	}
	return c.store.Migration(ctx, a.UUID)
}

func (c *Conductor) migrationUpdate(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.MigrationUpdateArgs](raw)
	if err != nil {
		return nil, err
	}
	return c.store.UpdateMigration(ctx, a.UUID, store.MigrationUpdate(a.Update))
}

func (c *Conductor) migrationsOnHost(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.HostArgs](raw)
	if err != nil {
		return nil, err
	}
	return c.store.Migrations(ctx, store.MigrationFilter{Host: a.Host, InProgress: true})
}

func (c *Conductor) freeAllocations(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.MoveAllocationsArgs](raw)
	if err != nil {
		return nil, err
	}
	if a.Node != "" {
		return nil, c.store.FreeAllocationsOn(ctx, a.From, a.Node)
	}
	return nil, c.store.FreeAllocations(ctx, a.From)
}

func (c *Conductor) moveAllocations(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.MoveAllocationsArgs](raw)
	if err != nil {
		return nil, err
	}
	return nil, c.store.MoveAllocations(ctx, a.From, a.To)
}

func (c *Conductor) bdmUpdate(ctx context.Context, raw json.RawMessage) (any, error) {
	b, err := bus.Decode[objects.BDM](raw)
	if err != nil {
		return nil, err
	}
	if b.UUID == "" {
		return nil, fmt.Errorf("bdm_update: no mapping uuid")
	}
	if b.VolumeID != "" {
		// A build records the volume it made for an image, snapshot or
		// blank mapping.
		if err := c.store.SetBDMVolume(ctx, b.UUID, b.VolumeID); err != nil {
			return nil, err
		}
	}
	if b.AttachmentID != "" && b.VolumeSize != nil {
		// A swap moved the mapping to another volume: its attachment
		// and size are the new volume's.
		if err := c.store.UpdateBDMAttachment(ctx, b.UUID, b.AttachmentID, b.VolumeSize); err != nil {
			return nil, err
		}
	}
	return nil, c.store.UpdateBDMConnection(ctx, b.UUID, b.DeviceName, b.ConnectionInfo)
}

func (c *Conductor) bdmsGet(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.GetArgs](raw)
	if err != nil {
		return nil, err
	}
	m, err := c.store.BDMs(ctx, []string{a.UUID})
	if err != nil {
		return nil, err
	}
	out := m[a.UUID]
	if out == nil {
		out = []objects.BDM{}
	}
	return out, nil
}

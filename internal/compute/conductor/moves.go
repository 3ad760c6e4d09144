package conductor

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/scheduler"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// quotaDelta is the usage difference between two flavors of one instance.
func quotaDelta(from, to *objects.Flavor) map[string]int {
	return map[string]int{"cores": to.VCPUs - from.VCPUs, "ram": to.MemoryMB - from.MemoryMB}
}

// positive keeps the positive amounts.
func positive(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}

// callAgent hands work to an agent and waits for it to be accepted.
func (c *Conductor) callAgent(ctx context.Context, host, method string, args any) error {
	actx, cancel := context.WithTimeout(ctx, AckTimeout)
	defer cancel()
	return c.bus.Call(actx, rpc.ComputeSubject(host), method, args, nil)
}

// claimFirst claims the first candidate node with room for consumer.
func (c *Conductor) claimFirst(ctx context.Context, inst *objects.Instance, flavor *objects.Flavor, cands []scheduler.Destination) (*scheduler.Destination, error) {
	for i := range cands {
		err := c.store.Claim(ctx, claimFor(inst, flavor, inst.UUID, cands[i].NodeUUID))
		if err == nil {
			return &cands[i], nil
		}
		if !errors.Is(err, store.ErrClaimFailed) {
			return nil, err
		}
	}
	return nil, &fault.Error{Status: 400, Type: "NoValidHost", Message: "No valid host was found. The chosen hosts were claimed by other requests first."}
}

// pickDest schedules and claims a destination for a move of inst with flavor.
func (c *Conductor) pickDest(ctx context.Context, inst *objects.Instance, flavor *objects.Flavor, host string, ignore []string) (*scheduler.Destination, error) {
	saved := inst.RequestSpec
	rs := &objects.RequestSpec{}
	if saved != nil {
		*rs = *saved
	}
	rs.Tried, rs.ForceHosts, rs.ForceNodes = nil, nil, nil
	rs.IgnoreHosts = ignore
	rs.Destination = nil
	if host != "" {
		rs.Destination = &objects.HostNode{Host: host}
	}
	inst.RequestSpec = rs
	spec, err := c.schedSpec(ctx, []*objects.Instance{inst}, flavor)
	inst.RequestSpec = saved
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < c.cfg.Scheduler.MaxAttempts; attempt++ {
		sels, err := c.selectDestinations(ctx, spec, 1)
		if err != nil {
			return nil, err
		}
		cands := append([]scheduler.Destination{sels[0].Primary}, sels[0].Alternates...)
		d, err := c.claimFirst(ctx, inst, flavor, cands)
		if err == nil {
			return d, nil
		}
		var f *fault.Error
		if !errors.As(err, &f) || f.Type != "NoValidHost" {
			return nil, err
		}
		for _, x := range cands {
			spec.Tried = append(spec.Tried, scheduler.HostNode{Host: x.Host, Node: x.Node})
		}
	}
	return nil, &fault.Error{Status: 400, Type: "NoValidHost", Message: "No valid host was found."}
}

// failMove puts an instance back out of a move that never left its host.
// The compare-and-swap on task decides who settles the move: when it wins,
// the quota given back (release: a resize's growth) goes in the same
// transaction, and then the claims go back to the source and the migration
// is set to error; when it loses, an agent took the move (or the stranded
// task sweep, a delete, or the API process undid it) and the winner settles
// it, so that nothing is given back twice or under a move that goes on.
func (c *Conductor) failMove(ctx context.Context, inst *objects.Instance, m *objects.Migration, task states.Task, requestID, event string, cause error, release map[string]int) {
	none := states.NoTask
	msg := cause.Error()
	var f *fault.Error
	if errors.As(cause, &f) {
		msg = f.Message
	}
	u := store.Update{TaskState: &none}
	if task == states.ResizePrep {
		u.ClearNewFlavor = true
	}
	if _, err := c.store.Save(ctx, store.Save{UUID: inst.UUID, Update: u, Expect: store.Expect{Task: []states.Task{task}},
		Finish: []store.EventRef{{RequestID: requestID, Event: event, Error: msg}}, Fault: &objects.Fault{Code: 400, Message: msg},
		Release: release}); err != nil {
		c.log.WarnContext(ctx, "move failed after it was taken over; leaving it to its holder", "instance_id", inst.UUID, "event", event, "cause", msg, "err", err)
		return
	}
	if m != nil {
		c.store.FreeAllocations(ctx, inst.UUID)
		c.store.MoveAllocations(ctx, m.UUID, inst.UUID)
		st := "error"
		c.store.UpdateMigration(ctx, m.UUID, store.MigrationUpdate{Status: &st})
	}
	c.log.WarnContext(ctx, "move failed", "instance_id", inst.UUID, "event", event, "err", msg)
}

func (c *Conductor) migrateServer(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := bus.Decode[rpc.ResizeArgs](raw)
	if err != nil {
		return nil, err
	}
	c.async(ctx, func(ctx context.Context) { c.migrate(ctx, args) })
	return nil, nil
}

// migrate schedules a resize or cold migration and hands it to the
// destination's agent (prep_resize → resize_instance → finish_resize).
func (c *Conductor) migrate(ctx context.Context, args rpc.ResizeArgs) {
	inst, err := c.store.Instance(ctx, args.InstanceUUID, store.GetOptions{})
	if err != nil || inst.TaskState != states.ResizePrep {
		return
	}
	defer c.holdTask(ctx, inst.UUID, states.ResizePrep)()
	flavor, typ := args.NewFlavor, objects.MigrationResize
	if flavor == nil {
		flavor, typ = &inst.Flavor, objects.MigrationCold
	}
	// A resize's growth was reserved by the API process; whoever ends the
	// resize_prep task without the resize gives it back.
	var grow map[string]int
	if typ == objects.MigrationResize {
		grow = positive(quotaDelta(&inst.Flavor, flavor))
	}
	m := &objects.Migration{UUID: uuid.NewString(), InstanceUUID: inst.UUID, ProjectID: inst.ProjectID, UserID: inst.UserID,
		SourceCompute: inst.Host, SourceNode: inst.Node, OldFlavorID: inst.Flavor.FlavorID, NewFlavorID: flavor.FlavorID,
		Status: "pre-migrating", MigrationType: typ}
	if err := c.store.CreateMigration(ctx, m); err != nil {
		c.log.ErrorContext(ctx, "create migration", "err", err)
		return
	}
	c.store.Record(ctx, inst.UUID, []store.EventRef{{RequestID: args.RequestID, Event: EventMigrate}}, nil, nil)
	// The source keeps its claim under the migration's id, as Nova does with
	// placement; the instance's id claims the destination.
	if err := c.store.MoveAllocations(ctx, inst.UUID, m.UUID); err != nil {
		c.failMove(ctx, inst, m, states.ResizePrep, args.RequestID, EventMigrate, err, grow)
		return
	}
	var ignore []string
	if !c.cfg.Default.AllowResizeToSameHost {
		ignore = []string{inst.Host}
	}
	d, err := c.pickDest(ctx, inst, flavor, args.DestHost, ignore)
	if err != nil {
		c.failMove(ctx, inst, m, states.ResizePrep, args.RequestID, EventMigrate, err, grow)
		return
	}
	if _, err := c.store.UpdateMigration(ctx, m.UUID, store.MigrationUpdate{DestCompute: &d.Host, DestNode: &d.Node, DestHost: &d.Host}); err != nil {
		c.failMove(ctx, inst, m, states.ResizePrep, args.RequestID, EventMigrate, err, grow)
		return
	}
	if _, err := c.store.Save(ctx, store.Save{UUID: inst.UUID, Update: store.Update{NewFlavor: flavor}, Expect: store.Expect{Task: []states.Task{states.ResizePrep}},
		Finish: []store.EventRef{{RequestID: args.RequestID, Event: EventMigrate}}}); err != nil {
		c.failMove(ctx, inst, m, states.ResizePrep, args.RequestID, EventMigrate, err, grow)
		return
	}
	c.log.InfoContext(ctx, "migration scheduled", "instance_id", inst.UUID, "type", typ, "source", inst.Host, "dest", d.Host)
	pa := rpc.ResizeArgs{InstanceArgs: args.InstanceArgs, MigrationUUID: m.UUID, NewFlavor: flavor, DestHost: d.Host, DestNode: d.Node}
	if err := c.callAgent(ctx, d.Host, rpc.PrepResize, pa); err != nil {
		c.failMove(ctx, inst, m, states.ResizePrep, args.RequestID, EventMigrate, err, grow)
	}
}

func (c *Conductor) liveMigrate(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := bus.Decode[rpc.LiveMigrationArgs](raw)
	if err != nil {
		return nil, err
	}
	c.async(ctx, func(ctx context.Context) { c.live(ctx, args) })
	return nil, nil
}

// live schedules a live migration, prepares the destination and starts it
// on the source.
func (c *Conductor) live(ctx context.Context, args rpc.LiveMigrationArgs) {
	inst, err := c.store.Instance(ctx, args.InstanceUUID, store.GetOptions{})
	if err != nil || inst.TaskState != states.Migrating {
		return
	}
	defer c.holdTask(ctx, inst.UUID, states.Migrating)()
	m := &objects.Migration{UUID: uuid.NewString(), InstanceUUID: inst.UUID, ProjectID: inst.ProjectID, UserID: inst.UserID,
		SourceCompute: inst.Host, SourceNode: inst.Node, OldFlavorID: inst.Flavor.FlavorID, NewFlavorID: inst.Flavor.FlavorID,
		Status: "accepted", MigrationType: objects.MigrationLive}
	if err := c.store.CreateMigration(ctx, m); err != nil {
		c.log.ErrorContext(ctx, "create migration", "err", err)
		return
	}
	c.store.Record(ctx, inst.UUID, []store.EventRef{{RequestID: args.RequestID, Event: EventLive}}, nil, nil)
	if err := c.store.MoveAllocations(ctx, inst.UUID, m.UUID); err != nil {
		c.failMove(ctx, inst, m, states.Migrating, args.RequestID, EventLive, err, nil)
		return
	}
	d, err := c.pickDest(ctx, inst, &inst.Flavor, args.DestHost, []string{inst.Host})
	if err != nil {
		c.failMove(ctx, inst, m, states.Migrating, args.RequestID, EventLive, err, nil)
		return
	}
	preparing := "preparing"
	if _, err := c.store.UpdateMigration(ctx, m.UUID, store.MigrationUpdate{Status: &preparing, DestCompute: &d.Host, DestNode: &d.Node, DestHost: &d.Host}); err != nil {
		c.failMove(ctx, inst, m, states.Migrating, args.RequestID, EventLive, err, nil)
		return
	}
	la := rpc.LiveMigrationArgs{InstanceArgs: args.InstanceArgs, MigrationUUID: m.UUID, DestHost: d.Host, DestNode: d.Node, BlockMigration: args.BlockMigration}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = c.bus.Call(pctx, rpc.ComputeSubject(d.Host), rpc.PreLiveMigration, la, nil)
	cancel()
	if err != nil {
		c.failMove(ctx, inst, m, states.Migrating, args.RequestID, EventLive, err, nil)
		return
	}
	c.store.Record(ctx, inst.UUID, nil, []store.EventRef{{RequestID: args.RequestID, Event: EventLive}}, nil)
	c.log.InfoContext(ctx, "live migration prepared", "instance_id", inst.UUID, "source", inst.Host, "dest", d.Host)
	if err := c.callAgent(ctx, inst.Host, rpc.LiveMigration, la); err != nil {
		c.failMove(ctx, inst, m, states.Migrating, args.RequestID, EventLive, err, nil)
	}
}

func (c *Conductor) evacuate(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := bus.Decode[rpc.RebuildArgs](raw)
	if err != nil {
		return nil, err
	}
	c.async(ctx, func(ctx context.Context) { c.evac(ctx, args) })
	return nil, nil
}

// evac rebuilds an instance of a dead host on another one.
func (c *Conductor) evac(ctx context.Context, args rpc.RebuildArgs) {
	inst, err := c.store.Instance(ctx, args.InstanceUUID, store.GetOptions{})
	if err != nil || inst.TaskState != states.Rebuilding {
		return
	}
	m := &objects.Migration{UUID: uuid.NewString(), InstanceUUID: inst.UUID, ProjectID: inst.ProjectID, UserID: inst.UserID,
		SourceCompute: inst.Host, SourceNode: inst.Node, OldFlavorID: inst.Flavor.FlavorID, NewFlavorID: inst.Flavor.FlavorID,
		Status: "accepted", MigrationType: objects.MigrationEvacuate}
	if err := c.store.CreateMigration(ctx, m); err != nil {
		return
	}
	c.store.Record(ctx, inst.UUID, []store.EventRef{{RequestID: args.RequestID, Event: EventEvacuate}}, nil, nil)
	// The dead host's claim is given up now; its agent removes the guest
	// when it comes back.
	c.store.MoveAllocations(ctx, inst.UUID, m.UUID)
	d, err := c.pickDest(ctx, inst, &inst.Flavor, args.Node, []string{inst.Host})
	if err != nil {
		c.failMove(ctx, inst, m, states.Rebuilding, args.RequestID, EventEvacuate, err, nil)
		return
	}
	c.store.FreeAllocations(ctx, m.UUID)
	st := "pre-migrating"
	c.store.UpdateMigration(ctx, m.UUID, store.MigrationUpdate{Status: &st, DestCompute: &d.Host, DestNode: &d.Node, DestHost: &d.Host})
	c.store.Record(ctx, inst.UUID, nil, []store.EventRef{{RequestID: args.RequestID, Event: EventEvacuate}}, nil)
	ra := args
	ra.Node, ra.MigrationUUID, ra.Recreate = d.Node, m.UUID, true
	if err := c.callAgent(ctx, d.Host, rpc.RebuildInstance, ra); err != nil {
		c.store.FreeAllocations(ctx, inst.UUID)
		st := "error"
		c.store.UpdateMigration(ctx, m.UUID, store.MigrationUpdate{Status: &st})
		vm, none := states.Error, states.NoTask
		c.store.Save(ctx, store.Save{UUID: inst.UUID, Update: store.Update{VMState: &vm, TaskState: &none}, Fault: &objects.Fault{Code: 500, Message: err.Error()}})
	}
}

func (c *Conductor) unshelve(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := bus.Decode[rpc.UnshelveArgs](raw)
	if err != nil {
		return nil, err
	}
	c.async(ctx, func(ctx context.Context) { c.unshelveInstance(ctx, args) })
	return nil, nil
}

// unshelveInstance schedules a shelved-offloaded instance and has the chosen
// host spawn it.
func (c *Conductor) unshelveInstance(ctx context.Context, args rpc.UnshelveArgs) {
	inst, err := c.store.Instance(ctx, args.InstanceUUID, store.GetOptions{})
	if err != nil || inst.TaskState != states.Unshelving {
		return
	}
	c.store.Record(ctx, inst.UUID, []store.EventRef{{RequestID: args.RequestID, Event: EventUnshelve}}, nil, nil)
	fail := func(err error) {
		none := states.NoTask
		msg := err.Error()
		var f *fault.Error
		if errors.As(err, &f) {
			msg = f.Message
		}
		c.store.Save(ctx, store.Save{UUID: inst.UUID, Update: store.Update{TaskState: &none}, Expect: store.Expect{Task: []states.Task{states.Unshelving}},
			Finish: []store.EventRef{{RequestID: args.RequestID, Event: EventUnshelve, Error: msg}}, Fault: &objects.Fault{Code: 500, Message: msg}})
	}
	host := ""
	if rs := inst.RequestSpec; rs != nil && rs.Destination != nil {
		host = rs.Destination.Host
	}
	d, err := c.pickDest(ctx, inst, &inst.Flavor, host, nil)
	if err != nil {
		fail(err)
		return
	}
	_, err = c.store.Save(ctx, store.Save{UUID: inst.UUID, Update: store.Update{Host: &d.Host, Node: &d.Node, LaunchedOn: &d.Host},
		Expect: store.Expect{VM: []states.VM{states.ShelvedOffloaded}, Task: []states.Task{states.Unshelving}},
		Finish: []store.EventRef{{RequestID: args.RequestID, Event: EventUnshelve}}})
	if err != nil {
		c.store.FreeAllocations(ctx, inst.UUID)
		return
	}
	ua := args
	ua.Node = d.Node
	if err := c.callAgent(ctx, d.Host, rpc.UnshelveOnHost, ua); err != nil {
		c.store.FreeAllocations(ctx, inst.UUID)
		empty := ""
		c.store.Save(ctx, store.Save{UUID: inst.UUID, Update: store.Update{Host: &empty, Node: &empty}})
		fail(err)
	}
}

// quotaRelease gives quota back for an agent (a resize confirmed or reverted).
func (c *Conductor) quotaRelease(ctx context.Context, raw json.RawMessage) (any, error) {
	a, err := bus.Decode[rpc.QuotaArgs](raw)
	if err != nil {
		return nil, err
	}
	return nil, c.store.Release(ctx, a.ProjectID, a.UserID, positive(a.Amounts))
}

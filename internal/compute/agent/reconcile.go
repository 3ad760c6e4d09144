package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
)

// reconcile runs when the agent starts (Nova's init_host): every instance
// the database assigns to this host is matched with what the hypervisor
// has. Work a crash interrupted is finished or undone, never left hanging;
// guests of instances deleted or moved elsewhere meanwhile are destroyed.
func (a *Agent) reconcile(ctx context.Context) error {
	insts, err := a.cond.OnHost(ctx, a.host)
	if err != nil {
		return err
	}
	guests, err := a.drv.ListInstances(ctx)
	if err != nil {
		return err
	}
	have := map[string]virt.InstanceInfo{}
	for _, g := range guests {
		have[g.UUID] = g
	}
	mine := map[string]bool{}
	for _, inst := range insts {
		mine[inst.UUID] = true
		a.reconcileOne(ctx, inst, have, "the compute service on "+a.host+" stopped")
	}
	for _, g := range guests {
		if mine[g.UUID] {
			continue
		}
		// Deleted while the agent was down, or evacuated to another host.
		inst, err := a.cond.Get(ctx, g.UUID, true)
		if err == nil && !inst.Deleted && inst.Host == a.host {
			continue
		}
		a.log.InfoContext(ctx, "destroying a guest no instance on this host owns", "instance_id", g.UUID)
		if err := a.drv.Destroy(ctx, virt.Ref{UUID: g.UUID, Name: g.Name}, virt.DestroyOptions{}); err != nil {
			a.log.WarnContext(ctx, "destroy stray guest", "instance_id", g.UUID, "err", err)
		}
	}
	return nil
}

// reconcileOne settles one instance whose operation was interrupted; cause
// says by what, for the faults it records.
func (a *Agent) reconcileOne(ctx context.Context, inst *objects.Instance, have map[string]virt.InstanceInfo, cause string) {
	ctx = logging.WithRequestID(ctx, logging.NewRequestID())
	log := a.log.With("instance_id", inst.UUID)
	info, present := have[inst.UUID]
	power := states.PowerNoState
	if present {
		power = info.Power
	}
	none := states.NoTask
	expect := rpc.Expect{Task: []states.Task{inst.TaskState}, Host: &a.host}
	set := func(u rpc.Update, why string, f *objects.Fault) {
		if _, err := a.save(ctx, rpc.Save{UUID: inst.UUID, Update: u, Expect: expect, Fault: f}); err != nil {
			log.Warn("reconcile failed", "err", err)
			return
		}
		log.Info("reconciled", "was_vm_state", inst.VMState, "was_task_state", inst.TaskState, "action", why)
	}
	switch {
	case inst.TaskState == states.Deleting:
		a.terminate(ctx, rpc.InstanceArgs{InstanceUUID: inst.UUID, RequestID: logging.RequestID(ctx)})
		return
	case inst.VMState == states.Building:
		// A build the agent never finished: Nova puts it in ERROR.
		if present {
			a.destroyGuest(ctx, ref(inst), "reconcileOne")
		}
		a.deallocateNetworks(ctx, inst.UUID, inst.NetworkInfo)
		vm := states.Error
		set(rpc.Update{VMState: &vm, TaskState: &none, PowerState: &power}, "build interrupted: error",
			&objects.Fault{Code: 500, Message: "Instance " + inst.UUID + " was being built when " + cause + ".", Host: a.host})
		return
	case inst.TaskState == states.Rebooting || inst.TaskState == states.RebootPending || inst.TaskState == states.RebootStarted ||
		inst.TaskState == states.RebootingHard || inst.TaskState == states.RebootPendingHard || inst.TaskState == states.RebootStartedHard:
		// Finish the reboot.
		if err := a.ensureRunning(ctx, inst, present); err != nil {
			log.Warn("finishing reboot failed", "err", err)
		}
		vm, p := states.Active, states.PowerRunning
		set(rpc.Update{VMState: &vm, TaskState: &none, PowerState: &p}, "reboot finished", nil)
		return
	case inst.TaskState == states.PoweringOff:
		if present {
			a.note(ctx, "powering off guest", inst.UUID, a.drv.PowerOff(ctx, ref(inst), 0))
		}
		vm, p := states.Stopped, states.PowerShutdown
		set(rpc.Update{VMState: &vm, TaskState: &none, PowerState: &p}, "stop finished", nil)
		return
	case inst.TaskState == states.PoweringOn:
		if err := a.ensureRunning(ctx, inst, present); err != nil {
			vm := states.Stopped
			set(rpc.Update{VMState: &vm, TaskState: &none, PowerState: &power}, "start failed: stopped", nil)
			return
		}
		vm, p := states.Active, states.PowerRunning
		set(rpc.Update{VMState: &vm, TaskState: &none, PowerState: &p}, "start finished", nil)
		return
	case inst.TaskState == states.Rebuilding || inst.TaskState == states.RebuildSpawning || inst.TaskState == states.RebuildBlockDeviceMapping ||
		inst.TaskState == states.Unshelving || inst.TaskState == states.Rescuing && !present:
		vm := states.Error
		set(rpc.Update{VMState: &vm, TaskState: &none, PowerState: &power}, "interrupted: error",
			&objects.Fault{Code: 500, Message: "Instance " + inst.UUID + " was being " + string(inst.TaskState) + " when " + cause + ".", Host: a.host})
		return
	case inst.TaskState == states.ResizeMigrating || inst.TaskState == states.ResizeMigrated || inst.TaskState == states.ResizeFinish:
		a.undoTakenResize(ctx, inst, cause)
		return
	case inst.TaskState != states.NoTask:
		// Pausing, suspending, snapshots, migrations: the vm_state
		// stays, the task is dropped and the power state is what it is.
		set(rpc.Update{TaskState: &none, PowerState: &power}, "task cleared", nil)
		return
	}
	if inst.PowerState != power {
		a.applyPower(ctx, inst, power)
	}
}

// undoTakenResize puts back a resize an agent had taken (the source had
// stopped the guest, or the destination was bringing it up) when its step
// was interrupted: as a failed resize (failResize, a compare-and-swap on the
// task with the growth given back in the same transaction), the claims back
// to the source, the migration error, and the guest running here again
// with the old flavor unless it was stopped. A resize on this very host
// whose new guest was started gets its disks back from the resize backup.
func (a *Agent) undoTakenResize(ctx context.Context, inst *objects.Instance, cause string) {
	args := rpc.ResizeArgs{InstanceArgs: rpc.InstanceArgs{InstanceUUID: inst.UUID, RequestID: logging.RequestID(ctx)}}
	var m *objects.Migration
	if ms, err := a.cond.MigrationsOnHost(ctx, a.host); err == nil {
		for _, x := range ms {
			if x.InstanceUUID == inst.UUID && x.MigrationType != objects.MigrationLive && x.MigrationType != objects.MigrationEvacuate {
				m = x
			}
		}
	} else {
		return // settled on a later pass
	}
	if m != nil {
		args.MigrationUUID = m.UUID
		if inst.TaskState == states.ResizeFinish && m.DestCompute == a.host && m.SourceCompute == a.host {
			if err := a.drv.Destroy(ctx, ref(inst), virt.DestroyOptions{KeepDisks: true}); err != nil && !errors.Is(err, virt.ErrNotFound) {
				a.log.WarnContext(ctx, "undoing a resize: removing the new guest", "instance_id", inst.UUID, "err", err)
				return
			}
			if err := a.restoreDisksForRevert(inst.UUID); err != nil {
				a.log.WarnContext(ctx, "undoing a resize", "instance_id", inst.UUID, "err", err)
			}
		}
	}
	if !a.failResize(ctx, a.newOp(eventName(rpc.ResizeInstance), args.InstanceArgs), inst, args, errors.New("the resize was interrupted: "+cause), inst.TaskState) {
		return
	}
	a.dropResizeBackup(inst.UUID)
	if inst.SystemMetadata["old_vm_state"] == string(states.Stopped) {
		return
	}
	_, err := a.drv.Info(ctx, ref(inst))
	if err := a.ensureRunning(ctx, inst, err == nil); err != nil {
		a.log.WarnContext(ctx, "undoing a resize: restarting the guest", "instance_id", inst.UUID, "err", err)
		return
	}
	p := states.PowerRunning
	a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{PowerState: &p}, Expect: rpc.Expect{Task: []states.Task{states.NoTask}}})
}

// sweepStranded settles the instances of this host whose task no operation
// of this agent holds and that have not changed for [compute]
// stranded_task_timeout: the API process or conductor that set the task
// died before handing it over (or lost the claim's build cast), or this
// agent's last save failed while no conductor was up. They are settled as
// on the agent's restart (reconcileOne): a delete is finished, a build
// goes to ERROR with a fault, a reboot or power change is completed, other
// tasks are cleared; a live migration this host had started gives its
// claims back (undoStrandedLive). A resize or live migration a conductor
// has not handed to an agent yet is the conductor's (its sweep undoes it).
func (a *Agent) sweepStranded(ctx context.Context) error {
	insts, err := a.cond.OnHost(ctx, a.host)
	if err != nil {
		return err
	}
	before := a.now().Add(-a.cfg.Compute.StrandedTaskTimeout)
	for _, inst := range insts {
		if stranded(inst, before) && !a.locks.busy(inst.UUID) {
			a.settleStranded(ctx, inst.UUID, before)
		}
	}
	return nil
}

// stranded reports whether an instance has a task (or a build) unchanged
// since before that this agent settles.
func stranded(inst *objects.Instance, before time.Time) bool {
	if inst.TaskState == states.NoTask && inst.VMState != states.Building {
		return false
	}
	if inst.TaskState == states.ResizePrep {
		return false // a conductor's until an agent takes it
	}
	return !inst.UpdatedAt.After(before)
}

// settleStranded settles one stranded instance under its lock, taken only
// when no operation holds or waits for it.
func (a *Agent) settleStranded(ctx context.Context, uuid string, before time.Time) {
	unlock, ok := a.locks.tryLock(uuid)
	if !ok {
		return
	}
	inst, err := a.cond.Get(ctx, uuid, false)
	if err != nil || inst.Host != a.host || !stranded(inst, before) {
		unlock()
		return
	}
	ctx = logging.WithRequestID(ctx, logging.NewRequestID())
	a.log.WarnContext(ctx, "settling a stranded task", "instance_id", uuid, "vm_state", inst.VMState, "task_state", inst.TaskState, "since", inst.UpdatedAt)
	if inst.TaskState == states.Deleting {
		unlock() // terminate takes the lock itself
		a.terminate(ctx, rpc.InstanceArgs{InstanceUUID: uuid, RequestID: logging.RequestID(ctx)})
		return
	}
	defer unlock()
	have := map[string]virt.InstanceInfo{}
	if info, err := a.drv.Info(ctx, ref(inst)); err == nil {
		have[uuid] = info
	}
	if inst.TaskState == states.Migrating && !a.undoStrandedLive(ctx, inst, have) {
		return
	}
	a.reconcileOne(ctx, inst, have, "no process worked on it for "+a.cfg.Compute.StrandedTaskTimeout.String()+" (an API process or conductor stopped)")
}

// undoStrandedLive gives back the claims of a live migration of inst that
// this agent, its source, had started when its save failed, and marks the
// migration error, as a failed live migration does; the guest still here
// stays here. It reports false when the migration is not the agent's to
// settle: none yet, or one no agent has taken (the conductor's sweep undoes
// those). A guest that is gone (the hypervisor finished the move) keeps the
// claims as they are; its task is cleared all the same.
func (a *Agent) undoStrandedLive(ctx context.Context, inst *objects.Instance, have map[string]virt.InstanceInfo) bool {
	ms, err := a.cond.MigrationsOnHost(ctx, a.host)
	if err != nil {
		return false
	}
	var m *objects.Migration
	for _, x := range ms {
		if x.InstanceUUID != inst.UUID || x.MigrationType != objects.MigrationLive {
			continue
		}
		if x.Status == "accepted" || x.Status == "preparing" {
			return false
		}
		m = x
	}
	if m == nil {
		return false
	}
	if _, present := have[inst.UUID]; present {
		a.note(ctx, "freeing allocations", inst.UUID, a.cond.FreeAllocations(ctx, inst.UUID, ""))
		a.note(ctx, "moving allocations", inst.UUID, a.cond.MoveAllocations(ctx, m.UUID, inst.UUID))
	}
	st := "error"
	a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, m.UUID, rpc.MigrationChange{Status: &st})), "migration_id", m.UUID)
	return true
}

// ensureRunning powers a guest on, re-creating it from the database record
// when the hypervisor lost it (as a hard reboot rebuilds a libvirt domain).
func (a *Agent) ensureRunning(ctx context.Context, inst *objects.Instance, present bool) error {
	if present {
		err := a.drv.PowerOn(ctx, ref(inst))
		if !errors.Is(err, virt.ErrNotFound) {
			return err
		}
	}
	spec, err := a.specFor(ctx, inst, inst.NetworkInfo, "")
	if err != nil {
		return err
	}
	return a.drv.Spawn(ctx, spec)
}

// syncPowerStates compares every instance of the host with the hypervisor
// (Nova's _sync_power_states).
func (a *Agent) syncPowerStates(ctx context.Context) error {
	insts, err := a.cond.OnHost(ctx, a.host)
	if err != nil {
		return err
	}
	for _, inst := range insts {
		if inst.TaskState != states.NoTask {
			continue
		}
		power := states.PowerNoState
		if info, err := a.drv.Info(ctx, ref(inst)); err == nil {
			power = info.Power
		}
		if power != inst.PowerState {
			a.applyPower(ctx, inst, power)
		}
	}
	return nil
}

// syncOne syncs one instance's power state.
func (a *Agent) syncOne(ctx context.Context, uuid string) {
	unlock := a.locks.lock(uuid)
	defer unlock()
	inst, err := a.cond.Get(ctx, uuid, false)
	if err != nil || inst.Host != a.host || inst.TaskState != states.NoTask {
		return
	}
	power := states.PowerNoState
	if info, err := a.drv.Info(ctx, ref(inst)); err == nil {
		power = info.Power
	}
	if power != inst.PowerState {
		a.applyPower(ctx, inst, power)
	}
}

// applyPower records a power state; an active instance whose guest stopped
// on its own is stopped, as Nova calls its stop API then.
func (a *Agent) applyPower(ctx context.Context, inst *objects.Instance, power states.Power) {
	u := rpc.Update{PowerState: &power}
	if inst.VMState == states.Active && (power == states.PowerShutdown || power == states.PowerCrashed || power == states.PowerNoState) {
		vm := states.Stopped
		u.VMState = &vm
	}
	if _, err := a.save(ctx, rpc.Save{UUID: inst.UUID, Update: u, Expect: rpc.Expect{Task: []states.Task{states.NoTask}, VM: []states.VM{inst.VMState}}}); err == nil {
		a.log.InfoContext(ctx, "power state synced", "instance_id", inst.UUID, "power_state", power.String())
	}
}

// driverEvents follows the hypervisor's lifecycle events.
func (a *Agent) driverEvents() {
	ch := a.drv.Events()
	for {
		select {
		case <-a.ctx.Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			ctx := logging.WithRequestID(a.ctx, logging.NewRequestID())
			a.syncOne(ctx, ev.UUID)
		}
	}
}

// removeInstanceDir removes an instance's files.
func (a *Agent) removeInstanceDir(uuid string) { os.RemoveAll(filepath.Join(a.dir, uuid)) }

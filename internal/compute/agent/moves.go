package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// A resize or cold migration walks three agents' steps, as Nova's:
//
//	dest: prep_resize ─▶ source: resize_instance ─▶ dest: finish_resize  (VERIFY_RESIZE)
//	confirm: source: confirm_resize          revert: dest: revert_resize ─▶ source: finish_revert_resize
//
// The source's claim is held under the migration's id until the resize is
// confirmed (freed) or reverted (handed back to the instance).

// callAgent hands work to another host's agent (or this one's).
func (a *Agent) callAgent(ctx context.Context, host, method string, args any) error {
	actx, cancel := context.WithTimeout(ctx, 15e9)
	defer cancel()
	return a.bus.Call(actx, rpc.ComputeSubject(host), method, args, nil)
}

// bindPorts binds an instance's ports to this host and refreshes its VIFs.
func (a *Agent) bindPorts(ctx context.Context, inst *objects.Instance) []objects.VIF {
	sctx := clients.AsService(ctx)
	vifs := append([]objects.VIF{}, inst.NetworkInfo...)
	owner := "compute:" + inst.AvailabilityZone
	for i, v := range vifs {
		if p, err := a.net.BindPort(sctx, v.ID, clients.PortBinding{HostID: a.host, DeviceID: inst.UUID, DeviceOwner: owner}); err == nil {
			a.fillVIF(sctx, &vifs[i], p)
		} else {
			a.log.WarnContext(ctx, "binding port", "instance_id", inst.UUID, "port_id", v.ID, "err", err)
		}
	}
	return vifs
}

// failResize ends a resize that did not finish: the instance stays where it
// was, the destination's claim goes, the source keeps its own, the growth
// the resize reserved goes back. held is the task state the failing step
// holds: the save is a compare-and-swap on it, and only when it wins (the
// quota in the same transaction) are the claims and the migration settled;
// when it loses, the resize moved on (a timed-out call that reached its
// host) or was taken from it (a delete, the stranded task sweep), and the
// winner settles it, so that nothing is given back twice or under a resize
// that goes on.
func (a *Agent) failResize(ctx context.Context, o *op, inst *objects.Instance, args rpc.ResizeArgs, cause error, held states.Task) bool {
	var release map[string]int
	if inst.NewFlavor != nil {
		release = map[string]int{"cores": inst.NewFlavor.VCPUs - inst.Flavor.VCPUs, "ram": inst.NewFlavor.MemoryMB - inst.Flavor.MemoryMB}
	}
	none := states.NoTask
	vm := inst.VMState
	if v := inst.SystemMetadata["old_vm_state"]; v != "" {
		vm = states.VM(v)
	}
	if _, err := o.fail(ctx, "Resize", rpc.Save{Update: rpc.Update{TaskState: &none, VMState: &vm, ClearNewFlavor: true},
		Expect: rpc.Expect{Task: []states.Task{held}}, Release: release}, cause); err != nil {
		a.log.WarnContext(ctx, "resize failed, but its task moved on; leaving it to its holder", "instance_id", inst.UUID, "event", o.event, "cause", cause, "err", err)
		return false
	}
	if args.MigrationUUID != "" {
		a.note(ctx, "freeing allocations", inst.UUID, a.cond.FreeAllocations(ctx, inst.UUID, ""))
		a.note(ctx, "moving allocations", inst.UUID, a.cond.MoveAllocations(ctx, args.MigrationUUID, inst.UUID))
		st := "error"
		a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, args.MigrationUUID, rpc.MigrationChange{Status: &st})), "migration_id", args.MigrationUUID)
	}
	a.log.WarnContext(ctx, "resize failed", "instance_id", inst.UUID, "event", o.event, "err", cause)
	return true
}

// casLost reports whether a save failed because the instance was not in
// the state it expected (another operation won it, or it is gone), as
// opposed to a save that may or may not have been made (no conductor
// answered).
func casLost(err error) bool {
	var f *fault.Error
	return errors.As(err, &f) && (f.Status == 409 || f.Status == 404)
}

// resizeBackup is where a resize on this host keeps the instance's disks
// as they were before it, for a revert (Nova's <instance dir>_resize).
func (a *Agent) resizeBackup(uuid string) string { return filepath.Join(a.dir, uuid+"_resize") }

// keepDisksForRevert copies the stopped instance's disk files (not its
// config drive, which every spawn writes again) into its resize backup.
func (a *Agent) keepDisksForRevert(uuid string) error {
	src, dst := filepath.Join(a.dir, uuid), a.resizeBackup(uuid)
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), "disk") || strings.HasPrefix(e.Name(), "disk.config") || e.Name() == "disk.rescue" {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			os.RemoveAll(dst)
			return err
		}
	}
	return nil
}

// restoreDisksForRevert puts the disks of the resize backup back in the
// instance directory (a revert on this host) and removes the backup. No
// backup (a driver with no disk files) restores nothing.
func (a *Agent) restoreDisksForRevert(uuid string) error {
	src, dst := a.resizeBackup(uuid), filepath.Join(a.dir, uuid)
	ents, err := os.ReadDir(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.Rename(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return fmt.Errorf("restoring %s for the revert: %w", e.Name(), err)
		}
	}
	return os.RemoveAll(src)
}

// dropResizeBackup removes a resize backup (a confirmed resize, a deleted
// instance).
func (a *Agent) dropResizeBackup(uuid string) {
	if err := os.RemoveAll(a.resizeBackup(uuid)); err != nil {
		a.log.Warn("removing a resize backup", "instance_id", uuid, "err", err)
	}
}

// copyFile copies a file under a temporary name and renames it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".part"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// prepResize, on the destination, hands the resize to the source host. It
// takes no instance lock: on a resize to the same host the source step it
// calls takes it.
func (a *Agent) prepResize(ctx context.Context, args rpc.ResizeArgs) {
	o := a.newOp(eventName(rpc.PrepResize), args.InstanceArgs)
	inst, err := a.cond.Get(ctx, args.InstanceUUID, false)
	if err != nil || inst.TaskState != states.ResizePrep {
		return
	}
	o.record(ctx, rpc.RecordArgs{UUID: inst.UUID, Start: []rpc.EventRef{o.startRef()}, Finish: []rpc.EventRef{o.finishRef(nil)}})
	m, err := a.cond.Migration(ctx, args.MigrationUUID)
	if err != nil {
		a.failResize(ctx, o, inst, args, err, states.ResizePrep)
		return
	}
	if err := a.callAgent(ctx, m.SourceCompute, rpc.ResizeInstance, args); err != nil {
		a.failResize(ctx, o, inst, args, fmt.Errorf("source host %s: %w", m.SourceCompute, err), states.ResizePrep)
	}
}

// resizeInstance, on the source, stops the guest and hands it to the
// destination's finishResize.
func (a *Agent) resizeInstance(ctx context.Context, args rpc.ResizeArgs) {
	o, err := a.begin(ctx, eventName(rpc.ResizeInstance), args.InstanceArgs, nil)
	if err != nil {
		return
	}
	defer o.done()
	migrating := states.ResizeMigrating
	inst, err := a.save(ctx, rpc.Save{UUID: o.inst.UUID, Update: rpc.Update{TaskState: &migrating, SysMeta: map[string]string{"old_vm_state": string(o.inst.VMState)}},
		Expect: rpc.Expect{Task: []states.Task{states.ResizePrep}}, Start: []rpc.EventRef{o.startRef()}})
	if err != nil {
		return
	}
	st := "migrating"
	a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, args.MigrationUUID, rpc.MigrationChange{Status: &st})), "migration_id", args.MigrationUUID)
	if err := a.drv.PowerOff(ctx, ref(inst), a.cfg.Compute.ShutdownTimeout); err != nil && !errors.Is(err, virt.ErrNotFound) {
		a.failResize(ctx, o, inst, args, err, states.ResizeMigrating)
		return
	}
	if args.DestHost == a.host {
		// The destination grows these very disks: a revert needs
		// them as they are now.
		if err := a.keepDisksForRevert(inst.UUID); err != nil {
			failed := a.failResize(ctx, o, inst, args, fmt.Errorf("keeping the disks for a revert: %w", err), states.ResizeMigrating)
			if failed && inst.SystemMetadata["old_vm_state"] != string(states.Stopped) {
				if err := a.ensureRunning(ctx, inst, true); err != nil {
					a.log.WarnContext(ctx, "restarting after a failed resize", "instance_id", inst.UUID, "err", err)
				}
			}
			return
		}
	}
	migrated := states.ResizeMigrated
	if _, err := a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{TaskState: &migrated},
		Expect: rpc.Expect{Task: []states.Task{states.ResizeMigrating}}, Finish: []rpc.EventRef{o.finishRef(nil)}}); err != nil {
		return
	}
	st = "post-migrating"
	a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, args.MigrationUUID, rpc.MigrationChange{Status: &st})), "migration_id", args.MigrationUUID)
	if err := a.callAgent(ctx, args.DestHost, rpc.FinishResize, args); err != nil {
		if a.failResize(ctx, o, inst, args, fmt.Errorf("destination host %s: %w", args.DestHost, err), states.ResizeMigrated) &&
			inst.SystemMetadata["old_vm_state"] != string(states.Stopped) {
			// The guest this step stopped runs again where it was.
			if err := a.ensureRunning(ctx, inst, true); err != nil {
				a.log.WarnContext(ctx, "restarting after a failed resize", "instance_id", inst.UUID, "err", err)
			}
		}
	}
}

// finishResize brings the instance up here with its new flavor.
func (a *Agent) finishResize(ctx context.Context, args rpc.ResizeArgs) {
	o := a.lockOp(eventName(rpc.FinishResize), args.InstanceArgs)
	defer o.done()
	finish := states.ResizeFinish
	inst, err := a.save(ctx, rpc.Save{UUID: args.InstanceUUID, Update: rpc.Update{TaskState: &finish},
		Expect: rpc.Expect{Task: []states.Task{states.ResizeMigrated}}, Start: []rpc.EventRef{o.startRef()}})
	if err != nil {
		return
	}
	oldFlavor := inst.Flavor
	newFlavor := inst.Flavor
	if args.NewFlavor != nil {
		newFlavor = *args.NewFlavor
	}
	sameHost := inst.Host == a.host
	vifs := inst.NetworkInfo
	if !sameHost {
		vifs = a.bindPorts(ctx, inst)
	}
	if sameHost {
		// The guest is made again with the new flavor on the same disks
		// (the driver grows the root disk to the new size).
		if err := a.drv.Destroy(ctx, ref(inst), virt.DestroyOptions{KeepDisks: true}); err != nil && !errors.Is(err, virt.ErrNotFound) {
			a.failResize(ctx, o, inst, args, err, states.ResizeFinish)
			return
		}
	}
	inst.Flavor = newFlavor
	spec, err := a.specFor(ctx, inst, vifs, "")
	if err == nil {
		err = a.drv.Spawn(ctx, spec)
	}
	if err != nil {
		inst.Flavor = oldFlavor
		a.failResize(ctx, o, inst, args, err, states.ResizeFinish)
		return
	}
	power := states.PowerRunning
	if inst.SystemMetadata["old_vm_state"] == string(states.Stopped) {
		a.note(ctx, "powering off guest", inst.UUID, a.drv.PowerOff(ctx, ref(inst), 0))
		power = states.PowerShutdown
	}
	vm, none, host, node := states.Resized, states.NoTask, a.host, args.DestNode
	if node == "" {
		node = a.host
	}
	// The migration is finished before the instance shows VERIFY_RESIZE, so
	// that a confirm the client sends at once finds it.
	st := "finished"
	a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, args.MigrationUUID, rpc.MigrationChange{Status: &st})), "migration_id", args.MigrationUUID)
	_, err = a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{VMState: &vm, TaskState: &none, PowerState: &power,
		Flavor: &newFlavor, OldFlavor: &oldFlavor, ClearNewFlavor: true, Host: &host, Node: &node, NetworkInfo: &vifs},
		Expect: rpc.Expect{Task: []states.Task{states.ResizeFinish}}, Finish: []rpc.EventRef{o.finishRef(nil)}})
	if err != nil {
		if !casLost(err) {
			// The save may have been made; the stranded task sweep settles
			// the resize with the guest as it is.
			a.log.WarnContext(ctx, "finishing a resize: the last save failed", "instance_id", inst.UUID, "err", err)
			return
		}
		st = "error"
		a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, args.MigrationUUID, rpc.MigrationChange{Status: &st})), "migration_id", args.MigrationUUID)
		a.destroyGuest(ctx, ref(inst), "finishResize")
		return
	}
	a.log.InfoContext(ctx, "resize finished", "instance_id", inst.UUID, "vm_state", "resized", "flavor", newFlavor.Name)
}

// confirmResize removes the source side of a finished resize.
func (a *Agent) confirmResize(ctx context.Context, args rpc.ResizeArgs) {
	o, err := a.begin(ctx, eventName(rpc.ConfirmResize), args.InstanceArgs, func(i *objects.Instance) bool { return i.VMState == states.Resized })
	if err != nil {
		return
	}
	defer o.done()
	inst := o.inst
	m, err := a.cond.Migration(ctx, args.MigrationUUID)
	if err != nil {
		return
	}
	o.start(ctx)
	if m.SourceCompute != m.DestCompute {
		if err := a.drv.Destroy(ctx, ref(inst), virt.DestroyOptions{}); err != nil && !errors.Is(err, virt.ErrNotFound) {
			a.log.WarnContext(ctx, "destroying the source guest of a confirmed resize", "instance_id", inst.UUID, "err", err)
		}
	} else {
		a.dropResizeBackup(inst.UUID)
	}
	if err := a.cond.FreeAllocations(ctx, m.UUID, ""); err != nil {
		a.log.WarnContext(ctx, "free source claim", "instance_id", inst.UUID, "err", err)
	}
	var release map[string]int
	if inst.OldFlavor != nil {
		release = map[string]int{"cores": inst.OldFlavor.VCPUs - inst.Flavor.VCPUs, "ram": inst.OldFlavor.MemoryMB - inst.Flavor.MemoryMB}
	}
	vm := states.Active
	if inst.SystemMetadata["old_vm_state"] == string(states.Stopped) {
		vm = states.Stopped
	}
	none := states.NoTask
	if _, err := a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{VMState: &vm, TaskState: &none, ClearOldFlavor: true, SysMetaDelete: []string{"old_vm_state"}},
		Expect: rpc.Expect{VM: []states.VM{states.Resized}}, Finish: []rpc.EventRef{o.finishRef(nil)}, Release: release}); err != nil {
		return
	}
	st := "confirmed"
	a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, m.UUID, rpc.MigrationChange{Status: &st})), "migration_id", m.UUID)
	a.log.InfoContext(ctx, "resize confirmed", "instance_id", inst.UUID, "vm_state", vm)
}

// revertResize, on the destination, removes the resized guest and hands the
// instance back to the source's finishRevert, after releasing the lock (on
// a resize to the same host that step takes it).
func (a *Agent) revertResize(ctx context.Context, args rpc.ResizeArgs) {
	o, err := a.begin(ctx, eventName(rpc.RevertResize), args.InstanceArgs, func(i *objects.Instance) bool { return i.TaskState == states.ResizeReverting })
	if err != nil {
		return
	}
	defer o.done()
	inst := o.inst
	m, err := a.cond.Migration(ctx, args.MigrationUUID)
	if err != nil {
		return
	}
	o.record(ctx, rpc.RecordArgs{UUID: inst.UUID, Start: []rpc.EventRef{o.startRef()}, Finish: []rpc.EventRef{o.finishRef(nil)}})
	if m.SourceCompute != m.DestCompute {
		a.destroyGuest(ctx, ref(inst), "handleRevertResize")
	}
	a.note(ctx, "freeing allocations", inst.UUID, a.cond.FreeAllocations(ctx, inst.UUID, ""))
	o.done()
	if err := a.callAgent(ctx, m.SourceCompute, rpc.FinishRevertResize, args); err != nil {
		vm, none := states.Error, states.NoTask
		a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{VMState: &vm, TaskState: &none},
			Fault: &objects.Fault{Code: 500, Message: "Revert of instance " + inst.UUID + " failed: " + err.Error(), Host: a.host}})
	}
}

// finishRevert brings the instance back up here with its old flavor.
func (a *Agent) finishRevert(ctx context.Context, args rpc.ResizeArgs) {
	o, err := a.begin(ctx, eventName(rpc.FinishRevertResize), args.InstanceArgs, func(i *objects.Instance) bool { return i.TaskState == states.ResizeReverting })
	if err != nil {
		return
	}
	defer o.done()
	inst := o.inst
	m, err := a.cond.Migration(ctx, args.MigrationUUID)
	if err != nil {
		return
	}
	o.start(ctx)
	a.note(ctx, "moving allocations", inst.UUID, a.cond.MoveAllocations(ctx, m.UUID, inst.UUID))
	newFlavor := inst.Flavor
	old := inst.Flavor
	if inst.OldFlavor != nil {
		old = *inst.OldFlavor
	}
	vifs := a.bindPorts(ctx, inst)
	inst.Flavor = old
	if m.SourceCompute == m.DestCompute {
		// The resized guest goes; the disks it had before come back.
		err = a.drv.Destroy(ctx, ref(inst), virt.DestroyOptions{KeepDisks: true})
		if err == nil || errors.Is(err, virt.ErrNotFound) {
			err = a.restoreDisksForRevert(inst.UUID)
		}
	}
	if err == nil {
		err = a.drv.PowerOn(ctx, ref(inst))
	}
	if errors.Is(err, virt.ErrNotFound) {
		spec, serr := a.specFor(ctx, inst, vifs, "")
		if serr == nil {
			serr = a.drv.Spawn(ctx, spec)
		}
		err = serr
	}
	vm, power := states.Active, states.PowerRunning
	if inst.SystemMetadata["old_vm_state"] == string(states.Stopped) {
		a.note(ctx, "powering off guest", inst.UUID, a.drv.PowerOff(ctx, ref(inst), 0))
		vm, power = states.Stopped, states.PowerShutdown
	}
	none, host, node := states.NoTask, a.host, m.SourceNode
	f := (*objects.Fault)(nil)
	fin := o.finishRef(err)
	if err != nil {
		vm, power = states.Error, states.PowerNoState
		f = &objects.Fault{Code: 500, Message: "Revert of instance " + inst.UUID + " failed: " + err.Error(), Host: a.host}
	}
	if _, serr := a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{VMState: &vm, TaskState: &none, PowerState: &power, Flavor: &old,
		ClearOldFlavor: true, ClearNewFlavor: true, Host: &host, Node: &node, NetworkInfo: &vifs, SysMetaDelete: []string{"old_vm_state"}},
		Expect: rpc.Expect{Task: []states.Task{states.ResizeReverting}}, Finish: []rpc.EventRef{fin}, Fault: f,
		Release: map[string]int{"cores": newFlavor.VCPUs - old.VCPUs, "ram": newFlavor.MemoryMB - old.MemoryMB}}); serr != nil {
		return
	}
	st := "reverted"
	a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, m.UUID, rpc.MigrationChange{Status: &st})), "migration_id", m.UUID)
	a.log.InfoContext(ctx, "resize reverted", "instance_id", inst.UUID, "vm_state", vm)
}

// Live migration: the conductor claims the destination and calls its
// pre_live_migration; the source moves the guest and has the destination
// take it over (post_live_migration_at_destination).

func (a *Agent) handlePreLiveMigration(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.LiveMigrationArgs](raw)
	if err != nil {
		return nil, err
	}
	inst, err := a.cond.Get(ctx, args.InstanceUUID, false)
	if err != nil {
		return nil, err
	}
	o := a.newOp(eventName(rpc.PreLiveMigration), args.InstanceArgs)
	lm, ok := a.drv.(virt.LiveMigrator)
	if !ok {
		return nil, fault.BadRequest("Live migration is not supported by the %s driver of %s", a.drv.Capabilities().HypervisorType, a.host).WithType("MigrationPreCheckError")
	}
	spec, err := a.specFor(ctx, inst, inst.NetworkInfo, "")
	if err == nil {
		err = lm.PreLiveMigration(ctx, spec)
	}
	o.record(ctx, rpc.RecordArgs{UUID: inst.UUID, Start: []rpc.EventRef{o.startRef()}, Finish: []rpc.EventRef{o.finishRef(err)}})
	return nil, err
}

// liveMigrate moves a running guest to the destination.
func (a *Agent) liveMigrate(ctx context.Context, args rpc.LiveMigrationArgs) {
	o, err := a.begin(ctx, eventName(rpc.LiveMigration), args.InstanceArgs, func(i *objects.Instance) bool {
		return i.TaskState == states.Migrating && i.Host == a.host
	})
	if err != nil {
		return
	}
	defer o.done()
	inst := o.inst
	o.start(ctx)
	fail := func(err error) {
		a.note(ctx, "freeing allocations", inst.UUID, a.cond.FreeAllocations(ctx, inst.UUID, ""))
		a.note(ctx, "moving allocations", inst.UUID, a.cond.MoveAllocations(ctx, args.MigrationUUID, inst.UUID))
		st := "error"
		a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, args.MigrationUUID, rpc.MigrationChange{Status: &st})), "migration_id", args.MigrationUUID)
		none := states.NoTask
		a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{TaskState: &none}, Expect: rpc.Expect{Task: []states.Task{states.Migrating}},
			Finish: []rpc.EventRef{o.finishRef(err)}})
		a.log.WarnContext(ctx, "live migration failed", "instance_id", inst.UUID, "dest", args.DestHost, "err", err)
	}
	st := "running"
	a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, args.MigrationUUID, rpc.MigrationChange{Status: &st})), "migration_id", args.MigrationUUID)
	lm, ok := a.drv.(virt.LiveMigrator)
	if !ok {
		fail(virt.ErrNotSupported)
		return
	}
	if err := lm.LiveMigrate(ctx, ref(inst), args.DestHost); err != nil {
		fail(err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 2*60e9)
	err = a.bus.Call(pctx, rpc.ComputeSubject(args.DestHost), rpc.PostLiveMigrationDest, args, nil)
	cancel()
	if err != nil {
		// The guest left; put it back here rather than lose it.
		if spec, serr := a.specFor(ctx, inst, inst.NetworkInfo, ""); serr == nil {
			lm.PostLiveMigrationAtDestination(ctx, spec)
		}
		fail(err)
		return
	}
	a.note(ctx, "freeing allocations", inst.UUID, a.cond.FreeAllocations(ctx, args.MigrationUUID, ""))
	st = "completed"
	a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, args.MigrationUUID, rpc.MigrationChange{Status: &st})), "migration_id", args.MigrationUUID)
	o.finish(ctx, nil)
	a.removeInstanceDir(inst.UUID)
	a.log.InfoContext(ctx, "live migration completed", "instance_id", inst.UUID, "dest", args.DestHost)
}

func (a *Agent) handlePostLiveMigrationDest(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.LiveMigrationArgs](raw)
	if err != nil {
		return nil, err
	}
	o, err := a.begin(ctx, eventName(rpc.PostLiveMigrationDest), args.InstanceArgs, nil)
	if err != nil {
		return nil, err
	}
	defer o.done()
	inst := o.inst
	vifs := a.bindPorts(ctx, inst)
	spec, err := a.specFor(ctx, inst, vifs, "")
	if err != nil {
		return nil, err
	}
	lm, ok := a.drv.(virt.LiveMigrator)
	if !ok {
		return nil, virt.ErrNotSupported
	}
	if err := lm.PostLiveMigrationAtDestination(ctx, spec); err != nil {
		return nil, err
	}
	none, host, node := states.NoTask, a.host, args.DestNode
	if node == "" {
		node = a.host
	}
	power := states.PowerRunning
	if info, err := a.drv.Info(ctx, ref(inst)); err == nil {
		power = info.Power
	}
	_, err = a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{TaskState: &none, Host: &host, Node: &node, NetworkInfo: &vifs, PowerState: &power},
		Expect: rpc.Expect{Task: []states.Task{states.Migrating}},
		Start:  []rpc.EventRef{o.startRef()}, Finish: []rpc.EventRef{o.finishRef(nil)}})
	return nil, err
}

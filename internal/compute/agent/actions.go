package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// eventName is Nova's event name of a compute method.
func eventName(method string) string { return "compute_" + method }

// simpleAction is a server action the agent completes in one step: the API
// set the task state, the agent acts on the guest, then records the new
// vm_state and power state (or, on failure, drops the task).
type simpleAction struct {
	task states.Task
	run  func(a *Agent, ctx context.Context, inst *objects.Instance) error
	vm   states.VM
	pwr  states.Power
	// keepVM leaves the vm_state as it is.
	keepVM bool
	// errorOnFailure puts the instance in ERROR when the action fails.
	errorOnFailure bool
}

var simpleActions = map[string]simpleAction{
	rpc.StopInstance: {task: states.PoweringOff, vm: states.Stopped, pwr: states.PowerShutdown,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error {
			err := a.drv.PowerOff(ctx, ref(i), a.cfg.Compute.ShutdownTimeout)
			if errors.Is(err, virt.ErrNotFound) {
				return nil
			}
			return err
		}},
	rpc.StartInstance: {task: states.PoweringOn, vm: states.Active, pwr: states.PowerRunning,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error { return a.ensureRunning(ctx, i, true) }},
	rpc.PauseInstance: {task: states.Pausing, vm: states.Paused, pwr: states.PowerPaused,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error {
			p, ok := a.drv.(virt.Pauser)
			if !ok {
				return virt.ErrNotSupported
			}
			return p.Pause(ctx, ref(i))
		}},
	rpc.UnpauseInstance: {task: states.Unpausing, vm: states.Active, pwr: states.PowerRunning,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error {
			p, ok := a.drv.(virt.Pauser)
			if !ok {
				return virt.ErrNotSupported
			}
			return p.Unpause(ctx, ref(i))
		}},
	rpc.SuspendInstance: {task: states.Suspending, vm: states.Suspended, pwr: states.PowerSuspended,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error {
			s, ok := a.drv.(virt.Suspender)
			if !ok {
				return virt.ErrNotSupported
			}
			return s.Suspend(ctx, ref(i))
		}},
	rpc.ResumeInstance: {task: states.Resuming, vm: states.Active, pwr: states.PowerRunning,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error {
			s, ok := a.drv.(virt.Suspender)
			if !ok {
				return virt.ErrNotSupported
			}
			return s.Resume(ctx, ref(i))
		}},
	rpc.UnrescueInstance: {task: states.Unrescuing, vm: states.Active, pwr: states.PowerRunning,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error {
			r, ok := a.drv.(virt.Rescuer)
			if !ok {
				return virt.ErrNotSupported
			}
			return r.Unrescue(ctx, ref(i))
		}},
	rpc.TriggerCrashDump: {task: states.NoTask, keepVM: true, pwr: -1,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error {
			c, ok := a.drv.(virt.CrashDumper)
			if !ok {
				return virt.ErrNotSupported
			}
			return c.TriggerCrashDump(ctx, ref(i))
		}},
	rpc.InjectNetworkInfo: {task: states.NoTask, keepVM: true, pwr: -1,
		run: func(*Agent, context.Context, *objects.Instance) error { return nil }},
	rpc.ResetNetwork: {task: states.NoTask, keepVM: true, pwr: -1,
		run: func(*Agent, context.Context, *objects.Instance) error { return nil }},
	rpc.ShelveOffload: {task: states.ShelvingOffloading, vm: states.ShelvedOffloaded, pwr: states.PowerShutdown,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error { return a.offload(ctx, i) }},
	rpc.ShelveInstance: {task: states.Shelving, vm: states.Shelved, pwr: states.PowerShutdown,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error { return a.shelve(ctx, i) }},
}

// simple returns the handler of a simple action.
func (a *Agent) simple(method string) bus.Handler {
	act := simpleActions[method]
	return async(a, method, func(ctx context.Context, args rpc.InstanceArgs) { a.runSimple(ctx, method, act, args) })
}

func (a *Agent) runSimple(ctx context.Context, method string, act simpleAction, args rpc.InstanceArgs) {
	log := a.log.With("instance_id", args.InstanceUUID, "request_id", args.RequestID, "action", method)
	o, err := a.begin(ctx, eventName(method), args, func(i *objects.Instance) bool { return i.Host == a.host && i.TaskState == act.task })
	if err != nil {
		log.Info("action dropped: the instance moved on", "err", err)
		return
	}
	defer o.done()
	inst := o.inst
	o.start(ctx)
	runErr := act.run(a, ctx, inst)
	if errors.Is(runErr, errOffloaded) {
		o.finish(ctx, nil)
		log.Info("action done", "vm_state", states.ShelvedOffloaded)
		return
	}
	none := states.NoTask
	u := rpc.Update{TaskState: &none}
	var f *objects.Fault
	finish := o.finishRef(runErr)
	if runErr != nil {
		if errors.Is(runErr, virt.ErrNotSupported) {
			finish.Error = "NotImplementedError: " + method + " is not supported by the " + a.drv.Capabilities().HypervisorType + " driver"
		}
		if act.errorOnFailure {
			vm := states.Error
			u.VMState = &vm
			f = &objects.Fault{Code: 500, Message: finish.Error, Host: a.host}
		}
		if info, err := a.drv.Info(ctx, ref(inst)); err == nil {
			u.PowerState = &info.Power
		}
	} else {
		if !act.keepVM {
			vm := act.vm
			u.VMState = &vm
		}
		if act.pwr >= 0 {
			p := act.pwr
			u.PowerState = &p
		}
	}
	if act.task == states.NoTask {
		u.TaskState = nil
	}
	_, err = a.save(ctx, rpc.Save{UUID: inst.UUID, Update: u, Expect: rpc.Expect{Task: []states.Task{act.task}}, Finish: []rpc.EventRef{finish}, Fault: f})
	if err != nil {
		log.Info("action result not recorded", "err", err)
		return
	}
	if runErr != nil {
		log.Warn("action failed", "err", runErr)
		return
	}
	log.Info("action done", "vm_state", act.vm, "power_state", act.pwr.String())
}

func (a *Agent) reboot(ctx context.Context, args rpc.RebootArgs) {
	task := states.Rebooting
	if args.Hard {
		task = states.RebootingHard
	}
	act := simpleAction{task: task, vm: states.Active, pwr: states.PowerRunning, errorOnFailure: true,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error {
			err := a.drv.Reboot(ctx, ref(i), args.Hard)
			if errors.Is(err, virt.ErrNotFound) || err != nil && args.Hard {
				return a.ensureRunning(ctx, i, false)
			}
			return err
		}}
	a.runSimple(ctx, rpc.RebootInstance, act, args.InstanceArgs)
}

func (a *Agent) rescue(ctx context.Context, args rpc.RescueArgs) {
	act := simpleAction{task: states.Rescuing, vm: states.Rescued, pwr: states.PowerRunning,
		run: func(a *Agent, ctx context.Context, i *objects.Instance) error {
			r, ok := a.drv.(virt.Rescuer)
			if !ok {
				return virt.ErrNotSupported
			}
			spec, err := a.specFor(ctx, i, i.NetworkInfo, args.AdminPass)
			if err != nil {
				return err
			}
			if args.ImageRef != "" && args.ImageRef != i.ImageRef {
				if err := a.rescueImage(ctx, spec, args.ImageRef); err != nil {
					return err
				}
			}
			spec.Rescue = true
			return r.Rescue(ctx, spec)
		}}
	a.runSimple(ctx, rpc.RescueInstance, act, args.InstanceArgs)
}

// rescueImage makes a rescue spec boot another image: its data, and the
// kernel, ramdisk and command line it names (the instance's kernel and
// ramdisk when it names none), as Nova's libvirt driver reads the rescue
// image's properties.
func (a *Agent) rescueImage(ctx context.Context, spec *virt.Spec, id string) error {
	img, err := a.cache.get(ctx, id)
	if err != nil {
		return err
	}
	meta, err := a.images.Get(clients.AsService(ctx), id)
	if err != nil {
		return fmt.Errorf("rescue image %s: %w", id, err)
	}
	spec.Image = *img
	spec.ImageProperties = meta.Properties
	for _, k := range []struct {
		prop string
		dst  *string
	}{{"kernel_id", &spec.Kernel}, {"ramdisk_id", &spec.Ramdisk}} {
		if kid := meta.Properties[k.prop]; kid != "" {
			kimg, err := a.cache.get(ctx, kid)
			if err != nil {
				return fmt.Errorf("fetch image %s (%s of rescue image %s): %w", kid, k.prop, id, err)
			}
			*k.dst = kimg.Path
		}
	}
	return nil
}

// shelve snapshots the instance into the image the API created, stops it,
// and offloads it at once when shelved_offload_time is 0.
func (a *Agent) shelve(ctx context.Context, inst *objects.Instance) error {
	imageID := inst.SystemMetadata["shelved_image_id"]
	if imageID != "" {
		if err := a.upload(ctx, inst, imageID); err != nil {
			return err
		}
	}
	if err := a.drv.PowerOff(ctx, ref(inst), a.cfg.Compute.ShutdownTimeout); err != nil && !errors.Is(err, virt.ErrNotFound) {
		return err
	}
	if a.cfg.Default.ShelvedOffloadTime == 0 {
		return a.offload(ctx, inst)
	}
	return nil
}

// offload removes a shelved instance from the host: the guest goes, the
// ports are unbound, the claim is freed; the instance keeps its record.
func (a *Agent) offload(ctx context.Context, inst *objects.Instance) error {
	if err := a.drv.Destroy(ctx, ref(inst), virt.DestroyOptions{}); err != nil && !errors.Is(err, virt.ErrNotFound) {
		return err
	}
	a.disconnectVolumes(ctx, inst)
	sctx := clients.AsService(ctx)
	for _, v := range inst.NetworkInfo {
		a.note(ctx, "rebinding port", inst.UUID, errOf(a.net.BindPort(sctx, v.ID, clients.PortBinding{HostID: "", DeviceID: inst.UUID, DeviceOwner: "compute:" + inst.AvailabilityZone})), "port_id", v.ID)
	}
	a.removeInstanceDir(inst.UUID)
	if err := a.cond.FreeAllocations(ctx, inst.UUID, ""); err != nil {
		return err
	}
	empty := ""
	vm, none, p := states.ShelvedOffloaded, states.NoTask, states.PowerShutdown
	_, err := a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{VMState: &vm, TaskState: &none, PowerState: &p, Host: &empty, Node: &empty},
		Expect: rpc.Expect{Task: []states.Task{states.Shelving, states.ShelvingOffloading}}})
	if err != nil {
		return err
	}
	return errOffloaded
}

// errOffloaded tells runSimple the action already recorded its result.
var errOffloaded = errors.New("offloaded")

// upload snapshots an instance's root disk into a Glance image.
func (a *Agent) upload(ctx context.Context, inst *objects.Instance, imageID string) error {
	s, ok := a.drv.(virt.Snapshotter)
	if !ok {
		return virt.ErrNotSupported
	}
	data, format, err := s.Snapshot(ctx, ref(inst))
	if err != nil {
		return err
	}
	defer data.Close()
	sctx := clients.AsService(ctx)
	if format != "" {
		f := format
		a.note(ctx, "updating image", inst.UUID, errOf(a.images.Update(sctx, imageID, map[string]*string{"disk_format": &f})), "image_id", imageID)
	}
	return a.images.Upload(sctx, imageID, data, -1)
}

func (a *Agent) snapshot(ctx context.Context, args rpc.SnapshotArgs) {
	ev, expect, uploading := eventName(rpc.SnapshotInstance), states.ImageSnapshotPending, states.ImageSnapshot
	if args.Backup {
		ev, expect, uploading = "compute_backup_instance", states.ImageBackup, states.ImageUploading
	}
	o := a.lockOp(ev, args.InstanceArgs)
	defer o.done()
	log := a.log.With("instance_id", args.InstanceUUID, "request_id", args.RequestID, "image_id", args.ImageID)
	inst, err := a.save(ctx, rpc.Save{UUID: args.InstanceUUID, Update: rpc.Update{TaskState: &uploading},
		Expect: rpc.Expect{Task: []states.Task{expect}}, Start: []rpc.EventRef{o.startRef()}})
	if err != nil {
		log.Info("snapshot dropped", "err", err)
		a.note(ctx, "deleting image", args.InstanceUUID, a.images.Delete(clients.AsService(ctx), args.ImageID), "image_id", args.ImageID)
		return
	}
	upErr := a.upload(ctx, inst, args.ImageID)
	if upErr != nil {
		a.note(ctx, "deleting image", inst.UUID, a.images.Delete(clients.AsService(ctx), args.ImageID), "image_id", args.ImageID)
	} else if args.Backup && args.Rotation >= 0 {
		a.rotateBackups(ctx, inst, args)
	}
	none := states.NoTask
	a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{TaskState: &none}, Expect: rpc.Expect{Task: []states.Task{uploading}}, Finish: []rpc.EventRef{o.finishRef(upErr)}})
	if upErr != nil {
		log.Warn("snapshot failed", "err", upErr)
		return
	}
	log.Info("snapshot uploaded")
}

// rotateBackups deletes the oldest backups of a type beyond the rotation.
func (a *Agent) rotateBackups(ctx context.Context, inst *objects.Instance, args rpc.SnapshotArgs) {
	sctx := clients.AsService(ctx)
	all, err := a.images.List(sctx, clients.ImageFilter{})
	if err != nil {
		return
	}
	var mine []*objects.ImageMeta
	for _, im := range all {
		if im.Properties["instance_uuid"] == inst.UUID && im.Properties["image_type"] == "backup" && im.Properties["backup_type"] == args.BackupType {
			mine = append(mine, im)
		}
	}
	// Newest first.
	for i := 0; i < len(mine); i++ {
		for j := i + 1; j < len(mine); j++ {
			if mine[j].CreatedAt.After(mine[i].CreatedAt) {
				mine[i], mine[j] = mine[j], mine[i]
			}
		}
	}
	for i := args.Rotation; i < len(mine); i++ {
		a.note(ctx, "deleting image", inst.UUID, a.images.Delete(sctx, mine[i].ID), "image_id", mine[i].ID)
	}
}

// rebuild re-creates an instance's guest from a (new) image; with Recreate it
// is an evacuation onto this host.
func (a *Agent) rebuild(ctx context.Context, args rpc.RebuildArgs) {
	log := a.log.With("instance_id", args.InstanceUUID, "request_id", args.RequestID)
	o, err := a.begin(ctx, eventName(rpc.RebuildInstance), args.InstanceArgs, func(i *objects.Instance) bool { return i.TaskState == states.Rebuilding })
	if err != nil {
		log.Info("rebuild dropped", "err", err)
		return
	}
	defer o.done()
	inst := o.inst
	wasStopped := inst.VMState == states.Stopped
	o.start(ctx)
	fail := func(err error) {
		vm, none := states.Error, states.NoTask
		o.fail(ctx, "Rebuild", rpc.Save{Update: rpc.Update{VMState: &vm, TaskState: &none}}, err)
		log.Warn("rebuild failed", "vm_state", "error", "err", err)
	}
	vifs := inst.NetworkInfo
	if args.Recreate {
		// Evacuation: this host takes the instance and its ports.
		node := args.Node
		if node == "" {
			node = a.host
		}
		sctx := clients.AsService(ctx)
		owner := "compute:" + inst.AvailabilityZone
		for i, v := range vifs {
			if p, err := a.net.BindPort(sctx, v.ID, clients.PortBinding{HostID: a.host, DeviceID: inst.UUID, DeviceOwner: owner}); err == nil {
				a.fillVIF(sctx, &vifs[i], p)
			}
		}
		host := a.host
		if inst, err = a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{Host: &host, Node: &node, LaunchedOn: &host, NetworkInfo: &vifs},
			Expect: rpc.Expect{Task: []states.Task{states.Rebuilding}}}); err != nil {
			log.Info("evacuation dropped", "err", err)
			return
		}
	} else if err := a.drv.Destroy(ctx, ref(inst), virt.DestroyOptions{}); err != nil && !errors.Is(err, virt.ErrNotFound) {
		fail(err)
		return
	}
	bdm := states.RebuildBlockDeviceMapping
	if inst, err = a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{TaskState: &bdm}, Expect: rpc.Expect{Task: []states.Task{states.Rebuilding}}}); err != nil {
		return
	}
	inst.ImageRef = args.ImageRef
	spec, err := a.specFor(ctx, inst, vifs, args.AdminPass)
	if err != nil {
		fail(err)
		return
	}
	sp := states.RebuildSpawning
	if inst, err = a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{TaskState: &sp}, Expect: rpc.Expect{Task: []states.Task{states.RebuildBlockDeviceMapping}}}); err != nil {
		return
	}
	if err := a.drv.Spawn(ctx, spec); err != nil {
		fail(err)
		return
	}
	vm, none, p, now := states.Active, states.NoTask, states.PowerRunning, a.now().UTC()
	if wasStopped && !args.Recreate || args.TargetState == "stopped" {
		a.note(ctx, "powering off guest", inst.UUID, a.drv.PowerOff(ctx, ref(inst), 0))
		vm, p = states.Stopped, states.PowerShutdown
	}
	if _, err := a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{VMState: &vm, TaskState: &none, PowerState: &p, LaunchedAt: &now},
		Expect: rpc.Expect{Task: []states.Task{states.RebuildSpawning}}, Finish: []rpc.EventRef{o.finishRef(nil)}}); err != nil {
		a.destroyGuest(ctx, ref(inst), "rebuild")
		return
	}
	if args.MigrationUUID != "" {
		done := "done"
		a.note(ctx, "updating migration", inst.UUID, errOf(a.cond.UpdateMigration(ctx, args.MigrationUUID, rpc.MigrationChange{Status: &done})), "migration_id", args.MigrationUUID)
	}
	log.Info("instance rebuilt", "vm_state", vm, "evacuated", args.Recreate)
}

func (a *Agent) handleConsole(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.ConsoleArgs](raw)
	if err != nil {
		return nil, err
	}
	inst, err := a.cond.Get(ctx, args.InstanceUUID, false)
	if err != nil {
		return nil, err
	}
	out, err := a.drv.ConsoleLog(ctx, ref(inst))
	if errors.Is(err, virt.ErrNotFound) {
		return nil, fault.Conflict("Instance %s is not ready", inst.UUID).WithType("InstanceNotReady")
	}
	if err != nil {
		return nil, fault.NotImplemented("Unable to get console log: %v", err)
	}
	s := strings.ToValidUTF8(string(out), "\uFFFD")
	if args.Length >= 0 {
		// Nova's _tail_log: the last N pieces between newlines.
		lines := strings.Split(s, "\n")
		if len(lines) > args.Length {
			lines = lines[len(lines)-args.Length:]
		}
		s = strings.Join(lines, "\n")
	}
	// Control characters other than tab and newline are removed, as Nova's
	// API does.
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' {
			return -1
		}
		return r
	}, s)
	return map[string]string{"output": s}, nil
}

func (a *Agent) handleDiagnostics(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.InstanceArgs](raw)
	if err != nil {
		return nil, err
	}
	inst, err := a.cond.Get(ctx, args.InstanceUUID, false)
	if err != nil {
		return nil, err
	}
	d, ok := a.drv.(virt.Diagnostician)
	if !ok {
		return nil, fault.NotImplemented("Unable to get diagnostics, functionality not implemented")
	}
	di, err := d.Diagnostics(ctx, ref(inst))
	if err != nil {
		return nil, fault.Conflict("Instance %s is not ready: %v", inst.UUID, err).WithType("InstanceNotReady")
	}
	up := di.Uptime
	mem, used := di.MemoryMB, di.MemoryMB
	if di.MemoryUsedMB > 0 {
		used = di.MemoryUsedMB
	}
	out := rpc.Diagnostics{State: di.State, Driver: di.Driver, Uptime: &up, NumCPUs: di.NumCPUs, NumNICs: di.NumNICs, NumDisks: di.NumDisks,
		ConfigDrive: di.ConfigDrive, MemoryDetails: map[string]*int{"maximum": &mem, "used": &used},
		CPUDetails: []map[string]any{}, NICDetails: []map[string]any{}, DiskDetails: []map[string]any{}}
	if di.Hypervisor != "" {
		h, hos := di.Hypervisor, "linux"
		out.Hypervisor, out.HypervisorOS = &h, &hos
	}
	// Counters the driver measured, else zeros for what the guest has.
	for i := 0; i < di.NumCPUs; i++ {
		t := int64(0)
		if i < len(di.CPUs) {
			t = di.CPUs[i].Time
		}
		out.CPUDetails = append(out.CPUDetails, map[string]any{"id": i, "time": t, "utilisation": nil})
	}
	nics := di.NICs
	if nics == nil {
		for _, mac := range di.NICMACs {
			nics = append(nics, virt.NICStat{MAC: mac})
		}
	}
	for _, n := range nics {
		out.NICDetails = append(out.NICDetails, map[string]any{"mac_address": n.MAC, "rx_octets": n.RxOctets, "rx_errors": n.RxErrors, "rx_drop": n.RxDrop,
			"rx_packets": n.RxPackets, "rx_rate": nil, "tx_octets": n.TxOctets, "tx_errors": n.TxErrors, "tx_drop": n.TxDrop, "tx_packets": n.TxPackets, "tx_rate": nil})
	}
	disks := di.Disks
	if disks == nil {
		disks = make([]virt.DiskStat, di.NumDisks)
	}
	for _, d := range disks {
		out.DiskDetails = append(out.DiskDetails, map[string]any{"read_bytes": d.ReadBytes, "read_requests": d.ReadRequests, "write_bytes": d.WriteBytes,
			"write_requests": d.WriteRequests, "errors_count": d.Errors})
	}
	return out, nil
}

func (a *Agent) handleSetPassword(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.PasswordArgs](raw)
	if err != nil {
		return nil, err
	}
	o, err := a.begin(ctx, eventName(rpc.SetAdminPassword), args.InstanceArgs, nil)
	if err != nil {
		return nil, err
	}
	defer o.done()
	inst := o.inst
	none := states.NoTask
	ps, ok := a.drv.(virt.PasswordSetter)
	var runErr error
	if !ok {
		runErr = fault.NotImplemented("Unable to set password on instance").WithType("SetAdminPasswdNotSupported")
	} else if err := ps.SetAdminPassword(ctx, ref(inst), args.Password); err != nil {
		runErr = fault.Conflict("Failed to set admin password on %s because %v", inst.UUID, err).WithType("InstancePasswordSetFailed")
	}
	a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{TaskState: &none}, Expect: rpc.Expect{Task: []states.Task{states.UpdatingPassword}}, Finish: []rpc.EventRef{o.finishRef(runErr)}})
	return nil, runErr
}

func (a *Agent) handleAttachInterface(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.InterfaceArgs](raw)
	if err != nil {
		return nil, err
	}
	o, err := a.begin(ctx, eventName(rpc.AttachInterface), args.InstanceArgs, nil)
	if err != nil {
		return nil, err
	}
	defer o.done()
	inst := o.inst
	o.start(ctx)
	vif, err := a.attachInterface(ctx, inst, args)
	if err != nil {
		o.finish(ctx, err)
		return nil, err
	}
	vifs := append(append([]objects.VIF{}, inst.NetworkInfo...), *vif)
	if _, err := a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{NetworkInfo: &vifs}, Finish: []rpc.EventRef{o.finishRef(nil)}}); err != nil {
		return nil, err
	}
	return vif, nil
}

func (a *Agent) attachInterface(ctx context.Context, inst *objects.Instance, args rpc.InterfaceArgs) (*objects.VIF, error) {
	sctx := clients.AsService(ctx)
	owner := "compute:" + inst.AvailabilityZone
	var port *clients.Port
	var err error
	preserve := args.PortID != ""
	if preserve {
		if port, err = a.net.Port(sctx, args.PortID); err != nil {
			return nil, err
		}
	} else {
		pc := clients.PortCreate{NetworkID: args.NetworkID, ProjectID: inst.ProjectID, DeviceID: inst.UUID, DeviceOwner: owner}
		if args.FixedIP != "" {
			pc.FixedIPs = []clients.FixedIP{{IPAddress: args.FixedIP}}
		}
		if port, err = a.net.CreatePort(sctx, pc); err != nil {
			return nil, err
		}
	}
	bound, err := a.net.BindPort(sctx, port.ID, clients.PortBinding{HostID: a.host, DeviceID: inst.UUID, DeviceOwner: owner})
	if err != nil {
		if !preserve {
			a.note(ctx, "deleting port", inst.UUID, a.net.DeletePort(sctx, port.ID), "port_id", port.ID)
		}
		return nil, err
	}
	vif := &objects.VIF{ID: port.ID, NetworkID: port.NetworkID, Devname: tapName(port.ID), Tag: args.Tag, Preserve: preserve}
	if err := a.fillVIF(sctx, vif, bound); err != nil {
		return nil, err
	}
	if ia, ok := a.drv.(virt.InterfaceAttacher); ok {
		n := virt.NIC{PortID: vif.ID, NetworkID: vif.NetworkID, MAC: vif.Address, Tap: vif.Devname, Bridge: vif.Bridge, MTU: vif.MTU, VIFType: vif.Type}
		if err := ia.AttachInterface(ctx, ref(inst), n); err != nil && !errors.Is(err, virt.ErrNotFound) {
			if preserve {
				a.note(ctx, "unbinding port", inst.UUID, a.net.UnbindPort(sctx, port.ID), "port_id", port.ID)
			} else {
				a.note(ctx, "deleting port", inst.UUID, a.net.DeletePort(sctx, port.ID), "port_id", port.ID)
			}
			return nil, fault.Conflict("Failed to attach network adapter device to %s: %v", inst.UUID, err).WithType("InterfaceAttachFailed")
		}
	} else {
		return nil, fault.NotImplemented("Interface attach is not supported by this hypervisor")
	}
	return vif, nil
}

func (a *Agent) handleDetachInterface(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.InterfaceArgs](raw)
	if err != nil {
		return nil, err
	}
	o, err := a.begin(ctx, eventName(rpc.DetachInterface), args.InstanceArgs, nil)
	if err != nil {
		return nil, err
	}
	defer o.done()
	inst := o.inst
	var vif *objects.VIF
	var rest []objects.VIF
	for i := range inst.NetworkInfo {
		if inst.NetworkInfo[i].ID == args.PortID {
			vif = &inst.NetworkInfo[i]
		} else {
			rest = append(rest, inst.NetworkInfo[i])
		}
	}
	if vif == nil {
		return nil, fault.NotFound("Port %s is not attached", args.PortID).WithType("PortNotFound")
	}
	if ia, ok := a.drv.(virt.InterfaceAttacher); ok {
		ia.DetachInterface(ctx, ref(inst), virt.NIC{PortID: vif.ID, MAC: vif.Address, Tap: vif.Devname})
	}
	sctx := clients.AsService(ctx)
	if vif.Preserve {
		a.note(ctx, "unbinding port", inst.UUID, a.net.UnbindPort(sctx, vif.ID), "port_id", vif.ID)
	} else {
		a.note(ctx, "deleting port", inst.UUID, a.net.DeletePort(sctx, vif.ID), "port_id", vif.ID)
	}
	if rest == nil {
		rest = []objects.VIF{}
	}
	_, err = a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{NetworkInfo: &rest},
		Start: []rpc.EventRef{o.startRef()}, Finish: []rpc.EventRef{o.finishRef(nil)}})
	return nil, err
}

// unshelve spawns a shelved-offloaded instance here from its shelve image.
func (a *Agent) unshelve(ctx context.Context, args rpc.UnshelveArgs) {
	log := a.log.With("instance_id", args.InstanceUUID, "request_id", args.RequestID)
	o, err := a.begin(ctx, eventName(rpc.UnshelveOnHost), args.InstanceArgs, func(i *objects.Instance) bool {
		return i.TaskState == states.Unshelving && i.Host == a.host
	})
	if err != nil {
		log.Info("unshelve dropped", "err", err)
		return
	}
	defer o.done()
	inst := o.inst
	o.start(ctx)
	fail := func(err error) {
		a.note(ctx, "freeing allocations", inst.UUID, a.cond.FreeAllocations(ctx, inst.UUID, ""))
		vm, none, empty := states.ShelvedOffloaded, states.NoTask, ""
		o.fail(ctx, "Unshelve", rpc.Save{Update: rpc.Update{VMState: &vm, TaskState: &none, Host: &empty, Node: &empty}}, err)
		log.Warn("unshelve failed", "err", err)
	}
	sctx := clients.AsService(ctx)
	if inst.VMState == states.Shelved {
		// Never offloaded: the guest is still here, powered off.
		if err := a.ensureRunning(ctx, inst, true); err != nil {
			none := states.NoTask
			a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{TaskState: &none}, Finish: []rpc.EventRef{o.finishRef(err)}})
			return
		}
		if img := inst.SystemMetadata["shelved_image_id"]; img != "" {
			a.note(ctx, "deleting image", inst.UUID, a.images.Delete(sctx, img), "image_id", img)
		}
		vm, none, p := states.Active, states.NoTask, states.PowerRunning
		a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{VMState: &vm, TaskState: &none, PowerState: &p,
			SysMetaDelete: []string{"shelved_at", "shelved_image_id", "shelved_host"}},
			Expect: rpc.Expect{Task: []states.Task{states.Unshelving}}, Finish: []rpc.EventRef{o.finishRef(nil)}})
		log.Info("instance unshelved", "vm_state", "active")
		return
	}
	vifs := inst.NetworkInfo
	owner := "compute:" + inst.AvailabilityZone
	for i, v := range vifs {
		p, err := a.net.BindPort(sctx, v.ID, clients.PortBinding{HostID: a.host, DeviceID: inst.UUID, DeviceOwner: owner})
		if err != nil {
			fail(err)
			return
		}
		a.fillVIF(sctx, &vifs[i], p)
	}
	if img := inst.SystemMetadata["shelved_image_id"]; img != "" {
		inst.ImageRef = img
	}
	spec, err := a.specFor(ctx, inst, vifs, "")
	if err != nil {
		fail(err)
		return
	}
	if err := a.drv.Spawn(ctx, spec); err != nil {
		fail(err)
		return
	}
	if img := inst.SystemMetadata["shelved_image_id"]; img != "" {
		a.note(ctx, "deleting image", inst.UUID, a.images.Delete(sctx, img), "image_id", img)
	}
	vm, none, p := states.Active, states.NoTask, states.PowerRunning
	_, err = a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{VMState: &vm, TaskState: &none, PowerState: &p, NetworkInfo: &vifs,
		SysMetaDelete: []string{"shelved_at", "shelved_image_id", "shelved_host"}},
		Expect: rpc.Expect{Task: []states.Task{states.Unshelving}}, Finish: []rpc.EventRef{o.finishRef(nil)}})
	if err != nil {
		a.destroyGuest(ctx, ref(inst), "unshelve")
		return
	}
	log.Info("instance unshelved", "vm_state", "active")
}

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Volume attach, as Nova's legacy (pre-3.44) flow with Cinder:
//
//	reserve ─▶ initialize_connection ─▶ driver attach ─▶ attach
//
// and back on a failure (terminate_connection, driver detach, unreserve).
// Detach is begin_detaching ─▶ driver detach ─▶ terminate_connection ─▶
// detach, with roll_detaching if the driver keeps the disk.

// connector is what this host tells Cinder about itself.
func (a *Agent) connector() map[string]any {
	return map[string]any{"host": a.host, "multipath": false, "platform": "x86_64", "os_type": "linux"}
}

// volumeDisk is the guest disk a connection describes.
func volumeDisk(volumeID, device string, c *clients.Connection) virt.Disk {
	d := virt.Disk{Kind: virt.DiskVolume, Bus: "virtio", DeviceName: device, Serial: volumeID, Format: "raw", BootIndex: -1,
		Connection: map[string]string{"driver_volume_type": c.DriverVolumeType}}
	for k, v := range c.Data {
		d.Connection[k] = fmt.Sprint(v)
	}
	d.Path = d.Connection["path"]
	if f := d.Connection["format"]; f != "" {
		d.Format = f
	}
	return d
}

func (a *Agent) handleAttachVolume(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.VolumeArgs](raw)
	if err != nil {
		return nil, err
	}
	o, err := a.begin(ctx, eventName(rpc.AttachVolume), args.InstanceArgs, nil)
	if err != nil {
		return nil, err
	}
	defer o.done()
	inst := o.inst
	var out *rpc.VolumeAttached
	if err := o.step(ctx, func() (err error) { out, err = a.attachVolume(ctx, inst, args); return err }); err != nil {
		a.log.WarnContext(ctx, "volume attach failed", "instance_id", inst.UUID, "volume_id", args.VolumeID, "err", err)
		return nil, err
	}
	a.log.InfoContext(ctx, "volume attached", "instance_id", inst.UUID, "volume_id", args.VolumeID, "device", args.Device)
	return out, nil
}

func (a *Agent) attachVolume(ctx context.Context, inst *objects.Instance, args rpc.VolumeArgs) (*rpc.VolumeAttached, error) {
	va, ok := a.drv.(virt.VolumeAttacher)
	if !ok {
		return nil, fault.NotImplemented("Volume attach is not supported by this hypervisor")
	}
	sctx := clients.AsService(ctx)
	id := args.VolumeID
	if err := a.vols.Reserve(sctx, id); err != nil {
		return nil, err
	}
	var undo []func()
	fail := func(err error) (*rpc.VolumeAttached, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, err
	}
	undo = append(undo, func() { a.vols.Unreserve(sctx, id) })
	conn, err := a.vols.InitializeConnection(sctx, id, a.connector())
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { a.vols.TerminateConnection(sctx, id, a.connector()) })
	disk := volumeDisk(id, args.Device, conn)
	if err := va.AttachVolume(ctx, ref(inst), disk); err != nil && !errors.Is(err, virt.ErrNotFound) {
		return fail(fault.Conflict("Failed to attach volume %s to %s: %v", id, inst.UUID, err))
	}
	undo = append(undo, func() { va.DetachVolume(ctx, ref(inst), disk) })
	if err := a.vols.Attach(sctx, id, inst.UUID, args.Device); err != nil {
		return fail(err)
	}
	out := &rpc.VolumeAttached{}
	if v, err := a.vols.Get(sctx, id); err == nil {
		for _, at := range v.Attachments {
			if at.ServerID != nil && *at.ServerID == inst.UUID {
				out.AttachmentID = at.AttachmentID
			}
		}
	}
	b, _ := json.Marshal(conn)
	out.ConnectionInfo = string(b)
	return out, nil
}

func (a *Agent) handleDetachVolume(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.VolumeArgs](raw)
	if err != nil {
		return nil, err
	}
	o, err := a.begin(ctx, eventName(rpc.DetachVolume), args.InstanceArgs, nil)
	if err != nil {
		return nil, err
	}
	defer o.done()
	inst := o.inst
	if err := o.step(ctx, func() error { return a.detachVolume(ctx, inst, args, true) }); err != nil {
		a.log.WarnContext(ctx, "volume detach failed", "instance_id", inst.UUID, "volume_id", args.VolumeID, "err", err)
		return nil, err
	}
	a.log.InfoContext(ctx, "volume detached", "instance_id", inst.UUID, "volume_id", args.VolumeID)
	return nil, nil
}

// detachVolume takes a volume off a guest and out of Cinder's attachments;
// begin is false when the guest is being destroyed (no begin_detaching
// whose refusal should stop it).
func (a *Agent) detachVolume(ctx context.Context, inst *objects.Instance, args rpc.VolumeArgs, begin bool) error {
	sctx := clients.AsService(ctx)
	id := args.VolumeID
	if begin {
		if err := a.vols.BeginDetaching(sctx, id); err != nil {
			return err
		}
	}
	var conn clients.Connection
	json.Unmarshal([]byte(args.ConnectionInfo), &conn)
	if va, ok := a.drv.(virt.VolumeAttacher); ok {
		err := va.DetachVolume(ctx, ref(inst), volumeDisk(id, args.Device, &conn))
		if err != nil && !errors.Is(err, virt.ErrNotFound) {
			if begin {
				a.note(ctx, "rolling back volume detach", inst.UUID, a.vols.RollDetaching(sctx, id), "volume_id", id)
			}
			return fault.Conflict("Failed to detach volume %s from %s: %v", id, inst.UUID, err)
		}
	}
	if err := a.vols.TerminateConnection(sctx, id, a.connector()); err != nil {
		a.log.WarnContext(ctx, "terminate_connection failed", "instance_id", inst.UUID, "volume_id", id, "err", err)
	}
	return a.vols.Detach(sctx, id, args.AttachmentID)
}

// detachVolumes detaches a destroyed guest's volumes in Cinder, and deletes
// those whose mapping says delete_on_termination.
func (a *Agent) detachVolumes(ctx context.Context, inst *objects.Instance) {
	bdms, err := a.cond.BDMs(ctx, inst.UUID)
	if err != nil {
		a.log.WarnContext(ctx, "cannot list block device mappings", "instance_id", inst.UUID, "err", err)
		return
	}
	for _, b := range bdms {
		if !b.IsVolume() || b.VolumeID == "" {
			continue
		}
		args := rpc.VolumeArgs{VolumeID: b.VolumeID, Device: b.DeviceName, AttachmentID: b.AttachmentID, ConnectionInfo: b.ConnectionInfo}
		if err := a.detachVolume(ctx, inst, args, false); err != nil {
			a.log.WarnContext(ctx, "volume detach failed", "instance_id", inst.UUID, "volume_id", b.VolumeID, "err", err)
			continue
		}
		if b.DeleteOnTermination {
			if err := a.vols.Delete(clients.AsService(ctx), b.VolumeID); err != nil {
				a.log.WarnContext(ctx, "volume delete failed", "instance_id", inst.UUID, "volume_id", b.VolumeID, "err", err)
			}
		}
	}
}

// reconnectVolumes puts the instance's attached volumes into the spec of a
// guest made again (rebuild, unshelve, a resize or a hard reboot that
// respawns), as Nova hands spawn its block_device_info: each connection is
// initialized anew for this host (Nova's refresh_conn_info), and a mapping
// made while the server had no host (a volume attached to a
// shelved-offloaded server) gets its device name now. The volumes go after
// the local disks and before the config drive. A first build has none
// (volumes attach to a server that exists).
func (a *Agent) reconnectVolumes(ctx context.Context, inst *objects.Instance, spec *virt.Spec) error {
	if inst.VMState == states.Building || a.vols == nil {
		return nil
	}
	bdms, err := a.cond.BDMs(ctx, inst.UUID)
	if err != nil {
		return fmt.Errorf("block device mappings: %w", err)
	}
	used := map[string]bool{}
	for _, d := range spec.Disks {
		used[d.DeviceName] = true
	}
	for _, b := range bdms {
		used[b.DeviceName] = true
	}
	sctx := clients.AsService(ctx)
	var disks []virt.Disk
	for _, b := range bdms {
		if !b.IsVolume() || b.VolumeID == "" || b.IsRoot() {
			continue
		}
		conn, err := a.vols.InitializeConnection(sctx, b.VolumeID, a.connector())
		if err != nil {
			return fmt.Errorf("volume %s: %w", b.VolumeID, err)
		}
		dev := b.DeviceName
		if dev == "" {
			if dev = freeDevice(used); dev == "" {
				return fmt.Errorf("volume %s: no free disk device names for prefix 'vd'", b.VolumeID)
			}
			used[dev] = true
		}
		raw, _ := json.Marshal(conn)
		if dev != b.DeviceName || string(raw) != b.ConnectionInfo {
			b.DeviceName, b.ConnectionInfo = dev, string(raw)
			if err := a.cond.UpdateBDM(ctx, b); err != nil {
				return fmt.Errorf("volume %s: recording its connection: %w", b.VolumeID, err)
			}
		}
		disks = append(disks, volumeDisk(b.VolumeID, dev, conn))
	}
	if len(disks) == 0 {
		return nil
	}
	at := len(spec.Disks)
	for i, d := range spec.Disks {
		if d.Kind == virt.DiskConfig {
			at = i
			break
		}
	}
	spec.Disks = slices.Insert(spec.Disks, at, disks...)
	return nil
}

// freeDevice is the first /dev/vdX not in used (vda is the root's).
func freeDevice(used map[string]bool) string {
	for c := 'b'; c <= 'z'; c++ {
		if d := "/dev/vd" + string(c); !used[d] {
			return d
		}
	}
	return ""
}

// disconnectVolumes ends this host's connections to the instance's volumes
// when its guest leaves the host but keeps its volumes (shelve offload), as
// Nova terminates them; the volumes stay attached in Cinder and the next
// host connects them again (reconnectVolumes).
func (a *Agent) disconnectVolumes(ctx context.Context, inst *objects.Instance) {
	if a.vols == nil {
		return
	}
	bdms, err := a.cond.BDMs(ctx, inst.UUID)
	if err != nil {
		a.log.WarnContext(ctx, "cannot list block device mappings", "instance_id", inst.UUID, "err", err)
		return
	}
	for _, b := range bdms {
		if !b.IsVolume() || b.VolumeID == "" || b.IsRoot() {
			continue
		}
		if err := a.vols.TerminateConnection(clients.AsService(ctx), b.VolumeID, a.connector()); err != nil {
			a.log.WarnContext(ctx, "terminate_connection failed", "instance_id", inst.UUID, "volume_id", b.VolumeID, "err", err)
		}
	}
}

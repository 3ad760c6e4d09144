package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// Volume swap, as Nova's compute does it with a legacy (pre-3.44)
// attachment: the API has begun detaching the old volume and reserved the
// new one; here the new volume is connected, the driver copies the guest's
// disk to it and switches the guest over, the old connection ends, and
// Cinder's os-migrate_volume_completion trades the attachments (the old
// volume becomes available, the new one in-use at the same mountpoint) and
// names the volume the mapping keeps. A failure before the switch undoes
// the API's steps (roll_detaching, unreserve); the guest keeps its disk.

func (a *Agent) handleSwapVolume(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.SwapVolumeArgs](raw)
	if err != nil {
		return nil, err
	}
	o, err := a.begin(ctx, eventName(rpc.SwapVolume), args.InstanceArgs, nil)
	if err != nil {
		a.rollSwap(ctx, args)
		return nil, err
	}
	defer o.done()
	inst := o.inst
	if err := o.step(ctx, func() error { return a.swapVolume(ctx, inst, args) }); err != nil {
		a.log.WarnContext(ctx, "volume swap failed", "instance_id", inst.UUID, "old_volume_id", args.OldVolumeID, "new_volume_id", args.NewVolumeID, "err", err)
		return nil, err
	}
	a.log.InfoContext(ctx, "volume swapped", "instance_id", inst.UUID, "old_volume_id", args.OldVolumeID, "new_volume_id", args.NewVolumeID, "device", args.Device)
	return nil, nil
}

// rollSwap undoes what the API did before the swap was handed over.
func (a *Agent) rollSwap(ctx context.Context, args rpc.SwapVolumeArgs) {
	if a.vols == nil {
		return
	}
	sctx := clients.AsService(context.WithoutCancel(ctx))
	a.note(ctx, "rolling back volume detach", args.InstanceUUID, a.vols.RollDetaching(sctx, args.OldVolumeID), "volume_id", args.OldVolumeID)
	a.note(ctx, "unreserving volume", args.InstanceUUID, a.vols.Unreserve(sctx, args.NewVolumeID), "volume_id", args.NewVolumeID)
}

func (a *Agent) swapVolume(ctx context.Context, inst *objects.Instance, args rpc.SwapVolumeArgs) error {
	if a.vols == nil {
		return errors.New("no volume service")
	}
	vs, ok := a.drv.(virt.VolumeSwapper)
	if !ok {
		a.rollSwap(ctx, args)
		return fmt.Errorf("swapping volumes is not supported by this hypervisor driver")
	}
	sctx := clients.AsService(ctx)
	var oldConn clients.Connection
	json.Unmarshal([]byte(args.ConnectionInfo), &oldConn)
	newConn, err := a.vols.InitializeConnection(sctx, args.NewVolumeID, a.connector())
	if err != nil {
		a.rollSwap(ctx, args)
		return fmt.Errorf("connecting volume %s: %w", args.NewVolumeID, err)
	}
	oldDisk := volumeDisk(args.OldVolumeID, args.Device, &oldConn)
	newDisk := volumeDisk(args.NewVolumeID, args.Device, newConn)
	if err := vs.SwapVolume(ctx, ref(inst), oldDisk, newDisk, args.ResizeToGB); err != nil {
		a.note(ctx, "terminate_connection", inst.UUID, a.vols.TerminateConnection(clients.AsService(context.WithoutCancel(ctx)), args.NewVolumeID, a.connector()), "volume_id", args.NewVolumeID)
		a.rollSwap(ctx, args)
		return fmt.Errorf("swapping volume %s for %s: %w", args.OldVolumeID, args.NewVolumeID, err)
	}
	if err := a.vols.TerminateConnection(sctx, args.OldVolumeID, a.connector()); err != nil {
		a.log.WarnContext(ctx, "terminate_connection failed", "instance_id", inst.UUID, "volume_id", args.OldVolumeID, "err", err)
	}
	keep, err := a.vols.MigrateVolumeCompletion(sctx, args.OldVolumeID, args.NewVolumeID, false)
	if err != nil {
		return fmt.Errorf("completing the swap of volume %s for %s: %w", args.OldVolumeID, args.NewVolumeID, err)
	}
	return a.recordSwap(ctx, inst, args, keep, newConn)
}

// recordSwap points the block device mapping at the volume Cinder says it
// keeps, with that volume's connection, attachment and size.
func (a *Agent) recordSwap(ctx context.Context, inst *objects.Instance, args rpc.SwapVolumeArgs, keep string, conn *clients.Connection) error {
	sctx := clients.AsService(ctx)
	bdms, err := a.cond.BDMs(ctx, inst.UUID)
	if err != nil {
		return fmt.Errorf("block device mappings: %w", err)
	}
	for _, b := range bdms {
		if b.UUID != args.BDMUUID {
			continue
		}
		v, err := a.vols.Get(sctx, keep)
		if err != nil {
			return fmt.Errorf("volume %s: %w", keep, err)
		}
		for _, at := range v.Attachments {
			if at.ServerID != nil && *at.ServerID == inst.UUID {
				b.AttachmentID = at.AttachmentID
			}
		}
		size := v.Size
		raw, _ := json.Marshal(conn)
		b.VolumeID, b.ConnectionInfo, b.VolumeSize = keep, string(raw), &size
		return a.cond.UpdateBDM(ctx, b)
	}
	return fmt.Errorf("instance %s has no block device mapping %s", inst.UUID, args.BDMUUID)
}

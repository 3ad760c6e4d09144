package api

import (
	"context"
	"errors"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// swapVolume is PUT /servers/{id}/os-volume_attachments/{old} with another
// volumeId, as Nova's compute API checks and starts it: the old volume (404
// when Cinder has none) must be attached to this server, the new one (400
// when Cinder has none: it comes in the body) detached and no smaller; the
// old volume begins detaching and the new one is reserved, then the
// server's agent is told to copy and switch (cast, 202), and undoes both
// itself if it cannot.
func (a *API) swapVolume(ctx context.Context, r *rest.Request, inst *objects.Instance, oldID, newID string) (any, error) {
	old, err := a.d.Volumes.Get(ctx, oldID)
	if err != nil {
		return nil, err
	}
	nv, err := a.d.Volumes.Get(ctx, newID)
	if err != nil {
		var f *fault.Error
		if errors.As(err, &f) && f.Status == 404 {
			return nil, fault.BadRequest("%s", f.Message)
		}
		return nil, err
	}
	if err := states.Check(states.ActSwapVolume, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	attached, others := false, 0
	for _, at := range old.Attachments {
		if at.ServerID != nil && *at.ServerID == inst.UUID {
			attached = true
		} else {
			others++
		}
	}
	switch {
	case !attached:
		return nil, invalidVolume("Old volume is attached to a different instance.")
	case len(nv.Attachments) > 0:
		return nil, invalidVolume("New volume must be detached in order to swap.")
	case nv.Size < old.Size:
		return nil, invalidVolume("New volume must be the same size or larger.")
	case old.Multiattach && others > 0:
		return nil, fault.BadRequest("Swapping multi-attach volumes with more than one read/write attachment is not supported.").WithType("MultiattachSwapVolumeNotSupported")
	}
	b, err := a.volumeBDM(ctx, inst, oldID)
	if err != nil {
		return nil, err
	}
	sctx := clients.AsService(ctx)
	if err := a.d.Volumes.BeginDetaching(sctx, oldID); err != nil {
		return nil, asInvalidVolume(err)
	}
	if err := a.d.Volumes.Reserve(sctx, newID); err != nil {
		a.d.Volumes.RollDetaching(sctx, oldID)
		return nil, asInvalidVolume(err)
	}
	args := rpc.SwapVolumeArgs{InstanceArgs: a.args(ctx), BDMUUID: b.UUID, OldVolumeID: oldID, NewVolumeID: newID,
		Device: b.DeviceName, ConnectionInfo: b.ConnectionInfo}
	args.InstanceUUID = inst.UUID
	if nv.Size > old.Size {
		args.ResizeToGB = nv.Size
	}
	project, user := caller(r)
	a.d.Store.StartAction(ctx, store.ActionStart{Action: "swap_volume", InstanceUUID: inst.UUID, RequestID: args.RequestID, UserID: user, ProjectID: project})
	if a.d.Bus == nil {
		err = errors.New("no message bus")
	} else {
		err = a.d.Bus.Cast(ctx, rpc.ComputeSubject(inst.Host), rpc.SwapVolume, args)
	}
	if err != nil {
		a.d.Volumes.RollDetaching(sctx, oldID)
		a.d.Volumes.Unreserve(sctx, newID)
		return nil, fault.Conflict("Compute service of %s is unavailable at this time.", inst.Host).WithType("ComputeServiceUnavailable")
	}
	a.log.InfoContext(ctx, "volume swap accepted", "instance_id", inst.UUID, "old_volume_id", oldID, "new_volume_id", newID)
	return nil, nil
}

func invalidVolume(reason string) *fault.Error {
	return fault.BadRequest("Invalid volume: %s", reason).WithType("InvalidVolume")
}

// asInvalidVolume turns Cinder's refusal of a status change into Nova's
// 400 InvalidVolume.
func asInvalidVolume(err error) error {
	var f *fault.Error
	if errors.As(err, &f) && f.Status == 400 {
		return fault.BadRequest("%s", f.Message).WithType("InvalidVolume")
	}
	return err
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// serveManager answers the volume services: their results, heartbeats and
// reconciliation queries. Any cinder-api process may answer (queue group).
func (a *API) serveManager(ctx context.Context) error {
	sub, err := a.bus.Serve(ctx, rpc.ManagerSubject, bus.ServeOptions{Queue: rpc.ManagerQueue}, map[string]bus.Handler{
		rpc.VolumeUpdate: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.UpdateArgs](raw)
			if err != nil {
				return nil, err
			}
			c := store.Change{Status: &args.Status}
			if args.Reason != "" || args.Status == volume.StatusAvailable {
				c.ErrorReason = &args.Reason
			}
			if args.Status == volume.StatusAvailable && slices.Contains(args.From, volume.StatusCreating) {
				c.Launched = true
			}
			if args.Size > 0 {
				c.Size = &args.Size
			}
			c.Bootable, c.ImageMetadata = args.Bootable, args.ImageMetadata
			v, err := a.db.UpdateVolume(ctx, args.VolumeID, args.From, c)
			if err == nil {
				a.volumeMessage(ctx, v, args)
			}
			return nil, err
		},
		rpc.VolumeDestroyed: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.DeleteArgs](raw)
			if err != nil {
				return nil, err
			}
			err = a.db.DestroyVolume(ctx, args.VolumeID, []volume.Status{volume.StatusDeleting})
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil // already gone: idempotent
			}
			return nil, err
		},
		rpc.VolumesOnHost: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.HostArgs](raw)
			if err != nil {
				return nil, err
			}
			vols, err := a.db.ListVolumes(ctx, store.Filter{Host: args.Host})
			if err != nil {
				return nil, err
			}
			out := rpc.HostVolumes{Volumes: []rpc.HostVolume{}}
			for _, v := range vols {
				out.Volumes = append(out.Volumes, rpc.HostVolume{ID: v.ID, Size: v.Size, Status: v.Status, SnapshotID: v.SnapshotID, SourceVolID: v.SourceVolID, ImageID: v.ImageID})
			}
			if out.Deleted, err = a.db.DeletedOnHost(ctx, args.Host); err != nil {
				return nil, err
			}
			if out.Backups, err = a.hostBackups(ctx, args.Host, vols); err != nil {
				return nil, err
			}
			out.Snapshots = []rpc.HostSnapshot{}
			if len(vols) > 0 {
				ids := make([]string, len(vols))
				for i, v := range vols {
					ids[i] = v.ID
				}
				snaps, err := a.db.ListSnapshots(ctx, store.SnapshotFilter{VolumeIDs: ids})
				if err != nil {
					return nil, err
				}
				for _, s := range snaps {
					out.Snapshots = append(out.Snapshots, rpc.HostSnapshot{ID: s.ID, VolumeID: s.VolumeID, Status: s.Status})
				}
			}
			return out, nil
		},
		rpc.BackupUpdate: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.BackupUpdateArgs](raw)
			if err != nil {
				return nil, err
			}
			return nil, a.settleBackup(ctx, args)
		},
		rpc.BackupDestroyed: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.BackupArgs](raw)
			if err != nil {
				return nil, err
			}
			err = a.db.DestroyBackup(ctx, args.BackupID)
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrState) {
				return nil, nil // already gone, or reset meanwhile
			}
			return nil, err
		},
		rpc.SnapshotUpdate: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.SnapshotUpdateArgs](raw)
			if err != nil {
				return nil, err
			}
			c := store.SnapshotChange{Status: &args.Status, ErrorReason: &args.Reason}
			if args.Status == volume.SnapshotAvailable {
				p := "100%"
				c.Progress = &p
			}
			sn, err := a.db.UpdateSnapshot(ctx, args.SnapshotID, args.From, c)
			if err == nil {
				switch args.Status {
				case volume.SnapshotError:
					a.record(ctx, sn.ProjectID, resSnapshot, sn.ID, actSnapCreate, detSnapCreate)
				case volume.SnapshotErrorDeleting:
					a.record(ctx, sn.ProjectID, resSnapshot, sn.ID, actSnapDelete, detSnapDelete)
				}
			}
			return nil, err
		},
		rpc.SnapshotDestroyed: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.SnapshotArgs](raw)
			if err != nil {
				return nil, err
			}
			err = a.db.DestroySnapshot(ctx, args.SnapshotID, []volume.SnapshotStatus{volume.SnapshotDeleting})
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil // already gone: idempotent
			}
			return nil, err
		},
		rpc.ServiceReport: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.Report](raw)
			if err != nil {
				return nil, err
			}
			caps, err := json.Marshal(args.Stats)
			if err != nil {
				return nil, err
			}
			return nil, a.db.ReportService(ctx, store.ServiceRow{Host: args.Host, Binary: rpc.Binary, AvailabilityZone: args.AvailabilityZone, Capabilities: caps})
		},
	})
	if err != nil {
		return err
	}
	a.subs = append(a.subs, sub)
	return nil
}

// Sweep moves volumes and snapshots that stayed too long in a
// transitional state on: creating → error, deleting → error_deleting (the
// user may delete again), each with a reason. It runs every SweepInterval.
func (a *API) Sweep(ctx context.Context) {
	now := time.Now()
	for _, s := range []struct {
		from, to volume.Status
		after    time.Duration
	}{
		{volume.StatusCreating, volume.StatusError, a.opt.CreateTimeout},
		{volume.StatusDeleting, volume.StatusErrorDeleting, a.opt.DeleteTimeout},
		{volume.StatusExtending, volume.StatusErrorExtend, a.opt.CreateTimeout},
		// An upload whose volume service went away: the data is intact.
		{volume.StatusUploading, volume.StatusAvailable, a.opt.CreateTimeout},
	} {
		vols, err := a.db.ListVolumes(ctx, store.Filter{Status: string(s.from), OlderThan: now.Add(-s.after)})
		if err != nil {
			if ctx.Err() == nil {
				a.log.WarnContext(ctx, "volume sweep failed", "err", err)
			}
			return
		}
		for _, v := range vols {
			a.fail(ctx, v.ID, s.from, s.to, fmt.Sprintf("the volume stayed %s longer than %s", s.from, s.after))
		}
	}
	a.sweepAttach(ctx, now)
	a.sweepBackups(ctx, now)
	if err := a.db.DeleteExpiredMessages(ctx, now); err != nil && ctx.Err() == nil {
		a.log.WarnContext(ctx, "expired messages not removed", "err", err)
	}
	for _, s := range []struct {
		from, to volume.SnapshotStatus
		after    time.Duration
	}{
		{volume.SnapshotCreating, volume.SnapshotError, a.opt.CreateTimeout},
		{volume.SnapshotDeleting, volume.SnapshotErrorDeleting, a.opt.DeleteTimeout},
	} {
		snaps, err := a.db.ListSnapshots(ctx, store.SnapshotFilter{Status: string(s.from), OlderThan: now.Add(-s.after)})
		if err != nil {
			if ctx.Err() == nil {
				a.log.WarnContext(ctx, "snapshot sweep failed", "err", err)
			}
			return
		}
		for _, sn := range snaps {
			a.failSnapshot(ctx, sn.ID, s.from, s.to, fmt.Sprintf("the snapshot stayed %s longer than %s", s.from, s.after))
		}
	}
}

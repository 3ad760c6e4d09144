package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
	"github.com/tenku-cloud/tenku/internal/volume/backup"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
)

// Options configure a volume service.
type Options struct {
	// Host is host@backend.
	Host             string
	AvailabilityZone string
	ReportInterval   time.Duration
	Log              *slog.Logger
	// Images reaches Glance for volumes made from images and uploads;
	// nil fails those operations with a reason.
	Images Images
	// ConversionDir holds images while they are downloaded and converted
	// (Cinder's image_conversion_dir).
	ConversionDir string
	// Backups is this host's backup repository; nil fails backups with a
	// reason.
	Backups *backup.Repo
}

// Manager is one backend's volume service.
type Manager struct {
	opt    Options
	bus    *bus.Bus
	drv    backend.Driver
	log    *slog.Logger
	sub    *bus.Subscription
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a volume service for a driver.
func New(opt Options, b *bus.Bus, drv backend.Driver) (*Manager, error) {
	if opt.Host == "" || b == nil || drv == nil {
		return nil, errors.New("volume service: host, bus and driver are required")
	}
	if opt.ReportInterval <= 0 {
		opt.ReportInterval = 10 * time.Second
	}
	if opt.AvailabilityZone == "" {
		opt.AvailabilityZone = "nova"
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.ConversionDir == "" {
		opt.ConversionDir = filepath.Join(os.TempDir(), "tenku-cinder-conversion")
	}
	return &Manager{opt: opt, bus: b, drv: drv, log: opt.Log}, nil
}

// Name names the service in logs.
func (m *Manager) Name() string { return "cinder-volume" }

// Start reports, reconciles, then serves.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.report(ctx); err != nil {
		return fmt.Errorf("volume service %s: first report: %w", m.opt.Host, err)
	}
	if err := m.Reconcile(ctx); err != nil {
		return fmt.Errorf("volume service %s: reconcile: %w", m.opt.Host, err)
	}
	handlers := map[string]bus.Handler{
		rpc.CreateVolume: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.CreateArgs](raw)
			if err != nil {
				return nil, err
			}
			if args.BackupID != "" {
				m.createFromBackup(ctx, args)
				return nil, nil
			}
			m.create(ctx, rpc.HostVolume{ID: args.VolumeID, Size: args.Size, SnapshotID: args.SnapshotID, SourceVolID: args.SourceVolID, ImageID: args.ImageID})
			return nil, nil
		},
		rpc.ExtendVolume: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.ExtendArgs](raw)
			if err != nil {
				return nil, err
			}
			m.extend(ctx, args.VolumeID, args.NewSize)
			return nil, nil
		},
		rpc.UploadImage: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.UploadArgs](raw)
			if err != nil {
				return nil, err
			}
			m.upload(ctx, args)
			return nil, nil
		},
		rpc.DeleteVolume: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.DeleteArgs](raw)
			if err != nil {
				return nil, err
			}
			m.delete(ctx, args.VolumeID, args.Snapshots)
			return nil, nil
		},
		rpc.CreateSnapshot: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.SnapshotArgs](raw)
			if err != nil {
				return nil, err
			}
			m.createSnapshot(ctx, args.VolumeID, args.SnapshotID)
			return nil, nil
		},
		rpc.DeleteSnapshot: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.SnapshotArgs](raw)
			if err != nil {
				return nil, err
			}
			m.deleteSnapshot(ctx, args.SnapshotID)
			return nil, nil
		},
	}
	maps.Copy(handlers, m.attachHandlers())
	maps.Copy(handlers, m.backupHandlers())
	sub, err := m.bus.Serve(ctx, rpc.VolumeSubject(m.opt.Host), bus.ServeOptions{Concurrency: 16}, handlers)
	if err != nil {
		return err
	}
	m.sub = sub
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(m.opt.ReportInterval)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				if err := m.report(bg); err != nil && bg.Err() == nil {
					m.log.WarnContext(bg, "capacity report failed", "err", err)
				}
			}
		}
	}()
	return nil
}

// Shutdown stops serving and reporting.
func (m *Manager) Shutdown(ctx context.Context) error {
	if m.sub != nil {
		m.sub.Stop()
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	return nil
}

func (m *Manager) report(ctx context.Context) error {
	st, err := m.drv.Stats(ctx)
	if err != nil {
		return err
	}
	return m.bus.Call(ctx, rpc.ManagerSubject, rpc.ServiceReport, rpc.Report{Host: m.opt.Host, AvailabilityZone: m.opt.AvailabilityZone, Stats: st}, nil)
}

// update records a state change, retrying while the manager is unreachable.
func (m *Manager) update(ctx context.Context, id string, from []volume.Status, to volume.Status, reason string) {
	m.call(ctx, rpc.VolumeUpdate, rpc.UpdateArgs{VolumeID: id, From: from, Status: to, Reason: reason})
}

func (m *Manager) call(ctx context.Context, method string, args any) {
	ctx = context.WithoutCancel(ctx)
	var err error
	for i := range 5 {
		if err = m.bus.Call(ctx, rpc.ManagerSubject, method, args, nil); err == nil {
			return
		}
		if fault.Is(err, 503) || fault.Is(err, 504) {
			time.Sleep(time.Duration(i+1) * 200 * time.Millisecond)
			continue
		}
		break
	}
	m.log.WarnContext(ctx, "volume state not recorded; reconciliation or the sweep will", "method", method, "args", fmt.Sprintf("%+v", args), "err", err)
}

// create makes a volume: blank, a copy of a snapshot or another volume
// grown to the volume's size, or an image's data.
func (m *Manager) create(ctx context.Context, v rpc.HostVolume) {
	if v.ImageID != "" {
		m.createFromImage(ctx, v)
		return
	}
	var err error
	switch {
	case v.SnapshotID != "":
		err = m.drv.CreateFromSnapshot(ctx, v.ID, v.SnapshotID, v.Size)
	case v.SourceVolID != "":
		err = m.drv.Clone(ctx, v.ID, v.SourceVolID, v.Size)
	default:
		err = m.drv.Create(ctx, v.ID, v.Size)
	}
	if err != nil {
		m.log.WarnContext(ctx, "volume not created", "volume", v.ID, "err", err)
		m.update(ctx, v.ID, []volume.Status{volume.StatusCreating}, volume.StatusError, err.Error())
		return
	}
	m.log.InfoContext(ctx, "volume created", "volume", v.ID, "size", v.Size, "snapshot", v.SnapshotID, "source_volid", v.SourceVolID)
	m.update(ctx, v.ID, []volume.Status{volume.StatusCreating}, volume.StatusAvailable, "")
}

func (m *Manager) extend(ctx context.Context, id string, size int) {
	if err := m.drv.Extend(ctx, id, size); err != nil {
		m.log.WarnContext(ctx, "volume not extended", "volume", id, "err", err)
		m.update(ctx, id, []volume.Status{volume.StatusExtending}, volume.StatusErrorExtend, err.Error())
		return
	}
	m.log.InfoContext(ctx, "volume extended", "volume", id, "size", size)
	m.call(ctx, rpc.VolumeUpdate, rpc.UpdateArgs{VolumeID: id, From: []volume.Status{volume.StatusExtending}, Status: volume.StatusAvailable, Size: size})
}

func (m *Manager) delete(ctx context.Context, id string, snapshots []string) {
	for _, sid := range snapshots {
		if !m.deleteSnapshot(ctx, sid) {
			m.update(ctx, id, []volume.Status{volume.StatusDeleting}, volume.StatusErrorDeleting, "snapshot "+sid+" could not be deleted")
			return
		}
	}
	if err := m.drv.Delete(ctx, id); err != nil {
		m.log.WarnContext(ctx, "volume not deleted", "volume", id, "err", err)
		m.update(ctx, id, []volume.Status{volume.StatusDeleting}, volume.StatusErrorDeleting, err.Error())
		return
	}
	m.log.InfoContext(ctx, "volume deleted", "volume", id)
	m.call(ctx, rpc.VolumeDestroyed, rpc.DeleteArgs{VolumeID: id})
}

func (m *Manager) updateSnapshot(ctx context.Context, id string, from []volume.SnapshotStatus, to volume.SnapshotStatus, reason string) {
	m.call(ctx, rpc.SnapshotUpdate, rpc.SnapshotUpdateArgs{SnapshotID: id, From: from, Status: to, Reason: reason})
}

func (m *Manager) createSnapshot(ctx context.Context, volID, id string) {
	if err := m.drv.CreateSnapshot(ctx, volID, id); err != nil {
		m.log.WarnContext(ctx, "snapshot not created", "snapshot", id, "volume", volID, "err", err)
		m.updateSnapshot(ctx, id, []volume.SnapshotStatus{volume.SnapshotCreating}, volume.SnapshotError, err.Error())
		return
	}
	m.log.InfoContext(ctx, "snapshot created", "snapshot", id, "volume", volID)
	m.updateSnapshot(ctx, id, []volume.SnapshotStatus{volume.SnapshotCreating}, volume.SnapshotAvailable, "")
}

// deleteSnapshot removes a snapshot's data and its record; false when the
// data could not be removed (the snapshot goes to error_deleting).
func (m *Manager) deleteSnapshot(ctx context.Context, id string) bool {
	if err := m.drv.DeleteSnapshot(ctx, id); err != nil {
		m.log.WarnContext(ctx, "snapshot not deleted", "snapshot", id, "err", err)
		m.updateSnapshot(ctx, id, []volume.SnapshotStatus{volume.SnapshotDeleting}, volume.SnapshotErrorDeleting, err.Error())
		return false
	}
	m.log.InfoContext(ctx, "snapshot deleted", "snapshot", id)
	m.call(ctx, rpc.SnapshotDestroyed, rpc.SnapshotArgs{SnapshotID: id})
	return true
}

// Reconcile brings the backend and the records of this host together.
func (m *Manager) Reconcile(ctx context.Context) error {
	var hv rpc.HostVolumes
	if err := m.bus.Call(ctx, rpc.ManagerSubject, rpc.VolumesOnHost, rpc.HostArgs{Host: m.opt.Host}, &hv); err != nil {
		return err
	}
	ids, err := m.drv.List(ctx)
	if err != nil {
		return err
	}
	m.cleanConversions(ctx)
	settled := m.reconcileBackups(ctx, hv.Backups)
	known := map[string]bool{}
	for _, v := range hv.Volumes {
		known[v.ID] = true
		if settled[v.ID] {
			continue
		}
		switch v.Status {
		case volume.StatusBackingUp:
			// No backup is being taken of it any more (reconcileBackups
			// would have settled it).
			m.update(ctx, v.ID, []volume.Status{volume.StatusBackingUp}, volume.StatusAvailable, "")
		case volume.StatusRestoringBackup:
			m.update(ctx, v.ID, []volume.Status{volume.StatusRestoringBackup}, volume.StatusErrorRestoring, "the restore was interrupted")
		case volume.StatusCreating:
			// Create is idempotent: it finishes or makes the volume again.
			m.create(ctx, v)
		case volume.StatusDeleting:
			// A cascade delete's snapshots are deleting too; they go first.
			var snaps []string
			for _, sn := range hv.Snapshots {
				if sn.VolumeID == v.ID && sn.Status == volume.SnapshotDeleting {
					snaps = append(snaps, sn.ID)
				}
			}
			m.delete(ctx, v.ID, snaps)
		case volume.StatusExtending:
			// The target size was in the lost message: record what the
			// backend holds, which is the old size or the new one.
			ok, size, err := m.drv.Exists(ctx, v.ID)
			if err != nil {
				return err
			}
			if !ok {
				m.update(ctx, v.ID, []volume.Status{v.Status}, volume.StatusError, "the volume's data is missing from the backend")
				continue
			}
			m.call(ctx, rpc.VolumeUpdate, rpc.UpdateArgs{VolumeID: v.ID, From: []volume.Status{volume.StatusExtending}, Status: volume.StatusAvailable, Size: max(size, v.Size)})
		case volume.StatusUploading:
			// The upload died with the service; the image it was filling
			// stays queued (its id was in the lost message) for its owner
			// to delete. The volume's data is intact.
			m.log.WarnContext(ctx, "an upload to an image was interrupted; the volume is available again", "volume", v.ID)
			m.update(ctx, v.ID, []volume.Status{volume.StatusUploading}, volume.StatusAvailable, "")
		case volume.StatusAvailable, volume.StatusInUse, volume.StatusReserved:
			ok, _, err := m.drv.Exists(ctx, v.ID)
			if err != nil {
				return err
			}
			if !ok {
				m.update(ctx, v.ID, []volume.Status{v.Status}, volume.StatusError, "the volume's data is missing from the backend")
			}
		}
	}
	for _, sn := range hv.Snapshots {
		switch sn.Status {
		case volume.SnapshotCreating:
			m.createSnapshot(ctx, sn.VolumeID, sn.ID) // idempotent
		case volume.SnapshotDeleting:
			if known[sn.VolumeID] && slices.ContainsFunc(hv.Volumes, func(v rpc.HostVolume) bool { return v.ID == sn.VolumeID && v.Status == volume.StatusDeleting }) {
				continue // deleted above with its volume
			}
			m.deleteSnapshot(ctx, sn.ID)
		case volume.SnapshotAvailable:
			ok, err := m.drv.SnapshotExists(ctx, sn.ID)
			if err != nil {
				return err
			}
			if !ok {
				m.updateSnapshot(ctx, sn.ID, []volume.SnapshotStatus{sn.Status}, volume.SnapshotError, "the snapshot's data is missing from the backend")
			}
		}
	}
	for _, id := range ids {
		if known[id] {
			continue
		}
		if slices.Contains(hv.Deleted, id) {
			m.log.InfoContext(ctx, "removing the data of a deleted volume", "volume", id)
			if err := m.drv.Delete(ctx, id); err != nil {
				m.log.WarnContext(ctx, "orphan not removed", "volume", id, "err", err)
			}
			continue
		}
		m.log.WarnContext(ctx, "backend holds a volume this cloud has no record of; left in place", "volume", id)
	}
	return nil
}

package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
	"github.com/tenku-cloud/tenku/internal/volume/backup"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
)

// The volume service is also this host's backup service (devstack's
// c-bak): it reads and writes its own volumes' data directly and keeps
// backups in the posix repository Options.Backups.

func (m *Manager) backupHandlers() map[string]bus.Handler {
	decode := func(run func(context.Context, rpc.BackupArgs)) bus.Handler {
		return func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.BackupArgs](raw)
			if err != nil {
				return nil, err
			}
			run(ctx, args)
			return nil, nil
		}
	}
	return map[string]bus.Handler{
		rpc.CreateBackup:  decode(m.createBackup),
		rpc.RestoreBackup: decode(m.restoreBackup),
		rpc.DeleteBackup:  decode(m.deleteBackup),
		rpc.ImportBackup:  decode(m.importBackup),
	}
}

func (m *Manager) raw(ctx context.Context, id string, write bool) (*backupFile, error) {
	return m.open(func(ra backend.RawAccess) (*os.File, error) { return ra.OpenRaw(ctx, id, write) })
}

// snapshotRaw opens a snapshot's data for a backup to read.
func (m *Manager) snapshotRaw(ctx context.Context, snapshotID string) (*backupFile, error) {
	return m.open(func(ra backend.RawAccess) (*os.File, error) { return ra.OpenSnapshotRaw(ctx, snapshotID) })
}

func (m *Manager) open(fn func(backend.RawAccess) (*os.File, error)) (*backupFile, error) {
	ra, ok := m.drv.(backend.RawAccess)
	if !ok {
		return nil, fmt.Errorf("the %s backend cannot hand out volume data for backups", m.drv.Name())
	}
	if m.opt.Backups == nil {
		return nil, errors.New("the volume service has no backup repository")
	}
	f, err := fn(ra)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &backupFile{File: f, size: fi.Size()}, nil
}

func (m *Manager) backupUpdate(ctx context.Context, a rpc.BackupUpdateArgs) {
	m.call(ctx, rpc.BackupUpdate, a)
}

// createBackup reads the volume (or its snapshot) into the repository; the backup becomes
// available (or error with the reason) and the volume returns from
// backing-up to available (an attached volume stays in-use throughout).
func (m *Manager) createBackup(ctx context.Context, a rpc.BackupArgs) {
	up := rpc.BackupUpdateArgs{BackupID: a.BackupID, From: []volume.BackupStatus{volume.BackupCreating}, VolumeID: a.VolumeID}
	if !a.Attached {
		up.VolumeFrom, up.VolumeStatus = []volume.Status{volume.StatusBackingUp}, volume.StatusAvailable
	}
	var f *backupFile
	var err error
	if a.SnapshotID != "" {
		f, err = m.snapshotRaw(ctx, a.SnapshotID)
	} else {
		f, err = m.raw(ctx, a.VolumeID, false)
	}
	if err == nil {
		var man *backup.Manifest
		man, err = m.opt.Backups.Create(ctx, a.BackupID, a.VolumeID, a.ParentDataID, f, f.size)
		f.Close()
		if err == nil {
			up.Status, up.ObjectCount = volume.BackupAvailable, man.Written
			m.log.InfoContext(ctx, "backup created", "backup", a.BackupID, "volume", a.VolumeID, "parent", a.ParentID, "chunks_written", man.Written)
			m.backupUpdate(ctx, up)
			return
		}
	}
	m.log.WarnContext(ctx, "backup not created", "backup", a.BackupID, "volume", a.VolumeID, "err", err)
	up.Status, up.FailReason = volume.BackupError, err.Error()
	m.backupUpdate(ctx, up)
}

// restoreBackup writes a backup into a volume: an existing one
// (restoring-backup) or a new one still creating, made here first. The
// backup returns to available; the volume becomes available, or
// error_restoring once its data may be half-written (a failure before
// any write leaves an existing volume available).
func (m *Manager) restoreBackup(ctx context.Context, a rpc.BackupArgs) {
	m.restore(ctx, a, []volume.Status{volume.StatusRestoringBackup})
}

func (m *Manager) restore(ctx context.Context, a rpc.BackupArgs, volFrom []volume.Status) {
	up := rpc.BackupUpdateArgs{BackupID: a.BackupID, From: []volume.BackupStatus{volume.BackupRestoring}, Status: volume.BackupAvailable,
		VolumeID: a.VolumeID, VolumeFrom: volFrom, VolumeStatus: volume.StatusAvailable}
	err := m.restoreData(ctx, a)
	var untouched *untouchedError
	switch {
	case err == nil:
		m.log.InfoContext(ctx, "backup restored", "backup", a.BackupID, "volume", a.VolumeID)
	case errors.As(err, &untouched) && !containsStatus(volFrom, volume.StatusCreating):
		m.log.WarnContext(ctx, "backup not restored; the volume is unchanged", "backup", a.BackupID, "volume", a.VolumeID, "err", err)
		up.VolumeReason = err.Error()
	default:
		m.log.WarnContext(ctx, "backup not restored", "backup", a.BackupID, "volume", a.VolumeID, "err", err)
		up.VolumeStatus, up.VolumeReason = volume.StatusErrorRestoring, err.Error()
	}
	m.backupUpdate(ctx, up)
}

// untouchedError: the restore failed before writing to the volume.
type untouchedError struct{ err error }

func (e *untouchedError) Error() string { return e.err.Error() }
func (e *untouchedError) Unwrap() error { return e.err }

func (m *Manager) restoreData(ctx context.Context, a rpc.BackupArgs) error {
	if m.opt.Backups == nil {
		return &untouchedError{errors.New("the volume service has no backup repository")}
	}
	man, err := m.opt.Backups.Manifest(a.Data())
	if err != nil {
		return &untouchedError{fmt.Errorf("backup %s: %w", a.BackupID, err)}
	}
	f, err := m.raw(ctx, a.VolumeID, true)
	if err != nil {
		return &untouchedError{err}
	}
	defer f.Close()
	if f.size < man.Size {
		return &untouchedError{fmt.Errorf("volume %s (%d bytes) is smaller than backup %s (%d bytes)", a.VolumeID, f.size, a.BackupID, man.Size)}
	}
	if err := m.opt.Backups.Restore(ctx, a.Data(), f.File); err != nil {
		return fmt.Errorf("restore of backup %s: %w", a.BackupID, err)
	}
	return nil
}

// deleteBackup removes a backup's data and its record.
func (m *Manager) deleteBackup(ctx context.Context, a rpc.BackupArgs) {
	var err error
	switch {
	case a.KeepData:
		// An imported record shares the data; it stays for that one.
	case m.opt.Backups == nil:
		err = errors.New("the volume service has no backup repository")
	default:
		err = m.opt.Backups.Delete(a.Data())
	}
	if err != nil {
		m.log.WarnContext(ctx, "backup not deleted", "backup", a.BackupID, "err", err)
		m.backupUpdate(ctx, rpc.BackupUpdateArgs{BackupID: a.BackupID, From: []volume.BackupStatus{volume.BackupDeleting}, Status: volume.BackupErrorDeleting, FailReason: err.Error()})
		return
	}
	m.log.InfoContext(ctx, "backup deleted", "backup", a.BackupID)
	m.call(ctx, rpc.BackupDestroyed, rpc.BackupArgs{BackupID: a.BackupID})
}

// reconcileBackups settles the backups a restart interrupted, as Cinder's
// backup manager does on start: a backup being taken goes to error (its
// partial data removed) and its volume back to available; a restore
// leaves the backup available and the volume error_restoring; a delete
// is finished. It returns the volumes it settled.
func (m *Manager) reconcileBackups(ctx context.Context, backups []rpc.HostBackup) map[string]bool {
	settled := map[string]bool{}
	for _, b := range backups {
		switch b.Status {
		case volume.BackupCreating:
			data := rpc.BackupArgs{BackupID: b.ID, DataID: b.DataID}.Data()
			if m.opt.Backups != nil {
				if man, err := m.opt.Backups.Manifest(data); err == nil {
					// Complete before the crash (or an imported record
					// whose data is there): only the record was missing.
					m.backupUpdate(ctx, rpc.BackupUpdateArgs{BackupID: b.ID, From: []volume.BackupStatus{volume.BackupCreating}, Status: volume.BackupAvailable,
						ObjectCount: man.Written, VolumeID: b.VolumeID, VolumeFrom: []volume.Status{volume.StatusBackingUp}, VolumeStatus: volume.StatusAvailable})
					settled[b.VolumeID] = true
					continue
				}
				if !b.KeepData && data == b.ID {
					m.opt.Backups.Delete(data)
				}
			}
			m.backupUpdate(ctx, rpc.BackupUpdateArgs{BackupID: b.ID, From: []volume.BackupStatus{volume.BackupCreating}, Status: volume.BackupError,
				FailReason: "the backup was interrupted by a restart of the backup service", VolumeID: b.VolumeID,
				VolumeFrom: []volume.Status{volume.StatusBackingUp}, VolumeStatus: volume.StatusAvailable})
			settled[b.VolumeID] = true
		case volume.BackupRestoring:
			m.backupUpdate(ctx, rpc.BackupUpdateArgs{BackupID: b.ID, From: []volume.BackupStatus{volume.BackupRestoring}, Status: volume.BackupAvailable,
				VolumeID: b.RestoreVolumeID, VolumeFrom: []volume.Status{volume.StatusRestoringBackup, volume.StatusCreating},
				VolumeStatus: volume.StatusErrorRestoring, VolumeReason: "the restore was interrupted by a restart of the backup service"})
			settled[b.RestoreVolumeID] = true
		case volume.BackupDeleting:
			m.deleteBackup(ctx, rpc.BackupArgs{BackupID: b.ID, DataID: b.DataID, KeepData: b.KeepData})
		}
	}
	return settled
}

func containsStatus(ss []volume.Status, s volume.Status) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

type backupFile struct {
	*os.File
	size int64
}

// createFromBackup makes a new blank volume here and restores a backup
// into it (a restore to a new volume).
func (m *Manager) createFromBackup(ctx context.Context, a rpc.CreateArgs) {
	if err := m.drv.Create(ctx, a.VolumeID, a.Size); err != nil {
		m.log.WarnContext(ctx, "volume for a restore not created", "volume", a.VolumeID, "backup", a.BackupID, "err", err)
		m.backupUpdate(ctx, rpc.BackupUpdateArgs{BackupID: a.BackupID, From: []volume.BackupStatus{volume.BackupRestoring}, Status: volume.BackupAvailable,
			VolumeID: a.VolumeID, VolumeFrom: []volume.Status{volume.StatusCreating}, VolumeStatus: volume.StatusError, VolumeReason: err.Error()})
		return
	}
	m.restore(ctx, rpc.BackupArgs{BackupID: a.BackupID, DataID: a.BackupDataID, VolumeID: a.VolumeID}, []volume.Status{volume.StatusCreating})
}

// importBackup makes an imported backup record available once its data
// is found complete in the repository (error otherwise).
func (m *Manager) importBackup(ctx context.Context, a rpc.BackupArgs) {
	up := rpc.BackupUpdateArgs{BackupID: a.BackupID, From: []volume.BackupStatus{volume.BackupCreating}}
	if m.opt.Backups == nil {
		up.Status, up.FailReason = volume.BackupError, "the volume service has no backup repository"
		m.backupUpdate(ctx, up)
		return
	}
	man, err := m.opt.Backups.Manifest(a.Data())
	if err != nil {
		m.log.WarnContext(ctx, "imported backup has no data here", "backup", a.BackupID, "data", a.Data(), "err", err)
		up.Status, up.FailReason = volume.BackupError, err.Error()
		m.backupUpdate(ctx, up)
		return
	}
	m.log.InfoContext(ctx, "backup record imported", "backup", a.BackupID, "data", a.Data())
	up.Status, up.ObjectCount = volume.BackupAvailable, man.Written
	m.backupUpdate(ctx, up)
}

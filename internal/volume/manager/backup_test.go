package manager

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/volume/backup"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
)

// TestReconcileBackups starts a volume service after a crash in the
// middle of a backup, a restore and a backup delete: the backup being
// taken goes to error with its partial data removed and its volume back
// to available; the restore leaves the backup available and its target
// error_restoring; the delete is finished; a volume left backing-up with
// no backup goes back to available.
func TestReconcileBackups(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Options{Name: "reconcile-backups-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	var mu sync.Mutex
	backups := map[string]rpc.BackupUpdateArgs{}
	volumes := map[string]volume.Status{}
	destroyed := map[string]bool{}
	_, err = b.Serve(ctx, rpc.ManagerSubject, bus.ServeOptions{Queue: rpc.ManagerQueue}, map[string]bus.Handler{
		rpc.ServiceReport: func(context.Context, json.RawMessage) (any, error) { return nil, nil },
		rpc.VolumesOnHost: func(context.Context, json.RawMessage) (any, error) {
			return rpc.HostVolumes{Volumes: []rpc.HostVolume{
				{ID: "src", Size: 1, Status: volume.StatusBackingUp},
				{ID: "target", Size: 1, Status: volume.StatusRestoringBackup},
				{ID: "stale", Size: 1, Status: volume.StatusBackingUp},
			}, Backups: []rpc.HostBackup{
				{ID: "taking", VolumeID: "src", Status: volume.BackupCreating},
				{ID: "restoring", VolumeID: "x", Status: volume.BackupRestoring, RestoreVolumeID: "target"},
				{ID: "deleting", VolumeID: "x", Status: volume.BackupDeleting},
			}}, nil
		},
		rpc.VolumeUpdate: func(_ context.Context, raw json.RawMessage) (any, error) {
			a, _ := bus.Decode[rpc.UpdateArgs](raw)
			mu.Lock()
			volumes[a.VolumeID] = a.Status
			mu.Unlock()
			return nil, nil
		},
		rpc.BackupUpdate: func(_ context.Context, raw json.RawMessage) (any, error) {
			a, _ := bus.Decode[rpc.BackupUpdateArgs](raw)
			mu.Lock()
			backups[a.BackupID] = a
			mu.Unlock()
			return nil, nil
		},
		rpc.BackupDestroyed: func(_ context.Context, raw json.RawMessage) (any, error) {
			a, _ := bus.Decode[rpc.BackupArgs](raw)
			mu.Lock()
			destroyed[a.BackupID] = true
			mu.Unlock()
			return nil, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	repo, err := backup.New(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"taking", "deleting"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
		os.WriteFile(filepath.Join(root, d, "chunk-000000"), []byte("x"), 0o600)
	}
	drv := &memDriver{vols: map[string]int{"src": 1, "target": 1, "stale": 1}}
	m, err := New(Options{Host: "h@mem", Backups: repo, ConversionDir: t.TempDir()}, b, drv)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(ctx) })
	mu.Lock()
	defer mu.Unlock()
	if u := backups["taking"]; u.Status != volume.BackupError || u.VolumeID != "src" || u.VolumeStatus != volume.StatusAvailable {
		t.Errorf("backup being taken: %+v", u)
	}
	if u := backups["restoring"]; u.Status != volume.BackupAvailable || u.VolumeID != "target" || u.VolumeStatus != volume.StatusErrorRestoring {
		t.Errorf("restore: %+v", u)
	}
	if !destroyed["deleting"] {
		t.Error("the backup left deleting was not destroyed")
	}
	if volumes["stale"] != volume.StatusAvailable {
		t.Errorf("a volume left backing-up: %q", volumes["stale"])
	}
	if _, ok := volumes["src"]; ok {
		t.Errorf("the backup's volume was settled twice: %v", volumes["src"])
	}
	for _, d := range []string{"taking", "deleting"} {
		if _, err := os.Stat(filepath.Join(root, d)); !os.IsNotExist(err) {
			t.Errorf("%s: data left in the repository", d)
		}
	}
}

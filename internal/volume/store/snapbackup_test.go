package store

import (
	"context"
	"errors"
	"testing"

	"github.com/tenku-cloud/tenku/api/volume"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// TestBackupOfSnapshot: a backup of a snapshot moves the snapshot (not
// the volume) to backing-up in the insert's transaction, keeps the
// snapshot id, and is refused for a snapshot that is not available or
// belongs to another volume.
func TestBackupOfSnapshot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, sdb *pstore.DB) {
		ctx := context.Background()
		if _, err := sdb.Migrate(ctx, Migrations); err != nil {
			t.Fatal(err)
		}
		d := New(sdb)
		unlimited := Limits{Volumes: -1, Snapshots: -1, Gigabytes: -1, PerVolumeGigabytes: -1}
		v := &Volume{ID: "44444444-4444-4444-8444-444444444444", ProjectID: "p1", UserID: "u1", Size: 1, Status: volume.StatusInUse,
			AttachStatus: volume.Attached, AvailabilityZone: "nova", TypeID: "t", Host: "h@file#file"}
		if err := d.CreateVolumeWithin(ctx, v, unlimited); err != nil {
			t.Fatal(err)
		}
		s := &Snapshot{ID: "55555555-5555-4555-8555-555555555555", ProjectID: "p1", UserID: "u1", VolumeID: v.ID, Size: 1, Status: volume.SnapshotAvailable}
		if err := d.CreateSnapshotWithin(ctx, s, unlimited, []volume.Status{volume.StatusInUse}); err != nil {
			t.Fatal(err)
		}
		other := &Backup{ID: "66666666-6666-4666-8666-666666666666", ProjectID: "p1", UserID: "u1", VolumeID: "77777777-7777-4777-8777-777777777777",
			SnapshotID: s.ID, Status: volume.BackupCreating, Size: 1, Host: v.Host}
		if err := d.CreateBackupWithin(ctx, other, BackupLimits{Backups: -1, Gigabytes: -1}, nil, ""); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrState) {
			t.Fatalf("a backup naming another volume's snapshot: %v", err)
		}
		b := &Backup{ID: "88888888-8888-4888-8888-888888888888", ProjectID: "p1", UserID: "u1", VolumeID: v.ID, SnapshotID: s.ID,
			Status: volume.BackupCreating, Size: 1, Host: v.Host}
		lim := BackupLimits{Backups: -1, Gigabytes: -1}
		if err := d.CreateBackupWithin(ctx, b, lim, []volume.Status{volume.StatusAvailable, volume.StatusInUse}, ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.GetSnapshot(ctx, s.ID); got.Status != volume.SnapshotBackingUp {
			t.Fatalf("snapshot %s, want backing-up", got.Status)
		}
		if got, _ := d.GetVolume(ctx, v.ID); got.Status != volume.StatusInUse {
			t.Fatalf("volume %s, want in-use", got.Status)
		}
		if got, err := d.GetBackup(ctx, b.ID); err != nil || got.SnapshotID != s.ID {
			t.Fatalf("backup %+v %v", got, err)
		}
		b2 := &Backup{ID: "99999999-9999-4999-8999-999999999999", ProjectID: "p1", UserID: "u1", VolumeID: v.ID, SnapshotID: s.ID,
			Status: volume.BackupCreating, Size: 1, Host: v.Host}
		if err := d.CreateBackupWithin(ctx, b2, lim, []volume.Status{volume.StatusInUse}, ""); !errors.Is(err, ErrState) {
			t.Fatalf("a second backup of a backing-up snapshot: %v", err)
		}
	})
}

// TestTypeQuotasAndClasses: per-type limits count the project's volumes
// of the type and their snapshots; quota classes keep their limits.
func TestTypeQuotasAndClasses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, sdb *pstore.DB) {
		ctx := context.Background()
		if _, err := sdb.Migrate(ctx, Migrations); err != nil {
			t.Fatal(err)
		}
		d := New(sdb)
		l := Limits{Volumes: -1, Snapshots: -1, Gigabytes: -1, PerVolumeGigabytes: -1, TypeID: "gold-id", TypeName: "gold",
			TypeVolumes: 2, TypeSnapshots: 1, TypeGigabytes: 3}
		v := &Volume{ID: "a4444444-4444-4444-8444-444444444444", ProjectID: "p1", UserID: "u1", Size: 1, Status: volume.StatusAvailable,
			AttachStatus: volume.Detached, AvailabilityZone: "nova", TypeID: "gold-id", Host: "h@file#file"}
		if err := d.CreateVolumeWithin(ctx, v, l); err != nil {
			t.Fatal(err)
		}
		s := &Snapshot{ID: "a5555555-5555-4555-8555-555555555555", ProjectID: "p1", UserID: "u1", VolumeID: v.ID, Size: 1, Status: volume.SnapshotAvailable}
		if err := d.CreateSnapshotWithin(ctx, s, l, []volume.Status{volume.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		s2 := &Snapshot{ID: "a6666666-6666-4666-8666-666666666666", ProjectID: "p1", UserID: "u1", VolumeID: v.ID, Size: 1, Status: volume.SnapshotAvailable}
		var qe *QuotaError
		if err := d.CreateSnapshotWithin(ctx, s2, l, []volume.Status{volume.StatusAvailable}); !errors.As(err, &qe) || qe.Resource != "snapshots_gold" {
			t.Fatalf("second snapshot over snapshots_gold: %v", err)
		}
		v2 := &Volume{ID: "a7777777-7777-4777-8777-777777777777", ProjectID: "p1", UserID: "u1", Size: 2, Status: volume.StatusCreating,
			AttachStatus: volume.Detached, AvailabilityZone: "nova", TypeID: "gold-id"}
		if err := d.CreateVolumeWithin(ctx, v2, l); !errors.As(err, &qe) || qe.Resource != "gigabytes_gold" || qe.InUse != 2 {
			t.Fatalf("a volume over gigabytes_gold (1 volume + 1 snapshot in use): %v", err)
		}
		if u, err := d.ProjectTypeUsage(ctx, "p1", "gold-id"); err != nil || u.Volumes != 1 || u.Snapshots != 1 || u.Gigabytes != 2 {
			t.Fatalf("type usage %+v %v", u, err)
		}
		other := l
		other.TypeID, other.TypeName = "silver-id", "silver"
		v2.TypeID = "silver-id"
		if err := d.CreateVolumeWithin(ctx, v2, other); err != nil {
			t.Fatalf("a volume of another type: %v", err)
		}
		if err := d.SetQuotaClass(ctx, "default", "volumes", 5); err != nil {
			t.Fatal(err)
		}
		if err := d.SetQuotaClass(ctx, "default", "volumes", 6); err != nil {
			t.Fatal(err)
		}
		if q, err := d.QuotaClass(ctx, "default"); err != nil || q["volumes"] != 6 || len(q) != 1 {
			t.Fatalf("quota class %v %v", q, err)
		}
	})
}

package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// TestBackupsTransfersMessagesOnEveryEngine runs the backup, transfer,
// image metadata and message queries on SQLite, PostgreSQL and MariaDB:
// the backups quota refuses the second backup, an imported record shares
// its data directory, a transfer moves the volume under the recipient's
// quota, and messages list and expire.
func TestBackupsTransfersMessagesOnEveryEngine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, sdb *pstore.DB) {
		ctx := context.Background()
		if _, err := sdb.Migrate(ctx, Migrations); err != nil {
			t.Fatal(err)
		}
		d := New(sdb)
		unlimited := Limits{Volumes: -1, Snapshots: -1, Gigabytes: -1, PerVolumeGigabytes: -1}
		v := &Volume{ID: "11111111-1111-4111-8111-111111111111", ProjectID: "p1", UserID: "u1", Size: 1, Status: volume.StatusAvailable,
			AttachStatus: volume.Detached, AvailabilityZone: "nova", TypeID: "t", Host: "h@file#file",
			ImageMetadata: map[string]string{"image_id": "img"}}
		if err := d.CreateVolumeWithin(ctx, v, unlimited); err != nil {
			t.Fatal(err)
		}
		md, err := d.UpdateImageMetadata(ctx, v.ID, map[string]string{"k": "v"}, "")
		if err != nil || md["k"] != "v" || md["image_id"] != "img" {
			t.Fatalf("image metadata %v %v", md, err)
		}
		if _, err := d.UpdateImageMetadata(ctx, v.ID, nil, "missing"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unset a missing key: %v", err)
		}

		b := &Backup{ID: "22222222-2222-4222-8222-222222222222", ProjectID: "p1", UserID: "u1", VolumeID: v.ID, Status: volume.BackupCreating,
			Size: 1, Host: v.Host, VolumeMeta: BackupVolumeMeta{Bootable: true}}
		if err := d.CreateBackupWithin(ctx, b, BackupLimits{Backups: 1, Gigabytes: -1}, []volume.Status{volume.StatusAvailable}, volume.StatusBackingUp); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.GetVolume(ctx, v.ID); got.Status != volume.StatusBackingUp {
			t.Fatalf("volume %s", got.Status)
		}
		var qe *QuotaError
		b2 := &Backup{ID: "33333333-3333-4333-8333-333333333333", ProjectID: "p1", UserID: "u1", VolumeID: v.ID, Status: volume.BackupCreating, Size: 1, Host: v.Host}
		if err := d.CreateBackupWithin(ctx, b2, BackupLimits{Backups: 1, Gigabytes: -1}, []volume.Status{volume.StatusBackingUp}, ""); !errors.As(err, &qe) || qe.Resource != "backups" {
			t.Fatalf("over the backups quota: %v", err)
		}
		av := volume.BackupAvailable
		got, err := d.UpdateBackup(ctx, b.ID, []volume.BackupStatus{volume.BackupCreating}, BackupChange{Status: &av})
		if err != nil || got.Status != av || got.DataID != b.ID || !got.VolumeMeta.Bootable {
			t.Fatalf("update backup %+v %v", got, err)
		}
		if _, err := d.UpdateBackup(ctx, b.ID, []volume.BackupStatus{volume.BackupCreating}, BackupChange{Status: &av}); !errors.Is(err, ErrState) {
			t.Fatalf("CAS from a state it left: %v", err)
		}
		imp := &Backup{ID: b2.ID, ProjectID: "p2", UserID: "u2", VolumeID: v.ID, Status: volume.BackupCreating, Size: 1, Host: v.Host, DataID: b.ID}
		if err := d.ImportBackup(ctx, imp); err != nil {
			t.Fatal(err)
		}
		if err := d.ImportBackup(ctx, imp); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("second import: %v", err)
		}
		if shared, err := d.DataShared(ctx, b.ID, b.ID); err != nil || !shared {
			t.Fatalf("shared %v %v", shared, err)
		}
		if err := d.StartDeleteBackup(ctx, imp.ID, []volume.BackupStatus{volume.BackupCreating}); err != nil {
			t.Fatal(err)
		}
		if err := d.DestroyBackup(ctx, imp.ID); err != nil {
			t.Fatal(err)
		}
		if shared, _ := d.DataShared(ctx, b.ID, b.ID); shared {
			t.Fatal("a deleted import still shares the data")
		}
		if n, gb, err := d.ProjectBackupUsage(ctx, "p1"); err != nil || n != 1 || gb != 1 {
			t.Fatalf("usage %d %d %v", n, gb, err)
		}

		// Transfer the volume (back to available first) to p2.
		avail := volume.StatusAvailable
		if _, err := d.UpdateVolume(ctx, v.ID, nil, Change{Status: &avail}); err != nil {
			t.Fatal(err)
		}
		tr := &Transfer{ID: "44444444-4444-4444-8444-444444444444", VolumeID: v.ID, Salt: "s", CryptHash: "h", SourceProjectID: "p1"}
		if err := d.CreateTransfer(ctx, tr); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateTransfer(ctx, &Transfer{ID: "55555555-5555-4555-8555-555555555555", VolumeID: v.ID, Salt: "s", CryptHash: "h", SourceProjectID: "p1"}); !errors.Is(err, ErrState) {
			t.Fatalf("second transfer: %v", err)
		}
		if err := d.AcceptTransfer(ctx, tr, "p2", "u2", Limits{Volumes: 0, Snapshots: -1, Gigabytes: -1, PerVolumeGigabytes: -1}); !errors.As(err, &qe) {
			t.Fatalf("over the recipient's quota: %v", err)
		}
		if err := d.AcceptTransfer(ctx, tr, "p2", "u2", unlimited); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.GetVolume(ctx, v.ID); got.ProjectID != "p2" || got.Status != volume.StatusAvailable {
			t.Fatalf("transferred volume %+v", got)
		}
		if _, err := d.GetTransfer(ctx, tr.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("accepted transfer: %v", err)
		}

		m := &Message{ProjectID: "p2", ResourceType: "VOLUME", ResourceUUID: v.ID, EventID: EventID("VOLUME", "001", "003"), DetailID: "003"}
		if err := d.CreateMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		if ms, err := d.ListMessages(ctx, MessageFilter{ProjectID: "p2", ResourceUUID: v.ID}); err != nil || len(ms) != 1 || ms[0].Level != "ERROR" {
			t.Fatalf("messages %v %v", ms, err)
		}
		if err := d.DeleteExpiredMessages(ctx, m.ExpiresAt.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetMessage(ctx, m.ID); err != nil {
			t.Fatalf("a message removed before it expired: %v", err)
		}
		if err := d.DeleteExpiredMessages(ctx, m.ExpiresAt.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetMessage(ctx, m.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired message: %v", err)
		}
	})
}

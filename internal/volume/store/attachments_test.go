package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tenku-cloud/tenku/api/volume"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	s, err := pstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "cinder.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx, store.Migrations); err != nil {
		t.Fatal(err)
	}
	return store.New(s)
}

// TestAttachmentCAS: of concurrent attachments of a volume that is not
// multiattach exactly one wins; deleting the last attachment makes the
// volume available again, while a remaining attached one keeps a
// multiattach volume in use.
func TestAttachmentCAS(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	mk := func(id string, multi bool) {
		if err := db.CreateVolume(ctx, &store.Volume{ID: id, ProjectID: "p", UserID: "u", Size: 1, Status: volume.StatusAvailable,
			AttachStatus: volume.Detached, AvailabilityZone: "nova", TypeID: "t", Multiattach: multi}); err != nil {
			t.Fatal(err)
		}
	}
	mk("v1", false)
	move := store.VolumeMove{From: []volume.Status{volume.StatusAvailable, volume.StatusReserved}, Status: volume.StatusReserved, AttachStatus: volume.Reserved}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.CreateAttachment(ctx, &store.Attachment{VolumeID: "v1", Status: volume.Reserved}, move)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrState):
				lost++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != 7 {
		t.Fatalf("won %d lost %d", won, lost)
	}
	atts, err := db.ListAttachments(ctx, store.AttachmentFilter{VolumeIDs: []string{"v1"}})
	if err != nil || len(atts) != 1 {
		t.Fatalf("attachments %v %v", atts, err)
	}
	if _, err := db.DeleteAttachment(ctx, atts[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.GetVolume(ctx, "v1"); v.Status != volume.StatusAvailable || v.AttachStatus != volume.Detached {
		t.Fatalf("after delete %s/%s", v.Status, v.AttachStatus)
	}

	mk("v2", true)
	in := store.VolumeMove{From: []volume.Status{volume.StatusAvailable, volume.StatusInUse}, Status: volume.StatusInUse, AttachStatus: volume.Attached}
	a1 := &store.Attachment{VolumeID: "v2", Status: volume.Attached, InstanceUUID: "i1"}
	a2 := &store.Attachment{VolumeID: "v2", Status: volume.Attached, InstanceUUID: "i2"}
	for _, a := range []*store.Attachment{a1, a2} {
		if err := db.CreateAttachment(ctx, a, in); err != nil {
			t.Fatal(err)
		}
	}
	if a1.AttachedAt.IsZero() {
		t.Fatal("attached attachment has no attach time")
	}
	if _, err := db.DeleteAttachment(ctx, a1.ID, nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.GetVolume(ctx, "v2"); v.Status != volume.StatusInUse {
		t.Fatalf("multiattach after one delete %s", v.Status)
	}
	if _, err := db.DeleteAttachment(ctx, a1.ID, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete %v", err)
	}
	// A volume in a state the step may not leave is ErrState, and the
	// attachment is not changed.
	if _, err := db.UpdateVolume(ctx, "v2", nil, store.Change{Status: ptr(volume.StatusExtending)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteAttachment(ctx, a2.ID, []volume.Status{volume.StatusInUse}); !errors.Is(err, store.ErrState) {
		t.Fatalf("delete from extending %v", err)
	}
	if got, err := db.GetAttachment(ctx, a2.ID); err != nil || got.Status != volume.Attached {
		t.Fatalf("attachment after refused delete %+v %v", got, err)
	}
}

func ptr[T any](v T) *T { return &v }

package store

import (
	"context"
	"errors"
	"testing"

	"github.com/tenku-cloud/tenku/api/volume"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// TestEncryptionOnEveryEngine: a type has one encryption, changed only
// while no volume uses the type.
func TestEncryptionOnEveryEngine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, sdb *pstore.DB) {
		ctx := context.Background()
		if _, err := sdb.Migrate(ctx, Migrations); err != nil {
			t.Fatal(err)
		}
		d := New(sdb)
		typ := &Type{Name: "secret", IsPublic: true}
		if err := d.CreateType(ctx, typ); err != nil {
			t.Fatal(err)
		}
		size, cipher := 256, "aes-xts-plain64"
		e := &Encryption{TypeID: typ.ID, Provider: "luks", Cipher: &cipher, KeySize: &size, ControlLocation: "front-end"}
		if err := d.CreateEncryption(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateEncryption(ctx, &Encryption{TypeID: typ.ID, Provider: "luks", ControlLocation: "front-end"}); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("second encryption: %v", err)
		}
		got, err := d.UpdateEncryption(ctx, typ.ID, func(e *Encryption) { e.KeySize = nil; e.ControlLocation = "back-end" })
		if err != nil || got.KeySize != nil || got.ControlLocation != "back-end" || *got.Cipher != cipher {
			t.Fatalf("update %+v %v", got, err)
		}
		if got, err := d.GetEncryption(ctx, typ.ID); err != nil || got.ID != e.ID || got.KeySize != nil || got.Provider != "luks" {
			t.Fatalf("get %+v %v", got, err)
		}
		v := &Volume{ID: "11111111-1111-4111-8111-111111111111", ProjectID: "p1", UserID: "u1", Size: 1, Status: volume.StatusAvailable,
			AttachStatus: volume.Detached, AvailabilityZone: "nova", TypeID: typ.ID, Host: "h@file#file"}
		if err := d.CreateVolume(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteEncryption(ctx, typ.ID); !errors.Is(err, ErrState) {
			t.Fatalf("delete while in use: %v", err)
		}
		if _, err := d.UpdateEncryption(ctx, typ.ID, func(*Encryption) {}); !errors.Is(err, ErrState) {
			t.Fatalf("update while in use: %v", err)
		}
		if _, err := sdb.Exec(ctx, "UPDATE volumes SET deleted = ? WHERE id = ?", true, v.ID); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteEncryption(ctx, typ.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetEncryption(ctx, typ.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted: %v", err)
		}
		if err := d.DeleteEncryption(ctx, typ.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete again: %v", err)
		}
	})
}

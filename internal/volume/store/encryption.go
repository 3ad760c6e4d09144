package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Encryption is a volume type's encryption.
type Encryption struct {
	TypeID          string
	ID              string
	Provider        string
	Cipher          *string
	KeySize         *int
	ControlLocation string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

const encCols = "volume_type_id, encryption_id, provider, cipher, key_size, control_location, created_at, updated_at"

func scanEncryption(sc store.Row) (*Encryption, error) {
	var (
		e                Encryption
		cipher           sql.NullString
		size             sql.NullInt64
		created, updated store.Time
	)
	if err := sc.Scan(&e.TypeID, &e.ID, &e.Provider, &cipher, &size, &e.ControlLocation, &created, &updated); err != nil {
		return nil, err
	}
	if cipher.Valid {
		e.Cipher = &cipher.String
	}
	if size.Valid {
		n := int(size.Int64)
		e.KeySize = &n
	}
	e.CreatedAt, e.UpdatedAt = created.Time, updated.Time
	return &e, nil
}

func getEncryption(ctx context.Context, q store.Querier, typeID string) (*Encryption, error) {
	e, err := scanEncryption(q.QueryRow(ctx, "SELECT "+encCols+" FROM volume_type_encryption WHERE volume_type_id = ?", typeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return e, err
}

// GetEncryption returns a type's encryption, ErrNotFound if it has none.
func (d *DB) GetEncryption(ctx context.Context, typeID string) (*Encryption, error) {
	return getEncryption(ctx, d.s, typeID)
}

// typeInUse says whether live volumes have the type.
func typeInUse(ctx context.Context, tx *store.Tx, typeID string) error {
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM volumes WHERE deleted = ? AND volume_type_id = ?", false, typeID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return ErrState
	}
	return nil
}

func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// CreateEncryption gives a type its encryption: ErrDuplicate if it has
// one, ErrState if volumes use the type.
func (d *DB) CreateEncryption(ctx context.Context, e *Encryption) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	now := store.Now()
	e.CreatedAt, e.UpdatedAt = now, now
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		if _, err := getEncryption(ctx, tx, e.TypeID); err == nil {
			return ErrDuplicate
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := typeInUse(ctx, tx, e.TypeID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO volume_type_encryption ("+encCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			e.TypeID, e.ID, e.Provider, nullStr(e.Cipher), nullInt(e.KeySize), e.ControlLocation, store.TimeOf(now), store.TimeOf(now))
		return err
	})
	if err != nil && store.IsUnique(err) {
		return ErrDuplicate
	}
	return err
}

// UpdateEncryption changes a type's encryption with change: ErrNotFound if
// it has none, ErrState if volumes use the type.
func (d *DB) UpdateEncryption(ctx context.Context, typeID string, change func(*Encryption)) (*Encryption, error) {
	var out *Encryption
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		e, err := getEncryption(ctx, tx, typeID)
		if err != nil {
			return err
		}
		if err := typeInUse(ctx, tx, typeID); err != nil {
			return err
		}
		change(e)
		e.UpdatedAt = store.Now()
		_, err = tx.Exec(ctx, "UPDATE volume_type_encryption SET provider = ?, cipher = ?, key_size = ?, control_location = ?, updated_at = ? WHERE volume_type_id = ?",
			e.Provider, nullStr(e.Cipher), nullInt(e.KeySize), e.ControlLocation, store.TimeOf(e.UpdatedAt), typeID)
		out = e
		return err
	})
	return out, err
}

// DeleteEncryption removes a type's encryption: ErrNotFound if it has
// none, ErrState if volumes use the type.
func (d *DB) DeleteEncryption(ctx context.Context, typeID string) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if _, err := getEncryption(ctx, tx, typeID); err != nil {
			return err
		}
		if err := typeInUse(ctx, tx, typeID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM volume_type_encryption WHERE volume_type_id = ?", typeID)
		return err
	})
}

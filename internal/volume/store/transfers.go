package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Transfer is a row of transfers.
type Transfer struct {
	ID              string
	VolumeID        string
	Name            *string
	Salt            string
	CryptHash       string
	SourceProjectID string
	NoSnapshots     bool
	CreatedAt       time.Time
}

const transferCols = "id, volume_id, name, salt, crypt_hash, source_project_id, no_snapshots, created_at"

func scanTransfer(sc interface{ Scan(...any) error }) (*Transfer, error) {
	var (
		t       Transfer
		name    sql.NullString
		created store.Time
	)
	if err := sc.Scan(&t.ID, &t.VolumeID, &name, &t.Salt, &t.CryptHash, &t.SourceProjectID, &t.NoSnapshots, &created); err != nil {
		return nil, err
	}
	if name.Valid {
		t.Name = &name.String
	}
	t.CreatedAt = created.Time
	return &t, nil
}

// ErrSnapshotsBusy: a snapshot of the volume is not available.
var ErrSnapshotsBusy = errors.New("a snapshot of the volume is not available")

// CreateTransfer offers a volume: available → awaiting-transfer (CAS)
// with the insert; unless NoSnapshots every snapshot of the volume must
// be available (ErrSnapshotsBusy).
func (d *DB) CreateTransfer(ctx context.Context, t *Transfer) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		now := store.Now()
		q := "UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status = ?"
		if err := casRow(ctx, tx, "volumes", t.VolumeID, q, []any{string(volume.StatusAwaitingTransfer), store.TimeOf(now), t.VolumeID, false, string(volume.StatusAvailable)}); err != nil {
			return err
		}
		if !t.NoSnapshots {
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM snapshots WHERE volume_id = ? AND deleted = ? AND status <> ?", t.VolumeID, false, string(volume.SnapshotAvailable)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return ErrSnapshotsBusy
			}
		}
		t.CreatedAt = now
		_, err := tx.Exec(ctx, "INSERT INTO transfers ("+transferCols+", accepted, updated_at, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.VolumeID, nullStr(t.Name), t.Salt, t.CryptHash, t.SourceProjectID, t.NoSnapshots, store.TimeOf(now), false, store.TimeOf(now), false)
		if err != nil {
			return fmt.Errorf("create transfer: %w", err)
		}
		return nil
	})
}

// GetTransfer returns a live transfer.
func (d *DB) GetTransfer(ctx context.Context, id string) (*Transfer, error) {
	t, err := scanTransfer(d.s.QueryRow(ctx, "SELECT "+transferCols+" FROM transfers WHERE id = ? AND deleted = ?", id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get transfer: %w", err)
	}
	return t, nil
}

// ListTransfers returns the live transfers of a project's volumes (every
// project's when project is empty), oldest first.
func (d *DB) ListTransfers(ctx context.Context, project string) ([]*Transfer, error) {
	q := "SELECT " + transferCols + " FROM transfers WHERE deleted = ?"
	args := []any{false}
	if project != "" {
		q += " AND source_project_id = ?"
		args = append(args, project)
	}
	out, err := store.All(ctx, d.s, scanTransfer, q+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("list transfers: %w", err)
	}
	return out, nil
}

func endTransfer(ctx context.Context, tx *store.Tx, id string, accepted bool, dest string) error {
	now := store.TimeOf(store.Now())
	q := "UPDATE transfers SET deleted = ?, deleted_at = ?, updated_at = ?, accepted = ?, destination_project_id = ? WHERE id = ? AND deleted = ?"
	res, err := tx.Exec(ctx, q, true, now, now, accepted, store.NullString(dest), id, false)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteTransfer withdraws an offer: the transfer ends and its volume
// returns from awaiting-transfer to available.
func (d *DB) DeleteTransfer(ctx context.Context, t *Transfer) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := endTransfer(ctx, tx, t.ID, false, ""); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status = ?",
			string(volume.StatusAvailable), store.TimeOf(store.Now()), t.VolumeID, false, string(volume.StatusAwaitingTransfer))
		return err
	})
}

// AcceptTransfer gives a transfer's volume (and its snapshots, unless
// NoSnapshots) to project and user: the recipient's quotas are checked
// under its lock (a *QuotaError), the volume moves from awaiting-transfer
// to available in the new project, and the transfer ends, all in one
// transaction. It returns the volume's size.
func (d *DB) AcceptTransfer(ctx context.Context, t *Transfer, project, user string, l Limits) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if err := d.lockProject(ctx, tx, project); err != nil {
			return err
		}
		var size int
		var status string
		err := tx.QueryRow(ctx, "SELECT size, status FROM volumes WHERE id = ? AND deleted = ?", t.VolumeID, false).Scan(&size, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if status != string(volume.StatusAwaitingTransfer) {
			return ErrState
		}
		add := Usage{Volumes: 1, Gigabytes: int64(size)}
		if !t.NoSnapshots {
			var n int64
			var gb sql.NullInt64
			if err := tx.QueryRow(ctx, "SELECT COUNT(*), SUM(volume_size) FROM snapshots WHERE volume_id = ? AND deleted = ?", t.VolumeID, false).Scan(&n, &gb); err != nil {
				return err
			}
			add.Snapshots, add.Gigabytes = n, add.Gigabytes+gb.Int64
		}
		if l.PerVolumeGigabytes >= 0 && int64(size) > l.PerVolumeGigabytes {
			return &QuotaError{Resource: "per_volume_gigabytes", Limit: l.PerVolumeGigabytes, Asked: int64(size)}
		}
		if err := checkLimits(ctx, tx, project, l, add); err != nil {
			return err
		}
		now := store.TimeOf(store.Now())
		q := "UPDATE volumes SET project_id = ?, user_id = ?, status = ?, updated_at = ? WHERE id = ? AND deleted = ? AND status = ?"
		if err := casRow(ctx, tx, "volumes", t.VolumeID, q, []any{project, user, string(volume.StatusAvailable), now, t.VolumeID, false, string(volume.StatusAwaitingTransfer)}); err != nil {
			return err
		}
		if !t.NoSnapshots {
			if _, err := tx.Exec(ctx, "UPDATE snapshots SET project_id = ?, user_id = ?, updated_at = ? WHERE volume_id = ? AND deleted = ?", project, user, now, t.VolumeID, false); err != nil {
				return err
			}
		}
		return endTransfer(ctx, tx, t.ID, true, project)
	})
}

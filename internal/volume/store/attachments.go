package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Attachment is a volume attachment row: the volume, the instance it is
// attached to and the state of the attachment.
type Attachment struct {
	ID           string
	VolumeID     string
	InstanceUUID string
	Host         string
	Mountpoint   string
	Status       volume.AttachStatus
	// Mode is "rw" or "ro".
	Mode string
	// Connector is the host's connector (os-brick's properties); nil until
	// the attachment is updated with one.
	Connector map[string]any
	// ConnectionInfo is what the volume service answered for Connector.
	ConnectionInfo map[string]any
	CreatedAt      time.Time
	UpdatedAt      time.Time
	AttachedAt     time.Time
	DetachedAt     time.Time
}

const attCols = "id, volume_id, instance_uuid, attached_host, mountpoint, attach_status, attach_mode, connector, connection_info, " +
	"created_at, updated_at, attach_time, detach_time"

func scanAttachment(sc interface{ Scan(...any) error }) (*Attachment, error) {
	var (
		a                      Attachment
		inst, host, mount      store.NullString
		status                 string
		conn, info             sql.Null[store.JSON[map[string]any]]
		created, updated       store.Time
		attachedAt, detachedAt sql.Null[store.Time]
	)
	if err := sc.Scan(&a.ID, &a.VolumeID, &inst, &host, &mount, &status, &a.Mode, &conn, &info,
		&created, &updated, &attachedAt, &detachedAt); err != nil {
		return nil, err
	}
	a.InstanceUUID, a.Host, a.Mountpoint, a.Status = string(inst), string(host), string(mount), volume.AttachStatus(status)
	if conn.Valid {
		a.Connector = conn.V.V
	}
	if info.Valid {
		a.ConnectionInfo = info.V.V
	}
	a.CreatedAt, a.UpdatedAt = created.Time, updated.Time
	if attachedAt.Valid {
		a.AttachedAt = attachedAt.V.Time
	}
	if detachedAt.Valid {
		a.DetachedAt = detachedAt.V.Time
	}
	return &a, nil
}

func nullJSON(m map[string]any) any {
	if m == nil {
		return nil
	}
	return store.JSONOf(m)
}

// VolumeMove is the compare-and-swap of a volume's status that goes with an
// attachment change: the volume must be in one of From; it moves to Status
// and AttachStatus. An empty Status leaves the volume as it is.
type VolumeMove struct {
	From         []volume.Status
	Status       volume.Status
	AttachStatus volume.AttachStatus
}

// moveVolume applies m to a volume inside tx: ErrNotFound or ErrState when
// the volume is missing or in none of m.From.
func moveVolume(ctx context.Context, tx *store.Tx, id string, m VolumeMove) error {
	if m.Status == "" {
		return nil
	}
	q := "UPDATE volumes SET status = ?, attach_status = ?, updated_at = ? WHERE id = ? AND deleted = ?"
	args := []any{string(m.Status), string(m.AttachStatus), store.TimeOf(store.Now()), id, false}
	if len(m.From) > 0 {
		in, a := store.In(m.From)
		q += " AND status IN " + in
		args = append(args, a...)
	}
	res, err := tx.Exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var st string
		err := tx.QueryRow(ctx, "SELECT status FROM volumes WHERE id = ? AND deleted = ?", id, false).Scan(&st)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return ErrState
	}
	return nil
}

// CreateAttachment moves the attachment's volume as m says and inserts the
// attachment, in one transaction (an attachment made attached is stamped
// with its attach time). A volume that is not multiattach and
// already has a live attachment is ErrState whatever its status.
func (d *DB) CreateAttachment(ctx context.Context, a *Attachment, m VolumeMove) error {
	if a.ID == "" {
		a.ID = uuid.NewString()
	}
	if a.Mode == "" {
		a.Mode = "rw"
	}
	now := store.Now()
	a.CreatedAt, a.UpdatedAt = now, now
	if a.Status == volume.Attached && a.AttachedAt.IsZero() {
		a.AttachedAt = now
	}
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		var multi bool
		err := tx.QueryRow(ctx, "SELECT multiattach FROM volumes WHERE id = ? AND deleted = ?", a.VolumeID, false).Scan(&multi)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := moveVolume(ctx, tx, a.VolumeID, m); err != nil {
			return err
		}
		if !multi {
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM volume_attachments WHERE volume_id = ? AND deleted = ?", a.VolumeID, false).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return ErrState
			}
		}
		_, err = tx.Exec(ctx, "INSERT INTO volume_attachments ("+attCols+", deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			a.ID, a.VolumeID, store.NullString(a.InstanceUUID), store.NullString(a.Host), store.NullString(a.Mountpoint),
			string(a.Status), a.Mode, nullJSON(a.Connector), nullJSON(a.ConnectionInfo),
			store.TimeOf(now), store.TimeOf(now), nullTime(a.AttachedAt), nil, false)
		if err != nil {
			return fmt.Errorf("create attachment: %w", err)
		}
		return nil
	})
}

// GetAttachment returns a live attachment.
func (d *DB) GetAttachment(ctx context.Context, id string) (*Attachment, error) {
	a, err := scanAttachment(d.s.QueryRow(ctx, "SELECT "+attCols+" FROM volume_attachments WHERE id = ? AND deleted = ?", id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get attachment: %w", err)
	}
	return a, nil
}

// AttachmentFilter selects live attachments; empty fields select all.
type AttachmentFilter struct {
	VolumeIDs    []string
	InstanceUUID string
	Status       volume.AttachStatus
	// ProjectID limits the list to the volumes of one project.
	ProjectID string
}

// ListAttachments returns the live attachments the filter selects, oldest
// first.
func (d *DB) ListAttachments(ctx context.Context, f AttachmentFilter) ([]*Attachment, error) {
	where := []string{"deleted = ?"}
	args := []any{false}
	if len(f.VolumeIDs) > 0 {
		in, a := store.In(f.VolumeIDs)
		where, args = append(where, "volume_id IN "+in), append(args, a...)
	}
	if f.InstanceUUID != "" {
		where, args = append(where, "instance_uuid = ?"), append(args, f.InstanceUUID)
	}
	if f.Status != "" {
		where, args = append(where, "attach_status = ?"), append(args, string(f.Status))
	}
	if f.ProjectID != "" {
		where = append(where, "volume_id IN (SELECT id FROM volumes WHERE project_id = ? AND deleted = ?)")
		args = append(args, f.ProjectID, false)
	}
	out, err := store.All(ctx, d.s, scanAttachment, "SELECT "+attCols+" FROM volume_attachments WHERE "+strings.Join(where, " AND ")+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	return out, nil
}

// AttachmentChange is what UpdateAttachment sets; nil fields stay.
type AttachmentChange struct {
	Status         *volume.AttachStatus
	Host           *string
	Mountpoint     *string
	Mode           *string
	Connector      map[string]any
	ConnectionInfo map[string]any
	// Attached stamps attach_time.
	Attached bool
}

// UpdateAttachment applies c to a live attachment whose status is one of
// from (any when empty) and moves its volume as m says, in one
// transaction: a compare-and-swap of both.
func (d *DB) UpdateAttachment(ctx context.Context, id string, from []volume.AttachStatus, c AttachmentChange, m VolumeMove) (*Attachment, error) {
	now := store.Now()
	set := []string{"updated_at = ?"}
	args := []any{store.TimeOf(now)}
	if c.Status != nil {
		set, args = append(set, "attach_status = ?"), append(args, string(*c.Status))
	}
	if c.Host != nil {
		set, args = append(set, "attached_host = ?"), append(args, store.NullString(*c.Host))
	}
	if c.Mountpoint != nil {
		set, args = append(set, "mountpoint = ?"), append(args, store.NullString(*c.Mountpoint))
	}
	if c.Mode != nil {
		set, args = append(set, "attach_mode = ?"), append(args, *c.Mode)
	}
	if c.Connector != nil {
		set, args = append(set, "connector = ?"), append(args, store.JSONOf(c.Connector))
	}
	if c.ConnectionInfo != nil {
		set, args = append(set, "connection_info = ?"), append(args, store.JSONOf(c.ConnectionInfo))
	}
	if c.Attached {
		set, args = append(set, "attach_time = ?"), append(args, store.TimeOf(now))
	}
	q := "UPDATE volume_attachments SET " + strings.Join(set, ", ") + " WHERE id = ? AND deleted = ?"
	args = append(args, id, false)
	if len(from) > 0 {
		in, a := store.In(from)
		q += " AND attach_status IN " + in
		args = append(args, a...)
	}
	var out *Attachment
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		cur, err := scanAttachment(tx.QueryRow(ctx, "SELECT "+attCols+" FROM volume_attachments WHERE id = ? AND deleted = ?", id, false))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrState
		}
		if err := moveVolume(ctx, tx, cur.VolumeID, m); err != nil {
			return err
		}
		out, err = scanAttachment(tx.QueryRow(ctx, "SELECT "+attCols+" FROM volume_attachments WHERE id = ?", id))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrState) {
			return nil, err
		}
		return nil, fmt.Errorf("update attachment %s: %w", id, err)
	}
	return out, nil
}

// DeleteAttachment removes a live attachment and sets its volume's status
// from the attachments left: none is available (detached), any attached is
// in-use, otherwise reserved. The volume must be in one of from (any when
// empty). It returns the removed attachment.
func (d *DB) DeleteAttachment(ctx context.Context, id string, from []volume.Status) (*Attachment, error) {
	var out *Attachment
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		a, err := scanAttachment(tx.QueryRow(ctx, "SELECT "+attCols+" FROM volume_attachments WHERE id = ? AND deleted = ?", id, false))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		now := store.TimeOf(store.Now())
		if _, err := tx.Exec(ctx, "UPDATE volume_attachments SET deleted = ?, attach_status = ?, detach_time = ?, updated_at = ? WHERE id = ?",
			true, string(volume.Detached), now, now, id); err != nil {
			return err
		}
		var attached, other int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM volume_attachments WHERE volume_id = ? AND deleted = ? AND attach_status = ?",
			a.VolumeID, false, string(volume.Attached)).Scan(&attached); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM volume_attachments WHERE volume_id = ? AND deleted = ?",
			a.VolumeID, false).Scan(&other); err != nil {
			return err
		}
		m := VolumeMove{From: from, Status: volume.StatusAvailable, AttachStatus: volume.Detached}
		switch {
		case attached > 0:
			m.Status, m.AttachStatus = volume.StatusInUse, volume.Attached
		case other > 0:
			m.Status, m.AttachStatus = volume.StatusReserved, volume.Reserved
		}
		if err := moveVolume(ctx, tx, a.VolumeID, m); err != nil {
			return err
		}
		a.Status, a.DetachedAt = volume.Detached, now.Time
		out = a
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrState) {
			return nil, err
		}
		return nil, fmt.Errorf("delete attachment %s: %w", id, err)
	}
	return out, nil
}

// MoveVolume is a compare-and-swap of a volume's status and attach_status
// alone, for the attach steps that change no attachment (os-reserve,
// os-begin_detaching and their undoing).
func (d *DB) MoveVolume(ctx context.Context, id string, m VolumeMove) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error { return moveVolume(ctx, tx, id, m) })
}

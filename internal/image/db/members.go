package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Member is a project an image is shared with.
type Member struct {
	ImageID   string
	Member    string
	Status    image.MemberStatus
	CreatedAt time.Time
	UpdatedAt time.Time
}

const memberCols = "image_id, member, status, created_at, updated_at"

func scanMember(sc interface{ Scan(...any) error }) (*Member, error) {
	var m Member
	var st string
	var c, u store.Time
	if err := sc.Scan(&m.ImageID, &m.Member, &st, &c, &u); err != nil {
		return nil, err
	}
	m.Status, m.CreatedAt, m.UpdatedAt = image.MemberStatus(st), c.Time, u.Time
	return &m, nil
}

// AddMember shares an image with a project (status pending). limit bounds
// the members of one image (image_member_quota; negative: unlimited):
// reaching it is ErrLimit. An existing member is ErrDuplicate.
func (d *DB) AddMember(ctx context.Context, imageID, member string, limit int) (*Member, error) {
	now := store.Now()
	m := &Member{ImageID: imageID, Member: member, Status: image.MemberPending, CreatedAt: now, UpdatedAt: now}
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		if limit >= 0 {
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM image_members WHERE image_id = ?", imageID).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return ErrLimit
			}
		}
		_, err := tx.Exec(ctx, "INSERT INTO image_members ("+memberCols+") VALUES (?, ?, ?, ?, ?)",
			imageID, member, string(m.Status), store.TimeOf(now), store.TimeOf(now))
		if store.IsUnique(err) {
			return ErrDuplicate
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ErrLimit: a per-image quota (members) is reached.
var ErrLimit = errors.New("limit reached")

// GetMember returns one member of an image.
func (d *DB) GetMember(ctx context.Context, imageID, member string) (*Member, error) {
	m, err := scanMember(d.s.QueryRow(ctx, "SELECT "+memberCols+" FROM image_members WHERE image_id = ? AND member = ?", imageID, member))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get member %s of %s: %w", member, imageID, err)
	}
	return m, nil
}

// ListMembers returns the members of an image, oldest first.
func (d *DB) ListMembers(ctx context.Context, imageID string) ([]*Member, error) {
	out, err := store.All(ctx, d.s, scanMember, "SELECT "+memberCols+" FROM image_members WHERE image_id = ? ORDER BY created_at, member", imageID)
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", imageID, err)
	}
	return out, nil
}

// SetMemberStatus records a member's answer.
func (d *DB) SetMemberStatus(ctx context.Context, imageID, member string, st image.MemberStatus) (*Member, error) {
	now := store.Now()
	res, err := d.s.Exec(ctx, "UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member = ?",
		string(st), store.TimeOf(now), imageID, member)
	if err != nil {
		return nil, fmt.Errorf("update member %s of %s: %w", member, imageID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrNotFound
	}
	return d.GetMember(ctx, imageID, member)
}

// DeleteMember removes a member.
func (d *DB) DeleteMember(ctx context.Context, imageID, member string) error {
	res, err := d.s.Exec(ctx, "DELETE FROM image_members WHERE image_id = ? AND member = ?", imageID, member)
	if err != nil {
		return fmt.Errorf("delete member %s of %s: %w", member, imageID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Task is an asynchronous operation on an image.
type Task struct {
	ID        string
	Type      string
	Status    string
	Owner     string
	ImageID   string
	UserID    string
	RequestID string
	Input     map[string]any
	Result    map[string]any
	Message   string
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

const taskCols = "id, type, status, owner, image_id, user_id, request_id, input, result, message, expires_at, created_at, updated_at"

func scanTask(sc interface{ Scan(...any) error }) (*Task, error) {
	var t Task
	var owner, img, user, req, msg store.NullString
	var in, res store.JSON[map[string]any]
	var exp, c, u store.Time
	if err := sc.Scan(&t.ID, &t.Type, &t.Status, &owner, &img, &user, &req, &in, &res, &msg, &exp, &c, &u); err != nil {
		return nil, err
	}
	t.Owner, t.ImageID, t.UserID, t.RequestID, t.Message = string(owner), string(img), string(user), string(req), string(msg)
	t.Input, t.Result = in.V, res.V
	t.ExpiresAt, t.CreatedAt, t.UpdatedAt = exp.Time, c.Time, u.Time
	return &t, nil
}

// CreateTask records a new task.
func (d *DB) CreateTask(ctx context.Context, t *Task) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = store.Now()
	}
	t.UpdatedAt = t.CreatedAt
	_, err := d.s.Exec(ctx, "INSERT INTO tasks ("+taskCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		t.ID, t.Type, t.Status, store.NullString(t.Owner), store.NullString(t.ImageID), store.NullString(t.UserID),
		store.NullString(t.RequestID), store.JSONOf(t.Input), store.JSONOf(t.Result), store.NullString(t.Message),
		store.TimeOf(t.ExpiresAt), store.TimeOf(t.CreatedAt), store.TimeOf(t.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	return nil
}

// FinishTask moves a task to success or failure, with its result or
// message; expiresAt says when the record may go.
func (d *DB) FinishTask(ctx context.Context, id, status string, result map[string]any, message string, expiresAt time.Time) error {
	now := store.Now()
	_, err := d.s.Exec(ctx, "UPDATE tasks SET status = ?, result = ?, message = ?, expires_at = ?, updated_at = ? WHERE id = ?",
		status, store.JSONOf(result), store.NullString(message), store.TimeOf(expiresAt), store.TimeOf(now), id)
	if err != nil {
		return fmt.Errorf("finish task %s: %w", id, err)
	}
	return nil
}

// SetTaskStatus changes a task's status (pending → processing).
func (d *DB) SetTaskStatus(ctx context.Context, id, status string) error {
	_, err := d.s.Exec(ctx, "UPDATE tasks SET status = ?, updated_at = ? WHERE id = ?", status, store.TimeOf(store.Now()), id)
	return err
}

// TasksOfImage returns an image's tasks, newest first.
func (d *DB) TasksOfImage(ctx context.Context, imageID string) ([]*Task, error) {
	return d.tasks(ctx, "WHERE image_id = ? ORDER BY created_at DESC, id", imageID)
}

// TasksIn returns the tasks in the given statuses (for recovery).
func (d *DB) TasksIn(ctx context.Context, statuses ...string) ([]*Task, error) {
	in, args := store.In(statuses)
	return d.tasks(ctx, "WHERE status IN "+in+" ORDER BY created_at", args...)
}

// GetTask returns one task.
func (d *DB) GetTask(ctx context.Context, id string) (*Task, error) {
	ts, err := d.tasks(ctx, "WHERE id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, ErrNotFound
	}
	return ts[0], nil
}

func (d *DB) tasks(ctx context.Context, where string, args ...any) ([]*Task, error) {
	out, err := store.All(ctx, d.s, scanTask, "SELECT "+taskCols+" FROM tasks "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return out, nil
}

// ListTasks returns tasks newest first, an owner's (all with owner ""),
// after the task named by marker.
func (d *DB) ListTasks(ctx context.Context, owner, marker string, limit int) ([]*Task, error) {
	where := "WHERE 1 = 1"
	var args []any
	if owner != "" {
		where += " AND owner = ?"
		args = append(args, owner)
	}
	if marker != "" {
		m, err := d.GetTask(ctx, marker)
		if err != nil {
			return nil, err
		}
		where += " AND (created_at < ? OR (created_at = ? AND id < ?))"
		args = append(args, store.TimeOf(m.CreatedAt), store.TimeOf(m.CreatedAt), m.ID)
	}
	where += " ORDER BY created_at DESC, id DESC"
	if limit > 0 {
		where += fmt.Sprintf(" LIMIT %d", limit)
	}
	return d.tasks(ctx, where, args...)
}

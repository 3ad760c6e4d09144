package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Message is a user message.
type Message struct {
	ID           string
	ProjectID    string
	RequestID    string
	ResourceType string
	ResourceUUID string
	EventID      string
	DetailID     string
	Level        string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

const messageCols = "id, project_id, request_id, resource_type, resource_uuid, event_id, detail_id, message_level, created_at, expires_at"

func scanMessage(sc interface{ Scan(...any) error }) (*Message, error) {
	var (
		m                Message
		req, res, det    store.NullString
		created, expires store.Time
	)
	if err := sc.Scan(&m.ID, &m.ProjectID, &req, &m.ResourceType, &res, &m.EventID, &det, &m.Level, &created, &expires); err != nil {
		return nil, err
	}
	m.RequestID, m.ResourceUUID, m.DetailID = string(req), string(res), string(det)
	m.CreatedAt, m.ExpiresAt = created.Time, expires.Time
	return &m, nil
}

// EventID is Cinder's event id of a message:
// VOLUME_<resource type>_<action id>_<detail id>.
func EventID(resource, action, detail string) string {
	return fmt.Sprintf("VOLUME_%s_%s_%s", resource, action, detail)
}

// CreateMessage records a user message (ID and CreatedAt are filled in).
func (d *DB) CreateMessage(ctx context.Context, m *Message) error {
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = store.Now()
	}
	if m.ExpiresAt.IsZero() {
		m.ExpiresAt = m.CreatedAt.Add(d.MessageTTL)
	}
	if m.Level == "" {
		m.Level = "ERROR"
	}
	_, err := d.s.Exec(ctx, "INSERT INTO messages ("+messageCols+", deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		m.ID, m.ProjectID, store.NullString(m.RequestID), m.ResourceType, store.NullString(m.ResourceUUID), m.EventID,
		store.NullString(m.DetailID), m.Level, store.TimeOf(m.CreatedAt), store.TimeOf(m.ExpiresAt), false)
	if err != nil {
		return fmt.Errorf("create message: %w", err)
	}
	return nil
}

// GetMessage returns a live message.
func (d *DB) GetMessage(ctx context.Context, id string) (*Message, error) {
	m, err := scanMessage(d.s.QueryRow(ctx, "SELECT "+messageCols+" FROM messages WHERE id = ? AND deleted = ?", id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get message: %w", err)
	}
	return m, nil
}

// MessageFilter selects messages.
type MessageFilter struct {
	ProjectID                                             string
	EventID, ResourceType, ResourceUUID, Level, RequestID string
	Sort                                                  []SortKey
}

// MessageSortColumns maps the API's sort keys to columns.
var MessageSortColumns = map[string]string{
	"id": "id", "event_id": "event_id", "resource_type": "resource_type", "resource_uuid": "resource_uuid",
	"message_level": "message_level", "request_id": "request_id", "created_at": "created_at", "guaranteed_until": "expires_at",
}

// ListMessages returns the live messages the filter selects.
func (d *DB) ListMessages(ctx context.Context, f MessageFilter) ([]*Message, error) {
	where := []string{"deleted = ?"}
	args := []any{false}
	for col, v := range map[string]string{"project_id": f.ProjectID, "event_id": f.EventID, "resource_type": f.ResourceType,
		"resource_uuid": f.ResourceUUID, "message_level": f.Level, "request_id": f.RequestID} {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	order, err := orderBy(f.Sort, MessageSortColumns)
	if err != nil {
		return nil, err
	}
	out, err := store.All(ctx, d.s, scanMessage, "SELECT "+messageCols+" FROM messages WHERE "+strings.Join(where, " AND ")+" ORDER BY "+order, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// DeleteMessage removes a message.
func (d *DB) DeleteMessage(ctx context.Context, id string) error {
	res, err := d.s.Exec(ctx, "UPDATE messages SET deleted = ? WHERE id = ? AND deleted = ?", true, id, false)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteExpiredMessages removes the messages expired before now.
func (d *DB) DeleteExpiredMessages(ctx context.Context, now time.Time) error {
	_, err := d.s.Exec(ctx, "DELETE FROM messages WHERE expires_at < ?", store.TimeOf(now))
	return err
}

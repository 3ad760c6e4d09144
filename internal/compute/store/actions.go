package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// ActionStart is an instance action to record.
type ActionStart struct {
	Action       string
	InstanceUUID string
	RequestID    string
	UserID       string
	ProjectID    string
}

// StartAction records an action on an instance.
func (s *Store) StartAction(ctx context.Context, a ActionStart) (int64, error) {
	var id int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = s.startAction(ctx, tx, a)
		return err
	})
	return id, err
}

func (s *Store) startAction(ctx context.Context, q store.Querier, a ActionStart) (int64, error) {
	now := store.TimeOf(s.now())
	if _, err := q.Exec(ctx, `INSERT INTO instance_actions (action, instance_uuid, request_id, user_id, project_id, start_time, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.Action, a.InstanceUUID, a.RequestID, a.UserID, a.ProjectID, now, now); err != nil {
		return 0, wrap("insert action", err)
	}
	var id int64
	err := q.QueryRow(ctx, "SELECT MAX(id) FROM instance_actions WHERE instance_uuid = ? AND request_id = ?", a.InstanceUUID, a.RequestID).Scan(&id)
	return id, wrap("read action id", err)
}

// actionID finds the newest action of an instance for a request id.
func actionID(ctx context.Context, q store.Querier, uuid, requestID string) (int64, error) {
	var id sql.NullInt64
	err := q.QueryRow(ctx, "SELECT MAX(id) FROM instance_actions WHERE instance_uuid = ? AND request_id = ?", uuid, requestID).Scan(&id)
	if err != nil {
		return 0, err
	}
	if !id.Valid {
		return 0, nil
	}
	return id.Int64, nil
}

func (s *Store) startEvent(ctx context.Context, q store.Querier, uuid string, e EventRef) error {
	id, err := actionID(ctx, q, uuid, e.RequestID)
	if err != nil || id == 0 {
		// Nova fails with InstanceActionNotFound; an event without an action
		// is dropped instead, as there is nothing to show it under.
		return wrap("find action", err)
	}
	now := store.TimeOf(s.now())
	_, err = q.Exec(ctx, "INSERT INTO instance_actions_events (action_id, event, start_time, host) VALUES (?, ?, ?, ?)", id, e.Event, now, e.Host)
	if err != nil {
		return wrap("insert event", err)
	}
	_, err = q.Exec(ctx, "UPDATE instance_actions SET updated_at = ? WHERE id = ?", now, id)
	return err
}

func (s *Store) finishEvent(ctx context.Context, q store.Querier, uuid string, e EventRef) error {
	id, err := actionID(ctx, q, uuid, e.RequestID)
	if err != nil || id == 0 {
		return wrap("find action", err)
	}
	now := store.TimeOf(s.now())
	result := "Success"
	var tb any
	if e.Error != "" {
		result, tb = "Error", e.Error
	}
	res, err := q.Exec(ctx, `UPDATE instance_actions_events SET finish_time = ?, result = ?, traceback = ?
		WHERE action_id = ? AND event = ? AND finish_time IS NULL`, now, result, tb, id, e.Event)
	if err != nil {
		return wrap("finish event", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Finishing an event never started records it whole.
		if _, err := q.Exec(ctx, "INSERT INTO instance_actions_events (action_id, event, start_time, finish_time, result, traceback, host) VALUES (?, ?, ?, ?, ?, ?, ?)",
			id, e.Event, now, now, result, tb, e.Host); err != nil {
			return wrap("insert event", err)
		}
	}
	if e.Error != "" {
		_, err = q.Exec(ctx, "UPDATE instance_actions SET message = 'Error', updated_at = ? WHERE id = ?", now, id)
	} else {
		_, err = q.Exec(ctx, "UPDATE instance_actions SET updated_at = ? WHERE id = ?", now, id)
	}
	return err
}

const actionCols = "id, action, instance_uuid, request_id, user_id, project_id, start_time, finish_time, message, updated_at"

func scanAction(r scanner) (*objects.Action, error) {
	var a objects.Action
	var start, finish, updated store.Time
	if err := r.Scan(&a.ID, &a.Action, &a.InstanceUUID, &a.RequestID, &a.UserID, &a.ProjectID, &start, &finish, &a.Message, &updated); err != nil {
		return nil, err
	}
	a.StartTime, a.FinishTime, a.UpdatedAt = start.Time, finish.Time, updated.Time
	return &a, nil
}

// ActionFilter selects actions (2.58: changes-since, changes-before).
type ActionFilter struct {
	ChangesSince, ChangesBefore time.Time
}

// Actions lists an instance's actions, newest first.
func (s *Store) Actions(ctx context.Context, uuid string, f ActionFilter) ([]*objects.Action, error) {
	q := "SELECT " + actionCols + " FROM instance_actions WHERE instance_uuid = ?"
	args := []any{uuid}
	if !f.ChangesSince.IsZero() {
		q += " AND updated_at >= ?"
		args = append(args, store.TimeOf(f.ChangesSince))
	}
	if !f.ChangesBefore.IsZero() {
		q += " AND updated_at <= ?"
		args = append(args, store.TimeOf(f.ChangesBefore))
	}
	q += " ORDER BY start_time DESC, id DESC"
	out, err := store.All(ctx, s.db, scanAction, q, args...)
	if err != nil {
		return nil, wrap("list actions", err)
	}
	return out, nil
}

// Action returns an instance's action by request id, with its events.
func (s *Store) Action(ctx context.Context, uuid, requestID string) (*objects.Action, error) {
	a, err := scanAction(s.db.QueryRow(ctx, "SELECT "+actionCols+" FROM instance_actions WHERE instance_uuid = ? AND request_id = ? ORDER BY id DESC LIMIT 1", uuid, requestID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.NotFound("Action for request_id %s on instance %s not found", requestID, uuid).WithType("InstanceActionNotFound")
	}
	if err != nil {
		return nil, wrap("get action", err)
	}
	events, err := store.All(ctx, s.db, func(r store.Row) (objects.Event, error) {
		var e objects.Event
		var start, finish store.Time
		var tb, details sql.NullString
		err := r.Scan(&e.ID, &e.Event, &start, &finish, &e.Result, &tb, &e.Host, &details)
		e.ActionID, e.StartTime, e.FinishTime, e.Traceback, e.Details = a.ID, start.Time, finish.Time, tb.String, details.String
		return e, err
	}, "SELECT id, event, start_time, finish_time, result, traceback, host, details FROM instance_actions_events WHERE action_id = ? ORDER BY id", a.ID)
	if err != nil {
		return nil, wrap("list events", err)
	}
	a.Events = append([]objects.Event{}, events...)
	return a, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

const groupCols = "id, uuid, name, project_id, user_id, policy, rules, created_at"

func scanGroup(r scanner) (*objects.ServerGroup, error) {
	var g objects.ServerGroup
	var rules store.JSON[map[string]any]
	var created store.Time
	if err := r.Scan(&g.ID, &g.UUID, &g.Name, &g.ProjectID, &g.UserID, &g.Policy, &rules, &created); err != nil {
		return nil, err
	}
	g.Rules, g.CreatedAt = rules.V, created.Time
	if g.Rules == nil {
		g.Rules = map[string]any{}
	}
	return &g, nil
}

func groupNotFound(id string) error {
	return fault.NotFound("Instance group %s could not be found.", id).WithType("InstanceGroupNotFound")
}

// CreateServerGroup stores a server group if the project and user stay
// within their limits (-1: unlimited).
func (s *Store) CreateServerGroup(ctx context.Context, g *objects.ServerGroup, projectLimit, userLimit int) error {
	g.CreatedAt = s.now()
	r := &Reservation{ProjectID: g.ProjectID, UserID: g.UserID, Deltas: map[string]int{"server_groups": 1},
		ProjectLimits: map[string]int{"server_groups": projectLimit}, UserLimits: map[string]int{"server_groups": userLimit}}
	if err := s.prepareUsage(ctx, r); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := s.reserve(ctx, tx, r); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO instance_groups (uuid, name, project_id, user_id, policy, rules, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			g.UUID, g.Name, g.ProjectID, g.UserID, g.Policy, store.JSONOf(g.Rules), store.TimeOf(g.CreatedAt))
		if err != nil {
			return wrap("insert server group", err)
		}
		return tx.QueryRow(ctx, "SELECT id FROM instance_groups WHERE uuid = ?", g.UUID).Scan(&g.ID)
	})
}

// ServerGroup returns a group with its members.
func (s *Store) ServerGroup(ctx context.Context, uuid string) (*objects.ServerGroup, error) {
	g, err := scanGroup(s.db.QueryRow(ctx, "SELECT "+groupCols+" FROM instance_groups WHERE uuid = ?", uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, groupNotFound(uuid)
	}
	if err != nil {
		return nil, wrap("get server group", err)
	}
	m, err := s.groupMembers(ctx, []int64{g.ID})
	if err != nil {
		return nil, err
	}
	g.Members = m[g.ID]
	if g.Members == nil {
		g.Members = []string{}
	}
	return g, nil
}

// ServerGroupOf returns the group an instance belongs to, or nil.
func (s *Store) ServerGroupOf(ctx context.Context, instanceUUID string) (*objects.ServerGroup, error) {
	var uuid string
	err := s.db.QueryRow(ctx, "SELECT g.uuid FROM instance_groups g JOIN instance_group_member m ON m.group_id = g.id WHERE m.instance_uuid = ?", instanceUUID).Scan(&uuid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.ServerGroup(ctx, uuid)
}

func (s *Store) groupMembers(ctx context.Context, ids []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := store.In(ids)
	err := store.Each(ctx, s.db, func(r store.Row) error {
		var id int64
		var m string
		err := r.Scan(&id, &m)
		out[id] = append(out[id], m)
		return err
	}, "SELECT group_id, instance_uuid FROM instance_group_member WHERE group_id IN "+in+" ORDER BY instance_uuid", args...)
	if err != nil {
		return nil, wrap("list group members", err)
	}
	return out, nil
}

// ServerGroups lists groups of a project ("" lists all).
func (s *Store) ServerGroups(ctx context.Context, projectID string) ([]*objects.ServerGroup, error) {
	q := "SELECT " + groupCols + " FROM instance_groups"
	var args []any
	if projectID != "" {
		q += " WHERE project_id = ?"
		args = append(args, projectID)
	}
	q += " ORDER BY id"
	out, err := store.All(ctx, s.db, scanGroup, q, args...)
	if err != nil {
		return nil, wrap("list server groups", err)
	}
	ids := make([]int64, len(out))
	for i, g := range out {
		ids[i] = g.ID
	}
	m, err := s.groupMembers(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, g := range out {
		g.Members = m[g.ID]
		if g.Members == nil {
			g.Members = []string{}
		}
	}
	return out, nil
}

// DeleteServerGroup removes a group and gives its quota back.
func (s *Store) DeleteServerGroup(ctx context.Context, uuid string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		g, err := scanGroup(tx.QueryRow(ctx, "SELECT "+groupCols+" FROM instance_groups WHERE uuid = ?", uuid))
		if errors.Is(err, sql.ErrNoRows) {
			return groupNotFound(uuid)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM instance_group_member WHERE group_id = ?", g.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM instance_groups WHERE id = ?", g.ID); err != nil {
			return err
		}
		return s.release(ctx, tx, g.ProjectID, g.UserID, map[string]int{"server_groups": 1})
	})
}

// CountGroupMembers counts the members of a group.
func (s *Store) CountGroupMembers(ctx context.Context, groupID int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, "SELECT COUNT(*) FROM instance_group_member WHERE group_id = ?", groupID).Scan(&n)
	return n, err
}

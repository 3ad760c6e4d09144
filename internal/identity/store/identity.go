package store

import (
	"context"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// User is a local user.
type User struct {
	ID               string
	DomainID         string
	Name             string
	Enabled          bool
	DefaultProjectID string
	// Extra holds the free-form attributes (email, description, ...).
	Extra Extra
	// Options are Keystone's user options (ignore_lockout_failure_attempts, ...).
	Options         map[string]any
	CreatedAt       time.Time
	LastActiveAt    time.Time
	FailedAuthCount int
	FailedAuthAt    time.Time
	// PasswordExpiresAt is the expiry of the current password (zero: never).
	PasswordExpiresAt time.Time
	// HasPassword reports whether the user has a password at all.
	HasPassword bool
}

const userCols = "id, domain_id, name, enabled, default_project_id, extra, options, created_at, last_active_at, failed_auth_count, failed_auth_at, " +
	"(SELECT p.expires_at FROM password p WHERE p.user_id = users.id ORDER BY p.id DESC LIMIT 1), " +
	"(SELECT COUNT(*) FROM password p WHERE p.user_id = users.id)"

func scanUser(r pstore.Row) (*User, error) {
	var (
		u                         User
		defProj                   pstore.NullString
		extra, opts               pstore.JSON[map[string]any]
		created, active, failedAt pstore.Time
		pwExpires                 pstore.Time
		npw                       int
	)
	if err := r.Scan(&u.ID, &u.DomainID, &u.Name, &u.Enabled, &defProj, &extra, &opts, &created, &active,
		&u.FailedAuthCount, &failedAt, &pwExpires, &npw); err != nil {
		return nil, err
	}
	u.DefaultProjectID, u.Extra, u.Options = string(defProj), extraOf(extra), extraOf(opts)
	u.CreatedAt, u.LastActiveAt, u.FailedAuthAt, u.PasswordExpiresAt = created.Time, active.Time, failedAt.Time, pwExpires.Time
	u.HasPassword = npw > 0
	return &u, nil
}

// UserNotFound is Keystone's 404 for a user.
func UserNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find user: %s.", id).WithType("UserNotFound")
}

// CreateUser stores a new user.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = pstore.Now()
	}
	_, err := s.q.Exec(ctx, "INSERT INTO users (id, domain_id, name, enabled, default_project_id, extra, options, created_at, failed_auth_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
		u.ID, u.DomainID, u.Name, u.Enabled, nullStr(u.DefaultProjectID), pstore.JSONOf(u.Extra), pstore.JSONOf(u.Options), u.CreatedAt.UnixMicro())
	return conflict(err, "user", "Duplicate entry found with name "+u.Name+" at domain ID "+u.DomainID)
}

// GetUser returns a user by id.
func (s *Store) GetUser(ctx context.Context, id string) (*User, error) {
	u, err := scanUser(s.q.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
	return u, notFound(err, UserNotFound(id))
}

// GetUserByName returns a user by name within a domain.
func (s *Store) GetUserByName(ctx context.Context, name, domainID string) (*User, error) {
	u, err := scanUser(s.q.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE name = ? AND domain_id = ?", name, domainID))
	return u, notFound(err, UserNotFound(name))
}

// ListUsers returns every user, ordered by id; domainID, when given, limits
// them to a domain.
func (s *Store) ListUsers(ctx context.Context, domainID string) ([]*User, error) {
	q, args := "SELECT "+userCols+" FROM users", []any{}
	if domainID != "" {
		q += " WHERE domain_id = ?"
		args = append(args, domainID)
	}
	return pstore.All(ctx, s.q, scanUser, q+" ORDER BY id", args...)
}

// UpdateUser writes a user's mutable fields.
func (s *Store) UpdateUser(ctx context.Context, u *User) error {
	n, err := exec(ctx, s.q, "UPDATE users SET name = ?, enabled = ?, default_project_id = ?, extra = ?, options = ? WHERE id = ?",
		u.Name, u.Enabled, nullStr(u.DefaultProjectID), pstore.JSONOf(u.Extra), pstore.JSONOf(u.Options), u.ID)
	if err != nil {
		return conflict(err, "user", "Duplicate entry found with name "+u.Name+" at domain ID "+u.DomainID)
	}
	if n == 0 {
		return UserNotFound(u.ID)
	}
	return nil
}

// DeleteUser removes a user with its passwords and memberships.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "DELETE FROM users WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n == 0 {
		return UserNotFound(id)
	}
	return nil
}

// RecordFailedAuth counts a failed password check.
func (s *Store) RecordFailedAuth(ctx context.Context, id string, at time.Time) error {
	_, err := s.q.Exec(ctx, "UPDATE users SET failed_auth_count = failed_auth_count + 1, failed_auth_at = ? WHERE id = ?", at.UnixMicro(), id)
	return err
}

// RecordSuccessfulAuth clears the failure count and records activity.
func (s *Store) RecordSuccessfulAuth(ctx context.Context, id string, at time.Time) error {
	_, err := s.q.Exec(ctx, "UPDATE users SET failed_auth_count = 0, failed_auth_at = NULL, last_active_at = ? WHERE id = ?", at.UnixMicro(), id)
	return err
}

// ResetFailedAuth clears the failure count (a lockout that has passed).
func (s *Store) ResetFailedAuth(ctx context.Context, id string) error {
	_, err := s.q.Exec(ctx, "UPDATE users SET failed_auth_count = 0, failed_auth_at = NULL WHERE id = ?", id)
	return err
}

// Password is one entry of a user's password history.
type Password struct {
	ID          int64
	UserID      string
	Hash        string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	SelfService bool
}

// AddPassword makes hash the user's current password.
func (s *Store) AddPassword(ctx context.Context, p *Password) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = pstore.Now()
	}
	_, err := s.q.Exec(ctx, "INSERT INTO password (user_id, hash, created_at, expires_at, self_service) VALUES (?, ?, ?, ?, ?)",
		p.UserID, p.Hash, p.CreatedAt.UnixMicro(), micros(p.ExpiresAt), p.SelfService)
	return err
}

// Passwords returns a user's passwords, newest (the current one) first, at
// most limit of them (0: all).
func (s *Store) Passwords(ctx context.Context, userID string, limit int) ([]*Password, error) {
	q := "SELECT id, user_id, hash, created_at, expires_at, self_service FROM password WHERE user_id = ? ORDER BY id DESC"
	ps, err := pstore.All(ctx, s.q, func(r pstore.Row) (*Password, error) {
		var p Password
		var c, e pstore.Time
		err := r.Scan(&p.ID, &p.UserID, &p.Hash, &c, &e, &p.SelfService)
		p.CreatedAt, p.ExpiresAt = c.Time, e.Time
		return &p, err
	}, q, userID)
	if limit > 0 && len(ps) > limit {
		ps = ps[:limit]
	}
	return ps, err
}

// PrunePasswords keeps only the newest keep passwords of a user.
func (s *Store) PrunePasswords(ctx context.Context, userID string, keep int) error {
	ps, err := s.Passwords(ctx, userID, 0)
	if err != nil || len(ps) <= keep {
		return err
	}
	for _, p := range ps[keep:] {
		if _, err := s.q.Exec(ctx, "DELETE FROM password WHERE id = ?", p.ID); err != nil {
			return err
		}
	}
	return nil
}

// Group is a user group.
type Group struct {
	ID          string
	DomainID    string
	Name        string
	Description string
	Extra       Extra
}

const groupCols = "id, domain_id, name, description, extra"

func scanGroup(r pstore.Row) (*Group, error) {
	var g Group
	var desc pstore.NullString
	var extra pstore.JSON[map[string]any]
	err := r.Scan(&g.ID, &g.DomainID, &g.Name, &desc, &extra)
	g.Description, g.Extra = string(desc), extraOf(extra)
	return &g, err
}

// GroupNotFound is Keystone's 404 for a group.
func GroupNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find group: %s.", id).WithType("GroupNotFound")
}

// CreateGroup stores a new group.
func (s *Store) CreateGroup(ctx context.Context, g *Group) error {
	_, err := s.q.Exec(ctx, "INSERT INTO user_group ("+groupCols+") VALUES (?, ?, ?, ?, ?)",
		g.ID, g.DomainID, g.Name, nullStr(g.Description), pstore.JSONOf(g.Extra))
	return conflict(err, "group", "Duplicate entry found with name "+g.Name+" at domain ID "+g.DomainID)
}

// GetGroup returns a group by id.
func (s *Store) GetGroup(ctx context.Context, id string) (*Group, error) {
	g, err := scanGroup(s.q.QueryRow(ctx, "SELECT "+groupCols+" FROM user_group WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, GroupNotFound(id))
	}
	return g, nil
}

// ListGroups returns every group, ordered by id.
func (s *Store) ListGroups(ctx context.Context) ([]*Group, error) {
	return pstore.All(ctx, s.q, scanGroup, "SELECT "+groupCols+" FROM user_group ORDER BY id")
}

// UpdateGroup writes a group's mutable fields.
func (s *Store) UpdateGroup(ctx context.Context, g *Group) error {
	n, err := exec(ctx, s.q, "UPDATE user_group SET name = ?, description = ?, extra = ? WHERE id = ?",
		g.Name, nullStr(g.Description), pstore.JSONOf(g.Extra), g.ID)
	if err != nil {
		return conflict(err, "group", "Duplicate entry found with name "+g.Name+" at domain ID "+g.DomainID)
	}
	if n == 0 {
		return GroupNotFound(g.ID)
	}
	return nil
}

// DeleteGroup removes a group and its memberships.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "DELETE FROM user_group WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n == 0 {
		return GroupNotFound(id)
	}
	return nil
}

// AddMember puts a user in a group (idempotent).
func (s *Store) AddMember(ctx context.Context, userID, groupID string) error {
	_, err := s.q.Exec(ctx, s.db.InsertIgnore("membership", []string{"user_id", "group_id"}), userID, groupID)
	return err
}

// RemoveMember takes a user out of a group; false when it was not a member.
func (s *Store) RemoveMember(ctx context.Context, userID, groupID string) (bool, error) {
	n, err := exec(ctx, s.q, "DELETE FROM membership WHERE user_id = ? AND group_id = ?", userID, groupID)
	return n > 0, err
}

// IsMember reports whether a user is in a group.
func (s *Store) IsMember(ctx context.Context, userID, groupID string) (bool, error) {
	var n int
	err := s.q.QueryRow(ctx, "SELECT COUNT(*) FROM membership WHERE user_id = ? AND group_id = ?", userID, groupID).Scan(&n)
	return n > 0, err
}

// GroupIDsOfUser returns the ids of the groups a user is in.
func (s *Store) GroupIDsOfUser(ctx context.Context, userID string) ([]string, error) {
	return pstore.All(ctx, s.q, func(r pstore.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, "SELECT group_id FROM membership WHERE user_id = ? ORDER BY group_id", userID)
}

// UserIDsOfGroup returns the ids of a group's members.
func (s *Store) UserIDsOfGroup(ctx context.Context, groupID string) ([]string, error) {
	return pstore.All(ctx, s.q, func(r pstore.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, "SELECT user_id FROM membership WHERE group_id = ? ORDER BY user_id", groupID)
}

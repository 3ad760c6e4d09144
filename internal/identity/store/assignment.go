package store

import (
	"context"
	"strings"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// Role is a global role (DomainID empty) or a domain-specific one.
type Role struct {
	ID          string
	Name        string
	DomainID    string
	Description string
	Extra       Extra
	Options     map[string]any
}

const roleCols = "id, name, domain_id, description, extra, options"

func scanRole(r pstore.Row) (*Role, error) {
	var x Role
	var desc pstore.NullString
	var extra, opts pstore.JSON[map[string]any]
	if err := r.Scan(&x.ID, &x.Name, &x.DomainID, &desc, &extra, &opts); err != nil {
		return nil, err
	}
	if x.DomainID == nullDomain {
		x.DomainID = ""
	}
	x.Description, x.Extra, x.Options = string(desc), extraOf(extra), extraOf(opts)
	return &x, nil
}

func roleDomain(d string) string {
	if d == "" {
		return nullDomain
	}
	return d
}

// RoleNotFound is Keystone's 404 for a role.
func RoleNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find role: %s.", id).WithType("RoleNotFound")
}

// CreateRole stores a new role.
func (s *Store) CreateRole(ctx context.Context, r *Role) error {
	_, err := s.q.Exec(ctx, "INSERT INTO role ("+roleCols+") VALUES (?, ?, ?, ?, ?, ?)",
		r.ID, r.Name, roleDomain(r.DomainID), nullStr(r.Description), pstore.JSONOf(r.Extra), pstore.JSONOf(r.Options))
	return conflict(err, "role", "Duplicate entry found with name "+r.Name)
}

// GetRole returns a role by id.
func (s *Store) GetRole(ctx context.Context, id string) (*Role, error) {
	r, err := scanRole(s.q.QueryRow(ctx, "SELECT "+roleCols+" FROM role WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, RoleNotFound(id))
	}
	return r, nil
}

// ListRoles returns every role, ordered by id.
func (s *Store) ListRoles(ctx context.Context) ([]*Role, error) {
	return pstore.All(ctx, s.q, scanRole, "SELECT "+roleCols+" FROM role ORDER BY id")
}

// UpdateRole writes a role's mutable fields.
func (s *Store) UpdateRole(ctx context.Context, r *Role) error {
	n, err := exec(ctx, s.q, "UPDATE role SET name = ?, description = ?, extra = ?, options = ? WHERE id = ?",
		r.Name, nullStr(r.Description), pstore.JSONOf(r.Extra), pstore.JSONOf(r.Options), r.ID)
	if err != nil {
		return conflict(err, "role", "Duplicate entry found with name "+r.Name)
	}
	if n == 0 {
		return RoleNotFound(r.ID)
	}
	return nil
}

// DeleteRole removes a role, its implications and every assignment of it.
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	for _, q := range []string{
		"DELETE FROM assignment WHERE role_id = ?",
		"DELETE FROM implied_role WHERE prior_role_id = ? OR implied_role_id = ?",
		"DELETE FROM application_credential_role WHERE role_id = ?",
		"DELETE FROM trust_role WHERE role_id = ?",
	} {
		args := []any{id}
		if strings.Count(q, "?") == 2 {
			args = append(args, id)
		}
		if _, err := s.q.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	n, err := exec(ctx, s.q, "DELETE FROM role WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n == 0 {
		return RoleNotFound(id)
	}
	return nil
}

// ImpliedRole says that holding Prior grants Implied too.
type ImpliedRole struct {
	PriorID   string
	ImpliedID string
}

// ListImpliedRoles returns every implication.
func (s *Store) ListImpliedRoles(ctx context.Context) ([]ImpliedRole, error) {
	return pstore.All(ctx, s.q, func(r pstore.Row) (ImpliedRole, error) {
		var x ImpliedRole
		return x, r.Scan(&x.PriorID, &x.ImpliedID)
	}, "SELECT prior_role_id, implied_role_id FROM implied_role ORDER BY prior_role_id, implied_role_id")
}

// CreateImpliedRole stores an implication (idempotent).
func (s *Store) CreateImpliedRole(ctx context.Context, x ImpliedRole) error {
	_, err := s.q.Exec(ctx, s.db.InsertIgnore("implied_role", []string{"prior_role_id", "implied_role_id"}), x.PriorID, x.ImpliedID)
	return err
}

// DeleteImpliedRole removes an implication; false when there was none.
func (s *Store) DeleteImpliedRole(ctx context.Context, x ImpliedRole) (bool, error) {
	n, err := exec(ctx, s.q, "DELETE FROM implied_role WHERE prior_role_id = ? AND implied_role_id = ?", x.PriorID, x.ImpliedID)
	return n > 0, err
}

// Assignment kinds, as Keystone's assignment table names them.
const (
	UserProject  = "UserProject"
	GroupProject = "GroupProject"
	UserDomain   = "UserDomain"
	GroupDomain  = "GroupDomain"
	UserSystem   = "UserSystem"
	GroupSystem  = "GroupSystem"
)

// SystemTarget is the target id of system assignments.
const SystemTarget = "system"

// Assignment grants a role to a user or group on a project, domain or the
// system; Inherited ones apply to the target's subtree (OS-INHERIT).
type Assignment struct {
	Kind      string
	ActorID   string
	TargetID  string
	RoleID    string
	Inherited bool
}

// IsGroup reports whether the actor is a group.
func (a Assignment) IsGroup() bool { return strings.HasPrefix(a.Kind, "Group") }

// Grant stores an assignment (idempotent).
func (s *Store) Grant(ctx context.Context, a Assignment) error {
	_, err := s.q.Exec(ctx, s.db.InsertIgnore("assignment", []string{"kind", "actor_id", "target_id", "role_id", "inherited"}),
		a.Kind, a.ActorID, a.TargetID, a.RoleID, a.Inherited)
	return err
}

// Revoke removes an assignment; false when it did not exist.
func (s *Store) Revoke(ctx context.Context, a Assignment) (bool, error) {
	n, err := exec(ctx, s.q, "DELETE FROM assignment WHERE kind = ? AND actor_id = ? AND target_id = ? AND role_id = ? AND inherited = ?",
		a.Kind, a.ActorID, a.TargetID, a.RoleID, a.Inherited)
	return n > 0, err
}

// AssignmentFilter selects assignments; empty fields match everything.
type AssignmentFilter struct {
	Kinds     []string
	ActorIDs  []string
	TargetIDs []string
	RoleIDs   []string
	// Inherited, when not nil, selects inherited or direct assignments.
	Inherited *bool
}

// Assignments returns the assignments matching f.
func (s *Store) Assignments(ctx context.Context, f AssignmentFilter) ([]Assignment, error) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if vals == nil {
			return
		}
		q, a := pstore.In(vals)
		where = append(where, col+" IN "+q)
		args = append(args, a...)
	}
	in("kind", f.Kinds)
	in("actor_id", f.ActorIDs)
	in("target_id", f.TargetIDs)
	in("role_id", f.RoleIDs)
	if f.Inherited != nil {
		where = append(where, "inherited = ?")
		args = append(args, *f.Inherited)
	}
	q := "SELECT kind, actor_id, target_id, role_id, inherited FROM assignment"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY kind, actor_id, target_id, role_id"
	return pstore.All(ctx, s.q, func(r pstore.Row) (Assignment, error) {
		var a Assignment
		return a, r.Scan(&a.Kind, &a.ActorID, &a.TargetID, &a.RoleID, &a.Inherited)
	}, q, args...)
}

// DeleteAssignmentsOf removes every assignment whose actor or target is id
// (a deleted user, group, project or domain).
func (s *Store) DeleteAssignmentsOf(ctx context.Context, id string) error {
	_, err := s.q.Exec(ctx, "DELETE FROM assignment WHERE actor_id = ? OR target_id = ?", id, id)
	return err
}

package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Reservation asks for quota: Deltas of each counted resource for a project
// (and user), within the limits given (-1: unlimited; a missing limit is
// unlimited).
type Reservation struct {
	ProjectID     string
	UserID        string
	Deltas        map[string]int
	ProjectLimits map[string]int
	UserLimits    map[string]int
}

// OverQuota is a refused reservation; it becomes Nova's 403.
type OverQuota struct {
	Resources []string
	Requested map[string]int
	Used      map[string]int
	Limits    map[string]int
}

func (e *OverQuota) Error() string {
	var req, used, lim []string
	for _, r := range e.Resources {
		req = append(req, fmt.Sprint(e.Requested[r]))
		used = append(used, fmt.Sprint(e.Used[r]))
		lim = append(lim, fmt.Sprint(e.Limits[r]))
	}
	overs := strings.Join(e.Resources, ", ")
	return fmt.Sprintf("Quota exceeded for %s: Requested %s, but already used %s of %s %s", overs,
		strings.Join(req, ", "), strings.Join(used, ", "), strings.Join(lim, ", "), overs)
}

// Fault returns the 403 Nova answers.
func (e *OverQuota) Fault() *fault.Error {
	return fault.Forbidden("%s", e.Error()).WithType("OverQuota")
}

// AsOverQuota returns the OverQuota in err, if any.
func AsOverQuota(err error) (*OverQuota, bool) {
	var o *OverQuota
	ok := errors.As(err, &o)
	return o, ok
}

// Reserve takes quota outside any other change (resize, for one).
func (s *Store) Reserve(ctx context.Context, r *Reservation) error {
	if err := s.prepareUsage(ctx, r); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error { return s.reserve(ctx, tx, r) })
}

// reserve increments the usage counters, each only while it stays within its
// limit: a conditional UPDATE that holds the row, so concurrent reservations
// serialise on it and the second sees the first's increment.
func (s *Store) reserve(ctx context.Context, tx *store.Tx, r *Reservation) error {
	resources := make([]string, 0, len(r.Deltas))
	for k, d := range r.Deltas {
		if d != 0 {
			resources = append(resources, k)
		}
	}
	slices.Sort(resources) // a fixed order avoids deadlocks between reservations
	over := &OverQuota{Requested: map[string]int{}, Used: map[string]int{}, Limits: map[string]int{}}
	for _, res := range resources {
		d := r.Deltas[res]
		scopes := []struct {
			user  string
			limit int
		}{{"", limitOf(r.ProjectLimits, res)}}
		if r.UserID != "" {
			scopes = append(scopes, struct {
				user  string
				limit int
			}{r.UserID, limitOf(r.UserLimits, res)})
		}
		for _, sc := range scopes {
			if d < 0 || sc.limit < 0 {
				if _, err := tx.Exec(ctx, "UPDATE quota_usages SET in_use = in_use + ? WHERE project_id = ? AND user_id = ? AND resource = ?", d, r.ProjectID, sc.user, res); err != nil {
					return wrap("update usage", err)
				}
				continue
			}
			err := store.CAS(ctx, tx, "UPDATE quota_usages SET in_use = in_use + ? WHERE project_id = ? AND user_id = ? AND resource = ? AND in_use + ? <= ?",
				d, r.ProjectID, sc.user, res, d, sc.limit)
			if errors.Is(err, store.ErrConflict) {
				var used int
				tx.QueryRow(ctx, "SELECT in_use FROM quota_usages WHERE project_id = ? AND user_id = ? AND resource = ?", r.ProjectID, sc.user, res).Scan(&used)
				if !slices.Contains(over.Resources, res) {
					over.Resources = append(over.Resources, res)
					over.Requested[res], over.Used[res], over.Limits[res] = d, used, sc.limit
				}
				continue
			}
			if err != nil {
				return wrap("reserve quota", err)
			}
		}
	}
	if len(over.Resources) > 0 {
		return over
	}
	return nil
}

func limitOf(m map[string]int, res string) int {
	if v, ok := m[res]; ok {
		return v
	}
	return -1
}

// prepareUsage creates the usage rows a reservation updates, before and
// outside its transaction: inserting them inside would take locks that
// concurrent reservations upgrade in opposite orders (InnoDB deadlocks), and
// SQLite's single writer is busy inside a transaction.
func (s *Store) prepareUsage(ctx context.Context, r *Reservation) error {
	if r == nil {
		return nil
	}
	ins := s.db.InsertIgnore("quota_usages", []string{"project_id", "user_id", "resource", "in_use"})
	for res := range r.Deltas {
		users := []string{""}
		if r.UserID != "" {
			users = append(users, r.UserID)
		}
		for _, u := range users {
			var n int
			if err := s.db.QueryRow(ctx, "SELECT COUNT(*) FROM quota_usages WHERE project_id = ? AND user_id = ? AND resource = ?", r.ProjectID, u, res).Scan(&n); err != nil {
				return wrap("read usage", err)
			}
			if n > 0 {
				continue
			}
			if _, err := s.db.Exec(ctx, ins, r.ProjectID, u, res, 0); err != nil {
				return wrap("create usage", err)
			}
		}
	}
	return nil
}

// Release gives quota back (deltas are positive amounts to subtract).
func (s *Store) Release(ctx context.Context, projectID, userID string, amounts map[string]int) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error { return s.release(ctx, tx, projectID, userID, amounts) })
}

func (s *Store) release(ctx context.Context, tx *store.Tx, projectID, userID string, amounts map[string]int) error {
	keys := make([]string, 0, len(amounts))
	for k := range amounts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, res := range keys {
		for _, user := range []string{"", userID} {
			if _, err := tx.Exec(ctx, "UPDATE quota_usages SET in_use = CASE WHEN in_use > ? THEN in_use - ? ELSE 0 END WHERE project_id = ? AND user_id = ? AND resource = ?",
				amounts[res], amounts[res], projectID, user, res); err != nil {
				return wrap("release quota", err)
			}
			if userID == "" {
				break
			}
		}
	}
	return nil
}

// Usage returns the counted usage of a project (user "") or of one user.
func (s *Store) Usage(ctx context.Context, projectID, userID string) (map[string]int, error) {
	return s.perResource(ctx, "read usage", "SELECT resource, in_use FROM quota_usages WHERE project_id = ? AND user_id = ?", projectID, userID)
}

// RefreshUsage recounts the instance usage counters from the instances
// themselves (after a crash, or a manual edit of the database).
func (s *Store) RefreshUsage(ctx context.Context) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM quota_usages WHERE resource IN ('instances', 'cores', 'ram')"); err != nil {
			return err
		}
		type agg struct {
			p, u    string
			n, c, r int
		}
		all, err := store.All(ctx, tx, func(r store.Row) (agg, error) {
			var a agg
			err := r.Scan(&a.p, &a.u, &a.n, &a.c, &a.r)
			return a, err
		}, `SELECT project_id, user_id, COUNT(*), SUM(vcpus), SUM(memory_mb) FROM instances
			WHERE deleted = FALSE GROUP BY project_id, user_id`)
		if err != nil {
			return err
		}
		proj := map[string]*agg{}
		ins := "INSERT INTO quota_usages (project_id, user_id, resource, in_use) VALUES (?, ?, ?, ?)"
		for _, a := range all {
			for res, v := range map[string]int{"instances": a.n, "cores": a.c, "ram": a.r} {
				if _, err := tx.Exec(ctx, ins, a.p, a.u, res, v); err != nil {
					return err
				}
			}
			p := proj[a.p]
			if p == nil {
				p = &agg{p: a.p}
				proj[a.p] = p
			}
			p.n, p.c, p.r = p.n+a.n, p.c+a.c, p.r+a.r
		}
		for _, a := range proj {
			for res, v := range map[string]int{"instances": a.n, "cores": a.c, "ram": a.r} {
				if _, err := tx.Exec(ctx, ins, a.p, "", res, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Quotas returns the limits set for a project (user "") or for a user.
func (s *Store) Quotas(ctx context.Context, projectID, userID string) (map[string]int, error) {
	return s.perResource(ctx, "read quotas", "SELECT resource, hard_limit FROM quotas WHERE project_id = ? AND user_id = ?", projectID, userID)
}

// QuotaClass returns the limits of a quota class ("default").
func (s *Store) QuotaClass(ctx context.Context, class string) (map[string]int, error) {
	return s.perResource(ctx, "read quota class", "SELECT resource, hard_limit FROM quota_classes WHERE class_name = ?", class)
}

// perResource reads a query of (resource, number) rows into a map.
func (s *Store) perResource(ctx context.Context, op, q string, args ...any) (map[string]int, error) {
	out := map[string]int{}
	err := store.Each(ctx, s.db, func(r store.Row) error {
		var res string
		var n int
		err := r.Scan(&res, &n)
		out[res] = n
		return err
	}, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// SetQuotas sets limits of a project or user.
func (s *Store) SetQuotas(ctx context.Context, projectID, userID string, limits map[string]int) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		up := tx.D().Upsert("quotas", []string{"project_id", "user_id", "resource", "hard_limit"}, []string{"project_id", "user_id", "resource"}, []string{"hard_limit"})
		for r, v := range limits {
			if _, err := tx.Exec(ctx, up, projectID, userID, r, v); err != nil {
				return wrap("set quota", err)
			}
		}
		return nil
	})
}

// DeleteQuotas removes a project's (and its users') or one user's limits.
func (s *Store) DeleteQuotas(ctx context.Context, projectID, userID string) error {
	if userID == "" {
		_, err := s.db.Exec(ctx, "DELETE FROM quotas WHERE project_id = ?", projectID)
		return err
	}
	_, err := s.db.Exec(ctx, "DELETE FROM quotas WHERE project_id = ? AND user_id = ?", projectID, userID)
	return err
}

// SetQuotaClass sets limits of a quota class.
func (s *Store) SetQuotaClass(ctx context.Context, class string, limits map[string]int) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		up := tx.D().Upsert("quota_classes", []string{"class_name", "resource", "hard_limit"}, []string{"class_name", "resource"}, []string{"hard_limit"})
		for r, v := range limits {
			if _, err := tx.Exec(ctx, up, class, r, v); err != nil {
				return wrap("set quota class", err)
			}
		}
		return nil
	})
}

// CountKeypairs counts a user's key pairs.
func (s *Store) CountKeypairs(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, "SELECT COUNT(*) FROM key_pairs WHERE user_id = ?", userID).Scan(&n)
	return n, err
}

// CountServerGroups counts a project's (and a user's) server groups.
func (s *Store) CountServerGroups(ctx context.Context, projectID, userID string) (proj, user int, err error) {
	if err = s.db.QueryRow(ctx, "SELECT COUNT(*) FROM instance_groups WHERE project_id = ?", projectID).Scan(&proj); err != nil {
		return
	}
	err = s.db.QueryRow(ctx, "SELECT COUNT(*) FROM instance_groups WHERE project_id = ? AND user_id = ?", projectID, userID).Scan(&user)
	return
}

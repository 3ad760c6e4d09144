package store

import (
	"context"
	"time"

	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// QuotaLimits returns a project's overridden limits by resource.
func (q Q) QuotaLimits(ctx context.Context, project string) (map[string]int, error) {
	out := map[string]int{}
	err := pstore.Each(ctx, q.q, func(r pstore.Row) error {
		var res string
		var n int
		err := r.Scan(&res, &n)
		out[res] = n
		return err
	}, "SELECT resource_name, hard_limit FROM quotas WHERE project_id = ?", project)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// QuotaProjects returns every project with overridden limits, and them.
func (q Q) QuotaProjects(ctx context.Context) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	err := pstore.Each(ctx, q.q, func(r pstore.Row) error {
		var p, res string
		var n int
		if err := r.Scan(&p, &res, &n); err != nil {
			return err
		}
		if out[p] == nil {
			out[p] = map[string]int{}
		}
		out[p][res] = n
		return nil
	}, "SELECT project_id, resource_name, hard_limit FROM quotas ORDER BY project_id")
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetQuota overrides one limit of a project.
func (q Q) SetQuota(ctx context.Context, project, resource string, limit int) error {
	_, err := q.q.Exec(ctx, q.d.Upsert("quotas", []string{"project_id", "resource_name", "hard_limit"},
		[]string{"project_id", "resource_name"}, []string{"hard_limit"}), project, resource, limit)
	return err
}

// ResetQuotas drops a project's overrides.
func (q Q) ResetQuotas(ctx context.Context, project string) error {
	_, err := q.q.Exec(ctx, "DELETE FROM quotas WHERE project_id = ?", project)
	return err
}

// LockQuota makes the transaction q the only one counting the project's
// resources against its quotas until it ends: it upserts the project's row
// of quota_locks, which PostgreSQL and MariaDB lock to the end of the
// transaction, so that a count taken afterwards (a fresh snapshot under
// READ COMMITTED) sees every creation committed before. SQLite needs no
// lock: its one writer runs transactions one at a time.
func (q Q) LockQuota(ctx context.Context, project string) error {
	if q.d.Dialect == pstore.SQLite {
		return nil
	}
	_, err := q.q.Exec(ctx, q.d.Upsert("quota_locks", []string{"project_id", "locked_at"}, []string{"project_id"}, []string{"locked_at"}),
		project, time.Now().UnixMicro())
	return err
}

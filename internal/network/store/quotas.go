package store

import "context"

// QuotaLimits returns a project's overridden limits by resource.
func (q Q) QuotaLimits(ctx context.Context, project string) (map[string]int, error) {
	rows, err := q.q.Query(ctx, "SELECT resource_name, hard_limit FROM quotas WHERE project_id = ?", project)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			return nil, err
		}
		out[r] = n
	}
	return out, rows.Err()
}

// QuotaProjects returns every project with overridden limits, and them.
func (q Q) QuotaProjects(ctx context.Context) (map[string]map[string]int, error) {
	rows, err := q.q.Query(ctx, "SELECT project_id, resource_name, hard_limit FROM quotas ORDER BY project_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var p, r string
		var n int
		if err := rows.Scan(&p, &r, &n); err != nil {
			return nil, err
		}
		if out[p] == nil {
			out[p] = map[string]int{}
		}
		out[p][r] = n
	}
	return out, rows.Err()
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

package store

import (
	"context"
	"database/sql"
	"errors"

	netapi "github.com/tenku-cloud/tenku/api/network"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

const poolCols = `id, project_id, name, description, ip_version, prefixes, default_prefixlen, min_prefixlen, max_prefixlen,
	default_quota, shared, is_default, address_scope_id, revision_number, created_at, updated_at`

var poolFilters = map[string]column{
	"id": {"id"}, "name": {"name"}, "description": {"description"}, "project_id": {"project_id"}, "tenant_id": {"project_id"},
	"ip_version": {"ip_version"}, "shared": {"shared"}, "is_default": {"is_default"}, "address_scope_id": {"address_scope_id"},
	"default_prefixlen": {"default_prefixlen"}, "min_prefixlen": {"min_prefixlen"}, "max_prefixlen": {"max_prefixlen"},
	"revision_number": {"revision_number"},
}

func scanPool(sc interface{ Scan(...any) error }) (*netapi.SubnetPool, error) {
	var p netapi.SubnetPool
	var prefixes string
	var quota sql.NullInt64
	var scope sql.NullString
	var created, updated pstore.Time
	if err := sc.Scan(&p.ID, &p.ProjectID, &p.Name, &p.Description, &p.IPVersion, &prefixes, &p.DefaultPrefixLen,
		&p.MinPrefixLen, &p.MaxPrefixLen, &quota, &p.Shared, &p.IsDefault, &scope, &p.RevisionNumber, &created, &updated); err != nil {
		return nil, err
	}
	p.TenantID = p.ProjectID
	p.Prefixes = decodeList[string](prefixes)
	p.DefaultQuota = intPtr(quota)
	p.AddressScopeID = strPtr(scope)
	p.Tags = []string{}
	p.CreatedAt, p.UpdatedAt = fmtTime(created), fmtTime(updated)
	return &p, nil
}

// InsertSubnetPool stores a subnet pool.
func (q Q) InsertSubnetPool(ctx context.Context, p *netapi.SubnetPool) error {
	now := pstore.TimeOf(Now())
	_, err := q.q.Exec(ctx, "INSERT INTO subnetpools ("+poolCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		p.ID, p.ProjectID, p.Name, p.Description, p.IPVersion, jsonText(p.Prefixes), p.DefaultPrefixLen, p.MinPrefixLen,
		p.MaxPrefixLen, intArg(p.DefaultQuota), p.Shared, p.IsDefault, nullStr(p.AddressScopeID), p.RevisionNumber, now, now)
	if err == nil {
		p.CreatedAt, p.UpdatedAt = fmtTime(now), fmtTime(now)
	}
	return err
}

// UpdateSubnetPool writes a pool's mutable attributes.
func (q Q) UpdateSubnetPool(ctx context.Context, p *netapi.SubnetPool, rev int64) error {
	now := pstore.TimeOf(Now())
	err := q.cas(ctx, "subnetpools", p.ID, rev, `UPDATE subnetpools SET name = ?, description = ?, prefixes = ?, default_prefixlen = ?,
		min_prefixlen = ?, max_prefixlen = ?, default_quota = ?, is_default = ?, address_scope_id = ?, revision_number = ?,
		updated_at = ? WHERE id = ? AND revision_number = ?`,
		p.Name, p.Description, jsonText(p.Prefixes), p.DefaultPrefixLen, p.MinPrefixLen, p.MaxPrefixLen, intArg(p.DefaultQuota),
		p.IsDefault, nullStr(p.AddressScopeID), rev+1, now, p.ID, rev)
	if err == nil {
		p.RevisionNumber = rev + 1
		p.UpdatedAt = fmtTime(now)
	}
	return err
}

// SubnetPool reads one pool.
func (q Q) SubnetPool(ctx context.Context, id string) (*netapi.SubnetPool, error) {
	p, err := scanPool(q.q.QueryRow(ctx, "SELECT "+poolCols+" FROM subnetpools WHERE id = ?"+q.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	tags, err := q.Tags(ctx, id)
	p.Tags = tags
	return p, err
}

// SubnetPools lists pools; a project sees its own and shared ones.
func (q Q) SubnetPools(ctx context.Context, s Scope, filters []Filter) ([]*netapi.SubnetPool, error) {
	var w where
	if !s.All {
		w.add("(project_id = ? OR shared = ?)", s.ProjectID, true)
	}
	if err := applyFilters(&w, "subnetpools", "subnetpools.id", poolFilters, filters); err != nil {
		return nil, err
	}
	out, err := pstore.All(ctx, q.q, scanPool, "SELECT "+poolCols+" FROM subnetpools"+w.sql()+" ORDER BY created_at, id", w.args...)
	if err != nil {
		return nil, err
	}
	if err := addTags(ctx, q, "subnetpools", out, false, func(p *netapi.SubnetPool) (string, *[]string) { return p.ID, &p.Tags }); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSubnetPool removes a pool.
func (q Q) DeleteSubnetPool(ctx context.Context, id string) error {
	if _, err := q.q.Exec(ctx, "DELETE FROM tags WHERE resource_id = ?", id); err != nil {
		return err
	}
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM subnetpools WHERE id = ?", id))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountPoolSubnets counts the subnets allocated from a pool.
func (q Q) CountPoolSubnets(ctx context.Context, id string) (int, error) {
	return q.count(ctx, "SELECT COUNT(*) FROM subnets WHERE subnetpool_id = ?", id)
}

var scopeFilters = map[string]column{
	"id": {"id"}, "name": {"name"}, "project_id": {"project_id"}, "tenant_id": {"project_id"},
	"ip_version": {"ip_version"}, "shared": {"shared"},
}

// InsertAddressScope stores an address scope.
func (q Q) InsertAddressScope(ctx context.Context, a *netapi.AddressScope) error {
	now := pstore.TimeOf(Now())
	_, err := q.q.Exec(ctx, "INSERT INTO address_scopes (id, project_id, name, ip_version, shared, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		a.ID, a.ProjectID, a.Name, a.IPVersion, a.Shared, now, now)
	return err
}

// UpdateAddressScope writes name and shared.
func (q Q) UpdateAddressScope(ctx context.Context, a *netapi.AddressScope) error {
	n, err := rowsAffected(q.q.Exec(ctx, "UPDATE address_scopes SET name = ?, shared = ?, updated_at = ? WHERE id = ?",
		a.Name, a.Shared, pstore.TimeOf(Now()), a.ID))
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

func scanScope(sc interface{ Scan(...any) error }) (*netapi.AddressScope, error) {
	var a netapi.AddressScope
	if err := sc.Scan(&a.ID, &a.ProjectID, &a.Name, &a.IPVersion, &a.Shared); err != nil {
		return nil, err
	}
	a.TenantID = a.ProjectID
	return &a, nil
}

// AddressScope reads one scope.
func (q Q) AddressScope(ctx context.Context, id string) (*netapi.AddressScope, error) {
	a, err := scanScope(q.q.QueryRow(ctx, "SELECT id, project_id, name, ip_version, shared FROM address_scopes WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return a, err
}

// AddressScopes lists scopes; a project sees its own and shared ones.
func (q Q) AddressScopes(ctx context.Context, s Scope, filters []Filter) ([]*netapi.AddressScope, error) {
	var w where
	if !s.All {
		w.add("(project_id = ? OR shared = ?)", s.ProjectID, true)
	}
	if err := applyFilters(&w, "address_scopes", "address_scopes.id", scopeFilters, filters); err != nil {
		return nil, err
	}
	return pstore.All(ctx, q.q, scanScope, "SELECT id, project_id, name, ip_version, shared FROM address_scopes"+w.sql()+" ORDER BY created_at, id", w.args...)
}

// AddressScopeInUse reports whether a pool uses the scope.
func (q Q) AddressScopeInUse(ctx context.Context, id string) (bool, error) {
	n, err := q.count(ctx, "SELECT COUNT(*) FROM subnetpools WHERE address_scope_id = ?", id)
	return n > 0, err
}

// DeleteAddressScope removes a scope.
func (q Q) DeleteAddressScope(ctx context.Context, id string) error {
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM address_scopes WHERE id = ?", id))
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

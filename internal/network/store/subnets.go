package store

import (
	"context"
	"database/sql"
	"errors"

	netapi "github.com/tenku-cloud/tenku/api/network"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

const subnetCols = `id, project_id, network_id, name, description, ip_version, cidr, gateway_ip, enable_dhcp, ipv6_ra_mode,
	ipv6_address_mode, subnetpool_id, allocation_pools, host_routes, dns_nameservers, service_types, revision_number, created_at, updated_at`

var subnetFilters = map[string]column{
	"id": {"id"}, "name": {"name"}, "description": {"description"}, "project_id": {"project_id"}, "tenant_id": {"project_id"},
	"network_id": {"network_id"}, "ip_version": {"ip_version"}, "cidr": {"cidr"}, "gateway_ip": {"gateway_ip"},
	"enable_dhcp": {"enable_dhcp"}, "ipv6_ra_mode": {"ipv6_ra_mode"}, "ipv6_address_mode": {"ipv6_address_mode"},
	"subnetpool_id": {"subnetpool_id"}, "revision_number": {"revision_number"},
}

func scanSubnet(sc interface{ Scan(...any) error }) (*netapi.Subnet, error) {
	var s netapi.Subnet
	var gw, ra, am, pool sql.NullString
	var pools, routes, dns, stypes string
	var created, updated pstore.Time
	err := sc.Scan(&s.ID, &s.ProjectID, &s.NetworkID, &s.Name, &s.Description, &s.IPVersion, &s.CIDR, &gw, &s.EnableDHCP,
		&ra, &am, &pool, &pools, &routes, &dns, &stypes, &s.RevisionNumber, &created, &updated)
	if err != nil {
		return nil, err
	}
	s.TenantID = s.ProjectID
	s.GatewayIP, s.IPv6RAMode, s.IPv6AddressMode, s.SubnetPoolID = strPtr(gw), strPtr(ra), strPtr(am), strPtr(pool)
	s.AllocationPools = decodeList[netapi.AllocationPool](pools)
	s.HostRoutes = decodeList[netapi.HostRoute](routes)
	s.DNSNameservers = decodeList[string](dns)
	s.ServiceTypes = decodeList[string](stypes)
	s.Tags = []string{}
	s.CreatedAt, s.UpdatedAt = fmtTime(created), fmtTime(updated)
	return &s, nil
}

// InsertSubnet stores a new subnet.
func (q Q) InsertSubnet(ctx context.Context, s *netapi.Subnet) error {
	now := pstore.TimeOf(Now())
	_, err := q.q.Exec(ctx, "INSERT INTO subnets ("+subnetCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, s.ProjectID, s.NetworkID, s.Name, s.Description, s.IPVersion, s.CIDR, nullStr(s.GatewayIP), s.EnableDHCP,
		nullStr(s.IPv6RAMode), nullStr(s.IPv6AddressMode), nullStr(s.SubnetPoolID), jsonText(s.AllocationPools),
		jsonText(s.HostRoutes), jsonText(s.DNSNameservers), jsonText(s.ServiceTypes), s.RevisionNumber, now, now)
	if err == nil {
		s.CreatedAt, s.UpdatedAt = fmtTime(now), fmtTime(now)
	}
	return err
}

// UpdateSubnet writes a subnet's mutable attributes if its revision is still rev.
func (q Q) UpdateSubnet(ctx context.Context, s *netapi.Subnet, rev int64) error {
	now := pstore.TimeOf(Now())
	err := q.cas(ctx, "subnets", s.ID, rev, `UPDATE subnets SET name = ?, description = ?, gateway_ip = ?, enable_dhcp = ?,
		allocation_pools = ?, host_routes = ?, dns_nameservers = ?, service_types = ?, revision_number = ?, updated_at = ?
		WHERE id = ? AND revision_number = ?`,
		s.Name, s.Description, nullStr(s.GatewayIP), s.EnableDHCP, jsonText(s.AllocationPools), jsonText(s.HostRoutes),
		jsonText(s.DNSNameservers), jsonText(s.ServiceTypes), rev+1, now, s.ID, rev)
	if err == nil {
		s.RevisionNumber = rev + 1
		s.UpdatedAt = fmtTime(now)
	}
	return err
}

// Subnet reads one subnet.
func (q Q) Subnet(ctx context.Context, id string) (*netapi.Subnet, error) {
	s, err := scanSubnet(q.q.QueryRow(ctx, "SELECT "+subnetCols+" FROM subnets WHERE id = ?"+q.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	tags, err := q.Tags(ctx, id)
	if err != nil {
		return nil, err
	}
	s.Tags = tags
	return s, nil
}

// subnetVisibility: a project sees its own subnets, those on its networks and
// those on shared networks.
func subnetVisibility(w *where, s Scope) {
	if s.All {
		return
	}
	w.add("(project_id = ? OR network_id IN (SELECT id FROM networks WHERE project_id = ? OR shared = ?))", s.ProjectID, s.ProjectID, true)
}

// Subnets lists subnets.
func (q Q) Subnets(ctx context.Context, s Scope, filters []Filter) ([]*netapi.Subnet, error) {
	var w where
	subnetVisibility(&w, s)
	if err := applyFilters(&w, "subnets", "subnets.id", subnetFilters, filters); err != nil {
		return nil, err
	}
	return q.subnets(ctx, "SELECT "+subnetCols+" FROM subnets"+w.sql()+" ORDER BY created_at, id", w.args, len(filters) == 0)
}

// NetworkSubnets lists the subnets of a network in creation order.
func (q Q) NetworkSubnets(ctx context.Context, networkID string) ([]*netapi.Subnet, error) {
	return q.subnets(ctx, "SELECT "+subnetCols+" FROM subnets WHERE network_id = ? ORDER BY created_at, id", []any{networkID}, false)
}

func (q Q) subnets(ctx context.Context, stmt string, args []any, all bool) ([]*netapi.Subnet, error) {
	out, err := pstore.All(ctx, q.q, scanSubnet, stmt, args...)
	if err != nil {
		return nil, err
	}
	if err := addTags(ctx, q, "subnets", out, all, func(s *netapi.Subnet) (string, *[]string) { return s.ID, &s.Tags }); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSubnet removes a subnet row (its allocations must be gone).
func (q Q) DeleteSubnet(ctx context.Context, id string) error {
	if _, err := q.q.Exec(ctx, "DELETE FROM tags WHERE resource_id = ?", id); err != nil {
		return err
	}
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM subnets WHERE id = ?", id))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountSubnets counts a project's subnets (for quotas).
func (q Q) CountSubnets(ctx context.Context, project string) (int, error) {
	return q.count(ctx, "SELECT COUNT(*) FROM subnets WHERE project_id = ?", project)
}

// PoolSubnetCIDRs returns the CIDRs of the subnets allocated from a subnet pool.
func (q Q) PoolSubnetCIDRs(ctx context.Context, poolID string) ([]string, error) {
	return pstore.All(ctx, q.q, pstore.Column[string], "SELECT cidr FROM subnets WHERE subnetpool_id = ?", poolID)
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

const networkCols = `id, project_id, name, description, admin_state_up, status, shared, is_external, is_default, mtu,
	port_security_enabled, network_type, physical_network, segmentation_id, az_hints, revision_number, created_at, updated_at`

var networkFilters = map[string]column{
	"id": {"id"}, "name": {"name"}, "description": {"description"}, "project_id": {"project_id"}, "tenant_id": {"project_id"},
	"admin_state_up": {"admin_state_up"}, "status": {"status"}, "shared": {"shared"}, "router:external": {"is_external"},
	"is_default": {"is_default"}, "mtu": {"mtu"}, "port_security_enabled": {"port_security_enabled"},
	"provider:network_type": {"network_type"}, "provider:physical_network": {"physical_network"},
	"provider:segmentation_id": {"segmentation_id"}, "revision_number": {"revision_number"},
}

func scanNetwork(sc interface{ Scan(...any) error }) (*netapi.Network, error) {
	var n netapi.Network
	var ntype, physnet, hints string
	var seg sql.NullInt64
	var created, updated pstore.Time
	err := sc.Scan(&n.ID, &n.ProjectID, &n.Name, &n.Description, &n.AdminStateUp, &n.Status, &n.Shared, &n.External,
		&n.IsDefault, &n.MTU, &n.PortSecurityEnabled, &ntype, &physnet, &seg, &hints, &n.RevisionNumber, &created, &updated)
	if err != nil {
		return nil, err
	}
	n.TenantID = n.ProjectID
	n.NetworkType = &ntype
	if physnet != "" {
		n.PhysicalNetwork = &physnet
	}
	if seg.Valid && ntype != netapi.NetworkTypeFlat {
		v := int(seg.Int64)
		n.SegmentationID = &v
	}
	n.AvailabilityZoneHints = splitList(hints)
	n.AvailabilityZones = []string{}
	n.Subnets = []string{}
	n.Tags = []string{}
	n.L2Adjacency = true
	n.CreatedAt, n.UpdatedAt = fmtTime(created), fmtTime(updated)
	return &n, nil
}

// splitList reads a comma-separated column.
func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// segmentArgs returns the stored segment of a network.
func segmentArgs(n *netapi.Network) (ntype, physnet string, seg any) {
	if n.NetworkType != nil {
		ntype = *n.NetworkType
	}
	if n.PhysicalNetwork != nil {
		physnet = *n.PhysicalNetwork
	}
	switch {
	case ntype == netapi.NetworkTypeFlat:
		seg = 0
	case n.SegmentationID != nil:
		seg = *n.SegmentationID
	}
	return
}

// InsertNetwork stores a new network. A segment already in use is a unique
// violation (pstore.IsUnique).
func (q Q) InsertNetwork(ctx context.Context, n *netapi.Network) error {
	ntype, physnet, seg := segmentArgs(n)
	now := pstore.TimeOf(Now())
	_, err := q.q.Exec(ctx, "INSERT INTO networks ("+networkCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		n.ID, n.ProjectID, n.Name, n.Description, n.AdminStateUp, n.Status, n.Shared, n.External, n.IsDefault, n.MTU,
		n.PortSecurityEnabled, ntype, physnet, seg, strings.Join(n.AvailabilityZoneHints, ","), n.RevisionNumber, now, now)
	if err == nil {
		n.CreatedAt, n.UpdatedAt = fmtTime(now), fmtTime(now)
	}
	return err
}

// UpdateNetwork writes a network's mutable attributes if its revision is still rev.
func (q Q) UpdateNetwork(ctx context.Context, n *netapi.Network, rev int64) error {
	ntype, physnet, seg := segmentArgs(n)
	now := pstore.TimeOf(Now())
	err := q.cas(ctx, "networks", n.ID, rev, `UPDATE networks SET name = ?, description = ?, admin_state_up = ?, status = ?, shared = ?,
		is_external = ?, is_default = ?, mtu = ?, port_security_enabled = ?, network_type = ?, physical_network = ?, segmentation_id = ?,
		az_hints = ?, revision_number = ?, updated_at = ? WHERE id = ? AND revision_number = ?`,
		n.Name, n.Description, n.AdminStateUp, n.Status, n.Shared, n.External, n.IsDefault, n.MTU, n.PortSecurityEnabled,
		ntype, physnet, seg, strings.Join(n.AvailabilityZoneHints, ","), rev+1, now, n.ID, rev)
	if err == nil {
		n.RevisionNumber = rev + 1
		n.UpdatedAt = fmtTime(now)
	}
	return err
}

// Network reads one network (with its subnets and tags).
func (q Q) Network(ctx context.Context, id string) (*netapi.Network, error) {
	n, err := scanNetwork(q.q.QueryRow(ctx, "SELECT "+networkCols+" FROM networks WHERE id = ?"+q.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := q.fillNetworks(ctx, []*netapi.Network{n}, false); err != nil {
		return nil, err
	}
	return n, nil
}

// NetworkBare reads one network without its subnets and tags (for the
// checks of hot paths).
func (q Q) NetworkBare(ctx context.Context, id string) (*netapi.Network, error) {
	n, err := scanNetwork(q.q.QueryRow(ctx, "SELECT "+networkCols+" FROM networks WHERE id = ?"+q.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return n, err
}

// NetworkVisibility is the SQL condition for networks a project may list:
// its own, shared and external ones.
func networkVisibility(w *where, s Scope, alias string) {
	if s.All {
		return
	}
	w.add("("+alias+"project_id = ? OR "+alias+"shared = ? OR "+alias+"is_external = ?)", s.ProjectID, true, true)
}

// Networks lists networks.
func (q Q) Networks(ctx context.Context, s Scope, filters []Filter) ([]*netapi.Network, error) {
	var w where
	networkVisibility(&w, s, "")
	if err := applyFilters(&w, "networks", "networks.id", networkFilters, filters); err != nil {
		return nil, err
	}
	out, err := pstore.All(ctx, q.q, scanNetwork, "SELECT "+networkCols+" FROM networks"+w.sql(), w.args...)
	if err != nil {
		return nil, err
	}
	return out, q.fillNetworks(ctx, out, len(filters) == 0)
}

// fillNetworks adds subnets and tags.
func (q Q) fillNetworks(ctx context.Context, nets []*netapi.Network, all bool) error {
	if len(nets) == 0 {
		return nil
	}
	byID := make(map[string]*netapi.Network, len(nets))
	ids := make([]string, 0, len(nets))
	for _, n := range nets {
		byID[n.ID] = n
		ids = append(ids, n.ID)
	}
	stmt, args := "SELECT network_id, id FROM subnets ORDER BY created_at, id", []any(nil)
	if !all && len(ids) <= 500 {
		var ph string
		ph, args = pstore.In(ids)
		stmt = "SELECT network_id, id FROM subnets WHERE network_id IN " + ph + " ORDER BY created_at, id"
	}
	err := pstore.Each(ctx, q.q, func(r pstore.Row) error {
		var nid, sid string
		err := r.Scan(&nid, &sid)
		if n := byID[nid]; n != nil {
			n.Subnets = append(n.Subnets, sid)
		}
		return err
	}, stmt, args...)
	if err != nil {
		return err
	}
	return addTags(ctx, q, "networks", nets, all, func(n *netapi.Network) (string, *[]string) { return n.ID, &n.Tags })
}

// DeleteNetwork removes a network row (its subnets and ports must be gone).
func (q Q) DeleteNetwork(ctx context.Context, id string) error {
	if _, err := q.q.Exec(ctx, "DELETE FROM tags WHERE resource_id = ?", id); err != nil {
		return err
	}
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM networks WHERE id = ?", id))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// UsedSegments returns the segmentation ids in use for a type (and physical network).
func (q Q) UsedSegments(ctx context.Context, ntype, physnet string) (map[int]bool, error) {
	used, err := pstore.All(ctx, q.q, pstore.Column[int], "SELECT segmentation_id FROM networks WHERE network_type = ? AND physical_network = ? AND segmentation_id IS NOT NULL", ntype, physnet)
	if err != nil {
		return nil, err
	}
	out := make(map[int]bool, len(used))
	for _, v := range used {
		out[v] = true
	}
	return out, nil
}

// CountNetworks counts a project's networks (for quotas).
func (q Q) CountNetworks(ctx context.Context, project string) (int, error) {
	return q.count(ctx, "SELECT COUNT(*) FROM networks WHERE project_id = ?", project)
}

func (q Q) count(ctx context.Context, stmt string, args ...any) (int, error) {
	var n int
	err := q.q.QueryRow(ctx, stmt, args...).Scan(&n)
	return n, err
}

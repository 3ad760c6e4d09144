package store

import (
	"context"
	"database/sql"
	"errors"

	netapi "github.com/tenku-cloud/tenku/api/network"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// Router is a router row: the API view plus its gateway port.
type Router struct {
	netapi.Router
	// GWPortID is the gateway port ("" without a gateway).
	GWPortID string
	// GWNetworkID is the external network of the gateway.
	GWNetworkID string
	// EnableSNAT is the gateway's SNAT mode (kept when the gateway is unset).
	EnableSNAT bool
}

const routerCols = `id, project_id, name, description, admin_state_up, status, gw_port_id, gw_network_id, enable_snat, routes,
	distributed, ha, az_hints, revision_number, created_at, updated_at`

var routerFilters = map[string]column{
	"id": {"id"}, "name": {"name"}, "description": {"description"}, "project_id": {"project_id"}, "tenant_id": {"project_id"},
	"admin_state_up": {"admin_state_up"}, "status": {"status"}, "distributed": {"distributed"}, "ha": {"ha"},
	"revision_number": {"revision_number"},
}

func scanRouter(sc interface{ Scan(...any) error }) (*Router, error) {
	var r Router
	var gwPort, gwNet sql.NullString
	var routes, hints string
	var created, updated pstore.Time
	if err := sc.Scan(&r.ID, &r.ProjectID, &r.Name, &r.Description, &r.AdminStateUp, &r.Status, &gwPort, &gwNet,
		&r.EnableSNAT, &routes, &r.Distributed, &r.HA, &hints, &r.RevisionNumber, &created, &updated); err != nil {
		return nil, err
	}
	r.TenantID = r.ProjectID
	r.GWPortID, r.GWNetworkID = gwPort.String, gwNet.String
	r.Routes = decodeList[netapi.Route](routes)
	r.AvailabilityZoneHints = splitList(hints)
	r.AvailabilityZones = []string{}
	r.Tags = []string{}
	r.CreatedAt, r.UpdatedAt = fmtTime(created), fmtTime(updated)
	if r.GWNetworkID != "" {
		r.ExternalGatewayInfo = &netapi.GatewayInfo{NetworkID: r.GWNetworkID, EnableSNAT: r.EnableSNAT, ExternalFixedIPs: []netapi.ExternalFixedIP{}}
	}
	return &r, nil
}

func nullID(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertRouter stores a new router.
func (q Q) InsertRouter(ctx context.Context, r *Router) error {
	now := pstore.TimeOf(Now())
	_, err := q.q.Exec(ctx, "INSERT INTO routers ("+routerCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		r.ID, r.ProjectID, r.Name, r.Description, r.AdminStateUp, r.Status, nullID(r.GWPortID), nullID(r.GWNetworkID),
		r.EnableSNAT, jsonText(orEmptyList(r.Routes)), r.Distributed, r.HA, joinList(r.AvailabilityZoneHints), r.RevisionNumber, now, now)
	if err == nil {
		r.CreatedAt, r.UpdatedAt = fmtTime(now), fmtTime(now)
	}
	return err
}

func joinList(l []string) string {
	out := ""
	for i, s := range l {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// UpdateRouter writes a router's mutable attributes if its revision is still rev.
func (q Q) UpdateRouter(ctx context.Context, r *Router, rev int64) error {
	now := pstore.TimeOf(Now())
	err := q.cas(ctx, "routers", r.ID, rev, `UPDATE routers SET name = ?, description = ?, admin_state_up = ?, status = ?,
		gw_port_id = ?, gw_network_id = ?, enable_snat = ?, routes = ?, distributed = ?, ha = ?, az_hints = ?,
		revision_number = ?, updated_at = ? WHERE id = ? AND revision_number = ?`,
		r.Name, r.Description, r.AdminStateUp, r.Status, nullID(r.GWPortID), nullID(r.GWNetworkID), r.EnableSNAT,
		jsonText(orEmptyList(r.Routes)), r.Distributed, r.HA, joinList(r.AvailabilityZoneHints), rev+1, now, r.ID, rev)
	if err == nil {
		r.RevisionNumber = rev + 1
		r.UpdatedAt = fmtTime(now)
	}
	return err
}

// Router reads one router.
func (q Q) Router(ctx context.Context, id string) (*Router, error) {
	r, err := scanRouter(q.q.QueryRow(ctx, "SELECT "+routerCols+" FROM routers WHERE id = ?"+q.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return r, q.fillRouters(ctx, []*Router{r}, false)
}

// Routers lists routers.
func (q Q) Routers(ctx context.Context, s Scope, filters []Filter) ([]*Router, error) {
	var w where
	if !s.All {
		w.add("project_id = ?", s.ProjectID)
	}
	if err := applyFilters(&w, "routers", "routers.id", routerFilters, filters); err != nil {
		return nil, err
	}
	return q.routers(ctx, "SELECT "+routerCols+" FROM routers"+w.sql()+" ORDER BY created_at, id", w.args, len(filters) == 0)
}

// RoutersOnNetwork lists the routers whose gateway is on a network.
func (q Q) RoutersOnNetwork(ctx context.Context, networkID string) ([]*Router, error) {
	return q.routers(ctx, "SELECT "+routerCols+" FROM routers WHERE gw_network_id = ?", []any{networkID}, false)
}

func (q Q) routers(ctx context.Context, stmt string, args []any, all bool) ([]*Router, error) {
	out, err := pstore.All(ctx, q.q, scanRouter, stmt, args...)
	if err != nil {
		return nil, err
	}
	return out, q.fillRouters(ctx, out, all)
}

// fillRouters adds gateway addresses and tags.
func (q Q) fillRouters(ctx context.Context, rs []*Router, all bool) error {
	if len(rs) == 0 {
		return nil
	}
	byPort := map[string]*Router{}
	var ports []string
	for _, r := range rs {
		if r.GWPortID != "" {
			byPort[r.GWPortID] = r
			ports = append(ports, r.GWPortID)
		}
	}
	if len(ports) > 0 {
		stmt, args := "SELECT id, fixed_ips FROM ports WHERE device_owner = ?", []any{netapi.DeviceOwnerRouterGateway}
		if !all && len(ports) <= 500 {
			var ph string
			ph, args = pstore.In(ports)
			stmt = "SELECT id, fixed_ips FROM ports WHERE id IN " + ph
		}
		err := pstore.Each(ctx, q.q, func(row pstore.Row) error {
			var id, fixed string
			if err := row.Scan(&id, &fixed); err != nil {
				return err
			}
			if r := byPort[id]; r != nil && r.ExternalGatewayInfo != nil {
				for _, ip := range decodeFixedIPs(fixed) {
					r.ExternalGatewayInfo.ExternalFixedIPs = append(r.ExternalGatewayInfo.ExternalFixedIPs,
						netapi.ExternalFixedIP(ip))
				}
			}
			return nil
		}, stmt, args...)
		if err != nil {
			return err
		}
	}
	return addTags(ctx, q, "routers", rs, all, func(r *Router) (string, *[]string) { return r.ID, &r.Tags })
}

// DeleteRouter removes a router row.
func (q Q) DeleteRouter(ctx context.Context, id string) error {
	if _, err := q.q.Exec(ctx, "DELETE FROM tags WHERE resource_id = ?", id); err != nil {
		return err
	}
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM routers WHERE id = ?", id))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountRouters counts a project's routers (for quotas).
func (q Q) CountRouters(ctx context.Context, project string) (int, error) {
	return q.count(ctx, "SELECT COUNT(*) FROM routers WHERE project_id = ?", project)
}

// FloatingIP is a floating IP row: the API view plus its own port on the
// external network.
type FloatingIP struct {
	netapi.FloatingIP
	FloatingPortID string
}

const fipCols = `f.id, f.project_id, f.floating_network_id, f.floating_ip_address, f.floating_port_id, f.fixed_port_id,
	f.fixed_ip_address, f.router_id, f.status, f.description, f.revision_number, f.created_at, f.updated_at,
	p.name, p.network_id, p.mac_address, p.admin_state_up, p.status, p.device_id, p.device_owner`

const fipFrom = " FROM floatingips f LEFT JOIN ports p ON p.id = f.fixed_port_id"

var fipFilters = map[string]column{
	"id": {"f.id"}, "project_id": {"f.project_id"}, "tenant_id": {"f.project_id"}, "floating_network_id": {"f.floating_network_id"},
	"floating_ip_address": {"f.floating_ip_address"}, "port_id": {"f.fixed_port_id"}, "fixed_ip_address": {"f.fixed_ip_address"},
	"router_id": {"f.router_id"}, "status": {"f.status"}, "description": {"f.description"}, "revision_number": {"f.revision_number"},
}

func scanFIP(sc interface{ Scan(...any) error }) (*FloatingIP, error) {
	var f FloatingIP
	var port, fixed, router sql.NullString
	var pname, pnet, pmac, pstatus, pdev, powner sql.NullString
	var padmin sql.NullBool
	var created, updated pstore.Time
	if err := sc.Scan(&f.ID, &f.ProjectID, &f.FloatingNetworkID, &f.FloatingIPAddress, &f.FloatingPortID, &port, &fixed,
		&router, &f.Status, &f.Description, &f.RevisionNumber, &created, &updated,
		&pname, &pnet, &pmac, &padmin, &pstatus, &pdev, &powner); err != nil {
		return nil, err
	}
	f.TenantID = f.ProjectID
	f.PortID, f.FixedIPAddress, f.RouterID = strPtr(port), strPtr(fixed), strPtr(router)
	if port.Valid && pnet.Valid {
		f.PortDetails = &netapi.PortDetails{Name: pname.String, NetworkID: pnet.String, MACAddress: pmac.String,
			AdminStateUp: padmin.Bool, Status: pstatus.String, DeviceID: pdev.String, DeviceOwner: powner.String}
	}
	f.PortForwardings = []any{}
	f.Tags = []string{}
	f.CreatedAt, f.UpdatedAt = fmtTime(created), fmtTime(updated)
	return &f, nil
}

// InsertFloatingIP stores a floating IP (its port exists already).
func (q Q) InsertFloatingIP(ctx context.Context, f *FloatingIP) error {
	now := pstore.TimeOf(Now())
	_, err := q.q.Exec(ctx, `INSERT INTO floatingips (id, project_id, floating_network_id, floating_ip_address, floating_port_id,
		fixed_port_id, fixed_ip_address, router_id, status, description, revision_number, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.ProjectID, f.FloatingNetworkID, f.FloatingIPAddress, f.FloatingPortID, nullStr(f.PortID), nullStr(f.FixedIPAddress),
		nullStr(f.RouterID), f.Status, f.Description, f.RevisionNumber, now, now)
	if err == nil {
		f.CreatedAt, f.UpdatedAt = fmtTime(now), fmtTime(now)
	}
	return err
}

// UpdateFloatingIP writes association, status and description.
func (q Q) UpdateFloatingIP(ctx context.Context, f *FloatingIP, rev int64) error {
	now := pstore.TimeOf(Now())
	err := q.cas(ctx, "floatingips", f.ID, rev, `UPDATE floatingips SET fixed_port_id = ?, fixed_ip_address = ?, router_id = ?,
		status = ?, description = ?, revision_number = ?, updated_at = ? WHERE id = ? AND revision_number = ?`,
		nullStr(f.PortID), nullStr(f.FixedIPAddress), nullStr(f.RouterID), f.Status, f.Description, rev+1, now, f.ID, rev)
	if err == nil {
		f.RevisionNumber = rev + 1
		f.UpdatedAt = fmtTime(now)
	}
	return err
}

// SetFloatingIPStatus records the agent's view of a floating IP.
func (q Q) SetFloatingIPStatus(ctx context.Context, id, status string) (bool, error) {
	n, err := rowsAffected(q.q.Exec(ctx, "UPDATE floatingips SET status = ?, revision_number = revision_number + 1, updated_at = ? WHERE id = ? AND status <> ?",
		status, pstore.TimeOf(Now()), id, status))
	return n > 0, err
}

// FloatingIPByID reads one floating IP.
func (q Q) FloatingIPByID(ctx context.Context, id string) (*FloatingIP, error) {
	f, err := scanFIP(q.q.QueryRow(ctx, "SELECT "+fipCols+fipFrom+" WHERE f.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	tags, err := q.Tags(ctx, id)
	f.Tags = tags
	return f, err
}

// FloatingIPs lists floating IPs.
func (q Q) FloatingIPs(ctx context.Context, s Scope, filters []Filter) ([]*FloatingIP, error) {
	var w where
	if !s.All {
		w.add("f.project_id = ?", s.ProjectID)
	}
	if err := applyFilters(&w, "floatingips", "f.id", fipFilters, filters); err != nil {
		return nil, err
	}
	return q.fips(ctx, "SELECT "+fipCols+fipFrom+w.sql()+" ORDER BY f.created_at, f.id", w.args)
}

// FloatingIPsWhere lists floating IPs of a router, a port or an external network.
func (q Q) FloatingIPsWhere(ctx context.Context, field, value string) ([]*FloatingIP, error) {
	c, ok := map[string]string{"router_id": "f.router_id", "port_id": "f.fixed_port_id", "floating_network_id": "f.floating_network_id"}[field]
	if !ok {
		return nil, errors.New("store: unknown floating IP field " + field)
	}
	return q.fips(ctx, "SELECT "+fipCols+fipFrom+" WHERE "+c+" = ?", []any{value})
}

func (q Q) fips(ctx context.Context, stmt string, args []any) ([]*FloatingIP, error) {
	out, err := pstore.All(ctx, q.q, scanFIP, stmt, args...)
	if err != nil {
		return nil, err
	}
	if err := addTags(ctx, q, "floatingips", out, false, func(f *FloatingIP) (string, *[]string) { return f.ID, &f.Tags }); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteFloatingIP removes a floating IP row.
func (q Q) DeleteFloatingIP(ctx context.Context, id string) error {
	if _, err := q.q.Exec(ctx, "DELETE FROM tags WHERE resource_id = ?", id); err != nil {
		return err
	}
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM floatingips WHERE id = ?", id))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountFloatingIPs counts a project's floating IPs (for quotas).
func (q Q) CountFloatingIPs(ctx context.Context, project string) (int, error) {
	return q.count(ctx, "SELECT COUNT(*) FROM floatingips WHERE project_id = ?", project)
}

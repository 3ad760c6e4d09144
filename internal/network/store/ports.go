package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

const portCols = `id, project_id, network_id, name, description, mac_address, admin_state_up, status, device_id, device_owner,
	port_security_enabled, host_id, vnic_type, vif_type, vif_details, binding_profile, fixed_ips, security_groups,
	allowed_address_pairs, extra_dhcp_opts, revision_number, created_at, updated_at`

var portFilters = map[string]column{
	"id": {"ports.id"}, "name": {"ports.name"}, "description": {"ports.description"}, "project_id": {"ports.project_id"},
	"tenant_id": {"ports.project_id"}, "network_id": {"ports.network_id"}, "mac_address": {"ports.mac_address"},
	"admin_state_up": {"ports.admin_state_up"}, "status": {"ports.status"}, "device_id": {"ports.device_id"},
	"device_owner": {"ports.device_owner"}, "port_security_enabled": {"ports.port_security_enabled"},
	"binding:host_id": {"ports.host_id"}, "binding:vnic_type": {"ports.vnic_type"}, "binding:vif_type": {"ports.vif_type"},
	"revision_number": {"ports.revision_number"},
}

// encodeFixedIPs stores fixed IPs compactly: "subnet ip;subnet ip". Lists of
// thousands of ports decode this much faster than JSON.
func encodeFixedIPs(ips []netapi.FixedIP) string {
	var b strings.Builder
	for i, ip := range ips {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(ip.SubnetID)
		b.WriteByte(' ')
		b.WriteString(ip.IPAddress)
	}
	return b.String()
}

func decodeFixedIPs(s string) []netapi.FixedIP {
	if s == "" {
		return []netapi.FixedIP{}
	}
	out := make([]netapi.FixedIP, 0, strings.Count(s, ";")+1)
	for s != "" {
		var item string
		item, s, _ = strings.Cut(s, ";")
		sub, ip, _ := strings.Cut(item, " ")
		out = append(out, netapi.FixedIP{SubnetID: sub, IPAddress: ip})
	}
	return out
}

func scanPort(sc interface{ Scan(...any) error }) (*netapi.Port, error) {
	var p netapi.Port
	var vifDetails, profile, fixed, sgs, pairs, opts string
	var created, updated pstore.Time
	err := sc.Scan(&p.ID, &p.ProjectID, &p.NetworkID, &p.Name, &p.Description, &p.MACAddress, &p.AdminStateUp, &p.Status,
		&p.DeviceID, &p.DeviceOwner, &p.PortSecurityEnabled, &p.HostID, &p.VNICType, &p.VIFType, &vifDetails, &profile,
		&fixed, &sgs, &pairs, &opts, &p.RevisionNumber, &created, &updated)
	if err != nil {
		return nil, err
	}
	p.TenantID = p.ProjectID
	p.VIFDetails = decodeMap(vifDetails)
	p.Profile = decodeMap(profile)
	p.FixedIPs = decodeFixedIPs(fixed)
	p.SecurityGroups = splitList(sgs)
	p.AllowedAddressPairs = decodeList[netapi.AddressPair](pairs)
	p.ExtraDHCPOpts = decodeList[netapi.ExtraDHCPOpt](opts)
	p.Tags = []string{}
	p.CreatedAt, p.UpdatedAt = fmtTime(created), fmtTime(updated)
	return &p, nil
}

func portArgs(p *netapi.Port) []any {
	return []any{p.Name, p.Description, p.MACAddress, p.AdminStateUp, p.Status, p.DeviceID, p.DeviceOwner,
		p.PortSecurityEnabled, p.HostID, p.VNICType, p.VIFType, jsonText(orEmptyMap(p.VIFDetails)), jsonText(orEmptyMap(p.Profile)),
		encodeFixedIPs(p.FixedIPs), strings.Join(p.SecurityGroups, ","), jsonText(orEmptyList(p.AllowedAddressPairs)),
		jsonText(orEmptyList(p.ExtraDHCPOpts))}
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func orEmptyList[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// InsertPort stores a new port and its security group bindings. Its fixed IPs
// must already be allocated (AllocateIP) with its id. A MAC address in use on
// the network is a unique violation.
func (q Q) InsertPort(ctx context.Context, p *netapi.Port) error {
	now := pstore.TimeOf(Now())
	args := append([]any{p.ID, p.ProjectID, p.NetworkID}, portArgs(p)...)
	args = append(args, p.RevisionNumber, now, now)
	if _, err := q.q.Exec(ctx, "INSERT INTO ports ("+portCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args...); err != nil {
		return err
	}
	for _, sg := range p.SecurityGroups {
		if _, err := q.q.Exec(ctx, "INSERT INTO port_security_groups (port_id, security_group_id) VALUES (?, ?)", p.ID, sg); err != nil {
			return err
		}
	}
	p.CreatedAt, p.UpdatedAt = fmtTime(now), fmtTime(now)
	return nil
}

// UpdatePort writes a port's mutable attributes if its revision is still rev.
// When sgsChanged, the security group bindings are rewritten too.
func (q Q) UpdatePort(ctx context.Context, p *netapi.Port, rev int64, sgsChanged bool) error {
	now := pstore.TimeOf(Now())
	args := append(portArgs(p), rev+1, now, p.ID, rev)
	err := q.cas(ctx, "ports", p.ID, rev, `UPDATE ports SET name = ?, description = ?, mac_address = ?, admin_state_up = ?, status = ?,
		device_id = ?, device_owner = ?, port_security_enabled = ?, host_id = ?, vnic_type = ?, vif_type = ?, vif_details = ?,
		binding_profile = ?, fixed_ips = ?, security_groups = ?, allowed_address_pairs = ?, extra_dhcp_opts = ?,
		revision_number = ?, updated_at = ? WHERE id = ? AND revision_number = ?`, args...)
	if err != nil {
		return err
	}
	p.RevisionNumber = rev + 1
	p.UpdatedAt = fmtTime(now)
	if sgsChanged {
		if _, err := q.q.Exec(ctx, "DELETE FROM port_security_groups WHERE port_id = ?", p.ID); err != nil {
			return err
		}
		for _, sg := range p.SecurityGroups {
			if _, err := q.q.Exec(ctx, "INSERT INTO port_security_groups (port_id, security_group_id) VALUES (?, ?)", p.ID, sg); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetPortStatus changes a port's status (the agent's report) and reports
// whether it changed; the revision moves as for any update.
func (q Q) SetPortStatus(ctx context.Context, id, status string) (bool, error) {
	n, err := rowsAffected(q.q.Exec(ctx, "UPDATE ports SET status = ?, revision_number = revision_number + 1, updated_at = ? WHERE id = ? AND status <> ?",
		status, pstore.TimeOf(Now()), id, status))
	return n > 0, err
}

// Port reads one port.
func (q Q) Port(ctx context.Context, id string) (*netapi.Port, error) {
	p, err := scanPort(q.q.QueryRow(ctx, "SELECT "+portCols+" FROM ports WHERE id = ?"+q.forUpdate(), id))
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
	p.Tags = tags
	return p, nil
}

func portVisibility(w *where, s Scope) {
	if s.All {
		return
	}
	w.add("(ports.project_id = ? OR ports.network_id IN (SELECT id FROM networks WHERE project_id = ?))", s.ProjectID, s.ProjectID)
}

// Ports lists ports. Besides the column filters it understands
// fixed_ips.ip_address, fixed_ips.subnet_id, fixed_ips.ip_address_substr
// (all met by one allocation) and security_groups.
func (q Q) Ports(ctx context.Context, s Scope, filters []Filter) ([]*netapi.Port, error) {
	var w where
	portVisibility(&w, s)
	var rest []Filter
	var ipConds []string
	var ipArgs []any
	for _, f := range filters {
		if len(f.Values) == 0 {
			continue
		}
		switch f.Field {
		case "fixed_ips.ip_address", "fixed_ips.subnet_id":
			ph, args := pstore.In(f.Values)
			ipConds = append(ipConds, "a."+strings.TrimPrefix(f.Field, "fixed_ips.")+" IN "+ph)
			ipArgs = append(ipArgs, args...)
		case "fixed_ips.ip_address_substr":
			var ors []string
			for _, v := range f.Values {
				ors = append(ors, "a.ip_address LIKE ?")
				ipArgs = append(ipArgs, "%"+likeEscape(fmt.Sprint(v))+"%")
			}
			ipConds = append(ipConds, "("+strings.Join(ors, " OR ")+")")
		case "security_groups":
			ph, args := pstore.In(f.Values)
			w.add("EXISTS (SELECT 1 FROM port_security_groups g WHERE g.port_id = ports.id AND g.security_group_id IN "+ph+")", args...)
		default:
			rest = append(rest, f)
		}
	}
	if len(ipConds) > 0 {
		w.add("EXISTS (SELECT 1 FROM ip_allocations a WHERE a.port_id = ports.id AND "+strings.Join(ipConds, " AND ")+")", ipArgs...)
	}
	if err := applyFilters(&w, "ports", "ports.id", portFilters, rest); err != nil {
		return nil, err
	}
	return q.ports(ctx, "SELECT "+portCols+" FROM ports"+w.sql(), w.args, len(filters) == 0)
}

// likeEscape keeps LIKE wildcards of user input literal (IP text has none,
// but a filter value may).
func likeEscape(s string) string {
	return strings.NewReplacer("%", "", "_", "").Replace(s)
}

// NetworkPorts lists every port of a network.
func (q Q) NetworkPorts(ctx context.Context, networkID string) ([]*netapi.Port, error) {
	return q.ports(ctx, "SELECT "+portCols+" FROM ports WHERE network_id = ?", []any{networkID}, false)
}

// DevicePorts lists the ports of a device (router, DHCP server, instance).
func (q Q) DevicePorts(ctx context.Context, deviceID string) ([]*netapi.Port, error) {
	return q.ports(ctx, "SELECT "+portCols+" FROM ports WHERE device_id = ?", []any{deviceID}, false)
}

// HostPorts lists the ports bound to a host.
func (q Q) HostPorts(ctx context.Context, host string) ([]*netapi.Port, error) {
	return q.ports(ctx, "SELECT "+portCols+" FROM ports WHERE host_id = ?", []any{host}, false)
}

// PortsByID reads the ports of the ids that exist.
func (q Q) PortsByID(ctx context.Context, ids []string) ([]*netapi.Port, error) {
	var out []*netapi.Port
	for len(ids) > 0 {
		n := min(len(ids), 500)
		ph, args := pstore.In(ids[:n])
		ports, err := q.ports(ctx, "SELECT "+portCols+" FROM ports WHERE id IN "+ph, args, false)
		if err != nil {
			return nil, err
		}
		out = append(out, ports...)
		ids = ids[n:]
	}
	return out, nil
}

// AddressPorts lists the ports holding ip as a fixed IP on any of the
// networks (what Neutron's metadata agent asks for: ports filtered by
// network_id and fixed_ips).
func (q Q) AddressPorts(ctx context.Context, networkIDs []string, ip string) ([]*netapi.Port, error) {
	if len(networkIDs) == 0 {
		return nil, nil
	}
	ph, args := pstore.In(networkIDs)
	return q.ports(ctx, "SELECT "+portCols+" FROM ports WHERE id IN (SELECT port_id FROM ip_allocations WHERE ip_address = ? AND network_id IN "+ph+")",
		append([]any{ip}, args...), false)
}

// SecurityGroupPorts lists the ports in any of the groups.
func (q Q) SecurityGroupPorts(ctx context.Context, groups []string) ([]*netapi.Port, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	ph, args := pstore.In(groups)
	return q.ports(ctx, "SELECT "+portCols+" FROM ports WHERE id IN (SELECT port_id FROM port_security_groups WHERE security_group_id IN "+ph+")", args, false)
}

// BoundSecurityGroupPorts lists the ports in any of the groups that are
// bound to a host (those whose filters an agent holds).
func (q Q) BoundSecurityGroupPorts(ctx context.Context, groups []string) ([]*netapi.Port, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	ph, args := pstore.In(groups)
	return q.ports(ctx, "SELECT "+portCols+" FROM ports WHERE host_id <> '' AND id IN (SELECT port_id FROM port_security_groups WHERE security_group_id IN "+ph+")", args, false)
}

func (q Q) ports(ctx context.Context, stmt string, args []any, all bool) ([]*netapi.Port, error) {
	out, err := pstore.All(ctx, q.q, scanPort, stmt, args...)
	if err != nil || len(out) == 0 {
		return out, err
	}
	if err := addTags(ctx, q, "ports", out, all, func(p *netapi.Port) (string, *[]string) { return p.ID, &p.Tags }); err != nil {
		return nil, err
	}
	return out, nil
}

// DeletePort removes a port, its allocations and bindings.
func (q Q) DeletePort(ctx context.Context, id string) error {
	for _, stmt := range []string{
		"DELETE FROM ip_allocations WHERE port_id = ?",
		"DELETE FROM port_security_groups WHERE port_id = ?",
		"DELETE FROM tags WHERE resource_id = ?",
	} {
		if _, err := q.q.Exec(ctx, stmt, id); err != nil {
			return err
		}
	}
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM ports WHERE id = ?", id))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountPorts counts a project's ports (for quotas).
func (q Q) CountPorts(ctx context.Context, project string) (int, error) {
	return q.count(ctx, "SELECT COUNT(*) FROM ports WHERE project_id = ?", project)
}

// AllocateIP records ip on subnet for port. It returns false, and changes
// nothing, when the address is already allocated: the primary key decides,
// so two concurrent requests can never both get it.
func (q Q) AllocateIP(ctx context.Context, subnetID, networkID, portID, ip string) (bool, error) {
	stmt := q.d.InsertIgnore("ip_allocations", []string{"subnet_id", "ip_address", "port_id", "network_id"})
	n, err := rowsAffected(q.q.Exec(ctx, stmt, subnetID, ip, portID, networkID))
	return n > 0, err
}

// ReleaseIP removes one allocation of a port.
func (q Q) ReleaseIP(ctx context.Context, subnetID, ip, portID string) error {
	_, err := q.q.Exec(ctx, "DELETE FROM ip_allocations WHERE subnet_id = ? AND ip_address = ? AND port_id = ?", subnetID, ip, portID)
	return err
}

// Allocation is an address in use.
type Allocation struct {
	SubnetID, IP, PortID, DeviceOwner string
}

// SubnetAllocations lists the allocations of a subnet with their ports' owners.
func (q Q) SubnetAllocations(ctx context.Context, subnetID string) ([]Allocation, error) {
	return pstore.All(ctx, q.q, func(r pstore.Row) (Allocation, error) {
		var a Allocation
		err := r.Scan(&a.SubnetID, &a.IP, &a.PortID, &a.DeviceOwner)
		return a, err
	}, `SELECT a.subnet_id, a.ip_address, a.port_id, p.device_owner FROM ip_allocations a
		JOIN ports p ON p.id = a.port_id WHERE a.subnet_id = ?`, subnetID)
}

// AllocatedIPs returns the addresses in use on a subnet.
func (q Q) AllocatedIPs(ctx context.Context, subnetID string) ([]string, error) {
	return pstore.All(ctx, q.q, pstore.Column[string], "SELECT ip_address FROM ip_allocations WHERE subnet_id = ?", subnetID)
}

// IPOwner returns the port holding an address on a subnet ("" when free).
func (q Q) IPOwner(ctx context.Context, subnetID, ip string) (string, error) {
	var port string
	err := q.q.QueryRow(ctx, "SELECT port_id FROM ip_allocations WHERE subnet_id = ? AND ip_address = ?", subnetID, ip).Scan(&port)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return port, err
}

// MACInUse reports whether a MAC address is taken on a network.
func (q Q) MACInUse(ctx context.Context, networkID, mac string) (bool, error) {
	n, err := q.count(ctx, "SELECT COUNT(*) FROM ports WHERE network_id = ? AND mac_address = ?", networkID, mac)
	return n > 0, err
}

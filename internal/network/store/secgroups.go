package store

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"

	netapi "github.com/tenku-cloud/tenku/api/network"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

const sgCols = "id, project_id, name, description, stateful, revision_number, created_at, updated_at"

var sgFilters = map[string]column{
	"id": {"id"}, "name": {"name"}, "description": {"description"}, "project_id": {"project_id"},
	"tenant_id": {"project_id"}, "stateful": {"stateful"}, "revision_number": {"revision_number"},
}

func scanSG(sc interface{ Scan(...any) error }) (*netapi.SecurityGroup, error) {
	var g netapi.SecurityGroup
	var created, updated pstore.Time
	if err := sc.Scan(&g.ID, &g.ProjectID, &g.Name, &g.Description, &g.Stateful, &g.RevisionNumber, &created, &updated); err != nil {
		return nil, err
	}
	g.TenantID = g.ProjectID
	g.SecurityGroupRules = []netapi.SecurityGroupRule{}
	g.Tags = []string{}
	g.CreatedAt, g.UpdatedAt = fmtTime(created), fmtTime(updated)
	return &g, nil
}

// InsertSecurityGroup stores a new group (without rules).
func (q Q) InsertSecurityGroup(ctx context.Context, g *netapi.SecurityGroup) error {
	now := pstore.TimeOf(Now())
	_, err := q.q.Exec(ctx, "INSERT INTO security_groups ("+sgCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		g.ID, g.ProjectID, g.Name, g.Description, g.Stateful, g.RevisionNumber, now, now)
	if err == nil {
		g.CreatedAt, g.UpdatedAt = fmtTime(now), fmtTime(now)
	}
	return err
}

// SetDefaultSecurityGroup records a project's default group. It returns false
// when the project already has one (a concurrent request made it first).
func (q Q) SetDefaultSecurityGroup(ctx context.Context, project, groupID string) (bool, error) {
	n, err := rowsAffected(q.q.Exec(ctx, q.d.InsertIgnore("default_security_groups", []string{"project_id", "security_group_id"}), project, groupID))
	return n > 0, err
}

// DefaultSecurityGroup returns the id of a project's default group ("" if none).
func (q Q) DefaultSecurityGroup(ctx context.Context, project string) (string, error) {
	var id string
	err := q.q.QueryRow(ctx, "SELECT security_group_id FROM default_security_groups WHERE project_id = ?", project).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// IsDefaultSecurityGroup reports whether a group is its project's default.
func (q Q) IsDefaultSecurityGroup(ctx context.Context, id string) (bool, error) {
	n, err := q.count(ctx, "SELECT COUNT(*) FROM default_security_groups WHERE security_group_id = ?", id)
	return n > 0, err
}

// UpdateSecurityGroup writes name, description and stateful.
func (q Q) UpdateSecurityGroup(ctx context.Context, g *netapi.SecurityGroup, rev int64) error {
	now := pstore.TimeOf(Now())
	err := q.cas(ctx, "security_groups", g.ID, rev, `UPDATE security_groups SET name = ?, description = ?, stateful = ?,
		revision_number = ?, updated_at = ? WHERE id = ? AND revision_number = ?`, g.Name, g.Description, g.Stateful, rev+1, now, g.ID, rev)
	if err == nil {
		g.RevisionNumber = rev + 1
		g.UpdatedAt = fmtTime(now)
	}
	return err
}

// SecurityGroup reads one group with its rules and tags.
func (q Q) SecurityGroup(ctx context.Context, id string) (*netapi.SecurityGroup, error) {
	g, err := scanSG(q.q.QueryRow(ctx, "SELECT "+sgCols+" FROM security_groups WHERE id = ?"+q.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := q.fillGroups(ctx, []*netapi.SecurityGroup{g}); err != nil {
		return nil, err
	}
	return g, nil
}

// SecurityGroups lists groups with their rules.
func (q Q) SecurityGroups(ctx context.Context, s Scope, filters []Filter) ([]*netapi.SecurityGroup, error) {
	var w where
	if !s.All {
		w.add("project_id = ?", s.ProjectID)
	}
	if err := applyFilters(&w, "security_groups", "security_groups.id", sgFilters, filters); err != nil {
		return nil, err
	}
	out, err := pstore.All(ctx, q.q, scanSG, "SELECT "+sgCols+" FROM security_groups"+w.sql()+" ORDER BY created_at, id", w.args...)
	if err != nil {
		return nil, err
	}
	return out, q.fillGroups(ctx, out)
}

func (q Q) fillGroups(ctx context.Context, groups []*netapi.SecurityGroup) error {
	if len(groups) == 0 {
		return nil
	}
	byID := map[string]*netapi.SecurityGroup{}
	ids := make([]string, 0, len(groups))
	for _, g := range groups {
		byID[g.ID] = g
		ids = append(ids, g.ID)
	}
	defaults, err := q.defaultGroups(ctx)
	if err != nil {
		return err
	}
	var f []Filter
	if len(ids) <= 500 {
		f = []Filter{{Field: "security_group_id", Values: anys(ids)}}
	}
	rules, err := q.SecurityGroupRules(ctx, Scope{All: true}, f)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if g := byID[r.SecurityGroupID]; g != nil {
			r.BelongsToDefaultSG = defaults[g.ID]
			g.SecurityGroupRules = append(g.SecurityGroupRules, *r)
		}
	}
	return addTags(ctx, q, "security_groups", groups, false, func(g *netapi.SecurityGroup) (string, *[]string) { return g.ID, &g.Tags })
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (q Q) defaultGroups(ctx context.Context) (map[string]bool, error) {
	ids, err := pstore.All(ctx, q.q, pstore.Column[string], "SELECT security_group_id FROM default_security_groups")
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// SecurityGroupInUse reports whether a port uses the group.
func (q Q) SecurityGroupInUse(ctx context.Context, id string) (bool, error) {
	n, err := q.count(ctx, "SELECT COUNT(*) FROM port_security_groups WHERE security_group_id = ?", id)
	return n > 0, err
}

// Member is a port in a security group, with what makes its addresses.
type Member struct {
	GroupID             string
	PortID              string
	FixedIPs            []netapi.FixedIP
	AllowedAddressPairs []netapi.AddressPair
}

// SecurityGroupMembers lists the ports of the groups, group by group.
func (q Q) SecurityGroupMembers(ctx context.Context, groups []string) ([]Member, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	ph, args := pstore.In(groups)
	return pstore.All(ctx, q.q, func(r pstore.Row) (Member, error) {
		var m Member
		var fixed, pairs string
		err := r.Scan(&m.GroupID, &m.PortID, &fixed, &pairs)
		m.FixedIPs = decodeFixedIPs(fixed)
		m.AllowedAddressPairs = decodeList[netapi.AddressPair](pairs)
		return m, err
	}, `SELECT g.security_group_id, p.id, p.fixed_ips, p.allowed_address_pairs
		FROM port_security_groups g JOIN ports p ON p.id = g.port_id WHERE g.security_group_id IN `+ph, args...)
}

// RemoteGroupHosts returns, for each of the groups, the hosts that have
// bound ports in groups whose rules name it as remote group: the hosts
// whose filters follow its membership.
func (q Q) RemoteGroupHosts(ctx context.Context, groups []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(groups) == 0 {
		return out, nil
	}
	ph, args := pstore.In(groups)
	err := pstore.Each(ctx, q.q, func(r pstore.Row) error {
		var group, host string
		err := r.Scan(&group, &host)
		out[group] = append(out[group], host)
		return err
	}, `SELECT DISTINCT r.remote_group_id, p.host_id FROM security_group_rules r
		JOIN port_security_groups g ON g.security_group_id = r.security_group_id
		JOIN ports p ON p.id = g.port_id
		WHERE r.remote_group_id IN `+ph+` AND p.host_id <> ''`, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSecurityGroup removes a group, its rules and the rules of other
// groups that name it as remote group.
func (q Q) DeleteSecurityGroup(ctx context.Context, id string) error {
	if _, err := q.q.Exec(ctx, "DELETE FROM security_group_rules WHERE security_group_id = ? OR remote_group_id = ?", id, id); err != nil {
		return err
	}
	for _, stmt := range []string{
		"DELETE FROM default_security_groups WHERE security_group_id = ?",
		"DELETE FROM tags WHERE resource_id = ?",
	} {
		if _, err := q.q.Exec(ctx, stmt, id); err != nil {
			return err
		}
	}
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM security_groups WHERE id = ?", id))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountSecurityGroups counts a project's groups (for quotas).
func (q Q) CountSecurityGroups(ctx context.Context, project string) (int, error) {
	return q.count(ctx, "SELECT COUNT(*) FROM security_groups WHERE project_id = ?", project)
}

const ruleCols = `id, project_id, security_group_id, direction, ethertype, protocol, port_range_min, port_range_max,
	remote_ip_prefix, remote_group_id, description, revision_number, created_at, updated_at`

var ruleFilters = map[string]column{
	"id": {"id"}, "project_id": {"project_id"}, "tenant_id": {"project_id"}, "security_group_id": {"security_group_id"},
	"direction": {"direction"}, "ethertype": {"ethertype"}, "protocol": {"protocol"}, "port_range_min": {"port_range_min"},
	"port_range_max": {"port_range_max"}, "remote_ip_prefix": {"remote_ip_prefix"}, "remote_group_id": {"remote_group_id"},
	"description": {"description"}, "revision_number": {"revision_number"},
}

func scanRule(sc interface{ Scan(...any) error }) (*netapi.SecurityGroupRule, error) {
	var r netapi.SecurityGroupRule
	var proto, prefix, remote sql.NullString
	var pmin, pmax sql.NullInt64
	var created, updated pstore.Time
	if err := sc.Scan(&r.ID, &r.ProjectID, &r.SecurityGroupID, &r.Direction, &r.EtherType, &proto, &pmin, &pmax,
		&prefix, &remote, &r.Description, &r.RevisionNumber, &created, &updated); err != nil {
		return nil, err
	}
	r.TenantID = r.ProjectID
	r.Protocol, r.RemoteIPPrefix, r.RemoteGroupID = strPtr(proto), strPtr(prefix), strPtr(remote)
	if r.RemoteIPPrefix != nil {
		if pf, err := netip.ParsePrefix(*r.RemoteIPPrefix); err == nil {
			n := pf.Masked().String()
			r.NormalizedCIDR = &n
		} else {
			r.NormalizedCIDR = r.RemoteIPPrefix
		}
	}
	r.PortRangeMin, r.PortRangeMax = intPtr(pmin), intPtr(pmax)
	r.CreatedAt, r.UpdatedAt = fmtTime(created), fmtTime(updated)
	return &r, nil
}

func intArg(v *int) any {
	if v == nil {
		return nil
	}
	return *v
}

// InsertSecurityGroupRule stores a rule; key is its normalised content, and a
// duplicate in the group is a unique violation.
func (q Q) InsertSecurityGroupRule(ctx context.Context, r *netapi.SecurityGroupRule, key string) error {
	now := pstore.TimeOf(Now())
	_, err := q.q.Exec(ctx, "INSERT INTO security_group_rules ("+ruleCols+", rule_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		r.ID, r.ProjectID, r.SecurityGroupID, r.Direction, r.EtherType, nullStr(r.Protocol), intArg(r.PortRangeMin),
		intArg(r.PortRangeMax), nullStr(r.RemoteIPPrefix), nullStr(r.RemoteGroupID), r.Description, r.RevisionNumber, now, now, key)
	if err == nil {
		r.CreatedAt, r.UpdatedAt = fmtTime(now), fmtTime(now)
	}
	return err
}

// RuleByKey finds the rule of a group with the given normalised content.
func (q Q) RuleByKey(ctx context.Context, groupID, key string) (string, error) {
	var id string
	err := q.q.QueryRow(ctx, "SELECT id FROM security_group_rules WHERE security_group_id = ? AND rule_key = ?", groupID, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// SecurityGroupRule reads one rule.
func (q Q) SecurityGroupRule(ctx context.Context, id string) (*netapi.SecurityGroupRule, error) {
	r, err := scanRule(q.q.QueryRow(ctx, "SELECT "+ruleCols+" FROM security_group_rules WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	def, err := q.IsDefaultSecurityGroup(ctx, r.SecurityGroupID)
	r.BelongsToDefaultSG = def
	return r, err
}

// SecurityGroupRules lists rules; a project sees the rules of its groups and
// the rules it owns.
func (q Q) SecurityGroupRules(ctx context.Context, s Scope, filters []Filter) ([]*netapi.SecurityGroupRule, error) {
	var w where
	if !s.All {
		w.add("(project_id = ? OR security_group_id IN (SELECT id FROM security_groups WHERE project_id = ?))", s.ProjectID, s.ProjectID)
	}
	if err := applyFilters(&w, "security_group_rules", "security_group_rules.id", ruleFilters, filters); err != nil {
		return nil, err
	}
	out, err := pstore.All(ctx, q.q, scanRule, "SELECT "+ruleCols+" FROM security_group_rules"+w.sql()+" ORDER BY created_at, id", w.args...)
	if err != nil {
		return nil, err
	}
	if len(out) > 0 {
		defaults, err := q.defaultGroups(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range out {
			r.BelongsToDefaultSG = defaults[r.SecurityGroupID]
		}
	}
	return out, nil
}

// DeleteSecurityGroupRule removes a rule.
func (q Q) DeleteSecurityGroupRule(ctx context.Context, id string) error {
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM security_group_rules WHERE id = ?", id))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountSecurityGroupRules counts a project's rules (for quotas).
func (q Q) CountSecurityGroupRules(ctx context.Context, project string) (int, error) {
	return q.count(ctx, "SELECT COUNT(*) FROM security_group_rules WHERE project_id = ?", project)
}

package plugin

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/ipam"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

// protocols are the names Neutron accepts, with their numbers.
var protocols = map[string]int{"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2,
	"ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
	"ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112}

// portProtocols are those with ports.
var portProtocols = map[int]bool{6: true, 17: true, 136: true, 132: true, 33: true}

var ipv6OnlyProtocols = []string{"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route",
	"41", "44", "58", "59", "60", "43"}

func protocolNames() string {
	names := []string{"None", "any"}
	for n := range protocols {
		names = append(names, n)
	}
	sort.Strings(names[2:])
	return pyList(names)
}

// protoNumber returns the number of a protocol name or number string.
func protoNumber(p string) int {
	if n, ok := protocols[p]; ok {
		return n
	}
	n, _ := strconv.Atoi(p)
	return n
}

// RuleSpec is a security group rule create request.
type RuleSpec struct {
	ProjectID       string
	SecurityGroupID string
	Direction       string
	EtherType       *string
	// Protocol is a name or a number as sent (JSON numbers arrive as text).
	Protocol       *string
	PortRangeMin   *string
	PortRangeMax   *string
	RemoteIPPrefix *string
	RemoteGroupID  *string
	Description    *string
}

func portValue(attr string, s *string) (*int, error) {
	if s == nil {
		return nil, nil
	}
	n, err := strconv.Atoi(*s)
	if err != nil || n < 0 || n > 65535 {
		return nil, badRequest("SecurityGroupInvalidPortValue", "Invalid value for port %s", *s)
	}
	return &n, nil
}

// validateRule turns a spec into a rule and its duplicate-detection key.
func validateRule(s RuleSpec) (*netapi.SecurityGroupRule, string, error) {
	r := &netapi.SecurityGroupRule{ProjectID: s.ProjectID, TenantID: s.ProjectID, SecurityGroupID: s.SecurityGroupID,
		Direction: s.Direction, EtherType: netapi.EtherTypeIPv4, Description: deref(s.Description)}
	if r.Direction != netapi.DirectionIngress && r.Direction != netapi.DirectionEgress {
		return nil, "", BadAttr("direction", "'%s' is not in ['ingress', 'egress']", r.Direction)
	}
	if s.EtherType != nil {
		switch strings.ToLower(*s.EtherType) {
		case "ipv4":
			r.EtherType = netapi.EtherTypeIPv4
		case "ipv6":
			r.EtherType = netapi.EtherTypeIPv6
		default:
			return nil, "", badRequest("SecurityGroupRuleInvalidEtherType",
				"Security group rule for ethertype '%s' not supported. Allowed values are ['IPv4', 'IPv6'].", *s.EtherType)
		}
	}
	if s.Protocol != nil && *s.Protocol != "" && !strings.EqualFold(*s.Protocol, "any") {
		p := *s.Protocol
		if n, err := strconv.Atoi(p); err == nil {
			if n < 0 || n > 255 {
				return nil, "", badRequest("SecurityGroupRuleInvalidProtocol", "Security group rule protocol %s not supported. Only protocol values %s and integer representations [0 to 255] are supported.", p, protocolNames())
			}
		} else if _, ok := protocols[strings.ToLower(p)]; ok {
			p = strings.ToLower(p)
		} else {
			return nil, "", badRequest("SecurityGroupRuleInvalidProtocol", "Security group rule protocol %s not supported. Only protocol values %s and integer representations [0 to 255] are supported.", p, protocolNames())
		}
		if r.EtherType == netapi.EtherTypeIPv6 && p == "icmpv6" {
			p = "ipv6-icmp"
		}
		if r.EtherType == netapi.EtherTypeIPv4 && slices.Contains(ipv6OnlyProtocols, p) {
			return nil, "", badRequest("SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype %s for protocol %s.", r.EtherType, p)
		}
		r.Protocol = &p
	}
	var err error
	if r.PortRangeMin, err = portValue("port_range_min", s.PortRangeMin); err != nil {
		return nil, "", err
	}
	if r.PortRangeMax, err = portValue("port_range_max", s.PortRangeMax); err != nil {
		return nil, "", err
	}
	if r.PortRangeMin != nil || r.PortRangeMax != nil {
		if r.Protocol == nil {
			return nil, "", badRequest("SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
		}
		num := protoNumber(*r.Protocol)
		switch {
		case portProtocols[num]:
			if r.PortRangeMin != nil && *r.PortRangeMin == 0 || r.PortRangeMax != nil && *r.PortRangeMax == 0 {
				return nil, "", badRequest("SecurityGroupInvalidPortValue", "Invalid value for port 0")
			}
			if r.PortRangeMin == nil || r.PortRangeMax == nil || *r.PortRangeMin > *r.PortRangeMax {
				return nil, "", badRequest("SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max")
			}
			if *r.PortRangeMin == 1 && *r.PortRangeMax == 65535 {
				r.PortRangeMin, r.PortRangeMax = nil, nil
			}
		case num == 1 || num == 58:
			for _, f := range []struct {
				v           *int
				field, attr string
			}{{r.PortRangeMin, "type", "port_range_min"}, {r.PortRangeMax, "code", "port_range_max"}} {
				if f.v != nil && *f.v > 255 {
					return nil, "", badRequest("SecurityGroupInvalidIcmpValue", "Invalid value for ICMP %s (%s) %d. It must be 0 to 255.", f.field, f.attr, *f.v)
				}
			}
			if r.PortRangeMin == nil && r.PortRangeMax != nil {
				return nil, "", badRequest("SecurityGroupMissingIcmpType", "ICMP code (port-range-max) %d is provided but ICMP type (port-range-min) is missing.", *r.PortRangeMax)
			}
		default:
			return nil, "", badRequest("SecurityGroupInvalidProtocolForPort", "Ports cannot be specified for protocol %s. Only TCP, UDP, UDPLITE, SCTP and DCCP support ports.", *r.Protocol)
		}
	}
	if s.RemoteIPPrefix != nil && *s.RemoteIPPrefix != "" {
		if s.RemoteGroupID != nil && *s.RemoteGroupID != "" {
			return nil, "", badRequest("SecurityGroupMultipleRemoteEntites", "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
		}
		pf, err := parsePrefixKeepHost(*s.RemoteIPPrefix)
		if err != nil {
			return nil, "", badRequest("InvalidCIDR", "Invalid CIDR %s given as IP prefix.", *s.RemoteIPPrefix)
		}
		if fmt.Sprintf("IPv%d", addrVersion(pf.Addr())) != r.EtherType {
			return nil, "", badRequest("SecurityGroupRuleParameterConflict", "Conflicting value ethertype %s for CIDR %s", r.EtherType, *s.RemoteIPPrefix)
		}
		r.RemoteIPPrefix = strp(pf.String())
		r.NormalizedCIDR = strp(pf.Masked().String())
	}
	if s.RemoteGroupID != nil && *s.RemoteGroupID != "" {
		r.RemoteGroupID = s.RemoteGroupID
	}
	return r, ruleKey(r), nil
}

// parsePrefixKeepHost parses "10.0.0.5/24" keeping host bits, and a bare
// address as a host prefix, as netaddr.IPNetwork does.
func parsePrefixKeepHost(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := ipam.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.ParsePrefix(s)
}

// ruleKey is Neutron's duplicate-detection key: every comparable field, with
// any-address prefixes as none and protocols by name and number.
func ruleKey(r *netapi.SecurityGroupRule) string {
	v := func(p *int) string {
		if p == nil {
			return "+"
		}
		return strconv.Itoa(*p)
	}
	proto := "+"
	if r.Protocol != nil {
		name, num := *r.Protocol, strconv.Itoa(protoNumber(*r.Protocol))
		if _, err := strconv.Atoi(name); err == nil {
			for n, k := range protocols {
				if strconv.Itoa(k) == name && n != "icmpv6" && n != "ip" {
					name = n
				}
			}
		}
		proto = name + "/" + num
	}
	prefix := "+"
	if r.RemoteIPPrefix != nil && *r.RemoteIPPrefix != "0.0.0.0/0" && *r.RemoteIPPrefix != "::/0" {
		prefix = *r.NormalizedCIDR
	}
	return strings.Join([]string{r.Direction, r.EtherType, v(r.PortRangeMax), v(r.PortRangeMin), proto,
		deref(r.RemoteGroupID), prefix}, "_")
}

// SecurityGroupSpec is a group create or update request.
type SecurityGroupSpec struct {
	ProjectID   string
	Name        *string
	Description *string
	Stateful    *bool
	IfMatch     *int64
}

// EnsureDefaultSecurityGroup gives a project its default group (idempotent
// and race-free: the default_security_groups key decides).
func (p *Plugin) EnsureDefaultSecurityGroup(ctx context.Context, project string) error {
	if project == "" {
		return nil
	}
	if _, ok := p.defaults.Load(project); ok {
		return nil
	}
	id, err := p.st.DefaultSecurityGroup(ctx, project)
	if err != nil {
		return err
	}
	if id != "" {
		p.defaults.Store(project, id)
		return nil
	}
	return p.tx(ctx, func(q nstore.Q) error {
		if id, err := q.DefaultSecurityGroup(ctx, project); err != nil || id != "" {
			return err
		}
		g := &netapi.SecurityGroup{ID: newID(), ProjectID: project, Name: "default", Description: "Default security group", Stateful: true}
		if err := q.InsertSecurityGroup(ctx, g); err != nil {
			return err
		}
		won, err := q.SetDefaultSecurityGroup(ctx, project, g.ID)
		if err != nil {
			return err
		}
		if !won {
			return q.DeleteSecurityGroup(ctx, g.ID)
		}
		for _, et := range []string{netapi.EtherTypeIPv4, netapi.EtherTypeIPv6} {
			for _, r := range []*netapi.SecurityGroupRule{
				{Direction: netapi.DirectionIngress, EtherType: et, RemoteGroupID: strp(g.ID)},
				{Direction: netapi.DirectionEgress, EtherType: et},
			} {
				r.ID, r.ProjectID, r.SecurityGroupID = newID(), project, g.ID
				if err := q.InsertSecurityGroupRule(ctx, r, ruleKey(r)); err != nil {
					return err
				}
			}
		}
		p.log.InfoContext(ctx, "default security group created", "project_id", project, "security_group_id", g.ID)
		return nil
	})
}

// CreateSecurityGroup creates a group with the egress rules every new group has.
func (p *Plugin) CreateSecurityGroup(ctx context.Context, s SecurityGroupSpec) (*netapi.SecurityGroup, error) {
	if err := p.EnsureDefaultSecurityGroup(ctx, s.ProjectID); err != nil {
		return nil, err
	}
	if strings.EqualFold(deref(s.Name), "default") {
		return nil, conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
	}
	g := &netapi.SecurityGroup{ID: newID(), ProjectID: s.ProjectID, TenantID: s.ProjectID, Name: deref(s.Name),
		Description: deref(s.Description), Stateful: true, Tags: []string{}, SecurityGroupRules: []netapi.SecurityGroupRule{}}
	if s.Stateful != nil {
		g.Stateful = *s.Stateful
	}
	err := p.tx(ctx, func(q nstore.Q) error {
		g.SecurityGroupRules = g.SecurityGroupRules[:0]
		if err := p.checkQuota(ctx, q, s.ProjectID, "security_group", q.CountSecurityGroups); err != nil {
			return err
		}
		if err := q.InsertSecurityGroup(ctx, g); err != nil {
			return err
		}
		for _, et := range []string{netapi.EtherTypeIPv4, netapi.EtherTypeIPv6} {
			r := &netapi.SecurityGroupRule{ID: newID(), ProjectID: s.ProjectID, TenantID: s.ProjectID, SecurityGroupID: g.ID,
				Direction: netapi.DirectionEgress, EtherType: et}
			if err := q.InsertSecurityGroupRule(ctx, r, ruleKey(r)); err != nil {
				return err
			}
			g.SecurityGroupRules = append(g.SecurityGroupRules, *r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// UpdateSecurityGroup renames or redescribes a group.
func (p *Plugin) UpdateSecurityGroup(ctx context.Context, id string, s SecurityGroupSpec) (*netapi.SecurityGroup, error) {
	var g *netapi.SecurityGroup
	err := p.tx(ctx, func(q nstore.Q) error {
		var err error
		g, err = q.SecurityGroup(ctx, id)
		if err != nil {
			return notFoundAs(err, SecurityGroupNotFound(id))
		}
		if err := checkRevision(s.IfMatch, g.RevisionNumber); err != nil {
			return err
		}
		rev := g.RevisionNumber
		if s.Name != nil && *s.Name != g.Name {
			if g.Name == "default" {
				if def, _ := q.IsDefaultSecurityGroup(ctx, id); def {
					return conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
				}
			}
			if strings.EqualFold(*s.Name, "default") {
				return conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
			}
			g.Name = *s.Name
		}
		if s.Description != nil {
			g.Description = *s.Description
		}
		if s.Stateful != nil && *s.Stateful != g.Stateful {
			if used, err := q.SecurityGroupInUse(ctx, id); err != nil {
				return err
			} else if used {
				return conflict("SecurityGroupInUse", "Security Group %s in use.", id)
			}
			g.Stateful = *s.Stateful
		}
		return casConflict(q.UpdateSecurityGroup(ctx, g, rev))
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// SecurityGroup reads a group.
func (p *Plugin) SecurityGroup(ctx context.Context, id string) (*netapi.SecurityGroup, error) {
	g, err := p.st.SecurityGroup(ctx, id)
	return g, notFoundAs(err, SecurityGroupNotFound(id))
}

// DeleteSecurityGroup deletes a group no port uses; only admins may delete a
// default group.
func (p *Plugin) DeleteSecurityGroup(ctx context.Context, id string, c Caller, ifMatch *int64) error {
	var referrers []string
	err := p.tx(ctx, func(q nstore.Q) error {
		g, err := q.SecurityGroup(ctx, id)
		if err != nil {
			return notFoundAs(err, SecurityGroupNotFound(id))
		}
		if err := checkRevision(ifMatch, g.RevisionNumber); err != nil {
			return err
		}
		if def, err := q.IsDefaultSecurityGroup(ctx, id); err != nil {
			return err
		} else if def && !c.Admin {
			return conflict("SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
		}
		if used, err := q.SecurityGroupInUse(ctx, id); err != nil {
			return err
		} else if used {
			return conflict("SecurityGroupInUse", "Security Group %s in use.", id)
		}
		rules, err := q.SecurityGroupRules(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "remote_group_id", Values: []any{id}}})
		if err != nil {
			return err
		}
		p.defaults.Range(func(k, v any) bool {
			if v == id {
				p.defaults.Delete(k)
			}
			return true
		})
		referrers = nil
		for _, r := range rules {
			referrers = append(referrers, r.SecurityGroupID)
		}
		return q.DeleteSecurityGroup(ctx, id)
	})
	if err != nil {
		return err
	}
	p.markGroups(ctx, referrers...)
	return nil
}

// CreateSecurityGroupRule adds a rule to a group.
func (p *Plugin) CreateSecurityGroupRule(ctx context.Context, s RuleSpec) (*netapi.SecurityGroupRule, error) {
	r, key, err := validateRule(s)
	if err != nil {
		return nil, err
	}
	r.ID = newID()
	err = p.tx(ctx, func(q nstore.Q) error {
		if _, err := q.SecurityGroup(ctx, s.SecurityGroupID); err != nil {
			return notFoundAs(err, SecurityGroupNotFound(s.SecurityGroupID))
		}
		if r.RemoteGroupID != nil {
			if _, err := q.SecurityGroup(ctx, *r.RemoteGroupID); err != nil {
				return notFoundAs(err, SecurityGroupNotFound(*r.RemoteGroupID))
			}
		}
		if id, err := q.RuleByKey(ctx, s.SecurityGroupID, key); err != nil {
			return err
		} else if id != "" {
			return conflict("SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", id)
		}
		if err := p.checkQuota(ctx, q, s.ProjectID, "security_group_rule", q.CountSecurityGroupRules); err != nil {
			return err
		}
		if err := q.InsertSecurityGroupRule(ctx, r, key); err != nil {
			return err
		}
		r.BelongsToDefaultSG, err = q.IsDefaultSecurityGroup(ctx, s.SecurityGroupID)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.markGroups(ctx, s.SecurityGroupID)
	return r, nil
}

// SecurityGroupRule reads a rule.
func (p *Plugin) SecurityGroupRule(ctx context.Context, id string) (*netapi.SecurityGroupRule, error) {
	r, err := p.st.SecurityGroupRule(ctx, id)
	return r, notFoundAs(err, SecurityGroupRuleNotFound(id))
}

// DeleteSecurityGroupRule removes a rule.
func (p *Plugin) DeleteSecurityGroupRule(ctx context.Context, id string) error {
	r, err := p.st.SecurityGroupRule(ctx, id)
	if err != nil {
		return notFoundAs(err, SecurityGroupRuleNotFound(id))
	}
	if err := p.st.DeleteSecurityGroupRule(ctx, id); err != nil {
		return notFoundAs(err, SecurityGroupRuleNotFound(id))
	}
	p.markGroups(ctx, r.SecurityGroupID)
	return nil
}

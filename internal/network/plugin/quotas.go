package plugin

import (
	"context"
	"slices"

	netapi "github.com/tenku-cloud/tenku/api/network"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

// Quotas returns a project's limits (its overrides over the defaults).
func (p *Plugin) Quotas(ctx context.Context, project string) (map[string]int, error) {
	limits, err := p.st.QuotaLimits(ctx, project)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range QuotaResources {
		out[r] = p.cfg.Quotas[r]
		if l, ok := limits[r]; ok {
			out[r] = l
		}
	}
	return out, nil
}

// DefaultQuotaLimits returns the configured defaults.
func (p *Plugin) DefaultQuotaLimits() map[string]int {
	out := map[string]int{}
	for _, r := range QuotaResources {
		out[r] = p.cfg.Quotas[r]
	}
	return out
}

// SetQuotas overrides limits of a project; unknown resources are a 400.
func (p *Plugin) SetQuotas(ctx context.Context, project string, limits map[string]int) (map[string]int, error) {
	for r, l := range limits {
		if !slices.Contains(QuotaResources, r) {
			return nil, BadAttr("quota", "Unrecognized attribute(s) '%s'", r)
		}
		if l < -1 {
			return nil, BadAttr(r, "'%d' should be greater than or equal to -1", l)
		}
	}
	err := p.tx(ctx, func(q nstore.Q) error {
		for r, l := range limits {
			if err := q.SetQuota(ctx, project, r, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p.Quotas(ctx, project)
}

// ResetQuotas drops a project's overrides.
func (p *Plugin) ResetQuotas(ctx context.Context, project string) error {
	return p.st.ResetQuotas(ctx, project)
}

// QuotaProjects lists the projects with overridden limits and their limits.
func (p *Plugin) QuotaProjects(ctx context.Context) (map[string]map[string]int, error) {
	over, err := p.st.QuotaProjects(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int{}
	for project := range over {
		if out[project], err = p.Quotas(ctx, project); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// QuotaUsage returns a project's usage per resource.
func (p *Plugin) QuotaUsage(ctx context.Context, project string) (map[string]netapi.QuotaDetail, error) {
	limits, err := p.Quotas(ctx, project)
	if err != nil {
		return nil, err
	}
	q := p.st.Q
	counters := map[string]func(context.Context, string) (int, error){
		"network": q.CountNetworks, "subnet": q.CountSubnets, "port": q.CountPorts, "router": q.CountRouters,
		"floatingip": q.CountFloatingIPs, "security_group": q.CountSecurityGroups, "security_group_rule": q.CountSecurityGroupRules,
	}
	out := map[string]netapi.QuotaDetail{}
	for _, r := range QuotaResources {
		d := netapi.QuotaDetail{Limit: limits[r]}
		if c := counters[r]; c != nil {
			if d.Used, err = c(ctx, project); err != nil {
				return nil, err
			}
		}
		out[r] = d
	}
	return out, nil
}

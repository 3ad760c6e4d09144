package plugin

import (
	"context"
	"net/netip"
	"strconv"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/ipam"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

// SubnetPoolSpec is a subnet pool create or update request.
type SubnetPoolSpec struct {
	ProjectID        string
	Name             *string
	Description      *string
	Prefixes         *[]string
	DefaultPrefixLen *int
	MinPrefixLen     *int
	MaxPrefixLen     *int
	DefaultQuota     *int
	Shared           *bool
	IsDefault        *bool
	// AddressScopeSet says address_scope_id was sent (nil: none).
	AddressScopeSet bool
	AddressScopeID  *string
	IfMatch         *int64
}

func parsePoolPrefixes(in []string) ([]netip.Prefix, []string, error) {
	if len(in) == 0 {
		return nil, nil, badRequest("EmptySubnetPoolPrefixList", "Empty subnet pool prefix list.")
	}
	var out []netip.Prefix
	var text []string
	for _, s := range in {
		pf, err := ipam.ParsePrefix(s, false)
		if err != nil {
			return nil, nil, BadAttr("prefixes", "%v", err)
		}
		if len(out) > 0 && out[0].Addr().Is4() != pf.Addr().Is4() {
			return nil, nil, badRequest("PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
		}
		out = append(out, pf)
		text = append(text, pf.String())
	}
	return out, text, nil
}

func (p *Plugin) checkPoolBounds(sp *netapi.SubnetPool) error {
	max := 32
	if sp.IPVersion == 6 {
		max = 128
	}
	if sp.MinPrefixLen < 0 || sp.MinPrefixLen > max || sp.MaxPrefixLen > max {
		return badRequest("IllegalSubnetPoolPrefixBounds", "Illegal prefix bounds: min_prefixlen=%d, max_prefixlen=%d.", sp.MinPrefixLen, sp.MaxPrefixLen)
	}
	if sp.MinPrefixLen > sp.MaxPrefixLen {
		return badRequest("IllegalSubnetPoolPrefixBounds", "Illegal prefix bounds: min_prefixlen=%d, max_prefixlen=%d.", sp.MinPrefixLen, sp.MaxPrefixLen)
	}
	if sp.DefaultPrefixLen < sp.MinPrefixLen || sp.DefaultPrefixLen > sp.MaxPrefixLen {
		return badRequest("IllegalSubnetPoolPrefixBounds", "Illegal prefix bounds: default_prefixlen=%d, min_prefixlen=%d, max_prefixlen=%d.", sp.DefaultPrefixLen, sp.MinPrefixLen, sp.MaxPrefixLen)
	}
	return nil
}

// CreateSubnetPool creates a subnet pool.
func (p *Plugin) CreateSubnetPool(ctx context.Context, s SubnetPoolSpec) (*netapi.SubnetPool, error) {
	if s.Prefixes == nil {
		return nil, BadAttr("prefixes", "prefixes is required")
	}
	prefixes, text, err := parsePoolPrefixes(*s.Prefixes)
	if err != nil {
		return nil, err
	}
	sp := &netapi.SubnetPool{ID: newID(), ProjectID: s.ProjectID, TenantID: s.ProjectID, Name: deref(s.Name), Description: deref(s.Description),
		Prefixes: text, IPVersion: 4, Tags: []string{}}
	if prefixes[0].Addr().Is6() {
		sp.IPVersion = 6
		sp.MinPrefixLen, sp.MaxPrefixLen = 64, 128
	} else {
		sp.MinPrefixLen, sp.MaxPrefixLen = 8, 32
	}
	if s.MinPrefixLen != nil {
		sp.MinPrefixLen = *s.MinPrefixLen
	}
	if s.MaxPrefixLen != nil {
		sp.MaxPrefixLen = *s.MaxPrefixLen
	}
	sp.DefaultPrefixLen = sp.MinPrefixLen
	if s.DefaultPrefixLen != nil {
		sp.DefaultPrefixLen = *s.DefaultPrefixLen
	}
	if err := p.checkPoolBounds(sp); err != nil {
		return nil, err
	}
	sp.DefaultQuota = s.DefaultQuota
	if s.Shared != nil {
		sp.Shared = *s.Shared
	}
	if s.IsDefault != nil {
		sp.IsDefault = *s.IsDefault
	}
	err = p.tx(ctx, func(q nstore.Q) error {
		if s.AddressScopeID != nil {
			a, err := q.AddressScope(ctx, *s.AddressScopeID)
			if err != nil {
				return notFoundAs(err, AddressScopeNotFound(*s.AddressScopeID))
			}
			if a.IPVersion != sp.IPVersion {
				return badRequest("IllegalSubnetPoolIpVersionAssociationToAddressScope", "Illegal subnetpool association: subnetpool %s cannot associate with address scope %s because subnetpool ip_version is not %d.", sp.ID, a.ID, a.IPVersion)
			}
			sp.AddressScopeID = &a.ID
		}
		if sp.IsDefault {
			others, err := q.SubnetPools(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "is_default", Values: []any{true}}, {Field: "ip_version", Values: []any{sp.IPVersion}}})
			if err != nil {
				return err
			}
			if len(others) > 0 {
				return InvalidInput("A default subnetpool for this IP family has already been set. Only one default may exist per IP family")
			}
		}
		if err := p.checkQuota(ctx, q, s.ProjectID, "subnetpool", func(ctx context.Context, project string) (int, error) {
			l, err := q.SubnetPools(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "project_id", Values: []any{project}}})
			return len(l), err
		}); err != nil {
			return err
		}
		return q.InsertSubnetPool(ctx, sp)
	})
	if err != nil {
		return nil, err
	}
	return sp, nil
}

// UpdateSubnetPool changes a pool; prefixes may only grow.
func (p *Plugin) UpdateSubnetPool(ctx context.Context, id string, s SubnetPoolSpec) (*netapi.SubnetPool, error) {
	var sp *netapi.SubnetPool
	err := p.tx(ctx, func(q nstore.Q) error {
		var err error
		if sp, err = q.SubnetPool(ctx, id); err != nil {
			return notFoundAs(err, SubnetPoolNotFound(id))
		}
		if err := checkRevision(s.IfMatch, sp.RevisionNumber); err != nil {
			return err
		}
		rev := sp.RevisionNumber
		if s.Name != nil {
			sp.Name = *s.Name
		}
		if s.Description != nil {
			sp.Description = *s.Description
		}
		if s.Shared != nil && *s.Shared != sp.Shared {
			return BadAttr("shared", "Cannot update read-only attribute shared")
		}
		if s.Prefixes != nil {
			newPf, text, err := parsePoolPrefixes(*s.Prefixes)
			if err != nil {
				return err
			}
			for _, old := range sp.Prefixes {
				op := netip.MustParsePrefix(old)
				covered := false
				for _, np := range newPf {
					if np.Bits() <= op.Bits() && np.Contains(op.Addr()) {
						covered = true
					}
				}
				if !covered {
					return badRequest("IllegalSubnetPoolPrefixUpdate", "Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.")
				}
			}
			sp.Prefixes = text
		}
		if s.MinPrefixLen != nil {
			sp.MinPrefixLen = *s.MinPrefixLen
		}
		if s.MaxPrefixLen != nil {
			sp.MaxPrefixLen = *s.MaxPrefixLen
		}
		if s.DefaultPrefixLen != nil {
			sp.DefaultPrefixLen = *s.DefaultPrefixLen
		}
		if err := p.checkPoolBounds(sp); err != nil {
			return err
		}
		if s.DefaultQuota != nil {
			sp.DefaultQuota = s.DefaultQuota
		}
		if s.IsDefault != nil {
			sp.IsDefault = *s.IsDefault
		}
		if s.AddressScopeSet {
			sp.AddressScopeID = nil
			if s.AddressScopeID != nil {
				a, err := q.AddressScope(ctx, *s.AddressScopeID)
				if err != nil {
					return notFoundAs(err, AddressScopeNotFound(*s.AddressScopeID))
				}
				sp.AddressScopeID = &a.ID
			}
		}
		return casConflict(q.UpdateSubnetPool(ctx, sp, rev))
	})
	return sp, err
}

// SubnetPool reads a pool.
func (p *Plugin) SubnetPool(ctx context.Context, id string) (*netapi.SubnetPool, error) {
	sp, err := p.st.SubnetPool(ctx, id)
	return sp, notFoundAs(err, SubnetPoolNotFound(id))
}

// DeleteSubnetPool deletes a pool no subnet uses.
func (p *Plugin) DeleteSubnetPool(ctx context.Context, id string, ifMatch *int64) error {
	return p.tx(ctx, func(q nstore.Q) error {
		sp, err := q.SubnetPool(ctx, id)
		if err != nil {
			return notFoundAs(err, SubnetPoolNotFound(id))
		}
		if err := checkRevision(ifMatch, sp.RevisionNumber); err != nil {
			return err
		}
		if n, err := q.CountPoolSubnets(ctx, id); err != nil {
			return err
		} else if n > 0 {
			return conflict("SubnetPoolInUse", "Unable to complete operation on subnet pool %s. Subnets are still allocated from it.", id)
		}
		return q.DeleteSubnetPool(ctx, id)
	})
}

// AddressScopeSpec is an address scope create or update request.
type AddressScopeSpec struct {
	ProjectID string
	Name      *string
	IPVersion *int
	Shared    *bool
}

// CreateAddressScope creates an address scope.
func (p *Plugin) CreateAddressScope(ctx context.Context, s AddressScopeSpec) (*netapi.AddressScope, error) {
	if s.IPVersion == nil || *s.IPVersion != 4 && *s.IPVersion != 6 {
		v := "None"
		if s.IPVersion != nil {
			v = itoa(*s.IPVersion)
		}
		return nil, BadAttr("ip_version", "'%s' is not in [4, 6]", v)
	}
	a := &netapi.AddressScope{ID: newID(), ProjectID: s.ProjectID, TenantID: s.ProjectID, Name: deref(s.Name), IPVersion: *s.IPVersion}
	if s.Shared != nil {
		a.Shared = *s.Shared
	}
	return a, p.st.InsertAddressScope(ctx, a)
}

func itoa(i int) string { return strconv.Itoa(i) }

// UpdateAddressScope renames or shares a scope (unsharing is refused).
func (p *Plugin) UpdateAddressScope(ctx context.Context, id string, s AddressScopeSpec) (*netapi.AddressScope, error) {
	a, err := p.st.AddressScope(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, AddressScopeNotFound(id))
	}
	if s.IPVersion != nil {
		return nil, BadAttr("ip_version", "Cannot update read-only attribute ip_version")
	}
	if s.Name != nil {
		a.Name = *s.Name
	}
	if s.Shared != nil {
		if a.Shared && !*s.Shared {
			return nil, badRequest("AddressScopeUpdateError", "Unable to update address scope %s : Shared address scope can't be unshared.", id)
		}
		a.Shared = *s.Shared
	}
	return a, notFoundAs(p.st.UpdateAddressScope(ctx, a), AddressScopeNotFound(id))
}

// AddressScope reads a scope.
func (p *Plugin) AddressScope(ctx context.Context, id string) (*netapi.AddressScope, error) {
	a, err := p.st.AddressScope(ctx, id)
	return a, notFoundAs(err, AddressScopeNotFound(id))
}

// DeleteAddressScope deletes a scope no pool uses.
func (p *Plugin) DeleteAddressScope(ctx context.Context, id string) error {
	if _, err := p.AddressScope(ctx, id); err != nil {
		return err
	}
	if used, err := p.st.AddressScopeInUse(ctx, id); err != nil {
		return err
	} else if used {
		return conflict("AddressScopeInUse", "Unable to complete operation on address scope %s. There are one or more subnet pools in use on the address scope", id)
	}
	return notFoundAs(p.st.DeleteAddressScope(ctx, id), AddressScopeNotFound(id))
}

package plugin

import (
	"context"
	"fmt"
	"slices"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// NetworkSpec is a network create or update request; nil fields were not sent.
type NetworkSpec struct {
	ProjectID           string
	Name                *string
	Description         *string
	AdminStateUp        *bool
	Shared              *bool
	External            *bool
	IsDefault           *bool
	MTU                 *int
	PortSecurityEnabled *bool
	NetworkType         *string
	// PhysicalNetwork and SegmentationID are double pointers' worth of
	// intent: a nil pointer is "not sent"; the API maps JSON null to nil.
	PhysicalNetwork *string
	SegmentationID  *int
	AZHints         *[]string
	// IfMatch is the If-Match revision constraint of an update.
	IfMatch *int64
}

// vxlanOverhead is what VXLAN over IPv4 takes of the physical MTU.
const vxlanOverhead = 50

func (p *Plugin) maxMTU(ntype string) int {
	mtu := p.cfg.GlobalPhysnetMTU
	if ntype == netapi.NetworkTypeVXLAN {
		if p.cfg.PathMTU > 0 && p.cfg.PathMTU < mtu {
			mtu = p.cfg.PathMTU
		}
		mtu -= vxlanOverhead
	}
	return mtu
}

// segment resolves the provider attributes of a new network, allocating a
// segmentation id when none is given. It returns the type, physical network
// and id (nil for flat and local).
func (p *Plugin) segment(ctx context.Context, q nstore.Q, s NetworkSpec) (string, string, *int, error) {
	if s.NetworkType == nil {
		if s.PhysicalNetwork != nil || s.SegmentationID != nil {
			return "", "", nil, InvalidInput("provider:physical_network and provider:segmentation_id need provider:network_type")
		}
		for _, t := range p.cfg.TenantNetworkTypes {
			switch t {
			case netapi.NetworkTypeLocal:
				return t, "", nil, nil
			case netapi.NetworkTypeVXLAN:
				id, err := p.allocSegment(ctx, q, t, "", p.cfg.VNIRanges)
				if err == nil {
					return t, "", id, nil
				}
				if err != errNoSegment {
					return "", "", nil, err
				}
			case netapi.NetworkTypeVLAN:
				for physnet, ranges := range p.cfg.VLANRanges {
					id, err := p.allocSegment(ctx, q, t, physnet, ranges)
					if err == nil {
						return t, physnet, id, nil
					}
					if err != errNoSegment {
						return "", "", nil, err
					}
				}
			}
		}
		if len(p.cfg.TenantNetworkTypes) == 0 {
			return netapi.NetworkTypeLocal, "", nil, nil
		}
		return "", "", nil, typed(fault503("Unable to create the network. No tenant network is available for allocation."), "NoNetworkAvailable")
	}
	ntype := *s.NetworkType
	if !slices.Contains(p.cfg.TypeDrivers, ntype) {
		return "", "", nil, InvalidInput("network_type value '%s' not supported", ntype)
	}
	physnet := deref(s.PhysicalNetwork)
	switch ntype {
	case netapi.NetworkTypeLocal:
		if physnet != "" || s.SegmentationID != nil {
			return "", "", nil, InvalidInput("%s prohibited for local provider network", pick(physnet != "", "physical_network", "segmentation_id"))
		}
		return ntype, "", nil, nil
	case netapi.NetworkTypeFlat:
		if s.SegmentationID != nil {
			return "", "", nil, InvalidInput("segmentation_id prohibited for flat provider network")
		}
		if physnet == "" {
			return "", "", nil, InvalidInput("physical_network required for flat provider network")
		}
		if !slices.Contains(p.cfg.FlatNetworks, "*") && !slices.Contains(p.cfg.FlatNetworks, physnet) {
			return "", "", nil, InvalidInput("physical_network '%s' unknown for flat provider network", physnet)
		}
		return ntype, physnet, nil, nil
	case netapi.NetworkTypeVLAN:
		if physnet == "" {
			return "", "", nil, InvalidInput("physical_network required for VLAN provider network")
		}
		ranges, known := p.cfg.VLANRanges[physnet]
		if !known {
			return "", "", nil, InvalidInput("physical_network '%s' unknown for VLAN provider network", physnet)
		}
		if s.SegmentationID == nil {
			id, err := p.allocSegment(ctx, q, ntype, physnet, ranges)
			if err == errNoSegment {
				return "", "", nil, typed(fault503("Unable to create the network. No tenant network is available for allocation."), "NoNetworkAvailable")
			}
			return ntype, physnet, id, err
		}
		if id := *s.SegmentationID; id < 1 || id > 4094 {
			return "", "", nil, InvalidInput("segmentation_id out of range (1 through 4094)")
		}
		return ntype, physnet, s.SegmentationID, nil
	case netapi.NetworkTypeVXLAN:
		if physnet != "" {
			return "", "", nil, InvalidInput("provider:physical_network specified for vxlan network")
		}
		if s.SegmentationID == nil {
			id, err := p.allocSegment(ctx, q, ntype, "", p.cfg.VNIRanges)
			if err == errNoSegment {
				return "", "", nil, typed(fault503("Unable to create the network. No tenant network is available for allocation."), "NoNetworkAvailable")
			}
			return ntype, "", id, err
		}
		if id := *s.SegmentationID; id < 1 || id > 1<<24-1 {
			return "", "", nil, InvalidInput("segmentation_id out of range (1 through %d)", 1<<24-1)
		}
		return ntype, "", s.SegmentationID, nil
	}
	return "", "", nil, InvalidInput("network_type value '%s' not supported", ntype)
}

func pick(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

var errNoSegment = fmt.Errorf("no segment available")

// allocSegment picks the lowest free id of the ranges; the unique index on
// networks makes a concurrent pick of the same id fail, and the caller's
// transaction retries.
func (p *Plugin) allocSegment(ctx context.Context, q nstore.Q, ntype, physnet string, ranges []IDRange) (*int, error) {
	if len(ranges) == 0 {
		return nil, errNoSegment
	}
	used, err := q.UsedSegments(ctx, ntype, physnet)
	if err != nil {
		return nil, err
	}
	for _, r := range ranges {
		for id := r.Min; id <= r.Max; id++ {
			if !used[id] {
				return &id, nil
			}
		}
	}
	return nil, errNoSegment
}

// CreateNetwork creates a network.
func (p *Plugin) CreateNetwork(ctx context.Context, s NetworkSpec) (*netapi.Network, error) {
	if err := p.EnsureDefaultSecurityGroup(ctx, s.ProjectID); err != nil {
		return nil, err
	}
	n := &netapi.Network{
		ID: newID(), ProjectID: s.ProjectID, TenantID: s.ProjectID, Name: deref(s.Name), Description: deref(s.Description),
		AdminStateUp: true, Status: netapi.StatusActive, PortSecurityEnabled: true, Subnets: []string{}, Tags: []string{},
		AvailabilityZoneHints: []string{}, AvailabilityZones: []string{}, L2Adjacency: true,
	}
	if s.AdminStateUp != nil {
		n.AdminStateUp = *s.AdminStateUp
	}
	if s.Shared != nil {
		n.Shared = *s.Shared
	}
	if s.External != nil {
		n.External = *s.External
	}
	if s.IsDefault != nil {
		n.IsDefault = *s.IsDefault
		if n.IsDefault && !n.External {
			return nil, InvalidInput("is_default can only be set on external networks")
		}
	}
	if s.PortSecurityEnabled != nil {
		n.PortSecurityEnabled = *s.PortSecurityEnabled
	}
	if s.AZHints != nil {
		n.AvailabilityZoneHints = *s.AZHints
		if err := p.checkAZHints(ctx, *s.AZHints, netapi.AgentTypeDHCP); err != nil {
			return nil, err
		}
	}
	err := p.tx(ctx, func(q nstore.Q) error {
		if err := p.checkQuota(ctx, q, s.ProjectID, "network", q.CountNetworks); err != nil {
			return err
		}
		ntype, physnet, seg, err := p.segment(ctx, q, s)
		if err != nil {
			return err
		}
		n.NetworkType = &ntype
		n.PhysicalNetwork = nil
		if physnet != "" {
			n.PhysicalNetwork = &physnet
		}
		n.SegmentationID = seg
		n.MTU = p.maxMTU(ntype)
		if s.MTU != nil {
			if *s.MTU > n.MTU {
				return InvalidInput("Requested MTU is too big, maximum is %d", n.MTU)
			}
			if *s.MTU < 68 {
				return BadAttr("mtu", "'%d' is too small - must be at least '68'", *s.MTU)
			}
			n.MTU = *s.MTU
		}
		if n.IsDefault {
			if others, err := q.Networks(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "is_default", Values: []any{true}}}); err != nil {
				return err
			} else if len(others) > 0 {
				return conflict("DefaultExternalNetworkExists", "Unable to create the network. The default external network already exists: %s.", others[0].ID)
			}
		}
		err = q.InsertNetwork(ctx, n)
		if pstore.IsUnique(err) {
			if ntype == netapi.NetworkTypeFlat {
				return conflict("FlatNetworkInUse", "Unable to create the flat network. Physical network %s is in use.", physnet)
			}
			if s.SegmentationID != nil {
				if ntype == netapi.NetworkTypeVLAN {
					return conflict("VlanIdInUse", "Unable to create the network. The VLAN %d on physical network %s is in use.", *seg, physnet)
				}
				return conflict("TunnelIdInUse", "Unable to create the network. The tunnel ID %d is in use.", *seg)
			}
			// A concurrent request took the same free id: let Tx retry.
			return &retryable{err}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	p.log.InfoContext(ctx, "network created", "network_id", n.ID, "project_id", n.ProjectID, "network_type", *n.NetworkType)
	return n, nil
}

// UpdateNetwork changes a network.
func (p *Plugin) UpdateNetwork(ctx context.Context, id string, s NetworkSpec) (*netapi.Network, error) {
	if s.NetworkType != nil || s.PhysicalNetwork != nil || s.SegmentationID != nil {
		return nil, InvalidInput("Plugin does not support updating the following provider network attributes: provider:network_type, provider:physical_network, provider:segmentation_id")
	}
	var n *netapi.Network
	var changedDP bool
	err := p.tx(ctx, func(q nstore.Q) error {
		var err error
		n, err = q.Network(ctx, id)
		if err != nil {
			return notFoundAs(err, NetworkNotFound(id))
		}
		if err := checkRevision(s.IfMatch, n.RevisionNumber); err != nil {
			return err
		}
		rev := n.RevisionNumber
		if s.Name != nil {
			n.Name = *s.Name
		}
		if s.Description != nil {
			n.Description = *s.Description
		}
		if s.AdminStateUp != nil && *s.AdminStateUp != n.AdminStateUp {
			n.AdminStateUp = *s.AdminStateUp
			changedDP = true
		}
		if s.PortSecurityEnabled != nil {
			n.PortSecurityEnabled = *s.PortSecurityEnabled
		}
		if s.Shared != nil && *s.Shared != n.Shared {
			if !*s.Shared {
				// Unsharing is refused while other projects have ports on it.
				ports, err := q.NetworkPorts(ctx, id)
				if err != nil {
					return err
				}
				for _, pt := range ports {
					if pt.ProjectID != n.ProjectID && !isNetworkOwned(pt.DeviceOwner) {
						return conflict("InvalidSharedSetting", "Unable to reconfigure sharing settings for network %s. Multiple tenants are using it.", id)
					}
				}
			}
			n.Shared = *s.Shared
		}
		if s.External != nil && *s.External != n.External {
			if !*s.External {
				fips, err := q.FloatingIPsWhere(ctx, "floating_network_id", id)
				if err != nil {
					return err
				}
				routers, err := q.RoutersOnNetwork(ctx, id)
				if err != nil {
					return err
				}
				if len(fips) > 0 || len(routers) > 0 {
					return conflict("ExternalNetworkInUse", "External network %s cannot be updated to be made non-external, since it has existing gateway ports", id)
				}
				n.IsDefault = false
			}
			n.External = *s.External
		}
		if s.IsDefault != nil && *s.IsDefault != n.IsDefault {
			if *s.IsDefault && !n.External {
				return InvalidInput("is_default can only be set on external networks")
			}
			n.IsDefault = *s.IsDefault
		}
		if s.MTU != nil && *s.MTU != n.MTU {
			max := p.maxMTU(deref(n.NetworkType))
			if *s.MTU > max {
				return InvalidInput("Requested MTU is too big, maximum is %d", max)
			}
			if *s.MTU < 68 {
				return BadAttr("mtu", "'%d' is too small - must be at least '68'", *s.MTU)
			}
			if *s.MTU < 1280 {
				subs, err := q.NetworkSubnets(ctx, id)
				if err != nil {
					return err
				}
				for _, sb := range subs {
					if sb.IPVersion == 6 {
						return conflict("NetworkMTUSubnetConflict", "MTU of %s is not valid, subnet requires a minimum of 1280", id)
					}
				}
			}
			n.MTU = *s.MTU
			changedDP = true
		}
		if s.AZHints != nil {
			return BadAttr("availability_zone_hints", "Cannot update read-only attribute availability_zone_hints")
		}
		return casConflict(q.UpdateNetwork(ctx, n, rev))
	})
	if err != nil {
		return nil, err
	}
	if changedDP {
		p.cast(ctx, rpc.FanoutSubject, rpc.MethodNetworkUpdate, rpc.NetworkUpdate{Network: dpNetwork(n)})
	}
	p.fillNetworkAZ(ctx, n)
	return n, nil
}

// Network reads a network with its availability zones.
func (p *Plugin) Network(ctx context.Context, id string) (*netapi.Network, error) {
	n, err := p.st.Network(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, NetworkNotFound(id))
	}
	p.fillNetworkAZ(ctx, n)
	return n, nil
}

// Networks lists networks.
func (p *Plugin) Networks(ctx context.Context, scope nstore.Scope, filters []nstore.Filter) ([]*netapi.Network, error) {
	nets, err := p.st.Networks(ctx, scope, filters)
	if err != nil {
		return nil, err
	}
	p.fillNetworksAZ(ctx, nets)
	return nets, nil
}

// DeleteNetwork deletes a network with its subnets, DHCP ports and floating
// IPs; any other port makes it a 409.
func (p *Plugin) DeleteNetwork(ctx context.Context, id string, ifMatch *int64) error {
	var dhcpHosts []string
	var deletedPorts []*netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		dhcpHosts, deletedPorts = nil, nil
		n, err := q.Network(ctx, id)
		if err != nil {
			return notFoundAs(err, NetworkNotFound(id))
		}
		if err := checkRevision(ifMatch, n.RevisionNumber); err != nil {
			return err
		}
		ports, err := q.NetworkPorts(ctx, id)
		if err != nil {
			return err
		}
		for _, pt := range ports {
			if pt.DeviceOwner != netapi.DeviceOwnerDHCP && pt.DeviceOwner != netapi.DeviceOwnerFloatingIP {
				return conflict("NetworkInUse", "Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
			}
		}
		fips, err := q.FloatingIPsWhere(ctx, "floating_network_id", id)
		if err != nil {
			return err
		}
		for _, f := range fips {
			if err := q.DeleteFloatingIP(ctx, f.ID); err != nil {
				return err
			}
		}
		for _, pt := range ports {
			if pt.DeviceOwner == netapi.DeviceOwnerDHCP && pt.HostID != "" {
				dhcpHosts = append(dhcpHosts, pt.HostID)
			}
			if err := q.DeletePort(ctx, pt.ID); err != nil {
				return err
			}
			deletedPorts = append(deletedPorts, pt)
		}
		subs, err := q.NetworkSubnets(ctx, id)
		if err != nil {
			return err
		}
		for _, sb := range subs {
			if err := q.DeleteSubnet(ctx, sb.ID); err != nil {
				return err
			}
		}
		return q.DeleteNetwork(ctx, id)
	})
	if err != nil {
		return err
	}
	for _, h := range dhcpHosts {
		p.cast(ctx, rpc.HostSubject(h), rpc.MethodDHCPDelete, rpc.DHCPDelete{NetworkID: id})
	}
	p.cast(ctx, rpc.FanoutSubject, rpc.MethodNetworkDelete, rpc.NetworkDelete{NetworkID: id})
	p.log.InfoContext(ctx, "network deleted", "network_id", id, "ports_removed", len(deletedPorts))
	return nil
}

// retryable marks an error the transaction should retry (a lost race on a
// unique key that a fresh read resolves).
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

func unwrapRetry(err error) error {
	if r, ok := err.(*retryable); ok {
		return fmt.Errorf("concurrent update, retry: %w", r.err)
	}
	return err
}

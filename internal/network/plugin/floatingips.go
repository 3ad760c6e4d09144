package plugin

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// FloatingIPSpec is a floating IP create or update request.
type FloatingIPSpec struct {
	ProjectID         string
	FloatingNetworkID string
	SubnetID          *string
	FloatingIPAddress *string
	// PortSet says port_id was sent; PortID nil then disassociates.
	PortSet        bool
	PortID         *string
	FixedIPAddress *string
	Description    *string
	IfMatch        *int64
}

// association resolves the port, fixed address and router of a floating IP.
func (p *Plugin) association(ctx context.Context, q nstore.Q, f *nstore.FloatingIP, portID string, fixed *string, c Caller) (string, string, error) {
	pt, err := q.Port(ctx, portID)
	if err != nil {
		return "", "", notFoundAs(err, PortNotFound(portID))
	}
	if !c.Admin && pt.ProjectID != f.ProjectID {
		return "", "", BadRequest("floatingip", "Cannot process floating IP association with Port %s, since that port is owned by a different project", portID)
	}
	var ip *netapi.FixedIP
	if fixed != nil {
		for i := range pt.FixedIPs {
			if pt.FixedIPs[i].IPAddress == *fixed {
				ip = &pt.FixedIPs[i]
			}
		}
		if ip == nil {
			return "", "", BadRequest("floatingip", "Port %s does not have fixed ip %s", portID, *fixed)
		}
		if a := netip.MustParseAddr(*fixed); !a.Is4() {
			return "", "", BadRequest("floatingip", "Cannot add floating IP to port %s that has no IPv4 address: %s is IPv6", portID, *fixed)
		}
	} else {
		var v4 []netapi.FixedIP
		for _, x := range pt.FixedIPs {
			if netip.MustParseAddr(x.IPAddress).Is4() {
				v4 = append(v4, x)
			}
		}
		switch len(v4) {
		case 0:
			return "", "", BadRequest("floatingip", "Port %s does not have any IPv4 address", portID)
		case 1:
			ip = &v4[0]
		default:
			return "", "", BadRequest("floatingip", "Port %s has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP", portID)
		}
	}
	// A router with a gateway on the floating network and an interface on
	// the fixed address's subnet.
	routers, err := q.RoutersOnNetwork(ctx, f.FloatingNetworkID)
	if err != nil {
		return "", "", err
	}
	for _, r := range routers {
		ports, err := q.DevicePorts(ctx, r.ID)
		if err != nil {
			return "", "", err
		}
		for _, rp := range ports {
			if rp.DeviceOwner != netapi.DeviceOwnerRouterInterface {
				continue
			}
			if slices.ContainsFunc(rp.FixedIPs, func(x netapi.FixedIP) bool { return x.SubnetID == ip.SubnetID }) {
				return ip.IPAddress, r.ID, nil
			}
		}
	}
	return "", "", notFound("ExternalGatewayForFloatingIPNotFound",
		"External network %s is not reachable from subnet %s.  Therefore, cannot associate Port %s with a Floating IP.", f.FloatingNetworkID, ip.SubnetID, portID)
}

// CreateFloatingIP allocates an address on an external network, optionally
// associated with a port.
func (p *Plugin) CreateFloatingIP(ctx context.Context, s FloatingIPSpec, c Caller) (*nstore.FloatingIP, error) {
	f := &nstore.FloatingIP{FloatingIP: netapi.FloatingIP{ID: newID(), ProjectID: s.ProjectID, TenantID: s.ProjectID,
		FloatingNetworkID: s.FloatingNetworkID, Status: netapi.StatusDown, Description: deref(s.Description),
		PortForwardings: []any{}, Tags: []string{}}}
	var fport *netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		net, err := q.Network(ctx, s.FloatingNetworkID)
		if err != nil {
			return notFoundAs(err, NetworkNotFound(s.FloatingNetworkID))
		}
		if !net.External {
			return BadRequest("floatingip", "Network %s is not a valid external network", net.ID)
		}
		if err := p.checkQuota(ctx, q, s.ProjectID, "floatingip", q.CountFloatingIPs); err != nil {
			return err
		}
		fixed := FixedIPSpec{SubnetID: deref(s.SubnetID), IPAddress: deref(s.FloatingIPAddress)}
		if fixed.SubnetID == "" && fixed.IPAddress == "" {
			subs, err := q.NetworkSubnets(ctx, net.ID)
			if err != nil {
				return err
			}
			for _, sb := range subs {
				if sb.IPVersion == 4 {
					fixed.SubnetID = sb.ID
					break
				}
			}
			if fixed.SubnetID == "" {
				return BadRequest("floatingip", "Network %s does not contain any IPv4 subnet", net.ID)
			}
		}
		spec := PortSpec{ProjectID: "", NetworkID: &net.ID, Name: strp(""), DeviceID: &f.ID, DeviceOwner: strp(netapi.DeviceOwnerFloatingIP),
			AdminStateUp: boolp(true), SecurityGroups: &[]string{}, FixedIPs: &[]FixedIPSpec{fixed}, internal: true}
		fport, err = p.createPortQ(ctx, q, spec, c)
		if err != nil {
			if strings.Contains(err.Error(), "No more IP addresses") {
				return badRequest("ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", net.ID)
			}
			return err
		}
		f.FloatingPortID = fport.ID
		f.FloatingIPAddress = fport.FixedIPs[0].IPAddress
		if s.PortID != nil {
			fixedIP, router, err := p.association(ctx, q, f, *s.PortID, s.FixedIPAddress, c)
			if err != nil {
				return err
			}
			f.PortID, f.FixedIPAddress, f.RouterID = s.PortID, &fixedIP, &router
		}
		err = q.InsertFloatingIP(ctx, f)
		if pstore.IsUnique(err) {
			return conflict("FloatingIPPortAlreadyAssociated", "Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
				f.FloatingIPAddress, f.ID, deref(f.PortID), deref(f.FixedIPAddress), f.FloatingNetworkID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	p.log.InfoContext(ctx, "floating IP created", "floatingip_id", f.ID, "address", f.FloatingIPAddress)
	if f.RouterID != nil {
		p.markRouter(ctx, *f.RouterID)
		p.portDataChanged(ctx, deref(f.PortID))
	}
	return p.FloatingIP(ctx, f.ID)
}

// UpdateFloatingIP associates, re-associates or disassociates a floating IP.
func (p *Plugin) UpdateFloatingIP(ctx context.Context, id string, s FloatingIPSpec, c Caller) (*nstore.FloatingIP, error) {
	var routers, ports []string
	err := p.tx(ctx, func(q nstore.Q) error {
		routers, ports = nil, nil
		f, err := q.FloatingIPByID(ctx, id)
		if err != nil {
			return notFoundAs(err, FloatingIPNotFound(id))
		}
		if err := checkRevision(s.IfMatch, f.RevisionNumber); err != nil {
			return err
		}
		rev := f.RevisionNumber
		if s.Description != nil {
			f.Description = *s.Description
		}
		if s.PortSet {
			if f.RouterID != nil {
				routers = append(routers, *f.RouterID)
			}
			if f.PortID != nil {
				ports = append(ports, *f.PortID)
			}
			if s.PortID == nil {
				f.PortID, f.FixedIPAddress, f.RouterID = nil, nil, nil
				f.Status = netapi.StatusDown
			} else {
				fixedIP, router, err := p.association(ctx, q, f, *s.PortID, s.FixedIPAddress, c)
				if err != nil {
					return err
				}
				f.PortID, f.FixedIPAddress, f.RouterID = s.PortID, &fixedIP, &router
				routers = append(routers, router)
				ports = append(ports, *s.PortID)
			}
		}
		err = q.UpdateFloatingIP(ctx, f, rev)
		if pstore.IsUnique(err) {
			return conflict("FloatingIPPortAlreadyAssociated", "Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
				f.FloatingIPAddress, f.ID, deref(f.PortID), deref(f.FixedIPAddress), f.FloatingNetworkID)
		}
		return casConflict(err)
	})
	if err != nil {
		return nil, err
	}
	for _, r := range routers {
		p.markRouter(ctx, r)
	}
	for _, pt := range ports {
		p.portDataChanged(ctx, pt)
	}
	return p.FloatingIP(ctx, id)
}

// FloatingIP reads a floating IP.
func (p *Plugin) FloatingIP(ctx context.Context, id string) (*nstore.FloatingIP, error) {
	f, err := p.st.FloatingIPByID(ctx, id)
	return f, notFoundAs(err, FloatingIPNotFound(id))
}

// DeleteFloatingIP releases a floating IP.
func (p *Plugin) DeleteFloatingIP(ctx context.Context, id string, ifMatch *int64) error {
	var f *nstore.FloatingIP
	err := p.tx(ctx, func(q nstore.Q) error {
		var err error
		f, err = q.FloatingIPByID(ctx, id)
		if err != nil {
			return notFoundAs(err, FloatingIPNotFound(id))
		}
		if err := checkRevision(ifMatch, f.RevisionNumber); err != nil {
			return err
		}
		if err := q.DeleteFloatingIP(ctx, id); err != nil {
			return err
		}
		if _, _, err := p.deletePortQ(ctx, q, f.FloatingPortID, nil, true); err != nil && !strings.Contains(err.Error(), "could not be found") {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if f.RouterID != nil {
		p.markRouter(ctx, *f.RouterID)
		p.portDataChanged(ctx, deref(f.PortID))
	}
	return nil
}

package plugin

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/ipam"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

// GatewaySpec is a requested external gateway.
type GatewaySpec struct {
	NetworkID        string
	EnableSNAT       *bool
	ExternalFixedIPs *[]FixedIPSpec
}

// RouterSpec is a router create or update request.
type RouterSpec struct {
	ProjectID    string
	Name         *string
	Description  *string
	AdminStateUp *bool
	// GatewaySet says external_gateway_info was sent; Gateway nil (or with
	// no network) then removes the gateway.
	GatewaySet bool
	Gateway    *GatewaySpec
	Routes     *[]netapi.Route
	AZHints    *[]string
	IfMatch    *int64
}

// CreateRouter creates a router (and its gateway port).
func (p *Plugin) CreateRouter(ctx context.Context, s RouterSpec, c Caller) (*nstore.Router, error) {
	r := &nstore.Router{Router: netapi.Router{ID: newID(), ProjectID: s.ProjectID, TenantID: s.ProjectID, Name: deref(s.Name),
		Description: deref(s.Description), AdminStateUp: true, Status: netapi.StatusActive, Routes: []netapi.Route{},
		AvailabilityZoneHints: []string{}, AvailabilityZones: []string{}, Tags: []string{}}, EnableSNAT: p.cfg.EnableSNATByDefault}
	if s.AdminStateUp != nil {
		r.AdminStateUp = *s.AdminStateUp
	}
	if s.AZHints != nil {
		if err := p.checkAZHints(ctx, *s.AZHints, netapi.AgentTypeL3); err != nil {
			return nil, err
		}
		r.AvailabilityZoneHints = *s.AZHints
	}
	if s.Routes != nil && len(*s.Routes) > 0 {
		return nil, BadRequest("router", "routes cannot be set when creating a router: the router has no interfaces yet")
	}
	var gwPort *netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		gwPort = nil
		r.GWPortID, r.GWNetworkID, r.ExternalGatewayInfo = "", "", nil
		if err := p.checkQuota(ctx, q, s.ProjectID, "router", q.CountRouters); err != nil {
			return err
		}
		if err := q.InsertRouter(ctx, r); err != nil {
			return err
		}
		if s.GatewaySet && s.Gateway != nil && s.Gateway.NetworkID != "" {
			var err error
			if gwPort, err = p.setGateway(ctx, q, r, s.Gateway, c); err != nil {
				return err
			}
			rev := r.RevisionNumber
			if err := q.UpdateRouter(ctx, r, rev); err != nil {
				return err
			}
		}
		return p.scheduleRouterQ(ctx, q, r.ID)
	})
	if err != nil {
		return nil, err
	}
	p.log.InfoContext(ctx, "router created", "router_id", r.ID, "project_id", r.ProjectID)
	if gwPort != nil {
		p.afterPortChange(ctx, nil, gwPort)
	}
	p.markRouter(ctx, r.ID)
	return p.Router(ctx, r.ID)
}

// setGateway makes or replaces the gateway port of a router (in q); it
// updates r's gateway fields and returns the new port.
func (p *Plugin) setGateway(ctx context.Context, q nstore.Q, r *nstore.Router, g *GatewaySpec, c Caller) (*netapi.Port, error) {
	net, err := q.Network(ctx, g.NetworkID)
	if err != nil {
		return nil, notFoundAs(err, NetworkNotFound(g.NetworkID))
	}
	if !net.External {
		return nil, BadRequest("router", "Network %s is not an external network", g.NetworkID)
	}
	snat := p.cfg.EnableSNATByDefault
	if g.EnableSNAT != nil {
		snat = *g.EnableSNAT
	}
	if r.GWPortID != "" && r.GWNetworkID == g.NetworkID {
		r.EnableSNAT = snat
		if g.ExternalFixedIPs == nil || len(*g.ExternalFixedIPs) == 0 {
			return nil, nil
		}
		pt, err := q.Port(ctx, r.GWPortID)
		if err != nil {
			return nil, err
		}
		if !externalIPChange(pt.FixedIPs, *g.ExternalFixedIPs) {
			return nil, nil
		}
		subnets, err := q.NetworkSubnets(ctx, net.ID)
		if err != nil {
			return nil, err
		}
		rev := pt.RevisionNumber
		al := &allocator{p: p, q: q, ctx: ctx, net: net, subnets: subnets, portID: pt.ID, mac: pt.MACAddress, owner: pt.DeviceOwner}
		if pt.FixedIPs, err = p.changeIPs(al, pt.FixedIPs, *g.ExternalFixedIPs); err != nil {
			return nil, err
		}
		return pt, casConflict(q.UpdatePort(ctx, pt, rev, false))
	}
	if r.GWPortID != "" {
		if err := p.removeGateway(ctx, q, r); err != nil {
			return nil, err
		}
	}
	spec := PortSpec{ProjectID: "", NetworkID: &net.ID, Name: strp(""), DeviceID: &r.ID,
		DeviceOwner: strp(netapi.DeviceOwnerRouterGateway), AdminStateUp: boolp(true), SecurityGroups: &[]string{}, internal: true}
	if g.ExternalFixedIPs != nil {
		spec.FixedIPs = g.ExternalFixedIPs
	} else {
		spec.FixedIPs = &[]FixedIPSpec{}
		subnets, err := q.NetworkSubnets(ctx, net.ID)
		if err != nil {
			return nil, err
		}
		for _, s := range subnets {
			if s.IPVersion == 4 {
				*spec.FixedIPs = []FixedIPSpec{{SubnetID: s.ID}}
				break
			}
		}
		for _, s := range subnets {
			if s.IPVersion == 6 {
				*spec.FixedIPs = append(*spec.FixedIPs, FixedIPSpec{SubnetID: s.ID})
				break
			}
		}
	}
	if host := p.routerHost(ctx, q, r.ID); host != "" {
		spec.HostID = &host
	}
	pt, err := p.createPortQ(ctx, q, spec, c)
	if err != nil {
		if strings.Contains(err.Error(), "No more IP addresses") {
			return nil, badRequest("ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", net.ID)
		}
		return nil, err
	}
	if len(pt.FixedIPs) == 0 {
		return nil, BadRequest("router", "No IPs available for external network %s", net.ID)
	}
	r.GWPortID, r.GWNetworkID, r.EnableSNAT = pt.ID, net.ID, snat
	r.ExternalGatewayInfo = &netapi.GatewayInfo{NetworkID: net.ID, EnableSNAT: snat, ExternalFixedIPs: extIPs(pt.FixedIPs)}
	return pt, nil
}

func boolp(b bool) *bool { return &b }

// externalIPChange reports whether requested external fixed IPs differ from
// the gateway port's, as Neutron's _check_for_external_ip_change: the set of
// subnets named, then the set of addresses named, against the port's; when
// both match the port is left alone (a subnet-only entry on a subnet the port
// already has an address on asks for nothing new).
func externalIPChange(have []netapi.FixedIP, req []FixedIPSpec) bool {
	subnets, addrs := map[string]bool{}, map[string]bool{}
	for _, f := range have {
		subnets[f.SubnetID] = true
		addrs[f.IPAddress] = true
	}
	reqSubnets, reqAddrs := map[string]bool{}, map[string]bool{}
	for _, f := range req {
		if f.SubnetID != "" {
			reqSubnets[f.SubnetID] = true
		}
		if f.IPAddress != "" {
			a := f.IPAddress
			if p, err := ipam.ParseAddr(a); err == nil {
				a = p.String()
			}
			reqAddrs[a] = true
		}
	}
	return !sameSet(subnets, reqSubnets) || !sameSet(addrs, reqAddrs)
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func extIPs(ips []netapi.FixedIP) []netapi.ExternalFixedIP {
	out := make([]netapi.ExternalFixedIP, len(ips))
	for i, ip := range ips {
		out[i] = netapi.ExternalFixedIP(ip)
	}
	return out
}

// removeGateway deletes the gateway port unless floating IPs need it.
func (p *Plugin) removeGateway(ctx context.Context, q nstore.Q, r *nstore.Router) error {
	fips, err := q.FloatingIPsWhere(ctx, "router_id", r.ID)
	if err != nil {
		return err
	}
	if len(fips) > 0 {
		return conflict("RouterExternalGatewayInUseByFloatingIp",
			"Gateway cannot be updated for router %s, since a gateway to external network %s is required by one or more floating IPs.", r.ID, r.GWNetworkID)
	}
	if r.GWPortID != "" {
		if _, _, err := p.deletePortQ(ctx, q, r.GWPortID, nil, true); err != nil && !strings.Contains(err.Error(), "could not be found") {
			return err
		}
	}
	r.GWPortID, r.GWNetworkID, r.ExternalGatewayInfo = "", "", nil
	return nil
}

// routerSubnets returns the subnets a router is attached to, with their ports.
func routerSubnets(ctx context.Context, q nstore.Q, routerID string) (map[string]*netapi.Port, []*netapi.Subnet, error) {
	ports, err := q.DevicePorts(ctx, routerID)
	if err != nil {
		return nil, nil, err
	}
	bySubnet := map[string]*netapi.Port{}
	var subs []*netapi.Subnet
	for _, pt := range ports {
		if !isRouterPort(pt.DeviceOwner) {
			continue
		}
		for _, ip := range pt.FixedIPs {
			if _, seen := bySubnet[ip.SubnetID]; seen {
				continue
			}
			s, err := q.Subnet(ctx, ip.SubnetID)
			if err != nil {
				return nil, nil, err
			}
			bySubnet[ip.SubnetID] = pt
			subs = append(subs, s)
		}
	}
	return bySubnet, subs, nil
}

// validateRoutes checks extra routes: valid, few enough, and each next hop on
// a subnet the router is attached to but not the router itself.
func (p *Plugin) validateRoutes(ctx context.Context, q nstore.Q, routerID string, routes []netapi.Route) ([]netapi.Route, error) {
	if len(routes) > p.cfg.MaxRoutes {
		return nil, badRequest("RoutesExhausted", "Unable to complete operation for %s. The number of routes exceeds the maximum %d.", routerID, p.cfg.MaxRoutes)
	}
	ports, subs, err := routerSubnets(ctx, q, routerID)
	if err != nil {
		return nil, err
	}
	var out []netapi.Route
	for _, rt := range routes {
		dst, err := parseRouteCIDR(rt.Destination)
		if err != nil {
			return nil, BadAttr("routes", "%v", err)
		}
		hop, err := ipam.ParseAddr(rt.NextHop)
		if err != nil {
			return nil, BadAttr("routes", "%v", err)
		}
		routeText := fmt.Sprintf("[{'destination': '%s', 'nexthop': '%s'}]", rt.Destination, rt.NextHop)
		connected := false
		for _, s := range subs {
			if netip.MustParsePrefix(s.CIDR).Contains(hop) {
				connected = true
			}
		}
		if !connected {
			return nil, badRequest("InvalidRoutes", "Invalid format for routes: %s, the nexthop is not connected with router", routeText)
		}
		for _, pt := range ports {
			for _, ip := range pt.FixedIPs {
				if ip.IPAddress == hop.String() {
					return nil, badRequest("InvalidRoutes", "Invalid format for routes: %s, the nexthop is used by router", routeText)
				}
			}
		}
		r := netapi.Route{Destination: dst.String(), NextHop: hop.String()}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if out == nil {
		out = []netapi.Route{}
	}
	return out, nil
}

// UpdateRouter changes a router.
func (p *Plugin) UpdateRouter(ctx context.Context, id string, s RouterSpec, c Caller) (*nstore.Router, error) {
	var newPort, oldPort *netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		newPort, oldPort = nil, nil
		r, err := q.Router(ctx, id)
		if err != nil {
			return notFoundAs(err, RouterNotFound(id))
		}
		if err := checkRevision(s.IfMatch, r.RevisionNumber); err != nil {
			return err
		}
		rev := r.RevisionNumber
		if s.Name != nil {
			r.Name = *s.Name
		}
		if s.Description != nil {
			r.Description = *s.Description
		}
		if s.AdminStateUp != nil {
			r.AdminStateUp = *s.AdminStateUp
		}
		if s.AZHints != nil {
			return BadAttr("availability_zone_hints", "Cannot update read-only attribute availability_zone_hints")
		}
		if s.GatewaySet {
			if s.Gateway == nil || s.Gateway.NetworkID == "" {
				if r.GWPortID != "" {
					if oldPort, err = q.Port(ctx, r.GWPortID); err != nil {
						return err
					}
					if err := p.removeGateway(ctx, q, r); err != nil {
						return err
					}
				}
			} else {
				if r.GWPortID != "" && r.GWNetworkID != s.Gateway.NetworkID {
					if oldPort, err = q.Port(ctx, r.GWPortID); err != nil {
						return err
					}
				}
				if newPort, err = p.setGateway(ctx, q, r, s.Gateway, c); err != nil {
					return err
				}
			}
		}
		if s.Routes != nil {
			if r.Routes, err = p.validateRoutes(ctx, q, id, *s.Routes); err != nil {
				return err
			}
		}
		return casConflict(q.UpdateRouter(ctx, r, rev))
	})
	if err != nil {
		return nil, err
	}
	if oldPort != nil {
		p.afterPortChange(ctx, oldPort, nil)
	}
	if newPort != nil {
		p.afterPortChange(ctx, nil, newPort)
	}
	p.markRouter(ctx, id)
	return p.Router(ctx, id)
}

// Router reads a router with its availability zones.
func (p *Plugin) Router(ctx context.Context, id string) (*nstore.Router, error) {
	r, err := p.st.Router(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, RouterNotFound(id))
	}
	p.fillRouterAZ(ctx, []*nstore.Router{r})
	return r, nil
}

// Routers lists routers.
func (p *Plugin) Routers(ctx context.Context, scope nstore.Scope, filters []nstore.Filter) ([]*nstore.Router, error) {
	rs, err := p.st.Routers(ctx, scope, filters)
	if err != nil {
		return nil, err
	}
	p.fillRouterAZ(ctx, rs)
	return rs, nil
}

// DeleteRouter deletes a router without interfaces (and its gateway).
func (p *Plugin) DeleteRouter(ctx context.Context, id string, ifMatch *int64) error {
	var gw *netapi.Port
	var hosts []string
	err := p.tx(ctx, func(q nstore.Q) error {
		gw, hosts = nil, nil
		r, err := q.Router(ctx, id)
		if err != nil {
			return notFoundAs(err, RouterNotFound(id))
		}
		if err := checkRevision(ifMatch, r.RevisionNumber); err != nil {
			return err
		}
		ports, err := q.DevicePorts(ctx, id)
		if err != nil {
			return err
		}
		for _, pt := range ports {
			if pt.DeviceOwner == netapi.DeviceOwnerRouterInterface {
				return conflict("RouterInUse", "Router %s still has ports", id)
			}
		}
		if r.GWPortID != "" {
			if gw, err = q.Port(ctx, r.GWPortID); err != nil {
				return err
			}
			if err := p.removeGateway(ctx, q, r); err != nil {
				return err
			}
		}
		agents, err := q.RouterL3Agents(ctx, id)
		if err != nil {
			return err
		}
		for _, a := range agents {
			hosts = append(hosts, a.Host)
		}
		return q.DeleteRouter(ctx, id)
	})
	if err != nil {
		return err
	}
	if gw != nil {
		p.afterPortChange(ctx, gw, nil)
	}
	for _, h := range hosts {
		p.cast(ctx, rpc.HostSubject(h), rpc.MethodRouterDelete, rpc.RouterDelete{RouterID: id})
	}
	p.log.InfoContext(ctx, "router deleted", "router_id", id)
	return nil
}

// AddRouterInterface attaches a subnet (through a new port holding its
// gateway address) or an existing port to a router.
func (p *Plugin) AddRouterInterface(ctx context.Context, routerID, subnetID, portID string, c Caller) (*netapi.RouterInterface, error) {
	if subnetID == "" && portID == "" {
		return nil, BadRequest("router", "Either subnet_id or port_id must be specified")
	}
	if subnetID != "" && portID != "" {
		return nil, BadRequest("router", "Cannot specify both subnet-id and port-id")
	}
	var pt *netapi.Port
	var old *netapi.Port
	var info *netapi.RouterInterface
	err := p.tx(ctx, func(q nstore.Q) error {
		old = nil
		r, err := q.Router(ctx, routerID)
		if err != nil {
			return notFoundAs(err, RouterNotFound(routerID))
		}
		_, attached, err := routerSubnets(ctx, q, routerID)
		if err != nil {
			return err
		}
		checkOverlap := func(s *netapi.Subnet) error {
			cidr := netip.MustParsePrefix(s.CIDR)
			for _, a := range attached {
				if a.ID == s.ID {
					return BadRequest("router", "Router already has a port on subnet %s", s.ID)
				}
				if netip.MustParsePrefix(a.CIDR).Overlaps(cidr) {
					return BadRequest("router", "Cidr %s of subnet %s overlaps with cidr %s of subnet %s", s.CIDR, s.ID, a.CIDR, a.ID)
				}
			}
			return nil
		}
		host := p.routerHost(ctx, q, routerID)
		if subnetID != "" {
			s, err := q.Subnet(ctx, subnetID)
			if err != nil {
				return notFoundAs(err, SubnetNotFound(subnetID))
			}
			if s.GatewayIP == nil {
				return BadRequest("router", "Subnet for router interface must have a gateway IP")
			}
			if err := checkOverlap(s); err != nil {
				return err
			}
			spec := PortSpec{ProjectID: s.ProjectID, NetworkID: &s.NetworkID, Name: strp(""), DeviceID: &r.ID,
				DeviceOwner: strp(netapi.DeviceOwnerRouterInterface), AdminStateUp: boolp(true),
				FixedIPs: &[]FixedIPSpec{{SubnetID: s.ID, IPAddress: *s.GatewayIP}}, internal: true}
			if host != "" {
				spec.HostID = &host
			}
			if pt, err = p.createPortQ(ctx, q, spec, c); err != nil {
				return err
			}
		} else {
			if pt, err = q.Port(ctx, portID); err != nil {
				return notFoundAs(err, PortNotFound(portID))
			}
			if !c.Admin && pt.ProjectID != r.ProjectID {
				return PortNotFound(portID)
			}
			if pt.DeviceID != "" || pt.DeviceOwner != "" {
				return conflict("PortInUse", "Unable to complete operation on port %s for network %s. Port already has an attached device %s.", pt.ID, pt.NetworkID, pt.DeviceID)
			}
			if len(pt.FixedIPs) == 0 {
				return BadRequest("router", "Router port must have at least one fixed IP")
			}
			v4 := 0
			for _, ip := range pt.FixedIPs {
				s, err := q.Subnet(ctx, ip.SubnetID)
				if err != nil {
					return err
				}
				if s.IPVersion == 4 {
					v4++
				}
				if err := checkOverlap(s); err != nil {
					return err
				}
			}
			if v4 > 1 {
				return BadRequest("router", "Cannot have multiple IPv4 subnets on router port")
			}
			cp := *pt
			old = &cp
			rev := pt.RevisionNumber
			pt.DeviceID, pt.DeviceOwner = r.ID, netapi.DeviceOwnerRouterInterface
			if host != "" && pt.HostID != host {
				pt.HostID = host
				net, err := q.Network(ctx, pt.NetworkID)
				if err != nil {
					return err
				}
				if err := p.bind(ctx, q, net, pt); err != nil {
					return err
				}
			}
			if err := casConflict(q.UpdatePort(ctx, pt, rev, false)); err != nil {
				return err
			}
		}
		info = interfaceInfo(r.ID, pt)
		return q.BumpRevision(ctx, "routers", r.ID)
	})
	if err != nil {
		return nil, err
	}
	p.afterPortChange(ctx, old, pt)
	p.markRouter(ctx, routerID)
	return info, nil
}

func interfaceInfo(routerID string, pt *netapi.Port) *netapi.RouterInterface {
	info := &netapi.RouterInterface{ID: routerID, TenantID: pt.ProjectID, ProjectID: pt.ProjectID, PortID: pt.ID,
		NetworkID: pt.NetworkID, SubnetIDs: []string{}, Tags: []string{}}
	for _, ip := range pt.FixedIPs {
		info.SubnetIDs = append(info.SubnetIDs, ip.SubnetID)
	}
	if len(info.SubnetIDs) > 0 {
		info.SubnetID = info.SubnetIDs[0]
	}
	return info
}

// RemoveRouterInterface detaches a subnet or port from a router and deletes
// the interface port.
func (p *Plugin) RemoveRouterInterface(ctx context.Context, routerID, subnetID, portID string) (*netapi.RouterInterface, error) {
	if subnetID == "" && portID == "" {
		return nil, BadRequest("router", "Either subnet_id or port_id must be specified")
	}
	var pt *netapi.Port
	var info *netapi.RouterInterface
	err := p.tx(ctx, func(q nstore.Q) error {
		r, err := q.Router(ctx, routerID)
		if err != nil {
			return notFoundAs(err, RouterNotFound(routerID))
		}
		ports, err := q.DevicePorts(ctx, routerID)
		if err != nil {
			return err
		}
		pt = nil
		for _, c := range ports {
			if c.DeviceOwner != netapi.DeviceOwnerRouterInterface {
				continue
			}
			if portID != "" && c.ID == portID {
				pt = c
				break
			}
			if portID == "" && slices.ContainsFunc(c.FixedIPs, func(ip netapi.FixedIP) bool { return ip.SubnetID == subnetID }) {
				pt = c
				break
			}
		}
		if pt == nil {
			if portID != "" {
				return notFound("RouterInterfaceNotFound", "Router %s does not have an interface with id %s", routerID, portID)
			}
			if _, err := q.Subnet(ctx, subnetID); err != nil {
				return notFoundAs(err, SubnetNotFound(subnetID))
			}
			return notFound("RouterInterfaceNotFoundForSubnet", "Router %s has no interface on subnet %s", routerID, subnetID)
		}
		if portID != "" && subnetID != "" && !slices.ContainsFunc(pt.FixedIPs, func(ip netapi.FixedIP) bool { return ip.SubnetID == subnetID }) {
			return notFound("SubnetMismatchForPort", "Subnet on port %s does not match the requested subnet %s.", portID, subnetID)
		}
		for _, ip := range pt.FixedIPs {
			s, err := q.Subnet(ctx, ip.SubnetID)
			if err != nil {
				return err
			}
			cidr := netip.MustParsePrefix(s.CIDR)
			for _, rt := range r.Routes {
				if hop, err := netip.ParseAddr(rt.NextHop); err == nil && cidr.Contains(hop) {
					return conflict("RouterInterfaceInUseByRoute", "Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more routes.", s.ID, routerID)
				}
			}
			fips, err := q.FloatingIPsWhere(ctx, "router_id", routerID)
			if err != nil {
				return err
			}
			for _, f := range fips {
				if f.FixedIPAddress != nil {
					if a, err := netip.ParseAddr(*f.FixedIPAddress); err == nil && cidr.Contains(a) {
						return conflict("RouterInterfaceInUseByFloatingIP", "Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.", s.ID, routerID)
					}
				}
			}
		}
		info = interfaceInfo(routerID, pt)
		if _, _, err := p.deletePortQ(ctx, q, pt.ID, nil, true); err != nil {
			return err
		}
		return q.BumpRevision(ctx, "routers", routerID)
	})
	if err != nil {
		return nil, err
	}
	p.afterPortChange(ctx, pt, nil)
	p.markRouter(ctx, routerID)
	return info, nil
}

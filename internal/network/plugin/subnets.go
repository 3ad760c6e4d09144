package plugin

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/ipam"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

// SubnetSpec is a subnet create or update request; nil fields were not sent.
type SubnetSpec struct {
	ProjectID   string
	NetworkID   *string
	Name        *string
	Description *string
	IPVersion   *int
	CIDR        *string
	// GatewaySet says gateway_ip was sent; GatewayIP nil then means null
	// (no gateway).
	GatewaySet      bool
	GatewayIP       *string
	EnableDHCP      *bool
	AllocationPools *[]netapi.AllocationPool
	DNSNameservers  *[]string
	HostRoutes      *[]netapi.HostRoute
	IPv6RAMode      *string
	IPv6AddressMode *string
	SubnetPoolID    *string
	PrefixLen       *int
	UseDefaultPool  *bool
	ServiceTypes    *[]string
	IfMatch         *int64
}

var ipv6Modes = []string{netapi.IPv6SLAAC, netapi.IPv6DHCPv6Stateful, netapi.IPv6DHCPv6Stateless}

// isAutoAddress reports whether ports get SLAAC (EUI-64) addresses on a subnet.
func isAutoAddress(s *netapi.Subnet) bool {
	if s.IPVersion != 6 {
		return false
	}
	am := deref(s.IPv6AddressMode)
	return am == netapi.IPv6SLAAC || am == netapi.IPv6DHCPv6Stateless
}

func parsePools(cidr netip.Prefix, pools []netapi.AllocationPool) ([]ipam.Range, error) {
	out := make([]ipam.Range, 0, len(pools))
	for _, pl := range pools {
		a, err1 := ipam.ParseAddr(pl.Start)
		b, err2 := ipam.ParseAddr(pl.End)
		if err1 != nil {
			return nil, BadAttr("allocation_pools", "%v", err1)
		}
		if err2 != nil {
			return nil, BadAttr("allocation_pools", "%v", err2)
		}
		out = append(out, ipam.Range{Start: a, End: b})
	}
	sorted, err := ipam.ValidatePools(cidr, out)
	if err != nil {
		pe := err.(*ipam.PoolError)
		if pe.Kind == "OverlappingAllocationPools" {
			return nil, conflict(pe.Kind, "%s", pe.Msg)
		}
		return nil, badRequest(pe.Kind, "%s", pe.Msg)
	}
	return sorted, nil
}

func poolsAPI(rs []ipam.Range) []netapi.AllocationPool {
	out := make([]netapi.AllocationPool, len(rs))
	for i, r := range rs {
		out[i] = netapi.AllocationPool{Start: r.Start.String(), End: r.End.String()}
	}
	return out
}

func (p *Plugin) validateDNS(version int, dns []string) error {
	if len(dns) > p.cfg.MaxDNSNameservers {
		return badRequest("DNSNameServersExhausted", "Unable to complete operation for new subnet. The number of DNS nameservers exceeds the limit %d.", p.cfg.MaxDNSNameservers)
	}
	seen := map[string]bool{}
	for _, d := range dns {
		a, err := ipam.ParseAddr(d)
		if err != nil {
			return BadAttr("dns_nameservers", "'%s' is not a valid nameserver. %v", d, err)
		}
		if seen[d] {
			return BadAttr("dns_nameservers", "Duplicate nameserver '%s'", d)
		}
		seen[d] = true
		if addrVersion(a) != version {
			return InvalidInput("dns_nameserver '%s' does not match the ip_version '%d'", d, version)
		}
	}
	return nil
}

func addrVersion(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func (p *Plugin) validateHostRoutes(version int, routes []netapi.HostRoute) ([]netapi.HostRoute, error) {
	if len(routes) > p.cfg.MaxSubnetHostRoutes {
		return nil, badRequest("HostRoutesExhausted", "Unable to complete operation for new subnet. The number of host routes exceeds the limit %d.", p.cfg.MaxSubnetHostRoutes)
	}
	out := make([]netapi.HostRoute, 0, len(routes))
	seen := map[netapi.HostRoute]bool{}
	for _, r := range routes {
		dst, err := parseRouteCIDR(r.Destination)
		if err != nil {
			return nil, BadAttr("host_routes", "%v", err)
		}
		hop, err := ipam.ParseAddr(r.NextHop)
		if err != nil {
			return nil, BadAttr("host_routes", "%v", err)
		}
		if addrVersion(dst.Addr()) != version || addrVersion(hop) != version {
			return nil, InvalidInput("Invalid route: {'destination': '%s', 'nexthop': '%s'}", r.Destination, r.NextHop)
		}
		if seen[r] {
			return nil, BadAttr("host_routes", "Duplicate hostroute '{'destination': '%s', 'nexthop': '%s'}'", r.Destination, r.NextHop)
		}
		seen[r] = true
		out = append(out, netapi.HostRoute{Destination: dst.String(), NextHop: hop.String()})
	}
	return out, nil
}

// parseRouteCIDR accepts a CIDR whose host bits are clear.
func parseRouteCIDR(s string) (netip.Prefix, error) {
	pf, err := netip.ParsePrefix(s)
	if err != nil || strings.TrimSpace(s) != s {
		return netip.Prefix{}, fmt.Errorf("'%s' is not a valid CIDR", s)
	}
	if pf.Masked() != pf {
		return netip.Prefix{}, fmt.Errorf("'%s' is not a recognized CIDR, '%s' is recommended", s, pf.Masked())
	}
	return pf, nil
}

func (p *Plugin) validateIPv6Modes(s *netapi.Subnet) error {
	ra, am := deref(s.IPv6RAMode), deref(s.IPv6AddressMode)
	if s.IPVersion == 4 {
		if ra != "" {
			return InvalidInput("ipv6_ra_mode is not valid when ip_version is 4")
		}
		if am != "" {
			return InvalidInput("ipv6_address_mode is not valid when ip_version is 4")
		}
		return nil
	}
	if (ra != "" || am != "") && !s.EnableDHCP {
		return InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False")
	}
	if ra != "" && am != "" && ra != am {
		return InvalidInput("ipv6_ra_mode set to '%s' with ipv6_address_mode set to '%s' is not valid. If both attributes are set, they must be the same value", ra, am)
	}
	if isAutoAddress(s) {
		if pf := netip.MustParsePrefix(s.CIDR); pf.Bits() != 64 {
			return InvalidInput("Invalid CIDR %s for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64", s.CIDR)
		}
	}
	return nil
}

// CreateSubnet creates a subnet.
func (p *Plugin) CreateSubnet(ctx context.Context, s SubnetSpec) (*netapi.Subnet, error) {
	if s.NetworkID == nil || *s.NetworkID == "" {
		return nil, InvalidInput("network_id must be specified")
	}
	sub := &netapi.Subnet{
		ID: newID(), ProjectID: s.ProjectID, TenantID: s.ProjectID, NetworkID: *s.NetworkID, Name: deref(s.Name),
		Description: deref(s.Description), EnableDHCP: true, HostRoutes: []netapi.HostRoute{}, DNSNameservers: []string{},
		ServiceTypes: []string{}, Tags: []string{}, IPv6RAMode: s.IPv6RAMode, IPv6AddressMode: s.IPv6AddressMode,
	}
	if s.EnableDHCP != nil {
		sub.EnableDHCP = *s.EnableDHCP
	}
	for _, m := range []*string{s.IPv6RAMode, s.IPv6AddressMode} {
		if m != nil && !slices.Contains(ipv6Modes, *m) {
			name := "ipv6_ra_mode"
			if m == s.IPv6AddressMode {
				name = "ipv6_address_mode"
			}
			return nil, BadAttr(name, "'%s' is not in %s", *m, pyList(ipv6Modes))
		}
	}
	if s.ServiceTypes != nil {
		sub.ServiceTypes = *s.ServiceTypes
	}
	var autoPorts []*netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		autoPorts = nil
		net, err := q.Network(ctx, sub.NetworkID)
		if err != nil {
			return notFoundAs(err, NetworkNotFound(sub.NetworkID))
		}
		if err := p.checkQuota(ctx, q, s.ProjectID, "subnet", q.CountSubnets); err != nil {
			return err
		}
		if err := p.subnetCIDR(ctx, q, s, sub); err != nil {
			return err
		}
		cidr := netip.MustParsePrefix(sub.CIDR)
		if sub.IPVersion == 6 && cidr.Addr().IsUnspecified() {
			return InvalidInput("IPv6 subnet '::' is not supported")
		}
		if err := checkSubnetCIDR(sub, cidr, net.ID, net.MTU); err != nil {
			return err
		}
		gw, err := subnetGateway(s, sub, cidr)
		if err != nil {
			return err
		}
		if err := p.validateIPv6Modes(sub); err != nil {
			return err
		}
		// Pools.
		var pools []ipam.Range
		if s.AllocationPools != nil {
			pools, err = parsePools(cidr, *s.AllocationPools)
			if err != nil {
				return err
			}
			if gw.IsValid() && ipam.InPools(pools, gw) {
				return conflict("GatewayConflictWithAllocationPools", "Gateway ip %s conflicts with allocation pool %s", gw, poolOf(pools, gw))
			}
		} else {
			pools = ipam.DefaultPools(cidr, gw)
		}
		sub.AllocationPools = poolsAPI(pools)
		if s.DNSNameservers != nil {
			if err := p.validateDNS(sub.IPVersion, *s.DNSNameservers); err != nil {
				return err
			}
			sub.DNSNameservers = *s.DNSNameservers
		}
		if s.HostRoutes != nil {
			if sub.HostRoutes, err = p.validateHostRoutes(sub.IPVersion, *s.HostRoutes); err != nil {
				return err
			}
		}
		// No overlap with the network's other subnets.
		others, err := q.NetworkSubnets(ctx, net.ID)
		if err != nil {
			return err
		}
		for _, o := range others {
			if netip.MustParsePrefix(o.CIDR).Overlaps(cidr) {
				return InvalidInput("Requested subnet with cidr: %s for network: %s overlaps with another subnet", sub.CIDR, net.ID)
			}
		}
		if err := q.InsertSubnet(ctx, sub); err != nil {
			return err
		}
		// SLAAC: every port of the network but router ports gets an address.
		if isAutoAddress(sub) {
			if autoPorts, err = slaacAddresses(ctx, q, sub, cidr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.log.InfoContext(ctx, "subnet created", "subnet_id", sub.ID, "network_id", sub.NetworkID, "cidr", sub.CIDR)
	p.afterSubnetChange(ctx, sub.NetworkID, sub.EnableDHCP)
	for _, pt := range autoPorts {
		p.afterPortChange(ctx, nil, pt)
	}
	return sub, nil
}

// checkSubnetCIDR refuses the CIDRs Neutron refuses: too small or special
// ranges for DHCP, IPv6 on a network whose MTU is below 1280.
func checkSubnetCIDR(sub *netapi.Subnet, cidr netip.Prefix, networkID string, mtu int) error {
	if sub.EnableDHCP {
		if sub.IPVersion == 4 && cidr.Bits() > 30 || sub.IPVersion == 6 && cidr.Bits() > 126 {
			return InvalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled")
		}
		if cidr.Addr().IsMulticast() {
			return InvalidInput("Multicast IP subnet is not supported if enable_dhcp is True")
		}
		if cidr.Addr().IsLoopback() {
			return InvalidInput("Loopback IP subnet is not supported if enable_dhcp is True")
		}
		if sub.IPVersion == 4 && cidr.Addr() == netip.IPv4Unspecified() {
			return InvalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.")
		}
	}
	if sub.IPVersion == 6 && mtu < 1280 {
		return conflict("NetworkMTUSubnetConflict", "MTU of %s is not valid, subnet requires a minimum of 1280", networkID)
	}
	return nil
}

// subnetGateway is the subnet's gateway: the one sent (null: none) or the
// first address of the CIDR.
func subnetGateway(s SubnetSpec, sub *netapi.Subnet, cidr netip.Prefix) (netip.Addr, error) {
	var gw netip.Addr
	if s.GatewaySet {
		if s.GatewayIP != nil {
			a, err := ipam.ParseAddr(*s.GatewayIP)
			if err != nil {
				return netip.Addr{}, BadAttr("gateway_ip", "%v", err)
			}
			if addrVersion(a) != sub.IPVersion {
				return netip.Addr{}, InvalidInput("gateway_ip '%s' does not match the ip_version '%d'", *s.GatewayIP, sub.IPVersion)
			}
			if ipam.GatewayInvalid(cidr, a) {
				return netip.Addr{}, InvalidInput("Gateway is not valid on subnet")
			}
			gw = a
		}
	} else if cidr.Bits() < cidr.Addr().BitLen() {
		gw = cidr.Addr().Next()
	}
	if gw.IsValid() {
		sub.GatewayIP = strp(gw.String())
	}
	return gw, nil
}

// slaacAddresses gives every port of a new SLAAC subnet's network but
// router and floating IP ports its EUI-64 address, and returns the ports it
// changed.
func slaacAddresses(ctx context.Context, q nstore.Q, sub *netapi.Subnet, cidr netip.Prefix) ([]*netapi.Port, error) {
	var out []*netapi.Port
	ports, err := q.NetworkPorts(ctx, sub.NetworkID)
	if err != nil {
		return nil, err
	}
	for _, pt := range ports {
		if isRouterPort(pt.DeviceOwner) || pt.DeviceOwner == netapi.DeviceOwnerFloatingIP {
			continue
		}
		ip, err := ipam.EUI64(cidr, pt.MACAddress)
		if err != nil {
			continue
		}
		ok, err := q.AllocateIP(ctx, sub.ID, sub.NetworkID, pt.ID, ip.String())
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		rev := pt.RevisionNumber
		pt.FixedIPs = append(pt.FixedIPs, netapi.FixedIP{SubnetID: sub.ID, IPAddress: ip.String()})
		if err := casConflict(q.UpdatePort(ctx, pt, rev, false)); err != nil {
			return nil, err
		}
		out = append(out, pt)
	}
	return out, nil
}

func poolOf(pools []ipam.Range, a netip.Addr) string {
	for _, r := range pools {
		if r.Contains(a) {
			return fmt.Sprintf("{'start': '%s', 'end': '%s'}", r.Start, r.End)
		}
	}
	return ""
}

func pyList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// subnetCIDR decides the CIDR and IP version, from the request or a subnet pool.
func (p *Plugin) subnetCIDR(ctx context.Context, q nstore.Q, s SubnetSpec, sub *netapi.Subnet) error {
	if s.IPVersion != nil {
		if *s.IPVersion != 4 && *s.IPVersion != 6 {
			return BadAttr("ip_version", "'%d' is not in [4, 6]", *s.IPVersion)
		}
		sub.IPVersion = *s.IPVersion
	}
	usePool := s.SubnetPoolID != nil || s.UseDefaultPool != nil && *s.UseDefaultPool
	if s.CIDR != nil && s.PrefixLen != nil {
		return BadRequest("subnets", "cidr and prefixlen must not be supplied together")
	}
	if s.CIDR != nil {
		pf, err := ipam.ParsePrefix(*s.CIDR, false)
		if err != nil {
			return BadAttr("cidr", "%v", err)
		}
		if sub.IPVersion == 0 {
			return BadAttr("ip_version", "ip_version is required")
		}
		if addrVersion(pf.Addr()) != sub.IPVersion {
			return InvalidInput("cidr '%s' does not match the ip_version '%d'", *s.CIDR, sub.IPVersion)
		}
		sub.CIDR = pf.String()
		if s.SubnetPoolID != nil {
			pool, err := q.SubnetPool(ctx, *s.SubnetPoolID)
			if err != nil {
				return notFoundAs(err, SubnetPoolNotFound(*s.SubnetPoolID))
			}
			if err := p.checkPoolCIDR(ctx, q, pool, pf); err != nil {
				return err
			}
			sub.SubnetPoolID = &pool.ID
		}
		return nil
	}
	if !usePool {
		return BadRequest("subnets", "a subnetpool must be specified in the absence of a cidr")
	}
	var pool *netapi.SubnetPool
	if s.SubnetPoolID != nil {
		var err error
		if pool, err = q.SubnetPool(ctx, *s.SubnetPoolID); err != nil {
			return notFoundAs(err, SubnetPoolNotFound(*s.SubnetPoolID))
		}
	} else {
		if sub.IPVersion == 0 {
			return BadRequest("subnets", "ip_version must be specified in the absence of cidr and subnetpool_id")
		}
		pools, err := q.SubnetPools(ctx, nstore.Scope{All: true}, []nstore.Filter{{Field: "is_default", Values: []any{true}},
			{Field: "ip_version", Values: []any{sub.IPVersion}}})
		if err != nil {
			return err
		}
		if len(pools) == 0 {
			return BadRequest("subnets", "No default subnetpool found for IPv%d", sub.IPVersion)
		}
		pool = pools[0]
	}
	if sub.IPVersion != 0 && sub.IPVersion != pool.IPVersion {
		return InvalidInput("ip_version %d does not match the subnet pool's %d", sub.IPVersion, pool.IPVersion)
	}
	sub.IPVersion = pool.IPVersion
	bits := pool.DefaultPrefixLen
	if s.PrefixLen != nil {
		bits = *s.PrefixLen
	}
	if bits < pool.MinPrefixLen {
		return badRequest("MinPrefixSubnetAllocationError", "Unable to allocate subnet with prefix length %d, minimum allowed prefix is %d.", bits, pool.MinPrefixLen)
	}
	if bits > pool.MaxPrefixLen {
		return badRequest("MaxPrefixSubnetAllocationError", "Unable to allocate subnet with prefix length %d, maximum allowed prefix is %d.", bits, pool.MaxPrefixLen)
	}
	prefixes, used, err := p.poolUsage(ctx, q, pool)
	if err != nil {
		return err
	}
	got, ok := ipam.Carve(prefixes, used, bits)
	if !ok {
		return typed(fault503("Failed to allocate subnet: Insufficient prefix space to allocate subnet size /"+fmt.Sprint(bits)+"."), "SubnetAllocationError")
	}
	sub.CIDR = got.String()
	sub.SubnetPoolID = &pool.ID
	return nil
}

func (p *Plugin) poolUsage(ctx context.Context, q nstore.Q, pool *netapi.SubnetPool) ([]netip.Prefix, []netip.Prefix, error) {
	var prefixes, used []netip.Prefix
	for _, s := range pool.Prefixes {
		if pf, err := netip.ParsePrefix(s); err == nil {
			prefixes = append(prefixes, pf)
		}
	}
	cidrs, err := q.PoolSubnetCIDRs(ctx, pool.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cidrs {
		if pf, err := netip.ParsePrefix(c); err == nil {
			used = append(used, pf)
		}
	}
	return prefixes, used, nil
}

// checkPoolCIDR accepts an explicit CIDR from a pool when it lies in the pool
// and overlaps no subnet of it.
func (p *Plugin) checkPoolCIDR(ctx context.Context, q nstore.Q, pool *netapi.SubnetPool, pf netip.Prefix) error {
	prefixes, used, err := p.poolUsage(ctx, q, pool)
	if err != nil {
		return err
	}
	inside := false
	for _, pp := range prefixes {
		if pp.Contains(pf.Addr()) && pp.Bits() <= pf.Bits() {
			inside = true
		}
	}
	if !inside {
		return typed(fault503(fmt.Sprintf("Failed to allocate subnet: Cidr %s is not within the prefixes of the subnet pool %s.", pf, pool.ID)), "SubnetAllocationError")
	}
	for _, u := range used {
		if u.Overlaps(pf) {
			return typed(fault503(fmt.Sprintf("Failed to allocate subnet: Cidr %s overlaps another subnet of pool %s.", pf, pool.ID)), "SubnetAllocationError")
		}
	}
	return nil
}

// UpdateSubnet changes a subnet.
func (p *Plugin) UpdateSubnet(ctx context.Context, id string, s SubnetSpec) (*netapi.Subnet, error) {
	var sub *netapi.Subnet
	for name, set := range map[string]bool{"cidr": s.CIDR != nil, "ip_version": s.IPVersion != nil, "network_id": s.NetworkID != nil,
		"subnetpool_id": s.SubnetPoolID != nil, "ipv6_ra_mode": s.IPv6RAMode != nil, "ipv6_address_mode": s.IPv6AddressMode != nil} {
		if set {
			return nil, BadAttr(name, "Cannot update read-only attribute %s", name)
		}
	}
	err := p.tx(ctx, func(q nstore.Q) error {
		var err error
		sub, err = q.Subnet(ctx, id)
		if err != nil {
			return notFoundAs(err, SubnetNotFound(id))
		}
		if err := checkRevision(s.IfMatch, sub.RevisionNumber); err != nil {
			return err
		}
		rev := sub.RevisionNumber
		cidr := netip.MustParsePrefix(sub.CIDR)
		if s.Name != nil {
			sub.Name = *s.Name
		}
		if s.Description != nil {
			sub.Description = *s.Description
		}
		if s.EnableDHCP != nil {
			if !*s.EnableDHCP && sub.IPVersion == 6 && (sub.IPv6RAMode != nil || sub.IPv6AddressMode != nil) {
				return InvalidInput("Cannot disable enable_dhcp with ipv6 attributes set")
			}
			sub.EnableDHCP = *s.EnableDHCP
		}
		if s.GatewaySet {
			var gw *string
			if s.GatewayIP != nil {
				a, err := ipam.ParseAddr(*s.GatewayIP)
				if err != nil {
					return BadAttr("gateway_ip", "%v", err)
				}
				if addrVersion(a) != sub.IPVersion {
					return InvalidInput("gateway_ip '%s' does not match the ip_version '%d'", *s.GatewayIP, sub.IPVersion)
				}
				if ipam.GatewayInvalid(cidr, a) {
					return InvalidInput("Gateway is not valid on subnet")
				}
				gw = strp(a.String())
			}
			if deref(gw) != deref(sub.GatewayIP) && sub.GatewayIP != nil {
				// The current gateway may not move while a router uses it.
				owner, err := q.IPOwner(ctx, sub.ID, *sub.GatewayIP)
				if err != nil {
					return err
				}
				if owner != "" {
					if pt, err := q.Port(ctx, owner); err == nil && isRouterPort(pt.DeviceOwner) {
						return conflict("GatewayIpInUse", "Current gateway ip %s already in use by port %s. Unable to update.", *sub.GatewayIP, owner)
					}
				}
			}
			sub.GatewayIP = gw
		}
		pools, err := parsePools(cidr, sub.AllocationPools)
		if err != nil {
			return err
		}
		if s.AllocationPools != nil {
			if pools, err = parsePools(cidr, *s.AllocationPools); err != nil {
				return err
			}
			sub.AllocationPools = poolsAPI(pools)
		}
		if sub.GatewayIP != nil && (s.GatewaySet || s.AllocationPools != nil) {
			gw := netip.MustParseAddr(*sub.GatewayIP)
			if ipam.InPools(pools, gw) {
				return conflict("GatewayConflictWithAllocationPools", "Gateway ip %s conflicts with allocation pool %s", gw, poolOf(pools, gw))
			}
		}
		if s.DNSNameservers != nil {
			if err := p.validateDNS(sub.IPVersion, *s.DNSNameservers); err != nil {
				return err
			}
			sub.DNSNameservers = *s.DNSNameservers
		}
		if s.HostRoutes != nil {
			if sub.HostRoutes, err = p.validateHostRoutes(sub.IPVersion, *s.HostRoutes); err != nil {
				return err
			}
		}
		if s.ServiceTypes != nil {
			sub.ServiceTypes = *s.ServiceTypes
		}
		return casConflict(q.UpdateSubnet(ctx, sub, rev))
	})
	if err != nil {
		return nil, err
	}
	p.afterSubnetChange(ctx, sub.NetworkID, sub.EnableDHCP)
	return sub, nil
}

// Subnet reads a subnet.
func (p *Plugin) Subnet(ctx context.Context, id string) (*netapi.Subnet, error) {
	s, err := p.st.Subnet(ctx, id)
	return s, notFoundAs(err, SubnetNotFound(id))
}

// DeleteSubnet deletes a subnet. Addresses of DHCP ports, and on SLAAC
// subnets those of any non-router port, are released; any other allocation
// makes it a 409.
func (p *Plugin) DeleteSubnet(ctx context.Context, id string, ifMatch *int64) error {
	var sub *netapi.Subnet
	var changed []*netapi.Port
	var olds []*netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		changed, olds = nil, nil
		var err error
		sub, err = q.Subnet(ctx, id)
		if err != nil {
			return notFoundAs(err, SubnetNotFound(id))
		}
		if err := checkRevision(ifMatch, sub.RevisionNumber); err != nil {
			return err
		}
		allocs, err := q.SubnetAllocations(ctx, id)
		if err != nil {
			return err
		}
		auto := isAutoAddress(sub)
		byPort := map[string]bool{}
		for _, a := range allocs {
			if a.DeviceOwner == netapi.DeviceOwnerDHCP || auto && !isRouterPort(a.DeviceOwner) {
				byPort[a.PortID] = true
				continue
			}
			return conflict("SubnetInUse", "Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)
		}
		for portID := range byPort {
			pt, err := q.Port(ctx, portID)
			if err != nil {
				return err
			}
			old := *pt
			old.FixedIPs = slices.Clone(pt.FixedIPs)
			rev := pt.RevisionNumber
			var keep []netapi.FixedIP
			for _, ip := range pt.FixedIPs {
				if ip.SubnetID == id {
					if err := q.ReleaseIP(ctx, id, ip.IPAddress, pt.ID); err != nil {
						return err
					}
					continue
				}
				keep = append(keep, ip)
			}
			pt.FixedIPs = keep
			if err := casConflict(q.UpdatePort(ctx, pt, rev, false)); err != nil {
				return err
			}
			changed = append(changed, pt)
			olds = append(olds, &old)
		}
		return q.DeleteSubnet(ctx, id)
	})
	if err != nil {
		return err
	}
	p.log.InfoContext(ctx, "subnet deleted", "subnet_id", id, "network_id", sub.NetworkID)
	p.afterSubnetChange(ctx, sub.NetworkID, false)
	for i, pt := range changed {
		p.afterPortChange(ctx, olds[i], pt)
	}
	return nil
}

func isRouterPort(owner string) bool {
	return owner == netapi.DeviceOwnerRouterInterface || owner == netapi.DeviceOwnerRouterGateway ||
		owner == netapi.DeviceOwnerRouterSNAT || owner == "network:ha_router_replicated_interface"
}

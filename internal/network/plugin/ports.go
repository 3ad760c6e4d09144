package plugin

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/ipam"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// FixedIPSpec is one requested fixed IP: a subnet, an address, or both.
type FixedIPSpec struct {
	SubnetID  string
	IPAddress string
}

// PortSpec is a port create or update request; nil fields were not sent.
type PortSpec struct {
	ProjectID           string
	NetworkID           *string
	Name                *string
	Description         *string
	AdminStateUp        *bool
	MACAddress          *string
	FixedIPs            *[]FixedIPSpec
	DeviceID            *string
	DeviceOwner         *string
	SecurityGroups      *[]string
	PortSecurityEnabled *bool
	AllowedAddressPairs *[]netapi.AddressPair
	ExtraDHCPOpts       *[]ExtraDHCPOptSpec
	HostID              *string
	VNICType            *string
	Profile             *map[string]any
	IfMatch             *int64
	// internal allows router and floating IP code to create and change
	// ports whose owners the API protects.
	internal bool
}

// ExtraDHCPOptSpec is a requested DHCP option; a nil value removes it.
type ExtraDHCPOptSpec struct {
	Name      string
	Value     *string
	IPVersion int
}

// validMAC is Neutron's validate_mac_address: a unicast-or-not 48-bit address
// that is not all zeros or all ones.
func validMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 || strings.TrimSpace(s) != s {
		return "", BadAttr("mac_address", "'%s' is not a valid MAC address", s)
	}
	out := hw.String()
	if out == "00:00:00:00:00:00" || out == "ff:ff:ff:ff:ff:ff" {
		return "", BadAttr("mac_address", "'%s' is not a valid MAC address", s)
	}
	return out, nil
}

// allocator hands out addresses for one port inside a transaction.
type allocator struct {
	p       *Plugin
	q       nstore.Q
	ctx     context.Context
	net     *netapi.Network
	subnets []*netapi.Subnet
	portID  string
	mac     string
	owner   string
}

func (a *allocator) subnet(id string) *netapi.Subnet {
	for _, s := range a.subnets {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// claim records ip on subnet; a taken address is Neutron's 409.
func (a *allocator) claim(s *netapi.Subnet, ip string) error {
	ok, err := a.q.AllocateIP(a.ctx, s.ID, s.NetworkID, a.portID, ip)
	if err != nil {
		return err
	}
	if !ok {
		return conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", ip, s.ID)
	}
	return nil
}

// any allocates some free address of a subnet's pools: a few random picks
// first (cheap on big subnets), then the lowest free address.
func (a *allocator) any(s *netapi.Subnet) (string, bool, error) {
	if isAutoAddress(s) {
		ip, err := ipam.EUI64(netip.MustParsePrefix(s.CIDR), a.mac)
		if err != nil {
			return "", false, err
		}
		if err := a.claim(s, ip.String()); err != nil {
			return "", false, err
		}
		return ip.String(), true, nil
	}
	var pools []ipam.Range
	for _, pl := range s.AllocationPools {
		pools = append(pools, ipam.Range{Start: netip.MustParseAddr(pl.Start), End: netip.MustParseAddr(pl.End)})
	}
	for _, c := range ipam.Candidates(pools, 6, a.p.rand()) {
		ok, err := a.q.AllocateIP(a.ctx, s.ID, s.NetworkID, a.portID, c.String())
		if err != nil {
			return "", false, err
		}
		if ok {
			return c.String(), true, nil
		}
	}
	for tries := 0; tries < 5; tries++ {
		used, err := a.q.AllocatedIPs(a.ctx, s.ID)
		if err != nil {
			return "", false, err
		}
		set := make(map[netip.Addr]bool, len(used))
		for _, u := range used {
			if ad, err := netip.ParseAddr(u); err == nil {
				set[ad] = true
			}
		}
		free, ok := ipam.FirstFree(pools, set)
		if !ok {
			return "", false, nil
		}
		won, err := a.q.AllocateIP(a.ctx, s.ID, s.NetworkID, a.portID, free.String())
		if err != nil || won {
			return free.String(), won, err
		}
	}
	return "", false, nil
}

// resolve turns one requested fixed IP into (subnet, address) without claiming it.
func (a *allocator) resolve(f FixedIPSpec) (*netapi.Subnet, netip.Addr, error) {
	var s *netapi.Subnet
	if f.SubnetID != "" {
		if s = a.subnet(f.SubnetID); s == nil {
			return nil, netip.Addr{}, InvalidInput("Failed to create port on network %s, because fixed_ips included invalid subnet %s", a.net.ID, f.SubnetID)
		}
	}
	if f.IPAddress == "" {
		if s == nil {
			return nil, netip.Addr{}, BadAttr("fixed_ips", "Exactly one of subnet_id and ip_address must be given in a fixed IP")
		}
		return s, netip.Addr{}, nil
	}
	ip, err := ipam.ParseAddr(f.IPAddress)
	if err != nil {
		return nil, netip.Addr{}, BadAttr("fixed_ips", "%v", err)
	}
	if s == nil {
		for _, c := range a.subnets {
			if netip.MustParsePrefix(c.CIDR).Contains(ip) {
				s = c
				break
			}
		}
		if s == nil {
			return nil, netip.Addr{}, badRequest("InvalidIpForNetwork", "IP address %s is not a valid IP for any of the subnets on the specified network.", f.IPAddress)
		}
	}
	cidr := netip.MustParsePrefix(s.CIDR)
	if !cidr.Contains(ip) || ip.Is4() && cidr.Bits() < 31 && (ip == cidr.Addr() || ip == ipam.Last(cidr)) {
		return nil, netip.Addr{}, badRequest("InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet.", f.IPAddress)
	}
	if isAutoAddress(s) && !isRouterPort(a.owner) {
		return nil, netip.Addr{}, badRequest("AllocationOnAutoAddressSubnet",
			"IPv6 address %s cannot be directly assigned to a port on subnet %s as the subnet is configured for automatic addresses", f.IPAddress, s.ID)
	}
	return s, ip, nil
}

// allocate claims the requested fixed IPs.
func (a *allocator) allocate(req []FixedIPSpec) ([]netapi.FixedIP, error) {
	var out []netapi.FixedIP
	for _, f := range req {
		s, ip, err := a.resolve(f)
		if err != nil {
			return nil, err
		}
		if ip.IsValid() {
			if err := a.claim(s, ip.String()); err != nil {
				return nil, err
			}
			out = append(out, netapi.FixedIP{SubnetID: s.ID, IPAddress: ip.String()})
			continue
		}
		got, ok, err := a.any(s)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, conflict("IpAddressGenerationFailure", "No more IP addresses available on network %s.", a.net.ID)
		}
		out = append(out, netapi.FixedIP{SubnetID: s.ID, IPAddress: got})
	}
	return out, nil
}

// allocateDefault gives a port what Neutron gives a port created without
// fixed_ips: one IPv4 address, one stateful IPv6 address, and an address on
// every SLAAC subnet.
func (a *allocator) allocateDefault() ([]netapi.FixedIP, error) {
	var out []netapi.FixedIP
	for _, version := range []int{4, 6} {
		var tried, found bool
		for _, s := range a.subnets {
			if s.IPVersion != version || isAutoAddress(s) {
				continue
			}
			tried = true
			ip, ok, err := a.any(s)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, netapi.FixedIP{SubnetID: s.ID, IPAddress: ip})
				found = true
				break
			}
		}
		if tried && !found {
			return nil, conflict("IpAddressGenerationFailure", "No more IP addresses available on network %s.", a.net.ID)
		}
	}
	if !isRouterPort(a.owner) {
		for _, s := range a.subnets {
			if isAutoAddress(s) {
				ip, _, err := a.any(s)
				if err != nil {
					return nil, err
				}
				out = append(out, netapi.FixedIP{SubnetID: s.ID, IPAddress: ip})
			}
		}
	}
	return out, nil
}

func (p *Plugin) validatePairs(pairs []netapi.AddressPair, mac string) ([]netapi.AddressPair, error) {
	if len(pairs) > p.cfg.MaxAllowedAddressPairs {
		return nil, badRequest("AllowedAddressPairExhausted", "The number of allowed address pair exceeds the maximum %d.", p.cfg.MaxAllowedAddressPairs)
	}
	out := make([]netapi.AddressPair, 0, len(pairs))
	seen := map[netapi.AddressPair]bool{}
	for _, pr := range pairs {
		if pr.IPAddress == "" {
			return nil, BadAttr("allowed_address_pairs", "AllowedAddressPair must contain ip_address")
		}
		if _, err := ipam.ParseAddr(pr.IPAddress); err != nil {
			if _, err := ipam.ParsePrefix(pr.IPAddress, false); err != nil {
				return nil, BadAttr("allowed_address_pairs", "'%s' is not a valid IP address", pr.IPAddress)
			}
		}
		if pr.MACAddress == "" {
			pr.MACAddress = mac
		} else {
			m, err := validMAC(pr.MACAddress)
			if err != nil {
				return nil, BadAttr("allowed_address_pairs", "'%s' is not a valid MAC address", pr.MACAddress)
			}
			pr.MACAddress = m
		}
		if seen[pr] {
			return nil, badRequest("DuplicateAddressPairInRequest", "Request contains duplicate address pair: mac_address %s ip_address %s.", pr.MACAddress, pr.IPAddress)
		}
		seen[pr] = true
		out = append(out, pr)
	}
	return out, nil
}

func mergeDHCPOpts(cur []netapi.ExtraDHCPOpt, req []ExtraDHCPOptSpec) ([]netapi.ExtraDHCPOpt, error) {
	out := slices.Clone(cur)
	for _, o := range req {
		if strings.TrimSpace(o.Name) == "" {
			return nil, BadAttr("extra_dhcp_opts", "Invalid extra DHCP option name: ''")
		}
		v := o.IPVersion
		if v == 0 {
			v = 4
		}
		if v != 4 && v != 6 {
			return nil, BadAttr("extra_dhcp_opts", "'%d' is not in [4, 6]", o.IPVersion)
		}
		idx := slices.IndexFunc(out, func(e netapi.ExtraDHCPOpt) bool { return e.OptName == o.Name && e.IPVersion == v })
		switch {
		case o.Value == nil && idx >= 0:
			out = slices.Delete(out, idx, idx+1)
		case o.Value == nil:
		case idx >= 0:
			out[idx].OptValue = *o.Value
		default:
			out = append(out, netapi.ExtraDHCPOpt{OptName: o.Name, OptValue: *o.Value, IPVersion: v})
		}
	}
	if out == nil {
		out = []netapi.ExtraDHCPOpt{}
	}
	return out, nil
}

// portGroups decides a port's security groups.
func (p *Plugin) portGroups(ctx context.Context, q nstore.Q, pt *netapi.Port, req *[]string, c Caller) ([]string, error) {
	if req == nil {
		if !pt.PortSecurityEnabled || isNetworkOwned(pt.DeviceOwner) {
			return []string{}, nil
		}
		id, err := q.DefaultSecurityGroup(ctx, pt.ProjectID)
		if err != nil {
			return nil, err
		}
		if id == "" {
			return []string{}, nil
		}
		return []string{id}, nil
	}
	var out []string
	for _, id := range *req {
		if slices.Contains(out, id) {
			continue
		}
		g, err := q.SecurityGroup(ctx, id)
		if err != nil {
			return nil, notFoundAs(err, SecurityGroupNotFound(id))
		}
		if g.ProjectID != pt.ProjectID && !c.Admin {
			return nil, SecurityGroupNotFound(id)
		}
		out = append(out, id)
	}
	if len(out) > 0 && !pt.PortSecurityEnabled {
		return nil, badRequest("PortSecurityAndIPRequiredForSecurityGroups",
			"Port security must be enabled and port must have an IP address in order to use security groups.")
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// CreatePort creates a port.
func (p *Plugin) CreatePort(ctx context.Context, s PortSpec, c Caller) (*netapi.Port, error) {
	if s.ProjectID == "" {
		s.ProjectID = c.ProjectID
	}
	if !isNetworkOwned(deref(s.DeviceOwner)) {
		if err := p.EnsureDefaultSecurityGroup(ctx, s.ProjectID); err != nil {
			return nil, err
		}
	}
	var pt *netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		var err error
		pt, err = p.createPortQ(ctx, q, s, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.afterPortChange(ctx, nil, pt)
	return pt, nil
}

// createPortQ creates a port inside a transaction.
func (p *Plugin) createPortQ(ctx context.Context, q nstore.Q, s PortSpec, c Caller) (*netapi.Port, error) {
	if s.NetworkID == nil || *s.NetworkID == "" {
		return nil, BadAttr("network_id", "'None' is not a valid UUID")
	}
	pt := &netapi.Port{
		ID: newID(), ProjectID: s.ProjectID, TenantID: s.ProjectID, NetworkID: *s.NetworkID, Name: deref(s.Name),
		Description: deref(s.Description), AdminStateUp: true, Status: netapi.StatusDown, DeviceID: deref(s.DeviceID),
		DeviceOwner: deref(s.DeviceOwner), VNICType: netapi.VNICNormal, VIFType: netapi.VIFTypeUnbound,
		VIFDetails: map[string]any{}, Profile: map[string]any{}, AllowedAddressPairs: []netapi.AddressPair{},
		ExtraDHCPOpts: []netapi.ExtraDHCPOpt{}, Tags: []string{}, HostID: deref(s.HostID),
	}
	if s.AdminStateUp != nil {
		pt.AdminStateUp = *s.AdminStateUp
	}
	if s.VNICType != nil {
		if !slices.Contains(netapi.VNICTypes, *s.VNICType) {
			return nil, BadAttr("binding:vnic_type", "'%s' is not in %s", *s.VNICType, pyList(netapi.VNICTypes))
		}
		pt.VNICType = *s.VNICType
	}
	if s.Profile != nil && *s.Profile != nil {
		pt.Profile = *s.Profile
	}
	userMAC := s.MACAddress != nil
	if userMAC {
		m, err := validMAC(*s.MACAddress)
		if err != nil {
			return nil, err
		}
		pt.MACAddress = m
	}
	if !s.internal && (pt.DeviceOwner == netapi.DeviceOwnerRouterGateway || pt.DeviceOwner == netapi.DeviceOwnerFloatingIP) {
		// Neutron lets no one fake these through the port API.
		return nil, conflict("UnsupportedPortDeviceOwner", "Operation create is not supported for device_owner %s on port %s.", pt.DeviceOwner, pt.ID)
	}
	net, err := q.NetworkBare(ctx, pt.NetworkID)
	if err != nil {
		return nil, notFoundAs(err, NetworkNotFound(pt.NetworkID))
	}
	if !s.internal {
		if err := p.checkQuota(ctx, q, pt.ProjectID, "port", q.CountPorts); err != nil {
			return nil, err
		}
	}
	pt.PortSecurityEnabled = net.PortSecurityEnabled
	if s.PortSecurityEnabled != nil {
		pt.PortSecurityEnabled = *s.PortSecurityEnabled
	}
	subnets, err := q.NetworkSubnets(ctx, net.ID)
	if err != nil {
		return nil, err
	}
	if userMAC {
		used, err := q.MACInUse(ctx, net.ID, pt.MACAddress)
		if err != nil {
			return nil, err
		}
		if used {
			return nil, conflict("MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", net.ID, pt.MACAddress)
		}
	} else {
		// A generated address that collides fails the insert below (the
		// unique index) and the transaction runs again with a new one.
		pt.MACAddress = p.newMAC()
	}
	al := &allocator{p: p, q: q, ctx: ctx, net: net, subnets: subnets, portID: pt.ID, mac: pt.MACAddress, owner: pt.DeviceOwner}
	if s.FixedIPs == nil {
		pt.FixedIPs, err = al.allocateDefault()
	} else {
		pt.FixedIPs, err = al.allocate(*s.FixedIPs)
	}
	if err != nil {
		return nil, err
	}
	if pt.FixedIPs == nil {
		pt.FixedIPs = []netapi.FixedIP{}
	}
	if pt.SecurityGroups, err = p.portGroups(ctx, q, pt, s.SecurityGroups, c); err != nil {
		return nil, err
	}
	if s.AllowedAddressPairs != nil && len(*s.AllowedAddressPairs) > 0 {
		if !pt.PortSecurityEnabled {
			return nil, conflict("AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
		}
		if pt.AllowedAddressPairs, err = p.validatePairs(*s.AllowedAddressPairs, pt.MACAddress); err != nil {
			return nil, err
		}
	}
	if s.ExtraDHCPOpts != nil {
		if pt.ExtraDHCPOpts, err = mergeDHCPOpts(nil, *s.ExtraDHCPOpts); err != nil {
			return nil, err
		}
	}
	if err := p.bind(ctx, q, net, pt); err != nil {
		return nil, err
	}
	err = q.InsertPort(ctx, pt)
	if pstore.IsUnique(err) {
		if userMAC {
			return nil, conflict("MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", net.ID, pt.MACAddress)
		}
		return nil, &retryable{err} // a generated MAC collided: try another
	}
	return pt, err
}

// bind sets the binding of a port from the L2 agent of its host.
func (p *Plugin) bind(ctx context.Context, q nstore.Q, net *netapi.Network, pt *netapi.Port) error {
	if pt.HostID == "" {
		pt.VIFType, pt.VIFDetails = netapi.VIFTypeUnbound, map[string]any{}
		return nil
	}
	pt.VIFType, pt.VIFDetails = netapi.VIFTypeBindingFailed, map[string]any{}
	agents, err := q.Agents(ctx, []nstore.Filter{{Field: "host", Values: []any{pt.HostID}}})
	if err != nil {
		return err
	}
	for _, a := range agents {
		vif, _ := a.Configurations["vif_type"].(string)
		if vif == "" || !a.AdminStateUp || !p.alive(a) {
			continue
		}
		if types, ok := a.Configurations["network_types"].([]any); ok && !slices.ContainsFunc(types, func(t any) bool { return t == deref(net.NetworkType) }) {
			continue
		}
		if pt.VNICType != netapi.VNICNormal {
			continue
		}
		details := map[string]any{}
		if d, ok := a.Configurations["vif_details"].(map[string]any); ok {
			details = maps.Clone(d)
		}
		if vif == netapi.VIFTypeBridge {
			details["bridge_name"] = dataplane.BridgeName(net.ID)
		}
		pt.VIFType, pt.VIFDetails = vif, details
		return nil
	}
	return nil
}

// UpdatePort changes a port.
func (p *Plugin) UpdatePort(ctx context.Context, id string, s PortSpec, c Caller) (*netapi.Port, error) {
	if s.NetworkID != nil {
		return nil, BadAttr("network_id", "Cannot update read-only attribute network_id")
	}
	var pt, old *netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		var err error
		pt, err = q.Port(ctx, id)
		if err != nil {
			return notFoundAs(err, PortNotFound(id))
		}
		if err := checkRevision(s.IfMatch, pt.RevisionNumber); err != nil {
			return err
		}
		cp := *pt
		cp.FixedIPs = slices.Clone(pt.FixedIPs)
		cp.SecurityGroups = slices.Clone(pt.SecurityGroups)
		old = &cp
		rev := pt.RevisionNumber
		net, err := q.Network(ctx, pt.NetworkID)
		if err != nil {
			return err
		}
		if s.Name != nil {
			pt.Name = *s.Name
		}
		if s.Description != nil {
			pt.Description = *s.Description
		}
		if s.AdminStateUp != nil {
			pt.AdminStateUp = *s.AdminStateUp
		}
		if s.DeviceID != nil {
			pt.DeviceID = *s.DeviceID
		}
		if s.DeviceOwner != nil {
			pt.DeviceOwner = *s.DeviceOwner
		}
		if s.MACAddress != nil {
			m, err := validMAC(*s.MACAddress)
			if err != nil {
				return err
			}
			if m != pt.MACAddress {
				if pt.VIFType != netapi.VIFTypeUnbound && pt.VIFType != netapi.VIFTypeBindingFailed {
					return conflict("PortBound", "Unable to complete operation on port %s, port is already bound, port type: %s, old_mac %s, new_mac %s.", id, pt.VIFType, pt.MACAddress, m)
				}
				if used, err := q.MACInUse(ctx, pt.NetworkID, m); err != nil {
					return err
				} else if used {
					return conflict("MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", pt.NetworkID, m)
				}
				pt.MACAddress = m
			}
		}
		if s.FixedIPs != nil {
			subnets, err := q.NetworkSubnets(ctx, pt.NetworkID)
			if err != nil {
				return err
			}
			al := &allocator{p: p, q: q, ctx: ctx, net: net, subnets: subnets, portID: pt.ID, mac: pt.MACAddress, owner: pt.DeviceOwner}
			if pt.FixedIPs, err = p.changeIPs(al, old.FixedIPs, *s.FixedIPs); err != nil {
				return err
			}
		}
		portSecChanged := false
		if s.PortSecurityEnabled != nil && *s.PortSecurityEnabled != pt.PortSecurityEnabled {
			pt.PortSecurityEnabled = *s.PortSecurityEnabled
			portSecChanged = true
		}
		sgsChanged := false
		if s.SecurityGroups != nil {
			groups, err := p.portGroups(ctx, q, pt, s.SecurityGroups, c)
			if err != nil {
				return err
			}
			sgsChanged = !slices.Equal(groups, pt.SecurityGroups)
			pt.SecurityGroups = groups
		}
		if !pt.PortSecurityEnabled && len(pt.SecurityGroups) > 0 {
			if portSecChanged && s.SecurityGroups == nil {
				return conflict("PortSecurityPortHasSecurityGroup", "Port has security group associated. Cannot disable port security or ip address until security group is removed")
			}
			return badRequest("PortSecurityAndIPRequiredForSecurityGroups", "Port security must be enabled and port must have an IP address in order to use security groups.")
		}
		if s.AllowedAddressPairs != nil {
			if len(*s.AllowedAddressPairs) > 0 && !pt.PortSecurityEnabled {
				return conflict("AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
			}
			if pt.AllowedAddressPairs, err = p.validatePairs(*s.AllowedAddressPairs, pt.MACAddress); err != nil {
				return err
			}
		} else if portSecChanged && !pt.PortSecurityEnabled && len(pt.AllowedAddressPairs) > 0 {
			return conflict("AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
		}
		if s.ExtraDHCPOpts != nil {
			if pt.ExtraDHCPOpts, err = mergeDHCPOpts(pt.ExtraDHCPOpts, *s.ExtraDHCPOpts); err != nil {
				return err
			}
		}
		rebind := false
		if s.VNICType != nil && *s.VNICType != pt.VNICType {
			if !slices.Contains(netapi.VNICTypes, *s.VNICType) {
				return BadAttr("binding:vnic_type", "'%s' is not in %s", *s.VNICType, pyList(netapi.VNICTypes))
			}
			pt.VNICType = *s.VNICType
			rebind = true
		}
		if s.Profile != nil {
			pt.Profile = *s.Profile
			if pt.Profile == nil {
				pt.Profile = map[string]any{}
			}
		}
		if s.HostID != nil && *s.HostID != pt.HostID {
			pt.HostID = *s.HostID
			rebind = true
		}
		if rebind || pt.HostID != "" && pt.VIFType == netapi.VIFTypeBindingFailed {
			if err := p.bind(ctx, q, net, pt); err != nil {
				return err
			}
			if old.HostID != pt.HostID {
				pt.Status = netapi.StatusDown
			}
		}
		if !pt.AdminStateUp {
			pt.Status = netapi.StatusDown
		}
		return casConflict(q.UpdatePort(ctx, pt, rev, sgsChanged))
	})
	if err != nil {
		return nil, err
	}
	p.afterPortChange(ctx, old, pt)
	return pt, nil
}

// changeIPs applies a new fixed_ips list to a port: addresses kept are kept,
// subnet-only entries reuse the port's address on that subnet, the rest are
// claimed; addresses no longer listed are released (except SLAAC ones).
func (p *Plugin) changeIPs(al *allocator, orig []netapi.FixedIP, req []FixedIPSpec) ([]netapi.FixedIP, error) {
	var keep []netapi.FixedIP
	var add []FixedIPSpec
	byIP := map[string]netapi.FixedIP{}
	for _, f := range orig {
		byIP[f.IPAddress] = f
	}
	for _, f := range req {
		if f.IPAddress == "" {
			continue
		}
		if a, err := ipam.ParseAddr(f.IPAddress); err == nil {
			f.IPAddress = a.String()
		}
		if o, ok := byIP[f.IPAddress]; ok && (f.SubnetID == "" || f.SubnetID == o.SubnetID) {
			keep = append(keep, o)
			delete(byIP, f.IPAddress)
			continue
		}
		add = append(add, f)
	}
	bySubnet := map[string][]netapi.FixedIP{}
	for _, f := range orig {
		if _, left := byIP[f.IPAddress]; left {
			bySubnet[f.SubnetID] = append(bySubnet[f.SubnetID], f)
		}
	}
	for _, f := range req {
		if f.IPAddress != "" {
			continue
		}
		if l := bySubnet[f.SubnetID]; len(l) > 0 {
			keep = append(keep, l[0])
			bySubnet[f.SubnetID] = l[1:]
			delete(byIP, l[0].IPAddress)
			continue
		}
		add = append(add, f)
	}
	for _, f := range orig {
		if _, left := byIP[f.IPAddress]; !left {
			continue
		}
		if s := al.subnet(f.SubnetID); s != nil && isAutoAddress(s) && !isRouterPort(al.owner) {
			keep = append(keep, f)
			continue
		}
		if err := al.q.ReleaseIP(al.ctx, f.SubnetID, f.IPAddress, al.portID); err != nil {
			return nil, err
		}
	}
	added, err := al.allocate(add)
	if err != nil {
		return nil, err
	}
	out := append(keep, added...)
	if out == nil {
		out = []netapi.FixedIP{}
	}
	return out, nil
}

// Port reads a port.
func (p *Plugin) Port(ctx context.Context, id string) (*netapi.Port, error) {
	pt, err := p.st.Port(ctx, id)
	return pt, notFoundAs(err, PortNotFound(id))
}

// DeletePort deletes a port. Router and floating IP ports are deleted through
// their owners.
func (p *Plugin) DeletePort(ctx context.Context, id string, ifMatch *int64) error {
	return p.deletePort(ctx, id, ifMatch, false)
}

func (p *Plugin) deletePort(ctx context.Context, id string, ifMatch *int64, internal bool) error {
	var pt *netapi.Port
	var routers []string
	err := p.tx(ctx, func(q nstore.Q) error {
		var err error
		pt, routers, err = p.deletePortQ(ctx, q, id, ifMatch, internal)
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range routers {
		p.markRouter(ctx, r)
	}
	p.afterPortChange(ctx, pt, nil)
	return nil
}

// deletePortQ deletes a port inside a transaction, disassociating its
// floating IPs; it returns the port and the routers those were on.
func (p *Plugin) deletePortQ(ctx context.Context, q nstore.Q, id string, ifMatch *int64, internal bool) (*netapi.Port, []string, error) {
	pt, err := q.Port(ctx, id)
	if err != nil {
		return nil, nil, notFoundAs(err, PortNotFound(id))
	}
	if err := checkRevision(ifMatch, pt.RevisionNumber); err != nil {
		return nil, nil, err
	}
	if !internal && (isRouterPort(pt.DeviceOwner) || pt.DeviceOwner == netapi.DeviceOwnerFloatingIP) {
		return nil, nil, conflict("ServicePortInUse", "Port %s cannot be deleted directly via the port API: has device owner %s.", id, pt.DeviceOwner)
	}
	fips, err := q.FloatingIPsWhere(ctx, "port_id", id)
	if err != nil {
		return nil, nil, err
	}
	var routers []string
	for _, f := range fips {
		rev := f.RevisionNumber
		if f.RouterID != nil {
			routers = append(routers, *f.RouterID)
		}
		f.PortID, f.FixedIPAddress, f.RouterID = nil, nil, nil
		f.Status = netapi.StatusDown
		if err := casConflict(q.UpdateFloatingIP(ctx, f, rev)); err != nil {
			return nil, nil, err
		}
	}
	if err := q.DeletePort(ctx, id); err != nil {
		return nil, nil, err
	}
	p.log.InfoContext(ctx, "port deleted", "port_id", id, "network_id", pt.NetworkID, "device_owner", pt.DeviceOwner)
	return pt, routers, nil
}

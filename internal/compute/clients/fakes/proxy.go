package fakes

import (
	"context"
	"fmt"
	"net"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// AddExternalNetwork creates an external network (a floating IP pool).
func (f *Network) AddExternalNetwork(name, cidr string) *clients.Net {
	n := f.AddNetwork(name, "", cidr, false)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nets[n.ID].External = true
	n.External = true
	return n
}

// SetPortSecurityGroups replaces a port's security groups.
func (f *Network) SetPortSecurityGroups(_ context.Context, portID string, groupIDs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.ports[portID]
	if !ok {
		return fault.NotFound("Port id %s could not be found.", portID).WithType("PortNotFound")
	}
	p.SecurityGroups = append([]string{}, groupIDs...)
	return nil
}

func (f *Network) groupCopy(g clients.SecurityGroup) clients.SecurityGroup {
	g.Rules = nil
	for _, r := range f.rules {
		if r.SecurityGroupID == g.ID {
			g.Rules = append(g.Rules, r)
		}
	}
	return g
}

// ListSecurityGroups lists security groups (the default group first).
func (f *Network) ListSecurityGroups(_ context.Context, projectID string) ([]clients.SecurityGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []clients.SecurityGroup{{ID: "default", Name: "default", Description: "Default security group", ProjectID: projectID}}
	for _, g := range f.groups {
		if projectID == "" || g.ProjectID == "" || g.ProjectID == projectID {
			out = append(out, f.groupCopy(g))
		}
	}
	return out, nil
}

// SecurityGroup returns a group.
func (f *Network) SecurityGroup(_ context.Context, id string) (*clients.SecurityGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id == "default" {
		return &clients.SecurityGroup{ID: "default", Name: "default", Description: "Default security group"}, nil
	}
	g, ok := f.groups[id]
	if !ok {
		return nil, clients.SecurityGroupNotFound(id)
	}
	c := f.groupCopy(g)
	return &c, nil
}

// CreateSecurityGroup creates a group.
func (f *Network) CreateSecurityGroup(_ context.Context, name, description string) (*clients.SecurityGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := clients.SecurityGroup{ID: uuid.NewString(), Name: name, Description: description}
	f.groups[g.ID] = g
	return &g, nil
}

// UpdateSecurityGroup renames a group.
func (f *Network) UpdateSecurityGroup(_ context.Context, id, name, description string) (*clients.SecurityGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[id]
	if !ok {
		return nil, clients.SecurityGroupNotFound(id)
	}
	g.Name, g.Description = name, description
	f.groups[id] = g
	c := f.groupCopy(g)
	return &c, nil
}

// DeleteSecurityGroup deletes a group (the default group and groups in use
// cannot be).
func (f *Network) DeleteSecurityGroup(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id == "default" {
		return fault.Conflict("Insufficient rights for removing default security group.")
	}
	if _, ok := f.groups[id]; !ok {
		return clients.SecurityGroupNotFound(id)
	}
	for _, p := range f.ports {
		for _, g := range p.SecurityGroups {
			if g == id {
				return fault.Conflict("Security Group %s in use.", id).WithType("SecurityGroupInUse")
			}
		}
	}
	delete(f.groups, id)
	for k, r := range f.rules {
		if r.SecurityGroupID == id {
			delete(f.rules, k)
		}
	}
	return nil
}

// SecurityGroupRule returns a rule.
func (f *Network) SecurityGroupRule(_ context.Context, id string) (*clients.SecurityGroupRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rules[id]
	if !ok {
		return nil, clients.SecurityGroupRuleNotFound(id)
	}
	return &r, nil
}

// CreateSecurityGroupRule creates a rule; an identical rule is a conflict.
func (f *Network) CreateSecurityGroupRule(_ context.Context, r clients.SecurityGroupRule) (*clients.SecurityGroupRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.groups[r.SecurityGroupID]; !ok && r.SecurityGroupID != "default" {
		return nil, clients.SecurityGroupNotFound(r.SecurityGroupID)
	}
	for _, o := range f.rules {
		x, y := o, r
		x.ID, y.ID = "", ""
		x.PortRangeMin, x.PortRangeMax, y.PortRangeMin, y.PortRangeMax = nil, nil, nil, nil
		if fmt.Sprint(x) == fmt.Sprint(y) && eqInt(o.PortRangeMin, r.PortRangeMin) && eqInt(o.PortRangeMax, r.PortRangeMax) {
			return nil, fault.Conflict("Security group rule already exists. Rule id is %s.", o.ID).WithType("SecurityGroupRuleExists")
		}
	}
	r.ID = uuid.NewString()
	f.rules[r.ID] = r
	return &r, nil
}

func eqInt(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// DeleteSecurityGroupRule deletes a rule.
func (f *Network) DeleteSecurityGroupRule(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.rules[id]; !ok {
		return clients.SecurityGroupRuleNotFound(id)
	}
	delete(f.rules, id)
	return nil
}

func (f *Network) fipCopy(x *clients.FloatingIP) clients.FloatingIP {
	c := *x
	if p := f.ports[c.PortID]; p != nil {
		c.PortDeviceID = p.DeviceID
	}
	return c
}

// ListFloatingIPs lists floating IPs.
func (f *Network) ListFloatingIPs(_ context.Context, projectID, address string) ([]clients.FloatingIP, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []clients.FloatingIP{}
	for _, x := range f.fips {
		if (projectID == "" || x.ProjectID == "" || x.ProjectID == projectID) && (address == "" || x.FloatingIPAddress == address) {
			out = append(out, f.fipCopy(x))
		}
	}
	return out, nil
}

func (f *Network) fipByID(id string) *clients.FloatingIP {
	for _, x := range f.fips {
		if x.ID == id {
			return x
		}
	}
	return nil
}

// FloatingIP returns a floating IP.
func (f *Network) FloatingIP(_ context.Context, id string) (*clients.FloatingIP, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.fipByID(id)
	if x == nil {
		return nil, clients.FloatingIPNotFound(id)
	}
	c := f.fipCopy(x)
	return &c, nil
}

// CreateFloatingIP allocates the next address of an external network.
func (f *Network) CreateFloatingIP(_ context.Context, networkID string) (*clients.FloatingIP, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nets[networkID]
	if !ok || !n.External || len(n.Subnets) == 0 {
		return nil, fault.NotFound("Network %s could not be found.", networkID).WithType("NetworkNotFound")
	}
	s := f.subnets[n.Subnets[0]]
	_, ipn, _ := net.ParseCIDR(s.CIDR)
	ip := make(net.IP, 4)
	copy(ip, ipn.IP.To4())
	k := f.next[s.ID]
	f.next[s.ID] = k + 1
	ip[2] += byte(k >> 8)
	ip[3] += byte(k)
	x := &clients.FloatingIP{ID: uuid.NewString(), FloatingIPAddress: ip.String(), FloatingNetworkID: networkID, Status: "DOWN"}
	f.fips[x.FloatingIPAddress] = x
	c := *x
	return &c, nil
}

// AssociateFloatingIP points a floating IP at a port, or disassociates it.
func (f *Network) AssociateFloatingIP(_ context.Context, id, portID, fixedIP string) (*clients.FloatingIP, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.fipByID(id)
	if x == nil {
		return nil, clients.FloatingIPNotFound(id)
	}
	if portID == "" {
		x.PortID, x.FixedIPAddress, x.Status = "", "", "DOWN"
	} else {
		p, ok := f.ports[portID]
		if !ok {
			return nil, fault.NotFound("Port id %s could not be found.", portID).WithType("PortNotFound")
		}
		if fixedIP == "" && len(p.FixedIPs) > 0 {
			fixedIP = p.FixedIPs[0].IPAddress
		}
		x.PortID, x.FixedIPAddress, x.Status = portID, fixedIP, "ACTIVE"
	}
	c := f.fipCopy(x)
	return &c, nil
}

// DeleteFloatingIP releases a floating IP.
func (f *Network) DeleteFloatingIP(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.fipByID(id)
	if x == nil {
		return clients.FloatingIPNotFound(id)
	}
	delete(f.fips, x.FloatingIPAddress)
	return nil
}

// ExternalNetworks lists external networks.
func (f *Network) ExternalNetworks(_ context.Context) ([]clients.Net, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []clients.Net
	for _, n := range f.nets {
		if n.External {
			out = append(out, *n)
		}
	}
	return out, nil
}

package plugin

import (
	"context"
	"slices"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

// DHCP: the static leases and services a network's DHCP hosts run, and the
// scheduling of a network to DHCP agents with a port for each.

func dhcpHostname(ip string) string {
	return "host-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
}

// dhcpHost is the static lease of a port on the DHCP-enabled subnets of
// its network (false when it has none, or is a DHCP server's own port).
func dhcpHost(pt *netapi.Port, dhcpSubnets map[string]bool) (dataplane.DHCPHost, bool) {
	if pt.DeviceOwner == netapi.DeviceOwnerDHCP {
		return dataplane.DHCPHost{}, false
	}
	h := dataplane.DHCPHost{PortID: pt.ID, MAC: pt.MACAddress}
	for _, ip := range pt.FixedIPs {
		if dhcpSubnets[ip.SubnetID] {
			h.IPs = append(h.IPs, ip.IPAddress)
		}
	}
	if len(h.IPs) == 0 {
		return h, false
	}
	h.Hostname = dhcpHostname(h.IPs[0])
	for _, o := range pt.ExtraDHCPOpts {
		h.Options = append(h.Options, dataplane.DHCPOption{Name: o.OptName, Value: o.OptValue, IPVersion: o.IPVersion})
	}
	return h, true
}

// dhcpSubnets returns the DHCP-enabled subnets of a network.
func (c *cache) dhcpSubnets(ctx context.Context, netID string) (map[string]bool, error) {
	if on, ok := c.dhcpOn[netID]; ok {
		return on, nil
	}
	subs, err := c.subnetsOf(ctx, netID)
	if err != nil {
		return nil, err
	}
	on := map[string]bool{}
	for _, s := range subs {
		if s.EnableDHCP {
			on[s.ID] = true
		}
	}
	c.dhcpOn[netID] = on
	return on, nil
}

// dhcp builds a network's DHCP service as served through port.
func (c *cache) dhcp(ctx context.Context, n *netapi.Network, port *netapi.Port) (dataplane.DHCP, error) {
	d := dataplane.DHCP{Network: dpNetwork(n), DNSDomain: c.p.cfg.DNSDomain, Subnets: []dataplane.Subnet{}, Hosts: []dataplane.DHCPHost{}}
	dp, err := c.port(ctx, port)
	if err != nil {
		return d, err
	}
	d.Port = dp
	d.Port.Device = dataplane.TapName(dp.ID)
	subs, err := c.subnetsOf(ctx, n.ID)
	if err != nil {
		return d, err
	}
	dhcpSubnets := map[string]bool{}
	for _, s := range subs {
		if s.EnableDHCP {
			d.Subnets = append(d.Subnets, dpSubnet(s))
			dhcpSubnets[s.ID] = true
		}
	}
	c.dhcpOn[n.ID] = dhcpSubnets
	ports, err := c.q.NetworkPorts(ctx, n.ID)
	if err != nil {
		return d, err
	}
	routed := false
	for _, pt := range ports {
		if pt.DeviceOwner == netapi.DeviceOwnerRouterInterface {
			routed = true
		}
		if h, ok := dhcpHost(pt, dhcpSubnets); ok {
			d.Hosts = append(d.Hosts, h)
		}
	}
	slices.SortFunc(d.Hosts, func(a, b dataplane.DHCPHost) int { return strings.Compare(a.PortID, b.PortID) })
	d.MetadataRoute = c.p.cfg.EnableIsolatedMetadata && !routed
	return d, nil
}

// syncNetworkDHCP makes a network's DHCP agents, ports and services match its
// DHCP-enabled subnets.
func (p *Plugin) syncNetworkDHCP(ctx context.Context, netID string) error {
	n, err := p.st.Network(ctx, netID)
	if nstore.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	subs, err := p.st.NetworkSubnets(ctx, netID)
	if err != nil {
		return err
	}
	var want []FixedIPSpec
	for _, s := range subs {
		if s.EnableDHCP {
			want = append(want, FixedIPSpec{SubnetID: s.ID})
		}
	}
	if len(want) == 0 {
		agents, err := p.st.NetworkDHCPAgents(ctx, netID)
		if err != nil {
			return err
		}
		for _, a := range agents {
			if err := p.dropDHCPPort(ctx, a.Host, netID); err != nil {
				return err
			}
			p.cast(ctx, rpc.HostSubject(a.Host), rpc.MethodDHCPDelete, rpc.DHCPDelete{NetworkID: netID})
		}
		return nil
	}
	agents, err := p.scheduleDHCP(ctx, n)
	if err != nil {
		return err
	}
	for _, a := range agents {
		port, err := p.ensureDHCPPort(ctx, n, a.Host, want)
		if err != nil {
			p.log.WarnContext(ctx, "dhcp port", "network_id", netID, "host", a.Host, "err", err)
			continue
		}
		d, err := p.newCache(p.st.Q).dhcp(ctx, n, port)
		if err != nil {
			return err
		}
		p.cast(ctx, rpc.HostSubject(a.Host), rpc.MethodDHCPUpdate, rpc.DHCPUpdate{DHCP: d})
	}
	return nil
}

// scheduleDHCP binds a network to DHCP agents until it has
// dhcp_agents_per_network of them (with network_auto_schedule), and returns
// the agents that serve it.
func (p *Plugin) scheduleDHCP(ctx context.Context, n *netapi.Network) ([]*nstore.Agent, error) {
	agents, err := p.st.NetworkDHCPAgents(ctx, n.ID)
	if err != nil || !p.cfg.NetworkAutoSchedule || len(agents) >= p.cfg.DHCPAgentsPerNetwork {
		return agents, err
	}
	err = p.tx(ctx, func(q nstore.Q) error {
		// Read again in the transaction: another scheduler may have
		// bound the network meanwhile.
		agents, err := q.NetworkDHCPAgents(ctx, n.ID)
		if err != nil {
			return err
		}
		var exclude []string
		for _, a := range agents {
			exclude = append(exclude, a.ID)
		}
		for i := len(agents); i < p.cfg.DHCPAgentsPerNetwork; i++ {
			a, err := p.pickAgent(ctx, q, netapi.AgentTypeDHCP, n.AvailabilityZoneHints, func(id string) (int, error) {
				ns, err := q.DHCPAgentNetworks(ctx, id)
				return len(ns), err
			}, exclude)
			if err != nil || a == nil {
				return err
			}
			if _, err := q.BindNetworkDHCP(ctx, n.ID, a.ID); err != nil {
				return err
			}
			exclude = append(exclude, a.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p.st.NetworkDHCPAgents(ctx, n.ID)
}

// ensureDHCPPort gives a host's DHCP server on a network a port with an
// address on each DHCP-enabled subnet.
func (p *Plugin) ensureDHCPPort(ctx context.Context, n *netapi.Network, host string, want []FixedIPSpec) (*netapi.Port, error) {
	dev := DHCPDeviceID(host, n.ID)
	var port *netapi.Port
	err := p.tx(ctx, func(q nstore.Q) error {
		ports, err := q.DevicePorts(ctx, dev)
		if err != nil {
			return err
		}
		if len(ports) == 0 {
			port, err = p.createPortQ(ctx, q, PortSpec{ProjectID: n.ProjectID, NetworkID: &n.ID, Name: strp(""), DeviceID: &dev,
				DeviceOwner: strp(netapi.DeviceOwnerDHCP), HostID: &host, FixedIPs: &want, SecurityGroups: &[]string{}, internal: true}, Caller{Admin: true})
			return err
		}
		port = ports[0]
		have := map[string]bool{}
		for _, ip := range port.FixedIPs {
			have[ip.SubnetID] = true
		}
		need := false
		for _, w := range want {
			if !have[w.SubnetID] {
				need = true
			}
		}
		if !need && len(port.FixedIPs) == len(want) {
			return nil
		}
		net := n
		subnets, err := q.NetworkSubnets(ctx, n.ID)
		if err != nil {
			return err
		}
		rev := port.RevisionNumber
		al := &allocator{p: p, q: q, ctx: ctx, net: net, subnets: subnets, portID: port.ID, mac: port.MACAddress, owner: port.DeviceOwner}
		if port.FixedIPs, err = p.changeIPs(al, port.FixedIPs, want); err != nil {
			return err
		}
		return casConflict(q.UpdatePort(ctx, port, rev, false))
	})
	return port, err
}

func (p *Plugin) dropDHCPPort(ctx context.Context, host, netID string) error {
	return p.tx(ctx, func(q nstore.Q) error {
		ports, err := q.DevicePorts(ctx, DHCPDeviceID(host, netID))
		if err != nil {
			return err
		}
		for _, pt := range ports {
			if err := q.DeletePort(ctx, pt.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

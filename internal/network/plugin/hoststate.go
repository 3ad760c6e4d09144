package plugin

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// What agents ask for: a host's whole state after a (re)start, group
// membership, and the instance behind a metadata request.

// GroupMembers returns the whole membership of groups (a group that does
// not exist has none).
func (p *Plugin) GroupMembers(ctx context.Context, groups []string) ([]rpc.GroupMembers, error) {
	rows, err := p.st.SecurityGroupMembers(ctx, groups)
	if err != nil {
		return nil, err
	}
	byGroup := make(map[string]*rpc.GroupMembers, len(groups))
	out := make([]rpc.GroupMembers, len(groups))
	for i, g := range groups {
		out[i] = rpc.GroupMembers{GroupID: g, Ports: map[string][]string{}}
		byGroup[g] = &out[i]
	}
	for _, m := range rows {
		if gm := byGroup[m.GroupID]; gm != nil {
			gm.Ports[m.PortID] = memberAddresses(m.FixedIPs, m.AllowedAddressPairs)
		}
	}
	return out, nil
}

// MetadataInstance names the instance (the port's device_id) and project
// (the port's) of the one port holding ip on one of the networks, for a
// host's metadata proxy; both empty when no port, or more than one (which
// overlapping networks allow), holds it, as Neutron's metadata agent
// refuses then too.
func (p *Plugin) MetadataInstance(ctx context.Context, networkIDs []string, ip string) (rpc.MetadataInstanceReply, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return rpc.MetadataInstanceReply{}, fault.BadRequest("%q is not an IP address", ip)
	}
	ports, err := p.st.AddressPorts(ctx, networkIDs, a.String())
	if err != nil {
		return rpc.MetadataInstanceReply{}, fmt.Errorf("metadata lookup of %s: %w", ip, err)
	}
	if len(ports) != 1 || ports[0].DeviceID == "" {
		return rpc.MetadataInstanceReply{}, nil
	}
	return rpc.MetadataInstanceReply{InstanceID: ports[0].DeviceID, ProjectID: ports[0].ProjectID}, nil
}

// SyncState returns everything a host should have: the ports bound to it with
// their networks and filters, the membership of the groups the filters name
// as remote group, the DHCP services and routers it hosts.
func (p *Plugin) SyncState(ctx context.Context, host string) (rpc.HostState, error) {
	hs := rpc.HostState{State: dataplane.State{Networks: []dataplane.Network{}, Ports: []dataplane.Port{}, DHCP: []dataplane.DHCP{},
		Routers: []dataplane.Router{}, Filters: []dataplane.PortFilter{}}, Members: []rpc.GroupMembers{}}
	s, err := p.syncState(ctx, host, &hs.State)
	if err != nil {
		return hs, err
	}
	remote := map[string]bool{}
	for _, f := range s.Filters {
		for _, r := range f.Rules {
			if r.RemoteGroupID != "" {
				remote[r.RemoteGroupID] = true
			}
		}
	}
	if len(remote) > 0 {
		if hs.Members, err = p.GroupMembers(ctx, slices.Sorted(maps.Keys(remote))); err != nil {
			return hs, err
		}
	}
	hs.TunnelPeers, err = p.TunnelPeers(ctx)
	return hs, err
}

func (p *Plugin) syncState(ctx context.Context, host string, s *dataplane.State) (*dataplane.State, error) {
	c := p.newCache(p.st.Q)
	nets := map[string]bool{}
	addNet := func(id string) error {
		if nets[id] {
			return nil
		}
		n, err := c.network(ctx, id)
		if err != nil {
			return err
		}
		nets[id] = true
		s.Networks = append(s.Networks, dpNetwork(n))
		return nil
	}
	ports, err := p.st.HostPorts(ctx, host)
	if err != nil {
		return s, err
	}
	for _, pt := range ports {
		if !isBound(pt) || isNetworkOwned(pt.DeviceOwner) {
			continue
		}
		if err := addNet(pt.NetworkID); err != nil {
			return s, err
		}
		dp, err := c.port(ctx, pt)
		if err != nil {
			return s, err
		}
		s.Ports = append(s.Ports, dp)
		f, err := c.filter(ctx, pt)
		if err != nil {
			return s, err
		}
		s.Filters = append(s.Filters, f)
	}
	agents, err := p.st.Agents(ctx, []nstore.Filter{{Field: "host", Values: []any{host}}})
	if err != nil {
		return s, err
	}
	for _, a := range agents {
		switch a.AgentType {
		case netapi.AgentTypeDHCP:
			ids, err := p.st.DHCPAgentNetworks(ctx, a.ID)
			if err != nil {
				return s, err
			}
			for _, id := range ids {
				n, err := c.network(ctx, id)
				if nstore.IsNotFound(err) {
					continue
				}
				if err != nil {
					return s, err
				}
				dports, err := p.st.DevicePorts(ctx, DHCPDeviceID(host, id))
				if err != nil {
					return s, err
				}
				if len(dports) == 0 {
					continue
				}
				if err := addNet(id); err != nil {
					return s, err
				}
				d, err := c.dhcp(ctx, n, dports[0])
				if err != nil {
					return s, err
				}
				s.DHCP = append(s.DHCP, d)
			}
		case netapi.AgentTypeL3:
			ids, err := p.st.L3AgentRouters(ctx, a.ID)
			if err != nil {
				return s, err
			}
			for _, id := range ids {
				r, err := p.st.Router(ctx, id)
				if nstore.IsNotFound(err) {
					continue
				}
				if err != nil {
					return s, err
				}
				d, err := c.router(ctx, r)
				if err != nil {
					return s, err
				}
				for _, rp := range d.Interfaces {
					if err := addNet(rp.Network.ID); err != nil {
						return s, err
					}
				}
				if d.Gateway != nil {
					if err := addNet(d.Gateway.Network.ID); err != nil {
						return s, err
					}
				}
				s.Routers = append(s.Routers, d)
			}
		}
	}
	return s, nil
}

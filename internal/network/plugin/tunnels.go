package plugin

import (
	"cmp"
	"context"
	"slices"
	"time"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
)

// Every host's L2 agent reports its tunnel address ([vxlan] local_ip) as
// configurations.tunneling_ip. The server sends the whole list of live
// hosts' addresses to every agent (rpc.TunnelUpdate, on the fanout
// subject) whenever it changes: an agent registers or restarts, reports
// another address, is deleted, or stops reporting for agent_down_time (a
// periodic check). Each agent floods its VXLAN networks to the others; a
// starting agent also finds the list in its sync_state answer. The list is
// whole and each push replaces the last, so that server replicas pushing
// the same change twice, or a lost push the next check repeats, do no harm.

// tunnelIP returns the tunnel address an L2 agent reported ("" for none, or
// for DHCP, L3 and metadata agents).
func tunnelIP(agentType string, conf map[string]any) string {
	switch agentType {
	case netapi.AgentTypeDHCP, netapi.AgentTypeL3, netapi.AgentTypeMetadata:
		return ""
	}
	ip, _ := conf["tunneling_ip"].(string)
	return ip
}

// TunnelPeers returns the tunnel addresses of the hosts whose L2 agents are
// alive, by host.
func (p *Plugin) TunnelPeers(ctx context.Context) ([]rpc.TunnelPeer, error) {
	agents, err := p.st.Agents(ctx, nil)
	if err != nil {
		return nil, err
	}
	out := []rpc.TunnelPeer{}
	for _, a := range agents {
		if ip := tunnelIP(a.AgentType, a.Configurations); ip != "" && p.alive(a) {
			out = append(out, rpc.TunnelPeer{Host: a.Host, IP: ip})
		}
	}
	slices.SortFunc(out, func(a, b rpc.TunnelPeer) int { return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.IP, b.IP)) })
	return out, nil
}

// tunnelReported notes the tunnel address an agent reported and says
// whether the peers may have changed.
func (p *Plugin) tunnelReported(host string, a rpc.AgentInfo, registered bool) bool {
	switch a.AgentType {
	case netapi.AgentTypeDHCP, netapi.AgentTypeL3, netapi.AgentTypeMetadata:
		return false
	}
	ip := tunnelIP(a.AgentType, a.Configurations)
	p.tunMu.Lock()
	defer p.tunMu.Unlock()
	if p.tunSeen == nil {
		p.tunSeen = map[string]string{}
	}
	old, seen := p.tunSeen[host]
	p.tunSeen[host] = ip
	return registered || !seen || old != ip
}

// pushTunnels sends the peers to every agent if they changed since this
// server last did.
func (p *Plugin) pushTunnels(ctx context.Context) {
	if p.bus == nil {
		return
	}
	peers, err := p.TunnelPeers(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "tunnel peers", "err", err)
		return
	}
	p.tunMu.Lock()
	same := p.tunPushed != nil && slices.Equal(p.tunPushed, peers)
	if !same {
		p.tunPushed = peers
	}
	p.tunMu.Unlock()
	if same {
		return
	}
	p.log.InfoContext(ctx, "tunnel peers changed", "peers", len(peers))
	if err := p.bus.Cast(ctx, rpc.FanoutSubject, rpc.MethodTunnelUpdate, rpc.TunnelUpdate{Peers: peers}); err != nil {
		p.log.WarnContext(ctx, "cast to agents failed", "method", rpc.MethodTunnelUpdate, "err", err)
		p.tunMu.Lock()
		p.tunPushed = nil // the next check tries again
		p.tunMu.Unlock()
	}
}

// tunnelCheckInterval is how often the server looks for hosts whose agents
// went silent: half agent_down_time, at least a second.
func (p *Plugin) tunnelCheckInterval() time.Duration {
	return max(p.cfg.AgentDownTime/2, time.Second)
}

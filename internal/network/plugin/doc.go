// Package plugin is the core of tenku's networking service, what Neutron calls
// its core and L3 plugins: it validates requests against Neutron's rules,
// allocates segments, addresses (IPAM) and MAC addresses, binds ports to
// hosts, keeps routers, floating IPs and security groups consistent, enforces
// quotas, schedules networks and routers on agents, tells agents what changed
// (over the bus, after each commit) and tells Nova when its ports come up or go
// away.
//
// It knows nothing of HTTP or policy: the API layer decides who may do what,
// then calls the plugin with typed specs (pointer fields: nil means "not in the
// request"). Every write is one store transaction; notifications follow the
// commit.
//
// plugin imports api/network, internal/network/{store,ipam,dataplane,rpc,notify}
// and platform/{store,bus,fault}.
package plugin

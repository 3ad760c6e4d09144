package scheduler

// ServerGroupAffinityFilter keeps the instances of an "affinity" server
// group on the host its members already use: once any member has a host,
// only that host passes. Within one request, the first instance's choice
// becomes the group's host for the others.
type ServerGroupAffinityFilter struct{}

// Name returns "ServerGroupAffinityFilter".
func (ServerGroupAffinityFilter) Name() string { return "ServerGroupAffinityFilter" }

// Pass checks the host against the group's hosts.
func (ServerGroupAffinityFilter) Pass(h *HostState, spec *RequestSpec) bool {
	if spec.Group == nil || spec.Group.Policy != PolicyAffinity {
		return true
	}
	hosts := spec.derive().groupHosts
	if len(hosts) == 0 {
		return true
	}
	for _, g := range hosts {
		if g == h.Host {
			return true
		}
	}
	return false
}

// ServerGroupAntiAffinityFilter keeps the instances of an "anti-affinity"
// server group apart: a host passes while it runs fewer of the group's
// members than the group's max_server_per_host rule (default 1). The
// instances placed earlier in the same request count as members. A host
// already running the instance being moved passes, so that a move may
// consider its source.
type ServerGroupAntiAffinityFilter struct{}

// Name returns "ServerGroupAntiAffinityFilter".
func (ServerGroupAntiAffinityFilter) Name() string { return "ServerGroupAntiAffinityFilter" }

// Pass counts the group's members on the host.
func (ServerGroupAntiAffinityFilter) Pass(h *HostState, spec *RequestSpec) bool {
	g := spec.Group
	if g == nil || g.Policy != PolicyAntiAffinity {
		return true
	}
	if h.hasInstance(spec.currentInstance()) {
		return true
	}
	limit := g.MaxServerPerHost
	if limit <= 0 {
		limit = 1
	}
	return spec.groupMembersOn(h) < limit
}

// SameHostFilter passes hosts running one of the instances named by the
// "same_host" scheduler hint.
type SameHostFilter struct{}

// Name returns "SameHostFilter".
func (SameHostFilter) Name() string { return "SameHostFilter" }

// Pass looks for the hinted instances on the host.
func (SameHostFilter) Pass(h *HostState, spec *RequestSpec) bool {
	if len(spec.Hints.SameHost) == 0 {
		return true
	}
	return h.hasAnyInstance(spec.Hints.SameHost)
}

// RunOncePerRequest is true: instance locations do not change within a
// request.
func (SameHostFilter) RunOncePerRequest() bool { return true }

// DifferentHostFilter passes hosts running none of the instances named by
// the "different_host" scheduler hint.
type DifferentHostFilter struct{}

// Name returns "DifferentHostFilter".
func (DifferentHostFilter) Name() string { return "DifferentHostFilter" }

// Pass looks for the hinted instances on the host.
func (DifferentHostFilter) Pass(h *HostState, spec *RequestSpec) bool {
	if len(spec.Hints.DifferentHost) == 0 {
		return true
	}
	return !h.hasAnyInstance(spec.Hints.DifferentHost)
}

// RunOncePerRequest is true: instance locations do not change within a
// request.
func (DifferentHostFilter) RunOncePerRequest() bool { return true }

var (
	_ Filter         = ServerGroupAffinityFilter{}
	_ Filter         = ServerGroupAntiAffinityFilter{}
	_ OncePerRequest = SameHostFilter{}
	_ OncePerRequest = DifferentHostFilter{}
)

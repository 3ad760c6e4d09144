package scheduler

// serverGroupAffinityFilter implements ServerGroupAffinityFilter.
//
// ServerGroupAffinityFilter keeps the instances of an "affinity" server
// group on the host its members already use: once any member has a host,
// only that host passes. Within one request, the first instance's choice
// becomes the group's host for the others.
type serverGroupAffinityFilter struct{}

// Name returns "ServerGroupAffinityFilter".
func (serverGroupAffinityFilter) Name() string { return "ServerGroupAffinityFilter" }

// Pass checks the host against the group's hosts.
func (serverGroupAffinityFilter) Pass(h *HostState, spec *RequestSpec) bool {
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

// serverGroupAntiAffinityFilter implements ServerGroupAntiAffinityFilter.
//
// ServerGroupAntiAffinityFilter keeps the instances of an "anti-affinity"
// server group apart: a host passes while it runs fewer of the group's
// members than the group's max_server_per_host rule (default 1). The
// instances placed earlier in the same request count as members. A host
// already running the instance being moved passes, so that a move may
// consider its source.
type serverGroupAntiAffinityFilter struct{}

// Name returns "ServerGroupAntiAffinityFilter".
func (serverGroupAntiAffinityFilter) Name() string { return "ServerGroupAntiAffinityFilter" }

// Pass counts the group's members on the host.
func (serverGroupAntiAffinityFilter) Pass(h *HostState, spec *RequestSpec) bool {
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

// sameHostFilter implements SameHostFilter.
//
// SameHostFilter passes hosts running one of the instances named by the
// "same_host" scheduler hint.
type sameHostFilter struct{}

// Name returns "SameHostFilter".
func (sameHostFilter) Name() string { return "SameHostFilter" }

// Pass looks for the hinted instances on the host.
func (sameHostFilter) Pass(h *HostState, spec *RequestSpec) bool {
	if len(spec.Hints.SameHost) == 0 {
		return true
	}
	return h.hasAnyInstance(spec.Hints.SameHost)
}

// RunOncePerRequest is true: instance locations do not change within a
// request.
func (sameHostFilter) RunOncePerRequest() bool { return true }

// differentHostFilter implements DifferentHostFilter.
//
// DifferentHostFilter passes hosts running none of the instances named by
// the "different_host" scheduler hint.
type differentHostFilter struct{}

// Name returns "DifferentHostFilter".
func (differentHostFilter) Name() string { return "DifferentHostFilter" }

// Pass looks for the hinted instances on the host.
func (differentHostFilter) Pass(h *HostState, spec *RequestSpec) bool {
	if len(spec.Hints.DifferentHost) == 0 {
		return true
	}
	return !h.hasAnyInstance(spec.Hints.DifferentHost)
}

// RunOncePerRequest is true: instance locations do not change within a
// request.
func (differentHostFilter) RunOncePerRequest() bool { return true }

var (
	_ Filter         = serverGroupAffinityFilter{}
	_ Filter         = serverGroupAntiAffinityFilter{}
	_ OncePerRequest = sameHostFilter{}
	_ OncePerRequest = differentHostFilter{}
)

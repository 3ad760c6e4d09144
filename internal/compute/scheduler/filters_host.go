package scheduler

import "strings"

// allHostsFilter implements AllHostsFilter.
//
// AllHostsFilter passes every host (Nova's AllHostsFilter), for deployments
// that want no filtering at all.
type allHostsFilter struct{}

// Name returns "AllHostsFilter".
func (allHostsFilter) Name() string { return "AllHostsFilter" }

// Pass always passes.
func (allHostsFilter) Pass(*HostState, *RequestSpec) bool { return true }

// RunOncePerRequest is true: the answer never changes.
func (allHostsFilter) RunOncePerRequest() bool { return true }

// computeFilter implements ComputeFilter.
//
// ComputeFilter passes hosts whose compute service is enabled, up and not
// forced down.
type computeFilter struct{}

// Name returns "ComputeFilter".
func (computeFilter) Name() string { return "ComputeFilter" }

// Pass checks the service state.
func (computeFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return !h.ServiceDisabled && h.ServiceUp && !h.ForcedDown
}

// RunOncePerRequest is true: service state does not change within a request.
func (computeFilter) RunOncePerRequest() bool { return true }

// availabilityZoneFilter implements AvailabilityZoneFilter.
//
// AvailabilityZoneFilter passes hosts in the requested availability zone:
// the host's resolved zone, else its aggregates' "availability_zone"
// metadata, else the default zone. Nova now makes this check in placement;
// as a filter it can be named in a fault.
type availabilityZoneFilter struct{ cfg *Config }

// Name returns "AvailabilityZoneFilter".
func (*availabilityZoneFilter) Name() string { return "AvailabilityZoneFilter" }

// Pass compares zones.
func (f *availabilityZoneFilter) Pass(h *HostState, spec *RequestSpec) bool {
	az := spec.AvailabilityZone
	if az == "" {
		return true
	}
	if h.AvailabilityZone != "" {
		return h.AvailabilityZone == az
	}
	match := false
	found := h.aggregateValues("availability_zone", func(v string) bool {
		match = v == az
		return !match
	})
	if found {
		return match
	}
	return az == f.cfg.DefaultAvailabilityZone
}

// RunOncePerRequest is true: zones do not change within a request.
func (*availabilityZoneFilter) RunOncePerRequest() bool { return true }

// numInstancesFilter implements NumInstancesFilter.
//
// NumInstancesFilter passes hosts with fewer instances than
// max_instances_per_host.
type numInstancesFilter struct{ cfg *Config }

// Name returns "NumInstancesFilter".
func (*numInstancesFilter) Name() string { return "NumInstancesFilter" }

// Pass compares the instance count to the limit.
func (f *numInstancesFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return h.NumInstances < f.cfg.MaxInstancesPerHost
}

// aggregateNumInstancesFilter implements AggregateNumInstancesFilter.
//
// AggregateNumInstancesFilter is NumInstancesFilter with the limit taken
// from the smallest "max_instances_per_host" of the host's aggregates.
type aggregateNumInstancesFilter struct{ cfg *Config }

// Name returns "AggregateNumInstancesFilter".
func (*aggregateNumInstancesFilter) Name() string { return "AggregateNumInstancesFilter" }

// Pass compares the instance count to the aggregate's limit.
func (f *aggregateNumInstancesFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return h.NumInstances < aggregateInt(h, "max_instances_per_host", f.cfg.MaxInstancesPerHost)
}

// ioOpsFilter implements IoOpsFilter.
//
// IoOpsFilter passes hosts with fewer I/O-heavy operations than
// max_io_ops_per_host.
type ioOpsFilter struct{ cfg *Config }

// Name returns "IoOpsFilter".
func (*ioOpsFilter) Name() string { return "IoOpsFilter" }

// Pass compares the I/O operation count to the limit.
func (f *ioOpsFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return h.IOOps < f.cfg.MaxIOOpsPerHost
}

// aggregateIoOpsFilter implements AggregateIoOpsFilter.
//
// AggregateIoOpsFilter is IoOpsFilter with the limit taken from the
// smallest "max_io_ops_per_host" of the host's aggregates.
type aggregateIoOpsFilter struct{ cfg *Config }

// Name returns "AggregateIoOpsFilter".
func (*aggregateIoOpsFilter) Name() string { return "AggregateIoOpsFilter" }

// Pass compares the I/O operation count to the aggregate's limit.
func (f *aggregateIoOpsFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return h.IOOps < aggregateInt(h, "max_io_ops_per_host", f.cfg.MaxIOOpsPerHost)
}

// aggregateMultiTenancyIsolation implements AggregateMultiTenancyIsolation.
//
// AggregateMultiTenancyIsolation keeps hosts in aggregates whose
// "filter_tenant_id*" metadata lists projects for those projects only.
type aggregateMultiTenancyIsolation struct{}

// Name returns "AggregateMultiTenancyIsolation".
func (aggregateMultiTenancyIsolation) Name() string { return "AggregateMultiTenancyIsolation" }

// Pass checks the request's project against the aggregates' tenant lists.
func (aggregateMultiTenancyIsolation) Pass(h *HostState, spec *RequestSpec) bool {
	restricted := false
	for i := range h.Aggregates {
		for key, raw := range h.Aggregates[i].Metadata {
			if !strings.HasPrefix(key, "filter_tenant_id") {
				continue
			}
			restricted = true
			for {
				part, rest, more := strings.Cut(raw, ",")
				if strings.TrimSpace(part) == spec.ProjectID {
					return true
				}
				if !more {
					break
				}
				raw = rest
			}
		}
	}
	return !restricted
}

// RunOncePerRequest is true: aggregates and project do not change.
func (aggregateMultiTenancyIsolation) RunOncePerRequest() bool { return true }

var (
	_ Filter         = allHostsFilter{}
	_ OncePerRequest = computeFilter{}
	_ OncePerRequest = (*availabilityZoneFilter)(nil)
	_ Filter         = (*numInstancesFilter)(nil)
	_ Filter         = (*aggregateNumInstancesFilter)(nil)
	_ Filter         = (*ioOpsFilter)(nil)
	_ Filter         = (*aggregateIoOpsFilter)(nil)
	_ OncePerRequest = aggregateMultiTenancyIsolation{}
)

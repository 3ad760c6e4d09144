package scheduler

import "strings"

// AllHostsFilter passes every host (Nova's AllHostsFilter), for deployments
// that want no filtering at all.
type AllHostsFilter struct{}

// Name returns "AllHostsFilter".
func (AllHostsFilter) Name() string { return "AllHostsFilter" }

// Pass always passes.
func (AllHostsFilter) Pass(*HostState, *RequestSpec) bool { return true }

// RunOncePerRequest is true: the answer never changes.
func (AllHostsFilter) RunOncePerRequest() bool { return true }

// ComputeFilter passes hosts whose compute service is enabled, up and not
// forced down.
type ComputeFilter struct{}

// Name returns "ComputeFilter".
func (ComputeFilter) Name() string { return "ComputeFilter" }

// Pass checks the service state.
func (ComputeFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return !h.ServiceDisabled && h.ServiceUp && !h.ForcedDown
}

// RunOncePerRequest is true: service state does not change within a request.
func (ComputeFilter) RunOncePerRequest() bool { return true }

// AvailabilityZoneFilter passes hosts in the requested availability zone:
// the host's resolved zone, else its aggregates' "availability_zone"
// metadata, else the default zone. Nova now makes this check in placement;
// as a filter it can be named in a fault.
type AvailabilityZoneFilter struct{ cfg *Config }

// Name returns "AvailabilityZoneFilter".
func (*AvailabilityZoneFilter) Name() string { return "AvailabilityZoneFilter" }

// Pass compares zones.
func (f *AvailabilityZoneFilter) Pass(h *HostState, spec *RequestSpec) bool {
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
func (*AvailabilityZoneFilter) RunOncePerRequest() bool { return true }

// NumInstancesFilter passes hosts with fewer instances than
// max_instances_per_host.
type NumInstancesFilter struct{ cfg *Config }

// Name returns "NumInstancesFilter".
func (*NumInstancesFilter) Name() string { return "NumInstancesFilter" }

// Pass compares the instance count to the limit.
func (f *NumInstancesFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return h.NumInstances < f.cfg.MaxInstancesPerHost
}

// AggregateNumInstancesFilter is NumInstancesFilter with the limit taken
// from the smallest "max_instances_per_host" of the host's aggregates.
type AggregateNumInstancesFilter struct{ cfg *Config }

// Name returns "AggregateNumInstancesFilter".
func (*AggregateNumInstancesFilter) Name() string { return "AggregateNumInstancesFilter" }

// Pass compares the instance count to the aggregate's limit.
func (f *AggregateNumInstancesFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return h.NumInstances < aggregateInt(h, "max_instances_per_host", f.cfg.MaxInstancesPerHost)
}

// IoOpsFilter passes hosts with fewer I/O-heavy operations than
// max_io_ops_per_host.
type IoOpsFilter struct{ cfg *Config }

// Name returns "IoOpsFilter".
func (*IoOpsFilter) Name() string { return "IoOpsFilter" }

// Pass compares the I/O operation count to the limit.
func (f *IoOpsFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return h.IOOps < f.cfg.MaxIOOpsPerHost
}

// AggregateIoOpsFilter is IoOpsFilter with the limit taken from the
// smallest "max_io_ops_per_host" of the host's aggregates.
type AggregateIoOpsFilter struct{ cfg *Config }

// Name returns "AggregateIoOpsFilter".
func (*AggregateIoOpsFilter) Name() string { return "AggregateIoOpsFilter" }

// Pass compares the I/O operation count to the aggregate's limit.
func (f *AggregateIoOpsFilter) Pass(h *HostState, _ *RequestSpec) bool {
	return h.IOOps < aggregateInt(h, "max_io_ops_per_host", f.cfg.MaxIOOpsPerHost)
}

// AggregateMultiTenancyIsolation keeps hosts in aggregates whose
// "filter_tenant_id*" metadata lists projects for those projects only.
type AggregateMultiTenancyIsolation struct{}

// Name returns "AggregateMultiTenancyIsolation".
func (AggregateMultiTenancyIsolation) Name() string { return "AggregateMultiTenancyIsolation" }

// Pass checks the request's project against the aggregates' tenant lists.
func (AggregateMultiTenancyIsolation) Pass(h *HostState, spec *RequestSpec) bool {
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
func (AggregateMultiTenancyIsolation) RunOncePerRequest() bool { return true }

var (
	_ Filter         = AllHostsFilter{}
	_ OncePerRequest = ComputeFilter{}
	_ OncePerRequest = (*AvailabilityZoneFilter)(nil)
	_ Filter         = (*NumInstancesFilter)(nil)
	_ Filter         = (*AggregateNumInstancesFilter)(nil)
	_ Filter         = (*IoOpsFilter)(nil)
	_ Filter         = (*AggregateIoOpsFilter)(nil)
	_ OncePerRequest = AggregateMultiTenancyIsolation{}
)

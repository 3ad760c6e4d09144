package scheduler

// The resource filters make the checks Nova asks placement for: an amount
// fits when used + amount <= (total - reserved) * allocation_ratio, and no
// single instance may take more than the total (placement's max_unit),
// whatever the ratio. A zero amount always fits, as placement drops zero
// requests. They run for every instance of a request, since each placement
// consumes, and apply to forced hosts too.

// coreFilter implements CoreFilter.
//
// CoreFilter checks vCPUs (placement's VCPU; NUMA-free, dedicated CPUs are
// not modelled separately).
type coreFilter struct{ cfg *Config }

// Name returns "CoreFilter".
func (*coreFilter) Name() string { return "CoreFilter" }

// Pass checks that the instance's vCPUs fit.
func (f *coreFilter) Pass(h *HostState, spec *RequestSpec) bool {
	return fits(spec.derive().res.vcpus, h.VCPUs, h.ReservedVCPUs, h.VCPUsUsed, h.cpuRatio(f.cfg.CPUAllocationRatio))
}

// CheckForcedHosts is true: forcing a host does not bypass placement.
func (*coreFilter) CheckForcedHosts() bool { return true }

// ramFilter implements RamFilter.
//
// RamFilter checks memory (placement's MEMORY_MB).
type ramFilter struct{ cfg *Config }

// Name returns "RamFilter".
func (*ramFilter) Name() string { return "RamFilter" }

// Pass checks that the instance's memory fits.
func (f *ramFilter) Pass(h *HostState, spec *RequestSpec) bool {
	return fits(spec.derive().res.memoryMB, h.MemoryMB, h.ReservedMemoryMB, h.MemoryMBUsed, h.ramRatio(f.cfg.RAMAllocationRatio))
}

// CheckForcedHosts is true: forcing a host does not bypass placement.
func (*ramFilter) CheckForcedHosts() bool { return true }

// diskFilter implements DiskFilter.
//
// DiskFilter checks local disk (placement's DISK_GB): root + ephemeral +
// swap rounded up to GiB, without root when booting from volume.
type diskFilter struct{ cfg *Config }

// Name returns "DiskFilter".
func (*diskFilter) Name() string { return "DiskFilter" }

// Pass checks that the instance's disk fits.
func (f *diskFilter) Pass(h *HostState, spec *RequestSpec) bool {
	return fits(spec.derive().res.diskGB, h.DiskGB, h.ReservedDiskGB, h.DiskGBUsed, h.diskRatio(f.cfg.DiskAllocationRatio))
}

// CheckForcedHosts is true: forcing a host does not bypass placement.
func (*diskFilter) CheckForcedHosts() bool { return true }

func fits(amount, total, reserved, used int, ratio float64) bool {
	if amount == 0 {
		return true
	}
	if amount > total {
		return false
	}
	return float64(used+amount) <= float64(total-reserved)*ratio
}

// traitsFilter implements TraitsFilter.
//
// TraitsFilter checks the traits the flavor's "trait:<NAME>" extra specs
// and the image's "trait:<NAME>" properties require ("required") or forbid
// ("forbidden"), as placement does.
type traitsFilter struct{}

// Name returns "TraitsFilter".
func (traitsFilter) Name() string { return "TraitsFilter" }

// Pass checks the node's traits.
func (traitsFilter) Pass(h *HostState, spec *RequestSpec) bool {
	res := &spec.derive().res
	for _, t := range res.required {
		if !h.hasTrait(t) {
			return false
		}
	}
	for _, t := range res.forbidden {
		if h.hasTrait(t) {
			return false
		}
	}
	return true
}

// RunOncePerRequest is true: traits do not change within a request.
func (traitsFilter) RunOncePerRequest() bool { return true }

// CheckForcedHosts is true: forcing a host does not bypass placement.
func (traitsFilter) CheckForcedHosts() bool { return true }

var (
	_ ForcedHostFilter = (*coreFilter)(nil)
	_ ForcedHostFilter = (*ramFilter)(nil)
	_ ForcedHostFilter = (*diskFilter)(nil)
	_ ForcedHostFilter = traitsFilter{}
	_ OncePerRequest   = traitsFilter{}
)

package scheduler

// The resource filters make the checks Nova asks placement for: an amount
// fits when used + amount <= (total - reserved) * allocation_ratio, and no
// single instance may take more than the total (placement's max_unit),
// whatever the ratio. A zero amount always fits, as placement drops zero
// requests. They run for every instance of a request, since each placement
// consumes, and apply to forced hosts too.

// CoreFilter checks vCPUs (placement's VCPU; NUMA-free, dedicated CPUs are
// not modelled separately).
type CoreFilter struct{ cfg *Config }

// Name returns "CoreFilter".
func (*CoreFilter) Name() string { return "CoreFilter" }

// Pass checks that the instance's vCPUs fit.
func (f *CoreFilter) Pass(h *HostState, spec *RequestSpec) bool {
	return fits(spec.derive().res.vcpus, h.VCPUs, h.ReservedVCPUs, h.VCPUsUsed, h.cpuRatio(f.cfg.CPUAllocationRatio))
}

// CheckForcedHosts is true: forcing a host does not bypass placement.
func (*CoreFilter) CheckForcedHosts() bool { return true }

// RamFilter checks memory (placement's MEMORY_MB).
type RamFilter struct{ cfg *Config }

// Name returns "RamFilter".
func (*RamFilter) Name() string { return "RamFilter" }

// Pass checks that the instance's memory fits.
func (f *RamFilter) Pass(h *HostState, spec *RequestSpec) bool {
	return fits(spec.derive().res.memoryMB, h.MemoryMB, h.ReservedMemoryMB, h.MemoryMBUsed, h.ramRatio(f.cfg.RAMAllocationRatio))
}

// CheckForcedHosts is true: forcing a host does not bypass placement.
func (*RamFilter) CheckForcedHosts() bool { return true }

// DiskFilter checks local disk (placement's DISK_GB): root + ephemeral +
// swap rounded up to GiB, without root when booting from volume.
type DiskFilter struct{ cfg *Config }

// Name returns "DiskFilter".
func (*DiskFilter) Name() string { return "DiskFilter" }

// Pass checks that the instance's disk fits.
func (f *DiskFilter) Pass(h *HostState, spec *RequestSpec) bool {
	return fits(spec.derive().res.diskGB, h.DiskGB, h.ReservedDiskGB, h.DiskGBUsed, h.diskRatio(f.cfg.DiskAllocationRatio))
}

// CheckForcedHosts is true: forcing a host does not bypass placement.
func (*DiskFilter) CheckForcedHosts() bool { return true }

func fits(amount, total, reserved, used int, ratio float64) bool {
	if amount == 0 {
		return true
	}
	if amount > total {
		return false
	}
	return float64(used+amount) <= float64(total-reserved)*ratio
}

// TraitsFilter checks the traits the flavor's "trait:<NAME>" extra specs
// and the image's "trait:<NAME>" properties require ("required") or forbid
// ("forbidden"), as placement does.
type TraitsFilter struct{}

// Name returns "TraitsFilter".
func (TraitsFilter) Name() string { return "TraitsFilter" }

// Pass checks the node's traits.
func (TraitsFilter) Pass(h *HostState, spec *RequestSpec) bool {
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
func (TraitsFilter) RunOncePerRequest() bool { return true }

// CheckForcedHosts is true: forcing a host does not bypass placement.
func (TraitsFilter) CheckForcedHosts() bool { return true }

var (
	_ ForcedHostFilter = (*CoreFilter)(nil)
	_ ForcedHostFilter = (*RamFilter)(nil)
	_ ForcedHostFilter = (*DiskFilter)(nil)
	_ ForcedHostFilter = TraitsFilter{}
	_ OncePerRequest   = TraitsFilter{}
)

package scheduler

import "slices"

// Weigher scores hosts that passed the filters, as Nova's weighers do.
// Select collects each weigher's raw weights over all candidate hosts,
// normalises them to 0..1 (see Normalize), multiplies each by the weigher's
// multiplier for that host and adds the products; the highest total wins.
// A weight or multiplier that is not a finite number counts as 0.
// Implementations must be safe for concurrent use.
type Weigher interface {
	// Name is the weigher's name as written in Config.Weighers (Nova's
	// class name, "RAMWeigher").
	Name() string
	// Weigh returns the host's raw weight; higher is better before the
	// multiplier applies.
	Weigh(host *HostState, spec *RequestSpec) float64
	// Multiplier returns the multiplier for the host: the configured one,
	// or an override from the host's aggregate metadata. It must not depend
	// on what the request consumes: Select asks once per host per request.
	Multiplier(host *HostState) float64
}

// Bounds fixes the range a weigher's raw weights are normalised over
// (Nova's minval and maxval): raw weights are clamped into it, and a set
// bound replaces the observed minimum or maximum.
type Bounds struct {
	Min, Max       float64
	HasMin, HasMax bool
}

// BoundedWeigher is implemented by weighers with fixed bounds.
type BoundedWeigher interface {
	Bounds() Bounds
}

// Normalize rescales weights in place to 0..1 as Nova does: values are
// clamped to the bounds, then mapped linearly from [min, max] (the bounds
// where set, the observed extremes otherwise) to [0, 1]. When min equals
// max, every weight becomes 0. The weights must be finite numbers.
func Normalize(weights []float64, b Bounds) {
	if len(weights) == 0 {
		return
	}
	if b.HasMin || b.HasMax {
		for i, w := range weights {
			if b.HasMin && w < b.Min {
				weights[i] = b.Min
			} else if b.HasMax && w > b.Max {
				weights[i] = b.Max
			}
		}
	}
	// Plain comparisons: the weights are finite, so the NaN handling of
	// the min and max builtins is not needed, and this loop runs for every
	// host and weigher of every instance.
	lo, hi := weights[0], weights[0]
	for _, w := range weights[1:] {
		if w < lo {
			lo = w
		}
		if w > hi {
			hi = w
		}
	}
	if b.HasMin {
		lo = b.Min
	}
	if b.HasMax {
		hi = b.Max
	}
	if lo == hi {
		clear(weights)
		return
	}
	scale := 1 / (hi - lo)
	for i, w := range weights {
		weights[i] = (w - lo) * scale
	}
}

// builtinWeighers returns every weigher tenku provides, configured by cfg.
func builtinWeighers(cfg *Config) []Weigher {
	return []Weigher{
		&ramWeigher{cfg: cfg},
		&cpuWeigher{cfg: cfg},
		&diskWeigher{cfg: cfg},
		&ioOpsWeigher{cfg: cfg},
		&buildFailureWeigher{cfg: cfg},
		&serverGroupSoftAffinityWeigher{cfg: cfg},
		&serverGroupSoftAntiAffinityWeigher{cfg: cfg},
		&numInstancesWeigher{cfg: cfg},
		&hypervisorVersionWeigher{cfg: cfg},
	}
}

// AvailableWeighers returns the names of the weighers tenku provides, sorted.
func AvailableWeighers() []string {
	var cfg Config
	names := []string{}
	for _, w := range builtinWeighers(&cfg) {
		names = append(names, w.Name())
	}
	slices.Sort(names)
	return names
}

// multiplier is AggregateMultiplier with a fast path for hosts in no
// aggregate.
func multiplier(h *HostState, key string, def float64) float64 {
	if len(h.Aggregates) == 0 {
		return def
	}
	return AggregateMultiplier(h, key, def)
}

var nonNegative = Bounds{HasMin: true}

// ramWeigher implements RAMWeigher.
//
// RAMWeigher prefers hosts with more free memory (spreading); a negative
// multiplier stacks instead. Aggregate key: ram_weight_multiplier.
type ramWeigher struct{ cfg *Config }

// Name returns "RAMWeigher".
func (*ramWeigher) Name() string { return "RAMWeigher" }

// Weigh returns the free memory in MiB.
func (*ramWeigher) Weigh(h *HostState, _ *RequestSpec) float64 { return float64(h.freeRAMMB()) }

// Multiplier returns ram_weight_multiplier.
func (w *ramWeigher) Multiplier(h *HostState) float64 {
	return multiplier(h, "ram_weight_multiplier", w.cfg.RAMWeightMultiplier)
}

// Bounds: free memory below 0 counts as 0.
func (*ramWeigher) Bounds() Bounds { return nonNegative }

// cpuWeigher implements CPUWeigher.
//
// CPUWeigher prefers hosts with more free vCPUs after overcommit.
// Aggregate key: cpu_weight_multiplier.
type cpuWeigher struct{ cfg *Config }

// Name returns "CPUWeigher".
func (*cpuWeigher) Name() string { return "CPUWeigher" }

// Weigh returns vCPUs × allocation ratio − vCPUs used.
func (w *cpuWeigher) Weigh(h *HostState, _ *RequestSpec) float64 {
	return float64(h.VCPUs)*h.cpuRatio(w.cfg.CPUAllocationRatio) - float64(h.VCPUsUsed)
}

// Multiplier returns cpu_weight_multiplier.
func (w *cpuWeigher) Multiplier(h *HostState) float64 {
	return multiplier(h, "cpu_weight_multiplier", w.cfg.CPUWeightMultiplier)
}

// Bounds: free vCPUs below 0 count as 0.
func (*cpuWeigher) Bounds() Bounds { return nonNegative }

// diskWeigher implements DiskWeigher.
//
// DiskWeigher prefers hosts with more free disk. Aggregate key:
// disk_weight_multiplier.
type diskWeigher struct{ cfg *Config }

// Name returns "DiskWeigher".
func (*diskWeigher) Name() string { return "DiskWeigher" }

// Weigh returns the free disk in MiB.
func (*diskWeigher) Weigh(h *HostState, _ *RequestSpec) float64 { return float64(h.freeDiskMB()) }

// Multiplier returns disk_weight_multiplier.
func (w *diskWeigher) Multiplier(h *HostState) float64 {
	return multiplier(h, "disk_weight_multiplier", w.cfg.DiskWeightMultiplier)
}

// Bounds: free disk below 0 counts as 0.
func (*diskWeigher) Bounds() Bounds { return nonNegative }

// ioOpsWeigher implements IoOpsWeigher.
//
// IoOpsWeigher weighs the number of I/O-heavy operations; with the default
// negative multiplier, quiet hosts win. Aggregate key:
// io_ops_weight_multiplier.
type ioOpsWeigher struct{ cfg *Config }

// Name returns "IoOpsWeigher".
func (*ioOpsWeigher) Name() string { return "IoOpsWeigher" }

// Weigh returns the I/O operation count.
func (*ioOpsWeigher) Weigh(h *HostState, _ *RequestSpec) float64 { return float64(h.IOOps) }

// Multiplier returns io_ops_weight_multiplier.
func (w *ioOpsWeigher) Multiplier(h *HostState) float64 {
	return multiplier(h, "io_ops_weight_multiplier", w.cfg.IOOpsWeightMultiplier)
}

// Bounds: counts start at 0.
func (*ioOpsWeigher) Bounds() Bounds { return nonNegative }

// buildFailureWeigher implements BuildFailureWeigher.
//
// BuildFailureWeigher pushes away hosts with recent build failures; its
// large default multiplier outweighs the resource weighers. The multiplier
// is applied negated. Aggregate key: build_failure_weight_multiplier.
type buildFailureWeigher struct{ cfg *Config }

// Name returns "BuildFailureWeigher".
func (*buildFailureWeigher) Name() string { return "BuildFailureWeigher" }

// Weigh returns the recent build failure count.
func (*buildFailureWeigher) Weigh(h *HostState, _ *RequestSpec) float64 {
	return float64(h.FailedBuilds)
}

// Multiplier returns build_failure_weight_multiplier, negated.
func (w *buildFailureWeigher) Multiplier(h *HostState) float64 {
	return -multiplier(h, "build_failure_weight_multiplier", w.cfg.BuildFailureWeightMultiplier)
}

// serverGroupSoftAffinityWeigher implements ServerGroupSoftAffinityWeigher.
//
// ServerGroupSoftAffinityWeigher prefers hosts running more members of a
// "soft-affinity" server group. Aggregate key:
// soft_affinity_weight_multiplier.
type serverGroupSoftAffinityWeigher struct{ cfg *Config }

// Name returns "ServerGroupSoftAffinityWeigher".
func (*serverGroupSoftAffinityWeigher) Name() string { return "ServerGroupSoftAffinityWeigher" }

// Weigh returns the group's member count on the host, 0 without the policy.
func (*serverGroupSoftAffinityWeigher) Weigh(h *HostState, spec *RequestSpec) float64 {
	if spec.Group == nil || spec.Group.Policy != PolicySoftAffinity {
		return 0
	}
	return float64(spec.groupMembersOn(h))
}

// Multiplier returns soft_affinity_weight_multiplier.
func (w *serverGroupSoftAffinityWeigher) Multiplier(h *HostState) float64 {
	return multiplier(h, "soft_affinity_weight_multiplier", w.cfg.SoftAffinityWeightMultiplier)
}

// serverGroupSoftAntiAffinityWeigher implements ServerGroupSoftAntiAffinityWeigher.
//
// ServerGroupSoftAntiAffinityWeigher prefers hosts running fewer members of
// a "soft-anti-affinity" server group. Aggregate key:
// soft_anti_affinity_weight_multiplier.
type serverGroupSoftAntiAffinityWeigher struct{ cfg *Config }

// Name returns "ServerGroupSoftAntiAffinityWeigher".
func (*serverGroupSoftAntiAffinityWeigher) Name() string {
	return "ServerGroupSoftAntiAffinityWeigher"
}

// Weigh returns minus the group's member count on the host, 0 without the
// policy.
func (*serverGroupSoftAntiAffinityWeigher) Weigh(h *HostState, spec *RequestSpec) float64 {
	if spec.Group == nil || spec.Group.Policy != PolicySoftAntiAffinity {
		return 0
	}
	return -float64(spec.groupMembersOn(h))
}

// Multiplier returns soft_anti_affinity_weight_multiplier.
func (w *serverGroupSoftAntiAffinityWeigher) Multiplier(h *HostState) float64 {
	return multiplier(h, "soft_anti_affinity_weight_multiplier", w.cfg.SoftAntiAffinityWeightMultiplier)
}

// numInstancesWeigher implements NumInstancesWeigher.
//
// NumInstancesWeigher weighs the instance count; its default multiplier is
// 0 (off), negative spreads, positive packs. Aggregate key:
// num_instances_weight_multiplier.
type numInstancesWeigher struct{ cfg *Config }

// Name returns "NumInstancesWeigher".
func (*numInstancesWeigher) Name() string { return "NumInstancesWeigher" }

// Weigh returns the instance count.
func (*numInstancesWeigher) Weigh(h *HostState, _ *RequestSpec) float64 {
	return float64(h.NumInstances)
}

// Multiplier returns num_instances_weight_multiplier.
func (w *numInstancesWeigher) Multiplier(h *HostState) float64 {
	return multiplier(h, "num_instances_weight_multiplier", w.cfg.NumInstancesWeightMultiplier)
}

// hypervisorVersionWeigher implements HypervisorVersionWeigher.
//
// HypervisorVersionWeigher prefers hosts with newer hypervisors. Aggregate
// key: hypervisor_version_weight_multiplier.
type hypervisorVersionWeigher struct{ cfg *Config }

// Name returns "HypervisorVersionWeigher".
func (*hypervisorVersionWeigher) Name() string { return "HypervisorVersionWeigher" }

// Weigh returns the integer-encoded hypervisor version.
func (*hypervisorVersionWeigher) Weigh(h *HostState, _ *RequestSpec) float64 {
	return float64(h.HypervisorVersion)
}

// Multiplier returns hypervisor_version_weight_multiplier.
func (w *hypervisorVersionWeigher) Multiplier(h *HostState) float64 {
	return multiplier(h, "hypervisor_version_weight_multiplier", w.cfg.HypervisorVersionWeightMultiplier)
}

var (
	_ BoundedWeigher = (*ramWeigher)(nil)
	_ BoundedWeigher = (*cpuWeigher)(nil)
	_ BoundedWeigher = (*diskWeigher)(nil)
	_ BoundedWeigher = (*ioOpsWeigher)(nil)
	_ Weigher        = (*buildFailureWeigher)(nil)
	_ Weigher        = (*serverGroupSoftAffinityWeigher)(nil)
	_ Weigher        = (*serverGroupSoftAntiAffinityWeigher)(nil)
	_ Weigher        = (*numInstancesWeigher)(nil)
	_ Weigher        = (*hypervisorVersionWeigher)(nil)
)

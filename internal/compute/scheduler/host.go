package scheduler

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
)

// HostState is what the scheduler knows about one compute node when it
// decides: Nova's HostState, flattened. The conductor builds one per compute
// node from the database (services, compute nodes, aggregates, instances)
// and passes the slice to Select, which never modifies it.
//
// Resources follow placement's inventory model: a resource has a total, an
// amount reserved for the host itself, an allocation ratio, and an amount
// used by instances (excluding the reserved part). A zero allocation ratio
// means "not reported": Config's default ratio applies.
type HostState struct {
	// Host is the compute service's host name (the RPC target).
	Host string
	// Node is the hypervisor node name; one host may have several nodes.
	Node string
	// NodeUUID identifies the compute node record; Select copies it into
	// its results so that the conductor can claim by id.
	NodeUUID string

	// ServiceDisabled is the compute service's administrative state.
	ServiceDisabled bool
	// DisabledReason is the reason an operator gave for disabling it.
	DisabledReason string
	// ServiceUp says the service has reported recently (the conductor applies
	// Nova's service_down_time to its heartbeat). The zero value is "down":
	// a host nobody has heard from is not a place to build.
	ServiceUp bool
	// ForcedDown is the operator's "forced_down" flag (os-services 2.11).
	ForcedDown bool

	// AvailabilityZone is the host's zone when the conductor has resolved it;
	// when empty, the "availability_zone" metadata of its aggregates apply,
	// and failing that Config.DefaultAvailabilityZone.
	AvailabilityZone string
	// Aggregates are the host aggregates the host belongs to.
	Aggregates []Aggregate

	// VCPUs is the number of physical CPUs the node reports.
	VCPUs int
	// VCPUsUsed is the number of vCPUs allocated to instances.
	VCPUsUsed int
	// ReservedVCPUs is held back for the host (reserved_host_cpus).
	ReservedVCPUs int
	// CPUAllocationRatio is the node's vCPU overcommit ratio; 0 means unset.
	CPUAllocationRatio float64

	// MemoryMB is the node's physical memory in MiB.
	MemoryMB int
	// MemoryMBUsed is the memory allocated to instances, in MiB.
	MemoryMBUsed int
	// ReservedMemoryMB is held back for the host (reserved_host_memory_mb).
	ReservedMemoryMB int
	// RAMAllocationRatio is the node's memory overcommit ratio; 0 means unset.
	RAMAllocationRatio float64

	// DiskGB is the node's local disk for instances, in GiB.
	DiskGB int
	// DiskGBUsed is the local disk allocated to instances, in GiB.
	DiskGBUsed int
	// ReservedDiskGB is held back for the host (reserved_host_disk_mb,
	// rounded up to GiB as Nova reports it to placement).
	ReservedDiskGB int
	// DiskAllocationRatio is the node's disk overcommit ratio; 0 means unset.
	DiskAllocationRatio float64

	// NumInstances counts the instances on the node.
	NumInstances int
	// IOOps counts instances doing I/O-heavy work (see CountsAsIOOp).
	IOOps int
	// InstancesByProject counts the node's instances per project id (Nova's
	// "num_proj_<id>" statistics); read by ComputeCapabilitiesFilter.
	InstancesByProject map[string]int
	// InstanceIDs are the UUIDs of the instances on the node.
	InstanceIDs []string
	// FailedBuilds counts recent consecutive build failures on the node.
	FailedBuilds int

	// HypervisorType is the driver's hypervisor type ("QEMU", "fake").
	HypervisorType string
	// HypervisorVersion is Nova's integer encoding of the hypervisor
	// version: 7002001 is 7.2.1.
	HypervisorVersion int
	// HypervisorHostname is the hypervisor's host name.
	HypervisorHostname string
	// SupportedInstances are the (architecture, hypervisor type, VM mode)
	// triples the node can run.
	SupportedInstances []SupportedInstance
	// Traits are the node's placement traits (HW_CPU_X86_AVX2, CUSTOM_...).
	Traits []string
	// Capabilities are further host facts that flavors can require through
	// "capabilities:<path>" extra specs. Keys are paths joined by ":" as they
	// appear after the "capabilities:" prefix ("cpu_info:arch",
	// "cpu_info:maxphysaddr:bits"); a "cpu_info" entry may also hold the
	// node's cpu_info JSON, which is then walked for nested paths.
	Capabilities map[string]string

	// Working state of one Select call; always zero in a caller's snapshot.
	placed       int  // instances this call placed on the host
	groupMembers int  // members of the request's server group on the host
	groupCounted bool // groupMembers is valid
}

// Aggregate is a host aggregate the host belongs to.
type Aggregate struct {
	// ID identifies the aggregate (for logs and tests).
	ID string
	// Name is the aggregate's name.
	Name string
	// Metadata is the aggregate's metadata; values may be comma-separated
	// lists, as Nova reads them.
	Metadata map[string]string
}

// SupportedInstance is one (architecture, hypervisor type, VM mode) triple a
// node supports, in Nova's canonical lower-case names ("x86_64", "qemu",
// "hvm").
type SupportedInstance struct {
	Arch   string
	HVType string
	VMMode string
}

// CountsAsIOOp reports whether an instance in the given vm_state and
// task_state counts towards its host's IOOps, as Nova's io_workload does:
// instances being built, rebuilt, resized, migrated, snapshotted, backed
// up, rescued or unshelved.
func CountsAsIOOp(vmState, taskState string) bool {
	if vmState == "building" {
		return true
	}
	switch taskState {
	case "resize_migrating", "rebuilding", "resize_prep", "image_snapshot",
		"image_backup", "rescuing", "unshelving":
		return true
	}
	return false
}

// ratios returns the node's effective allocation ratios.
func (h *HostState) cpuRatio(def float64) float64 {
	if h.CPUAllocationRatio > 0 {
		return h.CPUAllocationRatio
	}
	return def
}

func (h *HostState) ramRatio(def float64) float64 {
	if h.RAMAllocationRatio > 0 {
		return h.RAMAllocationRatio
	}
	return def
}

func (h *HostState) diskRatio(def float64) float64 {
	if h.DiskAllocationRatio > 0 {
		return h.DiskAllocationRatio
	}
	return def
}

// freeRAMMB is Nova's free_ram_mb: memory not used nor reserved, before
// overcommit (it may be negative on an overcommitted host).
func (h *HostState) freeRAMMB() int {
	return h.MemoryMB - h.ReservedMemoryMB - h.MemoryMBUsed
}

// freeDiskMB is Nova's free_disk_mb.
func (h *HostState) freeDiskMB() int {
	return (h.DiskGB - h.ReservedDiskGB - h.DiskGBUsed) * 1024
}

// hasInstance reports whether the instance with the given id is on the host.
func (h *HostState) hasInstance(id string) bool {
	if id == "" {
		return false
	}
	for _, x := range h.InstanceIDs {
		if x == id {
			return true
		}
	}
	return false
}

// hasAnyInstance reports whether any of ids is on the host.
func (h *HostState) hasAnyInstance(ids []string) bool {
	for _, x := range h.InstanceIDs {
		for _, id := range ids {
			if x == id {
				return true
			}
		}
	}
	return false
}

// hasTrait reports whether the node has the trait.
func (h *HostState) hasTrait(t string) bool {
	for _, x := range h.Traits {
		if x == t {
			return true
		}
	}
	return false
}

// aggregateValues calls fn for every value of key in the host's aggregates'
// metadata, each comma-separated list split and trimmed as Nova does; fn
// returns false to stop. It reports whether the key was present at all.
func (h *HostState) aggregateValues(key string, fn func(v string) bool) (found bool) {
	for i := range h.Aggregates {
		raw, ok := h.Aggregates[i].Metadata[key]
		if !ok {
			continue
		}
		found = true
		for {
			part, rest, more := strings.Cut(raw, ",")
			if !fn(strings.TrimSpace(part)) {
				return true
			}
			if !more {
				break
			}
			raw = rest
		}
	}
	return found
}

// AggregateMultiplier returns the weight multiplier for a host: the smallest
// value of the aggregate metadata key among the host's aggregates when any
// sets it (as Nova's get_weight_multiplier), def otherwise. If a value is
// not a finite number, def applies, as Nova logs and falls back.
func AggregateMultiplier(h *HostState, key string, def float64) float64 {
	found := false
	best := 0.0
	for i := range h.Aggregates {
		raw, ok := h.Aggregates[i].Metadata[key]
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return def
		}
		if !found || v < best {
			best, found = v, true
		}
	}
	if !found {
		return def
	}
	return best
}

// aggregateInt is AggregateMultiplier for the per-aggregate integer limits
// (max_instances_per_host, max_io_ops_per_host).
func aggregateInt(h *HostState, key string, def int) int {
	found := false
	best := 0
	for i := range h.Aggregates {
		raw, ok := h.Aggregates[i].Metadata[key]
		if !ok {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return def
		}
		if !found || v < best {
			best, found = v, true
		}
	}
	if !found {
		return def
	}
	return best
}

// capability resolves a "capabilities:" path (without the prefix) against
// the host, as Nova's ComputeCapabilitiesFilter walks HostState attributes
// then its stats. It returns the value rendered as Python's str() would, so
// that string operators compare what Nova compares.
func (h *HostState) capability(path string, cfg *Config) (string, bool) {
	if !strings.Contains(path, ":") {
		if v, ok := h.attribute(path, cfg); ok {
			return v, true
		}
	}
	if v, ok := h.Capabilities[path]; ok {
		return v, true
	}
	// Walk a JSON attribute such as cpu_info for a nested path.
	head, rest, nested := strings.Cut(path, ":")
	if !nested {
		return "", false
	}
	raw, ok := h.Capabilities[head]
	if !ok {
		return "", false
	}
	var doc any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return "", false
	}
	for _, key := range strings.Split(rest, ":") {
		m, ok := doc.(map[string]any)
		if !ok {
			return "", false
		}
		if doc, ok = m[key]; !ok || doc == nil {
			return "", false
		}
	}
	return pyString(doc), true
}

// hasAttribute reports whether an unscoped extra-spec key names something
// the host reports, in which case ComputeCapabilitiesFilter checks it.
func (h *HostState) hasAttribute(key string, cfg *Config) bool {
	if _, ok := h.attribute(key, cfg); ok {
		return true
	}
	_, ok := h.Capabilities[key]
	return ok
}

// attribute resolves the names of Nova's HostState attributes and compute
// statistics that tenku's HostState models directly.
func (h *HostState) attribute(name string, cfg *Config) (string, bool) {
	switch name {
	case "host":
		return h.Host, true
	case "nodename":
		return h.Node, true
	case "uuid":
		return h.NodeUUID, true
	case "hypervisor_type":
		return h.HypervisorType, true
	case "hypervisor_version":
		return strconv.Itoa(h.HypervisorVersion), true
	case "hypervisor_hostname":
		return h.HypervisorHostname, true
	case "vcpus_total":
		return strconv.Itoa(h.VCPUs), true
	case "vcpus_used":
		return strconv.Itoa(h.VCPUsUsed), true
	case "total_usable_ram_mb":
		return strconv.Itoa(h.MemoryMB), true
	case "free_ram_mb":
		return strconv.Itoa(h.freeRAMMB()), true
	case "total_usable_disk_gb":
		return strconv.Itoa(h.DiskGB), true
	case "free_disk_mb":
		return strconv.Itoa(h.freeDiskMB()), true
	case "num_instances":
		return strconv.Itoa(h.NumInstances), true
	case "num_io_ops", "io_workload":
		return strconv.Itoa(h.IOOps), true
	case "failed_builds":
		return strconv.Itoa(h.FailedBuilds), true
	case "cpu_allocation_ratio":
		return pyFloat(h.cpuRatio(cfg.CPUAllocationRatio)), true
	case "ram_allocation_ratio":
		return pyFloat(h.ramRatio(cfg.RAMAllocationRatio)), true
	case "disk_allocation_ratio":
		return pyFloat(h.diskRatio(cfg.DiskAllocationRatio)), true
	}
	if project, ok := strings.CutPrefix(name, "num_proj_"); ok {
		if n, ok := h.InstancesByProject[project]; ok {
			return strconv.Itoa(n), true
		}
	}
	return "", false
}

// pyFloat renders a float as Python's str() does for ordinary values
// (4.0 -> "4.0", 1.5 -> "1.5").
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}

// pyString renders a decoded JSON value as Python's str() renders the
// equivalent object, so that extra specs written against Nova keep working.
func pyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return pyFloat(x)
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyRepr(e))
		}
		b.WriteByte(']')
		return b.String()
	case map[string]any:
		// JSON object order is lost in decoding; sorted keys keep the
		// rendering deterministic.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyRepr(k))
			b.WriteString(": ")
			b.WriteString(pyRepr(x[k]))
		}
		b.WriteByte('}')
		return b.String()
	}
	return ""
}

func pyRepr(v any) string {
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	if v == nil {
		return "None"
	}
	return pyString(v)
}

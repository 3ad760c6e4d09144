package scheduler

import (
	"strconv"
	"strings"
)

// MaxRequestInstances bounds n in one Select call, so that a bad request
// cannot make the scheduler loop or allocate without end. Nova's quotas keep
// real requests far below it.
const MaxRequestInstances = 10000

// RequestSpec describes what is being scheduled: Nova's RequestSpec with the
// parts the filters and weighers read. Select never modifies it.
type RequestSpec struct {
	// InstanceIDs are the UUIDs of the instances being placed, one per
	// instance, in order. Optional for new builds; for moves it names the
	// instance, so that anti-affinity accepts the host it is already on.
	InstanceIDs []string
	// ProjectID is the project that will own the instances.
	ProjectID string
	// Flavor is the requested flavor.
	Flavor Flavor
	// ImageProperties are the image's Glance properties ("hw_architecture",
	// "img_hv_type", "hw_vm_mode", "img_hv_requested_version",
	// "trait:<NAME>", ...); the legacy names "architecture",
	// "hypervisor_type", "vm_mode" and "hypervisor_version_requires" are
	// understood too.
	ImageProperties map[string]string
	// BootFromVolume says the root disk is a volume, so the flavor's root
	// disk is not taken from the host.
	BootFromVolume bool
	// AvailabilityZone is the zone the user asked for; empty means any.
	AvailabilityZone string
	// Hints are the scheduler hints sent with the request.
	Hints Hints
	// Group is the server group the instances belong to, resolved by the
	// caller from the "group" hint: its policy, its members (including the
	// instances being placed, as Nova adds them before scheduling) and the
	// hosts its members are on.
	Group *ServerGroup
	// NumInstances is the number of instances requested; Select uses it
	// when called with n <= 0.
	NumInstances int
	// IgnoreHosts are host names never to choose (case-insensitive).
	IgnoreHosts []string
	// ForceHosts restricts the choice to these host names
	// (case-insensitive) and skips the filters, except the resource and
	// trait checks that Nova makes in placement.
	ForceHosts []string
	// ForceNodes restricts the choice to these node names, like ForceHosts.
	ForceNodes []string
	// RequestedDestination restricts the choice to one host and/or node
	// (microversion 2.74's host and hypervisor_hostname); filters still run.
	RequestedDestination *RequestedDestination
	// Tried lists the hosts and nodes already tried for this request (a
	// reschedule or a lost claim race); they are not chosen again.
	Tried []HostNode
	// Rebuild says the request checks whether an instance's current host
	// can take a new image: only the filters that Nova runs on rebuild
	// apply, and no resources are counted.
	Rebuild bool

	d *derived // Select's working state; nil in a caller's spec
}

// Flavor is the part of a flavor that scheduling reads.
type Flavor struct {
	// VCPUs is the number of virtual CPUs.
	VCPUs int
	// MemoryMB is the memory in MiB.
	MemoryMB int
	// RootGB is the root disk in GiB.
	RootGB int
	// EphemeralGB is the ephemeral disk in GiB.
	EphemeralGB int
	// SwapMB is the swap disk in MiB.
	SwapMB int
	// ExtraSpecs are the flavor's extra specs.
	ExtraSpecs map[string]string
}

// Hints are the scheduler hints (os:scheduler_hints) the filters read.
type Hints struct {
	// SameHost lists instance UUIDs the new instances must share a host with.
	SameHost []string
	// DifferentHost lists instance UUIDs the new instances must not share a
	// host with.
	DifferentHost []string
	// Group is the server group UUID given as the "group" hint; when set,
	// RequestSpec.Group must be that group, resolved.
	Group string
}

// GroupPolicy is a server group policy, spelled as on the wire.
type GroupPolicy string

// The server group policies.
const (
	PolicyAffinity         GroupPolicy = "affinity"
	PolicyAntiAffinity     GroupPolicy = "anti-affinity"
	PolicySoftAffinity     GroupPolicy = "soft-affinity"
	PolicySoftAntiAffinity GroupPolicy = "soft-anti-affinity"
)

// ServerGroup is a server group as the scheduler needs it.
type ServerGroup struct {
	// ID is the group's UUID.
	ID string
	// Policy is the group's policy.
	Policy GroupPolicy
	// Members are the UUIDs of the group's instances, including the ones
	// being scheduled.
	Members []string
	// Hosts are the hosts the group's existing members run on.
	Hosts []string
	// MaxServerPerHost is the anti-affinity "max_server_per_host" rule;
	// 0 means the default of 1.
	MaxServerPerHost int
}

// RequestedDestination is a host and/or node the request must land on.
type RequestedDestination struct {
	// Host is the compute host name; empty means any host with Node.
	Host string
	// Node is the hypervisor node name; empty means any node of Host.
	Node string
}

// HostNode names one compute node of one host.
type HostNode struct {
	Host string
	Node string
}

// derived holds what Select computes once per request instead of once per
// host: the resource amounts and traits, the extra specs and image
// properties the filters read, and the group bookkeeping.
type derived struct {
	res        resources
	image      imageReq
	caps       []capReq // ComputeCapabilitiesFilter's extra specs
	aggs       []aggReq // AggregateInstanceExtraSpecsFilter's extra specs
	index      int      // the instance being placed
	groupHosts []string // the group's hosts plus this call's choices
}

// imageReq is what ImagePropertiesFilter reads from the image, canonical.
type imageReq struct {
	arch, hvType, vmMode string
	version              string // img_hv_requested_version
	maxPhysAddrBits      string // hw_maxphysaddr_bits
}

// capReq is one extra spec for ComputeCapabilitiesFilter.
type capReq struct {
	path, req string
	unscoped  bool // checked only if the host reports the attribute
	atLeast   bool // hw:maxphysaddr_bits: a numeric minimum
}

// aggReq is one extra spec for AggregateInstanceExtraSpecsFilter.
type aggReq struct{ key, req string }

// newDerived computes a spec's per-request state.
func newDerived(s *RequestSpec) *derived {
	res, _ := computeResources(s)
	d := &derived{res: res}
	props := s.ImageProperties
	d.image = imageReq{
		arch:            canonicalArch(imageProp(props, "hw_architecture", "architecture")),
		hvType:          canonicalHVType(imageProp(props, "img_hv_type", "hypervisor_type")),
		vmMode:          canonicalVMMode(imageProp(props, "hw_vm_mode", "vm_mode")),
		version:         imageProp(props, "img_hv_requested_version", "hypervisor_version_requires"),
		maxPhysAddrBits: imageProp(props, "hw_maxphysaddr_bits", ""),
	}
	for key, req := range s.Flavor.ExtraSpecs {
		switch scope, rest, scoped := strings.Cut(key, ":"); {
		case key == "hw:maxphysaddr_bits":
			d.caps = append(d.caps, capReq{path: "cpu_info:maxphysaddr:bits", req: req, atLeast: true})
		case !scoped:
			d.caps = append(d.caps, capReq{path: key, req: req, unscoped: true})
			d.aggs = append(d.aggs, aggReq{key: key, req: req})
		case scope == "capabilities":
			d.caps = append(d.caps, capReq{path: rest, req: req})
		case scope == "aggregate_instance_extra_specs":
			d.aggs = append(d.aggs, aggReq{key: rest, req: req})
		}
	}
	if s.Group != nil {
		d.groupHosts = s.Group.Hosts
	}
	return d
}

// resources are the amounts one instance takes from a host, as Nova asks
// placement for them.
type resources struct {
	vcpus     int
	memoryMB  int
	diskGB    int
	required  []string // traits the node must have
	forbidden []string // traits the node must not have
}

// derive returns the spec's per-request working state: Select's, when the
// spec is Select's working copy, or a freshly computed one for a filter
// called on its own (in tests, or by another package).
func (s *RequestSpec) derive() *derived {
	if s.d != nil {
		return s.d
	}
	return newDerived(s)
}

// currentInstance is the UUID of the instance being placed, if known.
func (s *RequestSpec) currentInstance() string {
	i := 0
	if s.d != nil {
		i = s.d.index
	}
	if i < len(s.InstanceIDs) {
		return s.InstanceIDs[i]
	}
	return ""
}

// groupMembersOn counts the request's group members on the host, including
// the instances this Select call has placed there.
func (s *RequestSpec) groupMembersOn(h *HostState) int {
	if s.Group == nil {
		return 0
	}
	if h.groupCounted {
		return h.groupMembers + h.placed
	}
	n := 0
	for _, id := range h.InstanceIDs {
		for _, m := range s.Group.Members {
			if id == m {
				n++
				break
			}
		}
	}
	return n + h.placed
}

// computeResources reads the flavor the way Nova's ResourceRequest does:
// "resources[<suffix>]:<CLASS>" extra specs override the flavor's own
// amounts, disk is root + ephemeral + swap rounded up to GiB (no root disk
// when booting from volume), and "trait[<suffix>]:<NAME>" extra specs and
// image properties ask for required or forbidden traits.
func computeResources(s *RequestSpec) (resources, error) {
	var r resources
	var vcpu, mem, disk int
	var haveVCPU, haveMem, haveDisk bool
	for key, val := range s.Flavor.ExtraSpecs {
		prefix, name, ok := splitGroupKey(key)
		if !ok {
			continue
		}
		switch prefix {
		case "resources":
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n < 0 {
				return r, &InvalidSpecError{Reason: "flavor extra spec " + key + " must be a non-negative integer, not " + strconv.Quote(val)}
			}
			switch name {
			case "VCPU":
				vcpu += n
				haveVCPU = true
			case "MEMORY_MB":
				mem += n
				haveMem = true
			case "DISK_GB":
				disk += n
				haveDisk = true
			}
		case "trait":
			r.addTrait(name, val)
		}
	}
	for key, val := range s.ImageProperties {
		if name, ok := strings.CutPrefix(key, "trait:"); ok {
			r.addTrait(name, val)
		}
	}
	if !haveVCPU {
		vcpu = s.Flavor.VCPUs
	}
	if !haveMem {
		mem = s.Flavor.MemoryMB
	}
	if !haveDisk {
		disk = s.Flavor.EphemeralGB + (s.Flavor.SwapMB+1023)/1024
		if !s.BootFromVolume {
			disk += s.Flavor.RootGB
		}
	}
	r.vcpus, r.memoryMB, r.diskGB = vcpu, mem, disk
	return r, nil
}

func (r *resources) addTrait(name, val string) {
	if name == "" {
		return
	}
	switch strings.TrimSpace(val) {
	case "required":
		r.required = append(r.required, name)
	case "forbidden":
		r.forbidden = append(r.forbidden, name)
	}
}

// splitGroupKey splits "resources1:VCPU" or "trait_foo:HW_X" into its
// prefix ("resources", "trait") and name, accepting Nova's group suffixes.
func splitGroupKey(key string) (prefix, name string, ok bool) {
	head, name, ok := strings.Cut(key, ":")
	if !ok {
		return "", "", false
	}
	for _, p := range [...]string{"resources", "trait"} {
		if suffix, found := strings.CutPrefix(head, p); found && validSuffix(suffix) {
			return p, name, true
		}
	}
	return "", "", false
}

func validSuffix(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validate checks the spec for values no filter can make sense of.
func (s *RequestSpec) validate() error {
	f := &s.Flavor
	switch {
	case f.VCPUs < 0:
		return &InvalidSpecError{Reason: "flavor vcpus must not be negative"}
	case f.MemoryMB < 0:
		return &InvalidSpecError{Reason: "flavor ram must not be negative"}
	case f.RootGB < 0:
		return &InvalidSpecError{Reason: "flavor root disk must not be negative"}
	case f.EphemeralGB < 0:
		return &InvalidSpecError{Reason: "flavor ephemeral disk must not be negative"}
	case f.SwapMB < 0:
		return &InvalidSpecError{Reason: "flavor swap must not be negative"}
	case s.NumInstances < 0:
		return &InvalidSpecError{Reason: "num_instances must not be negative"}
	}
	if g := s.Group; g != nil {
		switch g.Policy {
		case PolicyAffinity, PolicyAntiAffinity, PolicySoftAffinity, PolicySoftAntiAffinity:
		default:
			return &InvalidSpecError{Reason: "unknown server group policy " + strconv.Quote(string(g.Policy))}
		}
		if g.MaxServerPerHost < 0 {
			return &InvalidSpecError{Reason: "server group rule max_server_per_host must not be negative"}
		}
	}
	if s.Hints.Group != "" && (s.Group == nil || s.Group.ID != s.Hints.Group) {
		return &InvalidSpecError{Reason: "scheduler hint group " + strconv.Quote(s.Hints.Group) + " is not resolved into the request's server group"}
	}
	if d := s.RequestedDestination; d != nil && d.Host == "" && d.Node == "" {
		return &InvalidSpecError{Reason: "requested destination names neither a host nor a node"}
	}
	if _, err := computeResources(s); err != nil {
		return err
	}
	return nil
}

package scheduler

import (
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/scheduler/extraspecs"
)

// computeCapabilitiesFilter implements ComputeCapabilitiesFilter.
//
// ComputeCapabilitiesFilter passes hosts whose capabilities satisfy the
// flavor's "capabilities:<path>" extra specs, and its unscoped extra specs
// that name something the host reports (Nova's backward-compatible rule),
// using the extra-spec operators ("<in>", ">=", "s==", ...). A required
// capability the host does not report fails it. "hw:maxphysaddr_bits" asks
// for at least that many physical address bits (cpu_info:maxphysaddr:bits).
type computeCapabilitiesFilter struct{ cfg *Config }

// Name returns "ComputeCapabilitiesFilter".
func (*computeCapabilitiesFilter) Name() string { return "ComputeCapabilitiesFilter" }

// Pass checks every relevant extra spec.
func (f *computeCapabilitiesFilter) Pass(h *HostState, spec *RequestSpec) bool {
	for _, c := range spec.derive().caps {
		if c.unscoped && !h.hasAttribute(c.path, f.cfg) {
			continue // nothing the host reports
		}
		if c.atLeast {
			if !atLeast(h, c.path, c.req, f.cfg) {
				return false
			}
			continue
		}
		v, ok := h.capability(c.path, f.cfg)
		if !ok || !extraspecs.Match(v, c.req) {
			return false
		}
	}
	return true
}

// atLeast reports whether the host's numeric capability at path is at
// least want; a host that does not report it fails.
func atLeast(h *HostState, path, want string, cfg *Config) bool {
	v, ok := h.capability(path, cfg)
	if !ok {
		return false
	}
	have, err1 := strconv.ParseFloat(strings.TrimSpace(v), 64)
	need, err2 := strconv.ParseFloat(strings.TrimSpace(want), 64)
	return err1 == nil && err2 == nil && have >= need
}

// RunOncePerRequest is true: capabilities do not change within a request.
func (*computeCapabilitiesFilter) RunOncePerRequest() bool { return true }

// aggregateInstanceExtraSpecsFilter implements AggregateInstanceExtraSpecsFilter.
//
// AggregateInstanceExtraSpecsFilter passes hosts whose aggregates' metadata
// satisfies the flavor's "aggregate_instance_extra_specs:<key>" and
// unscoped extra specs: some aggregate must set the key, and one of its
// comma-separated values must match the requirement.
type aggregateInstanceExtraSpecsFilter struct{}

// Name returns "AggregateInstanceExtraSpecsFilter".
func (aggregateInstanceExtraSpecsFilter) Name() string { return "AggregateInstanceExtraSpecsFilter" }

// Pass checks every relevant extra spec against the aggregates.
func (aggregateInstanceExtraSpecsFilter) Pass(h *HostState, spec *RequestSpec) bool {
	for _, a := range spec.derive().aggs {
		matched := false
		found := h.aggregateValues(a.key, func(v string) bool {
			matched = extraspecs.Match(v, a.req)
			return !matched
		})
		if !found || !matched {
			return false
		}
	}
	return true
}

// RunOncePerRequest is true: aggregates do not change within a request.
func (aggregateInstanceExtraSpecsFilter) RunOncePerRequest() bool { return true }

// imagePropertiesFilter implements ImagePropertiesFilter.
//
// ImagePropertiesFilter passes hosts that can run the image: its
// architecture (hw_architecture, or the configured default), hypervisor
// type (img_hv_type) and VM mode (hw_vm_mode) must appear together in one
// of the host's supported instances; with img_hv_requested_version the
// hypervisor version must satisfy it (">=6.0,<7"), and with
// hw_maxphysaddr_bits the CPU must have that many address bits.
type imagePropertiesFilter struct{ cfg *Config }

// Name returns "ImagePropertiesFilter".
func (*imagePropertiesFilter) Name() string { return "ImagePropertiesFilter" }

// Pass checks the host's supported instances against the image.
func (f *imagePropertiesFilter) Pass(h *HostState, spec *RequestSpec) bool {
	img := &spec.derive().image
	arch := img.arch
	if arch == "" {
		arch = canonicalArch(f.cfg.ImagePropertiesDefaultArchitecture)
	}
	if arch == "" && img.hvType == "" && img.vmMode == "" {
		return true
	}
	for _, si := range h.SupportedInstances {
		if arch != "" && canonicalArch(si.Arch) != arch ||
			img.hvType != "" && canonicalHVType(si.HVType) != img.hvType ||
			img.vmMode != "" && canonicalVMMode(si.VMMode) != img.vmMode {
			continue
		}
		if !hypervisorVersionOK(h.HypervisorVersion, img.version) {
			continue
		}
		if img.maxPhysAddrBits != "" {
			if _, reported := h.capability("cpu_info:maxphysaddr:bits", f.cfg); reported &&
				!atLeast(h, "cpu_info:maxphysaddr:bits", img.maxPhysAddrBits, f.cfg) {
				continue
			}
		}
		return true
	}
	return false
}

// RunOncePerRequest is true: images and hosts do not change within a request.
func (*imagePropertiesFilter) RunOncePerRequest() bool { return true }

// RunOnRebuild is true: a rebuild with a new image must fit the host.
func (*imagePropertiesFilter) RunOnRebuild() bool { return true }

// imageProp reads an image property by its name, or its legacy name.
func imageProp(props map[string]string, name, legacy string) string {
	if v, ok := props[name]; ok {
		return strings.TrimSpace(v)
	}
	if legacy != "" {
		return strings.TrimSpace(props[legacy])
	}
	return ""
}

// hypervisorVersionOK checks Nova's integer-encoded hypervisor version
// against a predicate such as ">=6.0,<7.0". No version or no predicate
// passes; a predicate that does not parse fails.
func hypervisorVersionOK(version int, predicate string) bool {
	if version == 0 || predicate == "" {
		return true
	}
	have := versionFromInt(version)
	for {
		clause, rest, more := strings.Cut(predicate, ",")
		op, operand := splitComparison(strings.TrimSpace(clause))
		want, ok := parseVersion(operand)
		if op == "" || !ok {
			return false
		}
		c := have.compare(want)
		var pass bool
		switch op {
		case "<":
			pass = c < 0
		case "<=":
			pass = c <= 0
		case "==":
			pass = c == 0
		case "!=":
			pass = c != 0
		case ">=":
			pass = c >= 0
		case ">":
			pass = c > 0
		}
		if !pass {
			return false
		}
		if !more {
			return true
		}
		predicate = rest
	}
}

func splitComparison(s string) (op, operand string) {
	for _, o := range [...]string{"<=", ">=", "==", "!=", "<", ">"} {
		if rest, ok := strings.CutPrefix(s, o); ok {
			rest = strings.TrimSpace(rest)
			if rest == "" || strings.ContainsAny(rest, " \t") {
				return "", ""
			}
			return o, rest
		}
	}
	return "", ""
}

// version is a dotted numeric version; missing parts are zero, so 6.0 and
// 6.0.0 compare equal as Python's packaging does.
type version struct {
	parts [6]int
}

func (v version) compare(o version) int {
	for i := range v.parts {
		switch {
		case v.parts[i] < o.parts[i]:
			return -1
		case v.parts[i] > o.parts[i]:
			return 1
		}
	}
	return 0
}

func parseVersion(s string) (version, bool) {
	var v version
	if s == "" {
		return v, false
	}
	for i := 0; ; i++ {
		part, rest, more := strings.Cut(s, ".")
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || i >= len(v.parts) {
			return v, false
		}
		v.parts[i] = n
		if !more {
			return v, true
		}
		s = rest
	}
}

// versionFromInt decodes Nova's integer version (7002001 is 7.2.1).
func versionFromInt(n int) version {
	var digits [6]int
	k := 0
	for n > 0 && k < len(digits) {
		digits[k] = n % 1000
		n /= 1000
		k++
	}
	var v version
	for i := 0; i < k; i++ {
		v.parts[i] = digits[k-1-i]
	}
	return v
}

// canonicalArch maps architecture aliases to Nova's canonical names.
func canonicalArch(a string) string {
	a = strings.ToLower(a)
	switch a {
	case "i386", "i486", "i586", "x86_32", "x86_32p":
		return "i686"
	case "amd64":
		return "x86_64"
	}
	return a
}

// knownArch reports whether a is one of Nova's architecture names.
func knownArch(a string) bool {
	switch a {
	case "alpha", "armv6", "armv7l", "armv7b", "aarch64", "cris", "i686", "ia64", "lm32",
		"m68k", "microblaze", "microblazeel", "mips", "mipsel", "mips64", "mips64el",
		"openrisc", "parisc", "parisc64", "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb",
		"s390", "s390x", "sh4", "sh4eb", "sparc", "sparc64", "unicore32", "x86_64",
		"xtensa", "xtensaeb":
		return true
	}
	return false
}

// canonicalHVType maps hypervisor type aliases to Nova's canonical names.
func canonicalHVType(t string) string {
	t = strings.ToLower(t)
	if t == "xapi" {
		return "xen"
	}
	return t
}

// canonicalVMMode maps VM mode aliases to Nova's canonical names.
func canonicalVMMode(m string) string {
	m = strings.ToLower(m)
	switch m {
	case "pv":
		return "xen"
	case "hv", "baremetal":
		return "hvm"
	}
	return m
}

var (
	_ OncePerRequest = (*computeCapabilitiesFilter)(nil)
	_ OncePerRequest = aggregateInstanceExtraSpecsFilter{}
	_ RebuildFilter  = (*imagePropertiesFilter)(nil)
)

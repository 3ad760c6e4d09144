package scheduler

import "slices"

// Filter decides whether a host can take the instance being placed, as
// Nova's host filters do. Pass must not modify the host or the spec and must
// be safe for concurrent use: one Filter value serves every Select call.
type Filter interface {
	// Name is the filter's name as written in Config.EnabledFilters and in
	// NoValidHost messages (Nova's class name, "RamFilter").
	Name() string
	// Pass reports whether host passes for spec.
	Pass(host *HostState, spec *RequestSpec) bool
}

// OncePerRequest is implemented by filters whose answer cannot change while
// one request's instances are placed (the host's service state, its zone,
// its capabilities): Select runs them for the first instance only, and the
// later instances choose among the hosts that passed, as Nova does.
type OncePerRequest interface {
	RunOncePerRequest() bool
}

// RebuildFilter is implemented by filters that still apply when a rebuild
// with a new image asks whether the instance's host can keep it (Nova's
// RUN_ON_REBUILD); other filters are skipped for rebuilds.
type RebuildFilter interface {
	RunOnRebuild() bool
}

// ForcedHostFilter is implemented by filters that apply even to forced hosts
// and nodes: the resource and trait checks Nova makes in placement, which
// forcing a host does not bypass. Other filters are skipped when the request
// forces hosts or nodes.
type ForcedHostFilter interface {
	CheckForcedHosts() bool
}

// filterTraits caches a filter's optional behaviours.
type filterTraits struct {
	once, rebuild, forced bool
}

func traitsOf(f Filter) filterTraits {
	var t filterTraits
	if o, ok := f.(OncePerRequest); ok {
		t.once = o.RunOncePerRequest()
	}
	if r, ok := f.(RebuildFilter); ok {
		t.rebuild = r.RunOnRebuild()
	}
	if c, ok := f.(ForcedHostFilter); ok {
		t.forced = c.CheckForcedHosts()
	}
	return t
}

// builtinFilters returns every filter tenku provides, configured by cfg.
func builtinFilters(cfg *Config) []Filter {
	return []Filter{
		allHostsFilter{},
		computeFilter{},
		&availabilityZoneFilter{cfg: cfg},
		&coreFilter{cfg: cfg},
		&ramFilter{cfg: cfg},
		&diskFilter{cfg: cfg},
		traitsFilter{},
		&computeCapabilitiesFilter{cfg: cfg},
		&imagePropertiesFilter{cfg: cfg},
		serverGroupAffinityFilter{},
		serverGroupAntiAffinityFilter{},
		sameHostFilter{},
		differentHostFilter{},
		aggregateInstanceExtraSpecsFilter{},
		aggregateMultiTenancyIsolation{},
		&numInstancesFilter{cfg: cfg},
		&aggregateNumInstancesFilter{cfg: cfg},
		&ioOpsFilter{cfg: cfg},
		&aggregateIoOpsFilter{cfg: cfg},
	}
}

// AvailableFilters returns the names of the filters tenku provides, sorted.
func AvailableFilters() []string {
	var cfg Config
	names := []string{}
	for _, f := range builtinFilters(&cfg) {
		names = append(names, f.Name())
	}
	slices.Sort(names)
	return names
}

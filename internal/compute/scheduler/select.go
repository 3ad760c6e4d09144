package scheduler

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// Rand is the source of the scheduler's random choices (host_subset_size,
// shuffle_best_same_weighed_hosts). *math/rand/v2.Rand satisfies it.
type Rand interface {
	// IntN returns a number in [0, n).
	IntN(n int) int
}

// Deps are the Scheduler's collaborators.
type Deps struct {
	// Rand draws the random choices. Seeded, it makes Select deterministic
	// for a given sequence of calls; nil uses math/rand/v2's global source.
	// The Scheduler serialises its calls, so it need not be safe for
	// concurrent use.
	Rand Rand
	// Filters are filters beyond the built-in ones; Config.EnabledFilters
	// enables them by Name like any other.
	Filters []Filter
	// Weighers are weighers beyond the built-in ones; Config.Weighers
	// enables them by Name.
	Weighers []Weigher
}

// Scheduler picks compute hosts for instances, as Nova's FilterScheduler.
// It keeps no state between calls except its random source: Select works on
// the snapshot it is given. It is safe for concurrent use.
type Scheduler struct {
	cfg      Config
	filters  []Filter
	ftraits  []filterTraits
	weighers []Weigher
	bounds   []Bounds

	mu  sync.Mutex // guards rnd
	rnd Rand

	pool sync.Pool // *workspace
}

// Selection is where one instance goes: the chosen host, and alternates
// that also passed the filters, best first, for the conductor to try when
// the claim on the primary fails or the build must be rescheduled (at most
// Config.MaxAttempts-1, never a host chosen for another instance of the
// same request).
type Selection struct {
	Primary    Destination
	Alternates []Destination
}

// Destination is one candidate compute node.
type Destination struct {
	// Host and Node name the compute node.
	Host, Node string
	// NodeUUID is the compute node's id, copied from the snapshot.
	NodeUUID string
	// SnapshotIndex is the node's position in the snapshot given to Select.
	SnapshotIndex int
	// Weight is the node's total weight when it was ranked.
	Weight float64
}

// New returns a Scheduler running cfg's filters and weighers. It fails with
// a *ConfigError when cfg is invalid or names an unknown filter or weigher.
func New(cfg Config, deps Deps) (*Scheduler, error) {
	cfg.EnabledFilters = slices.Clone(cfg.EnabledFilters)
	cfg.Weighers = slices.Clone(cfg.Weighers)
	s := &Scheduler{cfg: cfg, rnd: deps.Rand}
	if s.rnd == nil {
		s.rnd = globalRand{}
	}
	filters := map[string]Filter{}
	var extra []string
	for _, f := range builtinFilters(&s.cfg) {
		filters[f.Name()] = f
	}
	for _, f := range deps.Filters {
		if f == nil {
			return nil, &ConfigError{Option: "enabled_filters", Reason: "a nil extra filter was given"}
		}
		if _, dup := filters[f.Name()]; dup {
			return nil, &ConfigError{Option: "enabled_filters", Reason: "extra filter " + f.Name() + " has the name of another filter"}
		}
		filters[f.Name()] = f
		extra = append(extra, f.Name())
	}
	weighers := map[string]Weigher{}
	for _, w := range builtinWeighers(&s.cfg) {
		weighers[w.Name()] = w
	}
	for _, w := range deps.Weighers {
		if w == nil {
			return nil, &ConfigError{Option: "weight_classes", Reason: "a nil extra weigher was given"}
		}
		if _, dup := weighers[w.Name()]; dup {
			return nil, &ConfigError{Option: "weight_classes", Reason: "extra weigher " + w.Name() + " has the name of another weigher"}
		}
		weighers[w.Name()] = w
		extra = append(extra, w.Name())
	}
	if err := s.cfg.Validate(extra...); err != nil {
		return nil, err
	}
	for _, name := range s.cfg.EnabledFilters {
		f, ok := filters[name]
		if !ok {
			return nil, &ConfigError{Option: "enabled_filters", Reason: "unknown filter " + name}
		}
		s.filters = append(s.filters, f)
		s.ftraits = append(s.ftraits, traitsOf(f))
	}
	for _, name := range s.cfg.Weighers {
		w, ok := weighers[name]
		if !ok {
			return nil, &ConfigError{Option: "weight_classes", Reason: "unknown weigher " + name}
		}
		var b Bounds
		if bw, ok := w.(BoundedWeigher); ok {
			b = bw.Bounds()
		}
		s.weighers = append(s.weighers, w)
		s.bounds = append(s.bounds, b)
	}
	return s, nil
}

// Config returns a copy of the scheduler's configuration.
func (s *Scheduler) Config() Config {
	c := s.cfg
	c.EnabledFilters = slices.Clone(c.EnabledFilters)
	c.Weighers = slices.Clone(c.Weighers)
	return c
}

// workspace is the memory one Select call works in, pooled so that a
// decision allocates nothing per host.
type workspace struct {
	hosts   []HostState // the caller's snapshot, copied: consumption happens here
	cand    []int32     // candidate hosts, as indices into hosts
	alts    []int32     // the candidates ranked for alternates
	weight  []float64   // total weight, by host index
	raw     []float64   // one weigher's raw weights, by candidate position
	mult    []float64   // multipliers by host index × weigher; NaN until known
	keys    []rankKey   // sort keys
	steps   []Step      // filtering history kept for NoValidHost
	members map[string]struct{}
}

// rankKey orders candidates by weight, best first; pos, the previous
// position, makes the order total, so that ties keep their order as in
// Nova's stable sort.
type rankKey struct {
	w   float64
	pos int32
	idx int32
}

func (s *Scheduler) workspace(n int) *workspace {
	ws, _ := s.pool.Get().(*workspace)
	if ws == nil {
		ws = &workspace{}
	}
	if cap(ws.hosts) < n {
		ws.hosts = make([]HostState, n)
		ws.cand = make([]int32, n)
		ws.alts = make([]int32, n)
		ws.weight = make([]float64, n)
		ws.raw = make([]float64, n)
		ws.keys = make([]rankKey, n)
	}
	if nm := n * len(s.weighers); cap(ws.mult) < nm {
		ws.mult = make([]float64, nm)
	}
	ws.mult = ws.mult[:n*len(s.weighers)]
	ws.hosts = ws.hosts[:n]
	ws.steps = ws.steps[:0]
	return ws
}

func (s *Scheduler) release(ws *workspace) {
	clear(ws.hosts) // drop references into the caller's snapshot
	clear(ws.members)
	clear(ws.steps)
	s.pool.Put(ws)
}

// Select chooses a compute node for each of n instances described by spec
// (n <= 0 means spec.NumInstances, at least 1), from snapshot, which it does
// not modify. For every instance it filters the hosts, weighs the survivors,
// takes one of the best Config.HostSubsetSize at random and consumes the
// instance's resources from its copy of that host before placing the next
// instance, so that n instances never overcommit a host and server group
// policies hold among them.
//
// Errors: *InvalidSpecError for a malformed request,
// *PolicyNotSupportedError when the group's policy has no filter or weigher
// enabled, and *NoValidHost when some instance finds no host (no partial
// result is returned: the request fails as a whole, as in Nova).
func (s *Scheduler) Select(snapshot []HostState, spec *RequestSpec, n int) ([]Selection, error) {
	if spec == nil {
		return nil, &InvalidSpecError{Reason: "no request spec"}
	}
	if n <= 0 {
		n = max(spec.NumInstances, 1)
	}
	if n > MaxRequestInstances {
		return nil, &InvalidSpecError{Reason: "too many instances in one request"}
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if err := s.checkPolicy(spec.Group); err != nil {
		return nil, err
	}
	if len(snapshot) > int(^uint32(0)>>1) {
		return nil, &InvalidSpecError{Reason: "snapshot too large"}
	}

	ws := s.workspace(len(snapshot))
	defer s.release(ws)
	copy(ws.hosts, snapshot)
	for i := range ws.mult {
		ws.mult[i] = math.NaN()
	}
	for i := range ws.hosts {
		h := &ws.hosts[i]
		h.placed, h.groupMembers, h.groupCounted = 0, 0, false
	}

	// The working copy of the spec carries what is computed once per request.
	req := *spec
	d := newDerived(spec)
	req.d = d
	if g := spec.Group; g != nil {
		d.groupHosts = make([]string, len(g.Hosts), len(g.Hosts)+n)
		copy(d.groupHosts, g.Hosts)
		if g.Policy != PolicyAffinity {
			s.countGroupMembers(ws, g)
		}
	}

	cand := ws.cand[:0]
	for i := range ws.hosts {
		cand = append(cand, int32(i))
	}
	cand = prefilter(ws, &req, cand)
	if len(cand) == 0 {
		return nil, s.noValidHost(ws, 0, n)
	}
	forced := (len(req.ForceHosts) > 0 || len(req.ForceNodes) > 0) && !req.Rebuild

	chosen := make([]Destination, 0, n)
	firstPass, firstPassHosts := 0, 0 // the first instance's steps and survivors
	for i := range n {
		d.index = i
		switch {
		case i == 1:
			firstPass = len(ws.steps)
		case i > 1:
			ws.steps = ws.steps[:firstPass] // keep the history short
		}
		cand = s.filter(ws, &req, cand, i, forced)
		if i == 0 {
			firstPassHosts = len(cand)
		}
		if len(cand) == 0 {
			err := s.noValidHost(ws, i, n)
			err.FirstPassHosts = firstPassHosts
			return nil, err
		}
		s.rank(ws, &req, cand)
		best := cand[0]
		h := &ws.hosts[best]
		chosen = append(chosen, destination(h, int(best), ws.weight[best]))
		if !req.Rebuild {
			consume(h, &req)
		}
	}

	// Alternates come from a final ranking that sees every instance's
	// consumption, as Nova re-sorts after a multi-instance request.
	alts := cand
	numAlts := s.cfg.MaxAttempts - 1
	if n > 1 && numAlts > 0 {
		alts = ws.alts[:len(cand)]
		copy(alts, cand)
		alts = s.filter(ws, &req, alts, n-1, forced)
		if len(alts) > 0 {
			s.rank(ws, &req, alts)
		}
	}
	out := make([]Selection, n)
	for i := range out {
		out[i].Primary = chosen[i]
		if numAlts == 0 {
			continue
		}
		for _, a := range alts {
			if len(out[i].Alternates) == numAlts {
				break
			}
			if isChosen(chosen, int(a)) {
				continue
			}
			out[i].Alternates = append(out[i].Alternates, destination(&ws.hosts[a], int(a), ws.weight[a]))
		}
	}
	return out, nil
}

func destination(h *HostState, index int, weight float64) Destination {
	return Destination{Host: h.Host, Node: h.Node, NodeUUID: h.NodeUUID, SnapshotIndex: index, Weight: weight}
}

func isChosen(chosen []Destination, index int) bool {
	for _, c := range chosen {
		if c.SnapshotIndex == index {
			return true
		}
	}
	return false
}

// checkPolicy refuses a group policy that nothing enforces, as Nova does.
func (s *Scheduler) checkPolicy(g *ServerGroup) error {
	if g == nil {
		return nil
	}
	var need string
	var names []string
	switch g.Policy {
	case PolicyAffinity:
		need, names = "ServerGroupAffinityFilter", s.cfg.EnabledFilters
	case PolicyAntiAffinity:
		need, names = "ServerGroupAntiAffinityFilter", s.cfg.EnabledFilters
	case PolicySoftAffinity:
		need, names = "ServerGroupSoftAffinityWeigher", s.cfg.Weighers
	case PolicySoftAntiAffinity:
		need, names = "ServerGroupSoftAntiAffinityWeigher", s.cfg.Weighers
	}
	if !slices.Contains(names, need) {
		return &PolicyNotSupportedError{Policy: g.Policy, Missing: need}
	}
	return nil
}

// countGroupMembers counts, once per request, the group's members on every
// host, so that the group filters and weighers need not per instance.
func (s *Scheduler) countGroupMembers(ws *workspace, g *ServerGroup) {
	if len(g.Members) == 0 {
		for i := range ws.hosts {
			ws.hosts[i].groupCounted = true
		}
		return
	}
	if ws.members == nil {
		ws.members = make(map[string]struct{}, len(g.Members))
	}
	for _, m := range g.Members {
		ws.members[m] = struct{}{}
	}
	for i := range ws.hosts {
		h := &ws.hosts[i]
		c := 0
		for _, id := range h.InstanceIDs {
			if _, ok := ws.members[id]; ok {
				c++
			}
		}
		h.groupMembers, h.groupCounted = c, true
	}
}

// prefilter applies the request's own host lists, in Nova's order:
// requested destination, ignore_hosts, force_hosts, force_nodes, then the
// hosts already tried.
func prefilter(ws *workspace, req *RequestSpec, cand []int32) []int32 {
	step := func(name string, keep func(h *HostState) bool) {
		if len(cand) == 0 {
			return
		}
		before := len(cand)
		k := 0
		for _, i := range cand {
			if keep(&ws.hosts[i]) {
				cand[k] = i
				k++
			}
		}
		cand = cand[:k]
		ws.steps = append(ws.steps, Step{Name: name, Prefilter: true, Before: before, After: k})
	}
	if d := req.RequestedDestination; d != nil {
		step("requested_destination", func(h *HostState) bool {
			return (d.Host == "" || h.Host == d.Host) && (d.Node == "" || h.Node == d.Node)
		})
	}
	if len(req.IgnoreHosts) > 0 {
		step("ignore_hosts", func(h *HostState) bool { return !containsFold(req.IgnoreHosts, h.Host) })
	}
	if len(req.ForceHosts) > 0 {
		step("force_hosts", func(h *HostState) bool { return containsFold(req.ForceHosts, h.Host) })
	}
	if len(req.ForceNodes) > 0 {
		step("force_nodes", func(h *HostState) bool { return slices.Contains(req.ForceNodes, h.Node) })
	}
	if len(req.Tried) > 0 {
		step("retry", func(h *HostState) bool {
			return !slices.Contains(req.Tried, HostNode{Host: h.Host, Node: h.Node})
		})
	}
	return cand
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// filter runs the enabled filters for instance index over cand, compacting
// it in place, and records each step; it stops at the first filter that
// leaves no host.
func (s *Scheduler) filter(ws *workspace, req *RequestSpec, cand []int32, index int, forced bool) []int32 {
	for fi, f := range s.filters {
		t := s.ftraits[fi]
		switch {
		case req.Rebuild && !t.rebuild,
			forced && !t.forced,
			index > 0 && t.once:
			continue
		}
		before := len(cand)
		k := 0
		for _, i := range cand {
			if f.Pass(&ws.hosts[i], req) {
				cand[k] = i
				k++
			}
		}
		cand = cand[:k]
		ws.steps = append(ws.steps, Step{Name: f.Name(), Instance: index, Before: before, After: k})
		if k == 0 {
			break
		}
	}
	return cand
}

// rank weighs the candidates, sorts them best first (stable, so ties keep
// the snapshot's order as in Nova), then applies
// shuffle_best_same_weighed_hosts and host_subset_size: the chosen host
// ends up first, the others after it in rank order.
func (s *Scheduler) rank(ws *workspace, req *RequestSpec, cand []int32) {
	for _, i := range cand {
		ws.weight[i] = 0
	}
	if len(cand) <= 1 {
		return // Nova does not weigh a single host
	}
	raw := ws.raw[:len(cand)]
	nw := len(s.weighers)
	for wi, w := range s.weighers {
		for k, i := range cand {
			r := w.Weigh(&ws.hosts[i], req)
			if math.IsNaN(r) || math.IsInf(r, 0) {
				r = 0
			}
			raw[k] = r
		}
		Normalize(raw, s.bounds[wi])
		for k, i := range cand {
			if raw[k] == 0 {
				continue
			}
			// A host's multipliers do not change within a request: look
			// them up once, not once per instance.
			m := ws.mult[int(i)*nw+wi]
			if math.IsNaN(m) {
				m = w.Multiplier(&ws.hosts[i])
				if math.IsNaN(m) || math.IsInf(m, 0) {
					m = 0
				}
				ws.mult[int(i)*nw+wi] = m
			}
			ws.weight[i] += m * raw[k]
		}
	}
	weight := ws.weight
	keys := ws.keys[:len(cand)]
	for k, i := range cand {
		keys[k] = rankKey{w: weight[i], pos: int32(k), idx: i}
	}
	slices.SortFunc(keys, func(a, b rankKey) int {
		switch {
		case a.w > b.w:
			return -1
		case a.w < b.w:
			return 1
		}
		return int(a.pos - b.pos)
	})
	for k := range keys {
		cand[k] = keys[k].idx
	}

	if s.cfg.ShuffleBestSameWeighedHosts {
		top := 1
		for top < len(cand) && weight[cand[top]] == weight[cand[0]] {
			top++
		}
		if top > 1 {
			s.mu.Lock()
			for i := top - 1; i > 0; i-- {
				j := s.rnd.IntN(i + 1)
				cand[i], cand[j] = cand[j], cand[i]
			}
			s.mu.Unlock()
		}
	}
	if subset := min(s.cfg.HostSubsetSize, len(cand)); subset > 1 {
		s.mu.Lock()
		j := s.rnd.IntN(subset)
		s.mu.Unlock()
		pick := cand[j]
		copy(cand[1:j+1], cand[:j])
		cand[0] = pick
	}
}

// consume takes one instance's resources from the working copy of the host,
// as Nova's HostState.consume_from_request, and records the placement for
// the group policies.
func consume(h *HostState, req *RequestSpec) {
	res := &req.d.res
	h.VCPUsUsed += res.vcpus
	h.MemoryMBUsed += res.memoryMB
	h.DiskGBUsed += res.diskGB
	h.NumInstances++
	h.IOOps++ // a build is I/O work
	if req.Group != nil {
		h.placed++
		if !slices.Contains(req.d.groupHosts, h.Host) {
			req.d.groupHosts = append(req.d.groupHosts, h.Host)
		}
	}
}

// noValidHost builds the error from the recorded steps.
func (s *Scheduler) noValidHost(ws *workspace, instance, n int) *NoValidHost {
	return &NoValidHost{
		Instance:  instance,
		Instances: n,
		Hosts:     len(ws.hosts),
		Steps:     slices.Clone(ws.steps),
	}
}

// globalRand is math/rand/v2's goroutine-safe global source.
type globalRand struct{}

func (globalRand) IntN(n int) int { return rand.IntN(n) }

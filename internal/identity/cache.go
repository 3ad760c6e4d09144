package identity

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/lease"
)

// The caches.
//
// Every answer Keystone computes from the database — the snapshot of
// projects, roles, assignments and catalog, the user records, the validated
// tokens — is tagged with the generation it was computed under. Any write in
// this process moves the generation at once; a write in another process
// moves the database's cache epoch, which every process polls
// ([cache] epoch_poll_interval) and turns into a generation move, and the bus
// carries the news sooner when processes share one. A cached answer of an
// older generation is never used, so invalidation is exact in one process
// and bounded by the poll interval across processes. [cache] expiration_time
// bounds every entry's age as a last resort.

// snapshot is the small, hot part of the database, read at once: what token
// validation and role computation need.
type snapshot struct {
	gen      uint64
	loadedAt time.Time

	projects      map[string]*store.Project // projects and domains
	children      map[string][]string       // parent id → child project ids
	domainsByName map[string]*store.Project

	roles   map[string]*store.Role
	implies map[string][]string

	assignments []store.Assignment
	byActor     map[string][]store.Assignment
	groupsOf    map[string][]string // user → groups
	// extraGroups returns the directory groups of a user of an LDAP domain.
	extraGroups func(userID string) []string
	// extraMembers returns the members of a directory group.
	extraMembers func(groupID string) []string

	services  []*store.Service
	endpoints []*store.Endpoint
	regions   map[string]*store.Region

	projectEndpoints      map[string][]string // project → endpoint ids
	projectEndpointGroups map[string][]string // project → endpoint group ids
	endpointGroups        map[string]*store.EndpointGroup

	revocations []*store.RevocationEvent
}

type caches struct {
	gen     atomic.Uint64
	epoch   atomic.Int64 // last database epoch seen
	maxAge  time.Duration
	snap    atomic.Pointer[snapshot]
	loadMu  sync.Mutex
	users   sync.Map // id → *userEntry
	tokens  tokenCache
	revokeW time.Duration // how far back revocation events matter
}

type userEntry struct {
	gen  uint64
	at   time.Time
	user *store.User
}

// invalidate moves the generation: everything cached so far is stale.
func (c *caches) invalidate() { c.gen.Add(1) }

// snapshot returns a current snapshot, loading one when needed.
func (s *Service) snapshot(ctx context.Context) (*snapshot, error) {
	c := s.cache
	gen := c.gen.Load()
	if sn := c.snap.Load(); sn != nil && sn.gen == gen && time.Since(sn.loadedAt) < c.maxAge {
		return sn, nil
	}
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	gen = c.gen.Load()
	if sn := c.snap.Load(); sn != nil && sn.gen == gen && time.Since(sn.loadedAt) < c.maxAge {
		return sn, nil
	}
	sn, err := s.loadSnapshot(ctx, gen)
	if err != nil {
		return nil, err
	}
	c.snap.Store(sn)
	return sn, nil
}

func (s *Service) loadSnapshot(ctx context.Context, gen uint64) (*snapshot, error) {
	st := s.st
	sn := &snapshot{gen: gen, loadedAt: time.Now(), extraGroups: s.directoryGroupIDs, extraMembers: s.directoryMemberIDs,
		projects: map[string]*store.Project{}, children: map[string][]string{}, domainsByName: map[string]*store.Project{},
		roles: map[string]*store.Role{}, implies: map[string][]string{}, byActor: map[string][]store.Assignment{},
		groupsOf: map[string][]string{}, regions: map[string]*store.Region{},
		projectEndpoints: map[string][]string{}, projectEndpointGroups: map[string][]string{}, endpointGroups: map[string]*store.EndpointGroup{},
	}
	ps, err := st.ListProjects(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		sn.projects[p.ID] = p
		if p.IsDomain {
			sn.domainsByName[p.Name] = p
		}
		if p.ParentID != "" {
			sn.children[p.ParentID] = append(sn.children[p.ParentID], p.ID)
		}
	}
	rs, err := st.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		sn.roles[r.ID] = r
	}
	ims, err := st.ListImpliedRoles(ctx)
	if err != nil {
		return nil, err
	}
	for _, im := range ims {
		sn.implies[im.PriorID] = append(sn.implies[im.PriorID], im.ImpliedID)
	}
	if sn.assignments, err = st.Assignments(ctx, store.AssignmentFilter{}); err != nil {
		return nil, err
	}
	for _, a := range sn.assignments {
		sn.byActor[a.ActorID] = append(sn.byActor[a.ActorID], a)
	}
	rows, err := st.DB().Query(ctx, "SELECT user_id, group_id FROM membership")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var u, g string
		if err := rows.Scan(&u, &g); err != nil {
			rows.Close()
			return nil, err
		}
		sn.groupsOf[u] = append(sn.groupsOf[u], g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, gs := range sn.groupsOf {
		sort.Strings(gs)
	}
	if sn.services, err = st.ListServices(ctx); err != nil {
		return nil, err
	}
	if sn.endpoints, err = st.ListEndpoints(ctx); err != nil {
		return nil, err
	}
	regs, err := st.ListRegions(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range regs {
		sn.regions[r.ID] = r
	}
	pes, err := st.ListProjectEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	for _, pe := range pes {
		sn.projectEndpoints[pe.ProjectID] = append(sn.projectEndpoints[pe.ProjectID], pe.EndpointID)
	}
	pegs, err := st.ListProjectEndpointGroups(ctx)
	if err != nil {
		return nil, err
	}
	for _, x := range pegs {
		sn.projectEndpointGroups[x.ProjectID] = append(sn.projectEndpointGroups[x.ProjectID], x.EndpointGroupID)
	}
	egs, err := st.ListEndpointGroups(ctx)
	if err != nil {
		return nil, err
	}
	for _, eg := range egs {
		sn.endpointGroups[eg.ID] = eg
	}
	if sn.revocations, err = st.RevocationEvents(ctx, time.Now().Add(-s.cache.revokeW)); err != nil {
		return nil, err
	}
	return sn, nil
}

// user returns a user, from the cache when it is current.
func (s *Service) user(ctx context.Context, id string) (*store.User, error) {
	c := s.cache
	gen := c.gen.Load()
	if v, ok := c.users.Load(id); ok {
		e := v.(*userEntry)
		if e.gen == gen && time.Since(e.at) < c.maxAge {
			return e.user, nil
		}
	}
	u, err := s.lookupUserID(ctx, id)
	if err != nil {
		return nil, err
	}
	c.users.Store(id, &userEntry{gen: gen, at: time.Now(), user: u})
	return u, nil
}

// changed records a write: this process's caches are flushed at once, other
// processes learn it from the database epoch (and the bus, when shared).
func (s *Service) changed(ctx context.Context) {
	s.cache.invalidate()
	ctx = context.WithoutCancel(ctx)
	if err := s.st.BumpEpoch(ctx); err != nil {
		s.log.WarnContext(ctx, "cannot move the cache epoch; other Keystone processes will see this change late", "err", err)
	}
	if s.deps.Bus != nil {
		if err := s.deps.Bus.Cast(ctx, invalidateSubject, "invalidate", nil); err != nil {
			s.log.DebugContext(ctx, "cache invalidation not announced", "err", err)
		}
	}
}

// invalidateSubject is where Keystone processes tell each other to flush.
const invalidateSubject = "identity.cache"

// pruneRevocations deletes, hourly and in one Keystone across replicas
// (the holder of the identity.revocation_prune lease), revocation events no
// token they could match outlives.
func (s *Service) pruneRevocations(ctx context.Context) {
	lease.Every(ctx, s.deps.DB, lease.Holder(), lease.Job{Name: "identity.revocation_prune", Every: time.Hour, Run: func(ctx context.Context) error {
		n, err := s.st.PruneRevocationEvents(ctx, time.Now().Add(-s.cache.revokeW))
		if err != nil {
			return fmt.Errorf("prune revocation events: %w", err)
		}
		if n > 0 {
			s.log.InfoContext(ctx, "pruned revocation events", "count", n)
		}
		return nil
	}}, s.deps.Metrics, s.log)
}

// pollEpoch watches the database epoch until ctx ends.
func (s *Service) pollEpoch(ctx context.Context) {
	t := time.NewTicker(s.cfg.Cache.EpochPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e, err := s.st.Epoch(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "cannot read the cache epoch", "err", err)
			}
			continue
		}
		if old := s.cache.epoch.Swap(e); old != e {
			s.cache.invalidate()
			if err := s.reloadKeys(ctx); err != nil {
				s.log.WarnContext(ctx, "cannot reload fernet keys", "err", err)
			}
		}
	}
}

// tokenCache remembers validated tokens by their string.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[string]*tokenEntry
	max int
}

func (t *tokenCache) get(tok string) *tokenEntry {
	t.mu.RLock()
	e := t.m[tok]
	t.mu.RUnlock()
	return e
}

func (t *tokenCache) put(tok string, e *tokenEntry) {
	t.mu.Lock()
	if t.m == nil || len(t.m) >= t.max {
		t.m = make(map[string]*tokenEntry, 1024)
	}
	t.m[tok] = e
	t.mu.Unlock()
}

package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/ldap"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/config"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Identity driver selection, as Keystone's identity manager does it: with
// [identity] domain_specific_drivers_enabled, a domain whose configuration
// (a keystone.DOMAIN_NAME.conf file in domain_config_dir, or the database
// with domain_configurations_from_database) says [identity] driver = ldap
// reads its users and groups from that directory; every other domain stays
// SQL. Directory users and groups get Keystone's public ids through
// id_mapping; their role assignments stay in SQL.

const readOnlyLDAP = "LDAP does not support write operations"

type ldapDomain struct {
	domainID string
	sig      string // the configuration it was built from
	drv      *ldap.Driver

	mu     sync.Mutex
	users  map[string]cachedUser     // local id → user
	byName map[string]string         // name a login gave → local id
	groups map[string]cachedGroupIDs // local user id → public group ids
}

// dirLogin is what one password login has read from a directory: a bind
// refused for an entry that came from the cache is retried once after a
// fresh search (the entry may have moved, been renamed or re-created); a
// bind refused for an entry just read is a wrong password.
type dirLogin struct{ fetched bool }

type dirLoginKey struct{}

func withDirLogin(ctx context.Context) context.Context {
	return context.WithValue(ctx, dirLoginKey{}, &dirLogin{})
}

// dirFetched notes that this login has read its user from the directory.
func dirFetched(ctx context.Context) {
	if l, ok := ctx.Value(dirLoginKey{}).(*dirLogin); ok {
		l.fetched = true
	}
}

// dirCached reports whether this login's user came from the cache alone.
func dirCached(ctx context.Context) bool {
	l, ok := ctx.Value(dirLoginKey{}).(*dirLogin)
	return ok && !l.fetched
}

// errStaleDirectoryEntry: the bind of a cached directory entry was refused
// and the entry has been dropped from the cache; the caller looks the user
// up again.
var errStaleDirectoryEntry = errors.New("cached directory entry refused; look the user up again")

// forget drops a user's cached entry and the names that led to it.
func (ld *ldapDomain) forget(local string) {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	delete(ld.users, local)
	for n, id := range ld.byName {
		if id == local {
			delete(ld.byName, n)
		}
	}
}

type cachedUser struct {
	u  *ldap.User
	at time.Time
}

type cachedGroupIDs struct {
	ids []string
	at  time.Time
}

type directories struct {
	mu      sync.Mutex
	gen     uint64
	checked map[string]bool        // domain id → configuration read at gen
	byDom   map[string]*ldapDomain // domains with a directory
	maps    sync.Map               // public id → store.IDMapping (immutable)
}

func (s *Service) dirs() *directories {
	s.dirOnce.Do(func() { s.dir = &directories{checked: map[string]bool{}, byDom: map[string]*ldapDomain{}} })
	return s.dir
}

// domainOptions returns a domain's [identity] and [ldap] options, when
// domain-specific drivers are enabled and it has a configuration.
func (s *Service) domainOptions(ctx context.Context, domainID string) (map[string]string, map[string]string, error) {
	id := s.cfg.Identity
	if !id.DomainSpecificDrivers {
		return nil, nil, nil
	}
	if id.DomainConfigsFromDB {
		c, err := s.st.GetDomainConfig(ctx, domainID)
		if fault.IsNotFound(err) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		return flatten(c["identity"]), flatten(c["ldap"]), nil
	}
	d, err := s.st.GetDomain(ctx, domainID)
	if err != nil {
		return nil, nil, nil
	}
	path := filepath.Join(id.DomainConfigDir, "keystone."+d.Name+".conf")
	if _, err := os.Stat(path); err != nil {
		return nil, nil, nil
	}
	f, err := config.ParseFile(path)
	if err != nil {
		return nil, nil, err
	}
	one := func(sec map[string][]string) map[string]string {
		out := map[string]string{}
		for k, v := range sec {
			if len(v) > 0 {
				out[k] = v[len(v)-1]
			}
		}
		return out
	}
	return one(f["identity"]), one(f["ldap"]), nil
}

func flatten(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		switch x := v.(type) {
		case nil:
		case string:
			out[k] = x
		case []any:
			var parts []string
			for _, p := range x {
				parts = append(parts, fmt.Sprint(p))
			}
			out[k] = strings.Join(parts, ",")
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// directory returns the LDAP driver of a domain, or nil for SQL. The
// configuration is read again after every cache invalidation, so a change
// through the API or by another process takes effect.
func (s *Service) directory(ctx context.Context, domainID string) *ldapDomain {
	if !s.cfg.Identity.DomainSpecificDrivers || domainID == "" {
		return nil
	}
	d := s.dirs()
	gen := s.cache.gen.Load()
	d.mu.Lock()
	if d.gen != gen {
		d.gen, d.checked = gen, map[string]bool{}
	}
	if d.checked[domainID] {
		ld := d.byDom[domainID]
		d.mu.Unlock()
		return ld
	}
	d.mu.Unlock()
	idOpts, ldapOpts, err := s.domainOptions(ctx, domainID)
	var ld *ldapDomain
	if err != nil {
		s.log.WarnContext(ctx, "cannot read the domain-specific configuration; the domain stays as it was", "domain_id", domainID, "err", err)
		d.mu.Lock()
		ld = d.byDom[domainID]
		d.mu.Unlock()
		return ld
	}
	if strings.EqualFold(idOpts["driver"], "ldap") {
		b, _ := json.Marshal(ldapOpts)
		sig := string(b)
		d.mu.Lock()
		old := d.byDom[domainID]
		d.mu.Unlock()
		if old != nil && old.sig == sig {
			ld = old
		} else if cfg, err := ldap.ParseConfig(ldapOpts); err != nil {
			s.log.ErrorContext(ctx, "bad LDAP configuration; the domain's users cannot log in", "domain_id", domainID, "err", err)
			ld = &ldapDomain{domainID: domainID, sig: sig}
		} else if drv, err := ldap.New(cfg); err != nil {
			s.log.ErrorContext(ctx, "bad LDAP configuration; the domain's users cannot log in", "domain_id", domainID, "err", err)
			ld = &ldapDomain{domainID: domainID, sig: sig}
		} else {
			ld = &ldapDomain{domainID: domainID, sig: sig, drv: drv, users: map[string]cachedUser{}, byName: map[string]string{}, groups: map[string]cachedGroupIDs{}}
		}
		if old != nil && old != ld && old.drv != nil {
			old.drv.Close()
		}
	}
	d.mu.Lock()
	if ld == nil {
		if old := d.byDom[domainID]; old != nil && old.drv != nil {
			old.drv.Close()
		}
		delete(d.byDom, domainID)
	} else {
		d.byDom[domainID] = ld
	}
	d.checked[domainID] = true
	d.mu.Unlock()
	return ld
}

// dirErr turns a driver error into the API's answer, logging a directory
// that cannot be used.
func (s *Service) dirErr(ctx context.Context, ld *ldapDomain, err error, notFound error) error {
	if errors.Is(err, ldap.ErrNotFound) {
		return notFound
	}
	s.log.ErrorContext(ctx, "LDAP directory of the domain is unavailable", "domain_id", ld.domainID, "err", err)
	return fault.Unavailable("The identity backend of domain %s is unavailable.", ld.domainID)
}

func (ld *ldapDomain) usable() error {
	if ld.drv == nil {
		return errors.New("the domain's [ldap] configuration is invalid")
	}
	return nil
}

// mapping returns the directory mapping of a public id, if it has one.
func (s *Service) mapping(ctx context.Context, id string) (store.IDMapping, bool) {
	d := s.dirs()
	if v, ok := d.maps.Load(id); ok {
		return v.(store.IDMapping), true
	}
	if !s.cfg.Identity.DomainSpecificDrivers {
		return store.IDMapping{}, false
	}
	m, ok, err := s.st.GetIDMapping(ctx, id)
	if err != nil || !ok {
		return m, false
	}
	d.maps.Store(id, m)
	return m, true
}

func (s *Service) publicID(ctx context.Context, domainID, localID, kind string) string {
	id := store.PublicID(domainID, localID, kind)
	d := s.dirs()
	if _, ok := d.maps.Load(id); ok {
		return id
	}
	m := store.IDMapping{PublicID: id, DomainID: domainID, LocalID: localID, EntityType: kind}
	if err := s.st.PutIDMapping(ctx, m); err != nil {
		s.log.WarnContext(ctx, "cannot record an id mapping", "public_id", id, "err", err)
		return id
	}
	d.maps.Store(id, m)
	return id
}

func (s *Service) toStoreUser(ctx context.Context, ld *ldapDomain, u *ldap.User) *store.User {
	extra := store.Extra{}
	if u.Email != "" {
		extra["email"] = u.Email
	}
	if u.Description != "" {
		extra["description"] = u.Description
	}
	return &store.User{ID: s.publicID(ctx, ld.domainID, u.ID, "user"), DomainID: ld.domainID, Name: u.Name,
		Enabled: u.Enabled, Extra: extra, Options: map[string]any{}}
}

func (s *Service) toStoreGroup(ctx context.Context, ld *ldapDomain, g *ldap.Group) *store.Group {
	return &store.Group{ID: s.publicID(ctx, ld.domainID, g.ID, "group"), DomainID: ld.domainID, Name: g.Name,
		Description: g.Description, Extra: store.Extra{}}
}

// dirUser reads a directory user by local id; a cached copy younger than
// the cache expiration (or any copy while the directory is down) saves the
// round trip, so token validation does not ask the directory.
func (s *Service) dirUser(ctx context.Context, ld *ldapDomain, local string, fresh bool) (*ldap.User, error) {
	if err := ld.usable(); err != nil {
		return nil, err
	}
	ld.mu.Lock()
	c, ok := ld.users[local]
	ld.mu.Unlock()
	if ok && !fresh && time.Since(c.at) < s.cache.maxAge {
		return c.u, nil
	}
	u, err := ld.drv.GetUser(ctx, local)
	if err != nil {
		var ue *ldap.UnavailableError
		if ok && errors.As(err, &ue) && !fresh {
			return c.u, nil
		}
		return nil, err
	}
	dirFetched(ctx)
	ld.mu.Lock()
	ld.users[local] = cachedUser{u: u, at: time.Now()}
	ld.mu.Unlock()
	return u, nil
}

// getUser is a user by public id, from SQL or from its domain's directory.
func (s *Service) lookupUserID(ctx context.Context, id string) (*store.User, error) {
	if m, ok := s.dirs().maps.Load(id); !ok || m.(store.IDMapping).EntityType != "user" {
		u, err := s.st.GetUser(ctx, id)
		if err == nil || !fault.IsNotFound(err) {
			return u, err
		}
	}
	m, ok := s.mapping(ctx, id)
	if !ok || m.EntityType != "user" {
		return nil, store.UserNotFound(id)
	}
	ld := s.directory(ctx, m.DomainID)
	if ld == nil {
		return nil, store.UserNotFound(id)
	}
	u, err := s.dirUser(ctx, ld, m.LocalID, false)
	if err != nil {
		return nil, s.dirErr(ctx, ld, err, store.UserNotFound(id))
	}
	return s.toStoreUser(ctx, ld, u), nil
}

// getUserByName finds a user by name in a domain. A directory user found
// by this name before is served from the cache for [cache] expiration_time,
// as Keystone memoizes get_user_by_name: the login's bind still asks the
// directory, and a refused bind of a cached entry searches again.
func (s *Service) getUserByName(ctx context.Context, name, domainID string) (*store.User, error) {
	ld := s.directory(ctx, domainID)
	if ld == nil {
		return s.st.GetUserByName(ctx, name, domainID)
	}
	if err := ld.usable(); err != nil {
		return nil, s.dirErr(ctx, ld, err, nil)
	}
	ld.mu.Lock()
	if local, ok := ld.byName[name]; ok {
		if c, ok := ld.users[local]; ok && time.Since(c.at) < s.cache.maxAge {
			ld.mu.Unlock()
			return s.toStoreUser(ctx, ld, c.u), nil
		}
	}
	ld.mu.Unlock()
	u, err := ld.drv.GetUserByName(ctx, name)
	if err != nil {
		return nil, s.dirErr(ctx, ld, err, store.UserNotFound(name))
	}
	dirFetched(ctx)
	ld.mu.Lock()
	ld.users[u.ID] = cachedUser{u: u, at: time.Now()}
	ld.byName[name] = u.ID
	ld.mu.Unlock()
	return s.toStoreUser(ctx, ld, u), nil
}

// listUsersOf lists a domain's users (every SQL user when domainID is empty).
func (s *Service) listUsersOf(ctx context.Context, domainID string) ([]*store.User, error) {
	ld := s.directory(ctx, domainID)
	if ld == nil {
		return s.st.ListUsers(ctx, domainID)
	}
	if err := ld.usable(); err != nil {
		return nil, s.dirErr(ctx, ld, err, nil)
	}
	us, err := ld.drv.ListUsers(ctx)
	if err != nil {
		return nil, s.dirErr(ctx, ld, err, nil)
	}
	out := make([]*store.User, 0, len(us))
	for _, u := range us {
		out = append(out, s.toStoreUser(ctx, ld, u))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// userDirectory returns the directory of a user (nil: SQL).
func (s *Service) userDirectory(ctx context.Context, u *store.User) (*ldapDomain, string) {
	m, ok := s.mapping(ctx, u.ID)
	if !ok || m.EntityType != "user" {
		return nil, ""
	}
	return s.directory(ctx, m.DomainID), m.LocalID
}

func (s *Service) groupDirectory(ctx context.Context, g *store.Group) (*ldapDomain, string) {
	m, ok := s.mapping(ctx, g.ID)
	if !ok || m.EntityType != "group" {
		return nil, ""
	}
	return s.directory(ctx, m.DomainID), m.LocalID
}

// checkDirectoryPassword binds as a directory user. ok false with a nil
// error is a wrong password; a directory that cannot be asked is logged
// and answered as a failed login. The user's groups are searched for while
// the bind is in flight (one round trip of latency, two requests), so the
// token carries the directory's current groups; they are kept only when the
// bind succeeds. A refused bind of an entry this login took from the cache
// answers errStaleDirectoryEntry, once the entry is forgotten.
func (s *Service) checkDirectoryPassword(ctx context.Context, ld *ldapDomain, local, pw string) (bool, error) {
	if err := ld.usable(); err != nil {
		s.log.ErrorContext(ctx, "LDAP login refused: the domain's directory is not usable", "domain_id", ld.domainID, "err", err)
		return false, nil
	}
	// the login has just looked the user up (by name or id, fresh or as
	// cached): bind as that entry rather than search for it again
	if pw == "" {
		return false, nil // an LDAP bind with no password is anonymous
	}
	u, err := s.dirUser(ctx, ld, local, false)
	if err == nil {
		type found struct {
			gs  []*ldap.Group
			err error
		}
		groups := make(chan found, 1)
		go func() {
			gs, err := ld.drv.GroupsOf(ctx, u)
			groups <- found{gs, err}
		}()
		err = ld.drv.Bind(ctx, u, s.truncatePassword(pw))
		if g := <-groups; err == nil && g.err == nil {
			ids := make([]string, 0, len(g.gs))
			for _, x := range g.gs {
				ids = append(ids, s.toStoreGroup(ctx, ld, x).ID)
			}
			ld.mu.Lock()
			ld.groups[local] = cachedGroupIDs{ids: ids, at: time.Now()}
			ld.mu.Unlock()
		}
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ldap.ErrInvalidCredentials) && dirCached(ctx):
		ld.forget(local)
		return false, errStaleDirectoryEntry
	case errors.Is(err, ldap.ErrInvalidCredentials), errors.Is(err, ldap.ErrNotFound):
		return false, nil
	}
	s.log.ErrorContext(ctx, "LDAP login refused: the domain's directory is unavailable", "domain_id", ld.domainID, "user", local, "err", err)
	return false, nil
}

// directoryGroupIDs is the public ids of a directory user's groups, for
// role computation: cached, refreshed at each password login and in the
// background when older than the cache expiration.
func (s *Service) directoryGroupIDs(userID string) []string {
	v, ok := s.dirs().maps.Load(userID)
	if !ok {
		return nil
	}
	m := v.(store.IDMapping)
	if m.EntityType != "user" {
		return nil
	}
	ctx := context.Background()
	ld := s.directory(ctx, m.DomainID)
	if ld == nil || ld.drv == nil {
		return nil
	}
	ld.mu.Lock()
	c, ok := ld.groups[m.LocalID]
	ld.mu.Unlock()
	if ok && time.Since(c.at) < s.cache.maxAge {
		return c.ids
	}
	refresh := func() []string {
		u, err := s.dirUser(ctx, ld, m.LocalID, false)
		if err != nil {
			return c.ids
		}
		gs, err := ld.drv.GroupsOf(ctx, u)
		if err != nil {
			return c.ids
		}
		ids := make([]string, 0, len(gs))
		for _, g := range gs {
			ids = append(ids, s.toStoreGroup(ctx, ld, g).ID)
		}
		ld.mu.Lock()
		ld.groups[m.LocalID] = cachedGroupIDs{ids: ids, at: time.Now()}
		ld.mu.Unlock()
		return ids
	}
	if ok {
		ld.mu.Lock()
		ld.groups[m.LocalID] = cachedGroupIDs{ids: c.ids, at: time.Now()} // one refresh at a time
		ld.mu.Unlock()
		go refresh()
		return c.ids
	}
	return refresh()
}

// directoryMemberIDs is the public ids of a directory group's members, for
// effective role assignments (nil for a SQL group or an unreachable
// directory).
func (s *Service) directoryMemberIDs(groupID string) []string {
	ctx := context.Background()
	if m, ok := s.mapping(ctx, groupID); !ok || m.EntityType != "group" {
		return nil
	}
	g, err := s.lookupGroupID(ctx, groupID)
	if err != nil {
		return nil
	}
	us, err := s.usersOfGroup(ctx, g)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

// getGroup is a group by public id.
func (s *Service) lookupGroupID(ctx context.Context, id string) (*store.Group, error) {
	if m, ok := s.dirs().maps.Load(id); !ok || m.(store.IDMapping).EntityType != "group" {
		g, err := s.st.GetGroup(ctx, id)
		if err == nil || !fault.IsNotFound(err) {
			return g, err
		}
	}
	m, ok := s.mapping(ctx, id)
	if !ok || m.EntityType != "group" {
		return nil, store.GroupNotFound(id)
	}
	ld := s.directory(ctx, m.DomainID)
	if ld == nil {
		return nil, store.GroupNotFound(id)
	}
	if err := ld.usable(); err != nil {
		return nil, s.dirErr(ctx, ld, err, nil)
	}
	g, err := ld.drv.GetGroup(ctx, m.LocalID)
	if err != nil {
		return nil, s.dirErr(ctx, ld, err, store.GroupNotFound(id))
	}
	return s.toStoreGroup(ctx, ld, g), nil
}

// listGroupsOf lists the groups of a domain (every SQL group when empty).
func (s *Service) listGroupsOf(ctx context.Context, domainID string) ([]*store.Group, error) {
	ld := s.directory(ctx, domainID)
	if ld == nil {
		return s.st.ListGroups(ctx)
	}
	if err := ld.usable(); err != nil {
		return nil, s.dirErr(ctx, ld, err, nil)
	}
	gs, err := ld.drv.ListGroups(ctx)
	if err != nil {
		return nil, s.dirErr(ctx, ld, err, nil)
	}
	out := make([]*store.Group, 0, len(gs))
	for _, g := range gs {
		out = append(out, s.toStoreGroup(ctx, ld, g))
	}
	return out, nil
}

// groupsOfUser returns a user's groups.
func (s *Service) groupsOfUser(ctx context.Context, u *store.User) ([]*store.Group, error) {
	if ld, local := s.userDirectory(ctx, u); ld != nil {
		if err := ld.usable(); err != nil {
			return nil, s.dirErr(ctx, ld, err, nil)
		}
		gs, err := ld.drv.GroupsOfUser(ctx, local)
		if err != nil {
			return nil, s.dirErr(ctx, ld, err, store.UserNotFound(u.ID))
		}
		out := make([]*store.Group, 0, len(gs))
		for _, g := range gs {
			out = append(out, s.toStoreGroup(ctx, ld, g))
		}
		return out, nil
	}
	ids, err := s.st.GroupIDsOfUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var out []*store.Group
	for _, id := range ids {
		if g, err := s.st.GetGroup(ctx, id); err == nil {
			out = append(out, g)
		}
	}
	return out, nil
}

// usersOfGroup returns a group's members.
func (s *Service) usersOfGroup(ctx context.Context, g *store.Group) ([]*store.User, error) {
	if ld, local := s.groupDirectory(ctx, g); ld != nil {
		if err := ld.usable(); err != nil {
			return nil, s.dirErr(ctx, ld, err, nil)
		}
		us, err := ld.drv.UsersOfGroup(ctx, local)
		if err != nil {
			return nil, s.dirErr(ctx, ld, err, store.GroupNotFound(g.ID))
		}
		out := make([]*store.User, 0, len(us))
		for _, u := range us {
			out = append(out, s.toStoreUser(ctx, ld, u))
		}
		return out, nil
	}
	ids, err := s.st.UserIDsOfGroup(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	var out []*store.User
	for _, id := range ids {
		if u, err := s.lookupUserID(ctx, id); err == nil {
			out = append(out, u)
		}
	}
	return out, nil
}

// readOnly refuses a write to a user or group of a directory, and
// membership across backends, as Keystone does.
func (s *Service) readOnlyDomain(ctx context.Context, domainID string) error {
	if s.directory(ctx, domainID) != nil {
		return fault.Forbidden(readOnlyLDAP).WithType("Forbidden")
	}
	return nil
}

// sameBackend refuses membership changes of directory groups or users.
func (s *Service) sameBackend(ctx context.Context, g *store.Group, u *store.User) error {
	gd, _ := s.groupDirectory(ctx, g)
	ud, _ := s.userDirectory(ctx, u)
	if gd != nil && ud != nil {
		return fault.Forbidden(readOnlyLDAP).WithType("Forbidden")
	}
	if gd != nil || ud != nil {
		return fault.Forbidden("Group membership across backend boundaries is not allowed. Group in question is %s, user is %s.", g.ID, u.ID).WithType("CrossBackendNotAllowed")
	}
	return nil
}

// isMember reports whether a user is in a group.
func (s *Service) isMember(ctx context.Context, u *store.User, g *store.Group) (bool, error) {
	if gd, _ := s.groupDirectory(ctx, g); gd != nil {
		gs, err := s.groupsOfUser(ctx, u)
		if err != nil {
			return false, err
		}
		for _, x := range gs {
			if x.ID == g.ID {
				return true, nil
			}
		}
		return false, nil
	}
	return s.st.IsMember(ctx, u.ID, g.ID)
}

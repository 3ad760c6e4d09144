package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// User is a directory user, by its local id.
type User struct {
	ID, Name, Email, Description string
	Enabled                      bool
	DN                           string
}

// Group is a directory group, by its local id.
type Group struct {
	ID, Name, Description string
	DN                    string
}

var (
	// ErrNotFound: no such user or group in the directory.
	ErrNotFound = errors.New("ldap: no such entry")
	// ErrInvalidCredentials: the user's bind was refused.
	ErrInvalidCredentials = errors.New("ldap: invalid credentials")
)

// UnavailableError is a directory that cannot be used: unreachable, too
// slow, or refusing the bind of the configured user.
type UnavailableError struct {
	URL string
	Op  string
	Err error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("LDAP directory %s unavailable (%s): %v", e.URL, e.Op, e.Err)
}
func (e *UnavailableError) Unwrap() error { return e.Err }

// Driver reads one directory. It is safe for concurrent use.
type Driver struct {
	cfg   Config
	tls   *tls.Config
	scope int
	deref int
	pool  *pool // connections bound as [ldap] user
	auth  *pool // connections for users' binds
	stats stats
}

// stats counts the directory's round trips.
type stats struct{ dials, binds, searches atomic.Int64 }

// Stats is the number of round trips a driver has made: connections opened
// (a dial, plus StartTLS and the service bind when configured), users' binds,
// and searches (a paged search counts once).
type Stats struct{ Dials, Binds, Searches int64 }

// Stats returns the round trips made so far.
func (d *Driver) Stats() Stats {
	return Stats{Dials: d.stats.dials.Load(), Binds: d.stats.binds.Load(), Searches: d.stats.searches.Load()}
}

// New checks the configuration and returns a driver; it does not connect
// (the directory may come up later).
func New(cfg Config) (*Driver, error) {
	d := &Driver{cfg: cfg, scope: goldap.ScopeSingleLevel}
	if cfg.QueryScope == "sub" {
		d.scope = goldap.ScopeWholeSubtree
	}
	switch cfg.AliasDereferencing {
	case "never", "default":
		d.deref = goldap.NeverDerefAliases
	case "searching":
		d.deref = goldap.DerefInSearching
	case "finding":
		d.deref = goldap.DerefFindingBaseObj
	case "always":
		d.deref = goldap.DerefAlways
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLSReqCert == "never"}
	if cfg.TLSCACertFile != "" {
		pem, err := os.ReadFile(cfg.TLSCACertFile)
		if err != nil {
			return nil, fmt.Errorf("[ldap] tls_cacertfile: %w", err)
		}
		cp := x509.NewCertPool()
		if !cp.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("[ldap] tls_cacertfile %s holds no PEM certificate", cfg.TLSCACertFile)
		}
		tc.RootCAs = cp
	}
	d.tls = tc
	size, life := 1, time.Duration(0)
	if cfg.UsePool {
		size, life = cfg.PoolSize, cfg.PoolConnectionLifetime
	}
	d.pool = &pool{d: d, idle: make(chan *pconn, size), life: life, bindAsUser: true}
	size, life = 1, time.Duration(0)
	if cfg.UseAuthPool {
		size, life = cfg.AuthPoolSize, cfg.AuthPoolConnectionLifetime
	}
	d.auth = &pool{d: d, idle: make(chan *pconn, size), life: life}
	return d, nil
}

// Config returns the driver's configuration.
func (d *Driver) Config() Config { return d.cfg }

// Close closes the idle connections.
func (d *Driver) Close() {
	d.pool.close()
	d.auth.close()
}

// ---- connections ----

type pconn struct {
	c   *goldap.Conn
	url string
	at  time.Time
}

type pool struct {
	d          *Driver
	idle       chan *pconn
	life       time.Duration
	bindAsUser bool
}

func (p *pool) close() {
	for {
		select {
		case c := <-p.idle:
			c.c.Close()
		default:
			return
		}
	}
}

// get returns a live connection, dialling (every URL in turn) when no idle
// one is fit.
func (p *pool) get(ctx context.Context) (*pconn, error) {
	for {
		select {
		case c := <-p.idle:
			if c.c.IsClosing() || (p.life > 0 && time.Since(c.at) > p.life) {
				c.c.Close()
				continue
			}
			return c, nil
		default:
		}
		break
	}
	return p.d.dial(ctx, p.bindAsUser)
}

func (p *pool) put(c *pconn) {
	if p.life <= 0 {
		c.c.Close()
		return
	}
	select {
	case p.idle <- c:
	default:
		c.c.Close()
	}
}

// dial connects to the first reachable URL, with StartTLS when use_tls, and
// binds as [ldap] user (anonymously when unset) when asked.
func (d *Driver) dial(ctx context.Context, bind bool) (*pconn, error) {
	t := d.cfg.ConnectionTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < t {
		t = max(time.Until(dl), time.Millisecond)
	}
	var last error
	for _, u := range d.cfg.URLs {
		d.stats.dials.Add(1)
		dialer := &net.Dialer{Timeout: t}
		c, err := goldap.DialURL(u, goldap.DialWithDialer(dialer), goldap.DialWithTLSConfig(d.tlsFor(u)))
		if err != nil {
			last = &UnavailableError{URL: u, Op: "connect", Err: err}
			continue
		}
		c.SetTimeout(t)
		if d.cfg.UseTLS {
			if err := c.StartTLS(d.tlsFor(u)); err != nil {
				c.Close()
				last = &UnavailableError{URL: u, Op: "StartTLS", Err: err}
				continue
			}
		}
		if bind {
			var err error
			if d.cfg.User == "" {
				err = c.UnauthenticatedBind("")
			} else {
				err = c.Bind(d.cfg.User, d.cfg.Password)
			}
			if err != nil {
				c.Close()
				last = &UnavailableError{URL: u, Op: "bind as " + d.cfg.User, Err: err}
				continue
			}
		}
		return &pconn{c: c, url: u, at: time.Now()}, nil
	}
	return nil, last
}

func (d *Driver) tlsFor(u string) *tls.Config {
	tc := d.tls.Clone()
	if h := hostOf(u); h != "" {
		tc.ServerName = h
	}
	return tc
}

func hostOf(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "ldaps://"), "ldap://")
	if i := strings.IndexAny(u, "/?"); i >= 0 {
		u = u[:i]
	}
	if h, _, err := net.SplitHostPort(u); err == nil {
		return h
	}
	return u
}

// netError reports whether err means the connection is unusable.
func netError(err error) bool {
	var le *goldap.Error
	if errors.As(err, &le) {
		return le.ResultCode == goldap.ErrorNetwork || le.ResultCode == goldap.LDAPResultServerDown ||
			le.ResultCode == goldap.LDAPResultUnavailable || le.ResultCode == goldap.LDAPResultBusy ||
			le.ResultCode == goldap.LDAPResultTimeLimitExceeded || le.ResultCode == goldap.LDAPResultOther && strings.Contains(le.Error(), "timeout")
	}
	return true
}

// search runs a search on a pooled connection, once more on a fresh one
// when a pooled connection turns out dead.
func (d *Driver) search(ctx context.Context, base string, scope int, filter string, attrs []string) ([]*goldap.Entry, error) {
	var last error
	for try := 0; try < 2; try++ {
		c, err := d.pool.get(ctx)
		if err != nil {
			return nil, err
		}
		d.stats.searches.Add(1)
		req := goldap.NewSearchRequest(base, scope, d.deref, 0, int(d.cfg.ConnectionTimeout/time.Second), false, filter, attrs, nil)
		var res *goldap.SearchResult
		if d.cfg.PageSize > 0 {
			res, err = c.c.SearchWithPaging(req, uint32(d.cfg.PageSize))
		} else {
			res, err = c.c.Search(req)
		}
		if err == nil {
			d.pool.put(c)
			return res.Entries, nil
		}
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			d.pool.put(c)
			return nil, nil
		}
		c.c.Close()
		if !netError(err) {
			return nil, fmt.Errorf("ldap search %s %s: %w", base, filter, err)
		}
		last = &UnavailableError{URL: c.url, Op: "search", Err: err}
		if time.Since(c.at) < time.Second {
			break // a fresh connection failed: the directory is the problem
		}
	}
	return nil, last
}

// ---- users ----

func (d *Driver) userAttrs() []string {
	a := []string{d.cfg.UserIDAttribute, d.cfg.UserNameAttribute, d.cfg.UserMailAttribute, d.cfg.UserDescAttribute, d.cfg.UserEnabledAttr}
	return a
}

// and combines filter parts: (&(a)(b)...).
func and(parts ...string) string {
	var b strings.Builder
	b.WriteString("(&")
	for _, p := range parts {
		if p == "" {
			continue
		}
		if !strings.HasPrefix(p, "(") {
			p = "(" + p + ")"
		}
		b.WriteString(p)
	}
	b.WriteString(")")
	return b.String()
}

func eq(attr, value string) string { return "(" + attr + "=" + goldap.EscapeFilter(value) + ")" }

func (d *Driver) userFilter(extra ...string) string {
	return and(append([]string{eq("objectClass", d.cfg.UserObjectClass), d.cfg.UserFilter}, extra...)...)
}

func (d *Driver) groupFilter(extra ...string) string {
	return and(append([]string{eq("objectClass", d.cfg.GroupObjectClass), d.cfg.GroupFilter}, extra...)...)
}

// entryID is the value of the id attribute, or the RDN's value when the id
// attribute names the RDN and the entry does not carry it.
func entryID(e *goldap.Entry, attr string) string {
	if v := e.GetEqualFoldAttributeValue(attr); v != "" {
		return v
	}
	if dn, err := goldap.ParseDN(e.DN); err == nil && len(dn.RDNs) > 0 {
		for _, a := range dn.RDNs[0].Attributes {
			if strings.EqualFold(a.Type, attr) {
				return a.Value
			}
		}
	}
	return ""
}

func (d *Driver) toUser(e *goldap.Entry) *User {
	id := entryID(e, d.cfg.UserIDAttribute)
	if id == "" {
		return nil
	}
	u := &User{ID: id, DN: e.DN, Name: e.GetEqualFoldAttributeValue(d.cfg.UserNameAttribute),
		Email: e.GetEqualFoldAttributeValue(d.cfg.UserMailAttribute), Description: e.GetEqualFoldAttributeValue(d.cfg.UserDescAttribute)}
	if u.Name == "" {
		u.Name = id
	}
	u.Enabled = d.enabled(e.GetEqualFoldAttributeValues(d.cfg.UserEnabledAttr))
	return u
}

// enabled is Keystone's reading of user_enabled_attribute: with a mask, the
// user is enabled unless every mask bit is set (Active Directory's
// userAccountControl); otherwise TRUE/FALSE, inverted by user_enabled_invert.
func (d *Driver) enabled(vals []string) bool {
	v := d.cfg.UserEnabledDefault
	if len(vals) > 0 {
		v = vals[0]
	}
	if m := d.cfg.UserEnabledMask; m != 0 {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			n, _ = strconv.Atoi(d.cfg.UserEnabledDefault)
		}
		return n&m != m
	}
	var b bool
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes":
		b = true
	case "false", "0", "no", "":
		b = false
	default:
		if n, err := strconv.Atoi(v); err == nil {
			b = n != 0
		} else {
			b = true
		}
	}
	if d.cfg.UserEnabledInvert {
		b = !b
	}
	return b
}

func (d *Driver) users(ctx context.Context, base string, scope int, filter string) ([]*User, error) {
	es, err := d.search(ctx, base, scope, filter, d.userAttrs())
	if err != nil {
		return nil, err
	}
	var out []*User
	for _, e := range es {
		if u := d.toUser(e); u != nil {
			out = append(out, u)
		}
	}
	return out, nil
}

func (d *Driver) oneUser(ctx context.Context, filter string) (*User, error) {
	us, err := d.users(ctx, d.cfg.UserTreeDN, d.scope, filter)
	if err != nil {
		return nil, err
	}
	if len(us) != 1 {
		// none, or an ambiguous name: Keystone refuses both
		return nil, ErrNotFound
	}
	return us[0], nil
}

// GetUser returns the user whose id attribute is id.
func (d *Driver) GetUser(ctx context.Context, id string) (*User, error) {
	return d.oneUser(ctx, d.userFilter(eq(d.cfg.UserIDAttribute, id)))
}

// GetUserByName returns the user whose name attribute is name.
func (d *Driver) GetUserByName(ctx context.Context, name string) (*User, error) {
	return d.oneUser(ctx, d.userFilter(eq(d.cfg.UserNameAttribute, name)))
}

// ListUsers returns every user under user_tree_dn, ordered by id.
func (d *Driver) ListUsers(ctx context.Context) ([]*User, error) {
	us, err := d.users(ctx, d.cfg.UserTreeDN, d.scope, d.userFilter())
	sort.Slice(us, func(i, j int) bool { return us[i].ID < us[j].ID })
	return us, err
}

// Authenticate checks a user's password by binding as the user. An empty
// password is refused without asking (an LDAP bind with no password is an
// anonymous bind, and would succeed).
func (d *Driver) Authenticate(ctx context.Context, id, password string) (*User, error) {
	u, err := d.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := d.Bind(ctx, u, password); err != nil {
		return nil, err
	}
	return u, nil
}

// Bind checks the password of a user already read from the directory by
// binding as its DN, saving Authenticate's search when the caller has just
// looked the user up. An empty password is refused without asking.
func (d *Driver) Bind(ctx context.Context, u *User, password string) error {
	if password == "" {
		return ErrInvalidCredentials
	}
	var last error
	for try := 0; try < 2; try++ {
		c, err := d.auth.get(ctx)
		if err != nil {
			return err
		}
		d.stats.binds.Add(1)
		err = c.c.Bind(u.DN, password)
		if err == nil {
			d.auth.put(c)
			return nil
		}
		if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) ||
			goldap.IsErrorWithCode(err, goldap.LDAPResultInappropriateAuthentication) ||
			goldap.IsErrorWithCode(err, goldap.LDAPResultUnwillingToPerform) {
			d.auth.put(c)
			return ErrInvalidCredentials
		}
		c.c.Close()
		last = &UnavailableError{URL: c.url, Op: "bind as user", Err: err}
		if time.Since(c.at) < time.Second {
			break
		}
	}
	return last
}

// ---- groups ----

func (d *Driver) groupAttrs(members bool) []string {
	a := []string{d.cfg.GroupIDAttribute, d.cfg.GroupNameAttribute, d.cfg.GroupDescAttribute}
	if members {
		a = append(a, d.cfg.GroupMemberAttr)
	}
	return a
}

func (d *Driver) toGroup(e *goldap.Entry) *Group {
	id := entryID(e, d.cfg.GroupIDAttribute)
	if id == "" {
		return nil
	}
	g := &Group{ID: id, DN: e.DN, Name: e.GetEqualFoldAttributeValue(d.cfg.GroupNameAttribute),
		Description: e.GetEqualFoldAttributeValue(d.cfg.GroupDescAttribute)}
	if g.Name == "" {
		g.Name = id
	}
	return g
}

func (d *Driver) groups(ctx context.Context, filter string) ([]*Group, error) {
	es, err := d.search(ctx, d.cfg.GroupTreeDN, d.scope, filter, d.groupAttrs(false))
	if err != nil {
		return nil, err
	}
	var out []*Group
	for _, e := range es {
		if g := d.toGroup(e); g != nil {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// GetGroup returns the group whose id attribute is id.
func (d *Driver) GetGroup(ctx context.Context, id string) (*Group, error) {
	gs, err := d.groups(ctx, d.groupFilter(eq(d.cfg.GroupIDAttribute, id)))
	if err != nil {
		return nil, err
	}
	if len(gs) != 1 {
		return nil, ErrNotFound
	}
	return gs[0], nil
}

// GetGroupByName returns the group whose name attribute is name.
func (d *Driver) GetGroupByName(ctx context.Context, name string) (*Group, error) {
	gs, err := d.groups(ctx, d.groupFilter(eq(d.cfg.GroupNameAttribute, name)))
	if err != nil {
		return nil, err
	}
	if len(gs) != 1 {
		return nil, ErrNotFound
	}
	return gs[0], nil
}

// ListGroups returns every group under group_tree_dn, ordered by id.
func (d *Driver) ListGroups(ctx context.Context) ([]*Group, error) {
	return d.groups(ctx, d.groupFilter())
}

// GroupsOfUser returns the groups a user is a member of.
func (d *Driver) GroupsOfUser(ctx context.Context, userID string) ([]*Group, error) {
	u, err := d.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return d.GroupsOf(ctx, u)
}

// GroupsOf returns the groups of a user already read from the directory:
// one search, by the member attribute's value (the user's DN, or its id with
// group_members_are_ids).
func (d *Driver) GroupsOf(ctx context.Context, u *User) ([]*Group, error) {
	member := u.DN
	if d.cfg.GroupMembersAreIDs {
		member = u.ID
	}
	return d.groups(ctx, d.groupFilter(eq(d.cfg.GroupMemberAttr, member)))
}

// UsersOfGroup returns a group's members that are users of this directory.
func (d *Driver) UsersOfGroup(ctx context.Context, groupID string) ([]*User, error) {
	es, err := d.search(ctx, d.cfg.GroupTreeDN, d.scope, d.groupFilter(eq(d.cfg.GroupIDAttribute, groupID)), d.groupAttrs(true))
	if err != nil {
		return nil, err
	}
	if len(es) != 1 {
		return nil, ErrNotFound
	}
	var out []*User
	seen := map[string]bool{}
	for _, m := range es[0].GetEqualFoldAttributeValues(d.cfg.GroupMemberAttr) {
		var us []*User
		if d.cfg.GroupMembersAreIDs {
			us, err = d.users(ctx, d.cfg.UserTreeDN, d.scope, d.userFilter(eq(d.cfg.UserIDAttribute, m)))
		} else if m != "" {
			us, err = d.users(ctx, m, goldap.ScopeBaseObject, d.userFilter())
		}
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			if !seen[u.ID] {
				seen[u.ID] = true
				out = append(out, u)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Memberships returns every user's groups (user id → group ids) in one
// search of the groups; members that are DNs are mapped to user ids through
// one search of the users.
func (d *Driver) Memberships(ctx context.Context) (map[string][]string, error) {
	es, err := d.search(ctx, d.cfg.GroupTreeDN, d.scope, d.groupFilter(), d.groupAttrs(true))
	if err != nil {
		return nil, err
	}
	byDN := map[string]string{}
	if !d.cfg.GroupMembersAreIDs {
		us, err := d.users(ctx, d.cfg.UserTreeDN, d.scope, d.userFilter())
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			byDN[normDN(u.DN)] = u.ID
		}
	}
	out := map[string][]string{}
	for _, e := range es {
		g := d.toGroup(e)
		if g == nil {
			continue
		}
		for _, m := range e.GetEqualFoldAttributeValues(d.cfg.GroupMemberAttr) {
			uid := m
			if !d.cfg.GroupMembersAreIDs {
				if uid = byDN[normDN(m)]; uid == "" {
					continue
				}
			}
			out[uid] = append(out[uid], g.ID)
		}
	}
	return out, nil
}

func normDN(s string) string {
	if dn, err := goldap.ParseDN(s); err == nil {
		parts := make([]string, 0, len(dn.RDNs))
		for _, r := range dn.RDNs {
			var as []string
			for _, a := range r.Attributes {
				as = append(as, strings.ToLower(a.Type)+"="+strings.ToLower(a.Value))
			}
			sort.Strings(as)
			parts = append(parts, strings.Join(as, "+"))
		}
		return strings.Join(parts, ",")
	}
	return strings.ToLower(s)
}

package identity

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/identity/password"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// BootstrapOptions say what keystone-manage bootstrap and devstack's test data
// make. Empty passwords leave existing ones alone (and are required only for
// users that do not exist yet).
type BootstrapOptions struct {
	// AdminPassword is the admin user's password.
	AdminPassword string
	// DemoPassword is the demo user's password (empty: AdminPassword, as
	// devstack shares one password between admin and demo).
	DemoPassword string
	// ServicePassword is every service user's password.
	ServicePassword string
	// KeepPasswords leaves the passwords of existing users alone and uses the
	// given ones only for users it creates: a resumed stack whose secrets did
	// not change skips a bcrypt comparison per password.
	KeepPasswords bool
	// ServiceUsers are the service users to make (nova, glance, ...), each with
	// the service and admin roles on project "service", as devstack grants.
	ServiceUsers []string
	// Region is the catalog region (default "RegionOne").
	Region string
	// Services are the catalog entries: a service and its endpoints each.
	Services []CatalogService
	// Config supplies the default domain id, the bcrypt cost and the Fernet
	// key count; nil means DefaultConfig().
	Config *Config
}

// CatalogService is one catalog entry for Bootstrap. An empty URL makes no
// endpoint for that interface.
type CatalogService struct {
	Name        string
	Type        string
	Description string
	PublicURL   string
	InternalURL string
	AdminURL    string
}

// DBSync applies the identity schema (keystone-manage db_sync) and returns the
// version reached.
func DBSync(ctx context.Context, db *pstore.DB) (int, error) {
	return db.Migrate(ctx, Migrations)
}

// Bootstrap is keystone-manage bootstrap plus devstack's test data, and may be
// run any number of times: it creates what is missing, keeps the ids of what
// exists, updates endpoint URLs, and sets the passwords it is given when they
// differ from the current ones. It also creates the Fernet key repository in
// the database (fernet_setup) when there is none.
//
// It makes: domain Default (id from [identity] default_domain_id); projects
// admin, demo, service; roles admin, member, reader, service with admin
// implying member and member implying reader; users admin (admin on projects
// admin and demo, and on the system), demo (member on demo), and one user per
// ServiceUsers entry (service and admin on project service); region Region;
// and the catalog.
func Bootstrap(ctx context.Context, db *pstore.DB, o BootstrapOptions) error {
	cfg := DefaultConfig()
	if o.Config != nil {
		cfg = *o.Config
	}
	if o.Region == "" {
		o.Region = "RegionOne"
	}
	if _, err := DBSync(ctx, db); err != nil {
		return fmt.Errorf("identity bootstrap: migrate: %w", err)
	}
	st := store.New(db)
	if _, err := setupKeys(ctx, st, cfg.FernetTokens.MaxActiveKeys); err != nil {
		return err
	}
	b := &bootstrapper{st: st, cfg: cfg}
	if err := b.run(ctx, o); err != nil {
		return fmt.Errorf("identity bootstrap: %w", err)
	}
	return st.BumpEpoch(ctx)
}

type bootstrapper struct {
	st  *store.Store
	cfg Config
}

func (b *bootstrapper) run(ctx context.Context, o BootstrapOptions) error {
	domID := b.cfg.Identity.DefaultDomainID
	if _, err := b.st.GetProject(ctx, domID); fault.IsNotFound(err) {
		err = b.st.CreateProject(ctx, &store.Project{ID: domID, Name: "Default", Description: "The default domain",
			Enabled: true, DomainID: store.RootDomain, IsDomain: true, Extra: store.Extra{}})
		if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	projects := map[string]string{}
	for _, name := range []string{"admin", "demo", "service"} {
		id, err := b.ensureProject(ctx, name, domID)
		if err != nil {
			return err
		}
		projects[name] = id
	}
	roles := map[string]string{}
	for _, name := range []string{"admin", "member", "reader", "service"} {
		id, err := b.ensureRole(ctx, name)
		if err != nil {
			return err
		}
		roles[name] = id
	}
	for _, im := range []store.ImpliedRole{{PriorID: roles["admin"], ImpliedID: roles["member"]}, {PriorID: roles["member"], ImpliedID: roles["reader"]}} {
		if err := b.st.CreateImpliedRole(ctx, im); err != nil {
			return err
		}
	}

	type want struct {
		name, password string
		defaultProject string
	}
	users := []want{{"admin", o.AdminPassword, projects["admin"]}, {"demo", o.DemoPassword, projects["demo"]}}
	if users[1].password == "" {
		users[1].password = o.AdminPassword
	}
	for _, su := range o.ServiceUsers {
		users = append(users, want{su, o.ServicePassword, ""})
	}
	ids := map[string]string{}
	pending := map[string][]*store.User{} // password → users needing it set
	for _, w := range users {
		u, err := b.st.GetUserByName(ctx, w.name, domID)
		switch {
		case fault.IsNotFound(err):
			if w.password == "" {
				return fmt.Errorf("user %s does not exist and no password was given for it", w.name)
			}
			u = &store.User{ID: hexID(), DomainID: domID, Name: w.name, Enabled: true, DefaultProjectID: w.defaultProject,
				Extra: store.Extra{}, Options: map[string]any{}}
			if err := b.st.CreateUser(ctx, u); err != nil {
				return err
			}
			pending[w.password] = append(pending[w.password], u)
		case err != nil:
			return err
		case w.password != "" && !o.KeepPasswords:
			pending[w.password] = append(pending[w.password], u)
		}
		ids[w.name] = u.ID
	}
	if err := b.setPasswords(ctx, pending); err != nil {
		return err
	}

	grants := []store.Assignment{
		{Kind: store.UserProject, ActorID: ids["admin"], TargetID: projects["admin"], RoleID: roles["admin"]},
		{Kind: store.UserProject, ActorID: ids["admin"], TargetID: projects["demo"], RoleID: roles["admin"]},
		{Kind: store.UserSystem, ActorID: ids["admin"], TargetID: store.SystemTarget, RoleID: roles["admin"]},
		{Kind: store.UserProject, ActorID: ids["demo"], TargetID: projects["demo"], RoleID: roles["member"]},
	}
	for _, su := range o.ServiceUsers {
		grants = append(grants,
			store.Assignment{Kind: store.UserProject, ActorID: ids[su], TargetID: projects["service"], RoleID: roles["service"]},
			store.Assignment{Kind: store.UserProject, ActorID: ids[su], TargetID: projects["service"], RoleID: roles["admin"]})
	}
	for _, g := range grants {
		if err := b.st.Grant(ctx, g); err != nil {
			return err
		}
	}

	if _, err := b.st.GetRegion(ctx, o.Region); fault.IsNotFound(err) {
		if err := b.st.CreateRegion(ctx, &store.Region{ID: o.Region, Extra: store.Extra{}}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	for _, cs := range o.Services {
		if err := b.ensureService(ctx, cs, o.Region); err != nil {
			return err
		}
	}
	return nil
}

// hexID is Keystone's id format: a uuid4 as 32 hex digits.
func hexID() string {
	u := uuid.New()
	const hexdig = "0123456789abcdef"
	out := make([]byte, 32)
	for i, b := range u {
		out[2*i], out[2*i+1] = hexdig[b>>4], hexdig[b&15]
	}
	return string(out)
}

func (b *bootstrapper) ensureProject(ctx context.Context, name, domID string) (string, error) {
	p, err := b.st.GetProjectByName(ctx, name, domID)
	if err == nil {
		return p.ID, nil
	}
	if !fault.IsNotFound(err) {
		return "", err
	}
	p = &store.Project{ID: hexID(), Name: name, Description: "Bootstrap project for initializing the cloud.", Enabled: true,
		DomainID: domID, ParentID: domID, Extra: store.Extra{}}
	if name != "admin" {
		p.Description = ""
	}
	return p.ID, b.st.CreateProject(ctx, p)
}

func (b *bootstrapper) ensureRole(ctx context.Context, name string) (string, error) {
	rs, err := b.st.ListRoles(ctx)
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if r.Name == name && r.DomainID == "" {
			return r.ID, nil
		}
	}
	r := &store.Role{ID: hexID(), Name: name, Extra: store.Extra{}, Options: map[string]any{}}
	return r.ID, b.st.CreateRole(ctx, r)
}

// setPasswords sets each password on the users that need it: a user whose
// current hash already matches keeps it. One bcrypt per distinct password and
// hash, run in parallel.
func (b *bootstrapper) setPasswords(ctx context.Context, pending map[string][]*store.User) error {
	type job struct {
		pw    string
		users []*store.User
		hash  string
		err   error
	}
	var jobs []*job
	for pw, us := range pending {
		// Drop users whose current password is already pw.
		var need []*store.User
		checked := map[string]bool{}
		for _, u := range us {
			ps, err := b.st.Passwords(ctx, u.ID, 1)
			if err != nil {
				return err
			}
			if len(ps) > 0 {
				h := ps[0].Hash
				ok, seen := checked[h]
				if !seen {
					ok, _ = password.Check(pw, h)
					checked[h] = ok
				}
				if ok {
					continue
				}
			}
			need = append(need, u)
		}
		if len(need) > 0 {
			jobs = append(jobs, &job{pw: pw, users: need})
		}
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.hash, j.err = password.Hash(j.pw, b.cfg.Identity.PasswordHashRounds)
		}()
	}
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			return j.err
		}
		for _, u := range j.users {
			if err := b.st.AddPassword(ctx, &store.Password{UserID: u.ID, Hash: j.hash}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *bootstrapper) ensureService(ctx context.Context, cs CatalogService, region string) error {
	svcs, err := b.st.ListServices(ctx)
	if err != nil {
		return err
	}
	var svc *store.Service
	for _, s := range svcs {
		if s.Type == cs.Type && (s.Name == cs.Name || cs.Name == "") {
			svc = s
			break
		}
	}
	if svc == nil {
		svc = &store.Service{ID: hexID(), Type: cs.Type, Name: cs.Name, Description: cs.Description, Enabled: true, Extra: store.Extra{}}
		if err := b.st.CreateService(ctx, svc); err != nil {
			return err
		}
	}
	eps, err := b.st.ListEndpoints(ctx)
	if err != nil {
		return err
	}
	for _, iface := range []struct{ name, url string }{{"public", cs.PublicURL}, {"internal", cs.InternalURL}, {"admin", cs.AdminURL}} {
		if iface.url == "" {
			continue
		}
		var ep *store.Endpoint
		for _, e := range eps {
			if e.ServiceID == svc.ID && e.Interface == iface.name && e.RegionID == region {
				ep = e
				break
			}
		}
		if ep == nil {
			ep = &store.Endpoint{ID: hexID(), ServiceID: svc.ID, Interface: iface.name, RegionID: region, URL: iface.url, Enabled: true, Extra: store.Extra{}}
			if err := b.st.CreateEndpoint(ctx, ep); err != nil {
				return err
			}
			continue
		}
		if ep.URL != iface.url || !ep.Enabled {
			ep.URL, ep.Enabled = iface.url, true
			if err := b.st.UpdateEndpoint(ctx, ep); err != nil {
				return err
			}
		}
	}
	return nil
}

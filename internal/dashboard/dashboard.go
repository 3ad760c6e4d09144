package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Dashboard is the web interface: an http.Handler and a service.Service.
type Dashboard struct {
	cfg    Options
	log    *slog.Logger
	client *client
	sealer *sealer
	pages  map[string]*template.Template
	assets map[string]*asset
	mux    *http.ServeMux
	now    func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]*tokenInfo
}

// tokenInfo is what the dashboard remembers of a scoped token: Keystone's
// description (with the catalog) and the user's projects, fetched once per
// token rather than once per page.
type tokenInfo struct {
	tok      *token
	projects []project
	until    time.Time
}

// New builds the dashboard. d.AuthURL and d.Region are used when the
// configuration names no auth_url or region; without a secret_key, the
// cookie key is kept in d.DataDir.
func New(cfg Config, d service.Deps) (*Dashboard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := cfg.Dashboard
	if o.AuthURL == "" {
		o.AuthURL = d.AuthURL
	}
	if o.AuthURL == "" {
		return nil, errors.New("dashboard: no Keystone URL ([dashboard] auth_url)")
	}
	if o.Region == "" {
		o.Region = d.Region
	}
	if o.Region == "" {
		o.Region = "RegionOne"
	}
	secret := []byte(o.SecretKey)
	if len(secret) == 0 {
		var err error
		if secret, err = keyFile(d.DataDir); err != nil {
			return nil, err
		}
	}
	s, err := newSealer(secret)
	if err != nil {
		return nil, err
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := &Dashboard{cfg: o, log: log, client: newClient(o.AuthURL, time.Duration(o.APITimeout)*time.Second),
		sealer: s, now: time.Now, cache: map[[32]byte]*tokenInfo{}}
	if db.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if err := db.parseTemplates(); err != nil {
		return nil, err
	}
	db.routes()
	return db, nil
}

// keyFile returns the secret kept in dir, making it on first use.
func keyFile(dir string) ([]byte, error) {
	if dir == "" {
		return []byte(randomToken()), nil // sessions end with the process
	}
	path := filepath.Join(dir, "secret_key")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return b, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	k := []byte(randomToken())
	if err := os.WriteFile(path, k, 0o600); err != nil {
		return nil, fmt.Errorf("dashboard secret key: %w", err)
	}
	return k, nil
}

// Name implements service.Service.
func (d *Dashboard) Name() string { return "horizon" }

// Start implements service.Service; the dashboard has no background work.
func (d *Dashboard) Start(ctx context.Context) error { return nil }

// Shutdown implements service.Service.
func (d *Dashboard) Shutdown(ctx context.Context) error {
	d.client.http.CloseIdleConnections()
	return nil
}

var _ service.Service = (*Dashboard)(nil)

// ServeHTTP implements http.Handler.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			d.log.Error("dashboard page failed", "path", r.URL.Path, "panic", fmt.Sprint(v))
			http.Error(w, "The dashboard failed to show this page; the error is in its log.", http.StatusInternalServerError)
		}
	}()
	d.mux.ServeHTTP(w, r)
}

func (d *Dashboard) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /static/", d.serveStatic)
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if d.loadSession(r) == nil {
			d.showLogin(w, r, "", http.StatusOK)
			return
		}
		d.overview(w, r)
	})
	m.HandleFunc("GET /auth/login/", func(w http.ResponseWriter, r *http.Request) { d.showLogin(w, r, "", http.StatusOK) })
	m.HandleFunc("POST /auth/login/", d.login)
	m.HandleFunc("GET /auth/logout/", d.page("logout", func(p *page) error { return nil }))
	m.HandleFunc("POST /auth/logout/", d.logout)
	m.HandleFunc("POST /auth/switch/", d.action(d.switchProject))
	m.HandleFunc("POST /i18n/setlang/", d.setLanguage)
	m.HandleFunc("GET /project/{$}", d.overview)
	m.HandleFunc("GET /project/instances/{$}", d.page("instances", d.listInstances))
	m.HandleFunc("GET /project/instances/launch/{$}", d.page("launch", d.launchForm))
	m.HandleFunc("POST /project/instances/launch/{$}", d.action(d.launch))
	m.HandleFunc("GET /project/instances/{id}/{$}", d.page("instance", d.showInstance))
	m.HandleFunc("GET /project/instances/{id}/console/", d.page("console", d.consoleLog))
	m.HandleFunc("POST /project/instances/{id}/action/", d.action(d.instanceOp))
	m.HandleFunc("GET /project/instances/{id}/resize/{$}", d.page("resize", d.resizeForm))
	m.HandleFunc("POST /project/instances/{id}/resize/{$}", d.formOn("resize", d.resizeForm, d.resize))
	m.HandleFunc("GET /project/networks/{$}", d.page("networks", d.networksPage))
	m.HandleFunc("POST /project/networks/create/{$}", d.action(d.createNetwork))
	m.HandleFunc("POST /project/networks/{id}/delete/{$}", d.action(d.deleteNetworkThing("networks")))
	m.HandleFunc("POST /project/routers/create/{$}", d.action(d.createRouter))
	m.HandleFunc("POST /project/routers/{id}/interface/{$}", d.action(d.routerInterface))
	m.HandleFunc("POST /project/routers/{id}/delete/{$}", d.action(d.deleteNetworkThing("routers")))
	m.HandleFunc("POST /project/floating_ips/allocate/{$}", d.action(d.allocateFIP))
	m.HandleFunc("GET /project/network_topology/{$}", d.page("topology", d.topologyPage))
	m.HandleFunc("GET /project/floating_ips/{id}/associate/{$}", d.page("associate", d.associateForm))
	m.HandleFunc("POST /project/floating_ips/{id}/associate/{$}", d.action(d.associateFIP))
	m.HandleFunc("POST /project/floating_ips/{id}/delete/{$}", d.action(d.deleteNetworkThing("floatingips")))
	m.HandleFunc("GET /project/security_groups/{$}", d.page("security", d.securityGroups))
	m.HandleFunc("POST /project/security_groups/create/{$}", d.action(d.createSecurityGroup))
	m.HandleFunc("POST /project/security_groups/{id}/rules/{$}", d.action(d.addRule))
	m.HandleFunc("POST /project/security_groups/{id}/delete/{$}", d.action(d.deleteNetworkThing("security-groups")))
	m.HandleFunc("POST /project/security_group_rules/{id}/delete/{$}", d.action(d.deleteRule))
	m.HandleFunc("GET /project/key_pairs/{$}", d.page("keypairs", d.keypairs))
	m.HandleFunc("POST /project/key_pairs/create/{$}", d.createKeypair)
	m.HandleFunc("POST /project/key_pairs/{name}/delete/{$}", d.action(d.deleteKeypair))
	m.HandleFunc("GET /project/server_groups/{$}", d.page("servergroups", d.serverGroupsPage))
	m.HandleFunc("POST /project/server_groups/create/{$}", d.action(d.createServerGroup))
	m.HandleFunc("POST /project/server_groups/{id}/delete/{$}", d.action(d.deleteServerGroup))
	m.HandleFunc("GET /project/volumes/{$}", d.page("volumes", d.volumesPage))
	m.HandleFunc("POST /project/volumes/create/{$}", d.action(d.createVolume))
	m.HandleFunc("POST /project/volumes/{id}/delete/{$}", d.action(d.deleteVolume))
	m.HandleFunc("GET /project/images/{$}", d.page("images", d.imagesPage))
	m.HandleFunc("POST /project/images/upload/{$}", d.uploadImage)
	m.HandleFunc("POST /project/images/{id}/delete/{$}", d.action(d.deleteImage("/project/images/")))
	m.HandleFunc("GET /identity/{$}", d.page("identity", d.identityPage))
	m.HandleFunc("POST /identity/projects/create/{$}", d.identityForm(d.createProject))
	m.HandleFunc("POST /identity/users/create/{$}", d.identityForm(d.createUser))
	m.HandleFunc("POST /identity/groups/create/{$}", d.identityForm(d.createGroup))
	for _, kind := range []string{"projects", "users", "groups"} {
		m.HandleFunc("POST /identity/"+kind+"/{id}/delete/{$}", d.identityForm(d.deleteIdentity(kind)))
	}
	m.HandleFunc("GET /identity/projects/{id}/members/{$}", d.page("identity_members", d.projectMembersPage))
	m.HandleFunc("POST /identity/projects/{id}/members/{$}", d.formOn("identity_members", d.projectMembersPage, d.projectMember))
	m.HandleFunc("GET /identity/groups/{id}/members/{$}", d.page("identity_members", d.groupMembersPage))
	m.HandleFunc("POST /identity/groups/{id}/members/{$}", d.formOn("identity_members", d.groupMembersPage, d.groupMember))
	m.HandleFunc("GET /identity/projects/{id}/update/{$}", d.page("identity_edit", d.editProjectForm))
	m.HandleFunc("POST /identity/projects/{id}/update/{$}", d.action(d.updateProject))
	m.HandleFunc("POST /identity/projects/{id}/toggle/{$}", d.action(d.toggle("projects")))
	m.HandleFunc("GET /identity/users/{id}/update/{$}", d.page("identity_edit", d.editUserForm))
	m.HandleFunc("POST /identity/users/{id}/update/{$}", d.action(d.updateUser))
	m.HandleFunc("POST /identity/users/{id}/toggle/{$}", d.action(d.toggle("users")))
	m.HandleFunc("GET /identity/application_credentials/{$}", d.page("appcreds", d.appCredsPage))
	m.HandleFunc("POST /identity/application_credentials/create/{$}", d.createAppCred)
	m.HandleFunc("POST /identity/application_credentials/{id}/delete/{$}", d.action(d.deleteAppCred))
	m.HandleFunc("GET /admin/{$}", d.page("hypervisors", d.hypervisorsPage))
	m.HandleFunc("GET /admin/hypervisors/{$}", d.page("hypervisors", d.hypervisorsPage))
	m.HandleFunc("GET /admin/info/{$}", d.page("services", d.servicesPage))
	m.HandleFunc("GET /admin/flavors/{$}", d.page("flavors", d.flavorsPage))
	m.HandleFunc("POST /admin/flavors/create/{$}", d.action(d.createFlavor))
	m.HandleFunc("POST /admin/flavors/{id}/delete/{$}", d.action(d.deleteFlavor))
	m.HandleFunc("GET /admin/instances/{$}", d.page("admin_instances", d.adminInstances))
	m.HandleFunc("GET /admin/images/{$}", d.page("admin_images", d.adminImages))
	m.HandleFunc("POST /admin/images/{id}/delete/{$}", d.action(d.deleteImage("/admin/images/")))
	d.mux = m
}

// page is one request of a logged-in user.
type page struct {
	w        http.ResponseWriter
	r        *http.Request
	ctx      context.Context
	s        *session
	cl       *cloud
	info     *tokenInfo
	Name     string
	Lang     string
	Title    string
	Data     any
	Errors   []string
	Messages []string
}

// Session exposes the session to templates (user, project, CSRF token).
func (p *page) Session() *session { return p.s }

// Projects lists the user's projects, for the switcher.
func (p *page) Projects() []project { return p.info.projects }

// Admin reports whether the user holds the admin role in this project.
func (p *page) Admin() bool { return p.info.tok.hasRole("admin") }

// Has reports whether the catalog has a service (for the menu).
func (p *page) Has(service string) bool { return p.cl.has(serviceTypes[service]...) }

// fail records an error the page shows above its content.
func (p *page) fail(err error) {
	var ae *APIError
	switch {
	case err == nil:
	case errors.As(err, &ae):
		p.Errors = append(p.Errors, ae.in(p.Lang))
	default:
		p.Errors = append(p.Errors, err.Error())
	}
}

// say records a message the page shows above its content, in the user's
// language.
func (p *page) say(format string, args ...any) {
	p.Messages = append(p.Messages, fmt.Sprintf(p.T(format), args...))
}

var errLoggedOut = errors.New("logged out")

// page returns a handler that requires a session and renders the named
// template with what fill gathered.
func (d *Dashboard) page(name string, fill func(*page) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := d.begin(w, r)
		if p == nil {
			return
		}
		p.Name = name
		if err := fill(p); err != nil {
			if d.handleAuthError(p, err) {
				return
			}
			p.fail(err)
		}
		if frag := r.URL.Query().Get("fragment"); frag == "rows" && d.pages[name].Lookup(frag) != nil {
			d.renderAs(w, name, frag, p, http.StatusOK)
			return
		}
		d.render(w, name, p, http.StatusOK)
	}
}

// action returns a handler of a form POST: session and CSRF checked, then do
// runs and the user is sent where it says.
func (d *Dashboard) action(do func(*page) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !d.sameOrigin(r) {
			http.Error(w, "Forbidden: the form was not sent from this dashboard.", http.StatusForbidden)
			return
		}
		p := d.begin(w, r)
		if p == nil {
			return
		}
		if !sameToken(r.PostFormValue("csrfmiddlewaretoken"), p.s.CSRF) {
			http.Error(w, "Forbidden: the form's CSRF token is missing or wrong; reload the page and try again.", http.StatusForbidden)
			return
		}
		to, err := do(p)
		if err != nil {
			if d.handleAuthError(p, err) {
				return
			}
			p.Name = "error"
			p.Title = "Error"
			p.fail(err)
			d.render(w, "error", p, http.StatusOK)
			return
		}
		if to == "" {
			return // do answered itself
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

// handleAuthError ends the session when the APIs no longer take its token.
func (d *Dashboard) handleAuthError(p *page, err error) bool {
	if statusOf(err) != http.StatusUnauthorized && !errors.Is(err, errLoggedOut) {
		return false
	}
	d.forget(p.s.Token)
	d.clearSession(p.w)
	http.Redirect(p.w, p.r, "/auth/login/?next="+url.QueryEscape(p.r.URL.RequestURI()), http.StatusSeeOther)
	return true
}

// begin loads the session and the token's catalog; without a live session it
// sends the browser to the login form and returns nil.
func (d *Dashboard) begin(w http.ResponseWriter, r *http.Request) *page {
	s := d.loadSession(r)
	if s == nil {
		d.clearSession(w)
		next := ""
		if r.Method == http.MethodGet {
			next = "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, "/auth/login/"+next, http.StatusSeeOther)
		return nil
	}
	p := &page{w: w, r: r, ctx: r.Context(), s: s, Lang: language(r)}
	info, err := d.tokenInfo(r.Context(), s.Token)
	if err != nil {
		if statusOf(err) == http.StatusUnauthorized || statusOf(err) == http.StatusNotFound {
			d.clearSession(w)
			http.Redirect(w, r, "/auth/login/", http.StatusSeeOther)
			return nil
		}
		p.Name, p.Title = "error", "Error"
		p.info = &tokenInfo{tok: &token{}}
		p.cl = &cloud{c: d.client, info: p.info.tok}
		p.fail(err)
		d.render(w, "error", p, http.StatusBadGateway)
		return nil
	}
	p.info = info
	p.cl = &cloud{c: d.client, tok: s.Token, info: info.tok, region: s.Region, projectID: s.ProjectID}
	if err := d.saveSession(w, s); err != nil { // the idle timer restarts
		d.log.Warn("session not saved", "err", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	if m := d.takeFlash(w, r); m != "" {
		p.Messages = append(p.Messages, m)
	}
	return p
}

// tokenInfo returns what Keystone says of a token, cached until the token
// expires (at most ten minutes, so that role changes show).
func (d *Dashboard) tokenInfo(ctx context.Context, tok string) (*tokenInfo, error) {
	key := sha256.Sum256([]byte(tok))
	d.mu.Lock()
	ti := d.cache[key]
	d.mu.Unlock()
	if ti != nil && d.now().Before(ti.until) {
		return ti, nil
	}
	var (
		info  *token
		projs []project
	)
	errs := fanout(ctx,
		func(ctx context.Context) (err error) { info, err = d.client.validate(ctx, tok); return },
		func(ctx context.Context) (err error) { projs, err = d.client.projects(ctx, tok); return },
	)
	if err := errors.Join(errs...); err != nil {
		if errs[0] != nil {
			return nil, errs[0]
		}
		return nil, errs[1]
	}
	sort.Slice(projs, func(i, j int) bool { return projs[i].Name < projs[j].Name })
	until := d.now().Add(10 * time.Minute)
	if info.ExpiresAt.Before(until) {
		until = info.ExpiresAt
	}
	ti = &tokenInfo{tok: info, projects: projs, until: until}
	d.mu.Lock()
	if len(d.cache) > 10000 {
		for k, v := range d.cache {
			if d.now().After(v.until) || len(d.cache) > 10000 {
				delete(d.cache, k)
			}
		}
	}
	d.cache[key] = ti
	d.mu.Unlock()
	return ti, nil
}

func (d *Dashboard) forget(tok string) {
	key := sha256.Sum256([]byte(tok))
	d.mu.Lock()
	delete(d.cache, key)
	d.mu.Unlock()
}

// sameOrigin refuses cross-site form posts that name their origin.
func (d *Dashboard) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// render executes a page template into a buffer, so that a template error
// never sends half a page.
func (d *Dashboard) render(w http.ResponseWriter, name string, data any, status int) {
	d.renderAs(w, name, "layout", data, status)
}

// renderAs executes one template of a page (the whole page is "layout"; a
// fragment the page's script refreshes is "rows").
func (d *Dashboard) renderAs(w http.ResponseWriter, name, entry string, data any, status int) {
	t := d.pages[name]
	var buf bytes.Buffer
	if t == nil {
		d.log.Error("no such template", "template", name)
		http.Error(w, "The dashboard failed to show this page.", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, entry, data); err != nil {
		d.log.Error("template failed", "template", name, "err", err)
		http.Error(w, "The dashboard failed to show this page; the error is in its log.", http.StatusInternalServerError)
		return
	}
	var r *http.Request
	switch v := data.(type) {
	case *page:
		r = v.r
	case loginView:
		r = v.req
	}
	writeHTML(w, r, buf.Bytes(), status)
}

var funcs = template.FuncMap{
	"pct": func(used, limit int64) int64 {
		if limit <= 0 {
			return 0
		}
		p := used * 100 / limit
		if p > 100 {
			p = 100
		}
		return p
	},
	"join":  strings.Join,
	"deref": deref,
	"since": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return time.Since(t).Round(time.Second).String()
	},
}

func (d *Dashboard) parseTemplates() error {
	d.pages = map[string]*template.Template{}
	fm := template.FuncMap{"asset": d.assetURL}
	for k, v := range funcs {
		fm[k] = v
	}
	base, err := template.New("").Funcs(fm).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return err
		}
		d.pages[name] = t
	}
	return nil
}

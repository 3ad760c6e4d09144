package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute"
	"github.com/tenku-cloud/tenku/internal/identity"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/config"
	"github.com/tenku-cloud/tenku/internal/platform/lease"
	"github.com/tenku-cloud/tenku/internal/platform/metrics"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Options choose what a stack runs and where.
type Options struct {
	// DataDir holds the databases, keys, images, instances, logs and the
	// credentials files.
	DataDir string
	// HostIP is the address services bind and publish in the catalog.
	HostIP string
	// Secrets are the resolved passwords.
	Secrets Secrets
	// Services are the enabled components (see Components); nil means all.
	Services []string
	// ConfigDir holds optional per-service files (keystone.conf, nova.conf, ...).
	ConfigDir string
	// DatabaseURL is a URL template for external databases, with {service}
	// replaced by the service name ("postgres://u@h/tenku_{service}"); empty
	// means SQLite files in DataDir.
	DatabaseURL string
	// BusURL is an external NATS; empty embeds one.
	BusURL string
	// BusPrefix is put before every bus subject, for several clouds on one NATS.
	BusPrefix string
	// TestData creates devstack's users, projects, catalog, flavors, images and
	// networks (tenku stack); tenku serve leaves that to tenku manage bootstrap.
	TestData bool
	// ImageDir holds image files to register as public images on start.
	ImageDir string
	// Ports override the default port of a component (-1: do not serve HTTP).
	Ports map[string]int
	// RandomPorts makes every component listen on a free port (tests).
	RandomPorts bool
	// Region is the catalog region.
	Region string
	// AuthURL is Keystone's URL when this process does not run Keystone.
	AuthURL string
	// Host names this host to the agents (default: the hostname).
	Host string
	// VolumeBackingFileSize is devstack's VOLUME_BACKING_FILE_SIZE: the
	// capacity of this host's file volume backend (24G); empty keeps
	// cinder.conf's.
	VolumeBackingFileSize string
	// Log receives the services' logs.
	Log *slog.Logger
	// Out receives the banner; nil means none.
	Out io.Writer
	// ComputeDriver is this host's hypervisor driver when nova.conf names
	// none: "" keeps nova.conf's default (fake); "auto" takes qemu where
	// qemu-system-x86_64 is installed and fake otherwise, as tenku stack.
	ComputeDriver string
	// MetricsListen is the address of this process's Prometheus /metrics
	// listener ("127.0.0.1:9100"); empty serves none and records nothing.
	MetricsListen string
	// DataplaneDriver is this host's data plane when neutron_agent.ini
	// names none: "" keeps the file's default (fake); "auto" takes
	// linuxbridge where the guests are real (the compute driver is qemu)
	// and this host can run it, as tenku stack.
	DataplaneDriver string
	// HostNamespace is a network namespace standing in for this host: the
	// guests' taps and QEMU processes and the data plane's bridges live
	// in it, and the namespaces the data plane makes are named after it
	// (tests; "" is the host itself).
	HostNamespace string
}

// Component is one service the stack can run.
type Component struct {
	// Name is tenku's name for it ("keystone").
	Name string
	// Type is its catalog type ("identity").
	Type string
	// Title is how the banner names it.
	Title string
	// User is the service user it logs in as; empty means Name.
	User string
	// Internal components serve an API that is not published in the catalog.
	Internal bool
	// Port is the default port; Path the suffix of the published endpoint.
	Port int
	Path string
	// Aliases are further catalog entries (name and type) published at the
	// same endpoint, as devstack publishes Cinder as volumev3 and block-storage.
	Aliases []CatalogAlias
	// ConfFile is the name of its optional config file in the config dir.
	ConfFile string
	// Devstack lists the devstack service names that enable it.
	Devstack []string
	// Config returns a pointer to its default configuration.
	Config func() any
	// DriverConfigs returns the configurations of the drivers the component
	// may choose from its file (driverConfigs): their options are known and
	// shown in the sample file.
	DriverConfigs func() []any
	// Migrations is its schema; a zero value means it has no database.
	Migrations store.Migrations
	// Build constructs it; it runs after Keystone is up.
	Build func(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error)
	// After runs once the component serves (loading images, default topology).
	After func(ctx context.Context, s *Stack, svc service.Service) error
}

// CatalogAlias is a further catalog entry of a component.
type CatalogAlias struct{ Name, Type string }

// Stack is a running all-in-one cloud.
type Stack struct {
	Options
	// URLs maps a component name to its public endpoint.
	URLs map[string]string
	// Addrs maps a component name to the address it listens on.
	Addrs map[string]string
	Bus   *bus.Bus
	DBs   map[string]*store.DB
	// components are the enabled components, in start order.
	components []Component
	// identity is Keystone when it runs in this process.
	identity *identity.Service
	// nova is Nova when it runs in this process.
	nova *compute.Service
	// services are the built components, by name.
	services map[string]service.Service
	// files are the config files read, by name (nil when absent).
	files   map[string]config.File
	group   service.Group
	started time.Time
	// Metrics is the process's registry (nil without MetricsListen).
	Metrics *metrics.Registry
	// MetricsAddr is the address /metrics is served on ("" when not).
	MetricsAddr string
	// Ready is the time from start to serving.
	Ready time.Duration
	// ComputeDriverNote says which hypervisor driver runs and why, when
	// Options.ComputeDriver chose it (for the banner).
	ComputeDriverNote string
	// DataplaneNote says which data plane runs and why, when
	// Options.DataplaneDriver chose it (for the banner).
	DataplaneNote string
}

// Resolve turns enable/disable lists (tenku or devstack names, "all") into the
// enabled components, in start order.
func Resolve(all []Component, enable, disable []string) ([]string, []string) {
	var warnings []string
	byAlias := map[string]string{}
	for _, c := range all {
		byAlias[c.Name] = c.Name
		byAlias[c.Type] = c.Name
		for _, d := range c.Devstack {
			byAlias[d] = c.Name
		}
	}
	on := map[string]bool{}
	for _, c := range all {
		on[c.Name] = true
	}
	for _, d := range disable {
		if d == "all" {
			on = map[string]bool{}
			continue
		}
		if n, ok := byAlias[d]; ok {
			on[n] = false
		} else if !ignoredDevstack[d] {
			warnings = append(warnings, fmt.Sprintf("disable_service %s: tenku has no such service", d))
		}
	}
	for _, e := range enable {
		if n, ok := byAlias[e]; ok {
			on[n] = true
		} else if !ignoredDevstack[e] {
			warnings = append(warnings, fmt.Sprintf("enable_service %s: tenku has no such service", e))
		}
	}
	var out []string
	for _, c := range all {
		if on[c.Name] {
			out = append(out, c.Name)
		}
	}
	return out, warnings
}

// ignoredDevstack are devstack services tenku provides otherwise or needs not.
var ignoredDevstack = map[string]bool{
	"mysql": true, "postgresql": true, "rabbit": true, "etcd3": true, "dstat": true, "tempest": true,
	"placement-api": true, "placement-client": true, "n-net": true, "n-novnc": true, "n-xvnc": true,
	"n-spice": true, "n-obj": true, "n-crt": true, "n-cauth": true, "s-proxy": true, "s-object": true,
	"s-container": true, "s-account": true, "ovn-controller": true, "ovn-northd": true, "ovs-vswitchd": true,
	"ovsdb-server": true, "q-ovn-metadata-agent": true, "memory_tracker": true, "file_tracker": true,
	"openstack-cli-server": true,
}

func (c Component) user() string {
	if c.User != "" {
		return c.User
	}
	return c.Name
}

// Names lists the components' names.
func Names(all []Component) string {
	names := make([]string, len(all))
	for i, c := range all {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// Start brings the enabled components up, Keystone first.
func Start(ctx context.Context, all []Component, o Options) (*Stack, error) {
	s := &Stack{Options: o, URLs: map[string]string{}, Addrs: map[string]string{}, DBs: map[string]*store.DB{}, services: map[string]service.Service{}, started: time.Now()}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Region == "" {
		s.Region = "RegionOne"
	}
	if s.HostIP == "" {
		s.HostIP = "127.0.0.1"
	}
	if s.AuthURL != "" {
		s.URLs["keystone"] = strings.TrimSuffix(s.AuthURL, "/")
	}
	if s.ConfigDir == "" {
		s.ConfigDir = filepath.Join(s.DataDir, "etc")
	}
	s.group.Log = s.Log
	ok := false
	defer func() {
		if !ok {
			s.Stop(context.WithoutCancel(ctx))
		}
	}()
	enabled := map[string]bool{}
	for _, n := range o.Services {
		enabled[n] = true
	}
	var comps []Component
	for _, c := range all {
		if o.Services == nil || enabled[c.Name] {
			comps = append(comps, c)
		}
	}
	s.components = comps
	// Listen on every port first: a port in use fails fast, before any work.
	listeners := map[string]net.Listener{}
	for _, c := range comps {
		if c.Port < 0 || c.Build == nil {
			continue // agents serve no API
		}
		port := c.Port
		if o.RandomPorts {
			port = 0
		}
		if p, ok := o.Ports[c.Name]; ok {
			port = p
		}
		if port < 0 {
			continue
		}
		ln, err := service.Listen(c.Title, net.JoinHostPort(s.HostIP, strconv.Itoa(port)))
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return nil, err
		}
		listeners[c.Name] = ln
		s.Addrs[c.Name] = ln.Addr().String()
		s.URLs[c.Name] = "http://" + ln.Addr().String() + c.Path
	}
	handedOff := map[string]bool{}
	defer func() {
		for n, l := range listeners {
			if !handedOff[n] {
				l.Close()
			}
		}
	}()

	if o.MetricsListen != "" {
		s.Metrics = metrics.New()
		ms := &metrics.Server{Addr: o.MetricsListen, Reg: s.Metrics, Log: s.Log.With("service", "metrics")}
		if err := s.group.Start(ctx, ms); err != nil {
			return nil, err
		}
		s.MetricsAddr = ms.Address()
	}
	b, err := bus.Open(ctx, bus.Options{URL: o.BusURL, Prefix: o.BusPrefix, Name: "tenku-stack", Log: s.Log.With("service", "bus"), Metrics: s.Metrics})
	if err != nil {
		return nil, err
	}
	s.Bus = b
	s.group.Start(ctx, &service.Func{N: "bus", OnStop: func(context.Context) error { b.Close(); return nil }})

	for _, c := range comps {
		if err := s.startComponent(ctx, c, b, listeners[c.Name], func() { handedOff[c.Name] = true }); err != nil {
			return nil, err
		}
	}
	s.Ready = time.Since(s.started)
	ok = true
	return s, nil
}

// Service returns the running component of that name, or nil.
func (s *Stack) Service(name string) service.Service { return s.services[name] }

// startComponent configures, builds and starts one component on the stack's
// bus, serving it on ln when it is an HTTP handler (handOff then records that
// the listener belongs to it).
func (s *Stack) startComponent(ctx context.Context, c Component, b *bus.Bus, ln net.Listener, handOff func()) error {
	cfg := c.Config()
	if err := s.loadConfig(c, cfg); err != nil {
		return err
	}
	var err error
	var db *store.DB
	if c.Migrations.FS != nil {
		if db, err = s.openDB(ctx, c); err != nil {
			return err
		}
	}
	// Start-up writes seed data (service records, default security groups,
	// flavors, metadefs, keys): replicas starting together take turns per
	// service, so each finds what the one before it wrote.
	if db != nil {
		release, err := db.Lock(ctx, startLock(s.DatabaseURL(c.Name)))
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		defer release()
	}
	d := service.Deps{
		Log: s.Log.With("service", c.Name), DB: db, Bus: b,
		AuthURL:     s.URLs["keystone"],
		Credentials: s.ServiceCredentials(c.user()),
		PublicURL:   s.URLs[c.Name], Region: s.Region,
		DataDir:    filepath.Join(s.DataDir, c.Name),
		Host:       s.host(),
		Metrics:    s.Metrics,
		PolicyFile: filepath.Join(s.ConfigDir, c.Name+"-policy.yaml"),
	}
	if c.Name != "keystone" {
		d.Auth, err = s.validator(ctx, c.user())
		if err != nil {
			return err
		}
	}
	svc, err := c.Build(ctx, s, cfg, d)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	if err := s.group.Start(ctx, svc); err != nil {
		return err
	}
	s.services[c.Name] = svc
	if h, ok := svc.(http.Handler); ok && ln != nil {
		srv := &served{name: c.Name, ln: ln, handler: s.Metrics.API(c.Name, h), log: d.Log}
		handOff()
		if err := s.group.Start(ctx, srv); err != nil {
			return err
		}
	}
	if c.After != nil {
		if err := c.After(ctx, s, svc); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return nil
}

// startLock names the start-up lock of one service's database: a hash, since
// MySQL's lock names are server-wide and at most 64 bytes.
func startLock(databaseURL string) string {
	h := sha256.Sum256([]byte(databaseURL))
	return "tenku_start_" + hex.EncodeToString(h[:12])
}

// ServiceCredentials are the credentials of a component's service user.
// With Keystone in this process, the service user's tokens are minted
// rather than logged in for with the password (a bcrypt check each).
func (s *Stack) ServiceCredentials(name string) authn.ServiceCredentials {
	c := authn.ServiceCredentials{
		AuthURL: s.URLs["keystone"], Username: name, Password: s.Secrets.ServicePassword,
		UserDomainName: "Default", ProjectName: "service", ProjectDomainName: "Default",
	}
	if s.identity != nil {
		id := s.identity
		c.Mint = func(ctx context.Context) (string, *authn.Context, error) {
			return id.IssueToken(ctx, name, "default", "service")
		}
	}
	return c
}

// validator returns a caching Keystone validator for a service, flushed on every
// revocation Keystone announces.
func (s *Stack) validator(ctx context.Context, name string) (authn.Validator, error) {
	cache := authn.NewCache(authn.NewRemote(s.ServiceCredentials(name), nil), 5*time.Minute, 10000)
	_, err := s.Bus.Serve(ctx, service.Revocations, bus.ServeOptions{}, map[string]bus.Handler{
		"revoked": func(context.Context, json.RawMessage) (any, error) { cache.Flush(); return nil, nil },
	})
	return cache, err
}

func (s *Stack) loadConfig(c Component, cfg any) error {
	if c.ConfFile == "" {
		return nil
	}
	path := filepath.Join(s.ConfigDir, c.ConfFile)
	f, err := config.ParseFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if s.files == nil {
		s.files = map[string]config.File{}
	}
	s.files[c.ConfFile] = f
	unknown, err := config.Apply(cfg, f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if c.DriverConfigs != nil && len(unknown) > 0 {
		// An option is unknown only when no driver the file may choose knows it.
		still := map[string]bool{}
		for _, u := range unknown {
			still[u] = true
		}
		for _, dc := range c.DriverConfigs() {
			du, err := config.Apply(dc, f)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			known := map[string]bool{}
			for _, u := range unknown {
				known[u] = true
			}
			for _, u := range du {
				delete(known, u)
			}
			for u := range known {
				delete(still, u)
			}
		}
		unknown = unknown[:0]
		for u := range still {
			unknown = append(unknown, u)
		}
		sort.Strings(unknown)
	}
	for _, u := range unknown {
		s.Log.Warn("unknown option ignored", "file", path, "option", u)
	}
	return nil
}

// File returns the parsed config file of that name, or nil when the stack
// read none.
func (s *Stack) File(name string) config.File { return s.files[name] }

// DatabaseURL returns the database URL of a component.
func (s *Stack) DatabaseURL(name string) string {
	if s.Options.DatabaseURL != "" {
		return strings.ReplaceAll(s.Options.DatabaseURL, "{service}", name)
	}
	return "sqlite://" + filepath.Join(s.DataDir, name+".db")
}

func (s *Stack) openDB(ctx context.Context, c Component) (*store.DB, error) {
	if err := store.EnsureDatabase(ctx, s.DatabaseURL(c.Name)); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, s.DatabaseURL(c.Name))
	if err != nil {
		return nil, err
	}
	s.group.Start(ctx, &service.Func{N: c.Name + "-db", OnStop: func(context.Context) error { return db.Close() }})
	if _, err := db.Migrate(ctx, c.Migrations); err != nil {
		return nil, fmt.Errorf("%s database: %w", c.Name, err)
	}
	// Every service's database has the lease table, for periodic jobs
	// that must run once across replicas.
	if _, err := db.Migrate(ctx, lease.Migrations); err != nil {
		return nil, fmt.Errorf("%s database: %w", c.Name, err)
	}
	s.DBs[c.Name] = db
	s.Metrics.DB(c.Name, db.SQL())
	if r := db.Readers(); r != db.SQL() {
		s.Metrics.DB(c.Name+"_read", r)
	}
	return db, nil
}

// Stop shuts every component down, last started first.
func (s *Stack) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return s.group.Shutdown(ctx)
}

// served runs an HTTP handler on a listener opened earlier.
type served struct {
	name    string
	ln      net.Listener
	handler http.Handler
	log     *slog.Logger
	srv     *http.Server
	done    chan struct{}
}

func (h *served) Name() string { return h.name + "-http" }

func (h *served) Start(ctx context.Context) error {
	h.srv = &http.Server{Handler: h.handler, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 5 * time.Minute,
		ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelWarn)}
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

func (h *served) Shutdown(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	<-h.done
	return err
}

func (s *Stack) host() string {
	if s.Options.Host != "" {
		return s.Options.Host
	}
	return hostname()
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// Banner writes devstack's closing words.
func (s *Stack) Banner(w io.Writer, all []Component) {
	fmt.Fprintln(w, "=========================")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "This is your host IP address:", s.HostIP)
	var names []string
	for n := range s.URLs {
		names = append(names, n)
	}
	order := map[string]int{}
	titles := map[string]string{}
	for i, c := range all {
		order[c.Name] = i
		titles[c.Name] = c.Title
	}
	sort.Slice(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
	for _, n := range names {
		if n == "horizon" {
			continue
		}
		fmt.Fprintf(w, "%s is serving at %s/\n", titles[n], s.URLs[n])
	}
	if u, ok := s.URLs["horizon"]; ok {
		fmt.Fprintf(w, "Horizon is now available at %s/\n", u) // devstack's words
	}
	if s.ComputeDriverNote != "" {
		fmt.Fprintln(w, "Compute driver:", s.ComputeDriverNote)
	}
	if s.DataplaneNote != "" {
		fmt.Fprintln(w, "Network data plane:", s.DataplaneNote)
	}
	fmt.Fprintln(w, "The default users are: admin and demo")
	fmt.Fprintln(w, "The password:", s.Secrets.AdminPassword)
	fmt.Fprintf(w, "Credentials: source %s [admin|demo]\n", filepath.Join(s.DataDir, "openrc"))
	fmt.Fprintf(w, "         or: export OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=tenku-admin\n", filepath.Join(s.DataDir, "clouds.yaml"))
	fmt.Fprintln(w)
	fmt.Fprintf(w, "stack completed in %.2f seconds.\n", s.Ready.Seconds())
}

// WriteCredentials writes openrc and clouds.yaml into the data directory.
func (s *Stack) WriteCredentials() error {
	c := credFiles{AuthURL: s.URLs["keystone"], Region: s.Region, Password: s.Secrets.AdminPassword}
	if err := c.WriteOpenrc(filepath.Join(s.DataDir, "openrc")); err != nil {
		return err
	}
	return c.WriteCloudsYAML(filepath.Join(s.DataDir, "clouds.yaml"))
}

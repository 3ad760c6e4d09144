package computetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute"
	"github.com/tenku-cloud/tenku/internal/compute/agent"
	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/clients/fakes"
	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// The test identities' tokens, projects and users.
const (
	AdminToken   = "admin-token"
	DemoToken    = "demo-token"
	AltToken     = "alt-token"
	AdminProject = "0000000000000000000000000000000a"
	DemoProject  = "0000000000000000000000000000000d"
	AltProject   = "000000000000000000000000000000a1"
	AdminUser    = "u-admin"
	DemoUser     = "u-demo"
	AltUser      = "u-alt"
)

// Identities maps the test tokens to callers.
var Identities = map[string]authn.Context{
	AdminToken: {UserID: AdminUser, ProjectID: AdminProject, Roles: []string{"admin", "member", "reader"}},
	DemoToken:  {UserID: DemoUser, ProjectID: DemoProject, Roles: []string{"member", "reader"}},
	AltToken:   {UserID: AltUser, ProjectID: AltProject, Roles: []string{"member", "reader"}},
}

// Validator accepts the test tokens.
func Validator() authn.Validator {
	return authn.ValidatorFunc(func(_ context.Context, tok string) (*authn.Context, error) {
		if a, ok := Identities[tok]; ok {
			a.Token = tok
			return &a, nil
		}
		return nil, fault.Unauthorized("The request you have made requires authentication.")
	})
}

// Options configure a test cloud.
type Options struct {
	// Dir holds the database and the agents' files.
	Dir string
	// DBURL is the database; empty is a SQLite file in Dir.
	DBURL string
	// Hosts are the compute hosts; nil is one, "compute1".
	Hosts []string
	// NewDriver returns the hypervisor of a host (tests pass the fake
	// driver; computetest picks none itself, as only the assembly and
	// tests choose concrete drivers).
	NewDriver func(host string) virt.Driver
	// Config changes the compute configuration.
	Config func(c *conf.Config)
	// PortStatus is the status of bound ports: "ACTIVE" (no
	// network-vif-plugged wait) or "DOWN" (the default: the agent waits for
	// the event fake Neutron sends).
	PortStatus string
	// PlugDelay delays fake Neutron's network-vif-plugged events.
	PlugDelay time.Duration
}

// Cloud is a running test cloud.
type Cloud struct {
	URL     string
	Config  conf.Config
	DB      *store.DB
	Store   *cstore.Store
	Bus     *bus.Bus
	Service *compute.Service
	Images  *fakes.Images
	Network *fakes.Network
	// Image is an active cirros-like image; PrivateNet the demo project's
	// network, SharedNet a shared one.
	Image      *objects.ImageMeta
	PrivateNet *clients.Net
	SharedNet  *clients.Net

	mu        sync.Mutex
	newDriver func(host string) virt.Driver
	drivers   map[string]virt.Driver
	agents    map[string]*agent.Agent
	dir       string
	srv       *http.Server
	ln        net.Listener
}

// Start starts a test cloud.
func Start(ctx context.Context, o Options) (*Cloud, error) {
	if o.Dir == "" {
		return nil, errors.New("computetest: a directory is required")
	}
	if o.Hosts == nil {
		o.Hosts = []string{"compute1"}
	}
	cfg := compute.DefaultConfig()
	cfg.Default.ReportInterval = time.Second
	cfg.Default.ServiceDownTime = 5 * time.Second
	cfg.Default.VIFPluggingTimeout = 10 * time.Second
	cfg.Scheduler.RefreshInterval = 200 * time.Millisecond
	cfg.Neutron.MetadataProxySharedSecret = "computetest-metadata-secret"
	if o.Config != nil {
		o.Config(&cfg)
	}
	url := o.DBURL
	if url == "" {
		url = "sqlite://" + filepath.Join(o.Dir, "nova.db")
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	c := &Cloud{Config: cfg, DB: db, Store: cstore.New(db), Images: fakes.NewImages(), Network: fakes.NewNetwork(),
		drivers: map[string]virt.Driver{}, agents: map[string]*agent.Agent{}, dir: o.Dir}
	fail := func(err error) (*Cloud, error) { c.Close(); return nil, err }
	if _, err := db.Migrate(ctx, compute.Migrations); err != nil {
		return fail(err)
	}
	if err := compute.EnsureDefaultFlavors(ctx, db); err != nil {
		return fail(err)
	}
	if c.Bus, err = bus.Open(ctx, bus.Options{}); err != nil {
		return fail(err)
	}
	c.Image = c.Images.Add(objects.ImageMeta{Name: "cirros-0.6.2-x86_64-disk", DiskFormat: "qcow2", Visibility: "public"}, bytes.Repeat([]byte("cirros"), 1024))
	c.PrivateNet = c.Network.AddNetwork("private", DemoProject, "10.0.0.0/24", false)
	c.SharedNet = c.Network.AddNetwork("shared", AdminProject, "192.168.233.0/24", true)
	if o.PortStatus != "" {
		c.Network.BoundStatus = o.PortStatus
	}
	c.Network.NotifyDelay = o.PlugDelay
	c.Network.Notify = c.notifyPlugged

	c.Service, err = compute.New(cfg, service.Deps{DB: db, Bus: c.Bus, Auth: Validator()}, compute.WithClients(c.Images, c.Network))
	if err != nil {
		return fail(err)
	}
	if err := c.Service.Start(ctx); err != nil {
		return fail(err)
	}
	if c.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return fail(err)
	}
	c.URL = "http://" + c.ln.Addr().String()
	c.srv = &http.Server{Handler: c.Service, ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(c.ln)
	if o.NewDriver == nil {
		return fail(errors.New("computetest: Options.NewDriver is required"))
	}
	c.newDriver = o.NewDriver
	for _, h := range o.Hosts {
		c.drivers[h] = o.NewDriver(h)
		if err := c.StartAgent(ctx, h); err != nil {
			return fail(err)
		}
	}
	return c, nil
}

// StartAgent starts (or restarts) a host's agent on its fake hypervisor.
func (c *Cloud) StartAgent(ctx context.Context, host string) error {
	c.mu.Lock()
	drv := c.drivers[host]
	if drv == nil {
		drv = c.newDriver(host)
		c.drivers[host] = drv
	}
	c.mu.Unlock()
	ag, err := agent.New(c.Config, service.Deps{Bus: c.Bus, Host: host, DataDir: filepath.Join(c.dir, host)}, drv, agent.WithClients(c.Images, c.Network))
	if err != nil {
		return err
	}
	if err := ag.Start(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	c.agents[host] = ag
	c.mu.Unlock()
	return nil
}

// StopAgent stops a host's agent; its hypervisor keeps its guests.
func (c *Cloud) StopAgent(ctx context.Context, host string) error {
	c.mu.Lock()
	ag := c.agents[host]
	delete(c.agents, host)
	c.mu.Unlock()
	if ag == nil {
		return nil
	}
	return ag.Shutdown(ctx)
}

// Driver returns a host's hypervisor.
func (c *Cloud) Driver(host string) virt.Driver {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.drivers[host]
}

// notifyPlugged is fake Neutron's notifier: it tells Nova a port is up.
func (c *Cloud) notifyPlugged(instanceUUID, portID string) {
	body, _ := json.Marshal(map[string]any{"events": []map[string]any{{"name": "network-vif-plugged", "server_uuid": instanceUUID, "tag": portID, "status": "completed"}}})
	req, _ := http.NewRequest("POST", c.URL+"/v2.1/os-server-external-events", bytes.NewReader(body))
	req.Header.Set("X-Auth-Token", AdminToken)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
}

// Close stops everything.
func (c *Cloud) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if c.Network != nil {
		c.Network.Close()
	}
	c.mu.Lock()
	agents := c.agents
	c.agents = map[string]*agent.Agent{}
	c.mu.Unlock()
	for _, a := range agents {
		a.Shutdown(ctx)
	}
	if c.srv != nil {
		c.srv.Shutdown(ctx)
	}
	if c.Service != nil {
		c.Service.Shutdown(ctx)
	}
	if c.Bus != nil {
		c.Bus.Close()
	}
	if c.DB != nil {
		c.DB.Close()
	}
}

// Do makes an API request and decodes a JSON answer into out (when not nil).
func (c *Cloud) Do(ctx context.Context, method, path, token, version string, body, out any) (int, error) {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, c.URL+path, nil)
	}
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Auth-Token", token)
	if version != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+version)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

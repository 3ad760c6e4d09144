package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute"
	computeagent "github.com/tenku-cloud/tenku/internal/compute/agent"
	"github.com/tenku-cloud/tenku/internal/compute/clients"
	fakevirt "github.com/tenku-cloud/tenku/internal/compute/virt/fake"
	networkagent "github.com/tenku-cloud/tenku/internal/network/agent"
	fakedataplane "github.com/tenku-cloud/tenku/internal/network/dataplane/fake"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/stack"
)

// Options size the simulated cloud.
type Options struct {
	// Dir holds the databases (SQLite) and the agents' files.
	Dir string
	// HostIPs are the addresses the control replicas bind, one per
	// replica (at least one).
	HostIPs []string
	// DatabaseURL is a URL template with {service} ("postgres://.../sim_{service}");
	// empty is SQLite in Dir (one replica only).
	DatabaseURL string
	// BusURL is an external NATS; empty embeds one (one replica only).
	BusURL string
	// BusPrefix isolates this cloud's subjects on a shared NATS.
	BusPrefix string
	// Hosts is the number of compute hosts; NetAgents the number of
	// network agents (on the first NetAgents compute hosts' names).
	Hosts, NetAgents int
	// Log receives the services' logs (nil: discarded).
	Log *slog.Logger
}

// Cloud is a running simulated cloud.
type Cloud struct {
	Options
	// Replicas are the control planes, all on one database and bus.
	Replicas []*stack.Stack
	// AdminPassword is the admin and demo users' password.
	AdminPassword string

	mu      sync.Mutex
	compute []*computeagent.Agent
	network []*networkagent.Agent
}

// controlServices are what a control replica runs: no agents.
var controlServices = []string{"keystone", "glance", "neutron", "nova"}

// controlNovaConf lets one host take a realistic share of a steady load and
// keeps the scheduler's snapshot fresh enough for claims to rarely lose.
const controlNovaConf = `[filter_scheduler]
max_instances_per_host = 200
max_io_ops_per_host = 64
[quota]
instances = -1
cores = -1
ram = -1
`

// Start starts the control replicas, one after another (each start-up step
// is safe to run beside another, but the figures want a settled cloud), then
// the hosts.
func Start(ctx context.Context, o Options) (*Cloud, error) {
	if len(o.HostIPs) == 0 {
		return nil, errors.New("sim: a host address is required")
	}
	if len(o.HostIPs) > 1 && (o.DatabaseURL == "" || o.BusURL == "") {
		return nil, errors.New("sim: replicas need a shared database (-db) and an external NATS (-bus)")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cloud{Options: o, AdminPassword: "sim-admin-pass"}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	for i, ip := range o.HostIPs {
		dir := filepath.Join(o.Dir, fmt.Sprintf("control%d", i))
		etc := filepath.Join(dir, "etc")
		if err := os.MkdirAll(etc, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(etc, "nova.conf"), []byte(controlNovaConf), 0o600); err != nil {
			return nil, err
		}
		data := dir
		if o.DatabaseURL == "" && i > 0 {
			return nil, errors.New("sim: SQLite serves one replica")
		}
		st, err := stack.Start(ctx, stack.Components(), stack.Options{
			DataDir: data, ConfigDir: etc, HostIP: ip, Services: controlServices, TestData: true,
			RandomPorts: true, MetricsListen: ip + ":0", DatabaseURL: o.DatabaseURL,
			BusURL: o.BusURL, BusPrefix: o.BusPrefix, Host: fmt.Sprintf("control%d", i),
			Secrets: stack.Secrets{AdminPassword: c.AdminPassword, ServicePassword: "sim-service-pass", MetadataSecret: "sim-metadata-secret", Unchanged: i > 0},
			Log:     o.Log.With("replica", i),
		})
		if err != nil {
			return nil, fmt.Errorf("control replica %d: %w", i, err)
		}
		c.Replicas = append(c.Replicas, st)
	}
	if err := c.startHosts(ctx); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// HostName names simulated host i.
func HostName(i int) string { return fmt.Sprintf("sim%05d", i) }

// agentConfig is the compute agents' nova.conf: Nova's defaults (a heartbeat
// every 10 s, resources every 60 s), and no wait for network-vif-plugged,
// since most hosts have no network agent of their own to plug their ports.
func agentConfig() compute.Config {
	cfg := compute.DefaultConfig()
	cfg.Default.VIFPluggingTimeout = 0
	cfg.Default.VIFPluggingIsFatal = false
	cfg.Default.MaxConcurrentBuilds = 16
	return cfg
}

// startHosts starts the compute agents and network agents, several at a
// time, all on replica 0's bus connection, sharing one Glance and one
// Neutron client (one service token for the lot).
func (c *Cloud) startHosts(ctx context.Context) error {
	st := c.Replicas[0]
	creds := st.ServiceCredentials("nova")
	sess := clients.NewSession(creds, st.Region, nil)
	images, network := &clients.GlanceImages{S: sess}, &clients.NeutronNetwork{S: sess}
	cfg := agentConfig()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := 0; i < c.Hosts; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.startHost(ctx, i, cfg, images, network); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startHost starts host i's compute agent, and its network agent when i is
// among the first NetAgents. Hosts differ in size, as a real fleet's do.
func (c *Cloud) startHost(ctx context.Context, i int, cfg compute.Config, images clients.Images, network clients.Network) error {
	st := c.Replicas[0]
	host := HostName(i)
	d := service.Deps{Bus: st.Bus, Host: host, DataDir: filepath.Join(c.Dir, "hosts", host), Region: st.Region,
		Log: c.Log.With("service", "nova-compute", "host", host)}
	fc := fakevirt.DefaultConfig()
	fc.VCPUs = 32 + 16*(i%3)
	fc.MemoryMB = (128 + 64*(i%4)) * 1024
	drv := fakevirt.New(fc)
	ag, err := computeagent.New(cfg, d, drv, computeagent.WithClients(images, network))
	if err != nil {
		return err
	}
	if err := ag.Start(ctx); err != nil {
		return fmt.Errorf("%s: %w", host, err)
	}
	c.mu.Lock()
	c.compute = append(c.compute, ag)
	c.mu.Unlock()
	if i >= c.NetAgents {
		return nil
	}
	d.Log = c.Log.With("service", "neutron-agent", "host", host)
	na, err := networkagent.New(networkagent.DefaultConfig(), d, fakedataplane.New())
	if err != nil {
		return err
	}
	if err := na.Start(ctx); err != nil {
		return fmt.Errorf("%s network agent: %w", host, err)
	}
	c.mu.Lock()
	c.network = append(c.network, na)
	c.mu.Unlock()
	return nil
}

// URL returns replica i's endpoint of a service ("nova", "keystone", ...).
func (c *Cloud) URL(i int, service string) string {
	return strings.TrimSuffix(c.Replicas[i%len(c.Replicas)].URLs[service], "/")
}

// Close stops the agents, then the replicas.
func (c *Cloud) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.mu.Lock()
	cs, ns := c.compute, c.network
	c.compute, c.network = nil, nil
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range cs {
		wg.Add(1)
		go func() { defer wg.Done(); a.Shutdown(ctx) }()
	}
	for _, a := range ns {
		wg.Add(1)
		go func() { defer wg.Done(); a.Shutdown(ctx) }()
	}
	wg.Wait()
	for i := len(c.Replicas) - 1; i >= 0; i-- {
		c.Replicas[i].Stop(ctx)
	}
}

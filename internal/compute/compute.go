package compute

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/agent"
	"github.com/tenku-cloud/tenku/internal/compute/api"
	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/conductor"
	"github.com/tenku-cloud/tenku/internal/compute/conf"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Config is nova.conf.
type Config = conf.Config

// DefaultConfig returns Nova's defaults (with devstack's
// allow_resize_to_same_host).
func DefaultConfig() Config { return conf.Default() }

// Migrations is the compute database's schema.
var Migrations = cstore.Migrations

// Option changes how the service is built.
type Option func(*options)

type options struct {
	images   clients.Images
	network  clients.Network
	volumes  clients.Volumes
	driver   virt.Driver
	flavors  bool
	agentOpt []agent.Option
}

// WithClients makes the service use these Glance and Neutron clients instead
// of gophercloud ones built from Deps.Credentials (tests, benchmarks).
func WithClients(images clients.Images, network clients.Network) Option {
	return func(o *options) { o.images, o.network = images, network }
}

// WithAgent runs a compute agent for deps.Host in the same process, on drv
// (tenku stack's all-in-one host); it starts after the conductor and
// scheduler and stops before them.
func WithAgent(drv virt.Driver, opts ...agent.Option) Option {
	return func(o *options) { o.driver, o.agentOpt = drv, opts }
}

// WithDefaultFlavors creates devstack's default flavors (idempotently) when
// the service starts.
func WithDefaultFlavors() Option { return func(o *options) { o.flavors = true } }

// Service is the compute service of a process: the API, the conductor and
// the scheduler worker.
type Service struct {
	api   *api.API
	store *cstore.Store
	cond  *conductor.Conductor
	sched *conductor.Scheduler
	bus   *bus.Bus
	log   *slog.Logger
	cfg   Config
	host  string
	db    *store.DB
	agent *agent.Agent
	seed  bool

	stop chan struct{}
	done chan struct{}
}

var _ service.Service = (*Service)(nil)
var _ http.Handler = (*Service)(nil)

// New builds the compute service over deps.DB (migrated) and deps.Bus.
func New(cfg Config, deps service.Deps, opts ...Option) (*Service, error) {
	if deps.DB == nil || deps.Bus == nil {
		return nil, errors.New("compute: a database and a bus are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Log == nil {
		deps.Log = logging.Discard()
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.images == nil || o.network == nil || o.volumes == nil {
		sess := clients.NewSession(deps.Credentials, deps.Region, nil)
		if o.volumes == nil {
			o.volumes = &clients.CinderVolumes{S: sess}
		}
		if o.images == nil {
			o.images = &clients.GlanceImages{S: sess}
		}
		if o.network == nil {
			o.network = &clients.NeutronNetwork{S: sess}
		}
	}
	st := cstore.New(deps.DB)
	var verifier func(ctx context.Context, token, projectID string) error
	if deps.AuthURL != "" {
		verifier = clients.ProjectVerifier(deps.AuthURL, nil)
	}
	a, err := api.New(cfg, api.Deps{Store: st, Bus: deps.Bus, Images: o.images, Network: o.network, Volumes: o.volumes, Auth: deps.Auth,
		Log: deps.Log, PublicURL: deps.PublicURL, PolicyFile: deps.PolicyFile, VerifyProject: verifier})
	if err != nil {
		return nil, err
	}
	sched, err := conductor.NewScheduler(cfg, st, deps.Log)
	if err != nil {
		return nil, err
	}
	s := &Service{api: a, store: st, sched: sched, cond: conductor.New(cfg, st, deps.Bus, deps.Log, sched), bus: deps.Bus,
		log: deps.Log, cfg: cfg, host: deps.Host, db: deps.DB, seed: o.flavors}
	if s.host == "" {
		s.host, _ = os.Hostname()
	}
	if o.driver != nil {
		ad := deps
		ad.Host = s.host
		aopts := append([]agent.Option{agent.WithClients(o.images, o.network)}, o.agentOpt...)
		if s.agent, err = agent.New(cfg, ad, o.driver, aopts...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ServeHTTP serves the Compute API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// Routes lists the routes of the Compute API.
func (s *Service) Routes() []rest.Route { return s.api.Routes() }

// Name names the service.
func (s *Service) Name() string { return "nova" }

// Start recounts quota usage, then starts the scheduler and conductor
// workers (and the in-process agent), which report as nova-scheduler and
// nova-conductor services.
func (s *Service) Start(ctx context.Context) error {
	if s.seed {
		if err := EnsureDefaultFlavors(ctx, s.db); err != nil {
			return err
		}
	}
	if err := s.store.RefreshUsage(ctx); err != nil {
		return err
	}
	if err := s.sched.Start(ctx, s.bus); err != nil {
		return err
	}
	if err := s.cond.Start(ctx); err != nil {
		s.sched.Stop()
		return err
	}
	if err := s.heartbeat(ctx); err != nil {
		s.cond.Stop()
		s.sched.Stop()
		return err
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.heartbeats()
	if s.agent != nil {
		if err := s.agent.Start(ctx); err != nil {
			s.Shutdown(ctx)
			return err
		}
	}
	return nil
}

// heartbeat records the conductor and scheduler workers as alive.
func (s *Service) heartbeat(ctx context.Context) error {
	for _, b := range []string{"nova-conductor", "nova-scheduler"} {
		if _, err := s.store.Heartbeat(ctx, s.host, b, strings.TrimPrefix(b, "nova-"), agent.ServiceVersion, true); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) heartbeats() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Default.ReportInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Default.ReportInterval)
			if err := s.heartbeat(ctx); err != nil {
				s.log.Warn("heartbeat failed", "err", err)
			}
			cancel()
		}
	}
}

// Agent returns the in-process compute agent, if any.
func (s *Service) Agent() *agent.Agent { return s.agent }

// Shutdown stops the agent and the workers, waiting for the work they run.
func (s *Service) Shutdown(ctx context.Context) error {
	var err error
	if s.agent != nil {
		err = s.agent.Shutdown(ctx)
	}
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	s.cond.Stop()
	s.sched.Stop()
	return err
}

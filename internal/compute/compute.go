// Package compute is Nova as one tenku service: nova-api (the Compute API
// v2.1 on port 8774), nova-conductor and nova-scheduler (workers in queue
// groups on the bus). Compute agents (nova-compute) are built with
// compute/agent for each hypervisor host.
//
// The assembly calls DefaultConfig, migrates the database with Migrations,
// creates the default flavors with EnsureDefaultFlavors, then New; the
// returned Service is the API's http.Handler and a service.Service that runs
// the conductor and scheduler workers.
//
// compute imports its own subpackages (api, conductor, conf, store, clients)
// and platform/*; it never imports a hypervisor driver.
package compute

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/tenku-cloud/tenku/internal/compute/api"
	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/conductor"
	"github.com/tenku-cloud/tenku/internal/compute/conf"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/service"
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
	images  clients.Images
	network clients.Network
}

// WithClients makes the service use these Glance and Neutron clients instead
// of gophercloud ones built from Deps.Credentials (tests, benchmarks).
func WithClients(images clients.Images, network clients.Network) Option {
	return func(o *options) { o.images, o.network = images, network }
}

// Service is the compute service of a process: the API, the conductor and
// the scheduler worker.
type Service struct {
	api   *api.API
	store *cstore.Store
	cond  *conductor.Conductor
	sched *conductor.Scheduler
	bus   *bus.Bus
	log   *slog.Logger
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
	if o.images == nil || o.network == nil {
		sess := clients.NewSession(deps.Credentials, deps.Region, nil)
		if o.images == nil {
			o.images = &clients.GlanceImages{S: sess}
		}
		if o.network == nil {
			o.network = &clients.NeutronNetwork{S: sess}
		}
	}
	st := cstore.New(deps.DB)
	a, err := api.New(cfg, api.Deps{Store: st, Bus: deps.Bus, Images: o.images, Network: o.network, Auth: deps.Auth,
		Log: deps.Log, PublicURL: deps.PublicURL, PolicyFile: deps.PolicyFile})
	if err != nil {
		return nil, err
	}
	sched, err := conductor.NewScheduler(cfg, st, deps.Log)
	if err != nil {
		return nil, err
	}
	return &Service{api: a, store: st, sched: sched, cond: conductor.New(cfg, st, deps.Bus, deps.Log, sched), bus: deps.Bus, log: deps.Log}, nil
}

// ServeHTTP serves the Compute API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// Name names the service.
func (s *Service) Name() string { return "nova" }

// Start recounts quota usage, then starts the scheduler and conductor
// workers.
func (s *Service) Start(ctx context.Context) error {
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
	return nil
}

// Shutdown stops the workers, waiting for the work they run.
func (s *Service) Shutdown(ctx context.Context) error {
	s.cond.Stop()
	s.sched.Stop()
	return nil
}

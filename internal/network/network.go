package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tenku-cloud/tenku/internal/network/agent"
	"github.com/tenku-cloud/tenku/internal/network/api"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	"github.com/tenku-cloud/tenku/internal/network/notify"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

// Migrations is the networking database schema.
var Migrations = nstore.Migrations

// Service is the network server: the Neutron v2.0 API (an http.Handler for
// port 9696) and a service.Service whose Start serves the agents over the bus
// and pushes changes to them, and starts the Nova notifier.
type Service struct {
	cfg    Config
	deps   service.Deps
	plugin *plugin.Plugin
	api    *api.API
	nova   *notify.HTTP
	subs   []*bus.Subscription
}

var (
	_ service.Service = (*Service)(nil)
	_ http.Handler    = (*Service)(nil)
)

// Options are what tests and the assembly may add to Deps.
type Options struct {
	// Nova replaces the HTTP notifier (tests pass a *notify.Recorder).
	Nova notify.Notifier
}

// New builds the network service. d.DB must be migrated with Migrations.
func New(cfg Config, d service.Deps) (*Service, error) {
	return NewWith(cfg, d, Options{})
}

// NewWith is New with options.
func NewWith(cfg Config, d service.Deps, o Options) (*Service, error) {
	pcfg, err := cfg.pluginConfig()
	if err != nil {
		return nil, err
	}
	if d.DB == nil {
		return nil, errors.New("network: a database is required")
	}
	log := d.Log
	if log == nil {
		log = logging.Discard()
	}
	s := &Service{cfg: cfg, deps: d}
	nova := o.Nova
	if nova == nil {
		if d.Credentials.Username != "" && (pcfg.NotifyNovaOnPortStatusChanges || pcfg.NotifyNovaOnPortDataChanges) {
			creds := d.Credentials
			if creds.AuthURL == "" {
				creds.AuthURL = d.AuthURL
			}
			region := cfg.Nova.RegionName
			if region == "" {
				region = d.Region
			}
			s.nova = notify.NewHTTP(notify.HTTPOptions{Credentials: creds, Region: region, Interface: cfg.Nova.EndpointType,
				Interval: cfg.Default.SendEventsInterval, Log: log})
			nova = s.nova
		} else {
			nova = notify.Discard{}
		}
	}
	s.plugin, err = plugin.New(pcfg, plugin.Deps{Store: nstore.New(d.DB), Bus: d.Bus, Nova: nova, Log: log})
	if err != nil {
		return nil, err
	}
	policyFile := cfg.OsloPolicy.PolicyFile
	if policyFile == "" {
		policyFile = d.PolicyFile
	}
	s.api, err = api.New(api.Options{Plugin: s.plugin, Auth: d.Auth, AuthURL: d.AuthURL, PolicyFile: policyFile,
		EnforceScope: cfg.OsloPolicy.EnforceScope, PublicURL: d.PublicURL, PaginationMaxLimit: cfg.Default.PaginationMaxLimit, Log: log})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Plugin exposes the core (for the assembly's topology and for tests).
func (s *Service) Plugin() *plugin.Plugin { return s.plugin }

// Name names the service.
func (s *Service) Name() string { return "neutron" }

// ServeHTTP serves the Neutron API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// Routes lists the routes of the Neutron API.
func (s *Service) Routes() []rest.Route { return s.api.Routes() }

// Start serves agents and starts pushing changes and notifying Nova.
func (s *Service) Start(ctx context.Context) error {
	if s.nova != nil {
		s.nova.Start(ctx)
	}
	if s.deps.Bus != nil {
		handlers := map[string]bus.Handler{
			rpc.MethodReportState: func(ctx context.Context, args json.RawMessage) (any, error) {
				r, err := bus.Decode[rpc.ReportState](args)
				if err != nil {
					return nil, err
				}
				err = s.plugin.ReportState(ctx, r)
				s.deps.Metrics.Heartbeat("neutron-agent", err)
				return nil, err
			},
			rpc.MethodSyncState: func(ctx context.Context, args json.RawMessage) (any, error) {
				r, err := bus.Decode[rpc.SyncState](args)
				if err != nil {
					return nil, err
				}
				if v := max(r.Version, 1); v != rpc.Version {
					return nil, fault.BadRequest("the network agent of %s speaks protocol version %d, this server %d: run the same tenku release on both", r.Host, v, rpc.Version)
				}
				return s.plugin.SyncState(ctx, r.Host)
			},
			rpc.MethodSecurityGroupMembers: func(ctx context.Context, args json.RawMessage) (any, error) {
				r, err := bus.Decode[rpc.SecurityGroupMembers](args)
				if err != nil {
					return nil, err
				}
				groups, err := s.plugin.GroupMembers(ctx, r.GroupIDs)
				return rpc.MembersReply{Groups: groups}, err
			},
			rpc.MethodMetadataInstance: func(ctx context.Context, args json.RawMessage) (any, error) {
				r, err := bus.Decode[rpc.MetadataInstance](args)
				if err != nil {
					return nil, err
				}
				return s.plugin.MetadataInstance(ctx, r.NetworkIDs, r.IP)
			},
			rpc.MethodUpdateDeviceStatus: func(ctx context.Context, args json.RawMessage) (any, error) {
				r, err := bus.Decode[rpc.UpdateDeviceStatus](args)
				if err != nil {
					return nil, err
				}
				return nil, s.plugin.UpdateDeviceStatus(ctx, r)
			},
			rpc.MethodUpdateFIPStatus: func(ctx context.Context, args json.RawMessage) (any, error) {
				r, err := bus.Decode[rpc.UpdateFIPStatus](args)
				if err != nil {
					return nil, err
				}
				return nil, s.plugin.UpdateFloatingIPStatuses(ctx, r)
			},
		}
		sub, err := s.deps.Bus.Serve(ctx, rpc.ServerSubject, bus.ServeOptions{Queue: rpc.ServerQueue}, handlers)
		if err != nil {
			return fmt.Errorf("serve network agents: %w", err)
		}
		s.subs = append(s.subs, sub)
	}
	s.plugin.Start(ctx)
	return nil
}

// Shutdown stops serving agents and flushes pending pushes and events.
func (s *Service) Shutdown(ctx context.Context) error {
	for _, sub := range s.subs {
		sub.Stop()
	}
	s.subs = nil
	s.plugin.Stop(ctx)
	if s.nova != nil {
		s.nova.Stop(ctx)
	}
	return nil
}

// NewAgent returns the network agent of d.Host (Neutron's L2, DHCP, L3 and
// metadata agents) driving driver.
func NewAgent(cfg Config, d service.Deps, driver dataplane.Driver) (*agent.Agent, error) {
	return agent.New(cfg.Agent, d, driver)
}

var _ = time.Second

package service

import (
	"log/slog"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/metrics"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Deps are what the assembly (internal/stack, cmd/tenku) hands every service.
// A service package exposes, by convention:
//
//	func DefaultConfig() Config              // zero configuration must work
//	var Migrations store.Migrations          // its schema, applied by the assembly
//	func New(cfg Config, d service.Deps) (*X, error)
//
// where *X is an http.Handler (the API) and a Service (Start subscribes to the bus
// and starts background work; Shutdown stops it). Agents follow the same shape.
type Deps struct {
	// Log is the service's logger (already tagged with service=<name>).
	Log *slog.Logger
	// DB is the service's own database, migrated before New is called.
	DB *store.DB
	// Bus is the message bus (shared by all services of the process).
	Bus *bus.Bus
	// Auth validates the X-Auth-Token of API requests (cached, and flushed when
	// Keystone announces a revocation). Keystone itself gets nil and validates
	// its own tokens.
	Auth authn.Validator
	// AuthURL is Keystone's public endpoint, e.g. http://127.0.0.1:5000/v3.
	AuthURL string
	// Credentials are this service's own user (project "service", role "service"
	// and "admin" as devstack grants), for calls to other services.
	Credentials authn.ServiceCredentials
	// PublicURL is this service's endpoint as published in the catalog (used in
	// links; requests' Host header wins when it differs).
	PublicURL string
	// Region is the catalog region ("RegionOne").
	Region string
	// DataDir is where the service may keep files (image store, instance disks).
	DataDir string
	// Host is the name of this host (compute and network agents).
	Host string
	// PolicyFile is an optional policy.yaml/json overriding default rules.
	PolicyFile string
	// Metrics is the process's Prometheus registry; nil records nothing.
	Metrics *metrics.Registry
}

// Revocations is the bus subject on which Keystone announces token revocations;
// every service subscribes (fan-out) and flushes its token cache.
const Revocations = "identity.revocations"

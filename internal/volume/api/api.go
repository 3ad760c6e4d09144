package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// MinVersion and MaxVersion bound the microversions served. tenku raises
// MaxVersion as the features of each microversion land: 3.1 (visibility
// and protected in os-volume_upload_image), 3.2 (the strict bootable
// filter), 3.3 (/messages), 3.4 (the glance_metadata filter), 3.5
// (message filters, sort, pagination), 3.6 (empty consistency group names
// in updates: tenku has no consistency groups at any version) and 3.7
// (/clusters, and cluster in os-services: tenku's services are not
// clustered), 3.8 (manageable_volumes and manageable_snapshots lists:
// tenku's drivers manage nothing existing, so they offer none), 3.9
// (backup update), 3.10 (the group_id volume filter: no volume is in a
// group), 3.11 (group types and group specs) and 3.12 (volume summary).
// 3.13 needs generic groups, 3.14 group snapshots.
var (
	MinVersion = rest.V(3, 0)
	MaxVersion = rest.V(3, 12)
)

// Options are what the API needs.
type Options struct {
	DB      *store.DB
	Bus     *bus.Bus
	Log     *slog.Logger
	Auth    authn.Validator
	AuthURL string

	PolicyFile         string
	EnforceScope       bool
	EnforceNewDefaults bool

	// PublicEndpoint overrides the URL in version documents and links.
	PublicEndpoint string
	// MaxLimit is osapi_max_limit, the largest page.
	MaxLimit int
	// DefaultType is default_volume_type.
	DefaultType string
	// StorageAZ is storage_availability_zone; DefaultAZ is
	// default_availability_zone (empty: StorageAZ).
	StorageAZ string
	DefaultAZ string
	// ServiceDownTime is how long a volume service may be silent before it
	// counts as down.
	ServiceDownTime time.Duration
	// CreateTimeout and DeleteTimeout bound the transitional states: a
	// volume creating (or deleting) longer goes to error (error_deleting).
	CreateTimeout time.Duration
	DeleteTimeout time.Duration
	// SweepInterval is how often transitional states are checked.
	SweepInterval time.Duration
	// MaxRequestBody bounds JSON bodies.
	MaxRequestBody int64
	// Quotas are the default quotas ([DEFAULT] quota_volumes, ...).
	Quotas QuotaDefaults
	// Host names this process in os-services (cinder-scheduler's host).
	Host string
	// Images reaches Glance (volumes from images, uploads to images); nil
	// answers those requests 503.
	Images Images
}

// API serves the Block Storage API and the manager's bus methods.
type API struct {
	opt    Options
	db     *store.DB
	bus    *bus.Bus
	pol    *policy.Enforcer
	log    *slog.Logger
	router *rest.Router

	subs     []*bus.Subscription
	bg       sync.WaitGroup
	bgCancel context.CancelFunc
}

// New builds the API.
func New(opt Options) (*API, error) {
	if opt.DB == nil || opt.Bus == nil {
		return nil, errors.New("volume api: DB and Bus are required")
	}
	if opt.Log == nil {
		opt.Log = logging.Discard()
	}
	if opt.MaxLimit <= 0 {
		opt.MaxLimit = 1000
	}
	if opt.DefaultType == "" {
		opt.DefaultType = volume.DefaultTypeName
	}
	if opt.StorageAZ == "" {
		opt.StorageAZ = "nova"
	}
	if opt.DefaultAZ == "" {
		opt.DefaultAZ = opt.StorageAZ
	}
	if opt.ServiceDownTime <= 0 {
		opt.ServiceDownTime = 60 * time.Second
	}
	if opt.CreateTimeout <= 0 {
		opt.CreateTimeout = 10 * time.Minute
	}
	if opt.DeleteTimeout <= 0 {
		opt.DeleteTimeout = 10 * time.Minute
	}
	if opt.SweepInterval <= 0 {
		opt.SweepInterval = 30 * time.Second
	}
	pol, err := policy.New(DefaultRules(), policy.Options{
		EnforceScope: opt.EnforceScope, EnforceNewDefaults: opt.EnforceNewDefaults,
		PolicyFile: opt.PolicyFile, Logger: opt.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("volume policy: %w", err)
	}
	a := &API{opt: opt, db: opt.DB, bus: opt.Bus, pol: pol, log: opt.Log}
	a.router, err = rest.NewRouter(rest.Options{
		Service: "volume",
		// Cinder's routes mapper answers 404 to a method a path does not
		// have (DELETE /volumes/ with an empty id), and does not match
		// /volumes/ to /volumes.
		UnknownMethodNotFound: true,
		TrailingSlashNotFound: true,
		Errors:                rest.ComputeErrors("computeFault"),
		Auth:                  opt.Auth,
		Enforcer:              enforcer{pol},
		Microversion:          &rest.Microversion{ServiceType: "volume", Min: MinVersion, Max: MaxVersion},
		MaxBody:               opt.MaxRequestBody,
		AuthURL:               opt.AuthURL,
		Log:                   opt.Log,
		SchemaError: func(field, reason string) *fault.Error {
			return fault.BadRequest("Invalid input for field/attribute %s. %s", field, reason)
		},
	}, a.versionRoutes(), a.volumeRoutes(), a.typeRoutes(), a.actionRoutes(), a.snapshotRoutes(), a.miscRoutes(), a.attachmentRoutes(), a.backupRoutes(), a.transferRoutes(), a.messageRoutes(), a.hostRoutes(), a.quotaRoutes(), a.qosRoutes(), a.encryptionRoutes(), a.mvRoutes(), a.groupTypeRoutes(), a.summaryRoutes(), a.extensionRoutes())
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

// Routes lists the API's routes.
func (a *API) Routes() []rest.Route { return a.router.Routes() }

// Start makes the default volume type, subscribes the manager to the bus
// and starts the sweep of transitional states.
func (a *API) Start(ctx context.Context) error {
	if err := a.ensureDefaultType(ctx); err != nil {
		return err
	}
	if err := a.serveManager(ctx); err != nil {
		return err
	}
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.bgCancel = cancel
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		t := time.NewTicker(a.opt.SweepInterval)
		defer t.Stop()
		for {
			a.heartbeat(bgCtx)
			a.Sweep(bgCtx)
			select {
			case <-bgCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Close stops the manager and the sweep.
func (a *API) Close(ctx context.Context) error {
	for _, s := range a.subs {
		s.Stop()
	}
	if a.bgCancel != nil {
		a.bgCancel()
	}
	done := make(chan struct{})
	go func() { a.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *API) ensureDefaultType(ctx context.Context) error {
	if _, err := a.db.GetTypeByName(ctx, volume.DefaultTypeName); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	desc := "Default Volume Type"
	err := a.db.CreateType(ctx, &store.Type{Name: volume.DefaultTypeName, Description: &desc, IsPublic: true})
	if errors.Is(err, store.ErrDuplicate) {
		return nil
	}
	return err
}

// base is the public root of the service for links.
func (a *API) base(r *rest.Request) string {
	if a.opt.PublicEndpoint != "" {
		return a.opt.PublicEndpoint
	}
	return r.BaseURL()
}

func (a *API) versionRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/", Public: true, Status: http.StatusMultipleChoices, Handler: a.versions},
		{Method: "GET", Path: "/v3", Public: true, Handler: a.version},
	}
}

func (a *API) versionDoc(r *rest.Request) volume.Version {
	return volume.Version{
		ID: "v3.0", Status: "CURRENT", Version: MaxVersion.String(), MinVersion: MinVersion.String(),
		Updated: "2022-08-31T00:00:00Z",
		Links: []volume.Link{
			{Href: "https://docs.openstack.org/", Rel: "describedby", Type: "text/html"},
			{Href: a.base(r) + "/v3/", Rel: "self"},
		},
		MediaTypes: []volume.MediaType{{Base: "application/json", Type: "application/vnd.openstack.volume+json;version=3"}},
	}
}

func (a *API) versions(ctx context.Context, r *rest.Request) (any, error) {
	return map[string]any{"versions": []volume.Version{a.versionDoc(r)}}, nil
}

func (a *API) version(ctx context.Context, r *rest.Request) (any, error) {
	return map[string]any{"versions": []volume.Version{a.versionDoc(r)}}, nil
}

// timeFmt is how Cinder renders times.
const timeFmt = "2006-01-02T15:04:05.000000"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFmt) }

func strp(s string) *string { return &s }

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

package volume

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"

	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/volume/api"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
	"github.com/tenku-cloud/tenku/internal/volume/backup"
	"github.com/tenku-cloud/tenku/internal/volume/glance"
	"github.com/tenku-cloud/tenku/internal/volume/manager"
	"github.com/tenku-cloud/tenku/internal/volume/scheduler"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// Migrations is the block storage service's schema.
var Migrations = store.Migrations

// Service is cinder-api with cinder-scheduler beside it.
type Service struct {
	api   *api.API
	sched *scheduler.Scheduler
}

var _ service.Service = (*Service)(nil)
var _ http.Handler = (*Service)(nil)

// New builds cinder-api and cinder-scheduler. Deps.DB must be migrated.
func New(cfg Config, d service.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.DB == nil || d.Bus == nil {
		return nil, errors.New("volume: a database and a bus are required")
	}
	log := d.Log
	if log == nil {
		log = logging.Discard()
	}
	pf := cfg.Policy.PolicyFile
	if pf == "" {
		pf = d.PolicyFile
	}
	db := store.New(d.DB)
	if cfg.Default.MessageTTL > 0 {
		db.MessageTTL = cfg.Default.MessageTTL
	}
	a, err := api.New(api.Options{
		DB: db, Bus: d.Bus, Log: log, Auth: d.Auth, AuthURL: d.AuthURL,
		PolicyFile: pf, EnforceScope: cfg.Policy.EnforceScope, EnforceNewDefaults: cfg.Policy.EnforceNewDefaults,
		PublicEndpoint: cfg.Default.PublicEndpoint, MaxLimit: cfg.Default.OSAPIMaxLimit,
		DefaultType: cfg.Default.DefaultVolumeType, StorageAZ: cfg.Default.StorageAvailabilityZone,
		DefaultAZ: cfg.Default.DefaultAvailabilityZone, ServiceDownTime: cfg.Default.ServiceDownTime,
		CreateTimeout: cfg.Default.CreateTimeout, DeleteTimeout: cfg.Default.DeleteTimeout,
		MaxRequestBody: cfg.Middware.MaxRequestBodySize,
		Quotas: api.QuotaDefaults{
			Volumes: cfg.Default.QuotaVolumes, Gigabytes: cfg.Default.QuotaGigabytes, Snapshots: cfg.Default.QuotaSnapshots,
			Backups: cfg.Default.QuotaBackups, BackupGigabytes: cfg.Default.QuotaBackupGigabytes, Groups: cfg.Default.QuotaGroups,
			PerVolumeGigabytes: cfg.Default.PerVolumeSizeLimit,
		},
		Host:   schedulerHost(cfg, d),
		Images: glance.New(d.Credentials, d.Region, nil),
	})
	if err != nil {
		return nil, err
	}
	return &Service{api: a, sched: scheduler.New(db, d.Bus, log, cfg.Default.ServiceDownTime)}, nil
}

// Name names the service in logs.
func (s *Service) Name() string { return "cinder" }

// ServeHTTP serves the Block Storage API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// Routes lists the routes of the Block Storage API.
func (s *Service) Routes() []rest.Route { return s.api.Routes() }

// Start starts the manager side of the API, the sweep and the scheduler.
func (s *Service) Start(ctx context.Context) error {
	if err := s.api.Start(ctx); err != nil {
		return err
	}
	return s.sched.Start(ctx)
}

// Shutdown stops them.
func (s *Service) Shutdown(ctx context.Context) error {
	s.sched.Stop()
	return s.api.Close(ctx)
}

func schedulerHost(cfg Config, d service.Deps) string {
	h := cfg.Default.Host
	if h == "" {
		h = d.Host
	}
	if h == "" {
		h, _ = os.Hostname()
	}
	return h
}

// BackendHost is the volume service's name, host@backend.
func BackendHost(cfg Config, d service.Deps) string {
	return schedulerHost(cfg, d) + "@" + cfg.Backend.VolumeBackendName
}

// NewVolumeService builds cinder-volume for this host's backend driver.
func NewVolumeService(cfg Config, d service.Deps, drv backend.Driver) (service.Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conv := cfg.Default.ImageConversionDir
	if conv == "" && d.DataDir != "" {
		conv = filepath.Join(d.DataDir, "conversion")
	}
	bdir := cfg.Default.BackupPosixPath
	if bdir == "" {
		bdir = filepath.Join(d.DataDir, "backups")
	}
	repo, err := backup.New(bdir)
	if err != nil {
		return nil, err
	}
	return manager.New(manager.Options{
		Host: BackendHost(cfg, d), AvailabilityZone: cfg.Default.StorageAvailabilityZone,
		ReportInterval: cfg.Default.ReportInterval, Log: d.Log,
		Images: glance.New(d.Credentials, d.Region, nil), ConversionDir: conv, Backups: repo,
	}, d.Bus, drv)
}

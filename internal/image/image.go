package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/image/api"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/image/store"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

// Migrations is the image service's database schema.
var Migrations = db.Migrations

// Service is the image service: the Glance v2 API (an http.Handler, for
// port 9292) and a service.Service whose Start recovers from a crash and
// loads the standard metadata definitions, and whose Shutdown waits for
// imports in flight.
type Service struct {
	api *api.API
	db  *db.DB
	log interface {
		InfoContext(ctx context.Context, msg string, args ...any)
		WarnContext(ctx context.Context, msg string, args ...any)
	}
}

var _ service.Service = (*Service)(nil)
var _ http.Handler = (*Service)(nil)

// New builds the image service. Deps.DB must be migrated with Migrations.
func New(cfg Config, d service.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.DB == nil {
		return nil, errors.New("image: a database is required")
	}
	log := d.Log
	if log == nil {
		log = logging.Discard()
	}
	dataDir := cfg.Store.DataDir
	if dataDir == "" {
		if d.DataDir == "" {
			return nil, errors.New("image: [glance_store] filesystem_store_datadir or a data directory is required")
		}
		dataDir = filepath.Join(d.DataDir, "images")
	}
	stagingDir := strings.TrimPrefix(cfg.Default.NodeStagingURI, "file://")
	if stagingDir == "" {
		if d.DataDir == "" {
			return nil, errors.New("image: [DEFAULT] node_staging_uri or a data directory is required")
		}
		stagingDir = filepath.Join(d.DataDir, "staging")
	}
	data, err := store.New(dataDir)
	if err != nil {
		return nil, err
	}
	staging, err := store.New(stagingDir)
	if err != nil {
		return nil, err
	}
	quota, err := ParseSize(cfg.Default.UserStorageQuota)
	if err != nil {
		return nil, err
	}
	policyFile := cfg.Policy.PolicyFile
	if policyFile == "" {
		policyFile = d.PolicyFile
	}
	worker := d.Host
	if worker == "" {
		worker, _ = os.Hostname()
	}
	opt := api.Options{
		DB: db.New(d.DB), Store: data, Staging: staging, Log: log,
		Auth: d.Auth, AuthURL: d.AuthURL,
		PolicyFile: policyFile, EnforceScope: cfg.Policy.EnforceScope, EnforceNewDefaults: cfg.Policy.EnforceNewDefaults,
		PublicEndpoint:          cfg.Default.PublicEndpoint,
		ImageSizeCap:            cfg.Default.ImageSizeCap,
		UserStorageQuota:        quota,
		EnabledImportMethods:    slices.Clone(cfg.Default.EnabledImportMethods),
		ShowMultipleLocations:   cfg.Default.ShowMultipleLocations,
		ShowImageDirectURL:      cfg.Default.ShowImageDirectURL,
		LimitParamDefault:       cfg.Default.LimitParamDefault,
		APILimitMax:             cfg.Default.APILimitMax,
		ImageMemberQuota:        cfg.Default.ImageMemberQuota,
		ImagePropertyQuota:      cfg.Default.ImagePropertyQuota,
		ImageTagQuota:           cfg.Default.ImageTagQuota,
		ContainerFormats:        slices.Clone(cfg.Format.ContainerFormats),
		DiskFormats:             slices.Clone(cfg.Format.DiskFormats),
		RequireImageFormatMatch: cfg.Format.RequireImageFormatMatch,
		MaxRequestBody:          cfg.Middleware.MaxRequestBodySize,
		TaskTimeToLive:          time.Duration(cfg.Task.TimeToLive) * time.Hour,
		Worker:                  worker,
		CacheDir:                cfg.Default.ImageCacheDir,
		CachePrefetcherInterval: time.Duration(cfg.Default.CachePrefetcherInterval) * time.Second,
	}
	if cfg.Default.UseKeystoneLimits {
		opt.Limits = newKeystoneLimits(d.Credentials, d.Region, cfg.Limit)
	}
	a, err := api.New(opt)
	if err != nil {
		return nil, err
	}
	return &Service{api: a, db: opt.DB, log: log}, nil
}

// Name names the service in logs.
func (s *Service) Name() string { return "glance" }

// ServeHTTP serves the Glance API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// Routes lists the routes of the Glance API.
func (s *Service) Routes() []rest.Route { return s.api.Routes() }

// Start recovers what a crash of this worker left half done, removes
// orphaned data, loads the standard metadata definitions and starts the
// image cache's worker.
func (s *Service) Start(ctx context.Context) error {
	return s.api.Start(ctx)
}

// Shutdown waits for imports in flight (they are cancelled when ctx ends;
// the images go back to where a new attempt can start).
func (s *Service) Shutdown(ctx context.Context) error {
	return s.api.Close(ctx)
}

// imageExtensions are the file name endings LoadImages strips to name an
// image, as devstack names the images it uploads.
var imageExtensions = []string{".qcow2", ".img", ".raw", ".iso", ".vmdk", ".vhd", ".vhdx", ".vdi", ".disk"}

// LoadImages registers every image file of dir as a public image of
// owner (the admin project, as devstack does): named after the file
// without its extension, container format bare, disk format as the
// inspector finds it. It is idempotent: a file whose content is already
// registered under its name is skipped. Files that are not disk images,
// or not safe ones, are reported and skipped; the error joins them.
func (s *Service) LoadImages(ctx context.Context, dir, owner string) ([]api.Registered, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("image directory: %w", err)
	}
	var out []api.Registered
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		base := name
		for _, ext := range imageExtensions {
			if strings.HasSuffix(strings.ToLower(base), ext) {
				base = base[:len(base)-len(ext)]
				break
			}
		}
		r, err := s.api.RegisterFile(ctx, filepath.Join(dir, name), base, owner)
		if err != nil {
			s.log.WarnContext(ctx, "image file not registered", "file", name, "err", err)
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Register registers one image file with the formats and properties given
// (an AMI-style kernel, ramdisk and disk).
func (s *Service) Register(ctx context.Context, f api.File) (api.Registered, error) {
	return s.api.Register(ctx, f)
}

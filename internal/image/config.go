package image

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/image/api"
)

// Config is the image service's configuration, glance-api.conf's sections
// and option names where Glance has an equivalent.
type Config struct {
	Default    DefaultOptions    `section:"DEFAULT"`
	Store      StoreOptions      `section:"glance_store"`
	Format     FormatOptions     `section:"image_format"`
	Policy     PolicyOptions     `section:"oslo_policy"`
	Limit      LimitOptions      `section:"oslo_limit"`
	Task       TaskOptions       `section:"task"`
	Middleware MiddlewareOptions `section:"oslo_middleware"`
}

// DefaultOptions are glance-api.conf's [DEFAULT] options.
type DefaultOptions struct {
	ImageSizeCap            int64    `opt:"image_size_cap" help:"Largest image, in bytes, an upload or import may bring; larger data is refused with 413."`
	UserStorageQuota        string   `opt:"user_storage_quota" help:"Bytes of image data a project may keep, with an optional unit (B, KB, MB, GB, TB: 10GB); 0 means unlimited."`
	EnabledImportMethods    []string `opt:"enabled_import_methods" help:"Import methods offered by the interoperable import. tenku implements glance-direct; web-download, glance-download and copy-image are answered as a Glance that has them disabled."`
	ShowMultipleLocations   bool     `opt:"show_multiple_locations" help:"Show the locations of image data (file:// URLs) in image records."`
	ShowImageDirectURL      bool     `opt:"show_image_direct_url" help:"Show direct_url, the location of the image data, in image records."`
	LimitParamDefault       int      `opt:"limit_param_default" help:"Page size of list requests that name no limit."`
	APILimitMax             int      `opt:"api_limit_max" help:"Largest page a list request may ask for."`
	ImageMemberQuota        int      `opt:"image_member_quota" help:"Most members an image may have; negative means unlimited."`
	ImagePropertyQuota      int      `opt:"image_property_quota" help:"Most custom properties an image may have; negative means unlimited."`
	ImageTagQuota           int      `opt:"image_tag_quota" help:"Most tags an image may have; negative means unlimited."`
	ImageLocationQuota      int      `opt:"image_location_quota" help:"Most locations an image may have (the file store keeps one)."`
	UseKeystoneLimits       bool     `opt:"use_keystone_limits" help:"Enforce per-project quotas from Keystone's unified limits (image_size_total and image_stage_total in MiB, image_count_total, image_count_uploading), as Glance does; see [oslo_limit]."`
	PublicEndpoint          string   `opt:"public_endpoint" help:"URL announced in the version document; empty means the URL the client used."`
	NodeStagingURI          string   `opt:"node_staging_uri" help:"file:// URL of the directory where the interoperable import stages data; empty means staging/ under the service's data directory."`
	ImageCacheDir           string   `opt:"image_cache_dir" help:"Directory of the image cache; setting it enables the cache management API (/v2/cache, API 2.14 and later) as in Glance. Empty means no cache."`
	CachePrefetcherInterval int      `opt:"cache_prefetcher_interval" help:"Seconds between runs of the cache prefetcher, which copies images queued for caching (PUT /v2/cache/{id}) into the cache; 0 copies each at once."`
}

// StoreOptions are glance-api.conf's [glance_store] options.
type StoreOptions struct {
	DefaultStore string `opt:"default_store" help:"The store new image data goes to; tenku has the filesystem store, file."`
	DataDir      string `opt:"filesystem_store_datadir" help:"Directory of the filesystem store; empty means images/ under the service's data directory."`
}

// FormatOptions are glance-api.conf's [image_format] options.
type FormatOptions struct {
	ContainerFormats        []string `opt:"container_formats" help:"Container formats images may declare."`
	DiskFormats             []string `opt:"disk_formats" help:"Disk formats images may declare."`
	RequireImageFormatMatch bool     `opt:"require_image_format_match" help:"Refuse uploads whose content is not in the declared disk_format (bare containers). Content that is unsafe for QEMU (backing files, external data files, extents naming files) is refused either way."`
}

// PolicyOptions are the [oslo_policy] options.
type PolicyOptions struct {
	EnforceScope       bool   `opt:"enforce_scope" help:"Refuse tokens whose scope the policy rule is not meant for."`
	EnforceNewDefaults bool   `opt:"enforce_new_defaults" help:"Evaluate only the current default check strings, not the deprecated ones."`
	PolicyFile         string `opt:"policy_file" help:"Operator overrides of the default policies (YAML or JSON); empty means the file the deployment names."`
}

// LimitOptions are the [oslo_limit] options that locate the image
// service's limits in Keystone.
type LimitOptions struct {
	EndpointID          string `opt:"endpoint_id" help:"The image endpoint whose service and region the limits are registered for; empty means find it by service type and region."`
	EndpointServiceType string `opt:"endpoint_service_type" help:"Catalog type of the service when endpoint_id is empty."`
	EndpointRegionName  string `opt:"endpoint_region_name" help:"Region of the service when endpoint_id is empty; empty means the deployment's region."`
}

// TaskOptions are the [task] options.
type TaskOptions struct {
	TimeToLive int `opt:"task_time_to_live" help:"Hours a finished import task stays visible."`
}

// MiddlewareOptions are the [oslo_middleware] options.
type MiddlewareOptions struct {
	MaxRequestBodySize int64 `opt:"max_request_body_size" help:"Largest JSON request body, in bytes; larger ones are refused with 413."`
}

// DefaultConfig returns Glance's defaults, with the import methods tenku
// implements.
func DefaultConfig() Config {
	return Config{
		Default: DefaultOptions{
			ImageSizeCap:            1 << 40,
			UserStorageQuota:        "0",
			EnabledImportMethods:    slices.Clone(api.SupportedImportMethods),
			LimitParamDefault:       25,
			APILimitMax:             1000,
			ImageMemberQuota:        128,
			ImagePropertyQuota:      128,
			ImageTagQuota:           128,
			ImageLocationQuota:      10,
			CachePrefetcherInterval: 300,
		},
		Store: StoreOptions{DefaultStore: "file"},
		Format: FormatOptions{
			ContainerFormats:        []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"},
			DiskFormats:             []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"},
			RequireImageFormatMatch: true,
		},
		Policy:     PolicyOptions{EnforceScope: true, EnforceNewDefaults: true},
		Limit:      LimitOptions{EndpointServiceType: "image"},
		Task:       TaskOptions{TimeToLive: 48},
		Middleware: MiddlewareOptions{MaxRequestBodySize: 114688},
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Default.ImageSizeCap <= 0 {
		errs = append(errs, errors.New("[DEFAULT] image_size_cap must be positive"))
	}
	if _, err := ParseSize(c.Default.UserStorageQuota); err != nil {
		errs = append(errs, fmt.Errorf("[DEFAULT] user_storage_quota: %w", err))
	}
	for _, m := range c.Default.EnabledImportMethods {
		if !slices.Contains(api.SupportedImportMethods, m) {
			errs = append(errs, fmt.Errorf("[DEFAULT] enabled_import_methods: %q is not implemented by tenku (it has %s)", m, strings.Join(api.SupportedImportMethods, ", ")))
		}
	}
	if c.Default.LimitParamDefault <= 0 || c.Default.APILimitMax <= 0 {
		errs = append(errs, errors.New("[DEFAULT] limit_param_default and api_limit_max must be positive"))
	}
	if u := c.Default.NodeStagingURI; u != "" && !strings.HasPrefix(u, "file://") {
		errs = append(errs, fmt.Errorf("[DEFAULT] node_staging_uri %q: only file:// URLs are supported", u))
	}
	if s := c.Store.DefaultStore; s != "" && s != "file" {
		errs = append(errs, fmt.Errorf("[glance_store] default_store %q: tenku has the file store only", s))
	}
	if len(c.Format.ContainerFormats) == 0 || len(c.Format.DiskFormats) == 0 {
		errs = append(errs, errors.New("[image_format] container_formats and disk_formats must not be empty"))
	}
	if c.Task.TimeToLive <= 0 {
		errs = append(errs, errors.New("[task] task_time_to_live must be positive"))
	}
	return errors.Join(errs...)
}

// ParseSize reads a size such as Glance's user_storage_quota: a number of
// bytes with an optional unit B, KB, MB, GB or TB (powers of 1024).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mul    int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}}
	mul := int64(1)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), u.suffix) {
			s, mul = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (a number with an optional unit B, KB, MB, GB, TB)", s)
	}
	if n > (1<<63-1)/mul {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mul, nil
}

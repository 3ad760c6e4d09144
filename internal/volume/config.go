package volume

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
)

// Config is cinder.conf: Cinder's sections and option names where Cinder
// has an equivalent.
type Config struct {
	Default  DefaultOptions `section:"DEFAULT"`
	Backend  BackendOptions `section:"backend_defaults"`
	Policy   PolicyOptions  `section:"oslo_policy"`
	Middware MiddlewareOpts `section:"oslo_middleware"`
}

// DefaultOptions are cinder.conf's [DEFAULT] options.
type DefaultOptions struct {
	OSAPIMaxLimit           int           `opt:"osapi_max_limit" help:"Largest number of items a list request returns."`
	DefaultVolumeType       string        `opt:"default_volume_type" help:"Volume type of volumes created without one."`
	StorageAvailabilityZone string        `opt:"storage_availability_zone" help:"Availability zone of this host's volume services."`
	DefaultAvailabilityZone string        `opt:"default_availability_zone" help:"Availability zone of volumes created without one; empty means storage_availability_zone."`
	ServiceDownTime         time.Duration `opt:"service_down_time" help:"Seconds a volume service may be silent before the scheduler counts it down."`
	ReportInterval          time.Duration `opt:"report_interval" help:"Seconds between a volume service's capacity reports."`
	Host                    string        `opt:"host" help:"Name of this host in volume services' names (host@backend); empty means the machine's."`
	PublicEndpoint          string        `opt:"public_endpoint" help:"URL announced in version documents and links; empty means the URL the client used."`
	CreateTimeout           time.Duration `opt:"volume_create_timeout" help:"tenku: seconds a volume may stay creating before it goes to error."`
	DeleteTimeout           time.Duration `opt:"volume_delete_timeout" help:"tenku: seconds a volume may stay deleting before it goes to error_deleting."`
	QuotaVolumes            int64         `opt:"quota_volumes" help:"Volumes a project may have; -1 is unlimited."`
	QuotaGigabytes          int64         `opt:"quota_gigabytes" help:"GiB of volumes a project may have; -1 is unlimited."`
	QuotaSnapshots          int64         `opt:"quota_snapshots" help:"Snapshots a project may have."`
	QuotaBackups            int64         `opt:"quota_backups" help:"Backups a project may have."`
	QuotaBackupGigabytes    int64         `opt:"quota_backup_gigabytes" help:"GiB of backups a project may have."`
	QuotaGroups             int64         `opt:"quota_groups" help:"Volume groups a project may have (tenku has no groups)."`
	PerVolumeSizeLimit      int64         `opt:"per_volume_size_limit" help:"Largest volume in GiB; -1 is unlimited."`
	MessageTTL              time.Duration `opt:"message_ttl" help:"Seconds a user message is kept."`
	BackupPosixPath         string        `opt:"backup_posix_path" help:"Directory of the posix backup repository of this host's volume service; empty means backups/ under its data directory. Share it between hosts to restore a backup on another host."`
	ImageConversionDir      string        `opt:"image_conversion_dir" help:"Directory where images are downloaded and converted for volumes made from them; empty means conversion/ under the volume service's data directory."`
}

// BackendOptions are the [backend_defaults] options of this host's one
// backend.
type BackendOptions struct {
	VolumeDriver      string `opt:"volume_driver" help:"Backend driver: file (sparse files in a directory, as Cinder's NFS driver keeps them)."`
	VolumeBackendName string `opt:"volume_backend_name" help:"Backend name the scheduler matches against a type's volume_backend_name extra spec."`
	FileVolumesDir    string `opt:"file_volumes_dir" help:"tenku: directory of the file backend; empty means volumes/ under the service's data directory."`
	FileBackingSize   string `opt:"file_backing_size" help:"tenku: capacity of the file backend, as devstack's VOLUME_BACKING_FILE_SIZE (24G, 500M, 1T)."`
}

// PolicyOptions are the [oslo_policy] options.
type PolicyOptions struct {
	EnforceScope       bool   `opt:"enforce_scope" help:"Refuse tokens whose scope the policy rule is not meant for."`
	EnforceNewDefaults bool   `opt:"enforce_new_defaults" help:"Evaluate only the current default check strings."`
	PolicyFile         string `opt:"policy_file" help:"Operator overrides of the default policies (YAML or JSON)."`
}

// MiddlewareOpts are the [oslo_middleware] options.
type MiddlewareOpts struct {
	MaxRequestBodySize int64 `opt:"max_request_body_size" help:"Largest JSON request body, in bytes."`
}

// DefaultConfig returns Cinder's defaults, with devstack's backing size.
func DefaultConfig() Config {
	return Config{
		Default: DefaultOptions{
			OSAPIMaxLimit: 1000, DefaultVolumeType: volume.DefaultTypeName, StorageAvailabilityZone: "nova",
			ServiceDownTime: 60 * time.Second, ReportInterval: 10 * time.Second,
			CreateTimeout: 10 * time.Minute, DeleteTimeout: 10 * time.Minute,
			QuotaVolumes: 10, QuotaGigabytes: 1000, QuotaSnapshots: 10, QuotaBackups: 10, QuotaBackupGigabytes: 1000,
			QuotaGroups: 10, PerVolumeSizeLimit: -1, MessageTTL: 30 * 24 * time.Hour,
		},
		Backend:  BackendOptions{VolumeDriver: "file", VolumeBackendName: "file", FileBackingSize: "24G"},
		Policy:   PolicyOptions{EnforceScope: true, EnforceNewDefaults: true},
		Middware: MiddlewareOpts{MaxRequestBodySize: 114688},
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Default.OSAPIMaxLimit <= 0 {
		errs = append(errs, errors.New("[DEFAULT] osapi_max_limit must be positive"))
	}
	if c.Default.StorageAvailabilityZone == "" {
		errs = append(errs, errors.New("[DEFAULT] storage_availability_zone must not be empty"))
	}
	if d := c.Backend.VolumeDriver; d != "file" {
		errs = append(errs, fmt.Errorf("[backend_defaults] volume_driver %q: tenku has the file driver (lvm needs device-mapper, which it does not use yet)", d))
	}
	if _, err := ParseSize(c.Backend.FileBackingSize); err != nil {
		errs = append(errs, fmt.Errorf("[backend_defaults] file_backing_size: %w", err))
	}
	return errors.Join(errs...)
}

// ParseSize reads a size as devstack's VOLUME_BACKING_FILE_SIZE: a number
// with an optional unit K, M, G, T (powers of 1024; a trailing B or iB is
// allowed); a bare number is bytes.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "IB"), "B")
	mul := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K':
			mul = 1 << 10
		case 'M':
			mul = 1 << 20
		case 'G':
			mul = 1 << 30
		case 'T':
			mul = 1 << 40
		}
		if mul > 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mul {
		return 0, fmt.Errorf("%q is not a size such as 24G", s)
	}
	return n * mul, nil
}

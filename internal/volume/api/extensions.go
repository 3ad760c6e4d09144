package api

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// extension is an entry of Cinder's /extensions (the API extensions of
// v2 days, listed still in v3): only those tenku serves.
type extension struct {
	Alias       string `json:"alias"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Updated     string `json:"updated"`
	Links       []any  `json:"links"`
}

// extensionsUpdated dates every entry: the release tenku's API follows.
const extensionsUpdated = "2022-08-31T00:00:00+00:00"

var extensions = [][3]string{
	{"os-hosts", "Hosts", "Admin-only host administration."},
	{"os-vol-tenant-attr", "VolumeTenantAttribute", "A volume's project as os-vol-tenant-attr:tenant_id."},
	{"os-vol-host-attr", "VolumeHostAttribute", "A volume's host as os-vol-host-attr:host."},
	{"os-vol-mig-status-attr", "VolumeMigStatusAttribute", "A volume's migration status attributes."},
	{"os-vol-image-meta", "VolumeImageMetadata", "The image metadata of volumes made from images."},
	{"os-quota-sets", "Quotas", "Quota management."},
	{"os-quota-class-sets", "QuotaClasses", "Quota classes management."},
	{"os-used-limits", "UsedLimits", "Usage in the absolute limits."},
	{"os-availability-zone", "AvailabilityZones", "Availability zones."},
	{"backups", "Backups", "Backups."},
	{"os-volume-actions", "VolumeActions", "Volume actions."},
	{"os-admin-actions", "AdminActions", "Administrative volume, snapshot and backup actions."},
	{"os-snapshot-actions", "SnapshotActions", "Snapshot status updates."},
	{"os-extended-snapshot-attributes", "ExtendedSnapshotAttributes", "A snapshot's project and progress."},
	{"os-types-manage", "TypesManage", "Volume type management."},
	{"os-types-extra-specs", "TypesExtraSpecs", "Volume type extra specs."},
	{"os-volume-type-access", "VolumeTypeAccess", "Private volume types and their projects."},
	{"encryption", "VolumeTypeEncryption", "Volume type encryption."},
	{"qos-specs", "Qos_specs_manage", "QoS specs management."},
	{"os-volume-transfer", "VolumeTransfer", "Volume transfers between projects."},
	{"os-services", "Services", "Volume services."},
	{"scheduler-stats", "Scheduler_stats", "Back-end pool statistics."},
	{"capabilities", "Capabilities", "Back-end capabilities."},
}

func (a *API) extensionRoutes() []rest.Route {
	p := "/v3/{project_id}/extensions"
	return []rest.Route{
		{Method: "GET", Path: p, Handler: a.listExtensions},
		{Method: "GET", Path: p + "/{alias}", Handler: a.showExtension},
	}
}

func renderExtension(e [3]string) extension {
	return extension{Alias: e[0], Name: e[1], Description: e[2], Updated: extensionsUpdated, Links: []any{}}
}

func (a *API) listExtensions(ctx context.Context, r *rest.Request) (any, error) {
	out := make([]extension, len(extensions))
	for i, e := range extensions {
		out[i] = renderExtension(e)
	}
	return map[string]any{"extensions": out}, nil
}

func (a *API) showExtension(ctx context.Context, r *rest.Request) (any, error) {
	alias := r.Param("alias")
	for _, e := range extensions {
		if e[0] == alias {
			return map[string]any{"extension": renderExtension(e)}, nil
		}
	}
	return nil, fault.NotFound("Extension %s could not be found.", alias)
}

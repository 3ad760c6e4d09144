package api

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// Limits is the source of Glance's unified limits (Keystone's registered
// and project limits for the image service): a project's limit for each
// resource it knows. A resource missing from the map has limit 0, as
// oslo.limit treats an unregistered limit.
type Limits interface {
	ProjectLimits(ctx context.Context, projectID string, resources []string) (map[string]int64, error)
}

// LimitsFunc adapts a function to Limits.
type LimitsFunc func(ctx context.Context, projectID string, resources []string) (map[string]int64, error)

// ProjectLimits calls f.
func (f LimitsFunc) ProjectLimits(ctx context.Context, projectID string, resources []string) (map[string]int64, error) {
	return f(ctx, projectID, resources)
}

var quotaResources = []string{image.QuotaImageSizeTotal, image.QuotaImageStageTotal, image.QuotaImageCountTotal, image.QuotaImageCountUploading}

// usage returns a project's usage of the unified-limits resources, sizes
// in MiB as Glance counts them.
func (a *API) usage(ctx context.Context, project string) (map[string]int64, error) {
	u, err := a.db.Usage(ctx, project)
	if err != nil {
		return nil, err
	}
	return map[string]int64{
		image.QuotaImageSizeTotal:      u.Size / mib,
		image.QuotaImageStageTotal:     u.Staged / mib,
		image.QuotaImageCountTotal:     u.Images,
		image.QuotaImageCountUploading: u.Uploading,
	}, nil
}

// enforceLimits is oslo.limit's check: for each resource, usage plus
// delta must not exceed the project's limit. Nothing happens unless
// unified limits are on.
func (a *API) enforceLimits(ctx context.Context, project string, deltas map[string]int64) error {
	if a.opt.Limits == nil {
		return nil
	}
	var names []string
	for k := range deltas {
		names = append(names, k)
	}
	sort.Strings(names)
	limits, err := a.opt.Limits.ProjectLimits(ctx, project, names)
	if err != nil {
		return fmt.Errorf("unified limits: %w", err)
	}
	used, err := a.usage(ctx, project)
	if err != nil {
		return err
	}
	var over []string
	for _, n := range names {
		if used[n]+deltas[n] > limits[n] {
			over = append(over, fmt.Sprintf("Resource %s is over limit of %d due to current usage %d and delta %d", n, limits[n], used[n], deltas[n]))
		}
	}
	if len(over) > 0 {
		return tooLarge("%s", limitExceeded(fmt.Sprintf("Project %s is over a limit for [%s]", project, strings.Join(over, ", "))))
	}
	return nil
}

func (a *API) infoRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2/info/import", Handler: a.infoImport},
		{Method: "GET", Path: "/v2/info/stores", Handler: a.infoStores},
		{Method: "GET", Path: "/v2/info/stores/detail", Handler: a.infoStores},
		{Method: "GET", Path: "/v2/info/usage", Handler: a.infoUsage},
	}
}

func (a *API) infoImport(ctx context.Context, r *rest.Request) (any, error) {
	if err := rejectBody(r); err != nil {
		return nil, err
	}
	methods := append([]string{}, a.opt.EnabledImportMethods...)
	return image.ImportInfo{ImportMethods: image.ImportMethods{
		Description: "Import methods available.", Type: "array", Value: methods,
	}}, nil
}

// infoStores answers as a Glance without multiple stores does.
func (a *API) infoStores(ctx context.Context, r *rest.Request) (any, error) {
	if err := rejectBody(r); err != nil {
		return nil, err
	}
	return nil, notFound("Multi backend is not supported at this site.")
}

func (a *API) infoUsage(ctx context.Context, r *rest.Request) (any, error) {
	out := image.UsageInfo{Usage: map[string]image.Usage{}}
	if a.opt.Limits == nil {
		return out, nil
	}
	project := projectOf(r.Auth)
	used, err := a.usage(ctx, project)
	if err != nil {
		return nil, err
	}
	limits, err := a.opt.Limits.ProjectLimits(ctx, project, quotaResources)
	if err != nil {
		return nil, fmt.Errorf("unified limits: %w", err)
	}
	for _, n := range quotaResources {
		out.Usage[n] = image.Usage{Usage: used[n], Limit: limits[n]}
	}
	return out, nil
}

package api

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// summaryRoutes is /volumes/summary (3.12): the count and total size of
// the volumes the list's filters select.
func (a *API) summaryRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v3/{project_id}/volumes/summary", Min: rest.V(3, 12), Policy: "volume:get_all", Handler: a.volumeSummary},
	}
}

// listFiltered lists the volumes f selects, and of them, from 3.10, those
// of the generic group named by group_id.
func (a *API) listFiltered(ctx context.Context, r *rest.Request, f store.Filter) ([]*store.Volume, error) {
	vols, err := a.db.ListVolumes(ctx, f)
	if err != nil {
		return nil, err
	}
	if _, ok := r.HTTP.URL.Query()["group_id"]; ok && r.Version.AtLeast(rest.V(3, 10)) {
		// group_id (3.10) selects a generic group's volumes: tenku
		// has no groups, so no volume is in one.
		vols = nil
	}
	return vols, nil
}

// volumeSummary answers Cinder's volume-summary. The distinct metadata
// of 3.36 is not given: tenku's maximum is below it.
func (a *API) volumeSummary(ctx context.Context, r *rest.Request) (any, error) {
	f, err := a.volumeFilter(ctx, r)
	if err != nil {
		return nil, err
	}
	vols, err := a.listFiltered(ctx, r, f)
	if err != nil {
		return nil, err
	}
	size := 0
	for _, v := range vols {
		size += v.Size
	}
	return map[string]any{"volume-summary": map[string]int{"total_count": len(vols), "total_size": size}}, nil
}

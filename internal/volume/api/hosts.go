package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// hostMatches compares a host filter with a host as Cinder's database
// filters do: a filter without "#" also matches the pools of a backend
// (host@backend#pool), and one without "@" also the backends of a host.
func hostMatches(filter, host string) bool {
	if filter == host {
		return true
	}
	if strings.Contains(filter, "#") {
		return false
	}
	if strings.HasPrefix(host, filter+"#") {
		return true
	}
	return !strings.Contains(filter, "@") && strings.HasPrefix(host, filter+"@")
}

// backendOf is a host without its pool (host@backend#pool → host@backend).
func backendOf(host string) string {
	if i := strings.IndexByte(host, '#'); i >= 0 {
		return host[:i]
	}
	return host
}

func hostRules() []policy.Rule {
	return []policy.Rule{
		rule("volume_extension:hosts", ruleAdminAPI, "List, show and update hosts (os-hosts, deprecated).",
			op("GET", "/os-hosts"), op("PUT", "/os-hosts/{host_name}"), op("GET", "/os-hosts/{host_id}")),
		rule("volume_extension:capabilities", ruleAdminAPI, "Show a back end's capabilities.", op("GET", "/capabilities/{host_name}")),
	}
}

func (a *API) hostRoutes() []rest.Route {
	p := "/v3/{project_id}"
	return []rest.Route{
		{Method: "GET", Path: p + "/os-hosts", Policy: "volume_extension:hosts", Handler: a.listHosts},
		{Method: "GET", Path: p + "/os-hosts/{host}", Policy: "volume_extension:hosts", Handler: a.showHost},
		{Method: "PUT", Path: p + "/os-hosts/{host}", Policy: "volume_extension:hosts", Handler: a.updateHost},
		{Method: "GET", Path: p + "/capabilities/{host}", Policy: "volume_extension:capabilities", Handler: a.showCapabilities},
	}
}

// listHosts is os-hosts: the enabled services, with their binary as the
// service (Cinder's topic is the binary's name).
func (a *API) listHosts(ctx context.Context, r *rest.Request) (any, error) {
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	zone := r.HTTP.URL.Query().Get("zone")
	out := []map[string]any{}
	for _, s := range svcs {
		if s.Disabled || (zone != "" && s.AvailabilityZone != zone) {
			continue
		}
		status := "available"
		if !a.up(s) {
			status = "unavailable"
		}
		out = append(out, map[string]any{
			"host_name": s.Host, "service": s.Binary, "zone": s.AvailabilityZone,
			"service-status": status, "service-state": "enabled", "last-update": fmtTime(s.UpdatedAt),
		})
	}
	return map[string]any{"hosts": out}, nil
}

// showHost is a volume host's usage: a total, then one entry per project
// with volumes on it; counts and sizes are strings, as Cinder sends them.
func (a *API) showHost(ctx context.Context, r *rest.Request) (any, error) {
	host := r.Param("host")
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	found := false
	for _, s := range svcs {
		found = found || (s.Binary == rpc.Binary && s.Host == host)
	}
	if !found {
		return nil, fault.NotFound("Service %s could not be found.", host).WithType("ServiceNotFound")
	}
	vols, err := a.db.ListVolumes(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	snaps, err := a.db.ListSnapshots(ctx, store.SnapshotFilter{})
	if err != nil {
		return nil, err
	}
	type use struct{ vols, volGB, snaps, snapGB int }
	per := map[string]*use{}
	var order []string
	get := func(project string) *use {
		if per[project] == nil {
			per[project] = &use{}
			order = append(order, project)
		}
		return per[project]
	}
	onHost := map[string]bool{}
	for _, v := range vols {
		if v.Host == "" || !hostMatches(host, v.Host) {
			continue
		}
		onHost[v.ID] = true
		u := get(v.ProjectID)
		u.vols++
		u.volGB += v.Size
	}
	for _, s := range snaps {
		if onHost[s.VolumeID] {
			u := get(s.ProjectID)
			u.snaps++
			u.snapGB += s.Size
		}
	}
	entry := func(project string, u use) map[string]any {
		return map[string]any{"resource": map[string]string{
			"host": host, "project": project, "volume_count": strconv.Itoa(u.vols), "total_volume_gb": strconv.Itoa(u.volGB),
			"snapshot_count": strconv.Itoa(u.snaps), "total_snapshot_gb": strconv.Itoa(u.snapGB),
		}}
	}
	var total use
	others := []map[string]any{}
	for _, p := range order {
		u := *per[p]
		total.vols, total.volGB, total.snaps, total.snapGB = total.vols+u.vols, total.volGB+u.volGB, total.snaps+u.snaps, total.snapGB+u.snapGB
		others = append(others, entry(p, u))
	}
	return map[string]any{"host": append([]map[string]any{entry("(total)", total)}, others...)}, nil
}

// updateHost is os-hosts' PUT: Cinder validates the body and then has no
// implementation of setting a host's status (HostAPI.set_host_enabled
// raises NotImplementedError); enable or disable the service through
// os-services instead.
func (a *API) updateHost(ctx context.Context, r *rest.Request) (any, error) {
	var b map[string]any
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	for k, v := range b {
		s, _ := v.(string)
		if strings.ToLower(strings.TrimSpace(k)) != "status" {
			return nil, fault.BadRequest("Invalid update setting: '%s'", k)
		}
		if s = strings.ToLower(strings.TrimSpace(s)); s != "enable" && s != "disable" {
			return nil, fault.BadRequest("Invalid status: '%v'", v)
		}
	}
	return nil, fault.New(http.StatusNotImplemented, "Setting a host's status is not implemented; use os-services to enable or disable a service.")
}

// standardProperties are the capabilities every Cinder driver describes.
var standardProperties = map[string]map[string]string{
	"thin_provisioning":   {"title": "Thin Provisioning", "description": "Sets thin provisioning.", "type": "boolean"},
	"compression":         {"title": "Compression", "description": "Enables compression.", "type": "boolean"},
	"qos":                 {"title": "QoS", "description": "Enables QoS.", "type": "boolean"},
	"replication_enabled": {"title": "Replication", "description": "Enables replication.", "type": "boolean"},
}

// showCapabilities is a back end's capabilities, from the stats its volume
// service last reported; the host may name the backend's pool.
func (a *API) showCapabilities(ctx context.Context, r *rest.Request) (any, error) {
	host := r.Param("host")
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range svcs {
		if s.Binary != rpc.Binary || !hostMatches(backendOf(host), s.Host) {
			continue
		}
		caps := map[string]any{}
		if len(s.Capabilities) > 0 {
			if err := json.Unmarshal(s.Capabilities, &caps); err != nil {
				return nil, err
			}
		}
		str := func(k string) any {
			if v, ok := caps[k].(string); ok {
				return v
			}
			return nil
		}
		return map[string]any{
			"namespace": "OS::Storage::Capabilities::" + s.Host, "vendor_name": str("vendor_name"),
			"volume_backend_name": str("volume_backend_name"), "pool_name": str("pool_name"),
			"driver_version": str("driver_version"), "storage_protocol": str("storage_protocol"),
			"display_name": str("display_name"), "description": str("description"), "visibility": str("visibility"),
			"replication_targets": []any{}, "properties": standardProperties,
		}, nil
	}
	return nil, fault.NotFound("Can't find service: %s", host)
}

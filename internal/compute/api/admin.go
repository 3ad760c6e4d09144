package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) adminRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/os-services", Handler: a.listServices, Policy: "os_compute_api:os-services:list"},
		{Method: "PUT", Path: "/v2.1/os-services/{service_id}", Handler: a.updateService, Policy: "os_compute_api:os-services:update"},
		{Method: "DELETE", Path: "/v2.1/os-services/{service_id}", Handler: a.deleteService, Status: http.StatusNoContent, Policy: "os_compute_api:os-services:delete"},

		{Method: "GET", Path: "/v2.1/os-hypervisors", Handler: a.listHypervisors(false), Policy: "os_compute_api:os-hypervisors:list"},
		{Method: "GET", Path: "/v2.1/os-hypervisors/detail", Handler: a.listHypervisors(true), Policy: "os_compute_api:os-hypervisors:list-detail"},
		{Method: "GET", Path: "/v2.1/os-hypervisors/statistics", Handler: a.hypervisorStats, Max: rest.V(2, 87), Policy: "os_compute_api:os-hypervisors:statistics"},
		{Method: "GET", Path: "/v2.1/os-hypervisors/{hypervisor_id}", Handler: a.showHypervisor, Policy: "os_compute_api:os-hypervisors:show"},
		{Method: "GET", Path: "/v2.1/os-hypervisors/{hypervisor_id}/uptime", Handler: a.hypervisorUptime, Max: rest.V(2, 87), Policy: "os_compute_api:os-hypervisors:uptime"},
		{Method: "GET", Path: "/v2.1/os-hypervisors/{hypervisor_id}/search", Handler: a.searchHypervisors(false), Max: rest.V(2, 52), Policy: "os_compute_api:os-hypervisors:search"},
		{Method: "GET", Path: "/v2.1/os-hypervisors/{hypervisor_id}/servers", Handler: a.searchHypervisors(true), Max: rest.V(2, 52), Policy: "os_compute_api:os-hypervisors:servers"},

		{Method: "GET", Path: "/v2.1/os-aggregates", Handler: a.listAggregates, Policy: "os_compute_api:os-aggregates:index"},
		{Method: "POST", Path: "/v2.1/os-aggregates", Handler: a.createAggregate, Policy: "os_compute_api:os-aggregates:create"},
		{Method: "GET", Path: "/v2.1/os-aggregates/{aggregate_id}", Handler: a.showAggregate, Policy: "os_compute_api:os-aggregates:show"},
		{Method: "PUT", Path: "/v2.1/os-aggregates/{aggregate_id}", Handler: a.updateAggregate, Policy: "os_compute_api:os-aggregates:update"},
		{Method: "DELETE", Path: "/v2.1/os-aggregates/{aggregate_id}", Handler: a.deleteAggregate, Policy: "os_compute_api:os-aggregates:delete"},
		{Method: "POST", Path: "/v2.1/os-aggregates/{aggregate_id}/action", Handler: a.aggregateAction},
		{Method: "POST", Path: "/v2.1/os-aggregates/{aggregate_id}/images", Handler: a.aggregateImages, Min: rest.V(2, 81), Status: http.StatusAccepted, Policy: "os_compute_api:os-aggregates:images"},

		{Method: "GET", Path: "/v2.1/os-availability-zone", Handler: a.listZones(false), Policy: "os_compute_api:os-availability-zone:list"},
		{Method: "GET", Path: "/v2.1/os-availability-zone/detail", Handler: a.listZones(true), Policy: "os_compute_api:os-availability-zone:detail"},

		{Method: "GET", Path: "/v2.1/os-migrations", Handler: a.listMigrations, Policy: "os_compute_api:os-migrations:index"},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/migrations", Handler: a.listServerMigrations, Min: rest.V(2, 23)},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/migrations/{migration_id}", Handler: a.showServerMigration, Min: rest.V(2, 23)},
		{Method: "POST", Path: "/v2.1/servers/{server_id}/migrations/{migration_id}/action", Handler: a.forceCompleteMigration, Min: rest.V(2, 22), Status: http.StatusAccepted},
		{Method: "DELETE", Path: "/v2.1/servers/{server_id}/migrations/{migration_id}", Handler: a.abortMigration, Min: rest.V(2, 24), Status: http.StatusAccepted},

		{Method: "GET", Path: "/v2.1/os-simple-tenant-usage", Handler: a.listUsage, Policy: "os_compute_api:os-simple-tenant-usage:list"},
		{Method: "GET", Path: "/v2.1/os-simple-tenant-usage/{tenant_id}", Handler: a.showUsage},

		{Method: "GET", Path: "/v2.1/os-hosts", Handler: a.listHosts, Max: rest.V(2, 42), Policy: "os_compute_api:os-hosts:list"},
		{Method: "GET", Path: "/v2.1/os-hosts/{host_name}", Handler: a.showHost, Max: rest.V(2, 42), Policy: "os_compute_api:os-hosts:show"},
		{Method: "PUT", Path: "/v2.1/os-hosts/{host_name}", Handler: a.updateHost, Max: rest.V(2, 42), Policy: "os_compute_api:os-hosts:update"},
		{Method: "GET", Path: "/v2.1/os-hosts/{host_name}/{power_action}", Handler: a.hostPowerAction, Max: rest.V(2, 42), Policy: "os_compute_api:os-hosts:reboot"},
	}
}

// Services.

func (a *API) serviceView(r *rest.Request, s *objects.Service, az map[string]string) map[string]any {
	v := map[string]any{"binary": s.Binary, "host": s.Host, "zone": a.cfg.Default.InternalServiceAZ,
		"status": "enabled", "state": "up", "updated_at": isoMicro(s.UpdatedAt), "disabled_reason": nullString(s.DisabledReason)}
	if s.Binary == "nova-compute" {
		v["zone"] = a.cfg.Default.DefaultAvailabilityZone
		if z, ok := az[s.Host]; ok {
			v["zone"] = z
		}
	}
	if s.Disabled {
		v["status"] = "disabled"
	}
	if !s.Up(a.d.Now(), a.cfg.Default.ServiceDownTime) {
		v["state"] = "down"
	}
	if r.Version.AtLeast(rest.V(2, 11)) {
		v["forced_down"] = s.ForcedDown
	}
	if r.Version.AtLeast(rest.V(2, 53)) {
		v["id"] = s.UUID
	} else {
		v["id"] = s.ID
	}
	return v
}

func (a *API) listServices(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	svcs, err := a.d.Store.Services(ctx, q.Get("host"), q.Get("binary"))
	if err != nil {
		return nil, err
	}
	az, err := a.hostAZs(ctx)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(svcs))
	for _, s := range svcs {
		list = append(list, a.serviceView(r, s, az))
	}
	return map[string]any{"services": list}, nil
}

// updateService is PUT /os-services/{action} before 2.53 (enable, disable,
// disable-log-reason, force-down with host and binary in the body) and PUT
// /os-services/{uuid} from 2.53.
func (a *API) updateService(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	body, err := decodeMap(raw)
	if err != nil {
		return nil, err
	}
	id := r.Param("service_id")
	if !r.Version.AtLeast(rest.V(2, 53)) {
		return a.updateServiceLegacy(ctx, r, id, body)
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, fault.BadRequest("Invalid uuid %s", id)
	}
	svc, err := a.d.Store.Service(ctx, id)
	if err != nil {
		return nil, err
	}
	var u store.ServiceUpdate
	for k, v := range body {
		switch k {
		case "status":
			s, _ := str(v)
			if s != "enabled" && s != "disabled" {
				return nil, fault.BadRequest("Invalid input for field/attribute status. Value: %v. It is not one of ['enabled', 'disabled']", v)
			}
			d := s == "disabled"
			u.Disabled = &d
		case "disabled_reason":
			s, ok := str(v)
			if !ok || len(s) > 255 || strings.TrimSpace(s) == "" {
				return nil, fault.BadRequest("Invalid input for field/attribute disabled_reason. Value: %v.", v)
			}
			u.DisabledReason = &s
		case "forced_down":
			b, err := boolParam("forced_down", v)
			if err != nil {
				return nil, err
			}
			u.ForcedDown = &b
		default:
			return nil, fault.BadRequest("Invalid input for field/attribute service. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if len(body) == 0 {
		return nil, fault.BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
	}
	if u.DisabledReason != nil && (u.Disabled == nil || !*u.Disabled) {
		return nil, fault.BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
	}
	if u.Disabled != nil && !*u.Disabled {
		empty := ""
		u.DisabledReason = &empty
	}
	if (u.Disabled != nil || u.ForcedDown != nil) && svc.Binary != "nova-compute" {
		return nil, fault.BadRequest("Updating a %s service is not supported. Only nova-compute services can be updated.", svc.Binary)
	}
	svc, err = a.d.Store.UpdateService(ctx, svc.ID, u)
	if err != nil {
		return nil, err
	}
	az, _ := a.hostAZs(ctx)
	return map[string]any{"service": a.serviceView(r, svc, az)}, nil
}

func (a *API) updateServiceLegacy(ctx context.Context, r *rest.Request, action string, body map[string]any) (any, error) {
	host, _ := str(body["host"])
	binary, _ := str(body["binary"])
	if host == "" || binary == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute host or binary. 'host' and 'binary' are required properties")
	}
	svcs, err := a.d.Store.Services(ctx, host, binary)
	if err != nil {
		return nil, err
	}
	if len(svcs) == 0 {
		return nil, fault.NotFound("Host %s could not be found.", host).WithType("HostNotFound")
	}
	svc := svcs[0]
	var u store.ServiceUpdate
	out := map[string]any{"host": host, "binary": binary}
	yes, no, empty := true, false, ""
	switch action {
	case "enable":
		u.Disabled, u.DisabledReason = &no, &empty
		out["status"] = "enabled"
	case "disable":
		u.Disabled = &yes
		out["status"] = "disabled"
	case "disable-log-reason":
		reason, ok := str(body["disabled_reason"])
		if !ok || strings.TrimSpace(reason) == "" || len(reason) > 255 {
			return nil, fault.BadRequest("Missing disabled reason field")
		}
		u.Disabled, u.DisabledReason = &yes, &reason
		out["status"], out["disabled_reason"] = "disabled", reason
	case "force-down":
		if !r.Version.AtLeast(rest.V(2, 11)) {
			return nil, fault.NotFound("Unknown action")
		}
		b, err := boolParam("forced_down", body["forced_down"])
		if err != nil {
			return nil, err
		}
		u.ForcedDown = &b
		out["forced_down"] = b
	default:
		return nil, fault.NotFound("Unknown action")
	}
	if _, err := a.d.Store.UpdateService(ctx, svc.ID, u); err != nil {
		return nil, err
	}
	return map[string]any{"service": out}, nil
}

func (a *API) deleteService(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("service_id")
	if r.Version.AtLeast(rest.V(2, 53)) {
		if _, err := uuid.Parse(id); err != nil {
			return nil, fault.BadRequest("Invalid uuid %s", id)
		}
	} else if _, err := strconv.Atoi(id); err != nil {
		return nil, fault.BadRequest("Invalid ID %s", id)
	}
	svc, err := a.d.Store.Service(ctx, id)
	if err != nil {
		return nil, err
	}
	return nil, a.d.Store.DeleteService(ctx, svc)
}

// Hypervisors.

package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
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

func (a *API) hypervisorID(r *rest.Request, n *objects.ComputeNode) any {
	if r.Version.AtLeast(rest.V(2, 53)) {
		return n.UUID
	}
	return n.ID
}

func (a *API) hypervisorView(ctx context.Context, r *rest.Request, n *objects.ComputeNode, svc *objects.Service, detail bool, servers []*objects.Instance, withServers bool) map[string]any {
	v := map[string]any{"id": a.hypervisorID(r, n), "hypervisor_hostname": n.HypervisorHostname, "state": "up", "status": "enabled"}
	if svc != nil {
		if !svc.Up(a.d.Now(), a.cfg.Default.ServiceDownTime) {
			v["state"] = "down"
		}
		if svc.Disabled {
			v["status"] = "disabled"
		}
	}
	if detail {
		usedMem := n.MemoryMBUsed + n.ReservedHostMemoryMB
		usedDisk := n.LocalGBUsed + n.ReservedHostDiskGB
		v["hypervisor_type"], v["hypervisor_version"], v["host_ip"] = n.HypervisorType, n.HypervisorVersion, n.HostIP
		sv := map[string]any{"host": n.Host}
		if svc != nil {
			sv["disabled_reason"] = nullString(svc.DisabledReason)
			if r.Version.AtLeast(rest.V(2, 53)) {
				sv["id"] = svc.UUID
			} else {
				sv["id"] = svc.ID
			}
		}
		v["service"] = sv
		if !r.Version.AtLeast(rest.V(2, 88)) {
			v["vcpus"], v["memory_mb"], v["local_gb"] = n.VCPUs, n.MemoryMB, n.LocalGB
			v["vcpus_used"], v["memory_mb_used"], v["local_gb_used"] = n.VCPUsUsed, usedMem, usedDisk
			v["free_ram_mb"], v["free_disk_gb"] = n.MemoryMB-usedMem, n.LocalGB-usedDisk
			v["current_workload"], v["running_vms"], v["disk_available_least"] = 0, n.RunningVMs, n.LocalGB-usedDisk
			if r.Version.AtLeast(rest.V(2, 28)) {
				var info any = map[string]any{}
				json.Unmarshal([]byte(n.CPUInfo), &info)
				v["cpu_info"] = info
			} else {
				v["cpu_info"] = n.CPUInfo
			}
		} else {
			v["uptime"] = a.uptime(svc)
		}
	}
	if withServers {
		list := []map[string]string{}
		for _, i := range servers {
			list = append(list, map[string]string{"uuid": i.UUID, "name": i.Name()})
		}
		v["servers"] = list
	}
	return v
}

func (a *API) uptime(svc *objects.Service) string {
	if svc == nil {
		return ""
	}
	d := a.d.Now().Sub(svc.CreatedAt)
	return fmt.Sprintf(" %s up %d days, %d:%02d, 1 user, load average: 0.00, 0.00, 0.00", a.d.Now().UTC().Format("15:04:05"),
		int(d.Hours())/24, int(d.Hours())%24, int(d.Minutes())%60)
}

// nodesAndServices loads the compute nodes with their services.
func (a *API) nodesAndServices(ctx context.Context) ([]*objects.ComputeNode, map[string]*objects.Service, error) {
	nodes, err := a.d.Store.Nodes(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	svcs, err := a.d.Store.Services(ctx, "", "nova-compute")
	if err != nil {
		return nil, nil, err
	}
	by := map[string]*objects.Service{}
	for _, s := range svcs {
		by[s.Host] = s
	}
	return nodes, by, nil
}

func (a *API) listHypervisors(detail bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		q := r.HTTP.URL.Query()
		nodes, svcs, err := a.nodesAndServices(ctx)
		if err != nil {
			return nil, err
		}
		withServers := false
		if r.Version.AtLeast(rest.V(2, 53)) {
			if p := q.Get("hypervisor_hostname_pattern"); p != "" {
				if q.Has("limit") || q.Has("marker") {
					return nil, fault.BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.")
				}
				re, err := likePattern(p)
				if err != nil {
					return nil, err
				}
				nodes = slices.DeleteFunc(nodes, func(n *objects.ComputeNode) bool { return !re.MatchString(n.HypervisorHostname) })
				if len(nodes) == 0 {
					return nil, fault.NotFound("No hypervisor matching '%s' could be found.", p)
				}
			}
			if v := q.Get("with_servers"); v != "" {
				b, err := queryBool("with_servers", v)
				if err != nil {
					return nil, fault.BadRequest("Invalid input for query parameters with_servers.")
				}
				withServers = b
			}
		}
		var page rest.Page
		paged := r.Version.AtLeast(rest.V(2, 33))
		if paged {
			if page, err = r.Page(a.cfg.API.MaxLimit, a.cfg.API.MaxLimit); err != nil {
				return nil, err
			}
			if page.Limit == 0 {
				page.Limit = a.cfg.API.MaxLimit
			}
			nodes, _, err = rest.PageOf(nodes, page, func(n *objects.ComputeNode) string { return fmt.Sprint(a.hypervisorID(r, n)) })
			if err != nil {
				return nil, fault.BadRequest("marker [%s] not found", page.Marker)
			}
		}
		list := make([]map[string]any, 0, len(nodes))
		for _, n := range nodes {
			var servers []*objects.Instance
			if withServers {
				if servers, err = a.d.Store.Instances(ctx, store.InstanceFilter{Host: n.Host, Node: n.HypervisorHostname}); err != nil {
					return nil, err
				}
			}
			list = append(list, a.hypervisorView(ctx, r, n, svcs[n.Host], detail, servers, withServers))
		}
		out := map[string]any{"hypervisors": list}
		if paged && len(nodes) > 0 && len(nodes) == page.Limit {
			out["hypervisors_links"] = a.nextLink(r, fmt.Sprint(a.hypervisorID(r, nodes[len(nodes)-1])))
		}
		return out, nil
	}
}

// likePattern turns a SQL LIKE-ish hostname pattern into a regexp (Nova
// matches hypervisor_hostname_pattern with LIKE %pattern%).
func likePattern(p string) (*regexp.Regexp, error) {
	q := regexp.QuoteMeta(p)
	q = strings.ReplaceAll(q, "%", ".*")
	q = strings.ReplaceAll(q, "_", ".")
	return regexp.Compile("(?i)" + q)
}

func (a *API) findNode(ctx context.Context, r *rest.Request, id string) (*objects.ComputeNode, error) {
	if r.Version.AtLeast(rest.V(2, 53)) {
		if _, err := uuid.Parse(id); err != nil {
			return nil, fault.BadRequest("Invalid uuid %s", id)
		}
	} else if _, err := strconv.Atoi(id); err != nil {
		return nil, fault.NotFound("Hypervisor with ID %s could not be found.", id)
	}
	return a.d.Store.Node(ctx, id)
}

func (a *API) showHypervisor(ctx context.Context, r *rest.Request) (any, error) {
	n, err := a.findNode(ctx, r, r.Param("hypervisor_id"))
	if err != nil {
		return nil, err
	}
	svcs, err := a.d.Store.Services(ctx, n.Host, "nova-compute")
	if err != nil {
		return nil, err
	}
	var svc *objects.Service
	if len(svcs) > 0 {
		svc = svcs[0]
	}
	withServers := false
	if v := r.HTTP.URL.Query().Get("with_servers"); v != "" && r.Version.AtLeast(rest.V(2, 53)) {
		withServers, _ = queryBool("with_servers", v)
	}
	var servers []*objects.Instance
	if withServers {
		if servers, err = a.d.Store.Instances(ctx, store.InstanceFilter{Host: n.Host, Node: n.HypervisorHostname}); err != nil {
			return nil, err
		}
	}
	return map[string]any{"hypervisor": a.hypervisorView(ctx, r, n, svc, true, servers, withServers)}, nil
}

func (a *API) hypervisorUptime(ctx context.Context, r *rest.Request) (any, error) {
	n, err := a.findNode(ctx, r, r.Param("hypervisor_id"))
	if err != nil {
		return nil, err
	}
	svcs, _ := a.d.Store.Services(ctx, n.Host, "nova-compute")
	var svc *objects.Service
	if len(svcs) > 0 {
		svc = svcs[0]
	}
	v := a.hypervisorView(ctx, r, n, svc, false, nil, false)
	v["uptime"] = a.uptime(svc)
	return map[string]any{"hypervisor": v}, nil
}

func (a *API) searchHypervisors(withServers bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		pattern := r.Param("hypervisor_id")
		nodes, svcs, err := a.nodesAndServices(ctx)
		if err != nil {
			return nil, err
		}
		re, err := likePattern(pattern)
		if err != nil {
			return nil, err
		}
		var list []map[string]any
		for _, n := range nodes {
			if !re.MatchString(n.HypervisorHostname) {
				continue
			}
			var servers []*objects.Instance
			if withServers {
				if servers, err = a.d.Store.Instances(ctx, store.InstanceFilter{Host: n.Host, Node: n.HypervisorHostname}); err != nil {
					return nil, err
				}
			}
			list = append(list, a.hypervisorView(ctx, r, n, svcs[n.Host], false, servers, withServers && len(servers) > 0))
		}
		if len(list) == 0 {
			return nil, fault.NotFound("No hypervisor matching '%s' could be found.", pattern)
		}
		return map[string]any{"hypervisors": list}, nil
	}
}

func (a *API) hypervisorStats(ctx context.Context, r *rest.Request) (any, error) {
	nodes, _, err := a.nodesAndServices(ctx)
	if err != nil {
		return nil, err
	}
	s := map[string]int{}
	for _, n := range nodes {
		mem, disk := n.MemoryMBUsed+n.ReservedHostMemoryMB, n.LocalGBUsed+n.ReservedHostDiskGB
		s["count"]++
		s["vcpus"] += n.VCPUs
		s["vcpus_used"] += n.VCPUsUsed
		s["memory_mb"] += n.MemoryMB
		s["memory_mb_used"] += mem
		s["free_ram_mb"] += n.MemoryMB - mem
		s["local_gb"] += n.LocalGB
		s["local_gb_used"] += disk
		s["free_disk_gb"] += n.LocalGB - disk
		s["disk_available_least"] += n.LocalGB - disk
		s["running_vms"] += n.RunningVMs
	}
	s["current_workload"] += 0
	return map[string]any{"hypervisor_statistics": s}, nil
}

// Aggregates.

func (a *API) aggregateView(r *rest.Request, ag *objects.Aggregate, full bool) map[string]any {
	v := map[string]any{"id": ag.ID, "name": ag.Name, "availability_zone": nullString(ag.AvailabilityZone()),
		"created_at": isoMicro(ag.CreatedAt), "updated_at": nil, "deleted": false, "deleted_at": nil}
	if !ag.UpdatedAt.Equal(ag.CreatedAt) {
		v["updated_at"] = isoMicro(ag.UpdatedAt)
	}
	if full {
		v["hosts"], v["metadata"] = ag.Hosts, ag.Metadata
	}
	if r.Version.AtLeast(rest.V(2, 41)) {
		v["uuid"] = ag.UUID
	}
	return v
}

func (a *API) listAggregates(ctx context.Context, r *rest.Request) (any, error) {
	aggs, err := a.d.Store.Aggregates(ctx)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(aggs))
	for _, ag := range aggs {
		list = append(list, a.aggregateView(r, ag, true))
	}
	return map[string]any{"aggregates": list}, nil
}

func (a *API) aggregateByParam(ctx context.Context, r *rest.Request) (*objects.Aggregate, error) {
	id, err := strconv.ParseInt(r.Param("aggregate_id"), 10, 64)
	if err != nil {
		return nil, fault.BadRequest("Invalid aggregate id %s", r.Param("aggregate_id"))
	}
	return a.d.Store.Aggregate(ctx, id)
}

// validAZName checks an availability zone name (no ':').
func validAZName(s string) error {
	if err := validName("availability_zone", s, false); err != nil {
		return err
	}
	if strings.Contains(s, ":") {
		return fault.BadRequest("Invalid input for field/attribute availability_zone. Value: %s. It contains ':'", s)
	}
	return nil
}

func (a *API) createAggregate(ctx context.Context, r *rest.Request) (any, error) {
	var body struct {
		Aggregate struct {
			Name *string `json:"name"`
			AZ   *string `json:"availability_zone"`
		} `json:"aggregate"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if body.Aggregate.Name == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute aggregate. 'name' is a required property")
	}
	if err := validName("name", *body.Aggregate.Name, false); err != nil {
		return nil, err
	}
	ag := &objects.Aggregate{UUID: uuid.NewString(), Name: *body.Aggregate.Name, Hosts: []string{}, Metadata: map[string]string{}}
	if z := body.Aggregate.AZ; z != nil {
		if err := validAZName(*z); err != nil {
			return nil, err
		}
		ag.Metadata["availability_zone"] = *z
	}
	if err := a.d.Store.CreateAggregate(ctx, ag); err != nil {
		return nil, err
	}
	return map[string]any{"aggregate": a.aggregateView(r, ag, false)}, nil
}

func (a *API) showAggregate(ctx context.Context, r *rest.Request) (any, error) {
	ag, err := a.aggregateByParam(ctx, r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"aggregate": a.aggregateView(r, ag, true)}, nil
}

func (a *API) updateAggregate(ctx context.Context, r *rest.Request) (any, error) {
	ag, err := a.aggregateByParam(ctx, r)
	if err != nil {
		return nil, err
	}
	var body struct {
		Aggregate map[string]*string `json:"aggregate"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if len(body.Aggregate) == 0 {
		return nil, fault.BadRequest("Invalid input for field/attribute aggregate. It should have at least 1 property")
	}
	for k, v := range body.Aggregate {
		switch k {
		case "name":
			if v == nil {
				return nil, fault.BadRequest("Invalid input for field/attribute name. None is not of type 'string'")
			}
			if err := validName("name", *v, false); err != nil {
				return nil, err
			}
			if err := a.d.Store.UpdateAggregate(ctx, ag.ID, *v); err != nil {
				return nil, err
			}
		case "availability_zone":
			if v != nil {
				if err := validAZName(*v); err != nil {
					return nil, err
				}
				if err := a.checkAZMove(ctx, ag, *v); err != nil {
					return nil, err
				}
			}
			if err := a.d.Store.SetAggregateMetadata(ctx, ag.ID, map[string]*string{"availability_zone": v}); err != nil {
				return nil, err
			}
		default:
			return nil, fault.BadRequest("Invalid input for field/attribute aggregate. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	ag, err = a.d.Store.Aggregate(ctx, ag.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"aggregate": a.aggregateView(r, ag, true)}, nil
}

// checkAZMove refuses to change the zone of an aggregate whose hosts have
// instances or are in another zone (Nova's InvalidAggregateAction).
func (a *API) checkAZMove(ctx context.Context, ag *objects.Aggregate, az string) error {
	if az == ag.AvailabilityZone() {
		return nil
	}
	for _, h := range ag.Hosts {
		insts, err := a.d.Store.Instances(ctx, store.InstanceFilter{Host: h, Limit: 1})
		if err != nil {
			return err
		}
		if len(insts) > 0 {
			return fault.BadRequest("Cannot update aggregate %d. Reason: One or more hosts contain instances in this zone.", ag.ID).WithType("InvalidAggregateActionUpdate")
		}
	}
	return nil
}

func (a *API) deleteAggregate(ctx context.Context, r *rest.Request) (any, error) {
	ag, err := a.aggregateByParam(ctx, r)
	if err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusOK}, a.d.Store.DeleteAggregate(ctx, ag.ID)
}

func (a *API) aggregateAction(ctx context.Context, r *rest.Request) (any, error) {
	var body map[string]json.RawMessage
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if len(body) != 1 {
		return nil, fault.BadRequest("There is either no or more than one action in the request body.")
	}
	ag, err := a.aggregateByParam(ctx, r)
	if err != nil {
		return nil, err
	}
	for action, raw := range body {
		switch action {
		case "add_host", "remove_host":
			rule := "os_compute_api:os-aggregates:" + action
			if err := r.Enforce(ctx, rule, nil); err != nil {
				return nil, err
			}
			var args struct {
				Host *string `json:"host"`
			}
			if err := json.Unmarshal(raw, &args); err != nil || args.Host == nil || *args.Host == "" {
				return nil, fault.BadRequest("Invalid input for field/attribute %s. 'host' is a required property", action)
			}
			if action == "add_host" {
				svcs, err := a.d.Store.Services(ctx, *args.Host, "nova-compute")
				if err != nil {
					return nil, err
				}
				if len(svcs) == 0 {
					return nil, fault.NotFound("Compute host %s could not be found.", *args.Host).WithType("ComputeHostNotFound")
				}
				if z := ag.AvailabilityZone(); z != "" {
					azs, err := a.hostAZs(ctx)
					if err != nil {
						return nil, err
					}
					if cur, ok := azs[*args.Host]; ok && cur != z {
						return nil, fault.Conflict("Cannot add host to aggregate %d. Reason: One or more hosts already in availability zone(s) [%s].", ag.ID, cur).WithType("InvalidAggregateActionAdd")
					}
				}
				if err := a.d.Store.AddAggregateHost(ctx, ag.ID, *args.Host); err != nil {
					return nil, err
				}
			} else {
				if err := a.d.Store.RemoveAggregateHost(ctx, ag.ID, *args.Host); err != nil {
					if fault.IsNotFound(err) {
						if svcs, _ := a.d.Store.Services(ctx, *args.Host, "nova-compute"); len(svcs) == 0 {
							return nil, fault.NotFound("Compute host %s could not be found.", *args.Host)
						}
					}
					return nil, err
				}
			}
		case "set_metadata":
			if err := r.Enforce(ctx, "os_compute_api:os-aggregates:set_metadata", nil); err != nil {
				return nil, err
			}
			var args struct {
				Metadata map[string]*string `json:"metadata"`
			}
			if err := json.Unmarshal(raw, &args); err != nil || args.Metadata == nil {
				return nil, fault.BadRequest("Invalid input for field/attribute set_metadata. 'metadata' is a required property")
			}
			for k, v := range args.Metadata {
				if k == "" || len(k) > 255 || v != nil && len(*v) > 255 {
					return nil, fault.BadRequest("Invalid input for field/attribute metadata. Keys and values must be 1 to 255 characters")
				}
				if k == "availability_zone" && v != nil {
					if err := validAZName(*v); err != nil {
						return nil, err
					}
					if err := a.checkAZMove(ctx, ag, *v); err != nil {
						return nil, err
					}
				}
			}
			if err := a.d.Store.SetAggregateMetadata(ctx, ag.ID, args.Metadata); err != nil {
				return nil, err
			}
		default:
			return nil, fault.BadRequest("Invalid request body: unknown aggregate action %s", action)
		}
	}
	ag, err = a.d.Store.Aggregate(ctx, ag.ID)
	if err != nil {
		return nil, err
	}
	if a.d.Bus != nil {
		// Scheduling decisions follow aggregate changes at the next refresh.
	}
	return map[string]any{"aggregate": a.aggregateView(r, ag, true)}, nil
}

func (a *API) aggregateImages(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.aggregateByParam(ctx, r); err != nil {
		return nil, err
	}
	var body struct {
		CacheImages []struct {
			ID string `json:"id"`
		} `json:"cache"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if len(body.CacheImages) == 0 {
		return nil, fault.BadRequest("Invalid input for field/attribute cache. [] is too short")
	}
	for _, im := range body.CacheImages {
		if _, err := a.d.Images.Get(ctx, im.ID); err != nil {
			return nil, fault.BadRequest("Image %s could not be found.", im.ID)
		}
	}
	return nil, nil
}

// Availability zones.

func (a *API) listZones(detail bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		svcs, err := a.d.Store.Services(ctx, "", "")
		if err != nil {
			return nil, err
		}
		azs, err := a.hostAZs(ctx)
		if err != nil {
			return nil, err
		}
		type zone struct {
			available bool
			hosts     map[string]map[string]any
		}
		zones := map[string]*zone{}
		var order []string
		now := a.d.Now()
		for _, s := range svcs {
			z := a.cfg.Default.InternalServiceAZ
			if s.Binary == "nova-compute" {
				z = a.cfg.Default.DefaultAvailabilityZone
				if v, ok := azs[s.Host]; ok {
					z = v
				}
			} else if !detail {
				continue
			}
			if s.Disabled && s.Binary == "nova-compute" && !detail {
				continue
			}
			zn := zones[z]
			if zn == nil {
				zn = &zone{hosts: map[string]map[string]any{}}
				zones[z] = zn
				order = append(order, z)
			}
			up := s.Up(now, a.cfg.Default.ServiceDownTime)
			zn.available = zn.available || up && !s.Disabled
			if zn.hosts[s.Host] == nil {
				zn.hosts[s.Host] = map[string]any{}
			}
			zn.hosts[s.Host][s.Binary] = map[string]any{"available": up, "active": !s.Disabled, "updated_at": isoMicro(s.UpdatedAt)}
		}
		slices.Sort(order)
		list := []map[string]any{}
		for _, z := range order {
			zn := zones[z]
			e := map[string]any{"zoneName": z, "zoneState": map[string]bool{"available": zn.available}, "hosts": nil}
			if detail {
				e["hosts"] = zn.hosts
			}
			list = append(list, e)
		}
		return map[string]any{"availabilityZoneInfo": list}, nil
	}
}

// Migrations.

func (a *API) migrationView(r *rest.Request, m *objects.Migration, flavors map[string]int64, server bool) map[string]any {
	v := map[string]any{"id": m.ID, "source_node": m.SourceNode, "dest_node": m.DestNode, "source_compute": m.SourceCompute,
		"dest_compute": m.DestCompute, "dest_host": m.DestHost, "status": m.Status, "instance_uuid": m.InstanceUUID,
		"created_at": isoMicro(m.CreatedAt), "updated_at": isoMicro(m.UpdatedAt)}
	if server {
		v["server_uuid"] = m.InstanceUUID
		delete(v, "instance_uuid")
		for _, k := range []string{"memory_total", "memory_processed", "memory_remaining", "disk_total", "disk_processed", "disk_remaining"} {
			v[k] = nil
		}
		if m.MemoryTotal != nil {
			v["memory_total"], v["memory_processed"], v["memory_remaining"] = *m.MemoryTotal, *m.MemoryProcessed, *m.MemoryRemaining
		}
		delete(v, "dest_host")
	} else {
		v["old_instance_type_id"], v["new_instance_type_id"] = flavors[m.OldFlavorID], flavors[m.NewFlavorID]
		if r.Version.AtLeast(rest.V(2, 23)) {
			v["migration_type"] = m.MigrationType
			if m.MigrationType == objects.MigrationLive && slices.Contains([]string{"queued", "preparing", "running", "post-migrating"}, m.Status) {
				v["links"] = a.links(r, "servers/"+m.InstanceUUID+"/migrations", strconv.FormatInt(m.ID, 10))
			}
		}
	}
	if r.Version.AtLeast(rest.V(2, 59)) {
		v["uuid"] = m.UUID
	}
	if r.Version.AtLeast(rest.V(2, 80)) {
		v["user_id"], v["project_id"] = m.UserID, m.ProjectID
	}
	return v
}

func (a *API) flavorIDs(ctx context.Context) map[string]int64 {
	out := map[string]int64{}
	if fl, err := a.d.Store.Flavors(ctx, store.FlavorFilter{}); err == nil {
		for _, f := range fl {
			out[f.FlavorID] = f.ID
		}
	}
	return out
}

func (a *API) listMigrations(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	f := store.MigrationFilter{InstanceUUID: q.Get("instance_uuid"), Host: q.Get("host"), Status: q.Get("status"),
		SourceCompute: q.Get("source_compute")}
	if r.Version.AtLeast(rest.V(2, 23)) {
		f.MigrationType = q.Get("migration_type")
	}
	if r.Version.AtLeast(rest.V(2, 80)) {
		f.UserID, f.ProjectID = q.Get("user_id"), q.Get("project_id")
	}
	paged := r.Version.AtLeast(rest.V(2, 59))
	if paged {
		for _, p := range []struct {
			name string
			dst  *time.Time
			min  rest.Version
		}{{"changes-since", &f.ChangesSince, rest.V(2, 59)}, {"changes-before", &f.ChangesBefore, rest.V(2, 66)}} {
			if s := q.Get(p.name); s != "" && r.Version.AtLeast(p.min) {
				t, err := parseTime(p.name, s)
				if err != nil {
					return nil, err
				}
				*p.dst = t
			}
		}
		if !f.ChangesSince.IsZero() && !f.ChangesBefore.IsZero() && f.ChangesBefore.Before(f.ChangesSince) {
			return nil, fault.BadRequest("The value of changes-since must be less than or equal to changes-before.")
		}
	}
	ms, err := a.d.Store.Migrations(ctx, f)
	if err != nil {
		return nil, err
	}
	var page rest.Page
	if paged {
		if page, err = r.Page(a.cfg.API.MaxLimit, a.cfg.API.MaxLimit); err != nil {
			return nil, err
		}
		if page.Limit == 0 {
			page.Limit = a.cfg.API.MaxLimit
		}
		if ms, _, err = rest.PageOf(ms, page, func(m *objects.Migration) string { return m.UUID }); err != nil {
			return nil, fault.BadRequest("Marker %s could not be found.", page.Marker)
		}
	}
	flavors := a.flavorIDs(ctx)
	list := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		list = append(list, a.migrationView(r, m, flavors, false))
	}
	out := map[string]any{"migrations": list}
	if paged && len(ms) > 0 && len(ms) == page.Limit {
		out["migrations_links"] = a.nextLink(r, ms[len(ms)-1].UUID)
	}
	return out, nil
}

func (a *API) serverMigration(ctx context.Context, r *rest.Request) (*objects.Instance, *objects.Migration, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	m, err := a.d.Store.Migration(ctx, r.Param("migration_id"))
	if err != nil || m.InstanceUUID != inst.UUID {
		return nil, nil, fault.NotFound("Migration %s could not be found for instance %s.", r.Param("migration_id"), inst.UUID).WithType("MigrationNotFoundForInstance")
	}
	return inst, m, nil
}

func (a *API) listServerMigrations(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:migrations:index", inst); err != nil {
		return nil, err
	}
	ms, err := a.d.Store.Migrations(ctx, store.MigrationFilter{InstanceUUID: inst.UUID, MigrationType: objects.MigrationLive})
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, m := range ms {
		if slices.Contains([]string{"queued", "preparing", "running", "post-migrating"}, m.Status) {
			list = append(list, a.migrationView(r, m, nil, true))
		}
	}
	return map[string]any{"migrations": list}, nil
}

func (a *API) showServerMigration(ctx context.Context, r *rest.Request) (any, error) {
	inst, m, err := a.serverMigration(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:migrations:show", inst); err != nil {
		return nil, err
	}
	if m.MigrationType != objects.MigrationLive || !slices.Contains([]string{"queued", "preparing", "running", "post-migrating"}, m.Status) {
		return nil, fault.NotFound("In-progress live migration %d is not found for server %s.", m.ID, inst.UUID)
	}
	return map[string]any{"migration": a.migrationView(r, m, nil, true)}, nil
}

func (a *API) forceCompleteMigration(ctx context.Context, r *rest.Request) (any, error) {
	inst, m, err := a.serverMigration(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:migrations:force_complete", inst); err != nil {
		return nil, err
	}
	if err := states.Check(states.ActForceComplete, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	if m.Status != "running" {
		return nil, fault.BadRequest("Migration %d state of instance %s is %s. Cannot force_complete while the migration is in this state.", m.ID, inst.UUID, m.Status)
	}
	// The fake and QEMU drivers' migrations converge on their own.
	return nil, nil
}

func (a *API) abortMigration(ctx context.Context, r *rest.Request) (any, error) {
	inst, m, err := a.serverMigration(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:migrations:delete", inst); err != nil {
		return nil, err
	}
	if m.MigrationType != objects.MigrationLive {
		return nil, fault.BadRequest("Migration %d for instance %s is not a live migration.", m.ID, inst.UUID)
	}
	if !slices.Contains([]string{"queued", "preparing", "running"}, m.Status) {
		return nil, fault.BadRequest("Migration %d state of instance %s is %s. Cannot abort live migration while the migration is in this state.", m.ID, inst.UUID, m.Status)
	}
	return nil, fault.Conflict("Live migration %d of instance %s can no longer be aborted.", m.ID, inst.UUID)
}

// Simple tenant usage.

func usagePeriod(r *rest.Request) (time.Time, time.Time, error) {
	q := r.HTTP.URL.Query()
	end := time.Now().UTC()
	start := end.Add(-24 * time.Hour)
	var err error
	if s := q.Get("start"); s != "" {
		if start, err = parseTime("start", s); err != nil {
			return start, end, fault.BadRequest("Invalid start time: %s", s)
		}
	}
	if s := q.Get("end"); s != "" {
		if end, err = parseTime("end", s); err != nil {
			return start, end, fault.BadRequest("Invalid end time: %s", s)
		}
	}
	if !start.Before(end) {
		return start, end, fault.BadRequest("Invalid start time. The start time cannot occur after the end time.")
	}
	return start, end, nil
}

// tenantUsage computes a project's usage over a period, from its instances
// (deleted ones included).
func (a *API) tenantUsage(ctx context.Context, project string, start, end time.Time, detailed bool, now time.Time) (map[string]any, []map[string]any, error) {
	insts, err := a.d.Store.Instances(ctx, store.InstanceFilter{ProjectID: project, ChangesSince: start, SortKeys: []string{"created_at"}, SortDirs: []string{"asc"}})
	if err != nil {
		return nil, nil, err
	}
	u := map[string]any{"tenant_id": project, "start": isoMicro(start), "stop": isoMicro(end)}
	var totHours, vcpu, mem, disk float64
	var servers []map[string]any
	for _, i := range insts {
		launched := i.LaunchedAt
		if launched.IsZero() {
			launched = i.CreatedAt
		}
		stop := end
		if !i.TerminatedAt.IsZero() && i.TerminatedAt.Before(stop) {
			stop = i.TerminatedAt
		}
		if launched.After(end) || stop.Before(start) {
			continue
		}
		from := launched
		if from.Before(start) {
			from = start
		}
		hours := stop.Sub(from).Hours()
		if hours < 0 {
			hours = 0
		}
		disk1 := i.Flavor.RootGB + i.Flavor.EphemeralGB
		totHours += hours
		vcpu += hours * float64(i.Flavor.VCPUs)
		mem += hours * float64(i.Flavor.MemoryMB)
		disk += hours * float64(disk1)
		if detailed {
			state := string(i.VMState)
			ended := any(nil)
			if !i.TerminatedAt.IsZero() {
				ended = isoMicro(i.TerminatedAt)
				state = "terminated"
			}
			uptime := int(now.Sub(launched).Seconds())
			if !i.TerminatedAt.IsZero() {
				uptime = int(i.TerminatedAt.Sub(launched).Seconds())
			}
			servers = append(servers, map[string]any{"instance_id": i.UUID, "name": i.DisplayName, "hours": hours, "memory_mb": i.Flavor.MemoryMB,
				"local_gb": disk1, "vcpus": i.Flavor.VCPUs, "tenant_id": project, "flavor": i.Flavor.Name, "started_at": isoMicro(launched),
				"ended_at": ended, "state": state, "uptime": uptime})
		}
	}
	if len(insts) == 0 {
		return nil, nil, nil
	}
	u["total_hours"], u["total_vcpus_usage"], u["total_memory_mb_usage"], u["total_local_gb_usage"] = totHours, vcpu, mem, disk
	return u, servers, nil
}

func (a *API) listUsage(ctx context.Context, r *rest.Request) (any, error) {
	start, end, err := usagePeriod(r)
	if err != nil {
		return nil, err
	}
	detailed := false
	if d := r.HTTP.URL.Query().Get("detailed"); d != "" {
		detailed, _ = queryBool("detailed", d)
	}
	all, err := a.d.Store.Instances(ctx, store.InstanceFilter{ChangesSince: start})
	if err != nil {
		return nil, err
	}
	var projects []string
	for _, i := range all {
		if !slices.Contains(projects, i.ProjectID) {
			projects = append(projects, i.ProjectID)
		}
	}
	slices.Sort(projects)
	list := []map[string]any{}
	for _, p := range projects {
		u, servers, err := a.tenantUsage(ctx, p, start, end, detailed, a.d.Now())
		if err != nil {
			return nil, err
		}
		if u == nil {
			continue
		}
		if detailed {
			if servers == nil {
				servers = []map[string]any{}
			}
			u["server_usages"] = servers
		}
		list = append(list, u)
	}
	out := map[string]any{"tenant_usages": list}
	if r.Version.AtLeast(rest.V(2, 40)) {
		page, err := r.Page(a.cfg.API.MaxLimit, a.cfg.API.MaxLimit)
		if err != nil {
			return nil, err
		}
		if page.Limit > 0 && len(list) > page.Limit {
			out["tenant_usages"] = list[:page.Limit]
		}
	}
	return out, nil
}

func (a *API) showUsage(ctx context.Context, r *rest.Request) (any, error) {
	project := r.Param("tenant_id")
	if err := r.Enforce(ctx, "os_compute_api:os-simple-tenant-usage:show", map[string]any{"project_id": project}); err != nil {
		return nil, err
	}
	start, end, err := usagePeriod(r)
	if err != nil {
		return nil, err
	}
	u, servers, err := a.tenantUsage(ctx, project, start, end, true, a.d.Now())
	if err != nil {
		return nil, err
	}
	if u == nil {
		return map[string]any{"tenant_usage": map[string]any{}}, nil
	}
	if servers == nil {
		servers = []map[string]any{}
	}
	u["server_usages"] = servers
	return map[string]any{"tenant_usage": u}, nil
}

// os-hosts (deprecated in 2.43).

func (a *API) listHosts(ctx context.Context, r *rest.Request) (any, error) {
	svcs, err := a.d.Store.Services(ctx, "", "")
	if err != nil {
		return nil, err
	}
	az, _ := a.hostAZs(ctx)
	zone := r.HTTP.URL.Query().Get("zone")
	list := []map[string]any{}
	for _, s := range svcs {
		v := a.serviceView(r, s, az)
		if zone != "" && v["zone"] != zone {
			continue
		}
		list = append(list, map[string]any{"host_name": s.Host, "service": strings.TrimPrefix(s.Binary, "nova-"), "zone": v["zone"]})
	}
	return map[string]any{"hosts": list}, nil
}

func (a *API) showHost(ctx context.Context, r *rest.Request) (any, error) {
	host := r.Param("host_name")
	nodes, err := a.d.Store.Nodes(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, fault.NotFound("Compute host %s could not be found.", host)
	}
	n := nodes[0]
	res := []map[string]any{
		{"resource": map[string]any{"host": host, "project": "(total)", "cpu": n.VCPUs, "memory_mb": n.MemoryMB, "disk_gb": n.LocalGB}},
		{"resource": map[string]any{"host": host, "project": "(used_now)", "cpu": n.VCPUsUsed, "memory_mb": n.MemoryMBUsed + n.ReservedHostMemoryMB, "disk_gb": n.LocalGBUsed}},
	}
	insts, err := a.d.Store.Instances(ctx, store.InstanceFilter{Host: host})
	if err != nil {
		return nil, err
	}
	max := map[string][3]int{}
	for _, i := range insts {
		v := max[i.ProjectID]
		v[0] += i.Flavor.VCPUs
		v[1] += i.Flavor.MemoryMB
		v[2] += i.Flavor.RootGB + i.Flavor.EphemeralGB
		max[i.ProjectID] = v
	}
	total := [3]int{}
	for _, v := range max {
		total[0], total[1], total[2] = total[0]+v[0], total[1]+v[1], total[2]+v[2]
	}
	res = append(res, map[string]any{"resource": map[string]any{"host": host, "project": "(used_max)", "cpu": total[0], "memory_mb": total[1], "disk_gb": total[2]}})
	for p, v := range max {
		res = append(res, map[string]any{"resource": map[string]any{"host": host, "project": p, "cpu": v[0], "memory_mb": v[1], "disk_gb": v[2]}})
	}
	return map[string]any{"host": res}, nil
}

func (a *API) updateHost(ctx context.Context, r *rest.Request) (any, error) {
	host := r.Param("host_name")
	var body map[string]string
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	svcs, err := a.d.Store.Services(ctx, host, "nova-compute")
	if err != nil {
		return nil, err
	}
	if len(svcs) == 0 {
		return nil, fault.NotFound("Compute host %s could not be found.", host)
	}
	out := map[string]any{"host": host}
	if len(body) == 0 {
		return nil, fault.BadRequest("Invalid input: status or maintenance_mode is required")
	}
	for k, v := range body {
		switch k {
		case "status":
			if v != "enable" && v != "disable" {
				return nil, fault.BadRequest("Invalid status: '%s'", v)
			}
		case "maintenance_mode":
			if v != "enable" && v != "disable" {
				return nil, fault.BadRequest("Invalid mode: '%s'", v)
			}
		default:
			return nil, fault.BadRequest("Invalid update setting: '%s'", k)
		}
	}
	if _, ok := body["maintenance_mode"]; ok {
		return nil, fault.NotImplemented("Virt driver does not implement host maintenance mode.")
	}
	d := body["status"] == "disable"
	if _, err := a.d.Store.UpdateService(ctx, svcs[0].ID, store.ServiceUpdate{Disabled: &d}); err != nil {
		return nil, err
	}
	out["status"] = body["status"] + "d"
	return out, nil
}

func (a *API) hostPowerAction(ctx context.Context, r *rest.Request) (any, error) {
	if svcs, err := a.d.Store.Services(ctx, r.Param("host_name"), "nova-compute"); err != nil || len(svcs) == 0 {
		return nil, fault.NotFound("Compute host %s could not be found.", r.Param("host_name")).WithType("ComputeHostNotFound")
	}
	switch r.Param("power_action") {
	case "reboot", "shutdown", "startup":
		return nil, fault.NotImplemented("Virt driver does not implement host %s.", r.Param("power_action"))
	}
	return nil, fault.NotFound("The resource could not be found.")
}

var _ = rpc.ConductorSubject

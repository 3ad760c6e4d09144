package api

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

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

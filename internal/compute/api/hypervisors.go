package api

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

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

package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	compute "github.com/tenku-cloud/tenku/api/compute"
	identity "github.com/tenku-cloud/tenku/api/identity"
	image "github.com/tenku-cloud/tenku/api/image"
	network "github.com/tenku-cloud/tenku/api/network"
)

// The admin pages (Horizon's "Admin" panel group) show the whole cloud. The
// menu offers them to holders of the admin role; the APIs decide, so a user
// without it who types the address reads the service's own 403.

// hypervisor is a compute node with the usage figures compute microversions
// before 2.88 report beside the wire type's fields.
type hypervisor struct {
	compute.Hypervisor
	VCPUs        int64 `json:"vcpus"`
	VCPUsUsed    int64 `json:"vcpus_used"`
	MemoryMB     int64 `json:"memory_mb"`
	MemoryMBUsed int64 `json:"memory_mb_used"`
	LocalGB      int64 `json:"local_gb"`
	LocalGBUsed  int64 `json:"local_gb_used"`
	RunningVMs   int64 `json:"running_vms"`
}

// Usage returns the node's gauges: vCPUs, RAM and disk.
func (h hypervisor) Usage() []quota {
	return []quota{
		{Label: "VCPUs", Used: h.VCPUsUsed, Limit: h.VCPUs},
		{Label: "RAM", Used: h.MemoryMBUsed, Limit: h.MemoryMB, Unit: "MiB"},
		{Label: "Local Disk", Used: h.LocalGBUsed, Limit: h.LocalGB, Unit: "GiB"},
	}
}

type hypervisorsData struct {
	Hypervisors []hypervisor
	Total       []quota
}

func (d *Dashboard) hypervisorsPage(p *page) error {
	p.Title = "Hypervisors"
	var out struct {
		Hypervisors []hypervisor `json:"hypervisors"`
	}
	if err := p.cl.get(p.ctx, "compute", "/os-hypervisors/detail", &out); err != nil {
		return err
	}
	sort.Slice(out.Hypervisors, func(i, j int) bool {
		return out.Hypervisors[i].HypervisorHostname < out.Hypervisors[j].HypervisorHostname
	})
	var sum hypervisor
	for _, h := range out.Hypervisors {
		sum.VCPUs += h.VCPUs
		sum.VCPUsUsed += h.VCPUsUsed
		sum.MemoryMB += h.MemoryMB
		sum.MemoryMBUsed += h.MemoryMBUsed
		sum.LocalGB += h.LocalGB
		sum.LocalGBUsed += h.LocalGBUsed
	}
	p.Data = &hypervisorsData{Hypervisors: out.Hypervisors, Total: sum.Usage()}
	return nil
}

type servicesData struct {
	Compute []compute.Service
	Agents  []network.Agent
	Volume  []volumeService
}

// volumeService is an entry of Cinder's os-services.
type volumeService struct {
	Binary    string  `json:"binary"`
	Host      string  `json:"host"`
	Zone      string  `json:"zone"`
	Status    string  `json:"status"`
	State     string  `json:"state"`
	UpdatedAt *string `json:"updated_at"`
}

// servicesPage lists compute services, network agents and (when the catalog
// has Cinder) volume services in one fan-out.
func (d *Dashboard) servicesPage(p *page) error {
	p.Title = "System Information"
	var (
		nova struct {
			Services []compute.Service `json:"services"`
		}
		neutron struct {
			Agents []network.Agent `json:"agents"`
		}
		cinder struct {
			Services []volumeService `json:"services"`
		}
	)
	calls := []func(context.Context) error{
		func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/os-services", &nova) },
	}
	if p.cl.has(serviceTypes["network"]...) {
		calls = append(calls, func(ctx context.Context) error { return p.cl.get(ctx, "network", "/v2.0/agents", &neutron) })
	}
	if p.cl.has(serviceTypes["volume"]...) {
		calls = append(calls, func(ctx context.Context) error { return p.cl.get(ctx, "volume", "/os-services", &cinder) })
	}
	for _, err := range fanout(p.ctx, calls...) {
		if statusOf(err) == http.StatusUnauthorized {
			return err
		}
		p.fail(err)
	}
	sort.Slice(neutron.Agents, func(i, j int) bool {
		a, b := neutron.Agents[i], neutron.Agents[j]
		return a.Host < b.Host || a.Host == b.Host && a.Binary < b.Binary
	})
	p.Data = &servicesData{Compute: nova.Services, Agents: neutron.Agents, Volume: cinder.Services}
	return nil
}

type flavorsData struct {
	Flavors []compute.Flavor
}

// flavorsPage lists every flavor, public and private (is_public=None is
// Nova's "all" for admins).
func (d *Dashboard) flavorsPage(p *page) error {
	p.Title = "Flavors"
	var out compute.FlavorList
	if err := p.cl.get(p.ctx, "compute", "/flavors/detail?is_public=None", &out); err != nil {
		return err
	}
	sort.Slice(out.Flavors, func(i, j int) bool {
		a, b := out.Flavors[i], out.Flavors[j]
		return a.RAM < b.RAM || a.RAM == b.RAM && a.Name < b.Name
	})
	p.Data = &flavorsData{Flavors: out.Flavors}
	return nil
}

// createFlavor creates a flavor from the form; the numbers are sent as typed
// so that Nova judges them (and says what is wrong).
func (d *Dashboard) createFlavor(p *page) (string, error) {
	f := p.r.PostForm
	body := map[string]any{"name": strings.TrimSpace(f.Get("name")), "os-flavor-access:is_public": f.Get("is_public") != ""}
	if id := strings.TrimSpace(f.Get("id")); id != "" {
		body["id"] = id
	}
	for _, k := range []string{"vcpus", "ram", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap"} {
		v := strings.TrimSpace(f.Get(k))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", badRequest("%s must be a whole number, not %q", k, v)
		}
		body[k] = n
	}
	if err := p.cl.do(p.ctx, "compute", "POST", "/flavors", map[string]any{"flavor": body}, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Created flavor %q.", body["name"])
	return "/admin/flavors/", nil
}

func (d *Dashboard) deleteFlavor(p *page) (string, error) {
	if err := p.cl.do(p.ctx, "compute", "DELETE", "/flavors/"+url.PathEscape(p.r.PathValue("id")), nil, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Deleted the flavor.")
	return "/admin/flavors/", nil
}

// projectNames maps project ids to names as Keystone lists them to the user
// (all projects for an admin) at the Keystone the user logged in to; an error
// leaves the ids shown as they are.
func projectNames(ctx context.Context, cl *cloud) (map[string]string, error) {
	var out struct {
		Projects []identity.Project `json:"projects"`
	}
	if err := cl.keystone(ctx, "GET", "/projects", nil, &out); err != nil {
		return nil, err
	}
	names := make(map[string]string, len(out.Projects))
	for _, pr := range out.Projects {
		names[pr.ID] = pr.Name
	}
	return names, nil
}

// adminInstance is a server of any project with its project's name.
type adminInstance struct {
	instance
	ProjectName string
}

// HostName is the compute host the server is on ("" when unscheduled).
func (a adminInstance) HostName() string {
	if a.Host == nil {
		return ""
	}
	return *a.Host
}

type adminInstancesData struct {
	Instances []adminInstance
	Pager     *pager
}

// adminInstances lists one page of the servers of every project
// (all_tenants) with the projects' names from the same fan-out, then the
// page's images' names.
func (d *Dashboard) adminInstances(p *page) error {
	p.Title = "All Instances"
	pg := d.newPager(p.r)
	var (
		servers []compute.Server
		names   map[string]string
	)
	errs := fanout(p.ctx,
		func(ctx context.Context) (err error) {
			servers, err = serverPage(ctx, p.cl, pg, url.Values{"all_tenants": {"1"}})
			return
		},
		func(ctx context.Context) (err error) { names, err = projectNames(ctx, p.cl); return },
	)
	if errs[0] != nil {
		return errs[0]
	}
	p.fail(errs[1])
	imgs, err := imagesByID(p.ctx, p.cl, servers)
	p.fail(err)
	data := &adminInstancesData{Pager: pg}
	for _, in := range enrich(servers, imgs, p.T) {
		data.Instances = append(data.Instances, adminInstance{instance: in, ProjectName: orDefault(names[in.TenantID], in.TenantID)})
	}
	p.Data = data
	return nil
}

// adminImage is an image with its owner's project name.
type adminImage struct {
	image.Image
	OwnerName string
}

type adminImagesData struct {
	Images []adminImage
	Pager  *pager
}

// adminImages lists one page of every image Glance shows an admin (all
// projects'), with the owners' names from the same fan-out.
func (d *Dashboard) adminImages(p *page) error {
	p.Title = "All Images"
	pg := d.newPager(p.r)
	var (
		imgs  []image.Image
		names map[string]string
	)
	errs := fanout(p.ctx,
		func(ctx context.Context) (err error) { imgs, err = imagePage(ctx, p.cl, pg); return },
		func(ctx context.Context) (err error) { names, err = projectNames(ctx, p.cl); return },
	)
	if errs[0] != nil {
		return errs[0]
	}
	p.fail(errs[1])
	data := &adminImagesData{Pager: pg}
	for _, im := range imgs {
		owner := deref(im.Owner)
		data.Images = append(data.Images, adminImage{Image: im, OwnerName: orDefault(names[owner], owner)})
	}
	p.Data = data
	return nil
}

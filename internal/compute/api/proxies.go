package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// The proxy APIs Nova deprecated in 2.36 (images, networks) and 2.39 (image
// metadata) pass through to Glance and Neutron for the microversions that
// still have them.

func (a *API) miscRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/extensions", Handler: a.listExtensions, Policy: "os_compute_api:extensions"},
		{Method: "GET", Path: "/v2.1/extensions/{alias}", Handler: a.showExtension, Policy: "os_compute_api:extensions"},
		{Method: "GET", Path: "/v2.1/images", Handler: a.listImages(false), Max: rest.V(2, 35)},
		{Method: "GET", Path: "/v2.1/images/detail", Handler: a.listImages(true), Max: rest.V(2, 35)},
		{Method: "GET", Path: "/v2.1/images/{image_id}", Handler: a.showImage, Max: rest.V(2, 35)},
		{Method: "DELETE", Path: "/v2.1/images/{image_id}", Handler: a.deleteImage, Max: rest.V(2, 35), Status: http.StatusNoContent},
		{Method: "GET", Path: "/v2.1/images/{image_id}/metadata", Handler: a.listImageMeta, Max: rest.V(2, 38)},
		{Method: "GET", Path: "/v2.1/images/{image_id}/metadata/{key}", Handler: a.showImageMeta, Max: rest.V(2, 38)},
		{Method: "PUT", Path: "/v2.1/images/{image_id}/metadata", Handler: a.setImageMeta(true), Max: rest.V(2, 38)},
		{Method: "POST", Path: "/v2.1/images/{image_id}/metadata", Handler: a.setImageMeta(false), Max: rest.V(2, 38)},
		{Method: "PUT", Path: "/v2.1/images/{image_id}/metadata/{key}", Handler: a.putImageMetaItem, Max: rest.V(2, 38)},
		{Method: "DELETE", Path: "/v2.1/images/{image_id}/metadata/{key}", Handler: a.deleteImageMetaItem, Max: rest.V(2, 38), Status: http.StatusNoContent},
		{Method: "GET", Path: "/v2.1/os-networks", Handler: a.listNetworks(false), Max: rest.V(2, 35), Policy: "os_compute_api:os-networks:list"},
		{Method: "GET", Path: "/v2.1/os-networks/{network_id}", Handler: a.showNetwork(false), Max: rest.V(2, 35), Policy: "os_compute_api:os-networks:show"},
		{Method: "GET", Path: "/v2.1/os-tenant-networks", Handler: a.listNetworks(true), Max: rest.V(2, 35), Policy: "os_compute_api:os-tenant-networks:list"},
		{Method: "GET", Path: "/v2.1/os-tenant-networks/{network_id}", Handler: a.showNetwork(true), Max: rest.V(2, 35), Policy: "os_compute_api:os-tenant-networks:show"},
		{Method: "GET", Path: "/v2.1/os-instance_usage_audit_log", Handler: a.listAuditLog, Policy: "os_compute_api:os-instance-usage-audit-log:list"},
		{Method: "GET", Path: "/v2.1/os-instance_usage_audit_log/{before}", Handler: a.showAuditLog, Policy: "os_compute_api:os-instance-usage-audit-log:show"},
	}
}

// auditLog is Nova's report of the instance usage audit of the last
// completed month before a time. tenku runs no usage audit task
// (instance_usage_audit is off, as by default), so every compute host is
// reported as not run.
func (a *API) auditLog(ctx context.Context, before time.Time) (map[string]any, error) {
	before = before.UTC()
	end := time.Date(before.Year(), before.Month(), 1, 0, 0, 0, 0, time.UTC)
	begin := end.AddDate(0, -1, 0)
	svcs, err := a.d.Store.Services(ctx, "", "nova-compute")
	if err != nil {
		return nil, err
	}
	hosts := []string{}
	seen := map[string]bool{}
	for _, s := range svcs {
		if !seen[s.Host] {
			seen[s.Host] = true
			hosts = append(hosts, s.Host)
		}
	}
	status := fmt.Sprintf("0 of %d hosts done. 0 errors.", len(hosts))
	if len(hosts) == 0 {
		status = "ALL hosts done. 0 errors."
	}
	const layout = "2006-01-02 15:04:05"
	return map[string]any{"period_beginning": begin.Format(layout), "period_ending": end.Format(layout),
		"num_hosts": len(hosts), "num_hosts_done": 0, "num_hosts_running": 0, "num_hosts_not_run": len(hosts),
		"hosts_not_run": hosts, "total_instances": 0, "total_errors": 0, "overall_status": status, "log": map[string]any{}}, nil
}

func (a *API) listAuditLog(ctx context.Context, r *rest.Request) (any, error) {
	l, err := a.auditLog(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	return map[string]any{"instance_usage_audit_logs": l}, nil
}

func (a *API) showAuditLog(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("before")
	layout := "2006-01-02 15:04:05"
	if strings.Contains(id, ".") {
		layout += ".999999"
	}
	before, err := time.Parse(layout, id)
	if err != nil {
		return nil, fault.BadRequest("Invalid timestamp for date %s", id)
	}
	l, err := a.auditLog(ctx, before)
	if err != nil {
		return nil, err
	}
	return map[string]any{"instance_usage_audit_log": l}, nil
}

// legacyExtensions are the (alias, name) pairs of the v2.0 extensions Nova
// still lists for old clients; every one of them is part of v2.1 itself.
const legacyExtensions = "NMN Multinic;OS-DCF DiskConfig;OS-EXT-AZ ExtendedAvailabilityZone;OS-EXT-IMG-SIZE ImageSize;" +
	"OS-EXT-IPS ExtendedIps;OS-EXT-IPS-MAC ExtendedIpsMac;OS-EXT-SRV-ATTR ExtendedServerAttributes;OS-EXT-STS ExtendedStatus;" +
	"OS-FLV-DISABLED FlavorDisabled;OS-FLV-EXT-DATA FlavorExtraData;OS-SCH-HNT SchedulerHints;OS-SRV-USG ServerUsage;" +
	"os-access-ips AccessIPs;os-admin-actions AdminActions;os-admin-password AdminPassword;os-aggregates Aggregates;" +
	"os-attach-interfaces AttachInterfaces;os-availability-zone AvailabilityZone;os-block-device-mapping BlockDeviceMapping;" +
	"os-block-device-mapping-v2-boot BlockDeviceMappingV2Boot;os-config-drive ConfigDrive;os-console-output ConsoleOutput;" +
	"os-consoles Consoles;os-create-backup CreateBackup;os-create-server-ext Createserverext;os-deferred-delete DeferredDelete;" +
	"os-evacuate Evacuate;os-extended-evacuate-find-host ExtendedEvacuateFindHost;os-extended-floating-ips ExtendedFloatingIps;" +
	"os-extended-hypervisors ExtendedHypervisors;os-extended-networks ExtendedNetworks;os-extended-quotas ExtendedQuotas;" +
	"os-extended-rescue-with-image ExtendedRescueWithImage;os-extended-services ExtendedServices;" +
	"os-extended-services-delete ExtendedServicesDelete;os-extended-status ExtendedStatus;os-extended-volumes ExtendedVolumes;" +
	"os-flavor-access FlavorAccess;os-flavor-extra-specs FlavorExtraSpecs;os-flavor-manage FlavorManage;os-flavor-rxtx FlavorRxtx;" +
	"os-flavor-swap FlavorSwap;os-floating-ip-pools FloatingIpPools;os-floating-ips FloatingIps;os-hide-server-addresses HideServerAddresses;" +
	"os-hosts Hosts;os-hypervisor-status HypervisorStatus;os-hypervisors Hypervisors;os-instance-actions InstanceActions;" +
	"os-instance_usage_audit_log OSInstanceUsageAuditLog;os-keypairs Keypairs;os-lock-server LockServer;os-migrate-server MigrateServer;" +
	"os-migrations Migrations;os-multiple-create MultipleCreate;os-networks Networks;os-pause-server PauseServer;" +
	"os-personality Personality;os-preserve-ephemeral-rebuild PreserveEphemeralOnRebuild;os-quota-class-sets QuotaClasses;" +
	"os-quota-sets Quotas;os-rescue Rescue;os-security-groups SecurityGroups;os-server-diagnostics ServerDiagnostics;" +
	"os-server-external-events ServerExternalEvents;os-server-group-quotas ServerGroupQuotas;os-server-groups ServerGroups;" +
	"os-server-list-multi-status ServerListMultiStatus;os-server-password ServerPassword;os-server-sort-keys ServerSortKeys;" +
	"os-server-start-stop ServerStartStop;os-services Services;os-shelve Shelve;os-simple-tenant-usage SimpleTenantUsage;" +
	"os-suspend-server SuspendServer;os-tenant-networks OSTenantNetworks;os-used-limits UsedLimits;" +
	"os-used-limits-for-admin UsedLimitsForAdmin;os-user-data UserData;os-user-quotas UserQuotas;" +
	"os-virtual-interfaces VirtualInterfaces;os-volume-attachment-update VolumeAttachmentUpdate;os-volumes Volumes"

func extensionList() []map[string]any {
	var out []map[string]any
	for _, e := range strings.Split(legacyExtensions, ";") {
		alias, name, _ := strings.Cut(e, " ")
		out = append(out, map[string]any{"alias": alias, "name": name, "description": name + " support (part of the v2.1 API).",
			"links": []any{}, "namespace": "http://docs.openstack.org/compute/ext/fake_xml", "updated": "2014-12-03T00:00:00Z"})
	}
	return out
}

func (a *API) listExtensions(context.Context, *rest.Request) (any, error) {
	return map[string]any{"extensions": extensionList()}, nil
}

func (a *API) showExtension(_ context.Context, r *rest.Request) (any, error) {
	for _, e := range extensionList() {
		if e["alias"] == r.Param("alias") {
			return map[string]any{"extension": e}, nil
		}
	}
	return nil, fault.NotFound("Extension %s could not be found.", r.Param("alias"))
}

// imageView renders a Glance image as Nova's image API showed it.
func (a *API) imageView(r *rest.Request, im *objects.ImageMeta, detail bool) map[string]any {
	links := a.links(r, "images", im.ID)
	links = append(links, map[string]string{"rel": "alternate", "type": "application/vnd.openstack.image", "href": a.base(r) + "/images/" + im.ID})
	v := map[string]any{"id": im.ID, "name": im.Name, "links": links}
	if !detail {
		return v
	}
	status := map[string]string{"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "importing": "SAVING",
		"uploading": "SAVING", "deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}[im.Status]
	if status == "" {
		status = "UNKNOWN"
	}
	md := map[string]string{}
	for k, val := range im.Properties {
		md[k] = val
	}
	v["status"], v["minDisk"], v["minRam"], v["metadata"] = status, im.MinDisk, im.MinRAM, md
	v["created"], v["updated"] = isoZ(im.CreatedAt), isoZ(im.UpdatedAt)
	v["OS-EXT-IMG-SIZE:size"] = im.Size
	v["progress"] = map[string]int{"ACTIVE": 100, "SAVING": 25}[status]
	if srv := im.Properties["instance_uuid"]; srv != "" {
		v["server"] = map[string]any{"id": srv, "links": a.links(r, "servers", srv)}
	}
	return v
}

func (a *API) listImages(detail bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		q := r.HTTP.URL.Query()
		f := clients.ImageFilter{Name: q.Get("name")}
		if s := q.Get("status"); s != "" {
			f.Status = strings.ToLower(map[string]string{"ACTIVE": "active", "SAVING": "queued"}[strings.ToUpper(s)])
		}
		ims, err := a.d.Images.List(ctx, f)
		if err != nil {
			return nil, err
		}
		page, err := r.Page(a.cfg.API.MaxLimit, a.cfg.API.MaxLimit)
		if err != nil {
			return nil, err
		}
		if page.Limit == 0 {
			page.Limit = a.cfg.API.MaxLimit
		}
		var out []*objects.ImageMeta
		for _, im := range ims {
			if s := q.Get("server"); s != "" && im.Properties["instance_uuid"] != lastSegment(s) {
				continue
			}
			if t := q.Get("type"); t != "" && im.Properties["image_type"] != t {
				continue
			}
			out = append(out, im)
		}
		out, _, err = rest.PageOf(out, page, func(im *objects.ImageMeta) string { return im.ID })
		if err != nil {
			return nil, fault.BadRequest("marker [%s] not found", page.Marker)
		}
		list := make([]map[string]any, 0, len(out))
		for _, im := range out {
			list = append(list, a.imageView(r, im, detail))
		}
		body := map[string]any{"images": list}
		if len(out) > 0 && len(out) == page.Limit {
			body["images_links"] = a.nextLink(r, out[len(out)-1].ID)
		}
		return body, nil
	}
}

func (a *API) showImage(ctx context.Context, r *rest.Request) (any, error) {
	im, err := a.d.Images.Get(ctx, r.Param("image_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"image": a.imageView(r, im, true)}, nil
}

func (a *API) deleteImage(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.d.Images.Get(ctx, r.Param("image_id")); err != nil {
		return nil, err
	}
	return nil, a.d.Images.Delete(ctx, r.Param("image_id"))
}

func (a *API) listImageMeta(ctx context.Context, r *rest.Request) (any, error) {
	im, err := a.d.Images.Get(ctx, r.Param("image_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"metadata": im.Properties}, nil
}

func (a *API) showImageMeta(ctx context.Context, r *rest.Request) (any, error) {
	im, err := a.d.Images.Get(ctx, r.Param("image_id"))
	if err != nil {
		return nil, err
	}
	v, ok := im.Properties[r.Param("key")]
	if !ok {
		return nil, fault.NotFound("Metadata item was not found")
	}
	return map[string]any{"meta": map[string]string{r.Param("key"): v}}, nil
}

// checkImageMetaQuota is Nova's _check_quota_limit: at most metadata_items
// properties.
func (a *API) checkImageMetaQuota(ctx context.Context, r *rest.Request, n int) error {
	project, _ := caller(r)
	limits, err := a.quota.projectLimits(ctx, project)
	if err != nil {
		return err
	}
	if max, ok := limits["metadata_items"]; ok && max >= 0 && n > max {
		return fault.Forbidden("Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", n, max).WithType("OverQuota")
	}
	return nil
}

// imageMetaBody reads {"metadata": {...}} or {"meta": {...}}: string values.
func imageMetaBody(r *rest.Request, key string) (map[string]string, error) {
	var body map[string]json.RawMessage
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	raw, ok := body[key]
	if !ok {
		return nil, fault.BadRequest("Incorrect request body format")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fault.BadRequest("Incorrect request body format")
	}
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		} else {
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out, nil
}

func (a *API) setImageMeta(replace bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		im, err := a.d.Images.Get(ctx, r.Param("image_id"))
		if err != nil {
			return nil, err
		}
		meta, err := imageMetaBody(r, "metadata")
		if err != nil {
			return nil, err
		}
		props := map[string]*string{}
		total := map[string]bool{}
		if !replace {
			for k := range im.Properties {
				total[k] = true
			}
		} else {
			for k := range im.Properties {
				if _, keep := meta[k]; !keep {
					props[k] = nil
				}
			}
		}
		for k, v := range meta {
			props[k] = &v
			total[k] = true
		}
		if err := a.checkImageMetaQuota(ctx, r, len(total)); err != nil {
			return nil, err
		}
		if len(props) == 0 {
			return map[string]any{"metadata": im.Properties}, nil
		}
		im, err = a.d.Images.Update(ctx, im.ID, props)
		if err != nil {
			return nil, err
		}
		return map[string]any{"metadata": im.Properties}, nil
	}
}

func (a *API) putImageMetaItem(ctx context.Context, r *rest.Request) (any, error) {
	im, err := a.d.Images.Get(ctx, r.Param("image_id"))
	if err != nil {
		return nil, err
	}
	meta, err := imageMetaBody(r, "meta")
	if err != nil {
		return nil, err
	}
	key := r.Param("key")
	v, ok := meta[key]
	if !ok {
		return nil, fault.BadRequest("Request body and URI mismatch")
	}
	if len(meta) > 1 {
		return nil, fault.BadRequest("Request body contains too many items")
	}
	n := len(im.Properties)
	if _, exists := im.Properties[key]; !exists {
		n++
	}
	if err := a.checkImageMetaQuota(ctx, r, n); err != nil {
		return nil, err
	}
	if _, err := a.d.Images.Update(ctx, im.ID, map[string]*string{key: &v}); err != nil {
		return nil, err
	}
	return map[string]any{"meta": map[string]string{key: v}}, nil
}

func (a *API) deleteImageMetaItem(ctx context.Context, r *rest.Request) (any, error) {
	im, err := a.d.Images.Get(ctx, r.Param("image_id"))
	if err != nil {
		return nil, err
	}
	key := r.Param("key")
	if _, ok := im.Properties[key]; !ok {
		return nil, fault.NotFound("Invalid metadata key")
	}
	_, err = a.d.Images.Update(ctx, im.ID, map[string]*string{key: nil})
	return nil, err
}

func (a *API) networkView(n clients.Net, tenant bool) map[string]any {
	if tenant {
		return map[string]any{"id": n.ID, "label": n.Name, "cidr": nil}
	}
	v := map[string]any{"id": n.ID, "label": n.Name}
	for _, k := range []string{"bridge", "bridge_interface", "broadcast", "cidr", "cidr_v6", "created_at", "deleted", "deleted_at",
		"dhcp_server", "dhcp_start", "dns1", "dns2", "enable_dhcp", "gateway", "gateway_v6", "host", "injected", "mtu", "multi_host",
		"netmask", "netmask_v6", "priority", "project_id", "rxtx_base", "share_address", "updated_at", "vlan", "vpn_private_address",
		"vpn_public_address", "vpn_public_port"} {
		v[k] = nil
	}
	return v
}

func (a *API) listNetworks(tenant bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		// Both list what the caller's token sees in Neutron, as Nova's
		// get_all does.
		nets, err := a.d.Network.Networks(ctx, clients.NetFilter{})
		if err != nil {
			return nil, err
		}
		list := []map[string]any{}
		for _, n := range nets {
			list = append(list, a.networkView(n, tenant))
		}
		return map[string]any{"networks": list}, nil
	}
}

func (a *API) showNetwork(tenant bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		n, err := a.d.Network.Network(ctx, r.Param("network_id"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"network": a.networkView(*n, tenant)}, nil
	}
}

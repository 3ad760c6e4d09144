package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// progressStatuses show "progress"; faultStatuses show "fault".
var (
	progressStatuses = map[string]bool{"ACTIVE": true, "BUILD": true, "REBUILD": true, "RESIZE": true, "VERIFY_RESIZE": true, "MIGRATING": true}
	faultStatuses    = map[string]bool{"ERROR": true, "DELETED": true}
)

// viewOpts say which parts of a server's detailed view to show (Nova's
// ViewBuilder.show flags).
type viewOpts struct {
	full         bool // every attribute (show, detail, and PUT/rebuild from 2.75)
	extendedAttr bool // OS-EXT-SRV-ATTR:* (admin)
	hostStatus   bool // host_status (2.16, admin)
	extraSpecs   bool // flavor extra_specs (2.47)
	serverGroups bool // server_groups (2.71, not in detail lists)
	userData     bool // OS-EXT-SRV-ATTR:user_data (not in rebuild)
	keyName      bool // key_name (rebuild shows it from 2.54)
}

// viewCtx holds what rendering a page of servers looks up once.
type viewCtx struct {
	az       map[string]string // host → availability zone
	services map[string]*objects.Service
	bdms     map[string][]objects.BDM
	groups   map[string][]string
	now      time.Time
}

// loadViewCtx reads what rendering instances needs.
func (a *API) loadViewCtx(ctx context.Context, insts []*objects.Instance, o viewOpts) (*viewCtx, error) {
	vc := &viewCtx{now: a.d.Now()}
	var err error
	if vc.az, err = a.hostAZs(ctx); err != nil {
		return nil, err
	}
	if o.hostStatus {
		svcs, err := a.d.Store.Services(ctx, "", "nova-compute")
		if err != nil {
			return nil, err
		}
		vc.services = map[string]*objects.Service{}
		for _, s := range svcs {
			vc.services[s.Host] = s
		}
	}
	if o.full && len(insts) > 0 {
		ids := make([]string, len(insts))
		for i, in := range insts {
			ids[i] = in.UUID
		}
		if vc.bdms, err = a.d.Store.BDMs(ctx, ids); err != nil {
			return nil, err
		}
	}
	if o.serverGroups {
		vc.groups = map[string][]string{}
		for _, in := range insts {
			g, err := a.d.Store.ServerGroupOf(ctx, in.UUID)
			if err != nil {
				return nil, err
			}
			vc.groups[in.UUID] = []string{}
			if g != nil {
				vc.groups[in.UUID] = []string{g.UUID}
			}
		}
	}
	return vc, nil
}

// hostAZs maps hosts to their availability zones (aggregate metadata).
func (a *API) hostAZs(ctx context.Context) (map[string]string, error) {
	aggs, err := a.d.Store.Aggregates(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, ag := range aggs {
		if z := ag.AvailabilityZone(); z != "" {
			for _, h := range ag.Hosts {
				out[h] = z
			}
		}
	}
	return out, nil
}

// instanceAZ is the zone a server shows: its host's, else what it asked for.
func (a *API) instanceAZ(vc *viewCtx, inst *objects.Instance) string {
	if inst.Host != "" {
		if z, ok := vc.az[inst.Host]; ok {
			return z
		}
		return a.cfg.Default.DefaultAvailabilityZone
	}
	return inst.AvailabilityZone
}

// hostID is Nova's hostId: sha224 of the project and host, "" without a host.
func hostID(inst *objects.Instance) string {
	if inst.Host == "" {
		return ""
	}
	h := sha256.Sum224([]byte(inst.ProjectID + inst.Host))
	return hex.EncodeToString(h[:])
}

// addresses renders the server's addresses; none while building.
func addresses(inst *objects.Instance, extended bool) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	if inst.VMState == states.Building {
		return out
	}
	for _, v := range inst.NetworkInfo {
		label := v.NetworkLabel
		if label == "" {
			label = v.NetworkID
		}
		list := out[label]
		if list == nil {
			list = []map[string]any{}
		}
		for _, ip := range v.IPs {
			e := map[string]any{"version": ip.Version, "addr": ip.Address}
			if extended {
				e["OS-EXT-IPS:type"] = ip.Type
				e["OS-EXT-IPS-MAC:mac_addr"] = v.Address
			}
			list = append(list, e)
		}
		out[label] = list
	}
	return out
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// hostStatus is 2.16's host_status.
func (a *API) hostStatus(vc *viewCtx, inst *objects.Instance) string {
	if inst.Host == "" {
		return ""
	}
	s := vc.services[inst.Host]
	switch {
	case s == nil:
		return "UNKNOWN"
	case !s.Up(vc.now, a.cfg.Default.ServiceDownTime):
		return "DOWN"
	case s.Disabled:
		return "MAINTENANCE"
	}
	return "UP"
}

// serverView renders a server's detailed view for the request's microversion.
func (a *API) serverView(r *rest.Request, vc *viewCtx, inst *objects.Instance, o viewOpts) map[string]any {
	v := r.Version
	status := states.Status(inst.VMState, inst.TaskState)
	if inst.Deleted {
		status = "DELETED"
	}
	s := map[string]any{
		"id": inst.UUID, "name": inst.DisplayName, "status": status, "tenant_id": inst.ProjectID, "user_id": inst.UserID,
		"metadata": inst.Metadata, "hostId": hostID(inst), "created": isoZ(inst.CreatedAt), "updated": isoZ(inst.UpdatedAt),
		"addresses": addresses(inst, o.full), "accessIPv4": inst.AccessIPv4, "accessIPv6": inst.AccessIPv6,
		"links": a.links(r, "servers", inst.UUID), "OS-DCF:diskConfig": "MANUAL",
	}
	if inst.AutoDiskConfig {
		s["OS-DCF:diskConfig"] = "AUTO"
	}
	if inst.ImageRef != "" {
		s["image"] = map[string]any{"id": inst.ImageRef, "links": a.bookmark(r, "images", inst.ImageRef)}
	} else {
		s["image"] = ""
	}
	if v.AtLeast(rest.V(2, 47)) {
		f := map[string]any{"vcpus": inst.Flavor.VCPUs, "ram": inst.Flavor.MemoryMB, "disk": inst.Flavor.RootGB,
			"ephemeral": inst.Flavor.EphemeralGB, "swap": inst.Flavor.Swap, "original_name": inst.Flavor.Name}
		if o.extraSpecs {
			es := inst.Flavor.ExtraSpecs
			if es == nil {
				es = map[string]string{}
			}
			f["extra_specs"] = es
		}
		s["flavor"] = f
	} else {
		s["flavor"] = map[string]any{"id": inst.Flavor.FlavorID, "links": a.bookmark(r, "flavors", inst.Flavor.FlavorID)}
	}
	if faultStatuses[status] && inst.Fault != nil {
		f := map[string]any{"code": inst.Fault.Code, "created": isoZ(inst.Fault.CreatedAt), "message": inst.Fault.Message}
		if inst.Fault.Details != "" && (isAdmin(r) || inst.Fault.Code != 500) {
			f["details"] = inst.Fault.Details
		}
		s["fault"] = f
	}
	if progressStatuses[status] {
		s["progress"] = inst.Progress
	}
	if o.full {
		s["OS-EXT-AZ:availability_zone"] = a.instanceAZ(vc, inst)
		s["config_drive"] = inst.ConfigDrive
		s["key_name"] = nullString(inst.KeyName)
		s["OS-SRV-USG:launched_at"] = nullTime(inst.LaunchedAt)
		s["OS-SRV-USG:terminated_at"] = nullTime(inst.TerminatedAt)
		if len(inst.NetworkInfo) > 0 && len(inst.SecurityGroups) > 0 {
			groups := inst.SecurityGroups
			sg := make([]map[string]string, 0, len(groups))
			for _, g := range groups {
				sg = append(sg, map[string]string{"name": g})
			}
			s["security_groups"] = sg
		}
		s["OS-EXT-STS:task_state"] = nullString(string(inst.TaskState))
		s["OS-EXT-STS:vm_state"] = string(inst.VMState)
		s["OS-EXT-STS:power_state"] = int(inst.PowerState)
		vols := []map[string]any{}
		for _, b := range vc.bdms[inst.UUID] {
			if b.VolumeID == "" {
				continue
			}
			e := map[string]any{"id": b.VolumeID}
			if v.AtLeast(rest.V(2, 3)) {
				e["delete_on_termination"] = b.DeleteOnTermination
			}
			vols = append(vols, e)
		}
		s["os-extended-volumes:volumes_attached"] = vols
	} else if o.keyName {
		s["key_name"] = nullString(inst.KeyName)
	}
	if o.extendedAttr {
		s["OS-EXT-SRV-ATTR:host"] = nullString(inst.Host)
		s["OS-EXT-SRV-ATTR:instance_name"] = inst.Name()
		s["OS-EXT-SRV-ATTR:hypervisor_hostname"] = nullString(inst.Node)
		if v.AtLeast(rest.V(2, 3)) {
			s["OS-EXT-SRV-ATTR:hostname"] = inst.Hostname
			s["OS-EXT-SRV-ATTR:kernel_id"] = inst.KernelID
			s["OS-EXT-SRV-ATTR:launch_index"] = inst.LaunchIndex
			s["OS-EXT-SRV-ATTR:ramdisk_id"] = inst.RamdiskID
			s["OS-EXT-SRV-ATTR:reservation_id"] = nullString(inst.ReservationID)
			s["OS-EXT-SRV-ATTR:root_device_name"] = nullString(inst.RootDeviceName)
			if o.userData {
				s["OS-EXT-SRV-ATTR:user_data"] = nullString(inst.UserData)
			}
		}
	}
	if v.AtLeast(rest.V(2, 9)) {
		s["locked"] = inst.Locked()
	}
	if v.AtLeast(rest.V(2, 16)) && o.hostStatus {
		s["host_status"] = a.hostStatus(vc, inst)
	}
	if v.AtLeast(rest.V(2, 19)) {
		if inst.Description != nil {
			s["description"] = *inst.Description
		} else {
			s["description"] = nil
		}
	}
	if v.AtLeast(rest.V(2, 26)) {
		tags := inst.Tags
		if tags == nil {
			tags = []string{}
		}
		s["tags"] = tags
	}
	if v.AtLeast(rest.V(2, 63)) {
		s["trusted_image_certificates"] = nil
	}
	if o.serverGroups && v.AtLeast(rest.V(2, 71)) {
		g := vc.groups[inst.UUID]
		if g == nil {
			g = []string{}
		}
		s["server_groups"] = g
	}
	if v.AtLeast(rest.V(2, 73)) {
		s["locked_reason"] = nullString(inst.SystemMetadata["locked_reason"])
	}
	if v.AtLeast(rest.V(2, 90)) && !o.extendedAttr {
		s["OS-EXT-SRV-ATTR:hostname"] = inst.Hostname
	}
	return s
}

// showOpts are the flags of GET /servers/{id} for the caller.
func (a *API) showOpts(ctx context.Context, r *rest.Request, inst *objects.Instance) viewOpts {
	target := map[string]any{"project_id": inst.ProjectID}
	return viewOpts{full: true, userData: true,
		extendedAttr: a.can(ctx, r, "os_compute_api:os-extended-server-attributes", target),
		hostStatus:   r.Version.AtLeast(rest.V(2, 16)) && a.can(ctx, r, "os_compute_api:servers:show:host_status", target),
		extraSpecs:   r.Version.AtLeast(rest.V(2, 47)) && a.can(ctx, r, "os_compute_api:servers:show:flavor-extra-specs", target),
		serverGroups: r.Version.AtLeast(rest.V(2, 71)),
	}
}

// updateOpts are the flags of PUT /servers/{id} and rebuild: everything
// from 2.75, the common view before.
func (a *API) updateOpts(ctx context.Context, r *rest.Request, inst *objects.Instance) viewOpts {
	if r.Version.AtLeast(rest.V(2, 75)) {
		o := a.showOpts(ctx, r, inst)
		return o
	}
	target := map[string]any{"project_id": inst.ProjectID}
	return viewOpts{extraSpecs: r.Version.AtLeast(rest.V(2, 47)) && a.can(ctx, r, "os_compute_api:servers:show:flavor-extra-specs", target),
		serverGroups: r.Version.AtLeast(rest.V(2, 71))}
}

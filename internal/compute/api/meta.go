package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) serverMetaRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/servers/{server_id}/metadata", Handler: a.listMeta},
		{Method: "POST", Path: "/v2.1/servers/{server_id}/metadata", Handler: a.setMeta(false)},
		{Method: "PUT", Path: "/v2.1/servers/{server_id}/metadata", Handler: a.setMeta(true)},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/metadata/{key}", Handler: a.showMeta},
		{Method: "PUT", Path: "/v2.1/servers/{server_id}/metadata/{key}", Handler: a.setMetaItem},
		{Method: "DELETE", Path: "/v2.1/servers/{server_id}/metadata/{key}", Handler: a.deleteMeta, Status: http.StatusNoContent},

		{Method: "GET", Path: "/v2.1/servers/{server_id}/tags", Handler: a.listTags, Min: rest.V(2, 26)},
		{Method: "PUT", Path: "/v2.1/servers/{server_id}/tags", Handler: a.replaceTags, Min: rest.V(2, 26)},
		{Method: "DELETE", Path: "/v2.1/servers/{server_id}/tags", Handler: a.deleteTags, Min: rest.V(2, 26), Status: http.StatusNoContent},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/tags/{tag}", Handler: a.checkTag, Min: rest.V(2, 26), Status: http.StatusNoContent},
		{Method: "PUT", Path: "/v2.1/servers/{server_id}/tags/{tag}", Handler: a.addTag, Min: rest.V(2, 26)},
		{Method: "DELETE", Path: "/v2.1/servers/{server_id}/tags/{tag}", Handler: a.deleteTag, Min: rest.V(2, 26), Status: http.StatusNoContent},

		{Method: "GET", Path: "/v2.1/servers/{server_id}/os-server-password", Handler: a.showPassword},
		{Method: "DELETE", Path: "/v2.1/servers/{server_id}/os-server-password", Handler: a.clearPassword, Status: http.StatusNoContent},

		{Method: "GET", Path: "/v2.1/servers/{server_id}/diagnostics", Handler: a.diagnostics},

		{Method: "GET", Path: "/v2.1/servers/{server_id}/os-interface", Handler: a.listInterfaces},
		{Method: "POST", Path: "/v2.1/servers/{server_id}/os-interface", Handler: a.attachInterface},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/os-interface/{port_id}", Handler: a.showInterface},
		{Method: "DELETE", Path: "/v2.1/servers/{server_id}/os-interface/{port_id}", Handler: a.detachInterface, Status: http.StatusAccepted},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/os-virtual-interfaces", Handler: a.listVirtualInterfaces, Max: rest.V(2, 43)},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/os-security-groups", Handler: a.listServerSecurityGroups, Max: rest.V(2, 35)},
	}
}

// Server metadata.

func (a *API) metaInstance(ctx context.Context, r *rest.Request, rule string) (*objects.Instance, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, rule, inst); err != nil {
		return nil, err
	}
	return inst, nil
}

func (a *API) listMeta(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:server-metadata:index")
	if err != nil {
		return nil, err
	}
	return map[string]any{"metadata": inst.Metadata}, nil
}

func (a *API) showMeta(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:server-metadata:show")
	if err != nil {
		return nil, err
	}
	v, ok := inst.Metadata[r.Param("key")]
	if !ok {
		return nil, fault.NotFound("Metadata item was not found")
	}
	return map[string]any{"meta": map[string]string{r.Param("key"): v}}, nil
}

// changeMeta applies a change to an instance's metadata under the guard of
// update_metadata and the metadata_items quota.
func (a *API) changeMeta(ctx context.Context, r *rest.Request, inst *objects.Instance, fn func(m map[string]string) error) (map[string]string, error) {
	if err := states.Check(states.ActUpdateMetadata, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	limits, err := a.quota.projectLimits(ctx, inst.ProjectID)
	if err != nil {
		return nil, err
	}
	g := states.Guards[states.ActUpdateMetadata]
	m, err := a.d.Store.UpdateMetadata(ctx, inst.UUID, store.Expect{VM: g.VM, Task: g.Task}, limits["metadata_items"], fn)
	if un, ok := store.IsUnexpected(err); ok {
		return nil, states.Invalid(states.ActUpdateMetadata, inst.UUID, un.Found)
	}
	return m, err
}

func readMetaBody(r *rest.Request, key string) (map[string]string, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	body, err := decodeMap(raw)
	if err != nil {
		return nil, err
	}
	m, ok := body[key].(map[string]any)
	if !ok || len(body) != 1 {
		return nil, fault.BadRequest("Malformed request body: '%s' is a required property", key)
	}
	out := map[string]string{}
	if err := validMetadata(m, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (a *API) setMeta(replace bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		rule := "os_compute_api:server-metadata:create"
		if replace {
			rule = "os_compute_api:server-metadata:update_all"
		}
		inst, err := a.metaInstance(ctx, r, rule)
		if err != nil {
			return nil, err
		}
		in, err := readMetaBody(r, "metadata")
		if err != nil {
			return nil, err
		}
		m, err := a.changeMeta(ctx, r, inst, func(m map[string]string) error {
			if replace {
				clear(m)
			}
			for k, v := range in {
				m[k] = v
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if replace {
			return map[string]any{"metadata": in}, nil
		}
		return map[string]any{"metadata": m}, nil
	}
}

func (a *API) setMetaItem(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:server-metadata:update")
	if err != nil {
		return nil, err
	}
	in, err := readMetaBody(r, "meta")
	if err != nil {
		return nil, err
	}
	key := r.Param("key")
	if len(in) > 1 {
		return nil, fault.BadRequest("Request body contains too many items")
	}
	if _, ok := in[key]; !ok {
		return nil, fault.BadRequest("Request body and URI mismatch")
	}
	if _, err := a.changeMeta(ctx, r, inst, func(m map[string]string) error { m[key] = in[key]; return nil }); err != nil {
		return nil, err
	}
	return map[string]any{"meta": in}, nil
}

func (a *API) deleteMeta(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:server-metadata:delete")
	if err != nil {
		return nil, err
	}
	key := r.Param("key")
	_, err = a.changeMeta(ctx, r, inst, func(m map[string]string) error {
		if _, ok := m[key]; !ok {
			return fault.NotFound("Metadata item was not found")
		}
		delete(m, key)
		return nil
	})
	return nil, err
}

// Server tags.

// tagStates are the vm_states tags may change in.
var tagStates = []states.VM{states.Active, states.Paused, states.Rescued, states.Resized, states.Shelved,
	states.ShelvedOffloaded, states.Stopped, states.Suspended, states.Building, states.Error}

func (a *API) tagInstance(ctx context.Context, r *rest.Request, rule string, change bool) (*objects.Instance, error) {
	inst, err := a.metaInstance(ctx, r, rule)
	if err != nil {
		return nil, err
	}
	if change && !slices.Contains(tagStates, inst.VMState) {
		return nil, fault.Conflict("Cannot change tags of instance %s while it is in vm_state %s", inst.UUID, inst.VMState)
	}
	return inst, nil
}

func (a *API) listTags(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{Tags: true})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:os-server-tags:index", inst); err != nil {
		return nil, err
	}
	return map[string]any{"tags": inst.Tags}, nil
}

func (a *API) replaceTags(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.tagInstance(ctx, r, "os_compute_api:os-server-tags:update_all", true)
	if err != nil {
		return nil, err
	}
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	body, err := decodeMap(raw)
	if err != nil {
		return nil, err
	}
	v, ok := body["tags"]
	if !ok || len(body) != 1 {
		return nil, fault.BadRequest("Invalid input for field/attribute tags. 'tags' is a required property")
	}
	tags, err := parseTags(v, a.cfg.API.MaxServerTags)
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []string{}
	}
	if err := a.d.Store.SetTags(ctx, inst.UUID, tags); err != nil {
		return nil, err
	}
	slices.Sort(tags)
	return map[string]any{"tags": tags}, nil
}

func (a *API) deleteTags(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.tagInstance(ctx, r, "os_compute_api:os-server-tags:delete_all", true)
	if err != nil {
		return nil, err
	}
	return nil, a.d.Store.SetTags(ctx, inst.UUID, nil)
}

func (a *API) checkTag(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{Tags: true})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:os-server-tags:show", inst); err != nil {
		return nil, err
	}
	if !slices.Contains(inst.Tags, r.Param("tag")) {
		return nil, fault.NotFound("Tag %s could not be found.", r.Param("tag"))
	}
	return nil, nil
}

func (a *API) addTag(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.tagInstance(ctx, r, "os_compute_api:os-server-tags:update", true)
	if err != nil {
		return nil, err
	}
	tag := r.Param("tag")
	if _, err := parseTags([]any{tag}, 1); err != nil {
		return nil, err
	}
	created, err := a.d.Store.AddTag(ctx, inst.UUID, tag, a.cfg.API.MaxServerTags)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Location", a.base(r)+"/v2.1/servers/"+inst.UUID+"/tags/"+tag)
	status := http.StatusNoContent
	if created {
		status = http.StatusCreated
	}
	return &rest.Response{Status: status, Header: h}, nil
}

func (a *API) deleteTag(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.tagInstance(ctx, r, "os_compute_api:os-server-tags:delete", true)
	if err != nil {
		return nil, err
	}
	return nil, a.d.Store.DeleteTag(ctx, inst.UUID, r.Param("tag"))
}

// Server password (set by the guest through the metadata service).

func (a *API) showPassword(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-server-password:show")
	if err != nil {
		return nil, err
	}
	pw := ""
	for i := 0; i < 4; i++ {
		pw += inst.SystemMetadata["password_"+string(rune('0'+i))]
	}
	return map[string]any{"password": pw}, nil
}

func (a *API) clearPassword(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-server-password:clear")
	if err != nil {
		return nil, err
	}
	_, err = a.d.Store.Save(ctx, store.Save{UUID: inst.UUID, Update: store.Update{SysMetaDelete: []string{"password_0", "password_1", "password_2", "password_3"}}})
	return nil, storeErr(err)
}

// Diagnostics.

func (a *API) diagnostics(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-server-diagnostics")
	if err != nil {
		return nil, err
	}
	if err := states.Check(states.ActDiagnostics, inst.Subject(), true); err != nil {
		return nil, err
	}
	var d rpc.Diagnostics
	args := a.args(ctx)
	args.InstanceUUID = inst.UUID
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.d.Bus.Call(cctx, rpc.ComputeSubject(inst.Host), rpc.GetDiagnostics, args, &d); err != nil {
		if f, ok := err.(*fault.Error); ok && f.Status < 500 || ok && f.Status == 501 {
			return nil, f
		}
		return nil, fault.Conflict("Compute service of %s is unavailable at this time.", inst.Host)
	}
	if r.Version.AtLeast(rest.V(2, 48)) {
		if d.Driver != "libvirt" && d.Driver != "xenapi" && d.Driver != "vmwareapi" && d.Driver != "ironic" && d.Driver != "hyperv" {
			d.Driver = "libvirt"
		}
		return d, nil
	}
	// The free-form shape of older microversions, as libvirt reported it.
	out := map[string]any{}
	for i, c := range d.CPUDetails {
		out["cpu"+itoa(i)+"_time"] = c["time"]
	}
	if m := d.MemoryDetails["maximum"]; m != nil {
		out["memory"] = *m * 1024
	}
	for i, n := range d.NICDetails {
		out["tap"+itoa(i)+"_rx"], out["tap"+itoa(i)+"_tx"] = n["rx_octets"], n["tx_octets"]
	}
	for i := range d.DiskDetails {
		out["vd"+string(rune('a'+i))+"_read"], out["vd"+string(rune('a'+i))+"_write"] = 0, 0
	}
	return out, nil
}

func itoa(i int) string { return string(rune('0' + i%10)) }

// Interfaces (os-interface).

func interfaceView(r *rest.Request, v objects.VIF, state string) map[string]any {
	ips := []map[string]string{}
	for _, ip := range v.IPs {
		if ip.Type == "fixed" {
			ips = append(ips, map[string]string{"subnet_id": ip.SubnetID, "ip_address": ip.Address})
		}
	}
	out := map[string]any{"port_state": state, "fixed_ips": ips, "port_id": v.ID, "net_id": v.NetworkID, "mac_addr": v.Address}
	if r.Version.AtLeast(rest.V(2, 70)) {
		out["tag"] = nullString(v.Tag)
	}
	return out
}

func (a *API) portState(ctx context.Context, id string) string {
	if p, err := a.d.Network.Port(clients.AsService(ctx), id); err == nil {
		return p.Status
	}
	return "DOWN"
}

func (a *API) listInterfaces(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-attach-interfaces:list")
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, v := range inst.NetworkInfo {
		list = append(list, interfaceView(r, v, a.portState(ctx, v.ID)))
	}
	return map[string]any{"interfaceAttachments": list}, nil
}

func (a *API) showInterface(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-attach-interfaces:show")
	if err != nil {
		return nil, err
	}
	for _, v := range inst.NetworkInfo {
		if v.ID == r.Param("port_id") {
			return map[string]any{"interfaceAttachment": interfaceView(r, v, a.portState(ctx, v.ID))}, nil
		}
	}
	return nil, fault.NotFound("Port %s is not attached", r.Param("port_id")).WithType("PortNotFound")
}

func (a *API) attachInterface(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-attach-interfaces:create")
	if err != nil {
		return nil, err
	}
	var body struct {
		Attachment *struct {
			PortID   string `json:"port_id"`
			NetID    string `json:"net_id"`
			FixedIPs []struct {
				IPAddress string `json:"ip_address"`
			} `json:"fixed_ips"`
			Tag string `json:"tag"`
		} `json:"interfaceAttachment"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	args := rpc.InterfaceArgs{InstanceArgs: a.args(ctx)}
	args.InstanceUUID = inst.UUID
	if at := body.Attachment; at != nil {
		args.PortID, args.NetworkID, args.Tag = at.PortID, at.NetID, at.Tag
		if len(at.FixedIPs) > 0 {
			if at.NetID == "" {
				return nil, fault.BadRequest("Must input network_id when request IP address")
			}
			args.FixedIP = at.FixedIPs[0].IPAddress
		}
		if at.PortID != "" && at.NetID != "" {
			return nil, fault.BadRequest("Must not input both network_id and port_id")
		}
		if at.Tag != "" && !r.Version.AtLeast(rest.V(2, 49)) {
			return nil, fault.BadRequest("Invalid input for field/attribute interfaceAttachment. Additional properties are not allowed ('tag' was unexpected)")
		}
	}
	if args.PortID != "" {
		p, err := a.d.Network.Port(ctx, args.PortID)
		if err != nil {
			return nil, err
		}
		if p.DeviceID != "" {
			return nil, fault.Conflict("Port %s is still in use.", args.PortID).WithType("PortInUse")
		}
	} else if args.NetworkID != "" {
		if _, err := a.d.Network.Network(ctx, args.NetworkID); err != nil {
			return nil, err
		}
	} else {
		cr := &createReq{}
		if err := a.autoNetwork(ctx, cr, inst.ProjectID, true); err != nil {
			return nil, err
		}
		args.NetworkID = cr.networks[0].NetworkID
	}
	if err := states.Check(states.ActAttachInterface, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	project, user := caller(r)
	a.d.Store.StartAction(ctx, store.ActionStart{Action: "attach_interface", InstanceUUID: inst.UUID, RequestID: args.RequestID, UserID: user, ProjectID: project})
	var vif objects.VIF
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := a.d.Bus.Call(cctx, rpc.ComputeSubject(inst.Host), rpc.AttachInterface, args, &vif); err != nil {
		if f, ok := err.(*fault.Error); ok && (f.Status < 500 || f.Status == 501) {
			return nil, f
		}
		return nil, fault.Conflict("Failed to attach network adapter device to %s", inst.UUID).WithType("InterfaceAttachFailed")
	}
	return map[string]any{"interfaceAttachment": interfaceView(r, vif, a.portState(ctx, vif.ID))}, nil
}

func (a *API) detachInterface(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-attach-interfaces:delete")
	if err != nil {
		return nil, err
	}
	if err := states.Check(states.ActDetachInterface, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	found := false
	for _, v := range inst.NetworkInfo {
		found = found || v.ID == r.Param("port_id")
	}
	if !found {
		return nil, fault.NotFound("Port %s is not attached", r.Param("port_id")).WithType("PortNotFound")
	}
	args := rpc.InterfaceArgs{InstanceArgs: a.args(ctx), PortID: r.Param("port_id")}
	args.InstanceUUID = inst.UUID
	project, user := caller(r)
	a.d.Store.StartAction(ctx, store.ActionStart{Action: "detach_interface", InstanceUUID: inst.UUID, RequestID: args.RequestID, UserID: user, ProjectID: project})
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := a.d.Bus.Call(cctx, rpc.ComputeSubject(inst.Host), rpc.DetachInterface, args, nil); err != nil {
		if f, ok := err.(*fault.Error); ok && f.Status < 500 {
			return nil, f
		}
		return nil, fault.Conflict("Failed to detach network adapter device from %s", inst.UUID).WithType("InterfaceDetachFailed")
	}
	return nil, nil
}

func (a *API) listVirtualInterfaces(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.metaInstance(ctx, r, "os_compute_api:os-virtual-interfaces:list"); err != nil {
		return nil, err
	}
	return nil, fault.BadRequest("Listing virtual interfaces is not supported by this cloud (it is Neutron's).")
}

func (a *API) listServerSecurityGroups(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-security-groups:list")
	if err != nil {
		return nil, err
	}
	list := []any{}
	ports, err := a.instancePorts(ctx, inst)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	cache := sgGroups{}
	for _, p := range ports {
		for _, id := range p.SecurityGroups {
			if seen[id] {
				continue
			}
			seen[id] = true
			if g := a.sgLookup(ctx, cache, id); g != nil {
				list = append(list, a.sgView(ctx, cache, g))
			}
		}
	}
	return map[string]any{"security_groups": list}, nil
}

var _ = json.Marshal

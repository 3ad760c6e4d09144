package api

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// Volume attachments (os-volume_attachments): the API checks the server and
// the volume, the instance's agent runs Cinder's attach steps and the guest
// hot-plug (agent/volumes.go), and the API records the block device mapping
// the listing reads.
func (a *API) volumeAttachmentRoutes() []rest.Route {
	p := "/v2.1/servers/{server_id}/os-volume_attachments"
	return []rest.Route{
		{Method: "GET", Path: p, Handler: a.listVolumeAttachments},
		{Method: "POST", Path: p, Handler: a.attachVolume},
		{Method: "GET", Path: p + "/{volume_id}", Handler: a.showVolumeAttachment},
		{Method: "PUT", Path: p + "/{volume_id}", Handler: a.updateVolumeAttachment, Status: http.StatusAccepted},
		{Method: "DELETE", Path: p + "/{volume_id}", Handler: a.detachVolume, Status: http.StatusAccepted},
	}
}

// devicePath is Nova's check of a requested device name.
var devicePath = regexp.MustCompile(`^/dev/x{0,1}[a-z]{0,1}d{0,1}[a-z]+[0-9]*$`)

// badTag are the characters a device tag may not hold.
var badTag = regexp.MustCompile(`[,/]`)

func volumeAttachmentView(r *rest.Request, b objects.BDM, serverID string, show bool) map[string]any {
	out := map[string]any{"device": nullString(b.DeviceName), "serverId": serverID, "volumeId": b.VolumeID}
	if !show || !r.Version.AtLeast(rest.V(2, 89)) {
		out["id"] = b.VolumeID
	}
	if r.Version.AtLeast(rest.V(2, 70)) {
		out["tag"] = nullString(b.Tag)
	}
	if r.Version.AtLeast(rest.V(2, 79)) {
		out["delete_on_termination"] = b.DeleteOnTermination
	}
	if show && r.Version.AtLeast(rest.V(2, 89)) {
		out["attachment_id"] = nullString(b.AttachmentID)
		out["bdm_uuid"] = b.UUID
	}
	return out
}

// volumeBDMs are the instance's volume mappings.
func (a *API) volumeBDMs(ctx context.Context, uuid string) ([]objects.BDM, error) {
	m, err := a.d.Store.BDMs(ctx, []string{uuid})
	if err != nil {
		return nil, err
	}
	var out []objects.BDM
	for _, b := range m[uuid] {
		if b.IsVolume() && b.VolumeID != "" {
			out = append(out, b)
		}
	}
	return out, nil
}

func (a *API) volumeBDM(ctx context.Context, inst *objects.Instance, volumeID string) (*objects.BDM, error) {
	bdms, err := a.volumeBDMs(ctx, inst.UUID)
	if err != nil {
		return nil, err
	}
	for i := range bdms {
		if bdms[i].VolumeID == volumeID {
			return &bdms[i], nil
		}
	}
	return nil, fault.NotFound("Volume %s is not attached to %s", volumeID, inst.UUID).WithType("VolumeBDMNotFound")
}

func (a *API) listVolumeAttachments(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-volumes-attachments:index")
	if err != nil {
		return nil, err
	}
	bdms, err := a.volumeBDMs(ctx, inst.UUID)
	if err != nil {
		return nil, err
	}
	limit, offset := len(bdms), 0
	for name, p := range map[string]*int{"limit": &limit, "offset": &offset} {
		if s := r.HTTP.URL.Query().Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return nil, fault.BadRequest("Invalid input for query parameters %s. Value: %s. '%s' does not match '^[0-9]*$'", name, s, s)
			}
			*p = n
		}
	}
	list := []map[string]any{}
	for i := offset; i < len(bdms) && len(list) < limit; i++ {
		list = append(list, volumeAttachmentView(r, bdms[i], inst.UUID, true))
	}
	return map[string]any{"volumeAttachments": list}, nil
}

func (a *API) showVolumeAttachment(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-volumes-attachments:show")
	if err != nil {
		return nil, err
	}
	b, err := a.volumeBDM(ctx, inst, r.Param("volume_id"))
	if err != nil {
		return nil, fault.NotFound("Instance %s is not attached.", inst.UUID)
	}
	return map[string]any{"volumeAttachment": volumeAttachmentView(r, *b, inst.UUID, true)}, nil
}

// attachBody is POST's volumeAttachment.
type attachBody struct {
	VolumeID            string `json:"volumeId"`
	Device              *string
	Tag                 string
	DeleteOnTermination bool
}

func decodeAttach(r *rest.Request) (*attachBody, error) {
	var body struct {
		Attachment map[string]json.RawMessage `json:"volumeAttachment"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if body.Attachment == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute volumeAttachment. 'volumeAttachment' is a required property")
	}
	allowed := map[string]bool{"volumeId": true, "device": true}
	if r.Version.AtLeast(rest.V(2, 49)) {
		allowed["tag"] = true
	}
	if r.Version.AtLeast(rest.V(2, 79)) {
		allowed["delete_on_termination"] = true
	}
	var keys []string
	for k := range body.Attachment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := &attachBody{}
	for _, k := range keys {
		v := body.Attachment[k]
		if !allowed[k] {
			return nil, fault.BadRequest("Invalid input for field/attribute volumeAttachment. Additional properties are not allowed ('%s' was unexpected)", k)
		}
		bad := func(what string) error {
			return fault.BadRequest("Invalid input for field/attribute %s. Value: %s. %s", k, string(v), what)
		}
		switch k {
		case "volumeId":
			if json.Unmarshal(v, &out.VolumeID) != nil || uuid.Validate(out.VolumeID) != nil {
				return nil, bad("is not a 'uuid'")
			}
		case "device":
			if string(v) == "null" {
				continue
			}
			var d string
			if json.Unmarshal(v, &d) != nil {
				return nil, bad("is not of type 'string', 'null'")
			}
			out.Device = &d
		case "tag":
			if json.Unmarshal(v, &out.Tag) != nil || len(out.Tag) > 60 || badTag.MatchString(out.Tag) {
				return nil, bad("is not a valid tag")
			}
		case "delete_on_termination":
			if json.Unmarshal(v, &out.DeleteOnTermination) != nil {
				return nil, bad("is not of type 'boolean'")
			}
		}
	}
	if out.VolumeID == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute volumeAttachment. 'volumeId' is a required property")
	}
	if out.Device != nil && *out.Device != "" && !devicePath.MatchString(*out.Device) {
		return nil, fault.BadRequest("The supplied device path (%s) is invalid.", *out.Device)
	}
	return out, nil
}

// nextDevice is the first /dev/vdX no mapping of the instance uses (vda is
// the root disk's).
func nextDevice(bdms []objects.BDM) string {
	used := map[string]bool{"/dev/vda": true}
	for _, b := range bdms {
		used[b.DeviceName] = true
	}
	for c := 'b'; c <= 'z'; c++ {
		if d := "/dev/vd" + string(c); !used[d] {
			return d
		}
	}
	return ""
}

func (a *API) attachVolume(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-volumes-attachments:create")
	if err != nil {
		return nil, err
	}
	body, err := decodeAttach(r)
	if err != nil {
		return nil, err
	}
	if err := states.Check(states.ActAttachVolume, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	vol, err := a.d.Volumes.Get(ctx, body.VolumeID)
	if err != nil {
		return nil, err
	}
	all, err := a.d.Store.BDMs(ctx, []string{inst.UUID})
	if err != nil {
		return nil, err
	}
	for _, b := range all[inst.UUID] {
		if b.VolumeID == vol.ID {
			return nil, fault.BadRequest("Invalid volume: volume %s already attached", vol.ID).WithType("InvalidVolume")
		}
	}
	if vol.Status != "available" && !(vol.Multiattach && vol.Status == "in-use") {
		return nil, fault.BadRequest("Invalid volume: volume %s status must be 'available'. Currently in '%s'", vol.ID, vol.Status).WithType("InvalidVolume")
	}
	device := nextDevice(all[inst.UUID])
	if body.Device != nil && *body.Device != "" {
		device = *body.Device
		for _, b := range all[inst.UUID] {
			if b.DeviceName == device {
				return nil, fault.BadRequest("The supplied device path (%s) is in use.", device).WithType("DevicePathInUse")
			}
		}
	}
	if device == "" {
		return nil, fault.Forbidden("No free disk device names for prefix 'vd'").WithType("TooManyDiskDevices")
	}
	args := rpc.VolumeArgs{InstanceArgs: a.args(ctx), VolumeID: vol.ID, Device: device}
	args.InstanceUUID = inst.UUID
	project, user := caller(r)
	a.d.Store.StartAction(ctx, store.ActionStart{Action: "attach_volume", InstanceUUID: inst.UUID, RequestID: args.RequestID, UserID: user, ProjectID: project})
	var done rpc.VolumeAttached
	if inst.Host == "" {
		// A shelved-offloaded server has no host to plug into: as Nova,
		// the volume is reserved and attached in Cinder only, with no
		// device name.
		if err := a.attachOffloaded(ctx, inst, vol.ID); err != nil {
			return nil, err
		}
		device = ""
	} else {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := a.d.Bus.Call(cctx, rpc.ComputeSubject(inst.Host), rpc.AttachVolume, args, &done); err != nil {
			if f, ok := err.(*fault.Error); ok && (f.Status < 500 || f.Status == 501) {
				return nil, f
			}
			return nil, fault.Conflict("Compute service of %s is unavailable at this time.", inst.Host).WithType("ComputeServiceUnavailable")
		}
	}
	b := objects.BDM{UUID: uuid.NewString(), InstanceUUID: inst.UUID, SourceType: "volume", DestinationType: "volume",
		DeviceName: device, VolumeID: vol.ID, DeleteOnTermination: body.DeleteOnTermination, Tag: body.Tag,
		AttachmentID: done.AttachmentID, ConnectionInfo: done.ConnectionInfo, VolumeSize: &vol.Size}
	if err := a.d.Store.AddBDM(context.WithoutCancel(ctx), &b); err != nil {
		return nil, err
	}
	return map[string]any{"volumeAttachment": volumeAttachmentView(r, b, inst.UUID, false)}, nil
}

// updateVolumeAttachment is PUT: a swap to another volume (swap.go).
func (a *API) updateVolumeAttachment(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-volumes-attachments:update")
	if err != nil {
		return nil, err
	}
	var body struct {
		Attachment *struct {
			VolumeID string `json:"volumeId"`
		} `json:"volumeAttachment"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if body.Attachment == nil || body.Attachment.VolumeID == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute volumeAttachment. 'volumeId' is a required property")
	}
	if body.Attachment.VolumeID != r.Param("volume_id") {
		if err := a.enforceFor(ctx, r, "os_compute_api:os-volumes-attachments:swap", inst); err != nil {
			return nil, err
		}
		return a.swapVolume(ctx, r, inst, r.Param("volume_id"), body.Attachment.VolumeID)
	}
	if _, err := a.volumeBDM(ctx, inst, r.Param("volume_id")); err != nil {
		return nil, err
	}
	return nil, fault.NotImplemented("Updating a volume attachment in place is not supported.")
}

func (a *API) detachVolume(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.metaInstance(ctx, r, "os_compute_api:os-volumes-attachments:delete")
	if err != nil {
		return nil, err
	}
	b, err := a.volumeBDM(ctx, inst, r.Param("volume_id"))
	if err != nil {
		return nil, fault.NotFound("Volume %s is not attached to %s", r.Param("volume_id"), inst.UUID).WithType("VolumeBDMNotFound")
	}
	if b.IsRoot() {
		return nil, fault.BadRequest("Cannot detach a root device volume")
	}
	if err := states.Check(states.ActDetachVolume, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	args := rpc.VolumeArgs{InstanceArgs: a.args(ctx), VolumeID: b.VolumeID, Device: b.DeviceName,
		AttachmentID: b.AttachmentID, ConnectionInfo: b.ConnectionInfo}
	args.InstanceUUID = inst.UUID
	project, user := caller(r)
	a.d.Store.StartAction(ctx, store.ActionStart{Action: "detach_volume", InstanceUUID: inst.UUID, RequestID: args.RequestID, UserID: user, ProjectID: project})
	if inst.Host == "" {
		if err := a.d.Volumes.Detach(clients.AsService(ctx), b.VolumeID, b.AttachmentID); err != nil {
			return nil, err
		}
		return nil, a.d.Store.DeleteBDM(context.WithoutCancel(ctx), b.UUID)
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := a.d.Bus.Call(cctx, rpc.ComputeSubject(inst.Host), rpc.DetachVolume, args, nil); err != nil {
		if f, ok := err.(*fault.Error); ok && (f.Status < 500 || f.Status == 501) {
			return nil, f
		}
		return nil, fault.Conflict("Compute service of %s is unavailable at this time.", inst.Host).WithType("ComputeServiceUnavailable")
	}
	return nil, a.d.Store.DeleteBDM(context.WithoutCancel(ctx), b.UUID)
}

// attachOffloaded attaches a volume to a server without a host in Cinder
// only (reserve, attach; unreserve if the attach is refused).
func (a *API) attachOffloaded(ctx context.Context, inst *objects.Instance, volumeID string) error {
	sctx := clients.AsService(ctx)
	if err := a.d.Volumes.Reserve(sctx, volumeID); err != nil {
		return err
	}
	if err := a.d.Volumes.Attach(sctx, volumeID, inst.UUID, ""); err != nil {
		a.d.Volumes.Unreserve(sctx, volumeID)
		return err
	}
	return nil
}

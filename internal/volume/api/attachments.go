package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// The attachments API (microversion 3.27; os-complete 3.44): create
// reserves the volume (reserved; with a connector it goes straight to
// attaching and answers connection_info), update gives the connector and
// gets connection_info (attaching), complete records the attach (in-use),
// delete detaches (available, or what the other attachments say).

// attachmentRoutes are served only once MaxVersion reaches 3.27: tenku
// advertises 3.0 until the features of 3.1 to 3.26 exist, and a route no
// advertised version reaches would be dead. Compute uses the legacy
// actions meanwhile, as Nova does with a Cinder below 3.44.
func (a *API) attachmentRoutes() []rest.Route {
	p := "/v3/{project_id}/attachments"
	v327, v344 := rest.V(3, 27), rest.V(3, 44)
	if MaxVersion.Less(v327) {
		return nil
	}
	return []rest.Route{
		{Method: "GET", Path: p, Min: v327, Policy: "volume:attachment_get", Handler: a.listAttachments(false)},
		{Method: "GET", Path: p + "/detail", Min: v327, Policy: "volume:attachment_get", Handler: a.listAttachments(true)},
		{Method: "POST", Path: p, Min: v327, Handler: a.createAttachment},
		{Method: "GET", Path: p + "/{attachment_id}", Min: v327, Handler: a.showAttachment},
		{Method: "PUT", Path: p + "/{attachment_id}", Min: v327, Handler: a.updateAttachment},
		{Method: "DELETE", Path: p + "/{attachment_id}", Min: v327, Handler: a.deleteAttachment},
		{Method: "POST", Path: p + "/{attachment_id}/action", Min: v344, Status: http.StatusNoContent, Handler: a.attachmentAction},
	}
}

func attachmentNotFound(id string) error {
	return fault.NotFound("Volume attachment could not be found with filter: attachment_id = %s.", id).WithType("VolumeAttachmentNotFound")
}

// attachmentView is an attachment as lists show it.
type attachmentView struct {
	ID       string  `json:"id"`
	Status   string  `json:"status"`
	Instance *string `json:"instance"`
	VolumeID string  `json:"volume_id"`
}

// attachmentDetail is an attachment as show, create, update and the
// detailed list show it; unset times are null.
type attachmentDetail struct {
	attachmentView
	AttachedAt     *string        `json:"attached_at"`
	DetachedAt     *string        `json:"detached_at"`
	AttachMode     string         `json:"attach_mode"`
	ConnectionInfo map[string]any `json:"connection_info"`
}

func viewAttachment(at *store.Attachment) attachmentView {
	return attachmentView{ID: at.ID, Status: string(at.Status), Instance: nilIfEmpty(at.InstanceUUID), VolumeID: at.VolumeID}
}

func detailAttachment(at *store.Attachment) attachmentDetail {
	out := attachmentDetail{attachmentView: viewAttachment(at), AttachMode: at.Mode, ConnectionInfo: at.ConnectionInfo}
	if out.ConnectionInfo == nil {
		out.ConnectionInfo = map[string]any{}
	}
	if !at.AttachedAt.IsZero() {
		out.AttachedAt = strp(fmtTime(at.AttachedAt))
	}
	if !at.DetachedAt.IsZero() {
		out.DetachedAt = strp(fmtTime(at.DetachedAt))
	}
	return out
}

// getAttachment loads an attachment and its volume, as the caller may see
// them (another project's are 404).
func (a *API) getAttachment(ctx context.Context, r *rest.Request, rule string) (*store.Attachment, *store.Volume, error) {
	id := r.Param("attachment_id")
	at, err := a.db.GetAttachment(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, attachmentNotFound(id)
	}
	if err != nil {
		return nil, nil, err
	}
	v, err := a.getVolume(ctx, r, at.VolumeID)
	if fault.IsNotFound(err) {
		return nil, nil, attachmentNotFound(id)
	}
	if err != nil {
		return nil, nil, err
	}
	return at, v, a.enforceVolume(ctx, r, rule, v)
}

func (a *API) listAttachments(detail bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		q := r.HTTP.URL.Query()
		f := store.AttachmentFilter{InstanceUUID: q.Get("instance_id"), Status: volume.AttachStatus(q.Get("status"))}
		if vid := q.Get("volume_id"); vid != "" {
			f.VolumeIDs = []string{vid}
		}
		if !(a.isAdmin(ctx, r.Auth) && truthyMeta(q.Get("all_tenants"))) {
			f.ProjectID = r.Param("project_id")
		}
		atts, err := a.db.ListAttachments(ctx, f)
		if err != nil {
			return nil, err
		}
		if detail {
			out := make([]attachmentDetail, 0, len(atts))
			for _, at := range atts {
				out = append(out, detailAttachment(at))
			}
			return map[string]any{"attachments": out}, nil
		}
		out := make([]attachmentView, 0, len(atts))
		for _, at := range atts {
			out = append(out, viewAttachment(at))
		}
		return map[string]any{"attachments": out}, nil
	}
}

func (a *API) showAttachment(ctx context.Context, r *rest.Request) (any, error) {
	at, _, err := a.getAttachment(ctx, r, "volume:attachment_get")
	if err != nil {
		return nil, err
	}
	return map[string]any{"attachment": detailAttachment(at)}, nil
}

func (a *API) createAttachment(ctx context.Context, r *rest.Request) (any, error) {
	var b struct {
		Attachment *struct {
			VolumeUUID   *string        `json:"volume_uuid"`
			InstanceUUID *string        `json:"instance_uuid"`
			Connector    map[string]any `json:"connector"`
			Mode         *string        `json:"mode"`
		} `json:"attachment"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.Attachment == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute attachment. 'attachment' is a required property")
	}
	in := b.Attachment
	if in.VolumeUUID == nil || *in.VolumeUUID == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute volume_uuid. 'volume_uuid' is a required property")
	}
	mode := "rw"
	if in.Mode != nil {
		if !r.Version.AtLeast(rest.V(3, 54)) {
			return nil, fault.BadRequest("Invalid input for field/attribute attachment. Additional properties are not allowed ('mode' was unexpected)")
		}
		mode = *in.Mode
	}
	if mode != "rw" && mode != "ro" {
		return nil, fault.BadRequest("Invalid input received: Invalid attachment mode '%s' for volume %s.", mode, *in.VolumeUUID).WithType("InvalidInput")
	}
	v, err := a.getVolume(ctx, r, *in.VolumeUUID)
	if err != nil {
		return nil, err
	}
	if err := a.enforceVolume(ctx, r, "volume:attachment_create", v); err != nil {
		return nil, err
	}
	from := []volume.Status{volume.StatusAvailable, volume.StatusDownloading}
	if v.Multiattach {
		from = append(from, volume.StatusInUse, volume.StatusReserved)
	}
	at := &store.Attachment{VolumeID: v.ID, Status: volume.Reserved, Mode: mode}
	if in.InstanceUUID != nil {
		at.InstanceUUID = *in.InstanceUUID
	}
	move := store.VolumeMove{From: from, Status: volume.StatusReserved, AttachStatus: volume.Reserved}
	if v.Status == volume.StatusInUse {
		// Another attachment of a multiattach volume is in use: it stays so.
		move.Status, move.AttachStatus = volume.StatusInUse, volume.Attached
	}
	if err := a.db.CreateAttachment(ctx, at, move); err != nil {
		if errors.Is(err, store.ErrState) {
			return nil, invalidVolume("Volume %s status must be available or downloading to reserve, but the current status is %s.", v.ID, v.Status)
		}
		return nil, moveFault(err, v, "reserve", from)
	}
	if in.Connector != nil {
		nat, err := a.connectAttachment(ctx, at, v, in.Connector)
		if err != nil {
			return nil, err
		}
		at = nat
	}
	return map[string]any{"attachment": detailAttachment(at)}, nil
}

// connectAttachment gets the connection for a connector and records both
// on the attachment, which goes to attaching (and its volume with it,
// unless the volume is in use by another attachment).
func (a *API) connectAttachment(ctx context.Context, at *store.Attachment, v *store.Volume, connector map[string]any) (*store.Attachment, error) {
	info, err := a.connect(ctx, v, connector, at.Mode)
	if err != nil {
		return nil, err
	}
	attaching := volume.Attaching
	host, _ := connector["host"].(string)
	mount, _ := connector["mountpoint"].(string)
	c := store.AttachmentChange{Status: &attaching, Connector: connector, ConnectionInfo: info, Host: &host}
	if mount != "" {
		c.Mountpoint = &mount
	}
	cur, err := a.db.GetVolume(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	move := store.VolumeMove{From: []volume.Status{volume.StatusReserved, volume.StatusAttaching}, Status: volume.StatusAttaching, AttachStatus: volume.Attaching}
	if cur.Status == volume.StatusInUse {
		move = store.VolumeMove{}
	}
	nat, err := a.db.UpdateAttachment(ctx, at.ID, []volume.AttachStatus{volume.Reserved, volume.Attaching, volume.Attached}, c, move)
	if errors.Is(err, store.ErrState) {
		return nil, invalidVolume("Volume %s changed state during the attachment update; the attachment is %s.", v.ID, at.Status)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, attachmentNotFound(at.ID)
	}
	return nat, err
}

func (a *API) updateAttachment(ctx context.Context, r *rest.Request) (any, error) {
	var b struct {
		Attachment *struct {
			Connector map[string]any `json:"connector"`
		} `json:"attachment"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.Attachment == nil || b.Attachment.Connector == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute connector. 'connector' is a required property")
	}
	at, v, err := a.getAttachment(ctx, r, "volume:attachment_update")
	if err != nil {
		return nil, err
	}
	nat, err := a.connectAttachment(ctx, at, v, b.Attachment.Connector)
	if err != nil {
		return nil, err
	}
	return map[string]any{"attachment": detailAttachment(nat)}, nil
}

func (a *API) attachmentAction(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil || len(body) != 1 {
		return nil, fault.BadRequest("Malformed request body: an action object with exactly one action is required.")
	}
	if _, ok := body["os-complete"]; !ok {
		for k := range body {
			return nil, fault.BadRequest("There is no such action: %s", k)
		}
	}
	at, v, err := a.getAttachment(ctx, r, "volume:attachment_complete")
	if err != nil {
		return nil, err
	}
	if at.ConnectionInfo == nil {
		return nil, invalidVolume("Attachment %s has no connection yet: update it with a connector before completing it.", at.ID)
	}
	attached := volume.Attached
	_, err = a.db.UpdateAttachment(ctx, at.ID, []volume.AttachStatus{volume.Attaching, volume.Attached}, store.AttachmentChange{Status: &attached, Attached: at.AttachedAt.IsZero()},
		store.VolumeMove{From: []volume.Status{volume.StatusReserved, volume.StatusAttaching, volume.StatusInUse}, Status: volume.StatusInUse, AttachStatus: volume.Attached})
	if errors.Is(err, store.ErrState) {
		return nil, invalidVolume("Volume %s status must be attaching to complete an attachment, it is %s.", v.ID, v.Status)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, attachmentNotFound(at.ID)
	}
	return nil, err
}

func (a *API) deleteAttachment(ctx context.Context, r *rest.Request) (any, error) {
	at, v, err := a.getAttachment(ctx, r, "volume:attachment_delete")
	if err != nil {
		return nil, err
	}
	if at.Connector != nil {
		a.disconnect(ctx, v, at.Connector)
	}
	from := []volume.Status{volume.StatusReserved, volume.StatusAttaching, volume.StatusInUse, volume.StatusDetaching, volume.StatusError}
	if _, err := a.db.DeleteAttachment(ctx, at.ID, from); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, attachmentNotFound(at.ID)
		}
		return nil, moveFault(err, v, "detach", from)
	}
	left, err := a.db.ListAttachments(ctx, store.AttachmentFilter{VolumeIDs: []string{v.ID}})
	if err != nil {
		return nil, err
	}
	out := make([]attachmentView, 0, len(left))
	for _, l := range left {
		out = append(out, viewAttachment(l))
	}
	return map[string]any{"attachments": out}, nil
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// The attach flow, as Cinder's volume states run it:
//
//	available ─reserve / attachment create─▶ attaching (legacy) / reserved
//	reserved ─attachment update (connector)─▶ attaching ─attach / complete─▶ in-use
//	in-use ─begin_detaching─▶ detaching ─detach / attachment delete─▶ available
//
// Each step is a compare-and-swap of the volume's status together with its
// attachment rows (store.VolumeMove), so two callers never both reserve a
// volume that is not multiattach. Every intermediate state has a way back
// (unreserve, roll_detaching, attachment delete), and the sweep returns a
// volume left attaching or detaching longer than CreateTimeout to what its
// attachments say.

// connectable are the states a connection may be initialized in.
var connectable = []volume.Status{volume.StatusAvailable, volume.StatusReserved, volume.StatusAttaching,
	volume.StatusInUse, volume.StatusDetaching, volume.StatusDownloading}

func attachRules() []policy.Rule {
	act := "/volumes/{volume_id}/action"
	r := func(name, desc, action string) policy.Rule {
		return rule("volume_extension:volume_actions:"+name, projectMember, desc, op("POST", act+" ("+action+")"))
	}
	att := "/attachments/{attachment_id}"
	return []policy.Rule{
		r("reserve", "Mark a volume as reserved for an attach.", "os-reserve"),
		r("unreserve", "Undo a reserve.", "os-unreserve"),
		r("begin_detaching", "Mark a volume as detaching.", "os-begin_detaching"),
		r("roll_detaching", "Undo begin_detaching.", "os-roll_detaching"),
		r("initialize_connection", "Initialize a volume's connection to a host.", "os-initialize_connection"),
		r("terminate_connection", "Terminate a volume's connection to a host.", "os-terminate_connection"),
		r("attach", "Record a volume as attached.", "os-attach"),
		r("detach", "Record a volume as detached.", "os-detach"),
		rule("volume_extension:volume_admin_actions:force_detach", ruleAdminAPI, "Force-detach a volume.", op("POST", act+" (os-force_detach)")),
		rule("volume:attachment_create", projectMember, "Create an attachment.", op("POST", "/attachments")),
		rule("volume:attachment_get", projectReader, "Show or list attachments.", op("GET", "/attachments"), op("GET", "/attachments/detail"), op("GET", att)),
		rule("volume:attachment_update", projectMember, "Update an attachment with a connector.", op("PUT", att)),
		rule("volume:attachment_delete", projectMember, "Delete an attachment.", op("DELETE", att)),
		rule("volume:attachment_complete", projectMember, "Mark an attachment complete.", op("POST", att+"/action (os-complete)")),
	}
}

type volumeActionHandler func(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error)

// attachActions are the legacy attach actions of POST .../volumes/{id}/action.
func (a *API) attachActions() map[string]volumeActionHandler {
	return map[string]volumeActionHandler{
		"os-reserve":               a.reserve,
		"os-unreserve":             a.unreserve,
		"os-begin_detaching":       a.beginDetaching,
		"os-roll_detaching":        a.rollDetaching,
		"os-initialize_connection": a.initializeConnection,
		"os-terminate_connection":  a.terminateConnection,
		"os-attach":                a.attach,
		"os-detach":                a.detach,
		"os-force_detach":          a.forceDetach,
	}
}

func invalidVolume(format string, args ...any) error {
	return fault.BadRequest("Invalid volume: "+format, args...).WithType("InvalidVolume")
}

// moveFault turns a failed compare-and-swap into Cinder's answer.
func moveFault(err error, v *store.Volume, what string, want []volume.Status) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return volumeNotFound(v.ID)
	case errors.Is(err, store.ErrState):
		return invalidVolume("Volume status must be %s to %s, but the current status is %s.", joinStatuses(want), what, v.Status)
	}
	return err
}

func joinStatuses(s []volume.Status) string {
	out := ""
	for i, st := range s {
		switch {
		case i == 0:
		case i == len(s)-1:
			out += " or "
		default:
			out += ", "
		}
		out += string(st)
	}
	return out
}

func (a *API) reserve(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:reserve", v); err != nil {
		return nil, err
	}
	from := []volume.Status{volume.StatusAvailable}
	if v.Multiattach {
		from = append(from, volume.StatusInUse)
	}
	if !slices.Contains(from, v.Status) {
		return nil, moveFault(store.ErrState, v, "reserve", from)
	}
	err := a.db.MoveVolume(ctx, v.ID, store.VolumeMove{From: from, Status: volume.StatusAttaching, AttachStatus: v.AttachStatus})
	return nil, moveFault(err, v, "reserve", from)
}

// settled is the status and attach_status a volume's live attachments
// give it once no attach step is under way.
func (a *API) settled(ctx context.Context, id string) (volume.Status, volume.AttachStatus, error) {
	atts, err := a.db.ListAttachments(ctx, store.AttachmentFilter{VolumeIDs: []string{id}})
	if err != nil {
		return "", "", err
	}
	st, as := volume.StatusAvailable, volume.Detached
	for _, at := range atts {
		if at.Status == volume.Attached {
			return volume.StatusInUse, volume.Attached, nil
		}
		st, as = volume.StatusReserved, volume.Reserved
	}
	return st, as, nil
}

func (a *API) unreserve(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:unreserve", v); err != nil {
		return nil, err
	}
	from := []volume.Status{volume.StatusAttaching}
	if v.Status != volume.StatusAttaching {
		// Cinder answers 202 and leaves a volume that is not attaching alone.
		return nil, nil
	}
	st, as, err := a.settled(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	if err := a.db.MoveVolume(ctx, v.ID, store.VolumeMove{From: from, Status: st, AttachStatus: as}); err != nil && !errors.Is(err, store.ErrState) {
		return nil, moveFault(err, v, "unreserve", from)
	}
	return nil, nil
}

func (a *API) beginDetaching(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:begin_detaching", v); err != nil {
		return nil, err
	}
	if v.Status != volume.StatusInUse || (!v.Multiattach && v.AttachStatus != volume.Attached) {
		return nil, invalidVolume("Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.")
	}
	err := a.db.MoveVolume(ctx, v.ID, store.VolumeMove{From: []volume.Status{volume.StatusInUse}, Status: volume.StatusDetaching, AttachStatus: volume.Detaching})
	if errors.Is(err, store.ErrState) {
		return nil, invalidVolume("Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.")
	}
	return nil, moveFault(err, v, "detach", nil)
}

func (a *API) rollDetaching(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:roll_detaching", v); err != nil {
		return nil, err
	}
	if v.Status != volume.StatusDetaching {
		return nil, nil // as Cinder: only a detaching volume rolls back
	}
	st, as, err := a.settled(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	if err := a.db.MoveVolume(ctx, v.ID, store.VolumeMove{From: []volume.Status{volume.StatusDetaching}, Status: st, AttachStatus: as}); err != nil && !errors.Is(err, store.ErrState) {
		return nil, moveFault(err, v, "roll back detaching", nil)
	}
	return nil, nil
}

// connectorArg reads {"connector": {...}}, which Cinder requires.
func connectorArg(action string, arg json.RawMessage) (map[string]any, error) {
	var b struct {
		Connector map[string]any `json:"connector"`
	}
	if err := json.Unmarshal(arg, &b); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute connector. Value: %s. %s is not of type 'object'", string(arg), string(arg))
	}
	if b.Connector == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute %s. 'connector' is a required property", action)
	}
	return b.Connector, nil
}

// connect asks the volume service that keeps v for the connection a host
// with connector opens; mode is the attachment's access mode.
func (a *API) connect(ctx context.Context, v *store.Volume, connector map[string]any, mode string) (map[string]any, error) {
	var c backend.Connection
	err := a.bus.Call(ctx, rpc.VolumeSubject(serviceHost(v.Host)), rpc.InitializeConnection,
		rpc.ConnectionArgs{VolumeID: v.ID, Connector: connector}, &c)
	if err != nil {
		a.log.WarnContext(ctx, "initialize_connection failed", "volume", v.ID, "err", err)
		return nil, fault.New(http.StatusInternalServerError, "Bad or unexpected response from the storage volume backend API: Unable to fetch connection information from backend: %v", err).WithType("VolumeBackendAPIException")
	}
	if c.Data == nil {
		c.Data = map[string]any{}
	}
	if mode == "" {
		mode = "rw"
	}
	c.Data["access_mode"] = mode
	c.Data["volume_id"] = v.ID
	// The hypervisor applies front-end QoS (null: none), as Cinder's
	// connection_info says.
	c.Data["qos_specs"] = a.frontEndQoS(ctx, v)
	return map[string]any{"driver_volume_type": c.DriverVolumeType, "data": c.Data}, nil
}

func (a *API) initializeConnection(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	conn, err := connectorArg("os-initialize_connection", arg)
	if err != nil {
		return nil, err
	}
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:initialize_connection", v); err != nil {
		return nil, err
	}
	if !slices.Contains(connectable, v.Status) {
		return nil, invalidVolume("Volume %s status must be available, reserved, attaching, in-use or detaching to initialize a connection, it is %s.", v.ID, v.Status)
	}
	mode := "rw"
	if truthyMeta(v.Metadata["readonly"]) {
		mode = "ro"
	}
	info, err := a.connect(ctx, v, conn, mode)
	if err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusOK, Body: map[string]any{"connection_info": info}}, nil
}

func truthyMeta(s string) bool {
	b, ok := truthy(s)
	return ok && b
}

func (a *API) terminateConnection(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	conn, err := connectorArg("os-terminate_connection", arg)
	if err != nil {
		return nil, err
	}
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:terminate_connection", v); err != nil {
		return nil, err
	}
	a.disconnect(ctx, v, conn)
	return nil, nil
}

// disconnect tells the volume service a host is done with v; a failure is
// logged, not returned, as nothing on the host is left to undo.
func (a *API) disconnect(ctx context.Context, v *store.Volume, connector map[string]any) {
	if v.Host == "" {
		return
	}
	if err := a.bus.Call(ctx, rpc.VolumeSubject(serviceHost(v.Host)), rpc.TerminateConnection,
		rpc.ConnectionArgs{VolumeID: v.ID, Connector: connector}, nil); err != nil {
		a.log.WarnContext(ctx, "terminate_connection failed", "volume", v.ID, "err", err)
	}
}

func (a *API) attach(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	var b struct {
		InstanceUUID *string `json:"instance_uuid"`
		HostName     *string `json:"host_name"`
		Mountpoint   *string `json:"mountpoint"`
		Mode         *string `json:"mode"`
	}
	if err := json.Unmarshal(arg, &b); err != nil {
		return nil, fault.BadRequest("Malformed os-attach: %v", err)
	}
	if b.Mountpoint == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute os-attach. 'mountpoint' is a required property")
	}
	if (b.InstanceUUID == nil || *b.InstanceUUID == "") && (b.HostName == nil || *b.HostName == "") {
		return nil, fault.BadRequest("Invalid request to attach volume to an invalid target")
	}
	mode := "rw"
	if b.Mode != nil {
		mode = *b.Mode
	}
	if mode != "rw" && mode != "ro" {
		return nil, fault.BadRequest("Invalid request to attach volume with an invalid mode. Attaching mode should be 'rw' or 'ro'")
	}
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:attach", v); err != nil {
		return nil, err
	}
	if truthyMeta(v.Metadata["readonly"]) && mode != "ro" {
		return nil, invalidVolume("Volume %s is read-only: attach it with mode 'ro'.", v.ID)
	}
	from := []volume.Status{volume.StatusAvailable, volume.StatusAttaching, volume.StatusReserved}
	if v.Multiattach {
		from = append(from, volume.StatusInUse)
	}
	at := &store.Attachment{VolumeID: v.ID, Status: volume.Attached, Mode: mode, Mountpoint: *b.Mountpoint}
	if b.InstanceUUID != nil {
		at.InstanceUUID = *b.InstanceUUID
	}
	if b.HostName != nil {
		at.Host = *b.HostName
	}
	err := a.db.CreateAttachment(ctx, at, store.VolumeMove{From: from, Status: volume.StatusInUse, AttachStatus: volume.Attached})
	if errors.Is(err, store.ErrState) && v.Status == volume.StatusInUse {
		return nil, invalidVolume("Volume %s is already attached and is not multiattach.", v.ID)
	}
	return nil, moveFault(err, v, "attach", from)
}

func (a *API) detach(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	var b struct {
		AttachmentID *string `json:"attachment_id"`
	}
	if len(arg) > 0 && string(arg) != "null" {
		if err := json.Unmarshal(arg, &b); err != nil {
			return nil, fault.BadRequest("Malformed os-detach: %v", err)
		}
	}
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:detach", v); err != nil {
		return nil, err
	}
	atts, err := a.db.ListAttachments(ctx, store.AttachmentFilter{VolumeIDs: []string{v.ID}})
	if err != nil {
		return nil, err
	}
	var id string
	switch {
	case b.AttachmentID != nil:
		i := slices.IndexFunc(atts, func(at *store.Attachment) bool { return at.ID == *b.AttachmentID })
		if i < 0 {
			return nil, fault.NotFound("Volume attachment could not be found with filter: attachment_id = %s.", *b.AttachmentID).WithType("VolumeAttachmentNotFound")
		}
		id = atts[i].ID
	case len(atts) == 1:
		id = atts[0].ID
	case len(atts) > 1:
		return nil, invalidVolume("Volume %s is attached more than once: detach needs an attachment_id.", v.ID)
	}
	from := []volume.Status{volume.StatusInUse, volume.StatusDetaching, volume.StatusAttaching, volume.StatusReserved}
	if id == "" {
		// Nothing attached: the volume is set available, as Cinder's
		// detach_volume does (a detach after a force-detach is no error).
		from = append(from, volume.StatusAvailable)
		err := a.db.MoveVolume(ctx, v.ID, store.VolumeMove{From: from, Status: volume.StatusAvailable, AttachStatus: volume.Detached})
		return nil, moveFault(err, v, "detach", from)
	}
	_, err = a.db.DeleteAttachment(ctx, id, from)
	return nil, moveFault(err, v, "detach", from)
}

// forceDetach is os-force_detach, an administrator's way out of a bad
// detach: the connection is terminated on the volume service, then the
// attachment (the only one when no attachment_id is given) is removed
// whatever the volume's status, which then follows from the attachments
// left. A volume with no attachment becomes available, as Cinder's
// detach_volume leaves it.
func (a *API) forceDetach(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	var b struct {
		AttachmentID *string         `json:"attachment_id"`
		Connector    *map[string]any `json:"connector"`
	}
	if len(arg) > 0 && string(arg) != "null" {
		if err := json.Unmarshal(arg, &b); err != nil {
			return nil, fault.BadRequest("Invalid input for field/attribute os-force_detach: %v", err)
		}
	}
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_admin_actions:force_detach", v); err != nil {
		return nil, err
	}
	atts, err := a.db.ListAttachments(ctx, store.AttachmentFilter{VolumeIDs: []string{v.ID}})
	if err != nil {
		return nil, err
	}
	var at *store.Attachment
	switch {
	case b.AttachmentID != nil:
		i := slices.IndexFunc(atts, func(at *store.Attachment) bool { return at.ID == *b.AttachmentID })
		if i < 0 {
			return nil, fault.BadRequest("Error force detaching volume - VolumeAttachmentNotFound: Volume attachment could not be found with filter: attachment_id = %s.", *b.AttachmentID)
		}
		at = atts[i]
	case len(atts) == 1:
		at = atts[0]
	case len(atts) > 1:
		return nil, fault.BadRequest("Error force detaching volume - InvalidVolume: Detach volume failed, because there are currently multiple attachments.")
	}
	var conn map[string]any
	if b.Connector != nil {
		conn = *b.Connector
	}
	// Not while the volume service creates or deletes the volume.
	from := slices.DeleteFunc(slices.Clone(resettable), func(s volume.Status) bool {
		return s == volume.StatusCreating || s == volume.StatusDeleting
	})
	if !slices.Contains(from, v.Status) {
		return nil, moveFault(store.ErrState, v, "force-detach", from)
	}
	a.disconnect(ctx, v, conn)
	if at == nil {
		err := a.db.MoveVolume(ctx, v.ID, store.VolumeMove{From: from, Status: volume.StatusAvailable, AttachStatus: volume.Detached})
		return nil, moveFault(err, v, "force-detach", from)
	}
	_, err = a.db.DeleteAttachment(ctx, at.ID, from)
	return nil, moveFault(err, v, "force-detach", from)
}

// attachments renders a volume's attached attachments for its
// "attachments" field (reserved and attaching ones are not shown, as in
// Cinder); host_name is for administrators.
func (rd *renderer) attachments(v *store.Volume) []volume.Attachment {
	out := []volume.Attachment{}
	if v.AttachStatus == volume.Detached && v.Status == volume.StatusAvailable {
		return out
	}
	atts, err := rd.a.db.ListAttachments(rd.ctx, store.AttachmentFilter{VolumeIDs: []string{v.ID}, Status: volume.Attached})
	if err != nil {
		rd.a.log.WarnContext(rd.ctx, "volume attachments", "volume", v.ID, "err", err)
		return out
	}
	for _, at := range atts {
		e := volume.Attachment{ID: v.ID, AttachmentID: at.ID, VolumeID: v.ID,
			ServerID: nilIfEmpty(at.InstanceUUID), Device: nilIfEmpty(at.Mountpoint)}
		if rd.admin {
			e.HostName = nilIfEmpty(at.Host)
		}
		if !at.AttachedAt.IsZero() {
			e.AttachedAt = strp(fmtTime(at.AttachedAt))
		}
		out = append(out, e)
	}
	return out
}

// sweepAttach settles volumes left attaching or detaching longer than the
// create timeout (a caller that crashed between steps): each goes to what
// its attachments say (in-use, reserved or available), from where the
// user can detach, delete the attachment or attach again.
func (a *API) sweepAttach(ctx context.Context, now time.Time) {
	vols, err := a.db.ListVolumes(ctx, store.Filter{Statuses: []volume.Status{volume.StatusAttaching, volume.StatusDetaching},
		OlderThan: now.Add(-a.opt.CreateTimeout)})
	if err != nil {
		if ctx.Err() == nil {
			a.log.WarnContext(ctx, "attach sweep failed", "err", err)
		}
		return
	}
	for _, v := range vols {
		st, as, err := a.settled(ctx, v.ID)
		if err != nil {
			a.log.WarnContext(ctx, "attach sweep failed", "volume", v.ID, "err", err)
			continue
		}
		if err := a.db.MoveVolume(ctx, v.ID, store.VolumeMove{From: []volume.Status{v.Status}, Status: st, AttachStatus: as}); err == nil {
			a.log.WarnContext(ctx, "volume settled after a stalled attach step", "volume", v.ID, "from", v.Status, "to", st)
		}
	}
}

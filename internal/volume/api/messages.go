package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/tenku-cloud/tenku/api/volume"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// messageRoutes are the user messages of 3.3 (sort, filters and
// pagination from 3.5).
func (a *API) messageRoutes() []rest.Route {
	p := "/v3/{project_id}/messages"
	v33 := rest.V(3, 3)
	return []rest.Route{
		{Method: "GET", Path: p, Min: v33, Policy: "message:get_all", Handler: a.listMessages},
		{Method: "GET", Path: p + "/{message_id}", Min: v33, Handler: a.showMessage},
		{Method: "DELETE", Path: p + "/{message_id}", Min: v33, Status: http.StatusNoContent, Handler: a.deleteMessage},
	}
}

// Cinder's message actions and details (cinder/message/message_field.py):
// an event id is VOLUME_<resource>_<action>_<detail>.
var messageActions = map[string]string{
	"001": "schedule allocate volume", "003": "copy volume to image", "005": "copy image to volume",
	"007": "extend volume", "008": "create volume from backend storage", "009": "create snapshot",
	"010": "delete snapshot", "013": "create backup", "014": "delete backup", "015": "restore backup",
}

var messageDetails = map[string]string{
	"001": "An unknown error occurred.", "003": "Could not find any available weighted backend.",
	"004": "Failed to upload volume to image at backend.", "007": "Image used for creating volume exceeds available space.",
	"013": "Snapshot failed to create.", "016": "Snapshot failed to delete.",
	"020": "Backup driver failed to create backup.", "025": "Backup driver failed to delete backup.",
	"026": "Backup driver failed to restore backup.",
}

// Message resource types and action ids tenku records.
const (
	resVolume   = "VOLUME"
	resSnapshot = "VOLUME_SNAPSHOT"
	resBackup   = "VOLUME_BACKUP"

	actSchedule      = "001"
	actUploadImage   = "003"
	actImageToVolume = "005"
	actExtend        = "007"
	actCreate        = "008"
	actSnapCreate    = "009"
	actSnapDelete    = "010"
	actBackupCreate  = "013"
	actBackupDelete  = "014"
	actBackupRestore = "015"

	detUnknown       = "001"
	detNoBackend     = "003"
	detUpload        = "004"
	detSnapCreate    = "013"
	detSnapDelete    = "016"
	detBackupCreate  = "020"
	detBackupDelete  = "025"
	detBackupRestore = "026"
)

// record keeps a user message for a project's failed request (best
// effort: the failure itself is already recorded on the resource).
func (a *API) record(ctx context.Context, project, resource, uuid, action, detail string) {
	m := &store.Message{ProjectID: project, RequestID: logging.RequestID(ctx), ResourceType: resource, ResourceUUID: uuid,
		EventID: store.EventID(resource, action, detail), DetailID: detail}
	if err := a.db.CreateMessage(context.WithoutCancel(ctx), m); err != nil {
		a.log.WarnContext(ctx, "user message not recorded", "event_id", m.EventID, "err", err)
	}
}

func messageNotFound(id string) error {
	return fault.NotFound("Message %s could not be found.", id).WithType("MessageNotFound")
}

func (a *API) renderMessage(r *rest.Request, m *store.Message) map[string]any {
	action := ""
	if parts := strings.Split(m.EventID, "_"); len(parts) >= 3 {
		action = messageActions[parts[len(parts)-2]]
	}
	detail := messageDetails[m.DetailID]
	if detail == "" {
		detail = messageDetails[detUnknown]
	}
	user := detail
	if action != "" {
		user = action + ": " + detail
	}
	req := any(nil)
	if m.RequestID != "" {
		req = m.RequestID
	}
	res := any(nil)
	if m.ResourceUUID != "" {
		res = m.ResourceUUID
	}
	return map[string]any{
		"id": m.ID, "event_id": m.EventID, "user_message": user, "message_level": m.Level,
		"resource_type": m.ResourceType, "resource_uuid": res, "request_id": req,
		"created_at": fmtTime(m.CreatedAt), "guaranteed_until": fmtTime(m.ExpiresAt),
		"links": a.links(r, m.ProjectID, "messages", m.ID),
	}
}

func (a *API) getMessage(ctx context.Context, r *rest.Request, rule string) (*store.Message, error) {
	id := r.Param("message_id")
	m, err := a.db.GetMessage(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, messageNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if m.ProjectID != r.Auth.ProjectID && !a.isAdmin(ctx, r.Auth) {
		return nil, messageNotFound(id)
	}
	if err := r.Enforce(ctx, rule, map[string]any{"project_id": m.ProjectID}); err != nil {
		return nil, err
	}
	return m, nil
}

func (a *API) showMessage(ctx context.Context, r *rest.Request) (any, error) {
	m, err := a.getMessage(ctx, r, "message:get")
	if err != nil {
		return nil, err
	}
	return map[string]any{"message": a.renderMessage(r, m)}, nil
}

func (a *API) deleteMessage(ctx context.Context, r *rest.Request) (any, error) {
	m, err := a.getMessage(ctx, r, "message:delete")
	if err != nil {
		return nil, err
	}
	if err := a.db.DeleteMessage(ctx, m.ID); errors.Is(err, store.ErrNotFound) {
		return nil, messageNotFound(m.ID)
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) listMessages(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	f := store.MessageFilter{ProjectID: r.Auth.ProjectID}
	if a.isAdmin(ctx, r.Auth) {
		if all, ok := truthy(q.Get("all_tenants")); ok && all {
			f.ProjectID = q.Get("project_id")
		}
	}
	if r.Version.AtLeast(rest.V(3, 5)) {
		f.EventID, f.ResourceType, f.ResourceUUID, f.Level, f.RequestID = q.Get("event_id"), q.Get("resource_type"), q.Get("resource_uuid"), q.Get("message_level"), q.Get("request_id")
		var err error
		if f.Sort, err = parseSort(q, store.MessageSortColumns); err != nil {
			return nil, err
		}
	}
	ms, err := a.db.ListMessages(ctx, f)
	if err != nil {
		return nil, err
	}
	more := false
	if r.Version.AtLeast(rest.V(3, 5)) {
		if ms, more, err = paginate(a, r, ms, func(m *store.Message) string { return m.ID }); err != nil {
			return nil, err
		}
	}
	list := make([]map[string]any, len(ms))
	for i, m := range ms {
		list[i] = a.renderMessage(r, m)
	}
	out := map[string]any{"messages": list}
	if more && len(ms) > 0 {
		out["messages_links"] = []map[string]string{{"href": r.NextURL(a.base(r), ms[len(ms)-1].ID), "rel": "next"}}
	}
	return out, nil
}

// volumeMessage records the user message of a volume service's failure
// report: a create (from an image or not), an extend, an upload.
func (a *API) volumeMessage(ctx context.Context, v *store.Volume, u rpc.UpdateArgs) {
	switch {
	case u.Status == volume.StatusError && slices.Contains(u.From, volume.StatusCreating):
		act := actCreate
		if v.ImageID != "" {
			act = actImageToVolume
		}
		a.record(ctx, v.ProjectID, resVolume, v.ID, act, detUnknown)
	case u.Status == volume.StatusErrorExtend:
		a.record(ctx, v.ProjectID, resVolume, v.ID, actExtend, detUnknown)
	case slices.Contains(u.From, volume.StatusUploading) && u.Reason != "":
		a.record(ctx, v.ProjectID, resVolume, v.ID, actUploadImage, detUpload)
	}
}

package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) instanceActionRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/servers/{server_id}/os-instance-actions", Handler: a.listInstanceActions},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/os-instance-actions/{request_id}", Handler: a.showInstanceAction},
		{Method: "POST", Path: "/v2.1/os-server-external-events", Handler: a.externalEvents, Policy: "os_compute_api:os-server-external-events:create"},
	}
}

func actionView(r *rest.Request, act *objects.Action) map[string]any {
	v := map[string]any{"action": act.Action, "instance_uuid": act.InstanceUUID, "request_id": act.RequestID,
		"user_id": act.UserID, "project_id": act.ProjectID, "start_time": isoMicro(act.StartTime), "message": nullString(act.Message)}
	if r.Version.AtLeast(rest.V(2, 58)) {
		v["updated_at"] = isoMicro(act.UpdatedAt)
	}
	return v
}

// actionInstance loads the instance of an action request: deleted ones too
// from 2.21.
func (a *API) actionInstance(ctx context.Context, r *rest.Request) (*objects.Instance, error) {
	return a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{ReadDeleted: r.Version.AtLeast(rest.V(2, 21))})
}

func (a *API) listInstanceActions(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.actionInstance(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:os-instance-actions:list", inst); err != nil {
		return nil, err
	}
	var f store.ActionFilter
	q := r.HTTP.URL.Query()
	paged := r.Version.AtLeast(rest.V(2, 58))
	if paged {
		for _, p := range []struct {
			name string
			dst  *time.Time
			min  rest.Version
		}{{"changes-since", &f.ChangesSince, rest.V(2, 58)}, {"changes-before", &f.ChangesBefore, rest.V(2, 66)}} {
			if s := q.Get(p.name); s != "" && r.Version.AtLeast(p.min) {
				t, err := parseTime(p.name, s)
				if err != nil {
					return nil, err
				}
				*p.dst = t
			}
		}
		if !f.ChangesSince.IsZero() && !f.ChangesBefore.IsZero() && f.ChangesBefore.Before(f.ChangesSince) {
			return nil, fault.BadRequest("The value of changes-since must be less than or equal to changes-before.")
		}
	}
	acts, err := a.d.Store.Actions(ctx, inst.UUID, f)
	if err != nil {
		return nil, err
	}
	var page rest.Page
	if paged {
		if page, err = r.Page(a.cfg.API.MaxLimit, a.cfg.API.MaxLimit); err != nil {
			return nil, err
		}
		if page.Limit == 0 {
			page.Limit = a.cfg.API.MaxLimit
		}
		if acts, _, err = rest.PageOf(acts, page, func(x *objects.Action) string { return x.RequestID }); err != nil {
			return nil, fault.BadRequest("Marker %s could not be found.", page.Marker)
		}
	}
	list := make([]map[string]any, 0, len(acts))
	for _, act := range acts {
		list = append(list, actionView(r, act))
	}
	out := map[string]any{"instanceActions": list}
	if paged && len(acts) > 0 && len(acts) == page.Limit {
		out["links"] = a.nextLink(r, acts[len(acts)-1].RequestID)
	}
	return out, nil
}

func (a *API) showInstanceAction(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.actionInstance(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:os-instance-actions:show", inst); err != nil {
		return nil, err
	}
	act, err := a.d.Store.Action(ctx, inst.UUID, r.Param("request_id"))
	if err != nil {
		return nil, err
	}
	v := actionView(r, act)
	target := map[string]any{"project_id": inst.ProjectID}
	canEvents := a.can(ctx, r, "os_compute_api:os-instance-actions:events", target)
	if r.Version.AtLeast(rest.V(2, 51)) || canEvents {
		evs := make([]map[string]any, 0, len(act.Events))
		for _, e := range act.Events {
			ev := map[string]any{"event": e.Event, "start_time": isoMicro(e.StartTime), "finish_time": nullTime(e.FinishTime),
				"result": nullString(e.Result)}
			if canEvents {
				ev["traceback"] = nullString(e.Traceback)
			}
			if r.Version.AtLeast(rest.V(2, 62)) {
				if e.Host != "" {
					h := sha256.Sum224([]byte(inst.ProjectID + e.Host))
					ev["hostId"] = hex.EncodeToString(h[:])
				} else {
					ev["hostId"] = ""
				}
				if canEvents {
					ev["host"] = e.Host
				}
			}
			if r.Version.AtLeast(rest.V(2, 84)) && a.can(ctx, r, "os_compute_api:os-instance-actions:events:details", target) {
				ev["details"] = nullString(e.Details)
			}
			evs = append(evs, ev)
		}
		v["events"] = evs
	}
	return map[string]any{"instanceAction": v}, nil
}

// externalEventNames are the events os-server-external-events accepts, by
// the microversion that added them.
var externalEventNames = map[string]rest.Version{
	"network-changed": {}, "network-vif-plugged": {}, "network-vif-unplugged": {}, "network-vif-deleted": {},
	"volume-extended": rest.V(2, 51), "power-update": rest.V(2, 76), "accelerator-request-bound": rest.V(2, 82),
	"volume-reimaged": rest.V(2, 93),
}

// externalEvents takes events from Neutron (and Cinder) and hands each to the
// agent of the instance's host.
func (a *API) externalEvents(ctx context.Context, r *rest.Request) (any, error) {
	var body struct {
		Events []struct {
			Name       string  `json:"name"`
			ServerUUID string  `json:"server_uuid"`
			Tag        *string `json:"tag"`
			Status     string  `json:"status"`
		} `json:"events"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if len(body.Events) == 0 {
		return nil, fault.BadRequest("Invalid input for field/attribute events. [] is too short")
	}
	var out []map[string]any
	accepted, failed := 0, 0
	for _, e := range body.Events {
		minV, ok := externalEventNames[e.Name]
		if !ok || !r.Version.AtLeast(minV) {
			return nil, fault.BadRequest("Invalid input for field/attribute name. Value: %s. '%s' is not one of the accepted event names", e.Name, e.Name)
		}
		if e.Status == "" {
			e.Status = "completed"
		}
		if e.Status != "completed" && e.Status != "failed" && e.Status != "in-progress" {
			return nil, fault.BadRequest("Invalid input for field/attribute status. Value: %s.", e.Status)
		}
		ev := map[string]any{"name": e.Name, "server_uuid": e.ServerUUID, "status": e.Status}
		if e.Tag != nil {
			ev["tag"] = *e.Tag
		}
		inst, err := a.d.Store.Instance(ctx, e.ServerUUID, store.GetOptions{})
		switch {
		case err != nil:
			ev["code"] = http.StatusNotFound
			failed++
		case inst.Host == "":
			ev["code"] = http.StatusUnprocessableEntity
			failed++
		default:
			tag := ""
			if e.Tag != nil {
				tag = *e.Tag
			}
			if err := a.d.Bus.Send(ctx, rpc.ComputeSubject(inst.Host), rpc.ExternalEvent, rpc.Event{InstanceUUID: inst.UUID, Name: e.Name, Tag: tag, Status: e.Status}); err != nil {
				ev["code"] = http.StatusInternalServerError
				failed++
				break
			}
			ev["code"] = http.StatusOK
			accepted++
		}
		out = append(out, ev)
	}
	status := http.StatusOK
	switch {
	case accepted == 0:
		return nil, fault.NotFound("No instances found for any event")
	case failed > 0:
		status = http.StatusMultiStatus
	}
	return &rest.Response{Status: status, Body: map[string]any{"events": out}}, nil
}

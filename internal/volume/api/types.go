package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

func (a *API) typeRoutes() []rest.Route {
	p := "/v3/{project_id}/types"
	t := p + "/{volume_type_id}"
	return []rest.Route{
		{Method: "GET", Path: p, Policy: "volume_extension:type_get_all", Handler: a.listTypes},
		{Method: "POST", Path: p, Policy: "volume_extension:types_manage", Handler: a.createType},
		{Method: "GET", Path: p + "/default", Policy: "volume_extension:type_get", Handler: a.defaultType},
		{Method: "GET", Path: t, Policy: "volume_extension:type_get", Handler: a.showType},
		{Method: "PUT", Path: t, Policy: "volume_extension:types_manage", Handler: a.updateType},
		{Method: "DELETE", Path: t, Status: http.StatusAccepted, Policy: "volume_extension:types_manage", Handler: a.deleteType},
		{Method: "GET", Path: t + "/extra_specs", Policy: "volume_extension:types_extra_specs:index", Handler: a.listSpecs},
		{Method: "POST", Path: t + "/extra_specs", Policy: "volume_extension:types_extra_specs:create", Handler: a.createSpecs},
		{Method: "GET", Path: t + "/extra_specs/{key}", Policy: "volume_extension:types_extra_specs:show", Handler: a.showSpec},
		{Method: "PUT", Path: t + "/extra_specs/{key}", Policy: "volume_extension:types_extra_specs:update", Handler: a.updateSpec},
		{Method: "DELETE", Path: t + "/extra_specs/{key}", Status: http.StatusAccepted, Policy: "volume_extension:types_extra_specs:delete", Handler: a.deleteSpec},
		{Method: "GET", Path: t + "/os-volume-type-access", Policy: "volume_extension:volume_type_access:get_all_for_type", Handler: a.typeAccess},
		{Method: "POST", Path: t + "/action", Status: http.StatusAccepted, Handler: a.typeAction},
	}
}

func typeNotFound(id string) error {
	return fault.NotFound("Volume type %s could not be found.", id).WithType("VolumeTypeNotFound")
}

func (a *API) renderType(ctx context.Context, r *rest.Request, t *store.Type) volume.VolumeType {
	out := volume.VolumeType{ID: t.ID, Name: t.Name, Description: t.Description, IsPublic: t.IsPublic, AccessPub: t.IsPublic}
	if a.allowed(ctx, r.Auth, "volume_extension:access_types_extra_specs", r.Auth.ProjectID) {
		out.ExtraSpecs = t.ExtraSpecs
		if out.ExtraSpecs == nil {
			out.ExtraSpecs = map[string]string{}
		}
	}
	if a.allowed(ctx, r.Auth, "volume_extension:access_types_qos_specs_id", r.Auth.ProjectID) {
		out.QoSSpecsID = new(*string)
		if t.QoSSpecsID != "" {
			*out.QoSSpecsID = &t.QoSSpecsID
		}
	}
	return out
}

// visibleType loads a type the caller may see (public, shared with their
// project, or any for an administrator).
func (a *API) visibleType(ctx context.Context, r *rest.Request, id string) (*store.Type, error) {
	t, err := a.db.GetType(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, typeNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if !t.IsPublic && !a.isAdmin(ctx, r.Auth) {
		ps, err := a.db.TypeProjects(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ps, r.Auth.ProjectID) {
			return nil, typeNotFound(id)
		}
	}
	return t, nil
}

func (a *API) listTypes(ctx context.Context, r *rest.Request) (any, error) {
	ts, err := a.db.ListTypes(ctx)
	if err != nil {
		return nil, err
	}
	admin := a.isAdmin(ctx, r.Auth)
	q := r.HTTP.URL.Query()
	var want *bool
	if s := q.Get("is_public"); s != "" && admin {
		if strings.EqualFold(s, "none") {
			want = nil
		} else if b, ok := truthy(s); ok {
			want = &b
		}
	} else if !admin {
		t := true
		want = &t
	}
	out := []volume.VolumeType{}
	for _, t := range ts {
		if want != nil && t.IsPublic != *want {
			if *want && !admin {
				ps, err := a.db.TypeProjects(ctx, t.ID)
				if err != nil {
					return nil, err
				}
				if slices.Contains(ps, r.Auth.ProjectID) {
					out = append(out, a.renderType(ctx, r, t))
				}
			}
			continue
		}
		out = append(out, a.renderType(ctx, r, t))
	}
	return map[string]any{"volume_types": out}, nil
}

func (a *API) showType(ctx context.Context, r *rest.Request) (any, error) {
	t, err := a.visibleType(ctx, r, r.Param("volume_type_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"volume_type": a.renderType(ctx, r, t)}, nil
}

func (a *API) defaultType(ctx context.Context, r *rest.Request) (any, error) {
	t, err := a.db.GetTypeByName(ctx, a.opt.DefaultType)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.NotFound("Default volume type can not be found.").WithType("VolumeTypeNotFound")
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"volume_type": a.renderType(ctx, r, t)}, nil
}

type typeBody struct {
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	IsPublic    *bool             `json:"os-volume-type-access:is_public"`
	IsPublic2   *bool             `json:"is_public"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
}

func decodeType(r *rest.Request, key string) (*typeBody, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fault.BadRequest("Malformed request body: %v", err)
	}
	inner, ok := m[key]
	if !ok {
		return nil, fault.BadRequest("Missing required element '%s' in request body.", key)
	}
	var b typeBody
	if err := json.Unmarshal(inner, &b); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute %s. %v", key, err)
	}
	if b.IsPublic == nil {
		b.IsPublic = b.IsPublic2
	}
	return &b, nil
}

func checkSpecs(specs map[string]string) error {
	for k, v := range specs {
		if k == "" || len(k) > 255 || len(v) > 255 {
			return fault.BadRequest("Invalid input for field/attribute extra_specs. Keys must be 1 to 255 characters and values at most 255.")
		}
	}
	return nil
}

func (a *API) createType(ctx context.Context, r *rest.Request) (any, error) {
	b, err := decodeType(r, "volume_type")
	if err != nil {
		return nil, err
	}
	if b.Name == nil || strings.TrimSpace(*b.Name) == "" || len(*b.Name) > 255 {
		return nil, fault.BadRequest("Invalid input for field/attribute name. The volume type name must be 1 to 255 characters, not only spaces.")
	}
	if err := checkText("description", b.Description); err != nil {
		return nil, err
	}
	if err := checkSpecs(b.ExtraSpecs); err != nil {
		return nil, err
	}
	pub := true
	if b.IsPublic != nil {
		pub = *b.IsPublic
	}
	t := &store.Type{Name: *b.Name, Description: b.Description, IsPublic: pub, ExtraSpecs: b.ExtraSpecs}
	if t.ExtraSpecs == nil {
		t.ExtraSpecs = map[string]string{}
	}
	if err := a.db.CreateType(ctx, t); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, fault.Conflict("Volume Type %s already exists.", t.Name).WithType("VolumeTypeExists")
		}
		return nil, err
	}
	// Cinder's create answer has no qos_specs_id.
	vt := a.renderType(ctx, r, t)
	vt.QoSSpecsID = nil
	return map[string]any{"volume_type": vt}, nil
}

func (a *API) updateType(ctx context.Context, r *rest.Request) (any, error) {
	b, err := decodeType(r, "volume_type")
	if err != nil {
		return nil, err
	}
	id := r.Param("volume_type_id")
	if b.Name == nil && b.Description == nil && b.IsPublic == nil {
		return nil, fault.BadRequest("Specify volume type name, description, is_public or a combination thereof.")
	}
	if b.Name != nil && (strings.TrimSpace(*b.Name) == "" || len(*b.Name) > 255) {
		return nil, fault.BadRequest("Invalid input for field/attribute name. The volume type name must be 1 to 255 characters, not only spaces.")
	}
	if err := checkText("description", b.Description); err != nil {
		return nil, err
	}
	t, err := a.db.GetType(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, typeNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if t.Name == volume.DefaultTypeName && b.Name != nil && *b.Name != t.Name {
		return nil, fault.BadRequest("The default volume type %s cannot be renamed.", volume.DefaultTypeName)
	}
	var desc **string
	if b.Description != nil {
		desc = &b.Description
	}
	if err := a.db.UpdateType(ctx, id, b.Name, desc, b.IsPublic); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, fault.Conflict("Volume Type %s already exists.", *b.Name).WithType("VolumeTypeExists")
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, typeNotFound(id)
		}
		return nil, err
	}
	if t, err = a.db.GetType(ctx, id); err != nil {
		return nil, err
	}
	// Cinder's update answer is the type without the type-access
	// extension's os-volume-type-access:is_public and qos_specs_id.
	vt := a.renderType(ctx, r, t)
	out := map[string]any{"id": vt.ID, "name": vt.Name, "description": vt.Description, "is_public": vt.IsPublic}
	if vt.ExtraSpecs != nil {
		out["extra_specs"] = vt.ExtraSpecs
	}
	return map[string]any{"volume_type": out}, nil
}

func (a *API) deleteType(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("volume_type_id")
	t, err := a.db.GetType(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, typeNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if t.Name == volume.DefaultTypeName || t.Name == a.opt.DefaultType {
		return nil, fault.BadRequest("Default volume type can not be deleted.").WithType("VolumeTypeDefaultDeletionError")
	}
	switch err := a.db.DeleteType(ctx, id); {
	case errors.Is(err, store.ErrState):
		return nil, fault.BadRequest("Target volume type is still in use.").WithType("VolumeTypeInUse")
	case errors.Is(err, store.ErrNotFound):
		return nil, typeNotFound(id)
	case err != nil:
		return nil, err
	}
	return nil, nil
}

func (a *API) listSpecs(ctx context.Context, r *rest.Request) (any, error) {
	t, err := a.visibleType(ctx, r, r.Param("volume_type_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"extra_specs": t.ExtraSpecs}, nil
}

func (a *API) createSpecs(ctx context.Context, r *rest.Request) (any, error) {
	var b struct {
		ExtraSpecs map[string]string `json:"extra_specs"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.ExtraSpecs == nil {
		return nil, fault.BadRequest("Missing required element 'extra_specs' in request body.")
	}
	if err := checkSpecs(b.ExtraSpecs); err != nil {
		return nil, err
	}
	id := r.Param("volume_type_id")
	if _, err := a.db.SetExtraSpecs(ctx, id, b.ExtraSpecs, nil); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, typeNotFound(id)
		}
		return nil, err
	}
	return map[string]any{"extra_specs": b.ExtraSpecs}, nil
}

func (a *API) showSpec(ctx context.Context, r *rest.Request) (any, error) {
	t, err := a.visibleType(ctx, r, r.Param("volume_type_id"))
	if err != nil {
		return nil, err
	}
	k := r.Param("key")
	v, ok := t.ExtraSpecs[k]
	if !ok {
		return nil, fault.NotFound("Volume Type %s has no extra specs with key %s.", t.ID, k).WithType("VolumeTypeExtraSpecsNotFound")
	}
	return map[string]string{k: v}, nil
}

func (a *API) updateSpec(ctx context.Context, r *rest.Request) (any, error) {
	var b map[string]string
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	k := r.Param("key")
	if _, ok := b[k]; !ok || len(b) != 1 {
		return nil, fault.BadRequest("Request body and URI mismatch")
	}
	if err := checkSpecs(b); err != nil {
		return nil, err
	}
	id := r.Param("volume_type_id")
	if _, err := a.db.SetExtraSpecs(ctx, id, b, nil); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, typeNotFound(id)
		}
		return nil, err
	}
	return b, nil
}

func (a *API) deleteSpec(ctx context.Context, r *rest.Request) (any, error) {
	id, k := r.Param("volume_type_id"), r.Param("key")
	if _, err := a.db.GetType(ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil, typeNotFound(id)
	} else if err != nil {
		return nil, err
	}
	if _, err := a.db.SetExtraSpecs(ctx, id, nil, []string{k}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault.NotFound("Volume Type %s has no extra specs with key %s.", id, k).WithType("VolumeTypeExtraSpecsNotFound")
		}
		return nil, err
	}
	return nil, nil
}

func (a *API) typeAccess(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("volume_type_id")
	t, err := a.db.GetType(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, typeNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if t.IsPublic {
		return nil, fault.NotFound("Access list not available for public volume types.").WithType("VolumeTypeAccessNotFound")
	}
	ps, err := a.db.TypeProjects(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, len(ps))
	for i, p := range ps {
		out[i] = map[string]string{"volume_type_id": id, "project_id": p}
	}
	return map[string]any{"volume_type_access": out}, nil
}

func (a *API) typeAction(ctx context.Context, r *rest.Request) (any, error) {
	var b map[string]struct {
		Project string `json:"project"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	id := r.Param("volume_type_id")
	for action, arg := range b {
		var rule string
		switch action {
		case "addProjectAccess":
			rule = "volume_extension:volume_type_access:addProjectAccess"
		case "removeProjectAccess":
			rule = "volume_extension:volume_type_access:removeProjectAccess"
		default:
			return nil, fault.BadRequest("There is no such action: %s", action)
		}
		if err := r.Enforce(ctx, rule, map[string]any{"project_id": r.Auth.ProjectID}); err != nil {
			return nil, err
		}
		if arg.Project == "" {
			return nil, fault.BadRequest("Invalid input for field/attribute project. A project id is required.")
		}
		t, err := a.db.GetType(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, typeNotFound(id)
		}
		if err != nil {
			return nil, err
		}
		if t.IsPublic {
			return nil, fault.BadRequest("Invalid volume type: Type access modification is not applicable to public volume type.")
		}
		if action == "addProjectAccess" {
			if err := a.db.AddTypeProject(ctx, id, arg.Project); errors.Is(err, store.ErrDuplicate) {
				return nil, fault.Conflict("Volume type access for %s / %s combination already exists.", id, arg.Project).WithType("VolumeTypeAccessExists")
			} else if err != nil {
				return nil, err
			}
		} else if err := a.db.RemoveTypeProject(ctx, id, arg.Project); errors.Is(err, store.ErrNotFound) {
			return nil, fault.NotFound("Volume type access not found for %s / %s combination.", id, arg.Project).WithType("VolumeTypeAccessNotFound")
		} else if err != nil {
			return nil, err
		}
	}
	if len(b) == 0 {
		return nil, fault.BadRequest("Malformed request body: no action.")
	}
	return nil, nil
}

package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// groupTypeRoutes are the group types and group specs of 3.11. Cinder
// answers /group_types/default from its default_group_type option, unset
// by default, so tenku's is always 404.
func (a *API) groupTypeRoutes() []rest.Route {
	p := "/v3/{project_id}/group_types"
	t := p + "/{group_type_id}"
	v311 := rest.V(3, 11)
	return []rest.Route{
		{Method: "GET", Path: p, Min: v311, Handler: a.listGroupTypes},
		{Method: "POST", Path: p, Min: v311, Status: http.StatusAccepted, Policy: "group:group_types:create", Handler: a.createGroupType},
		{Method: "GET", Path: p + "/default", Min: v311, Handler: a.defaultGroupType},
		{Method: "GET", Path: t, Min: v311, Handler: a.showGroupType},
		{Method: "PUT", Path: t, Min: v311, Policy: "group:group_types:update", Handler: a.updateGroupType},
		{Method: "DELETE", Path: t, Min: v311, Status: http.StatusAccepted, Policy: "group:group_types:delete", Handler: a.deleteGroupType},
		{Method: "GET", Path: t + "/group_specs", Min: v311, Policy: "group:group_types_specs:get_all", Handler: a.listGroupSpecs},
		{Method: "POST", Path: t + "/group_specs", Min: v311, Status: http.StatusAccepted, Policy: "group:group_types_specs:create", Handler: a.createGroupSpecs},
		{Method: "GET", Path: t + "/group_specs/{key}", Min: v311, Policy: "group:group_types_specs:get", Handler: a.showGroupSpec},
		{Method: "PUT", Path: t + "/group_specs/{key}", Min: v311, Policy: "group:group_types_specs:update", Handler: a.updateGroupSpec},
		{Method: "DELETE", Path: t + "/group_specs/{key}", Min: v311, Status: http.StatusAccepted, Policy: "group:group_types_specs:delete", Handler: a.deleteGroupSpec},
	}
}

func groupTypeRules() []policy.Rule {
	p, t := "/group_types", "/group_types/{group_type_id}"
	s := t + "/group_specs"
	return []policy.Rule{
		rule("group:group_types:create", ruleAdminAPI, "Create a group type.", op("POST", p)),
		rule("group:group_types:update", ruleAdminAPI, "Update a group type.", op("PUT", t)),
		rule("group:group_types:delete", ruleAdminAPI, "Delete a group type.", op("DELETE", t)),
		rule("group:access_group_types_specs", ruleAdminAPI, "See group_specs in group types.", op("GET", t), op("GET", p)),
		rule("group:group_types_specs:get", ruleAdminAPI, "Show a group spec.", op("GET", s+"/{key}")),
		rule("group:group_types_specs:get_all", ruleAdminAPI, "List group specs.", op("GET", s)),
		rule("group:group_types_specs:create", ruleAdminAPI, "Set group specs.", op("POST", s)),
		rule("group:group_types_specs:update", ruleAdminAPI, "Update a group spec.", op("PUT", s+"/{key}")),
		rule("group:group_types_specs:delete", ruleAdminAPI, "Delete a group spec.", op("DELETE", s+"/{key}")),
	}
}

func groupTypeNotFound(id string) error {
	return fault.NotFound("Group type with id %s could not be found.", id).WithType("GroupTypeNotFound")
}

func (a *API) renderGroupType(ctx context.Context, r *rest.Request, t *store.GroupType) volume.GroupType {
	out := volume.GroupType{ID: t.ID, Name: t.Name, Description: t.Description, IsPublic: t.IsPublic}
	if a.allowed(ctx, r.Auth, "group:access_group_types_specs", r.Auth.ProjectID) {
		out.GroupSpecs = t.GroupSpecs
		if out.GroupSpecs == nil {
			out.GroupSpecs = map[string]string{}
		}
	}
	return out
}

// visibleGroupType loads a group type the caller may see: public ones,
// and any for an administrator.
func (a *API) visibleGroupType(ctx context.Context, r *rest.Request, id string) (*store.GroupType, error) {
	t, err := a.db.GetGroupType(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !t.IsPublic && !a.isAdmin(ctx, r.Auth) {
		return nil, groupTypeNotFound(id)
	}
	return t, err
}

var groupTypeSortKeys = map[string]string{"id": "", "name": "", "description": "", "is_public": "", "created_at": "", "updated_at": ""}

func compareGroupTypes(x, y *store.GroupType, k string) int {
	switch k {
	case "id":
		return strings.Compare(x.ID, y.ID)
	case "name":
		return strings.Compare(x.Name, y.Name)
	case "description":
		return strings.Compare(deref(x.Description), deref(y.Description))
	case "is_public":
		return cmp.Compare(boolInt(x.IsPublic), boolInt(y.IsPublic))
	case "updated_at":
		return x.UpdatedAt.Compare(y.UpdatedAt)
	}
	return x.CreatedAt.Compare(y.CreatedAt)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// listGroupTypes: administrators choose with is_public (true, false or
// none for all; public by default), others see the public ones; sorted by
// sort (default created_at descending, as Cinder), then limit and offset.
func (a *API) listGroupTypes(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	keys, err := parseSort(q, groupTypeSortKeys)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		keys = []store.SortKey{{Key: "created_at", Desc: true}}
	}
	ts, err := a.db.ListGroupTypes(ctx)
	if err != nil {
		return nil, err
	}
	want := new(bool)
	*want = true
	if a.isAdmin(ctx, r.Auth) {
		if s, ok := q["is_public"]; ok {
			if strings.EqualFold(s[0], "none") {
				want = nil
			} else if b, ok := truthy(s[0]); ok {
				*want = b
			}
		}
	}
	ts = slices.DeleteFunc(ts, func(t *store.GroupType) bool { return want != nil && t.IsPublic != *want })
	slices.SortStableFunc(ts, func(x, y *store.GroupType) int {
		for _, k := range keys {
			c := compareGroupTypes(x, y, k.Key)
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	ts, _, err = paginate(a, r, ts, func(t *store.GroupType) string { return t.ID })
	if err != nil {
		return nil, err
	}
	out := []volume.GroupType{}
	for _, t := range ts {
		out = append(out, a.renderGroupType(ctx, r, t))
	}
	return map[string]any{"group_types": out}, nil
}

func (a *API) showGroupType(ctx context.Context, r *rest.Request) (any, error) {
	t, err := a.visibleGroupType(ctx, r, r.Param("group_type_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"group_type": a.renderGroupType(ctx, r, t)}, nil
}

func (a *API) defaultGroupType(ctx context.Context, r *rest.Request) (any, error) {
	return nil, fault.NotFound("Default group type can not be found.")
}

type groupTypeBody struct {
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	IsPublic    any               `json:"is_public"`
	GroupSpecs  map[string]string `json:"group_specs"`
}

func decodeGroupType(r *rest.Request) (*groupTypeBody, *bool, error) {
	var b struct {
		GroupType *groupTypeBody `json:"group_type"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, nil, err
	}
	if b.GroupType == nil {
		return nil, nil, fault.BadRequest("Missing required element 'group_type' in request body.")
	}
	var pub *bool
	switch v := b.GroupType.IsPublic.(type) {
	case nil:
	case bool:
		pub = &v
	case string:
		p, ok := truthy(v)
		if !ok {
			return nil, nil, fault.BadRequest("Invalid input for field/attribute is_public. Value: %s. %q is not a valid boolean.", v, v)
		}
		pub = &p
	default:
		return nil, nil, fault.BadRequest("Invalid input for field/attribute is_public. Value: %v is not a boolean.", v)
	}
	if err := checkText("description", b.GroupType.Description); err != nil {
		return nil, nil, err
	}
	return b.GroupType, pub, nil
}

func checkGroupTypeName(name *string) error {
	if strings.TrimSpace(*name) == "" || len(*name) > 255 {
		return fault.BadRequest("Invalid input for field/attribute name. The group type name must be 1 to 255 characters, not only spaces.")
	}
	return nil
}

func (a *API) createGroupType(ctx context.Context, r *rest.Request) (any, error) {
	b, pub, err := decodeGroupType(r)
	if err != nil {
		return nil, err
	}
	if b.Name == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute group_type. 'name' is a required property.")
	}
	if err := checkGroupTypeName(b.Name); err != nil {
		return nil, err
	}
	if err := checkSpecs(b.GroupSpecs); err != nil {
		return nil, err
	}
	t := &store.GroupType{Name: *b.Name, Description: b.Description, IsPublic: pub == nil || *pub, GroupSpecs: b.GroupSpecs}
	if t.GroupSpecs == nil {
		t.GroupSpecs = map[string]string{}
	}
	if err := a.db.CreateGroupType(ctx, t); errors.Is(err, store.ErrDuplicate) {
		return nil, fault.Conflict("Group Type %s already exists.", t.Name).WithType("GroupTypeExists")
	} else if err != nil {
		return nil, err
	}
	return map[string]any{"group_type": a.renderGroupType(ctx, r, t)}, nil
}

func (a *API) updateGroupType(ctx context.Context, r *rest.Request) (any, error) {
	b, pub, err := decodeGroupType(r)
	if err != nil {
		return nil, err
	}
	if b.Name != nil {
		if err := checkGroupTypeName(b.Name); err != nil {
			return nil, err
		}
	}
	if b.Name == nil && b.Description == nil && pub == nil {
		return nil, fault.BadRequest("Specify group type name, description or a combination thereof.")
	}
	id := r.Param("group_type_id")
	var desc **string
	if b.Description != nil {
		desc = &b.Description
	}
	switch err := a.db.UpdateGroupType(ctx, id, b.Name, desc, pub); {
	case errors.Is(err, store.ErrNotFound):
		return nil, groupTypeNotFound(id)
	case errors.Is(err, store.ErrDuplicate):
		return nil, fault.Conflict("Group Type %s already exists.", *b.Name).WithType("GroupTypeExists")
	case err != nil:
		return nil, err
	}
	t, err := a.db.GetGroupType(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, groupTypeNotFound(id)
	} else if err != nil {
		return nil, err
	}
	return map[string]any{"group_type": a.renderGroupType(ctx, r, t)}, nil
}

func (a *API) deleteGroupType(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("group_type_id")
	switch err := a.db.DeleteGroupType(ctx, id); {
	case errors.Is(err, store.ErrState):
		return nil, fault.BadRequest("Target group type is still in use.").WithType("GroupTypeInUse")
	case errors.Is(err, store.ErrNotFound):
		return nil, groupTypeNotFound(id)
	case err != nil:
		return nil, err
	}
	return nil, nil
}

func (a *API) groupTypeOr404(ctx context.Context, id string) (*store.GroupType, error) {
	t, err := a.db.GetGroupType(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, groupTypeNotFound(id)
	}
	return t, err
}

func (a *API) listGroupSpecs(ctx context.Context, r *rest.Request) (any, error) {
	t, err := a.groupTypeOr404(ctx, r.Param("group_type_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"group_specs": t.GroupSpecs}, nil
}

func (a *API) setGroupSpecs(ctx context.Context, id string, set map[string]string, remove []string) error {
	if err := checkSpecs(set); err != nil {
		return err
	}
	if _, err := a.groupTypeOr404(ctx, id); err != nil {
		return err
	}
	err := a.db.SetGroupSpecs(ctx, id, set, remove)
	if errors.Is(err, store.ErrNotFound) {
		if len(remove) == 0 {
			return groupTypeNotFound(id)
		}
		return fault.NotFound("Group Type %s has no specs with key %s.", id, remove[0]).WithType("GroupTypeSpecsNotFound")
	}
	return err
}

func (a *API) createGroupSpecs(ctx context.Context, r *rest.Request) (any, error) {
	var b struct {
		GroupSpecs map[string]string `json:"group_specs"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.GroupSpecs == nil {
		return nil, fault.BadRequest("Missing required element 'group_specs' in request body.")
	}
	if err := a.setGroupSpecs(ctx, r.Param("group_type_id"), b.GroupSpecs, nil); err != nil {
		return nil, err
	}
	return map[string]any{"group_specs": b.GroupSpecs}, nil
}

func (a *API) showGroupSpec(ctx context.Context, r *rest.Request) (any, error) {
	t, err := a.groupTypeOr404(ctx, r.Param("group_type_id"))
	if err != nil {
		return nil, err
	}
	k := r.Param("key")
	v, ok := t.GroupSpecs[k]
	if !ok {
		return nil, fault.NotFound("Group Type %s has no extra spec with key %s.", t.ID, k).WithType("GroupTypeSpecsNotFound")
	}
	return map[string]string{k: v}, nil
}

func (a *API) updateGroupSpec(ctx context.Context, r *rest.Request) (any, error) {
	var b map[string]string
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	k := r.Param("key")
	if _, ok := b[k]; !ok || len(b) != 1 {
		return nil, fault.BadRequest("Request body and URI mismatch")
	}
	if err := a.setGroupSpecs(ctx, r.Param("group_type_id"), b, nil); err != nil {
		return nil, err
	}
	return b, nil
}

func (a *API) deleteGroupSpec(ctx context.Context, r *rest.Request) (any, error) {
	return nil, a.setGroupSpecs(ctx, r.Param("group_type_id"), nil, []string{r.Param("key")})
}

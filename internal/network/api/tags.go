package api

import (
	"context"
	"encoding/json"
	"slices"

	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// taggable describes a resource that carries tags.
type taggable struct {
	path, param, rule, table string
	// visible loads the resource and returns its policy target (404 when
	// the caller may not see it).
	visible func(ctx context.Context, r *rest.Request, id string) (target, error)
}

func (a *API) taggables() []taggable {
	return []taggable{
		{"networks", "network_id", "network", "networks", func(ctx context.Context, r *rest.Request, id string) (target, error) {
			_, t, err := a.visibleNetwork(ctx, r, id)
			return t, err
		}},
		{"subnets", "subnet_id", "subnet", "subnets", func(ctx context.Context, r *rest.Request, id string) (target, error) {
			_, t, err := a.visibleSubnet(ctx, r, id)
			return t, err
		}},
		{"ports", "port_id", "port", "ports", func(ctx context.Context, r *rest.Request, id string) (target, error) {
			_, _, t, err := a.visiblePort(ctx, r, id)
			return t, err
		}},
		{"routers", "router_id", "router", "routers", func(ctx context.Context, r *rest.Request, id string) (target, error) {
			_, t, err := a.visibleRouter(ctx, r, id)
			return t, err
		}},
		{"floatingips", "floatingip_id", "floatingip", "floatingips", func(ctx context.Context, r *rest.Request, id string) (target, error) {
			_, t, err := a.visibleFloatingIP(ctx, r, id)
			return t, err
		}},
		{"security-groups", "security_group_id", "security_group", "security_groups", func(ctx context.Context, r *rest.Request, id string) (target, error) {
			_, t, err := a.visibleGroup(ctx, r, id)
			return t, err
		}},
		{"subnetpools", "subnetpool_id", "subnetpool", "subnetpools", func(ctx context.Context, r *rest.Request, id string) (target, error) {
			_, t, err := a.visiblePool(ctx, r, id)
			return t, err
		}},
	}
}

func (a *API) tagRoutes() []rest.Route {
	var rs []rest.Route
	for _, tg := range a.taggables() {
		tg := tg
		base := "/v2.0/" + tg.path + "/{" + tg.param + "}/tags"
		rs = append(rs,
			rest.Route{Method: "GET", Path: base, Handler: func(ctx context.Context, r *rest.Request) (any, error) { return a.listTags(ctx, r, tg) }},
			rest.Route{Method: "PUT", Path: base, Handler: func(ctx context.Context, r *rest.Request) (any, error) { return a.replaceTags(ctx, r, tg) }},
			rest.Route{Method: "DELETE", Path: base, Status: 204, Handler: func(ctx context.Context, r *rest.Request) (any, error) { return a.deleteTags(ctx, r, tg) }},
			rest.Route{Method: "GET", Path: base + "/{tag}", Status: 204, Handler: func(ctx context.Context, r *rest.Request) (any, error) { return a.checkTag(ctx, r, tg) }},
			rest.Route{Method: "PUT", Path: base + "/{tag}", Status: 201, Handler: func(ctx context.Context, r *rest.Request) (any, error) { return a.addTag(ctx, r, tg) }},
			rest.Route{Method: "DELETE", Path: base + "/{tag}", Status: 204, Handler: func(ctx context.Context, r *rest.Request) (any, error) { return a.deleteTag(ctx, r, tg) }},
		)
	}
	return rs
}

func (a *API) tagTarget(ctx context.Context, r *rest.Request, tg taggable, action string) (string, error) {
	id := r.Param(tg.param)
	t, err := tg.visible(ctx, r, id)
	if err != nil {
		return "", err
	}
	return id, a.z.check(ctx, r.Auth, action+"_"+tg.rule+":tags", t)
}

func validTag(tag string) error {
	if len([]rune(tag)) > 255 {
		return fault.BadRequest("Invalid input for tags. Reason: '%s' exceeds maximum length of 255.", tag).WithType("HTTPBadRequest")
	}
	if tag == "" {
		return fault.BadRequest("Invalid input for tags. Reason: '' Blank strings are not permitted.").WithType("HTTPBadRequest")
	}
	return nil
}

func tagNotFound(tag string) error {
	return fault.NotFound("Tag %s could not be found.", tag).WithType("TagNotFound")
}

func (a *API) listTags(ctx context.Context, r *rest.Request, tg taggable) (any, error) {
	id, err := a.tagTarget(ctx, r, tg, "get")
	if err != nil {
		return nil, err
	}
	tags, err := a.p.Store().Tags(ctx, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": tags}, nil
}

func (a *API) replaceTags(ctx context.Context, r *rest.Request, tg taggable) (any, error) {
	id, err := a.tagTarget(ctx, r, tg, "update")
	if err != nil {
		return nil, err
	}
	buf, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	var body struct {
		Tags *[]string `json:"tags"`
	}
	if err := json.Unmarshal(buf, &body); err != nil || body.Tags == nil {
		return nil, fault.BadRequest("Invalid tags body").WithType("HTTPBadRequest")
	}
	var tags []string
	for _, t := range *body.Tags {
		if err := validTag(t); err != nil {
			return nil, err
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if tags == nil {
		tags = []string{}
	}
	err = a.p.Store().Tx(ctx, func(q nstore.Q) error {
		if err := q.SetTags(ctx, tg.table, id, tags); err != nil {
			return err
		}
		return q.BumpRevision(ctx, tg.table, id)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": tags}, nil
}

func (a *API) deleteTags(ctx context.Context, r *rest.Request, tg taggable) (any, error) {
	id, err := a.tagTarget(ctx, r, tg, "delete")
	if err != nil {
		return nil, err
	}
	st := a.p.Store()
	if err := st.SetTags(ctx, tg.table, id, nil); err != nil {
		return nil, err
	}
	return nil, st.BumpRevision(ctx, tg.table, id)
}

func (a *API) checkTag(ctx context.Context, r *rest.Request, tg taggable) (any, error) {
	id, err := a.tagTarget(ctx, r, tg, "get")
	if err != nil {
		return nil, err
	}
	tags, err := a.p.Store().Tags(ctx, id)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(tags, r.Param("tag")) {
		return nil, tagNotFound(r.Param("tag"))
	}
	return nil, nil
}

func (a *API) addTag(ctx context.Context, r *rest.Request, tg taggable) (any, error) {
	id, err := a.tagTarget(ctx, r, tg, "create")
	if err != nil {
		return nil, err
	}
	tag := r.Param("tag")
	if err := validTag(tag); err != nil {
		return nil, err
	}
	st := a.p.Store()
	if err := st.AddTag(ctx, tg.table, id, tag); err != nil {
		return nil, err
	}
	return nil, st.BumpRevision(ctx, tg.table, id)
}

func (a *API) deleteTag(ctx context.Context, r *rest.Request, tg taggable) (any, error) {
	id, err := a.tagTarget(ctx, r, tg, "delete")
	if err != nil {
		return nil, err
	}
	st := a.p.Store()
	found, err := st.DeleteTag(ctx, id, r.Param("tag"))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, tagNotFound(r.Param("tag"))
	}
	return nil, st.BumpRevision(ctx, tg.table, id)
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// The metadata-definition catalog (/v2/metadefs): namespaces of property
// definitions, objects and tags that tell clients (Horizon, operators)
// which metadata images, flavors, volumes and servers understand, and the
// resource types they apply to. Everyone reads public namespaces; admins
// write (Glance's metadef_admin).

const (
	nsBase   = "/v2/metadefs/namespaces"
	nsSchema = "/v2/schemas/metadefs/namespace"
)

func (a *API) metadefRoutes() []rest.Route {
	ns := nsBase + "/{namespace}"
	return []rest.Route{
		{Method: "GET", Path: "/v2/metadefs/resource_types", Handler: a.listResourceTypes},
		{Method: "GET", Path: ns + "/resource_types", Handler: a.listAssociations},
		{Method: "POST", Path: ns + "/resource_types", Handler: a.addAssociation, Status: http.StatusCreated},
		{Method: "DELETE", Path: ns + "/resource_types/{resource_type}", Handler: a.deleteAssociation, Status: http.StatusNoContent},
		{Method: "GET", Path: nsBase, Handler: a.listNamespaces},
		{Method: "POST", Path: nsBase, Handler: a.createNamespace, Status: http.StatusCreated},
		{Method: "GET", Path: ns, Handler: a.showNamespace},
		{Method: "PUT", Path: ns, Handler: a.updateNamespace},
		{Method: "DELETE", Path: ns, Handler: a.deleteNamespace, Status: http.StatusNoContent},
		{Method: "GET", Path: ns + "/properties", Handler: a.listItems(db.Properties)},
		{Method: "POST", Path: ns + "/properties", Handler: a.createItem(db.Properties), Status: http.StatusCreated},
		{Method: "DELETE", Path: ns + "/properties", Handler: a.deleteItems(db.Properties), Status: http.StatusNoContent},
		{Method: "GET", Path: ns + "/properties/{property_name}", Handler: a.showItem(db.Properties)},
		{Method: "PUT", Path: ns + "/properties/{property_name}", Handler: a.updateItem(db.Properties)},
		{Method: "DELETE", Path: ns + "/properties/{property_name}", Handler: a.deleteItem(db.Properties), Status: http.StatusNoContent},
		{Method: "GET", Path: ns + "/objects", Handler: a.listItems(db.Objects)},
		{Method: "POST", Path: ns + "/objects", Handler: a.createItem(db.Objects), Status: http.StatusCreated},
		{Method: "DELETE", Path: ns + "/objects", Handler: a.deleteItems(db.Objects), Status: http.StatusNoContent},
		{Method: "GET", Path: ns + "/objects/{object_name}", Handler: a.showItem(db.Objects)},
		{Method: "PUT", Path: ns + "/objects/{object_name}", Handler: a.updateItem(db.Objects)},
		{Method: "DELETE", Path: ns + "/objects/{object_name}", Handler: a.deleteItem(db.Objects), Status: http.StatusNoContent},
		{Method: "GET", Path: ns + "/tags", Handler: a.listItems(db.Tags)},
		{Method: "POST", Path: ns + "/tags", Handler: a.createTags, Status: http.StatusCreated},
		{Method: "DELETE", Path: ns + "/tags", Handler: a.deleteItems(db.Tags), Status: http.StatusNoContent},
		{Method: "GET", Path: ns + "/tags/{tag_name}", Handler: a.showItem(db.Tags)},
		{Method: "POST", Path: ns + "/tags/{tag_name}", Handler: a.createTag, Status: http.StatusCreated},
		{Method: "PUT", Path: ns + "/tags/{tag_name}", Handler: a.updateItem(db.Tags)},
		{Method: "DELETE", Path: ns + "/tags/{tag_name}", Handler: a.deleteItem(db.Tags), Status: http.StatusNoContent},
	}
}

// nsTarget is the policy target of a namespace.
func nsTarget(n *db.Namespace, who *authn.Context) map[string]any {
	if n == nil {
		return map[string]any{"project_id": projectOf(who)}
	}
	return map[string]any{"project_id": nullStr(n.Owner), "visibility": n.Visibility}
}

// enforceMetadef is MetadefAPIPolicy: a refusal is a 404 when the caller
// may not even see the namespace.
func (a *API) enforceMetadef(ctx context.Context, who *authn.Context, rule string, n *db.Namespace) error {
	t := nsTarget(n, who)
	if a.allowed(ctx, who, rule, t) {
		return nil
	}
	if rule == "get_metadef_namespace" || !a.allowed(ctx, who, "get_metadef_namespace", t) {
		return notFound("")
	}
	return policyForbidden(rule)
}

// namespace loads a namespace the caller may see.
func (a *API) namespace(ctx context.Context, who *authn.Context, name string) (*db.Namespace, error) {
	n, err := a.db.GetNamespace(ctx, name)
	if db.IsNotFound(err) {
		return nil, notFound("Namespace %s not found", name)
	}
	if err != nil {
		return nil, err
	}
	if !a.isAdmin(ctx, who) && n.Visibility != "public" && n.Owner != projectOf(who) {
		return nil, notFound("Namespace %s not found", name)
	}
	return n, nil
}

func nsHref(name string) string { return nsBase + "/" + name }

func nsView(n *db.Namespace) image.Namespace {
	p := n.Protected
	return image.Namespace{Namespace: n.Namespace, DisplayName: n.DisplayName, Description: n.Description,
		Visibility: n.Visibility, Protected: &p, Owner: n.Owner, CreatedAt: isotime(n.CreatedAt), UpdatedAt: isotime(n.UpdatedAt),
		Self: nsHref(n.Namespace), Schema: nsSchema}
}

func assocView(as db.Association) image.ResourceTypeAssociation {
	return image.ResourceTypeAssociation{Name: as.Name, Prefix: as.Prefix, PropertiesTarget: as.PropertiesTarget,
		CreatedAt: isotime(as.CreatedAt), UpdatedAt: isotime(as.UpdatedAt)}
}

// metadefBody reads a JSON object body, refusing the read-only keys.
func (a *API) metadefBody(r *rest.Request) (map[string]any, error) {
	raw, err := a.requireBody(r)
	if err != nil {
		return nil, err
	}
	body, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest("Provided object does not match schema: %s is not of type 'object'", pyRepr(raw))
	}
	for _, k := range []string{"self", "schema", "created_at", "updated_at"} {
		if _, ok := body[k]; ok {
			return nil, forbidden("Attribute '%s' is read-only.", k)
		}
	}
	return body, nil
}

// invalid is the InvalidObject 400 of a metadef body.
func invalid(schema, reason string) error {
	return badRequest("Provided object does not match schema '%s': %s", schema, reason)
}

func str(body map[string]any, k string) (string, bool, error) {
	v, ok := body[k]
	if !ok || v == nil {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, fmt.Errorf("%s is not of type 'string'", pyRepr(v))
	}
	return s, true, nil
}

func boolean(body map[string]any, k string) (bool, bool, error) {
	v, ok := body[k]
	if !ok || v == nil {
		return false, false, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, true, fmt.Errorf("%s is not of type 'boolean'", pyRepr(v))
	}
	return b, true, nil
}

// parseNamespace validates a namespace document.
func parseNamespace(body map[string]any) (*db.Namespace, error) {
	n := &db.Namespace{}
	var err error
	var ok bool
	if n.Namespace, ok, err = str(body, "namespace"); err != nil {
		return nil, invalid("namespace", err.Error())
	} else if !ok {
		return nil, invalid("namespace", "'namespace' is a required property")
	}
	if len(n.Namespace) > 80 {
		return nil, invalid("namespace", pyRepr(n.Namespace)+" is too long")
	}
	if n.DisplayName, _, err = str(body, "display_name"); err != nil {
		return nil, invalid("namespace", err.Error())
	}
	if n.Description, _, err = str(body, "description"); err != nil {
		return nil, invalid("namespace", err.Error())
	}
	if n.Owner, _, err = str(body, "owner"); err != nil {
		return nil, invalid("namespace", err.Error())
	}
	if n.Visibility, _, err = str(body, "visibility"); err != nil {
		return nil, invalid("namespace", err.Error())
	}
	if n.Visibility != "" && n.Visibility != "public" && n.Visibility != "private" {
		return nil, invalid("namespace", pyRepr(n.Visibility)+" is not one of ['public', 'private']")
	}
	if n.Protected, _, err = boolean(body, "protected"); err != nil {
		return nil, invalid("namespace", err.Error())
	}
	if len(n.DisplayName) > 80 {
		return nil, invalid("namespace", pyRepr(n.DisplayName)+" is too long")
	}
	return n, nil
}

var propertyTypes = []string{"array", "boolean", "integer", "number", "object", "string"}

// parseProperty validates a property definition and returns its name and
// its stored schema (the definition without the name).
func parseProperty(v any, requireName bool) (string, string, error) {
	p, ok := v.(map[string]any)
	if !ok {
		return "", "", invalid("property", pyRepr(v)+" is not of type 'object'")
	}
	name, has, err := str(p, "name")
	if err != nil {
		return "", "", invalid("property", err.Error())
	}
	if requireName && !has {
		return "", "", invalid("property", "'name' is a required property")
	}
	if len(name) > 80 {
		return "", "", invalid("property", pyRepr(name)+" is too long")
	}
	for _, k := range []string{"title", "type"} {
		if _, ok := p[k]; !ok {
			return "", "", invalid("property", fmt.Sprintf("'%s' is a required property", k))
		}
	}
	if _, _, err := str(p, "title"); err != nil {
		return "", "", invalid("property", err.Error())
	}
	t, _, err := str(p, "type")
	if err != nil {
		return "", "", invalid("property", err.Error())
	}
	if !slices.Contains(propertyTypes, t) {
		return "", "", invalid("property", pyRepr(t)+" is not one of "+pyRepr(propertyTypes))
	}
	def := map[string]any{}
	for k, val := range p {
		if k != "name" {
			def[k] = val
		}
	}
	b, err := json.Marshal(def)
	if err != nil {
		return "", "", badRequest("%s", err.Error())
	}
	return name, string(b), nil
}

// propertyView renders a stored property definition with its name.
func propertyView(name, schema string) map[string]any {
	out := map[string]any{}
	json.Unmarshal([]byte(schema), &out)
	if name != "" {
		out["name"] = name
	}
	return out
}

// parseObject validates an object document.
func parseObject(body map[string]any) (*db.Item, error) {
	it := &db.Item{}
	var ok bool
	var err error
	if it.Name, ok, err = str(body, "name"); err != nil {
		return nil, invalid("object", err.Error())
	} else if !ok {
		return nil, invalid("object", "'name' is a required property")
	}
	if len(it.Name) > 80 {
		return nil, invalid("object", pyRepr(it.Name)+" is too long")
	}
	if it.Description, _, err = str(body, "description"); err != nil {
		return nil, invalid("object", err.Error())
	}
	if req, ok := body["required"]; ok && req != nil {
		list, isList := req.([]any)
		if !isList {
			return nil, invalid("object", pyRepr(req)+" is not of type 'array'")
		}
		for _, r := range list {
			s, isStr := r.(string)
			if !isStr {
				return nil, invalid("object", pyRepr(r)+" is not of type 'string'")
			}
			it.Required = append(it.Required, s)
		}
	}
	props := map[string]any{}
	if pv, ok := body["properties"]; ok && pv != nil {
		pm, isMap := pv.(map[string]any)
		if !isMap {
			return nil, invalid("object", pyRepr(pv)+" is not of type 'object'")
		}
		for k, v := range pm {
			_, schema, err := parseProperty(v, false)
			if err != nil {
				return nil, err
			}
			var def any
			json.Unmarshal([]byte(schema), &def)
			props[k] = def
		}
	}
	b, _ := json.Marshal(props)
	it.Schema = string(b)
	return it, nil
}

func objectView(ns string, it *db.Item, prefix string) map[string]any {
	props := map[string]any{}
	json.Unmarshal([]byte(it.Schema), &props)
	if prefix != "" {
		pp := map[string]any{}
		for k, v := range props {
			pp[prefix+k] = v
		}
		props = pp
	}
	out := map[string]any{
		"name": it.Name, "properties": props, "created_at": isotime(it.CreatedAt), "updated_at": isotime(it.UpdatedAt),
		"self": nsHref(ns) + "/objects/" + it.Name, "schema": "/v2/schemas/metadefs/object",
	}
	if it.Description != "" {
		out["description"] = it.Description
	}
	if len(it.Required) > 0 {
		req := it.Required
		if prefix != "" {
			req = nil
			for _, r := range it.Required {
				req = append(req, prefix+r)
			}
		}
		out["required"] = req
	}
	return out
}

func tagView(it *db.Item) image.Tag {
	return image.Tag{Name: it.Name, CreatedAt: isotime(it.CreatedAt), UpdatedAt: isotime(it.UpdatedAt)}
}

func (a *API) listResourceTypes(ctx context.Context, r *rest.Request) (any, error) {
	if err := a.enforceMetadef(ctx, r.Auth, "list_metadef_resource_types", nil); err != nil {
		return nil, err
	}
	rts, err := a.db.ListResourceTypes(ctx)
	if err != nil {
		return nil, err
	}
	out := image.ResourceTypeList{ResourceTypes: []image.ResourceType{}}
	for _, rt := range rts {
		out.ResourceTypes = append(out.ResourceTypes, image.ResourceType{Name: rt.Name, CreatedAt: isotime(rt.CreatedAt), UpdatedAt: isotime(rt.UpdatedAt)})
	}
	return out, nil
}

func (a *API) listAssociations(ctx context.Context, r *rest.Request) (any, error) {
	n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
	if err != nil {
		return nil, err
	}
	if err := a.enforceMetadef(ctx, r.Auth, "get_metadef_resource_type", n); err != nil {
		return nil, err
	}
	as, err := a.db.ListAssociations(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	out := image.ResourceTypeAssociationList{ResourceTypeAssociations: []image.ResourceTypeAssociation{}}
	for _, as := range as {
		out.ResourceTypeAssociations = append(out.ResourceTypeAssociations, assocView(as))
	}
	return out, nil
}

// parseAssociation validates a resource type association document.
func parseAssociation(v any) (db.Association, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return db.Association{}, invalid("resource_type_association", pyRepr(v)+" is not of type 'object'")
	}
	var as db.Association
	var has bool
	var err error
	if as.Name, has, err = str(m, "name"); err != nil || !has {
		if err == nil {
			err = errors.New("'name' is a required property")
		}
		return as, invalid("resource_type_association", err.Error())
	}
	if as.Prefix, _, err = str(m, "prefix"); err != nil {
		return as, invalid("resource_type_association", err.Error())
	}
	if as.PropertiesTarget, _, err = str(m, "properties_target"); err != nil {
		return as, invalid("resource_type_association", err.Error())
	}
	for _, s := range []string{as.Name, as.Prefix, as.PropertiesTarget} {
		if len(s) > 80 {
			return as, invalid("resource_type_association", pyRepr(s)+" is too long")
		}
	}
	return as, nil
}

func (a *API) addAssociation(ctx context.Context, r *rest.Request) (any, error) {
	body, err := a.metadefBody(r)
	if err != nil {
		return nil, err
	}
	as, err := parseAssociation(body)
	if err != nil {
		return nil, err
	}
	n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
	if err != nil {
		return nil, err
	}
	if err := a.enforceMetadef(ctx, r.Auth, "add_metadef_resource_type_association", n); err != nil {
		return nil, err
	}
	if err := a.db.AddAssociation(ctx, n.ID, &as); err != nil {
		if errors.Is(err, db.ErrDuplicate) {
			return nil, conflict("The metadata definition resource-type association of resource-type=%s to namespace=%s already exists.", as.Name, n.Namespace)
		}
		return nil, err
	}
	return assocView(as), nil
}

func (a *API) deleteAssociation(ctx context.Context, r *rest.Request) (any, error) {
	n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
	if err != nil {
		return nil, err
	}
	rt := r.Param("resource_type")
	if err := a.enforceMetadef(ctx, r.Auth, "remove_metadef_resource_type_association", n); err != nil {
		return nil, err
	}
	if n.Protected {
		return nil, forbidden("Metadata definition resource-type-association %s is protected and cannot be deleted.", rt)
	}
	if err := a.db.DeleteAssociation(ctx, n.ID, rt); err != nil {
		if errors.Is(err, db.ErrNotFound) || isConflict(err) {
			return nil, notFound("The metadata definition resource-type association of resource-type=%s to namespace=%s, was not found.", rt, n.Namespace)
		}
		return nil, err
	}
	return nil, nil
}

func isConflict(err error) bool {
	return err != nil && strings.Contains(err.Error(), "changed by another request")
}

func (a *API) listNamespaces(ctx context.Context, r *rest.Request) (any, error) {
	params := r.HTTP.URL.Query()
	who := r.Auth
	q := db.NamespaceQuery{Caller: db.Caller{ProjectID: projectOf(who), Admin: a.isAdmin(ctx, who)}, Desc: true}
	limit := a.opt.LimitParamDefault
	if s, ok := first(params, "limit"); ok {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, badRequest("limit param must be an integer")
		}
		if n < 0 {
			return nil, badRequest("limit param must be positive")
		}
		limit = n
	}
	q.Limit = min(limit, a.opt.APILimitMax)
	if d, ok := first(params, "sort_dir"); ok {
		if d != "asc" && d != "desc" {
			return nil, badRequest("Invalid sort direction: %s", d)
		}
		q.Desc = d == "desc"
	}
	q.SortKey, _ = first(params, "sort_key")
	if v, ok := first(params, "visibility"); ok && v != "" {
		if v != "public" && v != "private" {
			return nil, badRequest("Invalid visibility value: %s", v)
		}
		q.Visibility = v
	}
	if rt, ok := first(params, "resource_types"); ok && rt != "" {
		q.ResourceTypes = strings.Split(rt, ",")
	}
	if err := a.enforceMetadef(ctx, who, "get_metadef_namespaces", nil); err != nil {
		return nil, err
	}
	if err := a.enforceMetadef(ctx, who, "list_metadef_resource_types", nil); err != nil {
		return nil, err
	}
	if m, ok := first(params, "marker"); ok {
		if _, err := a.namespace(ctx, who, m); err != nil {
			return nil, err
		}
		q.Marker = m
	}
	var list []*db.Namespace
	var err error
	if q.Limit > 0 {
		if list, err = a.db.ListNamespaces(ctx, q); err != nil {
			return nil, err
		}
	}
	out := image.NamespaceList{Namespaces: []image.Namespace{}, Schema: "/v2/schemas/metadefs/namespaces"}
	for _, n := range list {
		if a.allowed(ctx, who, "get_metadef_namespace", nsTarget(n, who)) {
			v := nsView(n)
			as, err := a.db.ListAssociations(ctx, n.ID)
			if err != nil {
				return nil, err
			}
			for _, x := range as {
				v.ResourceTypeAssociations = append(v.ResourceTypeAssociations, assocView(x))
			}
			out.Namespaces = append(out.Namespaces, v)
		}
	}
	query := url.Values{}
	for k, vs := range params {
		if k != "marker" {
			query[k] = vs
		}
	}
	out.First = nsBase
	if len(query) > 0 {
		out.First += "?" + query.Encode()
	}
	if len(out.Namespaces) > 0 && len(out.Namespaces) == q.Limit {
		query.Set("marker", out.Namespaces[len(out.Namespaces)-1].Namespace)
		out.Next = nsBase + "?" + query.Encode()
	}
	return out, nil
}

func (a *API) createNamespace(ctx context.Context, r *rest.Request) (any, error) {
	body, err := a.metadefBody(r)
	if err != nil {
		return nil, err
	}
	n, err := parseNamespace(body)
	if err != nil {
		return nil, err
	}
	var c db.NamespaceContents
	if v, ok := body["resource_type_associations"]; ok && v != nil {
		list, isList := v.([]any)
		if !isList {
			return nil, invalid("namespace", pyRepr(v)+" is not of type 'array'")
		}
		for _, x := range list {
			as, err := parseAssociation(x)
			if err != nil {
				return nil, err
			}
			c.Associations = append(c.Associations, as)
		}
	}
	if v, ok := body["properties"]; ok && v != nil {
		pm, isMap := v.(map[string]any)
		if !isMap {
			return nil, invalid("namespace", pyRepr(v)+" is not of type 'object'")
		}
		for _, k := range sortedAnyKeys(pm) {
			_, schema, err := parseProperty(pm[k], false)
			if err != nil {
				return nil, err
			}
			c.Properties = append(c.Properties, &db.Item{Name: k, Schema: schema})
		}
	}
	if v, ok := body["objects"]; ok && v != nil {
		list, isList := v.([]any)
		if !isList {
			return nil, invalid("namespace", pyRepr(v)+" is not of type 'array'")
		}
		for _, x := range list {
			m, _ := x.(map[string]any)
			it, err := parseObject(m)
			if err != nil {
				return nil, err
			}
			c.Objects = append(c.Objects, it)
		}
	}
	if v, ok := body["tags"]; ok && v != nil {
		names, err := tagNames(v)
		if err != nil {
			return nil, err
		}
		for _, t := range names {
			c.Tags = append(c.Tags, &db.Item{Name: t})
		}
	}
	who := r.Auth
	for _, rule := range []string{"add_metadef_namespace", "add_metadef_resource_type_association", "add_metadef_object", "add_metadef_property", "add_metadef_tag"} {
		switch {
		case rule == "add_metadef_resource_type_association" && len(c.Associations) == 0,
			rule == "add_metadef_object" && len(c.Objects) == 0,
			rule == "add_metadef_property" && len(c.Properties) == 0,
			rule == "add_metadef_tag" && len(c.Tags) == 0:
			continue
		}
		if err := a.enforceMetadef(ctx, who, rule, nil); err != nil {
			return nil, err
		}
	}
	if n.Visibility == "" {
		n.Visibility = "private"
	}
	if _, ok := body["owner"]; !ok {
		n.Owner = projectOf(who)
	}
	if err := a.db.CreateNamespace(ctx, n, c); err != nil {
		if errors.Is(err, db.ErrDuplicate) {
			return nil, conflict("The metadata definition namespace=%s already exists.", n.Namespace)
		}
		return nil, err
	}
	v := nsView(n)
	for _, as := range c.Associations {
		v.ResourceTypeAssociations = append(v.ResourceTypeAssociations, assocView(as))
	}
	out := nsMap(v)
	if len(c.Properties) > 0 {
		props := map[string]any{}
		for _, p := range c.Properties {
			props[p.Name] = propertyView("", p.Schema)
		}
		out["properties"] = props
	}
	if len(c.Objects) > 0 {
		var objs []any
		for _, o := range c.Objects {
			objs = append(objs, objectView(n.Namespace, o, ""))
		}
		out["objects"] = objs
	}
	if len(c.Tags) > 0 {
		var tags []any
		for _, t := range c.Tags {
			tags = append(tags, map[string]any{"name": t.Name})
		}
		out["tags"] = tags
	}
	r.Log().InfoContext(ctx, "metadata namespace created", "namespace", n.Namespace)
	resp := &rest.Response{Status: http.StatusCreated, Body: out, Header: http.Header{}}
	resp.Header.Set("Location", r.BaseURL()+nsHref(n.Namespace))
	return resp, nil
}

// nsMap turns a namespace view into a map, to add contents to it.
func nsMap(v image.Namespace) map[string]any {
	b, _ := json.Marshal(v)
	out := map[string]any{}
	json.Unmarshal(b, &out)
	return out
}

func tagNames(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, invalid("tags", pyRepr(v)+" is not of type 'array'")
	}
	var names []string
	seen := map[string]bool{}
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, invalid("tags", pyRepr(x)+" is not of type 'object'")
		}
		n, has, err := str(m, "name")
		if err != nil || !has {
			if err == nil {
				err = errors.New("'name' is a required property")
			}
			return nil, invalid("tags", err.Error())
		}
		if len(n) > 80 {
			return nil, invalid("tags", pyRepr(n)+" is too long")
		}
		if seen[strings.ToLower(n)] {
			return nil, conflict("Duplicate tag names: %s", n)
		}
		seen[strings.ToLower(n)] = true
		names = append(names, n)
	}
	return names, nil
}

func (a *API) showNamespace(ctx context.Context, r *rest.Request) (any, error) {
	who := r.Auth
	n, err := a.namespace(ctx, who, r.Param("namespace"))
	if err != nil {
		return nil, err
	}
	if err := a.enforceMetadef(ctx, who, "get_metadef_namespace", n); err != nil {
		return nil, err
	}
	for _, rule := range []string{"list_metadef_resource_types", "get_metadef_objects", "get_metadef_properties", "get_metadef_tags"} {
		if err := a.enforceMetadef(ctx, who, rule, n); err != nil {
			return nil, err
		}
	}
	v := nsView(n)
	as, err := a.db.ListAssociations(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	prefix := ""
	want := r.HTTP.URL.Query().Get("resource_type")
	for _, x := range as {
		v.ResourceTypeAssociations = append(v.ResourceTypeAssociations, assocView(x))
		if want != "" && x.Name == want {
			prefix = x.Prefix
		}
	}
	out := nsMap(v)
	objs, err := a.db.ListItems(ctx, db.Objects, n.ID)
	if err != nil {
		return nil, err
	}
	if len(objs) > 0 {
		var list []any
		for _, o := range objs {
			list = append(list, objectView(n.Namespace, o, prefix))
		}
		out["objects"] = list
	}
	props, err := a.db.ListItems(ctx, db.Properties, n.ID)
	if err != nil {
		return nil, err
	}
	if len(props) > 0 {
		m := map[string]any{}
		for _, p := range props {
			m[prefix+p.Name] = propertyView("", p.Schema)
		}
		out["properties"] = m
	}
	tags, err := a.db.ListItems(ctx, db.Tags, n.ID)
	if err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		var list []any
		for _, t := range tags {
			list = append(list, map[string]any{"name": t.Name})
		}
		out["tags"] = list
	}
	return out, nil
}

func (a *API) updateNamespace(ctx context.Context, r *rest.Request) (any, error) {
	who := r.Auth
	old := r.Param("namespace")
	n, err := a.namespace(ctx, who, old)
	if err != nil {
		return nil, err
	}
	body, err := a.metadefBody(r)
	if err != nil {
		return nil, err
	}
	upd, err := parseNamespace(body)
	if err != nil {
		return nil, err
	}
	if err := a.enforceMetadef(ctx, who, "modify_metadef_namespace", n); err != nil {
		return nil, err
	}
	if upd.Visibility == "" {
		upd.Visibility = "private"
	}
	if upd.Owner == "" {
		upd.Owner = projectOf(who)
	}
	upd.ID, upd.CreatedAt = n.ID, n.CreatedAt
	if err := a.db.UpdateNamespace(ctx, old, upd); err != nil {
		if errors.Is(err, db.ErrDuplicate) {
			return nil, conflict("Invalid update. It would result in a duplicate metadata definition namespace with the same name of %s", upd.Namespace)
		}
		if db.IsNotFound(err) {
			return nil, notFound("Namespace %s not found", old)
		}
		return nil, err
	}
	return nsView(upd), nil
}

func (a *API) deleteNamespace(ctx context.Context, r *rest.Request) (any, error) {
	who := r.Auth
	n, err := a.namespace(ctx, who, r.Param("namespace"))
	if err != nil {
		return nil, err
	}
	if err := a.enforceMetadef(ctx, who, "delete_metadef_namespace", n); err != nil {
		return nil, err
	}
	if n.Protected {
		return nil, forbidden("Metadata definition namespace %s is protected and cannot be deleted.", n.Namespace)
	}
	if err := a.db.DeleteNamespace(ctx, n.ID); err != nil {
		if isConflict(err) {
			return nil, notFound("Namespace %s not found", n.Namespace)
		}
		return nil, err
	}
	r.Log().InfoContext(ctx, "metadata namespace deleted", "namespace", n.Namespace)
	return nil, nil
}

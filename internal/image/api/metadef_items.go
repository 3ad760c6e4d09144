package api

import (
	"context"
	"errors"
	"strings"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// itemKinds describes each kind of namespace item for the generic
// handlers: its path parameter, rule names and wording.
var itemKinds = map[db.ItemKind]struct {
	param, get, list, add, modify, remove, noun, schema string
}{
	db.Properties: {"property_name", "get_metadef_property", "get_metadef_properties", "add_metadef_property", "modify_metadef_property", "remove_metadef_property", "property", "property"},
	db.Objects:    {"object_name", "get_metadef_object", "get_metadef_objects", "add_metadef_object", "modify_metadef_object", "delete_metadef_object", "object", "object"},
	db.Tags:       {"tag_name", "get_metadef_tag", "get_metadef_tags", "add_metadef_tag", "modify_metadef_tag", "delete_metadef_tag", "tag", "tag"},
}

func itemNotFound(kind db.ItemKind, name, ns string) error {
	return notFound("The metadata definition %s with name=%s was not found in namespace=%s.", itemKinds[kind].noun, name, ns)
}

func itemDuplicate(kind db.ItemKind, name, ns string) error {
	switch kind {
	case db.Tags:
		return conflict("A metadata tag with name=%s already exists in namespace=%s. (Please note that metadata tag names are case insensitive).", name, ns)
	}
	return conflict("A metadata definition %s with name=%s already exists in namespace=%s.", itemKinds[kind].noun, name, ns)
}

func (a *API) itemView(kind db.ItemKind, ns string, it *db.Item) any {
	switch kind {
	case db.Properties:
		return propertyView(it.Name, it.Schema)
	case db.Objects:
		return objectView(ns, it, "")
	}
	return tagView(it)
}

// parseItem reads an item document of a kind.
func parseItem(kind db.ItemKind, body map[string]any) (*db.Item, error) {
	switch kind {
	case db.Properties:
		name, schema, err := parseProperty(body, true)
		if err != nil {
			return nil, err
		}
		return &db.Item{Name: name, Schema: schema}, nil
	case db.Objects:
		return parseObject(body)
	}
	name, has, err := str(body, "name")
	if err != nil || !has {
		if err == nil {
			err = errors.New("'name' is a required property")
		}
		return nil, invalid("tag", err.Error())
	}
	if len(name) > 80 {
		return nil, invalid("tag", pyRepr(name)+" is too long")
	}
	return &db.Item{Name: name}, nil
}

func (a *API) listItems(kind db.ItemKind) rest.Handler {
	k := itemKinds[kind]
	return func(ctx context.Context, r *rest.Request) (any, error) {
		n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
		if err != nil {
			return nil, err
		}
		if err := a.enforceMetadef(ctx, r.Auth, k.list, n); err != nil {
			return nil, err
		}
		items, err := a.db.ListItems(ctx, kind, n.ID)
		if err != nil {
			return nil, err
		}
		switch kind {
		case db.Properties:
			props := map[string]any{}
			for _, it := range items {
				props[it.Name] = propertyView("", it.Schema)
			}
			return map[string]any{"properties": props}, nil
		case db.Objects:
			objs := []any{}
			for _, it := range items {
				objs = append(objs, objectView(n.Namespace, it, ""))
			}
			return map[string]any{"objects": objs, "schema": "v2/schemas/metadefs/objects"}, nil
		}
		tags := image.TagList{Tags: []image.Tag{}}
		for _, it := range items {
			tags.Tags = append(tags.Tags, tagView(it))
		}
		return tags, nil
	}
}

// itemRequest reads an item's create or update body and the namespace it
// goes in, which the caller must be allowed rule on.
func (a *API) itemRequest(ctx context.Context, r *rest.Request, kind db.ItemKind, rule string) (*db.Item, *db.Namespace, error) {
	body, err := a.metadefBody(r)
	if err != nil {
		return nil, nil, err
	}
	it, err := parseItem(kind, body)
	if err != nil {
		return nil, nil, err
	}
	n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
	if err != nil {
		return nil, nil, err
	}
	if err := a.enforceMetadef(ctx, r.Auth, rule, n); err != nil {
		return nil, nil, err
	}
	return it, n, nil
}

func (a *API) createItem(kind db.ItemKind) rest.Handler {
	k := itemKinds[kind]
	return func(ctx context.Context, r *rest.Request) (any, error) {
		it, n, err := a.itemRequest(ctx, r, kind, k.add)
		if err != nil {
			return nil, err
		}
		if err := a.db.CreateItem(ctx, kind, n.ID, it); err != nil {
			if errors.Is(err, db.ErrDuplicate) {
				return nil, itemDuplicate(kind, it.Name, n.Namespace)
			}
			return nil, err
		}
		return a.itemView(kind, n.Namespace, it), nil
	}
}

func (a *API) showItem(kind db.ItemKind) rest.Handler {
	k := itemKinds[kind]
	return func(ctx context.Context, r *rest.Request) (any, error) {
		n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
		if err != nil {
			return nil, err
		}
		if err := a.enforceMetadef(ctx, r.Auth, k.get, n); err != nil {
			return nil, err
		}
		name := r.Param(k.param)
		if rt := r.HTTP.URL.Query().Get("resource_type"); rt != "" && kind == db.Properties {
			as, err := a.db.ListAssociations(ctx, n.ID)
			if err != nil {
				return nil, err
			}
			prefix, found := "", false
			for _, x := range as {
				if x.Name == rt {
					prefix, found = x.Prefix, true
				}
			}
			if !found {
				return nil, notFound("The metadata definition resource-type association of resource-type=%s to namespace=%s, was not found.", rt, n.Namespace)
			}
			if prefix == "" || !strings.HasPrefix(name, prefix) {
				return nil, notFound("Property %s does not start with the expected resource type association prefix of '%s'.", name, prefix)
			}
			name = name[len(prefix):]
		}
		it, err := a.db.GetItem(ctx, kind, n.ID, name)
		if db.IsNotFound(err) {
			return nil, itemNotFound(kind, name, n.Namespace)
		}
		if err != nil {
			return nil, err
		}
		return a.itemView(kind, n.Namespace, it), nil
	}
}

func (a *API) updateItem(kind db.ItemKind) rest.Handler {
	k := itemKinds[kind]
	return func(ctx context.Context, r *rest.Request) (any, error) {
		it, n, err := a.itemRequest(ctx, r, kind, k.modify)
		if err != nil {
			return nil, err
		}
		old := r.Param(k.param)
		if err := a.db.UpdateItem(ctx, kind, n.ID, old, it); err != nil {
			switch {
			case errors.Is(err, db.ErrDuplicate):
				return nil, itemDuplicate(kind, it.Name, n.Namespace)
			case db.IsNotFound(err):
				return nil, itemNotFound(kind, old, n.Namespace)
			}
			return nil, err
		}
		return a.itemView(kind, n.Namespace, it), nil
	}
}

func (a *API) deleteItem(kind db.ItemKind) rest.Handler {
	k := itemKinds[kind]
	return func(ctx context.Context, r *rest.Request) (any, error) {
		n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
		if err != nil {
			return nil, err
		}
		if err := a.enforceMetadef(ctx, r.Auth, k.remove, n); err != nil {
			return nil, err
		}
		name := r.Param(k.param)
		if n.Protected {
			return nil, forbidden("Metadata definition %s %s is protected and cannot be deleted.", k.noun, name)
		}
		if err := a.db.DeleteItem(ctx, kind, n.ID, name); err != nil {
			if db.IsNotFound(err) {
				return nil, itemNotFound(kind, name, n.Namespace)
			}
			return nil, err
		}
		return nil, nil
	}
}

// deleteItems removes all objects, properties or tags of a namespace
// (Glance checks delete_metadef_namespace for it, and for tags
// delete_metadef_tags too).
func (a *API) deleteItems(kind db.ItemKind) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
		if err != nil {
			return nil, err
		}
		if err := a.enforceMetadef(ctx, r.Auth, "delete_metadef_namespace", n); err != nil {
			return nil, err
		}
		if kind == db.Tags {
			if err := a.enforceMetadef(ctx, r.Auth, "delete_metadef_tags", n); err != nil {
				return nil, err
			}
		}
		if n.Protected {
			return nil, forbidden("Metadata definition namespace %s is protected and cannot be deleted.", n.Namespace)
		}
		return nil, a.db.DeleteItems(ctx, kind, n.ID)
	}
}

func (a *API) createTag(ctx context.Context, r *rest.Request) (any, error) {
	name := r.Param("tag_name")
	if len(name) > 80 {
		return nil, invalid("tag", pyRepr(name)+" is too long")
	}
	n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
	if err != nil {
		return nil, err
	}
	if err := a.enforceMetadef(ctx, r.Auth, "add_metadef_tag", n); err != nil {
		return nil, err
	}
	it := &db.Item{Name: name}
	if err := a.db.CreateItem(ctx, db.Tags, n.ID, it); err != nil {
		if errors.Is(err, db.ErrDuplicate) {
			return nil, itemDuplicate(db.Tags, name, n.Namespace)
		}
		return nil, err
	}
	return tagView(it), nil
}

func (a *API) createTags(ctx context.Context, r *rest.Request) (any, error) {
	body, err := a.metadefBody(r)
	if err != nil {
		return nil, err
	}
	v, ok := body["tags"]
	if !ok {
		return nil, invalid("tags", "'tags' is a required property")
	}
	names, err := tagNames(v)
	if err != nil {
		return nil, err
	}
	n, err := a.namespace(ctx, r.Auth, r.Param("namespace"))
	if err != nil {
		return nil, err
	}
	if err := a.enforceMetadef(ctx, r.Auth, "add_metadef_tags", n); err != nil {
		return nil, err
	}
	appendTags := strings.EqualFold(r.HTTP.Header.Get("X-Openstack-Append"), "true")
	items, err := a.db.ReplaceTags(ctx, n.ID, names, appendTags)
	if err != nil {
		if errors.Is(err, db.ErrDuplicate) {
			return nil, conflict("A metadata tag with name=%s already exists in namespace=%s. (Please note that metadata tag names are case insensitive).", strings.Join(names, ","), n.Namespace)
		}
		return nil, err
	}
	out := map[string]any{}
	var tags []any
	for _, it := range items {
		tags = append(tags, map[string]any{"name": it.Name})
	}
	out["tags"] = tags
	return out, nil
}

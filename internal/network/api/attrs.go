package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/network/plugin"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// kind is an attribute's JSON type as Neutron validates it.
type kind int

const (
	kString kind = iota
	kBool
	kInt
	kList
	kDict
	kAny
)

// attr describes one attribute of a resource.
type attr struct {
	name      string
	kind      kind
	post, put bool
	// def is the value a create request may send without it counting as
	// "explicitly set" for attribute policy rules.
	def any
}

// resource describes a Neutron resource: its attributes, filters and sort keys.
type resource struct {
	name, collection string
	attrs            map[string]attr
	// filters maps each filterable attribute to the kind of its values.
	filters map[string]kind
	sorts   []string
	// getRules are the attributes with get_<name>:<attr> rules.
	getRules []string
}

func newResource(name, collection string, attrs []attr, filters map[string]kind, sorts []string) *resource {
	r := &resource{name: name, collection: collection, attrs: map[string]attr{}, filters: filters, sorts: sorts}
	for _, a := range attrs {
		r.attrs[a.name] = a
	}
	return r
}

// body is one decoded resource of a request body.
type body struct {
	res    *resource
	raw    map[string]json.RawMessage
	create bool
}

// decodeBodies reads {"<name>": {...}} (or, when bulk is allowed, {"<collection>": [...]}).
func decodeBodies(r *rest.Request, res *resource, create, bulk bool) ([]*body, bool, error) {
	buf, err := r.RawJSON()
	if err != nil {
		return nil, false, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(buf, &top); err != nil || top == nil {
		return nil, false, fault.BadRequest("Malformed request body").WithType("HTTPBadRequest")
	}
	if raw, ok := top[res.collection]; ok && bulk && create {
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, true, fault.BadRequest("Invalid format: %s", res.collection).WithType("HTTPBadRequest")
		}
		if len(items) == 0 {
			return nil, true, fault.BadRequest("Resources required").WithType("HTTPBadRequest")
		}
		var out []*body
		for _, it := range items {
			if it == nil {
				return nil, true, fault.BadRequest("Invalid format: %s", res.collection).WithType("HTTPBadRequest")
			}
			b := &body{res: res, raw: it, create: true}
			if err := b.check(); err != nil {
				return nil, true, err
			}
			out = append(out, b)
		}
		return out, true, nil
	}
	raw, ok := top[res.name]
	if !ok {
		return nil, false, fault.BadRequest("Unable to find '%s' in request body", res.name).WithType("HTTPBadRequest")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, false, fault.BadRequest("Body contains invalid data").WithType("HTTPBadRequest")
	}
	b := &body{res: res, raw: m, create: create}
	return []*body{b}, false, b.check()
}

// check refuses unknown attributes and those the operation may not set.
func (b *body) check() error {
	var unknown []string
	for k := range b.raw {
		a, ok := b.res.attrs[k]
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		if b.create && !a.post {
			return fault.BadRequest("Attribute '%s' not allowed in POST", k).WithType("HTTPBadRequest")
		}
		if !b.create && !a.put {
			return fault.BadRequest("Cannot update read-only attribute %s", k).WithType("HTTPBadRequest")
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fault.BadRequest("Unrecognized attribute(s) '%s'", strings.Join(unknown, ", ")).WithType("HTTPBadRequest")
	}
	return nil
}

func (b *body) has(name string) bool { _, ok := b.raw[name]; return ok }

func (b *body) isNull(name string) bool {
	raw, ok := b.raw[name]
	return ok && bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// names returns the attributes sent.
func (b *body) names() []string {
	out := make([]string, 0, len(b.raw))
	for k := range b.raw {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func pyRepr(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	}
	return string(bytes.TrimSpace(raw))
}

// str reads a string attribute (null refused) bounded to max characters.
func (b *body) str(name string, max int) (*string, error) {
	raw, ok := b.raw[name]
	if !ok {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, plugin.BadAttr(name, "'%s' is not a valid string", pyRepr(raw))
	}
	if max > 0 && len([]rune(s)) > max {
		return nil, plugin.BadAttr(name, "'%s' exceeds maximum length of %d", s, max)
	}
	return &s, nil
}

// nullStr reads a string attribute that may be null: set says it was sent.
func (b *body) nullStr(name string, max int) (set bool, v *string, err error) {
	if !b.has(name) {
		return false, nil, nil
	}
	if b.isNull(name) {
		return true, nil, nil
	}
	v, err = b.str(name, max)
	return true, v, err
}

// uuidStr reads a UUID attribute.
func (b *body) uuidStr(name string) (*string, error) {
	s, err := b.str(name, 0)
	if err != nil || s == nil {
		return s, err
	}
	if _, err := uuid.Parse(*s); err != nil {
		return nil, plugin.BadAttr(name, "'%s' is not a valid UUID", *s)
	}
	return s, nil
}

// boolean reads a boolean as Neutron's convert_to_boolean accepts one.
func (b *body) boolean(name string) (*bool, error) {
	raw, ok := b.raw[name]
	if !ok {
		return nil, nil
	}
	v, ok := toBool(raw)
	if !ok {
		return nil, plugin.BadAttr(name, "'%s' cannot be converted to boolean", pyRepr(raw))
	}
	return &v, nil
}

func toBool(raw json.RawMessage) (bool, bool) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false, false
	}
	switch x := v.(type) {
	case bool:
		return x, true
	case float64:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	case string:
		return parseBool(x)
	}
	return false, false
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

// integer reads an integer (numbers and numeric strings).
func (b *body) integer(name string) (*int, error) {
	raw, ok := b.raw[name]
	if !ok || b.isNull(name) {
		return nil, nil
	}
	n, ok := toInt(raw)
	if !ok {
		return nil, plugin.BadAttr(name, "'%s' is not an integer", pyRepr(raw))
	}
	return &n, nil
}

func toInt(raw json.RawMessage) (int, bool) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}

// text reads a scalar (string or number) as text; null is nil.
func (b *body) text(name string) (*string, error) {
	raw, ok := b.raw[name]
	if !ok || b.isNull(name) {
		return nil, nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil, plugin.BadAttr(name, "'%s' is not valid", string(raw))
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return nil, plugin.BadAttr(name, "'%s' is not valid", pyRepr(raw))
	}
	return &s, nil
}

// strList reads a list of strings; null is an empty list.
func (b *body) strList(name string) (*[]string, error) {
	raw, ok := b.raw[name]
	if !ok {
		return nil, nil
	}
	out := []string{}
	if b.isNull(name) {
		return &out, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, plugin.BadAttr(name, "'%s' is not a list", pyRepr(raw))
	}
	if out == nil {
		out = []string{}
	}
	return &out, nil
}

// decode reads an attribute into v; it reports whether the attribute was sent.
func (b *body) decode(name string, v any, what string) (bool, error) {
	raw, ok := b.raw[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, plugin.BadAttr(name, "Invalid data format for %s: '%s'", what, pyRepr(raw))
	}
	return true, nil
}

// explicit lists the attributes of a create request that differ from their
// defaults, or every attribute of an update: those whose policy rules apply.
func (b *body) explicit() []string {
	var out []string
	for _, name := range b.names() {
		a := b.res.attrs[name]
		if b.create && a.def != nil {
			var v any
			json.Unmarshal(b.raw[name], &v)
			if fmt.Sprint(v) == fmt.Sprint(a.def) {
				continue
			}
		}
		out = append(out, name)
	}
	return out
}

// projectOf returns the project a create request is for: project_id or
// tenant_id from the body, else the caller's.
func (b *body) projectOf(r *rest.Request) (string, error) {
	p, err := b.str("project_id", 255)
	if err != nil {
		return "", err
	}
	t, err := b.str("tenant_id", 255)
	if err != nil {
		return "", err
	}
	if p != nil && t != nil && *p != *t {
		return "", fault.BadRequest("Both tenant_id and project_id passed as filters.").WithType("TenantIdProjectIdFilterConflict")
	}
	if p != nil {
		return *p, nil
	}
	if t != nil {
		return *t, nil
	}
	if r.Auth == nil {
		return "", nil
	}
	return r.Auth.ProjectID, nil
}

// ifMatch reads an If-Match: revision_number=N constraint.
func ifMatch(r *rest.Request) (*int64, error) {
	h := r.HTTP.Header.Get("If-Match")
	if h == "" {
		return nil, nil
	}
	var out *int64
	for _, e := range strings.Split(h, ",") {
		e = strings.Trim(strings.TrimSpace(e), `"`)
		v, ok := strings.CutPrefix(e, "revision_number=")
		if !ok {
			continue
		}
		if out != nil {
			return nil, plugin.BadRequest("if-match", "Multiple revision_number etags are not supported.")
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, plugin.BadRequest("if-match", "Revision number etag must be in the format of revision_number=<int>")
		}
		out = &n
	}
	return out, nil
}

var _ = slices.Contains[[]string]

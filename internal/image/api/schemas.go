package api

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// The JSON schemas Glance publishes under /v2/schemas: clients such as
// glanceclient read them to learn which attributes an image has and which
// values they take. The image schema is also what create and update
// validate against (validateImage).

const uuidPattern = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

// propSpec is one property of the image schema.
type propSpec struct {
	name        string
	types       []string // JSON types; ["null", "string"] for nullable
	enum        []any
	maxLength   int
	pattern     string
	readOnly    bool
	items       *propSpec
	object      map[string]any // verbatim schema, for locations
	description string
	re          *regexp.Regexp
}

func (p *propSpec) schema() map[string]any {
	if p.object != nil {
		out := map[string]any{}
		for k, v := range p.object {
			out[k] = v
		}
		out["description"] = p.description
		return out
	}
	out := map[string]any{"description": p.description}
	if len(p.types) == 1 {
		out["type"] = p.types[0]
	} else {
		out["type"] = p.types
	}
	if p.enum != nil {
		out["enum"] = p.enum
	}
	if p.maxLength > 0 {
		out["maxLength"] = p.maxLength
	}
	if p.pattern != "" {
		out["pattern"] = p.pattern
	}
	if p.readOnly {
		out["readOnly"] = true
	}
	if p.items != nil {
		it := map[string]any{"type": p.items.types[0]}
		if p.items.maxLength > 0 {
			it["maxLength"] = p.items.maxLength
		}
		out["items"] = it
	}
	return out
}

func nullable(t string) []string { return []string{"null", t} }

// imageProps returns the image schema's properties: Glance's base
// properties, then the custom ones its default schema-image.json adds.
func (a *API) imageProps() []*propSpec {
	containers := []any{nil}
	for _, c := range a.opt.ContainerFormats {
		containers = append(containers, c)
	}
	disks := []any{nil}
	for _, d := range a.opt.DiskFormats {
		disks = append(disks, d)
	}
	statuses := []any{"queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"}
	ps := []*propSpec{
		{name: "id", types: []string{"string"}, pattern: uuidPattern, description: "The image's identifier, a UUID."},
		{name: "name", types: nullable("string"), maxLength: 255, description: "A name for the image, not necessarily unique."},
		{name: "status", types: []string{"string"}, readOnly: true, enum: statuses, description: "Where the image is in its life."},
		{name: "visibility", types: []string{"string"}, enum: []any{"community", "public", "private", "shared"}, description: "Who may see and use the image."},
		{name: "protected", types: []string{"boolean"}, description: "Whether the image is protected from deletion."},
		{name: "os_hidden", types: []string{"boolean"}, description: "Whether default image lists leave the image out."},
		{name: "checksum", types: nullable("string"), readOnly: true, maxLength: 32, description: "The md5 of the image data."},
		{name: "os_hash_algo", types: nullable("string"), readOnly: true, maxLength: 64, description: "The algorithm of os_hash_value."},
		{name: "os_hash_value", types: nullable("string"), readOnly: true, maxLength: 128, description: "The hex digest of the image data under os_hash_algo."},
		{name: "owner", types: nullable("string"), maxLength: 255, description: "The project that owns the image."},
		{name: "size", types: nullable("integer"), readOnly: true, description: "The size of the image data, in bytes."},
		{name: "virtual_size", types: nullable("integer"), readOnly: true, description: "The size of the disk the image holds, in bytes."},
		{name: "container_format", types: nullable("string"), enum: containers, description: "How the image data is wrapped."},
		{name: "disk_format", types: nullable("string"), enum: disks, description: "The format of the disk the image holds."},
		{name: "created_at", types: []string{"string"}, readOnly: true, description: "When the image was registered."},
		{name: "updated_at", types: []string{"string"}, readOnly: true, description: "When the image last changed."},
		{name: "tags", types: []string{"array"}, items: &propSpec{types: []string{"string"}, maxLength: 255}, description: "Free-form labels of the image."},
		{name: "direct_url", types: []string{"string"}, readOnly: true, description: "Where the store keeps the image data."},
		{name: "min_ram", types: []string{"integer"}, description: "The least memory, in MiB, the image needs to boot."},
		{name: "min_disk", types: []string{"integer"}, description: "The least disk, in GiB, the image needs to boot."},
		{name: "self", types: []string{"string"}, readOnly: true, description: "The image's URL."},
		{name: "file", types: []string{"string"}, readOnly: true, description: "The URL of the image data."},
		{name: "stores", types: []string{"string"}, readOnly: true, description: "The stores that hold the image data, with multiple stores enabled."},
		{name: "schema", types: []string{"string"}, readOnly: true, description: "The URL of this schema."},
		{name: "locations", types: []string{"array"}, description: "Where the image data is kept.", object: map[string]any{
			"type": "array",
			"items": map[string]any{
				"type":     "object",
				"required": []string{"url", "metadata"},
				"properties": map[string]any{
					"url":      map[string]any{"type": "string", "maxLength": 255},
					"metadata": map[string]any{"type": "object"},
					"validation_data": map[string]any{
						"type": "object", "writeOnly": true, "additionalProperties": false,
						"required": []string{"os_hash_algo", "os_hash_value"},
						"properties": map[string]any{
							"checksum":      map[string]any{"type": "string", "minLength": 32, "maxLength": 32},
							"os_hash_algo":  map[string]any{"type": "string", "maxLength": 64},
							"os_hash_value": map[string]any{"type": "string", "maxLength": 128},
						},
					},
				},
			},
		}},
		// The custom properties of Glance's default schema-image.json.
		{name: "kernel_id", types: nullable("string"), pattern: uuidPattern, description: "The image of the kernel to boot an AMI-style image with."},
		{name: "ramdisk_id", types: nullable("string"), pattern: uuidPattern, description: "The image of the ramdisk to boot an AMI-style image with."},
		{name: "instance_uuid", types: []string{"string"}, description: "The server a snapshot image was taken of."},
		{name: "architecture", types: []string{"string"}, description: "The CPU architecture the image needs (x86_64, aarch64, ...)."},
		{name: "os_distro", types: []string{"string"}, description: "The operating system distribution, in lowercase (debian, ubuntu, fedora, ...)."},
		{name: "os_version", types: []string{"string"}, description: "The operating system version the distributor names."},
		{name: "description", types: []string{"string"}, description: "A human-readable description of the image."},
		{name: "cinder_encryption_key_id", types: []string{"string"}, description: "The key of an encrypted volume image."},
		{name: "cinder_encryption_key_deletion_policy", types: []string{"string"}, enum: []any{"on_image_deletion", "do_not_delete"}, description: "Whether the key goes with the image."},
	}
	for _, p := range ps {
		if p.pattern != "" {
			p.re = regexp.MustCompile(p.pattern)
		}
	}
	return ps
}

// baseImageProps are the names of the schema properties that are image
// attributes; the rest of the schema's properties are custom ones.
var baseImageProps = map[string]bool{
	"id": true, "name": true, "status": true, "visibility": true, "protected": true, "os_hidden": true,
	"checksum": true, "os_hash_algo": true, "os_hash_value": true, "owner": true, "size": true,
	"virtual_size": true, "container_format": true, "disk_format": true, "created_at": true,
	"updated_at": true, "tags": true, "direct_url": true, "min_ram": true, "min_disk": true,
	"self": true, "file": true, "stores": true, "schema": true, "locations": true,
}

func (a *API) buildSchemas() (map[string][]byte, error) {
	props := map[string]any{}
	for _, p := range a.imageProps() {
		props[p.name] = p.schema()
	}
	image := map[string]any{
		"name":                 "image",
		"properties":           props,
		"additionalProperties": map[string]any{"type": "string"},
		"links": []map[string]string{
			{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"}, {"rel": "describedby", "href": "{schema}"},
		},
	}
	out := map[string]any{
		"image":  image,
		"images": collection("images", image, true),
	}
	member := map[string]any{
		"name": "member",
		"properties": map[string]any{
			"member_id":  map[string]any{"type": "string", "description": "The project the image is shared with."},
			"image_id":   map[string]any{"type": "string", "pattern": uuidPattern, "description": "The shared image."},
			"created_at": map[string]any{"type": "string", "description": "When the image was shared."},
			"updated_at": map[string]any{"type": "string", "description": "When the member last answered."},
			"status":     map[string]any{"type": "string", "enum": []string{"pending", "accepted", "rejected"}, "description": "The member's answer to the share."},
			"schema":     map[string]any{"type": "string", "readOnly": true},
		},
	}
	out["member"] = member
	out["members"] = collection("members", member, false)
	task := taskSchema()
	out["task"] = task
	out["tasks"] = collection("tasks", task, false)
	for name, s := range metadefSchemas() {
		out[name] = s
	}
	enc := map[string][]byte{}
	for name, s := range out {
		b, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		enc[name] = b
	}
	return enc, nil
}

// collection is Glance's CollectionSchema: raw (with first and next links)
// or minimal.
func collection(name string, item map[string]any, raw bool) map[string]any {
	props := map[string]any{
		name:     map[string]any{"type": "array", "items": item},
		"schema": map[string]any{"type": "string"},
	}
	links := []map[string]string{{"rel": "describedby", "href": "{schema}"}}
	if raw {
		props["first"] = map[string]any{"type": "string"}
		props["next"] = map[string]any{"type": "string"}
		links = []map[string]string{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}}
	}
	return map[string]any{"name": name, "properties": props, "links": links}
}

func taskSchema() map[string]any {
	str := func(d string) map[string]any { return map[string]any{"type": "string", "description": d} }
	return map[string]any{
		"name": "task",
		"properties": map[string]any{
			"id":         map[string]any{"type": "string", "pattern": uuidPattern, "description": "The task's identifier."},
			"type":       map[string]any{"type": "string", "enum": []string{"import", "api_image_import", "location_import"}, "description": "What the task does."},
			"status":     map[string]any{"type": "string", "enum": []string{"pending", "processing", "success", "failure"}, "readOnly": true, "description": "Where the task is."},
			"input":      map[string]any{"type": []string{"null", "object"}, "description": "The task's parameters."},
			"result":     map[string]any{"type": []string{"null", "object"}, "description": "What the task produced."},
			"owner":      str("The project that owns the task."),
			"message":    str("Why the task failed, if it did."),
			"image_id":   str("The image the task works on."),
			"request_id": str("The request that created the task."),
			"user_id":    str("The user that created the task."),
			"expires_at": map[string]any{"type": []string{"null", "string"}, "description": "When the task record goes."},
			"created_at": str("When the task was created."),
			"updated_at": str("When the task last changed."),
			"self":       map[string]any{"type": "string", "readOnly": true},
			"schema":     map[string]any{"type": "string", "readOnly": true},
		},
	}
}

func (a *API) schemaRoutes() []rest.Route {
	var rs []rest.Route
	for _, name := range []string{"image", "images", "member", "members", "task", "tasks",
		"metadefs/namespace", "metadefs/namespaces", "metadefs/resource_type", "metadefs/resource_types",
		"metadefs/property", "metadefs/properties", "metadefs/object", "metadefs/objects", "metadefs/tag", "metadefs/tags"} {
		body := a.schemas[name]
		rs = append(rs, rest.Route{Method: "GET", Path: "/v2/schemas/" + name, Handler: func(ctx context.Context, r *rest.Request) (any, error) {
			if err := rejectBody(r); err != nil {
				return nil, err
			}
			return &rest.Response{Body: body}, nil
		}})
	}
	return rs
}

// schemaError is Glance's InvalidObject message for a value that breaks
// the image schema.
func schemaError(schema, reason, check, where string, value any) string {
	return fmt.Sprintf("Provided object does not match schema '%s': %s\n\nFailed validating '%s' in %s\n\nOn instance['%s']:\n    %s",
		schema, reason, check, where, strings.TrimPrefix(where, "schema['properties']['"), pyRepr(value))
}

// validateValue checks one value against a property of the image schema;
// it returns the failed check and Python jsonschema's reason.
func (p *propSpec) validateValue(v any) (check, reason string) {
	if p.object != nil {
		if _, ok := v.([]any); !ok {
			return "type", fmt.Sprintf("%s is not of type 'array'", pyRepr(v))
		}
		return "", ""
	}
	if !slices.ContainsFunc(p.types, func(t string) bool { return isType(v, t) }) {
		quoted := make([]string, len(p.types))
		for i, t := range p.types {
			quoted[i] = "'" + t + "'"
		}
		return "type", fmt.Sprintf("%s is not of type %s", pyRepr(v), strings.Join(quoted, ", "))
	}
	if p.enum != nil && !slices.ContainsFunc(p.enum, func(e any) bool { return e == v || e == nil && v == nil }) {
		return "enum", fmt.Sprintf("%s is not one of %s", pyRepr(v), pyRepr(p.enum))
	}
	if s, ok := v.(string); ok {
		if p.maxLength > 0 && len([]rune(s)) > p.maxLength {
			return "maxLength", fmt.Sprintf("%s is too long", pyRepr(v))
		}
		if p.re != nil && !p.re.MatchString(s) {
			return "pattern", fmt.Sprintf("%s does not match %s", pyRepr(v), pyRepr(p.pattern))
		}
	}
	if list, ok := v.([]any); ok && p.items != nil {
		for _, it := range list {
			if c, r := p.items.validateValue(it); c != "" {
				return c, r
			}
		}
	}
	return "", ""
}

func isType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		if _, err := n.Int64(); err == nil {
			return true
		}
		f, err := n.Float64()
		return err == nil && f == float64(int64(f))
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// validateImage checks a (partial) image document against the image
// schema: known properties against their definitions, others must be
// strings. The error is Glance's 400 message.
func (a *API) validateImage(doc map[string]any) error {
	specs := a.imageSpecs()
	for _, k := range sortedAnyKeys(doc) {
		v := doc[k]
		if p, ok := specs[k]; ok {
			if check, reason := p.validateValue(v); check != "" {
				return badRequest("%s", schemaError("image", reason, check, "schema['properties']['"+k+"']", v))
			}
			continue
		}
		if _, ok := v.(string); !ok {
			return badRequest("%s", fmt.Sprintf("Provided object does not match schema 'image': %s is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']\n\nOn instance['%s']:\n    %s",
				pyRepr(v), k, pyRepr(v)))
		}
	}
	return nil
}

func (a *API) imageSpecs() map[string]*propSpec {
	a.specOnce.Do(func() {
		a.specs = map[string]*propSpec{}
		for _, p := range a.imageProps() {
			a.specs[p.name] = p
		}
	})
	return a.specs
}

func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// pyRepr renders a JSON value as Python's repr does, for messages that
// quote jsonschema.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		q := "'"
		if strings.Contains(x, "'") && !strings.Contains(x, `"`) {
			q = `"`
		}
		var b strings.Builder
		b.WriteString(q)
		for _, r := range x {
			switch {
			case r == '\\':
				b.WriteString(`\\`)
			case string(r) == q:
				b.WriteString(`\` + q)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\t':
				b.WriteString(`\t`)
			case r == '\r':
				b.WriteString(`\r`)
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(&b, `\x%02x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteString(q)
		return b.String()
	case json.Number:
		return x.String()
	case int:
		return strconv.Itoa(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedAnyKeys(x) {
			parts = append(parts, pyRepr(k)+": "+pyRepr(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

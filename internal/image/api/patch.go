package api

import (
	"context"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// change is one parsed operation of an image PATCH.
type change struct {
	op    string   // add, replace, remove
	path  []string // the decoded JSON pointer
	value any
	draft int // 4 for the v2.0 media type, 10 for v2.1
}

var patchTypes = map[string]int{image.PatchContentTypeV20: 4, image.PatchContentType: 10}

var supportedOps = []string{"add", "remove", "replace"}

// pathDepth is how many pointer segments each operation takes on a
// property (locations take an index on add and remove).
func pathDepth(root, op string) int {
	if root == "locations" && op != "replace" {
		return 2
	}
	return 1
}

var (
	adjacentSlashes = regexp.MustCompile(`/\s*?/`)
	badTilde        = regexp.MustCompile(`~[^01]`)
)

// decodePointer is Glance's restricted JSON pointer parser.
func decodePointer(p string) ([]string, error) {
	switch {
	case !strings.HasPrefix(p, "/"):
		return nil, badRequest("Pointer `%s` does not start with \"/\".", p)
	case adjacentSlashes.MatchString(p[1:]):
		return nil, badRequest("Pointer `%s` contains adjacent \"/\".", p)
	case len(p) > 1 && strings.HasSuffix(p, "/"):
		return nil, badRequest("Pointer `%s` end with \"/\".", p)
	case strings.TrimSpace(p[1:]) == "/":
		return nil, badRequest("Pointer `%s` does not contains valid token.", p)
	case badTilde.MatchString(p) || strings.HasSuffix(p, "~"):
		return nil, badRequest("Pointer `%s` contains \"~\" not part of a recognized escape sequence.", p)
	}
	var out []string
	for _, part := range strings.Split(strings.TrimLeft(p, "/"), "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		out = append(out, strings.TrimSpace(part))
	}
	return out, nil
}

// parsePatch reads and validates a PATCH body.
func (a *API) parsePatch(r *rest.Request) ([]change, error) {
	ct := r.HTTP.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	draft, ok := patchTypes[mt]
	if !ok {
		f := unsupportedMedia(ct, "Image PATCH expects Content-Type one of: "+image.PatchContentTypeV20+", "+image.PatchContentType)
		return nil, f.WithHeader("Accept-Patch", image.PatchContentTypeV20+", "+image.PatchContentType)
	}
	raw, err := a.requireBody(r)
	if err != nil {
		return nil, err
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, badRequest("Request body must be a JSON array of operation objects.")
	}
	var out []change
	for _, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, badRequest("Operations must be JSON objects.")
		}
		c := change{draft: draft}
		var pointer string
		if draft == 10 {
			opv, ok := obj["op"]
			if !ok {
				return nil, badRequest("Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.")
			}
			c.op, _ = opv.(string)
			if !contains(supportedOps, c.op) {
				return nil, badRequest("Invalid operation: `%v`. It must be one of the following: add, remove, replace.", opv)
			}
			pv, ok := obj["path"]
			if !ok {
				return nil, badRequest("Unable to find 'path' in JSON Schema change")
			}
			pointer, _ = pv.(string)
		} else {
			for _, o := range supportedOps {
				if _, ok := obj[o]; ok {
					if c.op != "" {
						return nil, badRequest("Operation objects must contain only one member named \"add\", \"remove\", or \"replace\".")
					}
					c.op = o
				}
			}
			if c.op == "" {
				return nil, badRequest("Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".")
			}
			pointer, _ = obj[c.op].(string)
		}
		if c.path, err = decodePointer(pointer); err != nil {
			return nil, err
		}
		if len(c.path) != pathDepth(c.path[0], c.op) {
			return nil, badRequest("Invalid JSON pointer for this resource: '/%s'", strings.Join(c.path, "/"))
		}
		if c.op != "remove" {
			v, ok := obj["value"]
			if !ok {
				return nil, badRequest("Operation \"%s\" requires a member named \"value\".", c.op)
			}
			c.value = v
		}
		if err := a.validateChange(c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validateChange refuses read-only and reserved attributes and checks
// the new value against the image schema.
func (a *API) validateChange(c change) error {
	root := c.path[0]
	if readonlyOnUpdate[root] {
		return forbidden("Attribute '%s' is read-only.", root)
	}
	if reservedProps[root] || strings.HasPrefix(root, reservedNamespace) {
		return forbidden("Attribute '%s' is reserved.", root)
	}
	if c.op == "remove" {
		return nil
	}
	var partial map[string]any
	if len(c.path) == 1 {
		partial = map[string]any{root: c.value}
	} else if spec, ok := a.imageSpecs()[root]; ok && baseImageProps[root] && spec.types[0] == "array" {
		partial = map[string]any{root: []any{c.value}}
	}
	if partial != nil {
		return a.validateImage(partial)
	}
	return nil
}

func (a *API) updateImage(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("image_id")
	changes, err := a.parsePatch(r)
	if err != nil {
		return nil, err
	}
	who := r.Auth
	im, err := a.getImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return a.imageResponse(im, http.StatusOK), nil
	}
	admin := a.isAdmin(ctx, who)
	out, err := a.db.UpdateImage(ctx, id, func(cur *db.Image) error {
		for _, c := range changes {
			if err := a.applyChange(ctx, who, admin, cur, c); err != nil {
				return err
			}
		}
		return a.checkQuotas(cur)
	})
	if db.IsNotFound(err) {
		return nil, notFound("No image found with ID %s", id)
	}
	if err != nil {
		return nil, err
	}
	r.Log().InfoContext(ctx, "image updated", "image_id", id, "changes", len(changes))
	return a.imageResponse(out, http.StatusOK), nil
}

// applyChange performs one operation on the image, with the policy
// checks Glance makes for it.
func (a *API) applyChange(ctx context.Context, who *authn.Context, admin bool, im *db.Image, c change) error {
	root := c.path[0]
	if root == "locations" {
		rule := "set_image_location"
		if c.op == "remove" {
			rule = "delete_image_location"
		}
		if err := a.enforceImage(ctx, who, rule, im); err != nil {
			return err
		}
		verb := map[string]string{"add": "add", "replace": "update", "remove": "remove"}[c.op]
		if !a.opt.ShowMultipleLocations {
			return forbidden("It's not allowed to %s locations if locations are invisible.", verb)
		}
		return badRequest("Image locations are managed by tenku's file store and cannot be edited.")
	}
	if c.op == "replace" && root == "owner" && !admin {
		return detailed(http.StatusForbidden, "Owner can't be updated by non admin.")
	}
	// api_pol.update_property: visibility has its own policy, then modify_image.
	if root == "visibility" {
		v, _ := c.value.(string)
		if err := a.enforceVisibility(ctx, who, v, imageTarget(im, who)); err != nil {
			return err
		}
	}
	if err := a.enforceImage(ctx, who, "modify_image", im); err != nil {
		return err
	}
	isAttr := createAttributes[root] || root == "tags"
	switch c.op {
	case "remove":
		if isAttr {
			return detailed(http.StatusForbidden, "Property %s may not be removed.", root)
		}
		if _, ok := im.Properties[root]; !ok {
			return detailed(http.StatusConflict, "Property %s does not exist.", root)
		}
		delete(im.Properties, root)
		return nil
	case "add":
		if c.draft == 4 {
			if _, ok := im.Properties[root]; ok || isAttr {
				return detailed(http.StatusConflict, "Property %s already present.", root)
			}
		}
	case "replace":
		if !isAttr {
			if _, ok := im.Properties[root]; !ok {
				return detailed(http.StatusConflict, "Property %s does not exist.", root)
			}
		}
	}
	if !isAttr {
		s, _ := c.value.(string)
		if len(root) > 255 {
			return badRequest("Custom property should not be greater than 255 characters.")
		}
		if reservedExtra[root] {
			return forbidden("Attribute '%s' is reserved.", root)
		}
		im.Properties[root] = s
		return nil
	}
	return setAttribute(im, root, c.value)
}

// setAttribute sets a core attribute with the rules of Glance's domain
// model.
func setAttribute(im *db.Image, name string, v any) error {
	str, _ := v.(string)
	switch name {
	case "name":
		if v == nil {
			im.Name = nil
		} else {
			im.Name = &str
		}
	case "visibility":
		im.Visibility = image.Visibility(str)
	case "protected":
		im.Protected, _ = v.(bool)
	case "os_hidden":
		im.OSHidden, _ = v.(bool)
	case "owner":
		im.Owner = str
	case "disk_format", "container_format":
		if im.Status != image.StatusQueued && im.Status != image.StatusImporting {
			return forbidden("Attribute %s can be only replaced for a queued image.", name)
		}
		if name == "disk_format" {
			im.DiskFormat = str
		} else {
			im.ContainerFormat = str
		}
	case "min_ram", "min_disk":
		n, err := intParam(name, v)
		if err != nil {
			return err
		}
		if name == "min_ram" {
			im.MinRAM = n
		} else {
			im.MinDisk = n
		}
	case "tags":
		list, _ := v.([]any)
		im.Tags = im.Tags[:0]
		for _, t := range list {
			s, _ := t.(string)
			im.AddTag(s)
		}
	case "id", "status", "checksum", "size", "virtual_size", "created_at", "updated_at":
		return forbidden("Attribute '%s' is read-only.", name)
	default:
		return fault.Internal(nil)
	}
	return nil
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) imageRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2/images", Handler: a.listImages},
		{Method: "POST", Path: "/v2/images", Handler: a.createImage, Status: http.StatusCreated},
		{Method: "GET", Path: "/v2/images/{image_id}", Handler: a.showImage},
		{Method: "PATCH", Path: "/v2/images/{image_id}", Handler: a.updateImage},
		{Method: "DELETE", Path: "/v2/images/{image_id}", Handler: a.deleteImage, Status: http.StatusNoContent},
		{Method: "POST", Path: "/v2/images/{image_id}/actions/deactivate", Handler: a.deactivate, Status: http.StatusNoContent},
		{Method: "POST", Path: "/v2/images/{image_id}/actions/reactivate", Handler: a.reactivate, Status: http.StatusNoContent},
		{Method: "PUT", Path: "/v2/images/{image_id}/tags/{tag_value}", Handler: a.addTag, Status: http.StatusNoContent},
		{Method: "DELETE", Path: "/v2/images/{image_id}/tags/{tag_value}", Handler: a.deleteTag, Status: http.StatusNoContent},
		{Method: "GET", Path: "/v2/images/{image_id}/tasks", Handler: a.imageTasks},
	}
}

// projectOf is the caller's project (the owner Glance gives new images).
func projectOf(who *authn.Context) string {
	if who == nil {
		return ""
	}
	return who.ProjectID
}

// visible is Glance's is_image_visible: may the caller see the image at
// all (before any policy)?
func (a *API) visible(ctx context.Context, who *authn.Context, im *db.Image) (bool, error) {
	if a.isAdmin(ctx, who) || im.Owner == "" {
		return true, nil
	}
	switch im.Visibility {
	case image.VisibilityPublic, image.VisibilityCommunity:
		return true, nil
	}
	p := projectOf(who)
	if p == "" {
		return false, nil
	}
	if p == im.Owner {
		return true, nil
	}
	if im.Visibility == image.VisibilityShared {
		_, err := a.db.GetMember(ctx, im.ID, p)
		if err == nil {
			return true, nil
		}
		if !db.IsNotFound(err) {
			return false, err
		}
	}
	return false, nil
}

// findImage loads an image the caller may see; anything else is Glance's
// 404 "No image found with ID".
func (a *API) findImage(ctx context.Context, who *authn.Context, id string) (*db.Image, error) {
	im, err := a.db.GetImage(ctx, id)
	if db.IsNotFound(err) {
		return nil, notFound("No image found with ID %s", id)
	}
	if err != nil {
		return nil, err
	}
	ok, err := a.visible(ctx, who, im)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("No image found with ID %s", id)
	}
	return im, nil
}

// enforceImage is Glance's ImageAPIPolicy: a refused rule is a 404 when
// the caller may not even get the image, a 403 otherwise.
func (a *API) enforceImage(ctx context.Context, who *authn.Context, rule string, im *db.Image) error {
	t := imageTarget(im, who)
	if a.allowed(ctx, who, rule, t) {
		return nil
	}
	if rule == "get_image" || !a.allowed(ctx, who, "get_image", t) {
		return notFound("")
	}
	return policyForbidden(rule)
}

// getImage is findImage followed by the get_image policy.
func (a *API) getImage(ctx context.Context, who *authn.Context, id string) (*db.Image, error) {
	im, err := a.findImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if err := a.enforceImage(ctx, who, "get_image", im); err != nil {
		return nil, err
	}
	return im, nil
}

func (a *API) imageResponse(im *db.Image, status int) *rest.Response {
	return &rest.Response{Status: status, Body: a.appendImage(make([]byte, 0, 1024), im)}
}

func (a *API) showImage(ctx context.Context, r *rest.Request) (any, error) {
	if err := rejectBody(r); err != nil {
		return nil, err
	}
	im, err := a.getImage(ctx, r.Auth, r.Param("image_id"))
	if err != nil {
		return nil, err
	}
	return a.imageResponse(im, http.StatusOK), nil
}

// Attribute classes of create and update, as Glance's deserializer and
// image factory sort them.
var (
	disallowedOnCreate = []string{"direct_url", "self", "file", "schema", "stores"}
	readonlyOnCreate   = []string{"created_at", "updated_at", "status", "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size"}
	readonlyOnUpdate   = map[string]bool{"created_at": true, "updated_at": true, "status": true, "checksum": true, "size": true,
		"virtual_size": true, "direct_url": true, "self": true, "file": true, "schema": true, "id": true,
		"os_hash_algo": true, "os_hash_value": true}
	reservedProps    = map[string]bool{"location": true, "deleted": true, "deleted_at": true}
	reservedExtra    = map[string]bool{"owner": true, "locations": true, "deleted": true, "deleted_at": true, "direct_url": true, "self": true, "file": true, "schema": true}
	createAttributes = map[string]bool{"checksum": true, "created_at": true, "container_format": true, "disk_format": true, "id": true,
		"min_disk": true, "min_ram": true, "name": true, "size": true, "virtual_size": true, "status": true, "tags": true,
		"owner": true, "updated_at": true, "visibility": true, "protected": true, "os_hidden": true}
)

const reservedNamespace = "os_glance"

func (a *API) createImage(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := a.requireBody(r)
	if err != nil {
		return nil, err
	}
	body, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest("%s", "Provided object does not match schema 'image': "+pyRepr(raw)+" is not of type 'object'")
	}
	for _, k := range disallowedOnCreate {
		if _, ok := body[k]; ok {
			return nil, forbidden("Attribute '%s' is read-only.", k)
		}
	}
	if err := a.validateImage(body); err != nil {
		return nil, err
	}
	extra := map[string]string{}
	for k, v := range body {
		if createAttributes[k] {
			continue
		}
		if len(k) > 255 {
			return nil, badRequest("Custom property should not be greater than 255 characters.")
		}
		if reservedProps[k] || strings.HasPrefix(k, reservedNamespace) {
			return nil, detailed(http.StatusForbidden, "Attribute '%s' is reserved.", k)
		}
		if k == "locations" {
			continue // reserved below, after the policy checks, as Glance's factory does
		}
		s, _ := v.(string)
		extra[k] = s
	}

	who := r.Auth
	owner := projectOf(who)
	if v, ok := body["owner"]; ok {
		owner, _ = v.(string)
	}
	visibility := image.VisibilityShared
	if v, ok := body["visibility"].(string); ok {
		visibility = image.Visibility(v)
	}
	target := map[string]any{"project_id": nullStr(owner), "owner": nullStr(owner), "visibility": string(visibility)}
	if !a.allowed(ctx, who, "add_image", target) {
		if owner != projectOf(who) {
			return nil, detailed(http.StatusForbidden, "You are not permitted to create images owned by '%s'", owner)
		}
		return nil, policyForbidden("add_image")
	}
	if err := a.enforceVisibility(ctx, who, string(visibility), target); err != nil {
		return nil, err
	}
	if err := a.enforceLimits(ctx, projectOf(who), map[string]int64{image.QuotaImageCountTotal: 1}); err != nil {
		return nil, err
	}
	for _, k := range readonlyOnCreate {
		if _, ok := body[k]; ok {
			return nil, forbidden("Attribute '%s' is read-only.", k)
		}
	}
	if _, ok := body["locations"]; ok {
		return nil, forbidden("Attribute 'locations' is reserved.")
	}

	im := &db.Image{
		ID: uuid.NewString(), Status: image.StatusQueued, Visibility: visibility, Owner: owner,
		Properties: extra,
	}
	if v, ok := body["id"].(string); ok {
		im.ID = strings.ToLower(v)
	}
	if v, ok := body["name"].(string); ok {
		im.Name = &v
	}
	im.DiskFormat, _ = body["disk_format"].(string)
	im.ContainerFormat, _ = body["container_format"].(string)
	im.Protected, _ = body["protected"].(bool)
	im.OSHidden, _ = body["os_hidden"].(bool)
	for _, k := range []string{"min_ram", "min_disk"} {
		if v, ok := body[k]; ok {
			n, err := intParam(k, v)
			if err != nil {
				return nil, err
			}
			if k == "min_ram" {
				im.MinRAM = n
			} else {
				im.MinDisk = n
			}
		}
	}
	if tags, ok := body["tags"].([]any); ok {
		for _, t := range tags {
			s, _ := t.(string)
			im.AddTag(s)
		}
	}
	if err := a.checkQuotas(im); err != nil {
		return nil, err
	}
	if err := a.db.CreateImage(ctx, im); err != nil {
		if errors.Is(err, db.ErrDuplicate) {
			return nil, conflict("Image ID %s already exists!", im.ID)
		}
		return nil, err
	}
	r.Log().InfoContext(ctx, "image created", "image_id", im.ID, "owner", im.Owner, "status", im.Status)
	resp := a.imageResponse(im, http.StatusCreated)
	resp.Header = http.Header{}
	resp.Header.Set("Location", r.BaseURL()+"/v2/images/"+im.ID)
	if len(a.opt.EnabledImportMethods) > 0 {
		resp.Header.Set("OpenStack-image-import-methods", strings.Join(a.opt.EnabledImportMethods, ","))
	}
	return resp, nil
}

// intParam reads min_ram or min_disk: an integer that is not negative.
func intParam(name string, v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, badRequest("Invalid value '%v' for parameter '%s': Expected an integer", v, name)
	}
	i, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil {
			return 0, badRequest("Invalid value '%s' for parameter '%s': Expected an integer", n, name)
		}
		i = int64(f)
	}
	if i < 0 {
		return 0, badRequest("Invalid value '%d' for parameter '%s': Cannot be a negative value", i, name)
	}
	if i > 1<<31-1 {
		return 0, badRequest("Invalid value '%d' for parameter '%s': Value is too large", i, name)
	}
	return int(i), nil
}

// enforceVisibility checks the policy that setting a visibility needs.
func (a *API) enforceVisibility(ctx context.Context, who *authn.Context, visibility string, target map[string]any) error {
	rule := ""
	switch visibility {
	case "public":
		rule = "publicize_image"
	case "community":
		rule = "communitize_image"
	default:
		return nil
	}
	if !a.allowed(ctx, who, rule, target) {
		return policyForbidden(rule)
	}
	return nil
}

// checkQuotas enforces the per-image property and tag quotas.
func (a *API) checkQuotas(im *db.Image) error {
	if q := a.opt.ImagePropertyQuota; q >= 0 && len(im.Properties) > q {
		return tooLarge("The limit has been exceeded on the number of allowed image properties. Attempted: %d, Maximum: %d", len(im.Properties), q)
	}
	if q := a.opt.ImageTagQuota; q >= 0 && len(im.Tags) > q {
		return tooLarge("The limit has been exceeded on the number of allowed image tags. Attempted: %d, Maximum: %d", len(im.Tags), q)
	}
	return nil
}

var sortKeyValid = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range db.SortKeys {
		m[k] = true
	}
	return m
}()

var intColumns = map[string]bool{"size": true, "virtual_size": true, "min_disk": true, "min_ram": true}

func (a *API) listImages(ctx context.Context, r *rest.Request) (any, error) {
	params := r.HTTP.URL.Query()
	who := r.Auth
	q := db.Query{Caller: db.Caller{ProjectID: projectOf(who), Admin: a.isAdmin(ctx, who)}, MemberStatus: "accepted"}
	limit := a.opt.LimitParamDefault
	if s, ok := first(params, "limit"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, badRequest("limit param must be an integer")
		}
		if n < 0 {
			return nil, badRequest("limit param must be positive")
		}
		limit = n
	}
	limit = min(limit, a.opt.APILimitMax)
	q.Limit = limit
	q.Marker, _ = first(params, "marker")
	if s, ok := first(params, "member_status"); ok {
		if !slices.Contains([]string{"pending", "accepted", "rejected", "all"}, s) {
			return nil, badRequest("Invalid status: %s", s)
		}
		q.MemberStatus = s
	}
	for _, t := range params["tag"] {
		q.Tags = append(q.Tags, strings.TrimSpace(t))
	}
	sorts, err := sortParams(params)
	if err != nil {
		return nil, err
	}
	q.Sort = sorts
	if v, ok := first(params, "visibility"); ok && v != "" {
		if !slices.Contains([]string{"community", "public", "private", "shared", "all"}, v) {
			return nil, badRequest("Invalid visibility value: %s", v)
		}
		q.Visibility = v
	}
	if v, ok := first(params, "changes-since"); ok && v != "" {
		return nil, badRequest("The \"changes-since\" filter is no longer available on v2.")
	}
	hidden := "false"
	if v, ok := first(params, "os_hidden"); ok {
		hidden = strings.ToLower(v)
	}
	if hidden != "true" && hidden != "false" {
		return nil, badRequest("Invalid value '%s' for 'os_hidden' filter. Valid values are 'true' or 'false'.", hidden)
	}
	q.Conds = append(q.Conds, db.Cond{Column: "os_hidden", Op: "eq", Values: []any{hidden == "true"}})
	if v, ok := first(params, "protected"); ok {
		if v != "true" && v != "false" {
			return nil, badRequest("Invalid value '%s' for 'protected' filter. Valid values are 'true' or 'false'.", v)
		}
		q.Conds = append(q.Conds, db.Cond{Column: "protected", Op: "eq", Values: []any{v == "true"}})
	}
	for k, vs := range params {
		switch k {
		case "limit", "marker", "member_status", "tag", "sort", "sort_key", "sort_dir", "visibility", "changes-since", "os_hidden", "protected":
			continue
		}
		v := vs[len(vs)-1]
		if err := addFilter(&q, k, v); err != nil {
			return nil, err
		}
	}
	if !a.allowed(ctx, who, "get_images", map[string]any{"project_id": projectOf(who)}) {
		return nil, policyForbidden("get_images")
	}
	var ims []*db.Image
	if limit > 0 {
		ims, err = a.db.ListImages(ctx, q)
		if db.IsNotFound(err) {
			return nil, badRequest("No image found with ID %s", q.Marker)
		}
		if err != nil {
			return nil, err
		}
	}
	fetched := len(ims)
	visible := ims[:0]
	fast := a.getImageIsDefault()
	for _, im := range ims {
		if fast || a.allowed(ctx, who, "get_image", imageTarget(im, who)) {
			visible = append(visible, im)
		}
	}
	if fast && !a.allowed(ctx, who, "get_image", map[string]any{"project_id": projectOf(who), "visibility": "public"}) {
		// The default rule lets a reader see every image the database
		// returned; without the reader role, none.
		visible = visible[:0]
	}
	b := make([]byte, 0, 256+len(visible)*900)
	b = append(b, `{"images":[`...)
	for i, im := range visible {
		if i > 0 {
			b = append(b, ',')
		}
		b = a.appendImage(b, im)
	}
	b = append(b, `],"first":`...)
	query := url.Values{}
	for k, vs := range params {
		if k != "marker" {
			query[k] = vs
		}
	}
	firstURL := "/v2/images"
	if len(query) > 0 {
		firstURL += "?" + query.Encode()
	}
	b = rest.AppendString(b, firstURL)
	if len(visible) > 0 && fetched == limit {
		query.Set("marker", visible[len(visible)-1].ID)
		b = append(b, `,"next":`...)
		b = rest.AppendString(b, "/v2/images?"+query.Encode())
	}
	b = append(b, `,"schema":"/v2/schemas/images"}`...)
	return &rest.Response{Body: b}, nil
}

func first(v url.Values, k string) (string, bool) {
	vs, ok := v[k]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// sortParams reads sort=k1:dir,k2 or sort_key=...&sort_dir=..., as Glance.
func sortParams(params url.Values) ([]db.Sort, error) {
	var keys []string
	var dirs []string
	check := func(k string) error {
		if !sortKeyValid[k] {
			return badRequest("Invalid sort key: %s. It must be one of the following: %s.", k, strings.Join(db.SortKeys, ", "))
		}
		return nil
	}
	checkDir := func(d string) error {
		if d != "asc" && d != "desc" {
			return badRequest("Invalid sort direction: %s", d)
		}
		return nil
	}
	if s, ok := first(params, "sort"); ok {
		if _, k := params["sort_key"]; k {
			return nil, badRequest("Old and new sorting syntax cannot be combined")
		}
		if _, d := params["sort_dir"]; d {
			return nil, badRequest("Old and new sorting syntax cannot be combined")
		}
		for _, part := range strings.Split(strings.TrimSpace(s), ",") {
			k, d, _ := strings.Cut(part, ":")
			k, d = strings.TrimSpace(k), strings.TrimSpace(d)
			if d == "" {
				d = "desc"
			}
			if err := check(k); err != nil {
				return nil, err
			}
			if err := checkDir(d); err != nil {
				return nil, err
			}
			keys, dirs = append(keys, k), append(dirs, d)
		}
	} else {
		for _, k := range params["sort_key"] {
			k = strings.TrimSpace(k)
			if err := check(k); err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
		for _, d := range params["sort_dir"] {
			d = strings.TrimSpace(d)
			if err := checkDir(d); err != nil {
				return nil, err
			}
			dirs = append(dirs, d)
		}
		if len(dirs) > 1 && len(dirs) != len(keys) {
			return nil, badRequest("Number of sort dirs does not match the number of sort keys")
		}
	}
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	if len(dirs) == 0 {
		dirs = []string{"desc"}
	}
	out := make([]db.Sort, len(keys))
	for i, k := range keys {
		d := dirs[0]
		if len(dirs) == len(keys) {
			d = dirs[i]
		}
		out[i] = db.Sort{Key: k, Desc: d == "desc"}
	}
	return out, nil
}

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)

// splitFilterOp is Glance's split_filter_op: "op:value", or an ISO 8601
// time (which contains colons) or a plain value with op eq.
func splitFilterOp(v string) (string, string) {
	left, right, ok := strings.Cut(v, ":")
	if !ok {
		return "eq", v
	}
	if isoDate.MatchString(v) {
		if _, err := parseISOTime(v); err == nil {
			return "eq", v
		}
	}
	return left, right
}

func parseISOTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not an ISO 8601 time")
}

// splitQuoted splits an in: list at commas, honouring double quotes.
func splitQuoted(s string) ([]string, error) {
	if strings.Count(s, `"`)%2 != 0 {
		return nil, badRequest("Invalid filter value %s. The quote is not closed.", s)
	}
	var out []string
	for len(s) > 0 {
		if s[0] == '"' {
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			out = append(out, strings.ReplaceAll(s[1:min(end, len(s))], `\"`, `"`))
			s = s[min(end+1, len(s)):]
			s = strings.TrimPrefix(s, ",")
			continue
		}
		part, rest, _ := strings.Cut(s, ",")
		out = append(out, part)
		s = rest
	}
	return out, nil
}

// addFilter turns one query parameter into a condition of the query.
func addFilter(q *db.Query, k, v string) error {
	base := k
	isRange := false
	if strings.HasSuffix(k, "_min") || strings.HasSuffix(k, "_max") {
		base, isRange = k[:len(k)-4], true
	}
	if isRange && db.IsColumn(base) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return badRequest("Unable to filter on a range with a non-numeric value.")
		}
		op := "gte"
		if strings.HasSuffix(k, "_max") {
			op = "lte"
		}
		q.Conds = append(q.Conds, db.Cond{Column: base, Op: op, Values: []any{n}})
		return nil
	}
	switch k {
	case "created_at", "updated_at":
		op, val := splitFilterOp(v)
		t, err := parseISOTime(val)
		if err != nil {
			return badRequest("Bad \"%s\" query filter format. Use ISO 8601 DateTime notation.", k)
		}
		if !slices.Contains([]string{"eq", "neq", "gt", "gte", "lt", "lte"}, op) {
			return badRequest("Unable to filter by unknown operator '%s'.", op)
		}
		q.Conds = append(q.Conds, db.TimeCond(k, op, t))
		return nil
	case "name", "id", "status", "container_format", "disk_format":
		op, val := splitFilterOp(v)
		switch op {
		case "in":
			vals, err := splitQuoted(val)
			if err != nil {
				return err
			}
			args := make([]any, len(vals))
			for i, s := range vals {
				args[i] = s
			}
			q.Conds = append(q.Conds, db.Cond{Column: k, Op: "in", Values: args})
		case "eq":
			q.Conds = append(q.Conds, db.Cond{Column: k, Op: "eq", Values: []any{val}})
		default:
			return badRequest("Unable to filter by unknown operator '%s'.", op)
		}
		return nil
	}
	if db.IsColumn(k) {
		var val any = v
		if intColumns[k] {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return badRequest("Invalid value '%s' for parameter '%s'", v, k)
			}
			val = n
		}
		q.Conds = append(q.Conds, db.Cond{Column: k, Op: "eq", Values: []any{val}})
		return nil
	}
	if q.Properties == nil {
		q.Properties = map[string]string{}
	}
	q.Properties[k] = v
	return nil
}

func (a *API) deleteImage(ctx context.Context, r *rest.Request) (any, error) {
	if err := rejectBody(r); err != nil {
		return nil, err
	}
	id := r.Param("image_id")
	im, err := a.findImage(ctx, r.Auth, id)
	if fault.IsNotFound(err) {
		return nil, notFound("Failed to find image %s to delete", id)
	}
	if err != nil {
		return nil, err
	}
	if err := a.enforceImage(ctx, r.Auth, "delete_image", im); err != nil {
		return nil, err
	}
	old, err := a.db.DeleteImage(ctx, id, func(cur *db.Image) error {
		if cur.Protected {
			return forbidden("Image %s is protected and cannot be deleted.", id)
		}
		return nil
	})
	if db.IsNotFound(err) {
		return nil, notFound("Failed to find image %s to delete", id)
	}
	if err != nil {
		return nil, err
	}
	a.removeData(ctx, old)
	r.Log().InfoContext(ctx, "image deleted", "image_id", id, "status_was", old.Status)
	return nil, nil
}

// removeData removes an image's data and any staged data; failures are
// logged (the sweep at start-up removes what is left).
func (a *API) removeData(ctx context.Context, im *db.Image) {
	if im.Location != "" {
		if err := a.data.Delete(im.Location); err != nil {
			a.log.WarnContext(ctx, "could not remove image data", "image_id", im.ID, "err", err)
		}
	}
	if err := a.stage.Delete(a.stage.Location(im.ID)); err != nil {
		a.log.WarnContext(ctx, "could not remove staged data", "image_id", im.ID, "err", err)
	}
	if a.cache != nil {
		a.cache.remove(im.ID)
		a.cache.unqueue(im.ID)
	}
}

func (a *API) deactivate(ctx context.Context, r *rest.Request) (any, error) {
	return a.activation(ctx, r, "deactivate", image.StatusActive, image.StatusDeactivated)
}

func (a *API) reactivate(ctx context.Context, r *rest.Request) (any, error) {
	return a.activation(ctx, r, "reactivate", image.StatusDeactivated, image.StatusActive)
}

// activation moves an image between active and deactivated; asking for
// the state it is already in is a no-op, as in Glance.
func (a *API) activation(ctx context.Context, r *rest.Request, rule string, from, to image.Status) (any, error) {
	id := r.Param("image_id")
	im, err := a.getImage(ctx, r.Auth, id)
	if err != nil {
		return nil, err
	}
	if err := a.enforceImage(ctx, r.Auth, rule, im); err != nil {
		return nil, err
	}
	_, err = a.db.UpdateImage(ctx, id, func(cur *db.Image) error {
		switch cur.Status {
		case to:
			return errNoChange
		case from:
			cur.Status = to
			return nil
		}
		return forbidden("Not allowed to %s image in status '%s'", rule, cur.Status)
	})
	if errors.Is(err, errNoChange) {
		return nil, nil
	}
	if db.IsNotFound(err) {
		return nil, notFound("No image found with ID %s", id)
	}
	if err != nil {
		return nil, err
	}
	r.Log().InfoContext(ctx, "image "+rule+"d", "image_id", id, "status", to)
	return nil, nil
}

// errNoChange aborts an update that has nothing to do.
var errNoChange = errors.New("no change")

var tagSpec = &propSpec{types: []string{"string"}, maxLength: 255}

func (a *API) addTag(ctx context.Context, r *rest.Request) (any, error) {
	id, tag := r.Param("image_id"), r.Param("tag_value")
	if check, reason := tagSpec.validateValue(tag); check != "" {
		return nil, badRequest("%s", schemaError("image", reason, check, "schema['properties']['tags']['items']", tag))
	}
	im, err := a.findImage(ctx, r.Auth, id)
	if err != nil {
		return nil, notFound("Image %s not found.", id)
	}
	if err := a.enforceImage(ctx, r.Auth, "get_image", im); err != nil {
		return nil, err
	}
	if err := a.enforceImage(ctx, r.Auth, "modify_image", im); err != nil {
		return nil, err
	}
	_, err = a.db.UpdateImage(ctx, id, func(cur *db.Image) error {
		if cur.HasTag(tag) {
			return errNoChange
		}
		cur.AddTag(tag)
		if q := a.opt.ImageTagQuota; q >= 0 && len(cur.Tags) > q {
			return tooLarge("Image tag limit exceeded for image %s: The limit has been exceeded on the number of allowed image tags. Attempted: %d, Maximum: %d:", id, len(cur.Tags), q)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		if db.IsNotFound(err) {
			return nil, notFound("Image %s not found.", id)
		}
		return nil, err
	}
	return nil, nil
}

func (a *API) deleteTag(ctx context.Context, r *rest.Request) (any, error) {
	id, tag := r.Param("image_id"), r.Param("tag_value")
	im, err := a.findImage(ctx, r.Auth, id)
	if err != nil {
		return nil, notFound("Image %s not found.", id)
	}
	if err := a.enforceImage(ctx, r.Auth, "get_image", im); err != nil {
		return nil, err
	}
	if err := a.enforceImage(ctx, r.Auth, "modify_image", im); err != nil {
		return nil, err
	}
	_, err = a.db.UpdateImage(ctx, id, func(cur *db.Image) error {
		if !cur.RemoveTag(tag) {
			return notFound("")
		}
		return nil
	})
	if db.IsNotFound(err) {
		return nil, notFound("Image %s not found.", id)
	}
	return nil, err
}

func (a *API) imageTasks(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("image_id")
	im, err := a.findImage(ctx, r.Auth, id)
	if err != nil {
		return nil, notFound("")
	}
	if err := a.enforceImage(ctx, r.Auth, "get_image", im); err != nil {
		return nil, notFound("")
	}
	ts, err := a.db.TasksOfImage(ctx, id)
	if err != nil {
		return nil, err
	}
	out := image.TaskList{Tasks: []image.Task{}}
	for _, t := range ts {
		out.Tasks = append(out.Tasks, taskView(t))
	}
	return out, nil
}

func taskView(t *db.Task) image.Task {
	v := image.Task{ID: t.ID, Type: t.Type, Status: t.Status, Owner: t.Owner, Input: t.Input, Result: t.Result,
		Message: t.Message, ImageID: t.ImageID, RequestID: t.RequestID, UserID: t.UserID,
		CreatedAt: isotime(t.CreatedAt), UpdatedAt: isotime(t.UpdatedAt)}
	if !t.ExpiresAt.IsZero() {
		s := isotime(t.ExpiresAt)
		v.ExpiresAt = &s
	}
	return v
}

// requestID returns the request id of ctx, for task records.
func requestID(ctx context.Context) string { return logging.RequestID(ctx) }

// asFault reports whether err is already an API fault.
func asFault(err error) bool {
	var f *fault.Error
	return errors.As(err, &f)
}

var _ = fmt.Sprint

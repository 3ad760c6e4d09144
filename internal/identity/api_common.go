package identity

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// body reads the request body and returns the object under key ("user",
// "project", ...), after the route's schema accepted it. A missing or
// non-object member is a 400, as Keystone's validation reports it.
func body(r *rest.Request, key string) (map[string]any, map[string]any, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, nil, err
	}
	var top map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil || top == nil {
		return nil, nil, fault.BadRequest("Malformed request body: the body must be a JSON object.").WithType("ValidationError")
	}
	obj, ok := top[key].(map[string]any)
	if !ok {
		return nil, nil, fault.BadRequest("Expecting to find %s in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.", key).WithType("ValidationError")
	}
	return obj, top, nil
}

// jsonDecode decodes a body already checked by the route's schema.
func jsonDecode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fault.BadRequest("Malformed request body: %v", err).WithType("ValidationError")
	}
	return nil
}

// intOf reads an integral JSON number (1 or 1.0).
func intOf(v any) (int, bool) {
	switch x := plain(v).(type) {
	case int64:
		return int(x), x == int64(int(x))
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	}
	return 0, false
}

// str returns a string member ("" when absent or null).
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// has reports whether the member is present (even as null).
func has(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// boolean returns a boolean member, or def.
func boolean(m map[string]any, k string, def bool) bool {
	if b, ok := m[k].(bool); ok {
		return b
	}
	return def
}

// extraOf returns the members that are not among known: Keystone keeps them
// as free-form attributes.
func extraOf(m map[string]any, known ...string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		skip := false
		for _, n := range known {
			if k == n {
				skip = true
				break
			}
		}
		if !skip {
			out[k] = plain(v)
		}
	}
	return out
}

// plain turns json.Number back into int64 or float64 for storage.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

// mergeExtra applies an update's free-form members: null removes one.
func mergeExtra(dst map[string]any, upd map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range upd {
		if v == nil {
			delete(dst, k)
			continue
		}
		dst[k] = v
	}
	return dst
}

// queryBool is Keystone's reading of a boolean query value.
func queryBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "0", "false", "f", "no", "n", "off":
		return false
	}
	return true
}

// filterSet is a list's query filters: exact and Keystone's inexact ones
// (name__contains, name__icontains, __startswith, __endswith and their i-).
type filterSet struct {
	checks []func(get func(string) (string, bool)) bool
}

func newFilters(q url.Values, names ...string) filterSet {
	var fs filterSet
	for key, vals := range q {
		if len(vals) == 0 {
			continue
		}
		name, op, _ := strings.Cut(key, "__")
		known := false
		for _, n := range names {
			if n == name {
				known = true
			}
		}
		if !known {
			continue
		}
		want := vals[len(vals)-1]
		attr, o := name, op
		fs.checks = append(fs.checks, func(get func(string) (string, bool)) bool {
			got, ok := get(attr)
			if !ok {
				return false
			}
			switch o {
			case "":
				if attr == "enabled" || strings.HasPrefix(attr, "is_") {
					return (got == "true") == queryBool(want)
				}
				return got == want
			case "contains":
				return strings.Contains(got, want)
			case "icontains":
				return strings.Contains(strings.ToLower(got), strings.ToLower(want))
			case "startswith":
				return strings.HasPrefix(got, want)
			case "istartswith":
				return strings.HasPrefix(strings.ToLower(got), strings.ToLower(want))
			case "endswith":
				return strings.HasSuffix(got, want)
			case "iendswith":
				return strings.HasSuffix(strings.ToLower(got), strings.ToLower(want))
			case "equals":
				return got == want
			case "iequals":
				return strings.EqualFold(got, want)
			}
			return true
		})
	}
	return fs
}

func (fs filterSet) match(get func(string) (string, bool)) bool {
	for _, c := range fs.checks {
		if !c(get) {
			return false
		}
	}
	return true
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// listLimit applies [DEFAULT] list_limit (or a section's): the list is cut and
// marked truncated, as Keystone does.
func listResponse(key string, items []any, self string, limit int) map[string]any {
	out := map[string]any{key: items, "links": collectionLinks(self)}
	if limit > 0 && len(items) > limit {
		out[key] = items[:limit]
		out["truncated"] = true
	}
	return out
}

func (s *Service) limit(section int) int {
	if section > 0 {
		return section
	}
	return s.cfg.Default.ListLimit
}

// selfURL is the request's own URL as a link.
func (s *Service) selfURL(r *rest.Request) string {
	u := s.baseURL(r) + r.HTTP.URL.Path
	if r.HTTP.URL.RawQuery != "" {
		u += "?" + r.HTTP.URL.RawQuery
	}
	return u
}

// parseTime reads Keystone's time formats (ISO 8601, with or without zone
// and fraction); the result is UTC.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999Z0700", "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fault.BadRequest("Invalid input: %q is not an ISO 8601 time.", s).WithType("ValidationError")
}

// forbidden is Keystone's ForbiddenNotSecurity.
func forbidden(format string, args ...any) *fault.Error {
	return fault.Forbidden(format, args...).WithType("ForbiddenNotSecurity")
}

// caller returns the request's authenticated context.
func caller(ctx context.Context, r *rest.Request) *authn.Context {
	if r.Auth != nil {
		return r.Auth
	}
	return authn.From(ctx)
}

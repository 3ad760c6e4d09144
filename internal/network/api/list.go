package api

import (
	"cmp"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/network/plugin"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// query is a parsed list request.
type query struct {
	filters []nstore.Filter
	fields  rest.Fields
	sorts   []sortKey
	limit   int
	marker  string
	reverse bool
}

type sortKey struct {
	name string
	asc  bool
}

var reservedParams = map[string]bool{"fields": true, "sort_key": true, "sort_dir": true, "limit": true, "marker": true, "page_reverse": true}

// parseQuery reads filters, fields, sorting and pagination as Neutron does.
func (a *API) parseQuery(r *rest.Request, res *resource) (*query, error) {
	qv := r.HTTP.URL.Query()
	q := &query{fields: rest.ParseFields(r)}
	var invalid []string
	keys := make([]string, 0, len(qv))
	for k := range qv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	tenant, project := qv["tenant_id"], qv["project_id"]
	if len(tenant) > 0 && len(project) > 0 {
		return nil, fault.BadRequest("Both tenant_id and project_id passed as filters.").WithType("TenantIdProjectIdFilterConflict")
	}
	for _, k := range keys {
		if reservedParams[k] {
			continue
		}
		var vals []string
		for _, v := range qv[k] {
			if v != "" {
				vals = append(vals, v)
			}
		}
		switch k {
		case "tags", "tags-any", "not-tags", "not-tags-any":
			var tags []any
			for _, v := range vals {
				for _, t := range strings.Split(v, ",") {
					if t != "" {
						tags = append(tags, t)
					}
				}
			}
			if len(tags) > 0 {
				q.filters = append(q.filters, nstore.Filter{Field: k, Values: tags})
			}
			continue
		}
		if res.name == "port" && k == "fixed_ips" {
			byKey := map[string][]any{}
			for _, v := range vals {
				fk, fv, ok := strings.Cut(v, "=")
				if !ok || fk != "ip_address" && fk != "subnet_id" && fk != "ip_address_substr" {
					return nil, fault.BadRequest("Invalid fixed_ips filter: %s", v).WithType("HTTPBadRequest")
				}
				byKey[fk] = append(byKey[fk], fv)
			}
			for _, fk := range []string{"ip_address", "subnet_id", "ip_address_substr"} {
				if len(byKey[fk]) > 0 {
					q.filters = append(q.filters, nstore.Filter{Field: "fixed_ips." + fk, Values: byKey[fk]})
				}
			}
			continue
		}
		kd, ok := res.filters[k]
		if !ok {
			invalid = append(invalid, k)
			continue
		}
		if len(vals) == 0 {
			continue
		}
		f := nstore.Filter{Field: k}
		for _, v := range vals {
			switch kd {
			case kBool:
				bv, ok := parseBool(v)
				if !ok {
					return nil, plugin.BadAttr(k, "'%s' cannot be converted to boolean", v)
				}
				f.Values = append(f.Values, bv)
			case kInt:
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, plugin.BadAttr(k, "'%s' is not an integer", v)
				}
				f.Values = append(f.Values, n)
			default:
				f.Values = append(f.Values, v)
			}
		}
		q.filters = append(q.filters, f)
	}
	if len(invalid) > 0 {
		return nil, fault.BadRequest("%s is invalid attribute for filtering", pyStrList(invalid)).WithType("HTTPBadRequest")
	}
	keysS, dirs := nonEmpty(qv["sort_key"]), nonEmpty(qv["sort_dir"])
	if len(keysS) != len(dirs) {
		return nil, fault.BadRequest("The number of sort_keys and sort_dirs must be same").WithType("HTTPBadRequest")
	}
	var badKeys, badDirs []string
	for i, k := range keysS {
		if !slices.Contains(res.sorts, k) {
			badKeys = append(badKeys, k)
		}
		if dirs[i] != "asc" && dirs[i] != "desc" {
			badDirs = append(badDirs, dirs[i])
		}
		q.sorts = append(q.sorts, sortKey{k, dirs[i] == "asc"})
	}
	if len(badKeys) > 0 {
		return nil, fault.BadRequest("%s is invalid attribute for sort_keys", pyStrList(badKeys)).WithType("HTTPBadRequest")
	}
	if len(badDirs) > 0 {
		return nil, fault.BadRequest("%s is invalid value for sort_dirs, valid value is 'asc' and 'desc'", pyStrList(badDirs)).WithType("HTTPBadRequest")
	}
	if s := qv.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, plugin.BadRequest("limit", "Limit must be an integer 0 or greater and not '%s'", s)
		}
		q.limit = n
	}
	if a.opt.PaginationMaxLimit > 0 && (q.limit == 0 || q.limit > a.opt.PaginationMaxLimit) {
		q.limit = a.opt.PaginationMaxLimit
	}
	q.marker = qv.Get("marker")
	q.reverse = strings.EqualFold(qv.Get("page_reverse"), "true")
	return q, nil
}

func nonEmpty(l []string) []string {
	var out []string
	for _, s := range l {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func pyStrList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// item is a resource ready to encode: its value and the attributes policy hides.
type item struct {
	v    reflect.Value
	id   string
	hide []string
}

func compareValues(a, b reflect.Value) int {
	for a.Kind() == reflect.Pointer {
		if a.IsNil() || b.IsNil() {
			return cmp.Compare(boolInt(!a.IsNil()), boolInt(!b.IsNil()))
		}
		a, b = a.Elem(), b.Elem()
	}
	switch a.Kind() {
	case reflect.String:
		return cmp.Compare(a.String(), b.String())
	case reflect.Bool:
		return cmp.Compare(boolInt(a.Bool()), boolInt(b.Bool()))
	case reflect.Int, reflect.Int64, reflect.Int32:
		return cmp.Compare(a.Int(), b.Int())
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// page sorts and cuts items as Neutron's emulated pagination does, and
// returns the page with its links.
func (a *API) page(r *rest.Request, q *query, items []item) ([]item, []map[string]string) {
	sorts := q.sorts
	if q.limit > 0 && !slices.ContainsFunc(sorts, func(s sortKey) bool { return s.name == "id" }) {
		sorts = append(slices.Clone(sorts), sortKey{"id", true})
	}
	if len(sorts) > 0 && len(items) > 1 {
		enc := rest.EncoderFor(items[0].v.Type())
		slices.SortStableFunc(items, func(x, y item) int {
			for _, s := range sorts {
				xv, ok1 := enc.FieldValue(x.v, s.name)
				yv, ok2 := enc.FieldValue(y.v, s.name)
				if !ok1 || !ok2 {
					continue
				}
				if c := compareValues(xv, yv); c != 0 {
					if !s.asc {
						return -c
					}
					return c
				}
			}
			return 0
		})
	}
	if q.limit == 0 {
		return items, nil
	}
	i := 0
	if q.marker != "" {
		i = slices.IndexFunc(items, func(it item) bool { return it.id == q.marker })
		if i < 0 {
			return nil, a.links(r, q, nil)
		}
	} else if q.reverse {
		i = len(items)
	}
	var out []item
	if q.reverse {
		out = items[max(i-q.limit, 0):i]
	} else {
		if q.marker != "" {
			i++
		}
		out = items[i:min(i+q.limit, len(items))]
	}
	return out, a.links(r, q, out)
}

func (a *API) links(r *rest.Request, q *query, page []item) []map[string]string {
	base := a.baseURL(r) + r.HTTP.URL.Path
	var links []map[string]string
	mk := func(marker string, reverse bool) string {
		v := r.HTTP.URL.Query()
		v.Del("marker")
		v.Del("page_reverse")
		if marker != "" {
			v.Set("marker", marker)
		}
		if reverse {
			v.Set("page_reverse", "True")
		}
		return base + "?" + v.Encode()
	}
	if !(len(page) < q.limit && !q.reverse) {
		m := ""
		if len(page) > 0 {
			m = page[len(page)-1].id
		}
		links = append(links, map[string]string{"rel": "next", "href": mk(m, false)})
	}
	if !(len(page) < q.limit && q.reverse) {
		m := ""
		if len(page) > 0 {
			m = page[0].id
		}
		links = append(links, map[string]string{"rel": "previous", "href": mk(m, true)})
	}
	return links
}

// writeList encodes {"<collection>": [...], "<collection>_links": [...]}.
func writeList(collection string, items []item, fields rest.Fields, links []map[string]string) *rest.Response {
	est := 256
	if len(items) > 0 {
		one := rest.EncoderFor(items[0].v.Type()).Append(nil, items[0].v, fields, items[0].hide)
		est += (len(one) + len(one)/4) * len(items)
	}
	b := make([]byte, 0, est)
	b = append(b, '{')
	b = rest.AppendString(b, collection)
	b = append(b, ':', '[')
	var enc *rest.StructEncoder
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		if enc == nil {
			enc = rest.EncoderFor(it.v.Type())
		}
		b = enc.Append(b, it.v, fields, it.hide)
	}
	b = append(b, ']')
	if len(links) > 0 {
		b = append(b, ',')
		b = rest.AppendString(b, collection+"_links")
		b = append(b, ':', '[')
		for i, l := range links {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"rel":`...)
			b = rest.AppendString(b, l["rel"])
			b = append(b, `,"href":`...)
			b = rest.AppendString(b, l["href"])
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	return &rest.Response{Body: b}
}

// writeOne encodes {"<name>": {...}}.
func writeOne(name string, v any, fields rest.Fields, hide []string, status int) *rest.Response {
	rv := reflect.Indirect(reflect.ValueOf(v))
	b := make([]byte, 0, 1024)
	b = append(b, '{')
	b = rest.AppendString(b, name)
	b = append(b, ':')
	b = rest.EncoderFor(rv.Type()).Append(b, rv, fields, hide)
	b = append(b, '}')
	return &rest.Response{Status: status, Body: b}
}

// writeMany encodes a bulk create answer.
func writeMany(collection string, vs []any, hides [][]string) *rest.Response {
	items := make([]item, len(vs))
	for i, v := range vs {
		items[i] = item{v: reflect.Indirect(reflect.ValueOf(v)), hide: hides[i]}
	}
	resp := writeList(collection, items, nil, nil)
	resp.Status = 201
	return resp
}

func (a *API) baseURL(r *rest.Request) string {
	if a.opt.PublicURL != "" {
		if u, err := url.Parse(a.opt.PublicURL); err == nil && r.HTTP.Host == u.Host {
			return strings.TrimSuffix(a.opt.PublicURL, "/")
		}
	}
	return r.BaseURL()
}

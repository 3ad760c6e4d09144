package rest

import (
	"net/url"
	"strconv"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Page is a pagination request: at most Limit items after the one named Marker.
type Page struct {
	Limit  int
	Marker string
}

// Page reads limit and marker from the query. A missing limit is def; a limit
// above max is max (max <= 0: no cap); a negative or non-numeric limit is a 400.
func (r *Request) Page(def, max int) (Page, error) {
	q := r.HTTP.URL.Query()
	p := Page{Limit: def, Marker: q.Get("marker")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, fault.BadRequest("limit must be a non-negative integer, got %q", s)
		}
		p.Limit = n
	}
	if max > 0 && (p.Limit > max || p.Limit == 0 && def == 0) {
		p.Limit = max
	}
	return p, nil
}

// NextURL returns the request's own URL with marker set to the given value, for
// "next" links: base is the public root of the service (BaseURL or a configured
// endpoint), and the query keeps every other parameter.
func (r *Request) NextURL(base, marker string) string {
	q := r.HTTP.URL.Query()
	q.Set("marker", marker)
	u := url.URL{Path: r.HTTP.URL.Path, RawQuery: q.Encode()}
	return base + u.String()
}

// PageOf cuts items to a page: it skips to just after the item whose id is the
// marker (a 400 when no item has it, so callers may map it to their 404/400) and
// keeps at most limit items. more reports whether items remain after the page.
func PageOf[T any](items []T, p Page, id func(T) string) (page []T, more bool, err error) {
	start := 0
	if p.Marker != "" {
		start = -1
		for i, it := range items {
			if id(it) == p.Marker {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, false, fault.BadRequest("marker [%s] not found", p.Marker)
		}
	}
	items = items[start:]
	if p.Limit > 0 && len(items) > p.Limit {
		return items[:p.Limit], true, nil
	}
	return items, false, nil
}

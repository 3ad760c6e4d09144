package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// Lists are paged as Horizon pages them: page_size rows at a time
// (API_RESULT_PAGE_SIZE), "Next" asks the API for the rows after the last one
// shown (?marker=ID), "Prev" for the rows before the first one shown
// (?prev_marker=ID), which is the same API query with every sort direction
// reversed. The dashboard asks for one row more than it shows to know whether
// there is a page beyond. A page thus costs one bounded API call whatever
// the project's size.

// pager is the place of one list page and its links.
type pager struct {
	Limit      int
	Marker     string // the page starts after this row
	PrevMarker string // the page ends before this row
	NextURL    string // "" when there is no next page
	PrevURL    string // "" on the first page
	self       url.URL
}

// newPager reads ?marker= or ?prev_marker= of a list page.
func (d *Dashboard) newPager(r *http.Request) *pager {
	q := r.URL.Query()
	pg := &pager{Limit: d.cfg.PageSize, Marker: q.Get("marker"), PrevMarker: q.Get("prev_marker"), self: *r.URL}
	if pg.Limit <= 0 {
		pg.Limit = 20
	}
	if pg.PrevMarker != "" {
		pg.Marker = ""
	}
	return pg
}

// reversed reports whether the page is read backwards (a "Prev" link).
func (pg *pager) reversed() bool { return pg.PrevMarker != "" }

// query returns the API's paging parameters: limit (one more than shown),
// marker, and the sort keys with their directions, reversed for a "Prev"
// page. desc says which way the list is shown.
func (pg *pager) query(style string, desc bool, keys ...string) url.Values {
	v := url.Values{}
	v.Set("limit", strconv.Itoa(pg.Limit+1))
	if m := pg.Marker + pg.PrevMarker; m != "" {
		v.Set("marker", m)
	}
	dir := "asc"
	if desc != pg.reversed() {
		dir = "desc"
	}
	switch style {
	case "sort": // Cinder's sort=key:dir,key:dir
		s := ""
		for i, k := range keys {
			if i > 0 {
				s += ","
			}
			s += k + ":" + dir
		}
		v.Set("sort", s)
	default: // Nova, Neutron and Glance: sort_key=k&sort_dir=d, repeated
		for _, k := range keys {
			v.Add("sort_key", k)
			v.Add("sort_dir", dir)
		}
	}
	return v
}

// cut keeps the rows the page shows, in the order shown, and sets the links.
func cut[T any](pg *pager, rows []T, idOf func(T) string) []T {
	more := len(rows) > pg.Limit
	if more {
		rows = rows[:pg.Limit]
	}
	if pg.reversed() {
		rows = slices.Clone(rows)
		slices.Reverse(rows)
	}
	switch {
	case len(rows) == 0 && (pg.Marker != "" || pg.PrevMarker != ""):
		pg.PrevURL = pg.link("", "") // past either end: back to the first page
	case pg.reversed():
		pg.NextURL = pg.link("marker", idOf(rows[len(rows)-1]))
		if more {
			pg.PrevURL = pg.link("prev_marker", idOf(rows[0]))
		}
	default:
		if more {
			pg.NextURL = pg.link("marker", idOf(rows[len(rows)-1]))
		}
		if pg.Marker != "" && len(rows) > 0 {
			pg.PrevURL = pg.link("prev_marker", idOf(rows[0]))
		}
	}
	return rows
}

// link is the page's own address with another marker.
func (pg *pager) link(key, id string) string {
	u := pg.self
	q := u.Query()
	q.Del("marker")
	q.Del("prev_marker")
	q.Del("fragment")
	if key != "" {
		q.Set(key, id)
	}
	u.RawQuery = q.Encode()
	u.Scheme, u.Host = "", ""
	return u.RequestURI()
}

// Here is the page's own address, for a form's way back.
func (pg *pager) Here() string {
	u := pg.self
	q := u.Query()
	q.Del("fragment")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// Rows is the address of the page's rows alone, which its script polls.
func (pg *pager) Rows() string {
	u := pg.self
	q := u.Query()
	q.Set("fragment", "rows")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// Paged reports whether there is more than one page.
func (pg *pager) Paged() bool { return pg.NextURL != "" || pg.PrevURL != "" }

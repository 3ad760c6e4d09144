package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// langCookie keeps the language the user chose.
const langCookie = "tenku_lang"

// languages are the dashboard's languages and their catalogues (English is
// the source text).
var languages = map[string]map[string]string{"en": nil, "ja": catalogJA}

// language returns the request's language: the user's choice, else the
// best of Accept-Language the dashboard has, else English.
func language(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		if _, ok := languages[c.Value]; ok {
			return c.Value
		}
	}
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if _, ok := languages[base]; ok && q > bestQ && q > 0 {
			best, bestQ = base, q
		}
	}
	return best
}

// translate returns s in lang (s itself when the catalogue lacks it).
func translate(lang, s string) string {
	if t, ok := languages[lang][s]; ok {
		return t
	}
	return s
}

// T translates a string of a page's template.
func (p *page) T(s string) string { return translate(p.Lang, s) }

// Tf translates a format string of a page's template and fills it in.
func (p *page) Tf(format string, args ...any) string {
	return fmt.Sprintf(translate(p.Lang, format), args...)
}

// T translates a string of the login form.
func (v loginView) T(s string) string { return translate(v.Lang, s) }

// setLanguage keeps the chosen language in a cookie and goes back to the
// page the switch was on. The form is this site's (same origin); the choice
// is no secret, so it needs no session.
func (d *Dashboard) setLanguage(w http.ResponseWriter, r *http.Request) {
	if !d.sameOrigin(r) {
		http.Error(w, "Forbidden: the form was not sent from this dashboard.", http.StatusForbidden)
		return
	}
	lang := r.PostFormValue("language")
	if _, ok := languages[lang]; !ok {
		http.Error(w, "Bad request: unknown language "+strconv.Quote(lang)+".", http.StatusBadRequest)
		return
	}
	c := d.cookie(langCookie, lang, 365*24*3600)
	http.SetCookie(w, c)
	next := safeNext(r.PostFormValue("next"))
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// Path is the page's address, where the language switch returns.
func (p *page) Path() string { return p.r.URL.RequestURI() }

// Path is where the login form's language switch returns.
func (loginView) Path() string { return "/auth/login/" }

// dataKeys are catalogue keys that reach templates as data rather than as
// literals (the overview's gauges, states, kinds); the catalogue test
// checks them too.
var dataKeys = []string{"Instances", "VCPUs", "RAM", "Volumes", "Volume Storage", "Volume Snapshots", "Floating IPs", "Networks", "Ports", "Routers", "Security Groups",
	// timeline states, topology kinds, assignment kinds, service states
	"done", "current", "failed", "pending", "external", "router", "network", "instance", "(booted from volume)", "(floating)",
	"user", "group", "project", "domain", "system", "up", "down", "enabled", "disabled"}

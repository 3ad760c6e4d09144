package dashboard

import (
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Every string a user reads goes through the catalogue: the templates' text
// and visible attributes are T calls, and every key the templates and the Go
// code hand to T has a Japanese entry.

var (
	tKey      = regexp.MustCompile(`\bTf? "((?:[^"\\]|\\.)*)"`)
	action    = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	comment   = regexp.MustCompile(`(?s)\{\{/\*.*?\*/\}\}`)
	scriptTag = regexp.MustCompile(`(?is)<(script|style)[^>]*>.*?</(script|style)>`)
	tag       = regexp.MustCompile(`(?s)<[^>]*>`)
	visible   = regexp.MustCompile(`\b(placeholder|title|aria-label|data-confirm|alt)="([^"]*)"`)
	entity    = regexp.MustCompile(`&[#a-zA-Z0-9]+;`)
	letters   = regexp.MustCompile(`[A-Za-z]{2,}`)
	// goKeys are the Go calls whose first argument is a catalogue key.
	goKeys = regexp.MustCompile(`(?:flashT\(p, |p\.say\(|badRequest\(|p\.Title = |p\.T\(|p\.Tf\(|showLogin\(w, r, )"((?:[^"\\]|\\.)*)"`)
)

// untranslatable are words that read the same in Japanese: the product's
// name, units, language names and the APIs' own identifiers (formats,
// protocols) offered as they are.
var untranslatable = map[string]bool{"tenku": true, "GiB": true, "MiB": true, "English": true, "ID": true, "MAC": true,
	"raw": true, "qcow2": true, "iso": true, "vmdk": true, "vhd": true, "ami": true, "qcow": true, "tcp": true, "udp": true, "icmp": true,
	"cloud": true, "config": true}

// untranslated returns the visible English of a template: text outside
// actions and tags, and the values of attributes a browser shows.
func untranslated(src string) []string {
	s := comment.ReplaceAllString(src, "")
	s = action.ReplaceAllString(s, "\x00")
	s = scriptTag.ReplaceAllString(s, "")
	var out []string
	check := func(text string) {
		text = html.UnescapeString(entity.ReplaceAllString(text, " "))
		for _, chunk := range strings.Split(text, "\x00") {
			chunk = strings.TrimSpace(chunk)
			for _, w := range letters.FindAllString(chunk, -1) {
				if !untranslatable[w] {
					out = append(out, chunk)
					break
				}
			}
		}
	}
	for _, t := range tag.FindAllString(s, -1) {
		for _, m := range visible.FindAllStringSubmatch(t, -1) {
			check(m[2])
		}
	}
	check(tag.ReplaceAllString(s, "\x00"))
	return out
}

func TestTemplatesTranslated(t *testing.T) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	keys := map[string]string{}
	for _, f := range files {
		b, _ := fs.ReadFile(templateFS, f)
		for _, m := range tKey.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = f
		}
		for _, s := range untranslated(string(b)) {
			t.Errorf("%s: %q is shown without T", f, s)
		}
	}
	// The Go code's keys: titles, messages, refusals.
	gos, _ := filepath.Glob("*.go")
	for _, f := range gos {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKeys.FindAllStringSubmatch(string(b), -1) {
			keys[strings.ReplaceAll(m[1], `\"`, `"`)] = f
		}
	}
	// Keys that reach T as data: actions, verbs, phases, states, gauges.
	for _, a := range []instanceAction{actStart, actStop, actReboot, actHardReboot, actPause, actUnpause, actSuspend,
		actResume, actShelve, actUnshelve, actRescue, actUnrescue, actLock, actUnlock, actSnapshot, actDelete, actResize, actConfirmResize, actRevertResize} {
		keys[a.Label] = "instances.go"
	}
	for _, o := range instanceOps {
		keys[o.verb] = "instances.go"
	}
	keys["delete"] = "instances.go"
	for _, ph := range bootPhases {
		keys[ph.label] = "instances.go"
	}
	for _, k := range []string{"Active", "Error"} {
		keys[k] = "instances.go"
	}
	for _, ps := range []int{0, 1, 3, 4, 6, 7} {
		var in instance
		in.Server.PowerState = ps
		keys[in.PowerState()] = "instances.go"
	}
	for _, q := range (hypervisor{}).Usage() {
		keys[q.Label] = "admin.go"
	}
	for _, k := range dataKeys {
		keys[k] = "templates"
	}
	var missing []string
	for k, f := range keys {
		if k != "" && strings.TrimSpace(catalogJA[k]) == "" {
			missing = append(missing, f+": "+k)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no Japanese for %q", m)
	}
}

// TestUntranslatedFinds proves the template check can fail.
func TestUntranslatedFinds(t *testing.T) {
	for src, want := range map[string]int{
		`<h1>Images</h1>`:                                  0 + 1,
		`<h1>{{$.T "Images"}}</h1>`:                        0,
		`<input placeholder="Your name">`:                  1,
		`<input placeholder="{{$.T "Your name"}}">`:        0,
		`<td>{{.Size}} GiB</td>`:                           0,
		`<p>{{/* a comment in English */}}</p>`:            0,
		`<a title="x{{.Name}}">&laquo; {{$.T "Prev"}}</a>`: 0,
		`<button>Save</button> <a>{{$.T "Cancel"}}</a>`:    1,
	} {
		if got := len(untranslated(src)); got != want {
			t.Errorf("%s: %d untranslated, want %d (%q)", src, got, want, untranslated(src))
		}
	}
}

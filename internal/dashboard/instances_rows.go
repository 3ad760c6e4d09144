package dashboard

import (
	"html"
	"html/template"
	"net/url"
	"strings"
)

// The instance list's rows are written here rather than by the template:
// with a page of 20 servers, each row's menu of up to twelve buttons made
// some 150 template actions a row (every {{$.T}} and field a reflective
// call), three quarters of the page's CPU under load. The text is escaped
// as html/template escapes it in these places (element text and quoted
// attribute values; ids in paths are path-escaped first), and every word
// still goes through the page's catalogue.

// Rows writes the list's rows in the page's language (the "rows" template,
// which is also the fragment the list's script polls).
func (data *instancesData) Rows(p *page) template.HTML {
	var b strings.Builder
	b.Grow(1600 * len(data.Instances))
	csrf := html.EscapeString(p.s.CSRF)
	back := ""
	if data.Pager != nil {
		back = html.EscapeString(data.Pager.Here())
	}
	for i := range data.Instances {
		writeInstanceRow(&b, p, &data.Instances[i], csrf, back)
	}
	return template.HTML(b.String()) //nolint:gosec // every value above is escaped
}

// writeInstanceRow writes one <tr> of the instance list; csrf and back are
// already escaped.
func writeInstanceRow(b *strings.Builder, p *page, in *instance, csrf, back string) {
	esc := html.EscapeString
	id := esc(url.PathEscape(in.ID))
	name := esc(in.Name)
	b.WriteString("\n<tr id=\"server-")
	b.WriteString(esc(in.ID))
	b.WriteByte('"')
	if in.Transitional() {
		b.WriteString(" data-transitional")
	}
	b.WriteString(">\n  <td><a href=\"/project/instances/")
	b.WriteString(id)
	b.WriteString("/\">")
	b.WriteString(name)
	b.WriteString("</a></td>\n  <td>")
	b.WriteString(esc(p.T(in.ImageName)))
	b.WriteString("</td>\n  <td>")
	for _, a := range in.Addresses {
		b.WriteString("<div>")
		b.WriteString(esc(a))
		b.WriteString("</div>")
	}
	cells(b, "</td>\n  <td>", esc(in.Flavor.OriginalName), "</td>\n  <td>", esc(in.KeyName()),
		"</td>\n  <td class=\"status s-", esc(in.Status), "\">", esc(p.T(in.Status)))
	if in.Fault != nil {
		cells(b, " <span class=\"fault\" title=\"", esc(in.Fault.Message), "\">!</span>")
	}
	cells(b, "</td>\n  <td>", esc(p.T(in.TaskState())), "</td>\n  <td>", esc(p.T(in.PowerState())),
		"</td>\n  <td>", esc(in.Created), "</td>\n  <td><details class=\"menu\"><summary>", esc(p.T("Actions")),
		"</summary><form method=\"post\" action=\"/project/instances/", id, "/action/\" class=\"acts\">",
		"<input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"", csrf, "\">",
		"<input type=\"hidden\" name=\"name\" value=\"", name, "\">",
		"<input type=\"hidden\" name=\"back\" value=\"", back, "\">")
	for _, a := range in.Actions() {
		label := esc(p.T(a.Label))
		switch {
		case a.Link:
			cells(b, "<a class=\"button op-", a.Op, "\" href=\"/project/instances/", id, "/", a.Op, "/\">", label, "</a>")
		case !a.Detail:
			cells(b, "<button type=\"submit\" name=\"op\" value=\"", a.Op, "\" class=\"op-", a.Op, "\"")
			if a.Confirm {
				cells(b, " data-confirm=\"", label, ": ", name, "?\"")
			}
			cells(b, ">", label, "</button>")
		}
	}
	b.WriteString("</form></details></td>\n</tr>")
}

// cells writes the strings in order.
func cells(b *strings.Builder, parts ...string) {
	for _, s := range parts {
		b.WriteString(s)
	}
}

package policy

import (
	"strings"
)

// Sample renders the defaults as the commented policy.yaml that
// oslopolicy-sample-generator prints: for each rule its description,
// operations and intended scopes as comments, then the rule itself
// commented out, then any deprecation notes.
func Sample(defaults []Rule) string {
	var b strings.Builder
	for i := range defaults {
		b.WriteString(sampleEntry(&defaults[i]))
	}
	return b.String()
}

// pyNone renders an optional string as a Python f-string renders None.
func pyNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

func sampleEntry(r *Rule) string {
	text := `"` + r.Name + `": "` + r.Check + `"` + "\n"
	var ops strings.Builder
	for _, op := range r.Operations {
		if op.Method != "" && op.Path != "" {
			ops.WriteString("# " + op.Method + "  " + op.Path + "\n")
		}
	}
	scope := ""
	if r.ScopeTypes != nil {
		scope = "# Intended scope(s): " + strings.Join(r.ScopeTypes, ", ") + "\n"
	}
	text = ops.String() + scope + "#" + text + "\n"
	if r.Description != "" {
		text = helpText(r.Description) + "\n" + text
	}
	switch {
	case r.DeprecatedForRemoval:
		text = "# DEPRECATED\n# \"" + r.Name + "\" has been deprecated since " + pyNone(r.DeprecatedSince) + ".\n" +
			helpText(r.DeprecatedReason) + "\n" + text
	case r.DeprecatedRule != nil:
		d := r.DeprecatedRule
		reason := d.Reason
		if reason == "" {
			reason = r.DeprecatedReason
		}
		since := d.Since
		if since == "" {
			since = r.DeprecatedSince
		}
		note := `"` + d.Name + `":"` + d.Check + `" has been deprecated since ` + pyNone(since) +
			` in favor of "` + r.Name + `":"` + r.Check + `".`
		text += "# DEPRECATED\n" + helpText(note) + "\n" + helpText(reason) + "\n"
		if d.Name != r.Name {
			text += "# WARNING: A rule name change has been identified.\n" +
				"#          This may be an artifact of new rules being\n" +
				"#          included which require legacy fallback\n" +
				"#          rules to ensure proper policy behavior.\n" +
				"#          Alternatively, this may just be an alias.\n" +
				"#          Please evaluate on a case by case basis\n" +
				"#          keeping in mind the format for aliased\n" +
				"#          rules is:\n" +
				"#          \"old_rule_name\": \"new_rule_name\".\n"
			text += `# "` + d.Name + `": "rule:` + r.Name + `"` + "\n"
		}
		text += "\n"
	}
	return text
}

// helpText turns a description into comment lines: paragraphs are wrapped
// at 70 columns, blank lines become "#", and indented lines are literal
// blocks kept as they are.
func helpText(desc string) string {
	if desc == "" {
		return "#"
	}
	var out, para []string
	wrap := func() {
		out = append(out, wrapText(strings.Join(para, " "), 70, "# ", "# ")...)
		para = nil
	}
	for _, line := range pySplitLines(strings.TrimFunc(desc, pyIsSpace)) {
		switch {
		case strings.TrimFunc(line, pyIsSpace) == "":
			wrap()
			out = append(out, "#")
		case strings.TrimLeftFunc(line, pyIsSpace) == line:
			para = append(para, strings.TrimRightFunc(line, pyIsSpace))
		default:
			if para != nil {
				// A literal block right after a paragraph: oslo warns and
				// separates the two.
				wrap()
				out = append(out, "#")
			}
			out = append(out, "# "+strings.TrimRightFunc(line, pyIsSpace))
		}
	}
	if para != nil {
		wrap()
	}
	return strings.Join(out, "\n")
}

// pySplitLines is Python's str.splitlines.
func pySplitLines(s string) []string {
	var lines []string
	rs := []rune(s)
	var cur []rune
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\r':
			if i+1 < len(rs) && rs[i+1] == '\n' {
				i++
			}
			fallthrough
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			lines = append(lines, string(cur))
			cur = cur[:0]
		default:
			cur = append(cur, rs[i])
		}
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

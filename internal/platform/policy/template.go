package policy

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// template is the match half of a check ("%(project_id)s", "admin"),
// parsed once. oslo applies Python's "match % target" to it on every
// evaluation: a key missing from the target makes the check false, and a
// directive Python rejects raises, which aborts the whole evaluation.
type template struct {
	lit    string // the whole match when it holds no directive
	parts  []tmplPart
	single bool // exactly one plain "%(key)s" and nothing else
}

// tmplPart is literal text, a directive, or the point where Python raises.
// Parts are processed in order, as Python formats.
type tmplPart struct {
	lit    string
	key    string
	hasKey bool // key is looked up (a missing key makes the check false)
	// whole: a directive without a key, which Python applies to the whole
	// mapping — only the first such directive, and only before any keyed
	// one; otherwise it raises "not enough arguments".
	whole bool
	spec  fmtSpec
	err   string // raises here, after looking key up if hasKey
}

// fmtSpec is a %-directive's flags, width, precision and conversion.
type fmtSpec struct {
	conv                          byte // 0 for literal text
	minus, plus, space, alt, zero bool
	width, prec                   int  // prec < 0: none
	starWidth, starPrec           bool // "*": Python wants a positional argument
	plainS                        bool // a bare %s
}

// parseTemplate parses a Python %-format string that is applied to a
// mapping.
func parseTemplate(s string) template {
	if strings.IndexByte(s, '%') < 0 {
		return template{lit: s}
	}
	var t template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
	}
	fail := func(p tmplPart, msg string) template {
		flush()
		p.err = msg
		t.parts = append(t.parts, p)
		return t
	}
	for i := 0; i < len(s); {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		i++
		if i < len(s) && s[i] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		var p tmplPart
		if i < len(s) && s[i] == '(' {
			// The key runs to the matching parenthesis; Python counts
			// nesting.
			depth, j := 1, i+1
			for ; j < len(s) && depth > 0; j++ {
				switch s[j] {
				case '(':
					depth++
				case ')':
					depth--
				}
			}
			if depth > 0 {
				return fail(p, "incomplete format key")
			}
			p.key, p.hasKey = s[i+1:j-1], true
			i = j
		} else {
			p.whole = true
		}
		sp := fmtSpec{prec: -1}
	flags:
		for ; i < len(s); i++ {
			switch s[i] {
			case '-':
				sp.minus = true
			case '+':
				sp.plus = true
			case ' ':
				sp.space = true
			case '#':
				sp.alt = true
			case '0':
				sp.zero = true
			default:
				break flags
			}
		}
		if i < len(s) && s[i] == '*' {
			sp.starWidth = true
			i++
		} else {
			for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
				sp.width = sp.width*10 + int(s[i]-'0')
				if sp.width > 1<<20 {
					return fail(p, "width too big")
				}
			}
		}
		if i < len(s) && s[i] == '.' {
			i++
			sp.prec = 0
			if i < len(s) && s[i] == '*' {
				sp.starPrec = true
				i++
			} else {
				for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
					sp.prec = sp.prec*10 + int(s[i]-'0')
					if sp.prec > 1<<20 {
						return fail(p, "precision too big")
					}
				}
			}
		}
		for i < len(s) && (s[i] == 'h' || s[i] == 'l' || s[i] == 'L') {
			i++
		}
		if i >= len(s) {
			return fail(p, "incomplete format")
		}
		sp.conv = s[i]
		i++
		switch sp.conv {
		case 's', 'r', 'a', 'd', 'i', 'u', 'x', 'X', 'o', 'c', 'e', 'E', 'f', 'F', 'g', 'G':
		default:
			return fail(p, "unsupported format character "+strconv.QuoteRune(rune(sp.conv)))
		}
		if sp.starWidth || sp.starPrec {
			return fail(p, "not enough arguments for format string")
		}
		sp.plainS = sp.conv == 's' && !sp.minus && sp.width == 0 && sp.prec < 0
		p.spec = sp
		flush()
		t.parts = append(t.parts, p)
	}
	flush()
	if len(t.parts) == 1 && t.parts[0].spec.conv == 0 && t.parts[0].err == "" {
		return template{lit: t.parts[0].lit}
	}
	t.single = len(t.parts) == 1 && t.parts[0].hasKey && t.parts[0].spec.plainS && t.parts[0].err == ""
	return t
}

// static reports whether the template needs no target.
func (t *template) static() bool { return t.parts == nil }

// problem returns why the template raises, if it always does.
func (t *template) problem() string {
	for _, p := range t.parts {
		if p.err != "" {
			return p.err
		}
	}
	return ""
}

// render substitutes target values into the template: rTrue with the
// text, rFalse when a key is missing, rAbort where Python raises.
func (t *template) render(target map[string]any) (string, result) {
	if t.parts == nil {
		return t.lit, rTrue
	}
	if t.single {
		v, ok := lookupTarget(target, t.parts[0].key)
		if !ok {
			return "", rFalse
		}
		if s, ok := v.(string); ok {
			return s, rTrue
		}
		return pyStr(v), rTrue
	}
	var b strings.Builder
	wholeAvailable := true
	for _, p := range t.parts {
		if p.spec.conv == 0 && p.err == "" {
			b.WriteString(p.lit)
			continue
		}
		var v any
		switch {
		case p.hasKey:
			wholeAvailable = false
			var ok bool
			if v, ok = lookupTarget(target, p.key); !ok {
				return "", rFalse
			}
		case p.whole && p.err == "":
			if !wholeAvailable {
				return "", rAbort // not enough arguments for format string
			}
			wholeAvailable = false
			if target == nil {
				target = map[string]any{}
			}
			v = target
		}
		if p.err != "" {
			return "", rAbort
		}
		s, ok := formatValue(v, &p.spec)
		if !ok {
			return "", rAbort
		}
		b.WriteString(s)
	}
	return b.String(), rTrue
}

// formatValue applies one directive to v as Python's %-operator does.
func formatValue(v any, sp *fmtSpec) (string, bool) {
	var body, prefix string
	numeric, neg, nonFinite := false, false, false
	switch sp.conv {
	case 's', 'r', 'a':
		if sp.conv == 's' {
			body = pyStr(v)
		} else {
			body = pyRepr(v)
			if sp.conv == 'a' {
				body = asciiEscape(body)
			}
		}
		if sp.prec >= 0 && utf8.RuneCountInString(body) > sp.prec {
			body = string([]rune(body)[:sp.prec])
		}
	case 'c':
		switch x := v.(type) {
		case string:
			if utf8.RuneCountInString(x) != 1 {
				return "", false
			}
			body = x
		default:
			n, ok := pyInt(v)
			if !ok || !n.IsInt64() || n.Int64() < 0 || n.Int64() > 0x10FFFF {
				return "", false
			}
			body = string(rune(n.Int64()))
		}
	case 'd', 'i', 'u', 'x', 'X', 'o':
		n, ok := pyInt(v)
		if !ok {
			if f, isF := pyFloatValue(v); isF && (sp.conv == 'd' || sp.conv == 'i' || sp.conv == 'u') {
				if math.IsInf(f, 0) || math.IsNaN(f) {
					return "", false
				}
				n, _ = big.NewFloat(math.Trunc(f)).Int(nil)
			} else {
				return "", false
			}
		}
		numeric, neg = true, n.Sign() < 0
		abs := new(big.Int).Abs(n)
		switch sp.conv {
		case 'x', 'X':
			body = abs.Text(16)
			prefix = "0x"
		case 'o':
			body = abs.Text(8)
			prefix = "0o"
		default:
			body = abs.Text(10)
		}
		if sp.conv == 'X' {
			body = strings.ToUpper(body)
			prefix = "0X"
		}
		if !sp.alt {
			prefix = ""
		}
		if len(body) < sp.prec {
			body = strings.Repeat("0", sp.prec-len(body)) + body
		}
	default: // e E f F g G
		f, ok := pyFloatValue(v)
		if !ok {
			n, isInt := pyInt(v)
			if !isInt {
				return "", false
			}
			f, _ = new(big.Float).SetInt(n).Float64()
		}
		numeric = true
		neg = math.Signbit(f) && !math.IsNaN(f)
		nonFinite = math.IsInf(f, 0) || math.IsNaN(f)
		body = cFloat(math.Abs(f), sp)
	}
	sign := ""
	if numeric {
		switch {
		case neg:
			sign = "-"
		case sp.plus:
			sign = "+"
		case sp.space:
			sign = " "
		}
		sign += prefix
	}
	n := utf8.RuneCountInString(sign) + utf8.RuneCountInString(body)
	if n >= sp.width {
		return sign + body, true
	}
	pad := sp.width - n
	switch {
	case sp.minus:
		return sign + body + strings.Repeat(" ", pad), true
	case sp.zero && numeric && !nonFinite:
		return sign + strings.Repeat("0", pad) + body, true
	}
	return strings.Repeat(" ", pad) + sign + body, true
}

// cFloat formats a non-negative float for %e, %f, %g (and upper-case) as C
// and Python do.
func cFloat(f float64, sp *fmtSpec) string {
	upper := sp.conv == 'E' || sp.conv == 'F' || sp.conv == 'G'
	if math.IsInf(f, 0) || math.IsNaN(f) {
		s := "inf"
		if math.IsNaN(f) {
			s = "nan"
		}
		if upper {
			s = strings.ToUpper(s)
		}
		return s
	}
	prec := sp.prec
	if prec < 0 {
		prec = 6
	}
	var s string
	switch sp.conv | 0x20 {
	case 'f':
		s = strconv.FormatFloat(f, 'f', prec, 64)
		if sp.alt && prec == 0 {
			s += "."
		}
	case 'e':
		s = strconv.FormatFloat(f, 'e', prec, 64)
		if sp.alt && prec == 0 {
			m, e, _ := strings.Cut(s, "e")
			s = m + ".e" + e
		}
	default: // g
		if prec == 0 {
			prec = 1
		}
		e := strconv.FormatFloat(f, 'e', prec-1, 64)
		_, exps, _ := strings.Cut(e, "e")
		x, _ := strconv.Atoi(exps)
		if x >= -4 && x < prec {
			s = strconv.FormatFloat(f, 'f', prec-1-x, 64)
		} else {
			s = e
		}
		if !sp.alt {
			m, ex, hasE := strings.Cut(s, "e")
			if strings.Contains(m, ".") {
				m = strings.TrimRight(strings.TrimRight(m, "0"), ".")
			}
			s = m
			if hasE {
				s += "e" + ex
			}
		} else if !strings.Contains(s, ".") {
			m, ex, hasE := strings.Cut(s, "e")
			s = m + "."
			if hasE {
				s += "e" + ex
			}
		}
	}
	if upper {
		s = strings.ToUpper(s)
	}
	return s
}

// pyInt returns v as a Python int (bools are ints), or false.
func pyInt(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return big.NewInt(1), true
		}
		return big.NewInt(0), true
	case int:
		return big.NewInt(int64(x)), true
	case int8:
		return big.NewInt(int64(x)), true
	case int16:
		return big.NewInt(int64(x)), true
	case int32:
		return big.NewInt(int64(x)), true
	case int64:
		return big.NewInt(x), true
	case uint:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint8:
		return big.NewInt(int64(x)), true
	case uint16:
		return big.NewInt(int64(x)), true
	case uint32:
		return big.NewInt(int64(x)), true
	case uint64:
		return new(big.Int).SetUint64(x), true
	case *big.Int:
		return x, true
	case json.Number:
		if jsonIsInt(x) {
			n, ok := new(big.Int).SetString(string(x), 10)
			return n, ok
		}
	}
	return nil, false
}

// pyFloatValue returns v as a Python float, or false.
func pyFloatValue(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case json.Number:
		if !jsonIsInt(x) {
			f, err := x.Float64()
			return f, err == nil || math.IsInf(f, 0)
		}
	}
	return 0, false
}

// jsonIsInt reports whether a JSON number would decode to a Python int.
func jsonIsInt(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// asciiEscape is what %a does on top of repr: non-ASCII characters become
// \x, \u or \U escapes.
func asciiEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r <= 0xff:
			b.WriteString(`\x` + strconv.FormatInt(int64(r)|0x100, 16)[1:])
		case r <= 0xffff:
			b.WriteString(`\u` + strconv.FormatInt(int64(r)|0x10000, 16)[1:])
		default:
			b.WriteString(`\U` + strconv.FormatInt(int64(r)|0x100000000, 16)[1:])
		}
	}
	return b.String()
}

// lookupTarget finds key in the target. oslo looks the key up as given, and
// services that use dotted keys ("target.project.id") flatten their targets
// first; as a convenience a dotted key missing from the top level is also
// looked up through nested maps, which is what flattening would have found.
func lookupTarget(target map[string]any, key string) (any, bool) {
	if v, ok := target[key]; ok {
		return v, true
	}
	if strings.IndexByte(key, '.') < 0 {
		return nil, false
	}
	var cur any = target
	for seg := range strings.SplitSeq(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

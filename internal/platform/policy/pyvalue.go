package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// oslo.policy compares everything as text: a generic check is true when the
// substituted match string equals Python's str() of the value found. The
// helpers here render Go values the way CPython would render the equivalent
// Python values, so "True", "None", "1.0" and "['a', 'b']" compare exactly as
// they do in OpenStack.

// pyStr renders v as Python's str() would render the corresponding value:
// nil is None, bools are True/False, floats use repr's shortest form, strings
// are themselves, and containers use repr for their elements.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	case float32:
		return pyFloat(float64(x))
	case complex128:
		return pyComplex(x)
	case json.Number:
		return pyJSONNumber(x)
	case fmt.Stringer:
		return x.String()
	}
	return pyRepr(v)
}

// pyStrEq reports whether pyStr(v) == s, without allocating for the common
// scalar types.
func pyStrEq(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return x == s
	case nil:
		return s == "None"
	case bool:
		if x {
			return s == "True"
		}
		return s == "False"
	case int:
		var buf [24]byte
		return string(strconv.AppendInt(buf[:0], int64(x), 10)) == s
	case int64:
		var buf [24]byte
		return string(strconv.AppendInt(buf[:0], x, 10)) == s
	case int32:
		var buf [24]byte
		return string(strconv.AppendInt(buf[:0], int64(x), 10)) == s
	case uint64:
		var buf [24]byte
		return string(strconv.AppendUint(buf[:0], x, 10)) == s
	}
	return pyStr(v) == s
}

// pyRepr renders v as Python's repr() would.
func pyRepr(v any) string {
	switch x := v.(type) {
	case string:
		return pyReprString(x)
	case nil, bool, int, int64, float64, float32:
		return pyStr(x)
	case *big.Int:
		return x.String()
	case json.Number:
		return pyJSONNumber(x)
	case complex128:
		return pyComplex(x)
	case pyBytes, pyEllipsis, pySet, pyDict:
		return x.(fmt.Stringer).String()
	case pyTuple:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyReprString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyReprString(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case fmt.Stringer:
		return pyReprString(x.String())
	}
	// Other Go numbers and containers, through reflection.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return pyFloat(rv.Float())
	case reflect.Bool:
		return pyStr(rv.Bool())
	case reflect.String:
		return pyReprString(rv.String())
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = pyRepr(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Pointer:
		if rv.IsNil() {
			return "None"
		}
		return pyRepr(rv.Elem().Interface())
	}
	return pyReprString(fmt.Sprint(v))
}

// pyJSONNumber renders a JSON number as Python's json module would have
// decoded it: an int when it has no fraction or exponent, else a float.
func pyJSONNumber(n json.Number) string {
	if i, ok := pyInt(n); ok {
		return i.String()
	}
	if f, ok := pyFloatValue(n); ok {
		return pyFloat(f)
	}
	return string(n)
}

// pyTuple is a Python tuple produced by the literal evaluator.
type pyTuple []any

// pyFloat renders f as Python's float repr: the shortest digits that
// round-trip, positional notation for decimal exponents in [-4, 16), and a
// trailing ".0" on integral values.
func pyFloat(f float64) string { return pyFloatFmt(f, true, false) }

// pyFloatFmt is CPython's repr formatting of a double ('r' mode), with or
// without the ".0" that marks an integral float, and with or without a
// forced sign (complex numbers use both variants).
func pyFloatFmt(f float64, addDot, sign bool) string {
	prefix := ""
	if math.Signbit(f) && !math.IsNaN(f) {
		prefix = "-"
	} else if sign {
		prefix = "+"
	}
	switch {
	case math.IsInf(f, 0):
		return prefix + "inf"
	case math.IsNaN(f):
		return prefix + "nan"
	}
	e := strconv.FormatFloat(math.Abs(f), 'e', -1, 64) // e.g. "1.2345e+06"
	mant, exps, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(exps)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1 // value = 0.digits × 10^decpt
	var b strings.Builder
	b.WriteString(prefix)
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -decpt))
			b.WriteString(digits)
		case decpt >= len(digits):
			b.WriteString(digits)
			b.WriteString(strings.Repeat("0", decpt-len(digits)))
			if addDot {
				b.WriteString(".0")
			}
		default:
			b.WriteString(digits[:decpt])
			b.WriteByte('.')
			b.WriteString(digits[decpt:])
		}
		return b.String()
	}
	b.WriteByte(digits[0])
	if len(digits) > 1 {
		b.WriteByte('.')
		b.WriteString(digits[1:])
	}
	b.WriteByte('e')
	if exp < 0 {
		b.WriteByte('-')
		exp = -exp
	} else {
		b.WriteByte('+')
	}
	if exp < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.Itoa(exp))
	return b.String()
}

// pyReprString renders s as Python's repr() of a str: single quotes unless
// the text holds a single quote and no double quote, with backslash escapes
// for the quote, backslash, control and non-printable characters.
func pyReprString(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

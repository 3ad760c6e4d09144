package policy

import (
	"math"
	"strings"
	"testing"
)

// Expected values in this file are CPython 3's own outputs for the same
// inputs.

type kindCase struct {
	kind  string
	class kindClass
	str   string
}

func TestClassifyKind(t *testing.T) {
	cases := []kindCase{
		{"True", kindLiteral, "True"},
		{"False", kindLiteral, "False"},
		{"None", kindLiteral, "None"},
		{"'member'", kindLiteral, "member"},
		{"\"member\"", kindLiteral, "member"},
		{"'a''b'", kindLiteral, "ab"},
		{"r'\\n'", kindLiteral, "\\n"},
		{"'\\x41'", kindLiteral, "A"},
		{"20", kindLiteral, "20"},
		{"0x14", kindLiteral, "20"},
		{"0o17", kindLiteral, "15"},
		{"0b101", kindLiteral, "5"},
		{"1_000", kindLiteral, "1000"},
		{"-1", kindLiteral, "-1"},
		{"-(1)", kindLiteral, "-1"},
		{"1.5", kindLiteral, "1.5"},
		{"1.", kindLiteral, "1.0"},
		{"1e3", kindLiteral, "1000.0"},
		{"1e16", kindLiteral, "1e+16"},
		{"0.0001", kindLiteral, "0.0001"},
		{"1e-05", kindLiteral, "1e-05"},
		{"1j", kindLiteral, "1j"},
		{"-1j", kindLiteral, "(-0-1j)"},
		{"1+2j", kindLiteral, "(1+2j)"},
		{"[1,'a']", kindLiteral, "[1, 'a']"},
		{"(1,)", kindLiteral, "(1,)"},
		{"(1,2)", kindLiteral, "(1, 2)"},
		{"1,2", kindLiteral, "(1, 2)"},
		{"{1,1,2}", kindLiteral, "{1, 2}"},
		{"set()", kindLiteral, "set()"},
		{"{}", kindLiteral, "{}"},
		{"b'x'", kindLiteral, "b'x'"},
		{"...", kindLiteral, "Ellipsis"},
		{"(1)", kindLiteral, "1"},
		{"project_id", kindPath, ""},
		{"user.id", kindPath, ""},
		{"os-flag", kindPath, ""},
		{"a-b", kindPath, ""},
		{"not(a)", kindPath, ""},
		{"True.x", kindPath, ""},
		{"f(a=1)", kindPath, ""},
		{"a[1]", kindPath, ""},
		{"x if y else z", kindPath, ""},
		{"'member'.upper", kindPath, ""},
		{"1abc", kindSyntaxError, ""},
		{"", kindSyntaxError, ""},
		{"$a", kindSyntaxError, ""},
		{"a.class", kindSyntaxError, ""},
		{"a..b", kindSyntaxError, ""},
		{"x.1", kindSyntaxError, ""},
		{"'unterminated", kindSyntaxError, ""},
		{"01", kindSyntaxError, ""},
		{"0b2", kindSyntaxError, ""},
		{"*a", kindSyntaxError, ""},
		{"lambda", kindSyntaxError, ""},
		{"a=b", kindSyntaxError, ""},
	}
	deep := func(n int) string { return strings.Repeat("(", n) + "1" + strings.Repeat(")", n) }
	cases = append(cases, kindCase{deep(200), kindLiteral, "1"}, kindCase{deep(201), kindSyntaxError, ""})
	for _, c := range cases {
		str, class := classifyKind(c.kind)
		if class != c.class || str != c.str {
			t.Errorf("classifyKind(%q) = %q, %v; want %q, %v", c.kind, str, class, c.str, c.class)
		}
	}
}

func TestPyFloat(t *testing.T) {
	cases := []struct {
		f    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{20, "20.0"},
		{0.1, "0.1"},
		{1.0 / 3, "0.3333333333333333"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e+16"},
		{123456789012345678, "1.2345678901234568e+17"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{2.5e-10, "2.5e-10"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "5e-324"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, c := range cases {
		if got := pyFloat(c.f); got != c.want {
			t.Errorf("pyFloat(%v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestPyReprString(t *testing.T) {
	cases := []struct{ s, want string }{
		{"a", "'a'"},
		{"it's", "\"it's\""},
		{"say \"hi\"", "'say \"hi\"'"},
		{"both ' and \"", "'both \\' and \"'"},
		{"back\\slash", "'back\\\\slash'"},
		{"tab\tnl\ncr\r", "'tab\\tnl\\ncr\\r'"},
		{"\u0000\u001f\u007f", "'\\x00\\x1f\\x7f'"},
		{"\u00e9", "'é'"},
		{"\u00a0", "'\\xa0'"},
		{"\u2028", "'\\u2028'"},
		{"\u65e5\u672c", "'日本'"},
		{"\U0001F600", "'😀'"},
		{"\u200b", "'\\u200b'"},
		{"\u00ad", "'\\xad'"},
	}
	for _, c := range cases {
		if got := pyReprString(c.s); got != c.want {
			t.Errorf("pyReprString(%q) = %s, want %s", c.s, got, c.want)
		}
	}
}

func TestPyStr(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{nil, "None"},
		{true, "True"},
		{false, "False"},
		{"x", "x"},
		{42, "42"},
		{int64(-7), "-7"},
		{uint8(7), "7"},
		{1.5, "1.5"},
		{float32(0.5), "0.5"},
		{[]any{"a", 1, nil, true}, "['a', 1, None, True]"},
		{[]string{"a", "it's"}, `['a', "it's"]`},
		{map[string]any{"b": 1, "a": []any{}}, "{'a': [], 'b': 1}"},
		{pyTuple{1}, "(1,)"},
		{[]int{1, 2}, "[1, 2]"},
	}
	for _, c := range cases {
		if got := pyStr(c.v); got != c.want {
			t.Errorf("pyStr(%#v) = %q, want %q", c.v, got, c.want)
		}
		if got := pyStrEq(c.v, c.want); !got {
			t.Errorf("pyStrEq(%#v, %q) = false", c.v, c.want)
		}
	}
}

func TestTemplate(t *testing.T) {
	target := map[string]any{"a": "é x", "b": "it's", "f": 1234.5678, "n": 42, "neg": -7, "t": true, "nil": nil}
	cases := []struct {
		format, want string
		r            result
	}{
		{"plain", "plain", rTrue},
		{"%(a)s", "é x", rTrue},
		{"%(n)s", "42", rTrue},
		{"%(f)s", "1234.5678", rTrue},
		{"%(t)s", "True", rTrue},
		{"%(nil)s", "None", rTrue},
		{"x%%y", "x%y", rTrue},
		{"%(a)r", "'é x'", rTrue},
		{"%(b)r", "\"it's\"", rTrue},
		{"%(a)a", "'\\xe9 x'", rTrue},
		{"%(n)d", "42", rTrue},
		{"%(f)d", "1234", rTrue},
		{"%(t)d", "1", rTrue},
		{"%(neg)5d|", "   -7|", rTrue},
		{"%(neg)-5d|", "-7   |", rTrue},
		{"%(n)05d", "00042", rTrue},
		{"%(neg)05d", "-0007", rTrue},
		{"%(n)+d", "+42", rTrue},
		{"%(n) d", " 42", rTrue},
		{"%(n).4d", "0042", rTrue},
		{"%(n)x", "2a", rTrue},
		{"%(n)#x", "0x2a", rTrue},
		{"%(n)#X", "0X2A", rTrue},
		{"%(n)#o", "0o52", rTrue},
		{"%(f)f", "1234.567800", rTrue},
		{"%(f).2f", "1234.57", rTrue},
		{"%(f)e", "1.234568e+03", rTrue},
		{"%(f).3E", "1.235E+03", rTrue},
		{"%(f)g", "1234.57", rTrue},
		{"%(f)#g", "1234.57", rTrue},
		{"%(n)g", "42", rTrue},
		{"%(f)10.1f|", "    1234.6|", rTrue},
		{"%(n)c", "*", rTrue},
		{"%(a)5s|", "  é x|", rTrue},
		{"%(a)-5s|", "é x  |", rTrue},
		{"%(a).1s", "é", rTrue},
		{"%(a)s-%(n)s", "é x-42", rTrue},
		{"%(missing)s", "", rFalse},
		{"%(missing)q", "", rFalse},
		{"%(a)q", "", rAbort},
		{"%", "", rAbort},
		{"abc%", "", rAbort},
		{"%(a", "", rAbort},
		{"%(a)s %s", "", rAbort},
		{"%s %s", "", rAbort},
		{"%(a)*d", "", rAbort},
		{"%(a)d", "", rAbort},
		{"%(n)ld", "42", rTrue},
		// Python orders the dict by insertion; Go maps have none, so keys
		// are sorted.
		{"%s", "{'a': 'é x', 'b': \"it's\", 'f': 1234.5678, 'n': 42, 'neg': -7, 'nil': None, 't': True}", rTrue},
	}
	for _, c := range cases {
		tm := parseTemplate(c.format)
		got, r := tm.render(target)
		if r != c.r || r == rTrue && got != c.want {
			t.Errorf("%q %% target = %q, %v; want %q, %v", c.format, got, r, c.want, c.r)
		}
	}
}

package policy

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The tokenizer of pyexpr.go's Python expression front end: names,
// numbers, strings (with their escapes decoded) and operators, with the
// checks by which Python's tokenizer rejects malformed input.

type ptType uint8

const (
	ptName ptType = iota
	ptNumber
	ptString
	ptOp
	ptEOF
)

type ptok struct {
	typ  ptType
	text string
	val  any // ptNumber: *big.Int, float64, complex128; ptString: see strTok
}

// strTok is a string literal token's value.
type strTok struct {
	bytes  bool
	fmt    bool // f-string: never a constant
	value  string
	exotic bool // holds a \N{...} escape, whose value is not computed
}

var pyKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true,
	"async": true, "await": true, "break": true, "class": true, "continue": true, "def": true,
	"del": true, "elif": true, "else": true, "except": true, "finally": true, "for": true,
	"from": true, "global": true, "if": true, "import": true, "in": true, "is": true,
	"lambda": true, "nonlocal": true, "not": true, "or": true, "pass": true, "raise": true,
	"return": true, "try": true, "while": true, "with": true, "yield": true,
}

var pyOps = []string{
	"**=", "//=", ">>=", "<<=", "...", "!=", "**", "//", ">>", "<<", "<=", ">=", "==", "->",
	"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":=",
	"+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">", "(", ")", "[", "]", "{", "}",
	",", ".", ";", "=", ":",
}

func isIdentStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
}

func isIdentCont(r rune) bool {
	return isIdentStart(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Pc)
}

// pyTokenize splits an expression into Python tokens; false is a
// SyntaxError.
func pyTokenize(s string) ([]ptok, bool) {
	var toks []ptok
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			i++
			continue
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i += 2
			continue
		case c == '\n' || c == '\r':
			if depth == 0 && strings.TrimLeft(s[i:], " \t\f\r\n") != "" {
				return nil, false
			}
			i++
			continue
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			end, v, ok := scanNumber(s, i)
			if !ok {
				return nil, false
			}
			toks = append(toks, ptok{typ: ptNumber, text: s[i:end], val: v})
			i = end
			continue
		}
		r, _ := utf8.DecodeRuneInString(s[i:])
		if isIdentStart(r) {
			j := i
			for j < len(s) {
				r2, n := utf8.DecodeRuneInString(s[j:])
				if !isIdentCont(r2) {
					break
				}
				j += n
			}
			word := s[i:j]
			if j < len(s) && (s[j] == '\'' || s[j] == '"') && isStringPrefix(word) {
				end, v, ok := scanString(s, i, j)
				if !ok {
					return nil, false
				}
				toks = append(toks, ptok{typ: ptString, text: s[i:end], val: v})
				i = end
				continue
			}
			toks = append(toks, ptok{typ: ptName, text: word})
			i = j
			continue
		}
		if c == '\'' || c == '"' {
			end, v, ok := scanString(s, i, i)
			if !ok {
				return nil, false
			}
			toks = append(toks, ptok{typ: ptString, text: s[i:end], val: v})
			i = end
			continue
		}
		matched := ""
		for _, op := range pyOps {
			if strings.HasPrefix(s[i:], op) {
				matched = op
				break
			}
		}
		if matched == "" {
			return nil, false // '$', '?', '!', '`', a stray backslash, ...
		}
		switch matched {
		case "(", "[", "{":
			if depth++; depth > maxNesting {
				return nil, false // too many nested parentheses
			}
		case ")", "]", "}":
			if depth == 0 {
				return nil, false
			}
			depth--
		}
		toks = append(toks, ptok{typ: ptOp, text: matched})
		i += len(matched)
	}
	if depth != 0 {
		return nil, false
	}
	return append(toks, ptok{typ: ptEOF}), true
}

// maxNesting is the bracket depth past which Python's tokenizer gives up.
const maxNesting = 200

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// scanNumber scans a numeric literal at s[i:], as Python's tokenizer does,
// including its check that no name runs straight into the number (except
// the keywords it tolerates, as in "1if x else y").
func scanNumber(s string, i int) (int, any, bool) {
	j := i
	digits := func(ok func(byte) bool) bool { // digit (_? digit)*
		if j >= len(s) || !ok(s[j]) {
			return false
		}
		for j < len(s) {
			if ok(s[j]) {
				j++
			} else if s[j] == '_' && j+1 < len(s) && ok(s[j+1]) {
				j += 2
			} else {
				break
			}
		}
		return true
	}
	dec := func(c byte) bool { return c >= '0' && c <= '9' }
	var val any
	if s[j] == '0' && j+1 < len(s) && strings.IndexByte("xXoObB", s[j+1]) >= 0 {
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[s[j+1]|0x20]
		ok := func(c byte) bool {
			switch base {
			case 16:
				return dec(c) || c|0x20 >= 'a' && c|0x20 <= 'f'
			case 8:
				return c >= '0' && c <= '7'
			}
			return c == '0' || c == '1'
		}
		j += 2
		if j < len(s) && s[j] == '_' {
			j++
		}
		start := j
		if !digits(ok) {
			return 0, nil, false
		}
		if j < len(s) && dec(s[j]) {
			return 0, nil, false // "0b2", "0o8"
		}
		n, _ := new(big.Int).SetString(strings.ReplaceAll(s[start:j], "_", ""), base)
		val = n
	} else {
		isFloat := false
		if s[j] != '.' {
			digits(dec)
			if j < len(s) && s[j] == '_' {
				return 0, nil, false
			}
		}
		if j < len(s) && s[j] == '.' {
			isFloat = true
			j++
			if j < len(s) && dec(s[j]) {
				digits(dec)
			}
		}
		if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
			k := j + 1
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			if k < len(s) && dec(s[k]) {
				j = k
				digits(dec)
				isFloat = true
			}
		}
		text := strings.ReplaceAll(s[i:j], "_", "")
		imag := j < len(s) && (s[j] == 'j' || s[j] == 'J')
		switch {
		case imag:
			f, err := strconv.ParseFloat(text, 64)
			if err != nil && !math.IsInf(f, 0) {
				return 0, nil, false
			}
			val = complex(0, f)
			j++
		case isFloat:
			f, err := strconv.ParseFloat(text, 64)
			if err != nil && !math.IsInf(f, 0) {
				return 0, nil, false
			}
			val = f
		default:
			if len(text) > 1 && text[0] == '0' && strings.Trim(text, "0") != "" {
				return 0, nil, false // leading zeros in a decimal integer
			}
			n, _ := new(big.Int).SetString(text, 10)
			val = n
		}
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		if isIdentCont(r) {
			ok := false
			for _, kw := range []string{"and", "else", "for", "if", "in", "is", "not", "or"} {
				if strings.HasPrefix(s[j:], kw) {
					ok = true
				}
			}
			if !ok {
				return 0, nil, false
			}
		}
	}
	return j, val, true
}

// scanString scans a string literal whose prefix starts at i and whose
// opening quote is at q.
func scanString(s string, i, q int) (int, strTok, bool) {
	prefix := strings.ToLower(s[i:q])
	raw := strings.Contains(prefix, "r")
	st := strTok{bytes: strings.Contains(prefix, "b"), fmt: strings.Contains(prefix, "f")}
	delim := s[q : q+1]
	if strings.HasPrefix(s[q:], strings.Repeat(delim, 3)) {
		delim = strings.Repeat(delim, 3)
	}
	j := q + len(delim)
	var b strings.Builder
	for {
		if j >= len(s) {
			return 0, st, false
		}
		if strings.HasPrefix(s[j:], delim) {
			st.value = b.String()
			return j + len(delim), st, true
		}
		c := s[j]
		if c == '\n' && len(delim) == 1 {
			return 0, st, false
		}
		if c != '\\' {
			r, n := utf8.DecodeRuneInString(s[j:])
			if st.bytes && r >= utf8.RuneSelf {
				return 0, st, false // bytes hold ASCII literal characters only
			}
			b.WriteString(s[j : j+n])
			j += n
			continue
		}
		if j+1 >= len(s) {
			return 0, st, false
		}
		if raw {
			b.WriteString(s[j : j+2])
			j += 2
			continue
		}
		n, ok := unescape(s, j, st.bytes, &b, &st.exotic)
		if !ok {
			return 0, st, false
		}
		j = n
	}
}

// unescape decodes the backslash escape at s[j] into b and returns the
// index after it.
func unescape(s string, j int, bytesLit bool, b *strings.Builder, exotic *bool) (int, bool) {
	c := s[j+1]
	switch c {
	case '\n':
		return j + 2, true
	case '\\', '\'', '"':
		b.WriteByte(c)
		return j + 2, true
	case 'a', 'b', 'f', 'n', 'r', 't', 'v':
		b.WriteByte(map[byte]byte{'a': 7, 'b': 8, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11}[c])
		return j + 2, true
	case '0', '1', '2', '3', '4', '5', '6', '7':
		end := j + 1
		for end < len(s) && end < j+4 && s[end] >= '0' && s[end] <= '7' {
			end++
		}
		n, _ := strconv.ParseUint(s[j+1:end], 8, 32)
		if bytesLit {
			b.WriteByte(byte(n))
		} else {
			b.WriteRune(rune(n))
		}
		return end, true
	case 'x':
		if j+4 > len(s) {
			return 0, false
		}
		n, err := strconv.ParseUint(s[j+2:j+4], 16, 8)
		if err != nil {
			return 0, false
		}
		if bytesLit {
			b.WriteByte(byte(n))
		} else {
			b.WriteRune(rune(n))
		}
		return j + 4, true
	case 'u', 'U':
		if bytesLit {
			break
		}
		w := 4
		if c == 'U' {
			w = 8
		}
		if j+2+w > len(s) {
			return 0, false
		}
		n, err := strconv.ParseUint(s[j+2:j+2+w], 16, 32)
		if err != nil || n > unicode.MaxRune {
			return 0, false
		}
		b.WriteRune(rune(n))
		return j + 2 + w, true
	case 'N':
		if bytesLit {
			break
		}
		end := strings.IndexByte(s[j:], '}')
		if j+2 >= len(s) || s[j+2] != '{' || end < 0 {
			return 0, false
		}
		*exotic = true
		return j + end + 1, true
	}
	b.WriteByte('\\') // unknown escapes keep their backslash
	return j + 1, true
}

package policy

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// oslo's GenericCheck runs ast.literal_eval on the kind ("True", "'admin'",
// "user.id") at every evaluation. A literal is compared with the match; a
// valid expression that is not a literal (a name, a dotted path — the usual
// case) is a path into the credentials; anything that is not Python at all
// raises SyntaxError out of enforce(). To classify kinds the same way, this
// file holds a small Python expression front end: a tokenizer and parser
// for the expression grammar (everything a kind can spell — it never holds
// ":"), and literal_eval's conversion rules over the resulting tree.

// kindClass is how literal_eval treats a generic check's kind.
type kindClass uint8

const (
	kindPath        kindClass = iota // ValueError: a path into the credentials
	kindLiteral                      // a literal: compare its str()
	kindSyntaxError                  // SyntaxError: enforce() raises
)

// classifyKind returns how literal_eval treats kind and, for a literal,
// its str().
func classifyKind(kind string) (string, kindClass) {
	toks, ok := pyTokenize(strings.TrimLeft(kind, " \t"))
	if !ok {
		return "", kindSyntaxError
	}
	p := &pyParser{toks: toks}
	tree, ok := p.evalInput()
	if !ok {
		return "", kindSyntaxError
	}
	v, ok := litConvert(tree)
	if !ok {
		return "", kindPath
	}
	return pyStr(v), kindLiteral
}

// ---- values literal_eval can produce, beyond pyvalue.go's ----

type (
	pyBytes    string
	pyEllipsis struct{}
	pySet      []any
	pyDict     []pyPair
	pyPair     struct{ k, v any }
)

func (b pyBytes) String() string {
	quote := byte('\'')
	if strings.IndexByte(string(b), '\'') >= 0 && strings.IndexByte(string(b), '"') < 0 {
		quote = '"'
	}
	var sb strings.Builder
	sb.WriteString("b")
	sb.WriteByte(quote)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == quote || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			sb.WriteString(`\x`)
			sb.WriteString(strconv.FormatUint(uint64(c)|0x100, 16)[1:])
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(quote)
	return sb.String()
}

func (pyEllipsis) String() string { return "Ellipsis" }

func (s pySet) String() string {
	if len(s) == 0 {
		return "set()"
	}
	parts := make([]string, len(s))
	for i, e := range s {
		parts[i] = pyRepr(e)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (d pyDict) String() string {
	parts := make([]string, len(d))
	for i, p := range d {
		parts[i] = pyRepr(p.k) + ": " + pyRepr(p.v)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// pyComplex renders a complex number as Python's repr does.
func pyComplex(c complex128) string {
	re, im := real(c), imag(c)
	if re == 0 && !math.Signbit(re) {
		return pyFloatFmt(im, false, false) + "j"
	}
	return "(" + pyFloatFmt(re, false, false) + pyFloatFmt(im, false, true) + "j)"
}

// ---- tokenizer ----

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

// ---- parser ----

type pnKind uint8

const (
	pnConst pnKind = iota
	pnName
	pnUnary
	pnBin
	pnTuple
	pnList
	pnSet
	pnDict
	pnCall
	pnOther // anything literal_eval refuses
)

type pnode struct {
	kind pnKind
	op   string
	val  any
	name string
	kids []*pnode
	// pnDict: kids alternate key, value; a nil key is a ** unpacking.
}

var otherNode = &pnode{kind: pnOther}

type pyParser struct {
	toks []ptok
	pos  int
}

func (p *pyParser) peek() ptok { return p.toks[p.pos] }

func (p *pyParser) isOp(op string) bool {
	t := p.toks[p.pos]
	return t.typ == ptOp && t.text == op
}

func (p *pyParser) isKw(kw string) bool {
	t := p.toks[p.pos]
	return t.typ == ptName && t.text == kw
}

func (p *pyParser) accept(op string) bool {
	if p.isOp(op) {
		p.pos++
		return true
	}
	return false
}

// evalInput: expressions NEWLINE* ENDMARKER.
func (p *pyParser) evalInput() (*pnode, bool) {
	n, ok := p.exprList(false)
	if !ok || p.peek().typ != ptEOF {
		return nil, false
	}
	return n, true
}

// exprList parses comma-separated expressions; more than one, or a
// trailing comma, make a tuple.
func (p *pyParser) exprList(star bool) (*pnode, bool) {
	first, ok := p.item(star)
	if !ok {
		return nil, false
	}
	if !p.isOp(",") {
		return first, true
	}
	items := []*pnode{first}
	for p.accept(",") {
		if p.endOfList() {
			break
		}
		n, ok := p.item(star)
		if !ok {
			return nil, false
		}
		items = append(items, n)
	}
	return &pnode{kind: pnTuple, kids: items}, true
}

func (p *pyParser) endOfList() bool {
	t := p.peek()
	return t.typ == ptEOF || t.typ == ptOp && (t.text == ")" || t.text == "]" || t.text == "}" || t.text == "=") ||
		t.typ == ptName && t.text == "in"
}

// item is an expression, or "*expr" where star expressions are allowed.
func (p *pyParser) item(star bool) (*pnode, bool) {
	if p.isOp("*") {
		if !star {
			return nil, false
		}
		p.pos++
		if _, ok := p.bitOr(); !ok {
			return nil, false
		}
		return &pnode{kind: pnOther, op: "*"}, true
	}
	return p.test()
}

// test: disjunction ['if' disjunction 'else' test].
func (p *pyParser) test() (*pnode, bool) {
	if p.isKw("lambda") {
		return nil, false // a lambda needs ':'; kinds never hold one
	}
	n, ok := p.or()
	if !ok {
		return nil, false
	}
	if p.isKw("if") {
		p.pos++
		if _, ok := p.or(); !ok || !p.isKw("else") {
			return nil, false
		}
		p.pos++
		if _, ok := p.test(); !ok {
			return nil, false
		}
		return otherNode, true
	}
	return n, true
}

func (p *pyParser) or() (*pnode, bool) {
	n, ok := p.and()
	for ok && p.isKw("or") {
		p.pos++
		if _, ok = p.and(); ok {
			n = otherNode
		}
	}
	return n, ok
}

func (p *pyParser) and() (*pnode, bool) {
	n, ok := p.not()
	for ok && p.isKw("and") {
		p.pos++
		if _, ok = p.not(); ok {
			n = otherNode
		}
	}
	return n, ok
}

func (p *pyParser) not() (*pnode, bool) {
	if p.isKw("not") {
		p.pos++
		if _, ok := p.not(); !ok {
			return nil, false
		}
		return otherNode, true
	}
	return p.comparison()
}

func (p *pyParser) comparison() (*pnode, bool) {
	n, ok := p.bitOr()
	for ok {
		switch t := p.peek(); {
		case t.typ == ptOp && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">="):
			p.pos++
		case p.isKw("in"):
			p.pos++
		case p.isKw("is"):
			p.pos++
			if p.isKw("not") {
				p.pos++
			}
		case p.isKw("not") && p.toks[p.pos+1].typ == ptName && p.toks[p.pos+1].text == "in":
			p.pos += 2
		default:
			return n, true
		}
		if _, ok = p.bitOr(); ok {
			n = otherNode
		}
	}
	return nil, false
}

// binary parses left-associative binary operators over next.
func (p *pyParser) binary(next func() (*pnode, bool), ops ...string) (*pnode, bool) {
	n, ok := next()
	for ok {
		t := p.peek()
		found := t.typ == ptOp && contains(ops, t.text)
		if !found {
			return n, true
		}
		p.pos++
		var r *pnode
		if r, ok = next(); ok {
			n = &pnode{kind: pnBin, op: t.text, kids: []*pnode{n, r}}
		}
	}
	return nil, false
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

func (p *pyParser) bitOr() (*pnode, bool)  { return p.binary(p.bitXor, "|") }
func (p *pyParser) bitXor() (*pnode, bool) { return p.binary(p.bitAnd, "^") }
func (p *pyParser) bitAnd() (*pnode, bool) { return p.binary(p.shift, "&") }
func (p *pyParser) shift() (*pnode, bool)  { return p.binary(p.arith, "<<", ">>") }
func (p *pyParser) arith() (*pnode, bool)  { return p.binary(p.term, "+", "-") }
func (p *pyParser) term() (*pnode, bool)   { return p.binary(p.factor, "*", "/", "//", "%", "@") }

func (p *pyParser) factor() (*pnode, bool) {
	if t := p.peek(); t.typ == ptOp && (t.text == "+" || t.text == "-" || t.text == "~") {
		p.pos++
		n, ok := p.factor()
		if !ok {
			return nil, false
		}
		return &pnode{kind: pnUnary, op: t.text, kids: []*pnode{n}}, true
	}
	return p.power()
}

func (p *pyParser) power() (*pnode, bool) {
	if p.isKw("await") {
		p.pos++
		if _, ok := p.primary(); !ok {
			return nil, false
		}
		return otherNode, true
	}
	n, ok := p.primary()
	if !ok {
		return nil, false
	}
	if p.accept("**") {
		if _, ok := p.factor(); !ok {
			return nil, false
		}
		return otherNode, true
	}
	return n, true
}

func (p *pyParser) primary() (*pnode, bool) {
	n, ok := p.atom()
	for ok {
		switch {
		case p.accept("."):
			if t := p.peek(); t.typ != ptName || pyKeywords[t.text] {
				return nil, false
			}
			p.pos++
			n = otherNode
		case p.accept("("):
			args, ok2 := p.args()
			if !ok2 {
				return nil, false
			}
			if n.kind == pnName && n.name == "set" && args == 0 {
				n = &pnode{kind: pnCall, name: "set"}
			} else {
				n = otherNode
			}
		case p.accept("["):
			if _, ok2 := p.exprList(true); !ok2 || !p.accept("]") {
				return nil, false
			}
			n = otherNode
		default:
			return n, true
		}
	}
	return nil, false
}

// args parses call arguments up to ")" and returns how many there were.
func (p *pyParser) args() (int, bool) {
	n := 0
	for !p.accept(")") {
		switch {
		case p.accept("*"), p.accept("**"):
			if _, ok := p.test(); !ok {
				return 0, false
			}
		case p.peek().typ == ptName && !pyKeywords[p.peek().text] && p.toks[p.pos+1].typ == ptOp && p.toks[p.pos+1].text == "=":
			p.pos += 2
			if _, ok := p.test(); !ok {
				return 0, false
			}
		default:
			if _, ok := p.test(); !ok {
				return 0, false
			}
			if p.isKw("for") || p.isKw("async") {
				if !p.compFor() {
					return 0, false
				}
			}
		}
		n++
		if !p.accept(",") {
			if !p.accept(")") {
				return 0, false
			}
			break
		}
	}
	return n, true
}

// compFor parses comprehension clauses.
func (p *pyParser) compFor() bool {
	for p.isKw("for") || p.isKw("async") {
		if p.isKw("async") {
			p.pos++
			if !p.isKw("for") {
				return false
			}
		}
		p.pos++
		if !p.targets() || !p.isKw("in") {
			return false
		}
		p.pos++
		if _, ok := p.or(); !ok {
			return false
		}
		for p.isKw("if") {
			p.pos++
			if _, ok := p.or(); !ok {
				return false
			}
		}
	}
	return true
}

// targets parses a comprehension's for-targets.
func (p *pyParser) targets() bool {
	for {
		p.accept("*")
		if _, ok := p.bitOr(); !ok {
			return false
		}
		if !p.accept(",") || p.isKw("in") {
			return true
		}
	}
}

func (p *pyParser) atom() (*pnode, bool) {
	t := p.peek()
	switch t.typ {
	case ptNumber:
		p.pos++
		return &pnode{kind: pnConst, val: t.val}, true
	case ptString:
		return p.strings()
	case ptName:
		switch t.text {
		case "True":
			p.pos++
			return &pnode{kind: pnConst, val: true}, true
		case "False":
			p.pos++
			return &pnode{kind: pnConst, val: false}, true
		case "None":
			p.pos++
			return &pnode{kind: pnConst, val: nil}, true
		}
		if pyKeywords[t.text] {
			return nil, false
		}
		p.pos++
		return &pnode{kind: pnName, name: t.text}, true
	case ptOp:
		p.pos++
		switch t.text {
		case "...":
			return &pnode{kind: pnConst, val: pyEllipsis{}}, true
		case "(":
			if p.accept(")") {
				return &pnode{kind: pnTuple}, true
			}
			if p.isKw("yield") {
				p.pos++
				if !p.isOp(")") {
					if _, ok := p.exprList(true); !ok {
						return nil, false
					}
				}
				return otherNode, p.accept(")")
			}
			return p.display(")", pnTuple)
		case "[":
			if p.accept("]") {
				return &pnode{kind: pnList}, true
			}
			return p.display("]", pnList)
		case "{":
			if p.accept("}") {
				return &pnode{kind: pnDict}, true
			}
			if p.isOp("**") { // {**a, ...}: a dict, never a literal here
				for !p.accept("}") {
					if !p.accept("**") {
						return nil, false
					}
					if _, ok := p.bitOr(); !ok {
						return nil, false
					}
					if !p.accept(",") && !p.isOp("}") {
						return nil, false
					}
				}
				return otherNode, true
			}
			return p.display("}", pnSet)
		}
	}
	return nil, false
}

// display parses the inside of (), [] or {} after a first item exists.
func (p *pyParser) display(closer string, kind pnKind) (*pnode, bool) {
	first, ok := p.item(true)
	if !ok {
		return nil, false
	}
	if p.isKw("for") || p.isKw("async") {
		if !p.compFor() || !p.accept(closer) {
			return nil, false
		}
		return otherNode, true
	}
	if kind == pnTuple && p.accept(")") {
		if first.op == "*" && first.kind == pnOther {
			return nil, false // "(*a)"
		}
		return first, true // parenthesised expression
	}
	items := []*pnode{first}
	for p.accept(",") {
		if p.isOp(closer) {
			break
		}
		n, ok := p.item(true)
		if !ok {
			return nil, false
		}
		items = append(items, n)
	}
	if !p.accept(closer) {
		return nil, false
	}
	return &pnode{kind: kind, kids: items}, true
}

// strings parses adjacent string literals, which Python concatenates.
func (p *pyParser) strings() (*pnode, bool) {
	var b strings.Builder
	first := p.peek().val.(strTok)
	isFmt, exotic := false, false
	for p.peek().typ == ptString {
		st := p.peek().val.(strTok)
		if st.bytes != first.bytes {
			return nil, false // cannot mix bytes and nonbytes literals
		}
		isFmt = isFmt || st.fmt
		exotic = exotic || st.exotic
		b.WriteString(st.value)
		p.pos++
	}
	if isFmt || exotic {
		return otherNode, true
	}
	if first.bytes {
		return &pnode{kind: pnConst, val: pyBytes(b.String())}, true
	}
	return &pnode{kind: pnConst, val: b.String()}, true
}

// ---- literal_eval ----

// litConvert applies literal_eval's rules; false is its ValueError.
func litConvert(n *pnode) (any, bool) {
	switch n.kind {
	case pnConst:
		return n.val, true
	case pnTuple, pnList, pnSet:
		items := make([]any, 0, len(n.kids))
		for _, k := range n.kids {
			v, ok := litConvert(k)
			if !ok {
				return nil, false
			}
			items = append(items, v)
		}
		switch n.kind {
		case pnTuple:
			return pyTuple(items), true
		case pnList:
			return items, true
		}
		var set pySet
		seen := map[string]bool{}
		for _, v := range items {
			if k := pyRepr(v); !seen[k] {
				seen[k] = true
				set = append(set, v)
			}
		}
		return set, true
	case pnDict:
		return pyDict{}, true
	case pnCall:
		return pySet{}, true
	case pnBin:
		if n.op != "+" && n.op != "-" {
			return nil, false
		}
		l, ok := signedNum(n.kids[0])
		if !ok {
			return nil, false
		}
		r, ok := plainNum(n.kids[1])
		if !ok {
			return nil, false
		}
		rc, ok := r.(complex128)
		if _, lc := l.(complex128); !ok || lc {
			return nil, false
		}
		lc := toComplex(l)
		if n.op == "+" {
			return complex(real(lc)+real(rc), imag(lc)+imag(rc)), true
		}
		return complex(real(lc)-real(rc), imag(lc)-imag(rc)), true
	}
	return signedNum(n)
}

func plainNum(n *pnode) (any, bool) {
	if n.kind != pnConst {
		return nil, false
	}
	switch n.val.(type) {
	case *big.Int, float64, complex128:
		return n.val, true
	}
	return nil, false
}

func signedNum(n *pnode) (any, bool) {
	if n.kind != pnUnary || n.op == "~" {
		return plainNum(n)
	}
	v, ok := plainNum(n.kids[0])
	if !ok || n.op == "+" {
		return v, ok
	}
	switch x := v.(type) {
	case *big.Int:
		return new(big.Int).Neg(x), true
	case float64:
		return -x, true
	case complex128:
		return complex(-real(x), -imag(x)), true
	}
	return nil, false
}

func toComplex(v any) complex128 {
	switch x := v.(type) {
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return complex(f, 0)
	case float64:
		return complex(x, 0)
	case complex128:
		return x
	}
	return 0
}

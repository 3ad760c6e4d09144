package policy

import (
	"math"
	"math/big"
	"strconv"
	"strings"
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

package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// op is the kind of a node in a parsed check tree.
type op uint8

const (
	opFalse   op = iota // "!", and every check oslo fails closed on
	opTrue              // "@", ""
	opAnd               // a and b and ...
	opOr                // a or b or ...
	opNot               // not a
	opRule              // rule:NAME
	opRole              // role:NAME
	opGeneric           // key:value
	opHTTP              // http:... and https:..., never true here
)

// maxRuleDepth bounds rule:NAME indirection while evaluating, so that a
// cyclic policy file denies instead of recursing without end (Python would
// die with RecursionError).
const maxRuleDepth = 64

// node is one check of a parsed tree. Trees are built once per rule set and
// only read afterwards.
type node struct {
	op   op
	kids []*node // opAnd, opOr, opNot

	// kind and match are the two halves of a "kind:match" check as written.
	kind, match string

	tmpl template // opRole, opGeneric: the parsed match
	// opRole: the match lowered, when it needs no substitution.
	roleLower string
	// opGeneric: how literal_eval sees the kind; str() of the literal, or
	// the dotted path into the credentials.
	class kindClass
	lit   string
	path  []string

	// opRule: the rule it names, linked when its rule set is built. nil when
	// neither that rule nor the default rule exists.
	ref *entry
}

var (
	trueNode  = &node{op: opTrue}
	falseNode = &node{op: opFalse}
)

// String renders the tree as oslo's str() does; operators see this in logs.
func (n *node) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	switch n.op {
	case opFalse:
		b.WriteString("!")
	case opTrue:
		b.WriteString("@")
	case opNot:
		b.WriteString("not ")
		n.kids[0].write(b)
	case opAnd, opOr:
		sep := " and "
		if n.op == opOr {
			sep = " or "
		}
		b.WriteByte('(')
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			k.write(b)
		}
		b.WriteByte(')')
	default:
		b.WriteString(n.kind)
		b.WriteByte(':')
		b.WriteString(n.match)
	}
}

// equal is oslo's Check equality: same shape, same kinds and matches.
func (n *node) equal(o *node) bool {
	if n.op != o.op {
		return false
	}
	switch n.op {
	case opTrue, opFalse:
		return true
	case opAnd, opOr, opNot:
		if len(n.kids) != len(o.kids) {
			return false
		}
		for i := range n.kids {
			if !n.kids[i].equal(o.kids[i]) {
				return false
			}
		}
		return true
	}
	return n.kind == o.kind && n.match == o.match
}

// walk calls f on every node of the tree.
func (n *node) walk(f func(*node)) {
	f(n)
	for _, k := range n.kids {
		k.walk(f)
	}
}

// result is the outcome of evaluating a check. rAbort stands for a Python
// exception: oslo's enforce() raises it (the service answers 500), so the
// request is refused whatever the checks around it say — in particular a
// "not" around it does not turn it into a pass.
type result uint8

const (
	rFalse result = iota
	rTrue
	rAbort
)

func resultOf(b bool) result {
	if b {
		return rTrue
	}
	return rFalse
}

// eval evaluates the tree against one request, left to right with
// short-circuits, as oslo does.
func (n *node) eval(target map[string]any, c *Credentials, depth int) result {
	switch n.op {
	case opTrue:
		return rTrue
	case opAnd:
		for _, k := range n.kids {
			if r := k.eval(target, c, depth); r != rTrue {
				return r
			}
		}
		return rTrue
	case opOr:
		for _, k := range n.kids {
			if r := k.eval(target, c, depth); r != rFalse {
				return r
			}
		}
		return rFalse
	case opNot:
		switch n.kids[0].eval(target, c, depth) {
		case rTrue:
			return rFalse
		case rFalse:
			return rTrue
		}
		return rAbort
	case opRule:
		if n.ref == nil {
			return rFalse
		}
		if depth >= maxRuleDepth {
			return rAbort // Python: RecursionError
		}
		return n.ref.root.eval(target, c, depth+1)
	case opRole:
		return n.evalRole(target, c)
	case opGeneric:
		m, r := n.tmpl.render(target)
		if r != rTrue {
			return r
		}
		switch n.class {
		case kindLiteral:
			return resultOf(m == n.lit)
		case kindSyntaxError:
			return rAbort
		}
		return c.find(n.path, m)
	}
	return rFalse // opFalse, opHTTP
}

// evalRole is oslo's RoleCheck: the (substituted) match is compared, lower
// case, with each of the credentials' roles, lower case.
func (n *node) evalRole(target map[string]any, c *Credentials) result {
	want := n.roleLower
	lowered := true
	if !n.tmpl.static() {
		m, r := n.tmpl.render(target)
		if r != rTrue {
			return r
		}
		want, lowered = m, false
	}
	roles := c.Roles
	if roles == nil {
		if v, ok := c.Extra[keyRoles]; ok {
			var r result
			if roles, r = extraRoles(v); r != rTrue {
				return r
			}
		}
	}
	for _, role := range roles {
		if lowered {
			if equalLower(want, role) {
				return rTrue
			}
		} else if equalFoldLower(want, role) {
			return rTrue
		}
	}
	return rFalse
}

// extraRoles reads a roles value that came in a creds dict as Python's
// [x.lower() for x in creds['roles']] would iterate it.
func extraRoles(v any) ([]string, result) {
	switch x := v.(type) {
	case []string:
		return x, rTrue
	case string: // iterating a str yields its characters
		var out []string
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, rTrue
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, rAbort // no .lower()
			}
			out = append(out, s)
		}
		return out, rTrue
	case map[string]any:
		out := make([]string, 0, len(x))
		for k := range x {
			out = append(out, k)
		}
		return out, rTrue
	}
	return nil, rAbort // not iterable
}

// equalLower reports whether lower == strings.ToLower(s), where lower is
// already lower case, without allocating.
func equalLower(lower, s string) bool {
	if len(lower) == len(s) {
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c >= utf8.RuneSelf {
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[i] {
				return false
			}
		}
		if i == len(s) {
			return true
		}
	}
	return equalFoldLower(lower, s)
}

// equalFoldLower reports whether strings.ToLower(a) == strings.ToLower(b)
// without allocating: ToLower maps rune by rune, so comparing the mapped
// runes pairwise is the same test.
func equalFoldLower(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb && unicode.ToLower(ra) != unicode.ToLower(rb) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b == ""
}

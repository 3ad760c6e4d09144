package policy

import (
	"fmt"
	"strings"
	"unicode"
)

// The policy language, as oslo.policy's _parser reads it:
//
//   - the rule text is split on runs of whitespace; leading "(" and trailing
//     ")" are peeled off each piece as parenthesis tokens;
//   - "and", "or", "not" (any case) are operators; a piece quoted with ' or "
//     at both ends is a bare string, which no grammar rule accepts, so it
//     fails the whole rule; every other piece is a check;
//   - tokens are shifted onto a stack that is greedily reduced after every
//     shift: "(" X ")" → X; "a and b" → and-expr; "or-expr and c" rebinds c
//     to the last operand of the or (so "and" binds tighter); "not x" → x.
//
// A rule that does not reduce to a single check fails closed (it is "!"),
// and so does a single check that has no ":".

// problemList collects the reasons a rule failed closed, for the log.
type problemList []string

func (p *problemList) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

type tokKind uint8

const (
	tkCheck tokKind = iota
	tkAndExpr
	tkOrExpr
	tkAnd
	tkOr
	tkNot
	tkLParen
	tkRParen
	tkString
)

type token struct {
	kind tokKind
	n    *node
}

// parseText parses a rule written in the policy language.
func parseText(rule string, probs *problemList) *node {
	if rule == "" {
		return trueNode
	}
	var stack []token
	shift := func(t token) {
		stack = append(stack, t)
		stack = reduce(stack)
	}
	for _, piece := range strings.FieldsFunc(rule, pyIsSpace) {
		tok := strings.TrimLeft(piece, "(")
		for range len(piece) - len(tok) {
			shift(token{kind: tkLParen})
		}
		if tok == "" {
			continue
		}
		clean := strings.TrimRight(tok, ")")
		trail := len(tok) - len(clean)
		switch {
		case clean == "":
		case asciiLowerIs(clean, "and"):
			shift(token{kind: tkAnd})
		case asciiLowerIs(clean, "or"):
			shift(token{kind: tkOr})
		case asciiLowerIs(clean, "not"):
			shift(token{kind: tkNot})
		case len(tok) >= 2 && (tok[0] == '"' || tok[0] == '\'') && tok[len(tok)-1] == tok[0]:
			shift(token{kind: tkString})
		default:
			shift(token{kind: tkCheck, n: parseCheck(clean, probs)})
		}
		for range trail {
			shift(token{kind: tkRParen})
		}
	}
	if len(stack) != 1 {
		probs.add("could not parse rule %q", rule)
		return falseNode
	}
	switch stack[0].kind {
	case tkCheck, tkAndExpr, tkOrExpr:
		return stack[0].n
	}
	probs.add("could not parse rule %q", rule)
	return falseNode
}

// reduce applies oslo's reductions to the top of the stack until none fits.
func reduce(st []token) []token {
	for {
		n := len(st)
		if n >= 3 {
			a, b, c := st[n-3], st[n-2], st[n-1]
			switch {
			case a.kind == tkLParen && c.kind == tkRParen &&
				(b.kind == tkCheck || b.kind == tkAndExpr || b.kind == tkOrExpr):
				st = append(st[:n-3], token{kind: tkCheck, n: b.n})
				continue
			case a.kind == tkCheck && b.kind == tkAnd && c.kind == tkCheck:
				st = append(st[:n-3], token{kind: tkAndExpr, n: &node{op: opAnd, kids: []*node{a.n, c.n}}})
				continue
			case a.kind == tkAndExpr && b.kind == tkAnd && c.kind == tkCheck:
				a.n.kids = append(a.n.kids, c.n)
				st = append(st[:n-3], token{kind: tkAndExpr, n: a.n})
				continue
			case a.kind == tkOrExpr && b.kind == tkAnd && c.kind == tkCheck:
				// "a or b and c": c joins b, not the whole or.
				last := a.n.kids[len(a.n.kids)-1]
				if last.op == opAnd {
					last.kids = append(last.kids, c.n)
				} else {
					a.n.kids[len(a.n.kids)-1] = &node{op: opAnd, kids: []*node{last, c.n}}
				}
				st = append(st[:n-3], token{kind: tkOrExpr, n: a.n})
				continue
			case (a.kind == tkCheck || a.kind == tkAndExpr) && b.kind == tkOr && c.kind == tkCheck:
				st = append(st[:n-3], token{kind: tkOrExpr, n: &node{op: opOr, kids: []*node{a.n, c.n}}})
				continue
			case a.kind == tkOrExpr && b.kind == tkOr && c.kind == tkCheck:
				a.n.kids = append(a.n.kids, c.n)
				st = append(st[:n-3], token{kind: tkOrExpr, n: a.n})
				continue
			}
		}
		if n >= 2 && st[n-2].kind == tkNot && st[n-1].kind == tkCheck {
			st = append(st[:n-2], token{kind: tkCheck, n: &node{op: opNot, kids: []*node{st[n-1].n}}})
			continue
		}
		return st
	}
}

// parseCheck parses one "kind:match" check (or "@", "!").
func parseCheck(s string, probs *problemList) *node {
	switch s {
	case "!":
		return falseNode
	case "@":
		return trueNode
	}
	kind, match, ok := strings.Cut(s, ":")
	if !ok {
		probs.add("failed to understand check %q", s)
		return falseNode
	}
	n := &node{kind: kind, match: match}
	switch kind {
	case "rule":
		n.op = opRule
	case "role":
		n.op = opRole
		n.tmpl = parseTemplate(match)
		if n.tmpl.static() {
			n.roleLower = strings.ToLower(n.tmpl.lit)
		}
	case "http", "https":
		// Remote checks POST the target and credentials to a URL. tenku
		// makes no such calls: the check never passes.
		n.op = opHTTP
		probs.add("remote check %q is not supported and never passes", s)
	default:
		n.op = opGeneric
		n.tmpl = parseTemplate(match)
		n.lit, n.class = classifyKind(kind)
		switch n.class {
		case kindPath:
			n.path = strings.Split(kind, ".")
		case kindSyntaxError:
			probs.add("check %q: %q is not a Python literal or name (oslo raises SyntaxError); requests reaching it are refused", s, kind)
		}
	}
	if p := n.tmpl.problem(); p != "" {
		probs.add("check %q: %s (oslo raises); requests reaching it are refused", s, p)
	}
	return n
}

// parseList parses the legacy list-of-lists form: the outer list is or-ed,
// each inner list and-ed; a bare string in the outer list is a one-check
// list. Each element is a single check, not policy-language text.
func parseList(rule []any, probs *problemList) *node {
	if len(rule) == 0 {
		return trueNode
	}
	var ors []*node
	for _, inner := range rule {
		var items []any
		switch x := inner.(type) {
		case string:
			items = []any{x}
		case []any:
			items = x
		case nil:
			continue
		default:
			probs.add("rule list element %v is neither a string nor a list", inner)
			return falseNode
		}
		if len(items) == 0 {
			continue
		}
		var ands []*node
		for _, it := range items {
			s, ok := it.(string)
			if !ok {
				probs.add("rule list check %v is not a string", it)
				return falseNode
			}
			ands = append(ands, parseCheck(s, probs))
		}
		if len(ands) == 1 {
			ors = append(ors, ands[0])
		} else {
			ors = append(ors, &node{op: opAnd, kids: ands})
		}
	}
	switch len(ors) {
	case 0:
		return falseNode
	case 1:
		return ors[0]
	}
	return &node{op: opOr, kids: ors}
}

// parseValue parses a rule as found in a policy file: text, a legacy list,
// or nothing at all (YAML "name:" with no value), which oslo reads as an
// empty list and so as "always".
func parseValue(v any, probs *problemList) *node {
	switch x := v.(type) {
	case string:
		return parseText(x, probs)
	case []any:
		return parseList(x, probs)
	case nil:
		return trueNode
	}
	probs.add("rule value %v is neither a string nor a list", v)
	return falseNode
}

// pyIsSpace is Python's str.isspace for one character, which the tokenizer's
// \s matches.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// asciiLowerIs reports whether s lower-cased equals the lower-case ASCII
// word w. No non-ASCII character lowers to the letters of and/or/not.
func asciiLowerIs(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

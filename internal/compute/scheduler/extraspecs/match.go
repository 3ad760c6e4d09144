package extraspecs

import (
	"strconv"
	"strings"
)

// Operator is one of the words that may open an extra-spec requirement.
type Operator string

// The operators Nova understands. A requirement whose first word is none of
// these is compared to the value as a plain string.
const (
	// OpNumGE ("=") matches when the value, as a number, is at least the operand.
	OpNumGE Operator = "="
	// OpNumEq ("==") matches numerically equal values.
	OpNumEq Operator = "=="
	// OpNumNe ("!=") matches numerically different values.
	OpNumNe Operator = "!="
	// OpNumGTE (">=") matches values numerically greater than or equal to the operand.
	OpNumGTE Operator = ">="
	// OpNumLTE ("<=") matches values numerically less than or equal to the operand.
	OpNumLTE Operator = "<="
	// OpStrEq ("s==") matches identical strings.
	OpStrEq Operator = "s=="
	// OpStrNe ("s!=") matches different strings.
	OpStrNe Operator = "s!="
	// OpStrLT ("s<") matches values sorting before the operand.
	OpStrLT Operator = "s<"
	// OpStrLE ("s<=") matches values sorting before or equal to the operand.
	OpStrLE Operator = "s<="
	// OpStrGT ("s>") matches values sorting after the operand.
	OpStrGT Operator = "s>"
	// OpStrGE ("s>=") matches values sorting after or equal to the operand.
	OpStrGE Operator = "s>="
	// OpIn ("<in>") matches when the operand is a substring of the value.
	OpIn Operator = "<in>"
	// OpAllIn ("<all-in>") matches when every operand is a substring of the value.
	OpAllIn Operator = "<all-in>"
	// OpOr ("<or>") matches when the value equals one of the alternatives,
	// written "<or> a <or> b <or> c".
	OpOr Operator = "<or>"
)

// Match reports whether value satisfies req, an extra-spec requirement.
//
// The rules are Nova's: req is split on white space; if its first word is an
// operator, the following word(s) are its operands; otherwise req must equal
// value exactly. Numeric operators compare the values as floating-point
// numbers; a value or operand that is not a number never matches (Nova would
// fail the whole request; a non-match names the filter in the fault instead).
// An operator with no operand never matches.
func Match(value, req string) bool {
	op, rest, ok := nextWord(req)
	if !ok {
		return value == req
	}
	switch Operator(op) {
	case OpOr:
		return matchOr(value, rest)
	case OpAllIn:
		seen := false
		for {
			w, r, ok := nextWord(rest)
			if !ok {
				return seen
			}
			if !strings.Contains(value, w) {
				return false
			}
			seen = true
			rest = r
		}
	case OpNumGE, OpNumEq, OpNumNe, OpNumGTE, OpNumLTE,
		OpStrEq, OpStrNe, OpStrLT, OpStrLE, OpStrGT, OpStrGE, OpIn:
		operand, _, ok := nextWord(rest)
		if !ok {
			return false
		}
		return compare(Operator(op), value, operand)
	default:
		return value == req
	}
}

// matchOr walks "a <or> b <or> c": every other word is an alternative.
func matchOr(value, rest string) bool {
	for {
		w, r, ok := nextWord(rest)
		if !ok {
			return false
		}
		if w == value {
			return true
		}
		// Skip the "<or>" separator (whatever word it is, as Nova does).
		_, r, ok = nextWord(r)
		if !ok {
			return false
		}
		rest = r
	}
}

func compare(op Operator, value, operand string) bool {
	switch op {
	case OpStrEq:
		return value == operand
	case OpStrNe:
		return value != operand
	case OpStrLT:
		return value < operand
	case OpStrLE:
		return value <= operand
	case OpStrGT:
		return value > operand
	case OpStrGE:
		return value >= operand
	case OpIn:
		return strings.Contains(value, operand)
	}
	v, err := parseNumber(value)
	if err != nil {
		return false
	}
	o, err := parseNumber(operand)
	if err != nil {
		return false
	}
	switch op {
	case OpNumGE, OpNumGTE:
		return v >= o
	case OpNumEq:
		return v == o
	case OpNumNe:
		return v != o
	case OpNumLTE:
		return v <= o
	}
	return false
}

// parseNumber reads a number the way Python's float() does for the inputs
// that matter here: surrounding white space is allowed.
func parseNumber(s string) (float64, error) {
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

// nextWord returns the first white-space separated word of s and what
// follows it, without allocating.
func nextWord(s string) (word, rest string, ok bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return "", "", false
	}
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:], true
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

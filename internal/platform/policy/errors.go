package policy

import (
	"fmt"
	"strings"
)

// Kind says why a request was refused.
type Kind int

const (
	// Forbidden: the rule's check did not pass (oslo's PolicyNotAuthorized).
	Forbidden Kind = iota + 1
	// InvalidScope: the token's scope is not among the rule's scope types
	// and scope is enforced (oslo's InvalidScope).
	InvalidScope
	// NotRegistered: Authorize was asked about a rule no service
	// registered (oslo's PolicyNotRegistered); a programming error.
	NotRegistered
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Forbidden:
		return "forbidden"
	case InvalidScope:
		return "invalid scope"
	case NotRegistered:
		return "not registered"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is the error Enforce and Authorize return. Services answer
// Forbidden and InvalidScope with 403 and the rule name, as OpenStack does
// ("Policy doesn't allow %s to be performed.").
type Error struct {
	Kind Kind
	// Rule is the rule name that was enforced.
	Rule string
	// ScopeTypes and TokenScope are set for InvalidScope.
	ScopeTypes []string
	TokenScope string
}

// Sentinels for errors.Is: errors.Is(err, policy.ErrInvalidScope) is true
// for any *Error of that kind.
var (
	ErrForbidden     = &Error{Kind: Forbidden}
	ErrInvalidScope  = &Error{Kind: InvalidScope}
	ErrNotRegistered = &Error{Kind: NotRegistered}
)

// Error renders the message oslo.policy puts in its exceptions.
func (e *Error) Error() string {
	switch e.Kind {
	case InvalidScope:
		quoted := make([]string, len(e.ScopeTypes))
		for i, s := range e.ScopeTypes {
			quoted[i] = pyReprString(s)
		}
		return fmt.Sprintf("%s requires a scope of [%s], request was made with %s scope.",
			e.Rule, strings.Join(quoted, ", "), e.TokenScope)
	case NotRegistered:
		return fmt.Sprintf("Policy %s has not been registered", e.Rule)
	}
	return fmt.Sprintf("%s is disallowed by policy", e.Rule)
}

// Is matches the sentinels by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Rule == "" && t.Kind == e.Kind
}

package fernet

import (
	"fmt"
	"math/bits"
)

// maxMethods bounds the method list so every bit fits a uint64 with room to
// detect out-of-range bits.
const maxMethods = 63

// DefaultMethods returns Keystone's default [auth] methods list, in order.
// The order is part of the wire format: method i is bit 1<<i of the token's
// methods integer, so tenku and Keystone must use the same list.
func DefaultMethods() []string {
	return []string{"external", "password", "token", "oauth1", "mapped", "application_credential"}
}

// methodSet maps auth method names to Keystone's integer bitmask.
type methodSet struct {
	names []string
	bits  map[string]uint64
}

func newMethodSet(names []string) (methodSet, error) {
	if len(names) == 0 {
		return methodSet{}, fmt.Errorf("fernet: empty auth methods list")
	}
	if len(names) > maxMethods {
		return methodSet{}, fmt.Errorf("fernet: %d auth methods, at most %d fit a token", len(names), maxMethods)
	}
	m := methodSet{names: append([]string(nil), names...), bits: make(map[string]uint64, len(names))}
	for i, n := range names {
		if n == "" {
			return methodSet{}, fmt.Errorf("fernet: empty auth method name at position %d", i)
		}
		if _, dup := m.bits[n]; dup {
			return methodSet{}, fmt.Errorf("fernet: auth method %q listed twice", n)
		}
		m.bits[n] = 1 << i
	}
	return m, nil
}

// encode sums the bits of methods, as Keystone's
// convert_method_list_to_integer. A name twice counts once; a name not in
// the list is an error (Keystone would drop it silently).
func (m methodSet) encode(methods []string) (uint64, error) {
	var n uint64
	for _, name := range methods {
		bit, ok := m.bits[name]
		if !ok {
			return 0, invalidPayload("auth method %q is not in the configured methods list", name)
		}
		n |= bit
	}
	return n, nil
}

// decode is Keystone's convert_integer_to_method_list: names from the
// highest bit down. Keystone's division-based walk yields no methods at all
// when any bit beyond the list is set (a token from a deployment with a
// longer list), and so does this.
func (m methodSet) decode(n uint64) []string {
	if n == 0 || n>>len(m.names) != 0 {
		return []string{}
	}
	out := make([]string, 0, bits.OnesCount64(n))
	for i := len(m.names) - 1; i >= 0; i-- {
		if n&(1<<i) != 0 {
			out = append(out, m.names[i])
		}
	}
	return out
}

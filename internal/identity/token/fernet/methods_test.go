package fernet

import (
	"errors"
	"slices"
	"testing"
)

func TestMethodBitmask(t *testing.T) {
	m, err := newMethodSet(DefaultMethods())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		methods []string
		n       uint64
		decoded []string // Keystone's order: highest bit first
	}{
		{nil, 0, []string{}},
		{[]string{"external"}, 1, []string{"external"}},
		{[]string{"password"}, 2, []string{"password"}},
		{[]string{"password", "token"}, 6, []string{"token", "password"}},
		{[]string{"token", "password", "token"}, 6, []string{"token", "password"}},
		{[]string{"mapped"}, 16, []string{"mapped"}},
		{[]string{"application_credential"}, 32, []string{"application_credential"}},
		{DefaultMethods(), 63, []string{"application_credential", "mapped", "oauth1", "token", "password", "external"}},
	} {
		n, err := m.encode(tc.methods)
		if err != nil || n != tc.n {
			t.Errorf("encode(%v) = %d, %v; want %d", tc.methods, n, err, tc.n)
		}
		if got := m.decode(tc.n); !slices.Equal(got, tc.decoded) || got == nil {
			t.Errorf("decode(%d) = %#v, want %v", tc.n, got, tc.decoded)
		}
	}
}

// TestMethodBitmaskOutOfRange pins Keystone's convert_integer_to_method_list
// quirk: a bit beyond the configured list makes every quotient >= 2, so no
// method is returned at all.
func TestMethodBitmaskOutOfRange(t *testing.T) {
	m, _ := newMethodSet([]string{"password", "token"})
	for n, want := range map[uint64][]string{
		3:          {"token", "password"},
		4:          {},
		5:          {},
		1 << 40:    {},
		^uint64(0): {},
	} {
		if got := m.decode(n); !slices.Equal(got, want) {
			t.Errorf("decode(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestMethodEncodeUnknown(t *testing.T) {
	m, _ := newMethodSet(DefaultMethods())
	if _, err := m.encode([]string{"password", "totp"}); !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("encode of an unconfigured method: %v, want ErrInvalidPayload", err)
	}
}

func TestMethodConfig(t *testing.T) {
	long := make([]string, 64)
	for i := range long {
		long[i] = string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	for _, tc := range []struct {
		name    string
		methods []string
		ok      bool
	}{
		{"default", DefaultMethods(), true},
		{"custom", []string{"password", "totp"}, true},
		{"empty", nil, false},
		{"duplicate", []string{"password", "password"}, false},
		{"blank name", []string{"password", ""}, false},
		{"too many", long, false},
		{"63", long[:63], true},
	} {
		if _, err := newMethodSet(tc.methods); (err == nil) != tc.ok {
			t.Errorf("%s: newMethodSet err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config does not validate: %v", err)
	}
	if err := (Config{Methods: []string{"a", "a"}}).Validate(); err == nil {
		t.Error("Config with a duplicate method validates")
	}
}

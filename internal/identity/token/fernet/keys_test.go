package fernet

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

func mustKey(t *testing.T) Key {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseKey(t *testing.T) {
	k := mustKey(t)
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"padded", k.Encode(), true},
		{"trailing newline", k.Encode() + "\n", true},
		{"unpadded", strings.TrimRight(k.Encode(), "="), true},
		{"empty", "", false},
		{"31 bytes", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", false},
		{"33 bytes", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
		{"standard alphabet", strings.Repeat("+", 43) + "=", false},
		{"garbage", "not a key at all", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseKey(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("error %v does not wrap ErrInvalidKey", err)
			}
			if tc.ok && got != k {
				t.Errorf("ParseKey round trip changed the key")
			}
		})
	}
	if len(k.Encode()) != 44 {
		t.Errorf("key string has %d characters, Keystone's have 44", len(k.Encode()))
	}
}

func ringOf(t *testing.T, idx ...int) *KeyRing {
	t.Helper()
	r := NewKeyRing()
	for _, i := range idx {
		if err := r.Set(i, mustKey(t)); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestRotate(t *testing.T) {
	for _, tc := range []struct {
		before    []int
		max       int
		after     []int // highest first
		wantError bool
	}{
		{before: []int{0}, max: 3, after: []int{1, 0}},
		{before: []int{0, 1}, max: 3, after: []int{2, 1, 0}},
		{before: []int{0, 1, 2}, max: 3, after: []int{3, 2, 0}},
		{before: []int{0, 1, 2}, max: 5, after: []int{3, 2, 1, 0}},
		{before: []int{0, 1, 2, 3, 4}, max: 3, after: []int{5, 4, 0}},
		{before: []int{0, 1}, max: 1, after: []int{0}},
		{before: []int{0, 3, 7}, max: 3, after: []int{8, 7, 0}},
		{before: []int{1, 2}, max: 3, wantError: true}, // no staged key
		{before: nil, max: 3, wantError: true},
		{before: []int{0}, max: 0, wantError: true},
	} {
		r := ringOf(t, tc.before...)
		oldStaged, _ := r.Staged()
		newStaged := mustKey(t)
		err := r.rotate(tc.max, newStaged)
		if tc.wantError {
			if err == nil {
				t.Errorf("rotate(%v, max %d) succeeded, want error", tc.before, tc.max)
			}
			continue
		}
		if err != nil {
			t.Fatalf("rotate(%v, max %d): %v", tc.before, tc.max, err)
		}
		if got := r.Indexes(); !slices.Equal(got, tc.after) {
			t.Errorf("rotate(%v, max %d) left %v, want %v", tc.before, tc.max, got, tc.after)
		}
		if k, _ := r.Staged(); k != newStaged {
			t.Errorf("rotate(%v): key 0 is not the new staged key", tc.before)
		}
		if i, k, _ := r.Primary(); i != 0 && k != oldStaged {
			t.Errorf("rotate(%v): primary %d is not the old staged key", tc.before, i)
		}
	}
}

// TestRotateLikeKeystone replays rotations Keystone's FernetUtils did
// (testdata/keystone_rotations.json): same starting keys, same new staged
// key, the same repository must come out.
func TestRotateLikeKeystone(t *testing.T) {
	var doc struct {
		Rotations []struct {
			Operation     string         `json:"operation"`
			MaxActiveKeys int            `json:"max_active_keys"`
			Before        map[int]string `json:"before"`
			After         map[int]string `json:"after"`
		} `json:"rotations"`
	}
	readJSON(t, "testdata/keystone_rotations.json", &doc)
	if len(doc.Rotations) < 5 {
		t.Fatalf("only %d rotations in the vectors", len(doc.Rotations))
	}
	for _, rot := range doc.Rotations {
		r, err := LoadKeyRing(rot.Before)
		if err != nil {
			t.Fatal(err)
		}
		switch rot.Operation {
		case "rotate":
			staged, err := ParseKey(rot.After[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := r.rotate(rot.MaxActiveKeys, staged); err != nil {
				t.Fatalf("rotate %v max %d: %v", slices.Sorted(maps.Keys(rot.Before)), rot.MaxActiveKeys, err)
			}
			if got := r.Dump(); !maps.Equal(got, rot.After) {
				t.Errorf("rotate %v max %d: got %v, Keystone made %v", slices.Sorted(maps.Keys(rot.Before)), rot.MaxActiveKeys, got, rot.After)
			}
		case "setup":
			if ok, err := r.Setup(rot.MaxActiveKeys); !ok || err != nil {
				t.Fatalf("Setup = %v, %v", ok, err)
			}
			if got, want := slices.Sorted(maps.Keys(r.Dump())), slices.Sorted(maps.Keys(rot.After)); !slices.Equal(got, want) {
				t.Errorf("Setup made keys %v, Keystone %v", got, want)
			}
		default:
			t.Fatalf("unknown operation %q", rot.Operation)
		}
	}
}

func TestSetup(t *testing.T) {
	r := NewKeyRing()
	ok, err := r.Setup(3)
	if !ok || err != nil {
		t.Fatalf("Setup on empty ring = %v, %v", ok, err)
	}
	if got := r.Indexes(); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("Setup made %v, want [1 0]", got)
	}
	before := r.Dump()
	if ok, err := r.Setup(3); ok || err != nil {
		t.Fatalf("second Setup = %v, %v, want false, nil", ok, err)
	}
	if !maps.Equal(before, r.Dump()) {
		t.Error("second Setup changed the ring")
	}
	if _, err := NewKeyRing().Setup(0); err == nil {
		t.Error("Setup(0) succeeded")
	}
}

func TestKeyRingBasics(t *testing.T) {
	r := NewKeyRing()
	if _, _, ok := r.Primary(); ok {
		t.Error("empty ring has a primary")
	}
	k0 := mustKey(t)
	_ = r.Set(0, k0)
	if i, k, ok := r.Primary(); !ok || i != 0 || k != k0 {
		t.Errorf("ring {0}: primary = %d, %v; want the staged key", i, ok)
	}
	k5 := mustKey(t)
	_ = r.Set(5, k5)
	if i, k, _ := r.Primary(); i != 5 || k != k5 {
		t.Errorf("primary = %d, want 5", i)
	}
	if err := r.Set(-1, k0); err == nil {
		t.Error("Set(-1) succeeded")
	}
	c := r.Clone()
	_ = c.Set(9, k0)
	if r.Len() != 2 || c.Len() != 3 {
		t.Errorf("Clone is not independent: %d, %d", r.Len(), c.Len())
	}
	back, err := LoadKeyRing(r.Dump())
	if err != nil || !maps.Equal(back.Dump(), r.Dump()) {
		t.Errorf("LoadKeyRing(Dump()) = %v, %v", back, err)
	}
	if _, err := LoadKeyRing(map[int]string{1: "nope"}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("LoadKeyRing of a bad key: %v", err)
	}
	if _, err := LoadKeyRing(map[int]string{-2: k0.Encode()}); err == nil {
		t.Error("LoadKeyRing accepted a negative index")
	}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestKeyDoesNotPrint(t *testing.T) {
	k := mustKey(t)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %s %#v", k, k, k)} {
		if strings.Contains(s, k.Encode()[:10]) || !strings.Contains(s, "redacted") {
			t.Errorf("formatting a key printed %q", s)
		}
	}
}

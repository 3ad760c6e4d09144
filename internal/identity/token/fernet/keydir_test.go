package fernet

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadKeyDirTestdata(t *testing.T) {
	r, err := ReadKeyDir("testdata/keys")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Indexes(); !slices.Equal(got, []int{2, 1, 0}) {
		t.Fatalf("testdata/keys holds %v, want [2 1 0]", got)
	}
}

func TestKeyDirRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fernet-keys")
	r := ringOf(t, 0, 3, 4)
	if err := WriteKeyDir(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0", "3", "4"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("key file %s has mode %v, want 0600", name, st.Mode().Perm())
		}
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if len(b) != 44 {
			t.Errorf("key file %s holds %d bytes, Keystone writes 44", name, len(b))
		}
	}
	back, err := ReadKeyDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(back.Dump(), r.Dump()) {
		t.Fatal("ReadKeyDir(WriteKeyDir(r)) differs from r")
	}

	// A rotation exported again must remove the pruned key file and keep
	// files that are not keys.
	must(t, os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o600))
	must(t, r.Rotate(3))
	must(t, WriteKeyDir(dir, r))
	back, err = ReadKeyDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(back.Dump(), r.Dump()) {
		t.Errorf("after rotation the directory holds %v, ring %v", back.Indexes(), r.Indexes())
	}
	if _, err := os.Stat(filepath.Join(dir, "3")); !os.IsNotExist(err) {
		t.Errorf("pruned key 3 still on disk: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Errorf("WriteKeyDir removed a file that is not a key: %v", err)
	}
}

func TestReadKeyDirLikeKeystone(t *testing.T) {
	k := mustKey(t)
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []int
		fails bool
	}{
		{name: "staged tmp and junk ignored", files: map[string]string{"0": k.Encode(), "1": k.Encode() + "\n", "0.tmp": "x", "notes": "x"}, want: []int{1, 0}},
		{name: "empty file skipped", files: map[string]string{"0": k.Encode(), "1": ""}, want: []int{0}},
		{name: "bad key", files: map[string]string{"0": "garbage"}, fails: true},
		{name: "duplicate index", files: map[string]string{"1": k.Encode(), "01": k.Encode()}, fails: true},
		{name: "empty dir", files: nil, want: []int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.Mkdir(filepath.Join(dir, "7"), 0o700)) // a directory named like a key
			for name, body := range tc.files {
				must(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
			}
			r, err := ReadKeyDir(dir)
			if tc.fails {
				if err == nil {
					t.Fatal("ReadKeyDir succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Indexes(); !slices.Equal(got, tc.want) {
				t.Errorf("indexes %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := ReadKeyDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("ReadKeyDir of a missing directory succeeded")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package fernet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// keyIndex parses a key file name: a non-negative decimal number. Other
// names (such as Keystone's "0.tmp") are not keys.
func keyIndex(name string) (int, bool) {
	if name == "" || len(name) > 9 {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(name)
	return n, err == nil
}

// ReadKeyDir imports a Keystone key repository such as
// /etc/keystone/fernet-keys: every regular file named by a number is a key
// at that index. Like Keystone it skips empty files and names that are not
// numbers; a key file that does not hold a key is an error.
func ReadKeyDir(dir string) (*KeyRing, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read key repository: %w", err)
	}
	r := NewKeyRing()
	for _, e := range entries {
		i, ok := keyIndex(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		st, err := os.Stat(path) // follows symlinks, as Keystone's isfile
		if err != nil {
			return nil, fmt.Errorf("read key repository: %w", err)
		}
		if !st.Mode().IsRegular() {
			continue
		}
		if _, dup := r.keys[i]; dup {
			return nil, fmt.Errorf("read key repository: two files for key %d", i)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read key repository: %w", err)
		}
		if len(b) == 0 {
			continue
		}
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("read key repository: %s: %w", path, err)
		}
		r.keys[i] = k
	}
	return r, nil
}

// WriteKeyDir exports the ring as a Keystone key repository: each key in
// a file named by its index, mode 0600, written to a temporary file and
// renamed into place (as keystone-manage does). Numbered key files in dir
// that are not in the ring are removed, so the directory ends up holding
// exactly the ring; other files are left alone. dir is created (0700) if
// missing. Ownership is the caller's concern (Keystone runs as its own
// user).
func WriteKeyDir(dir string, r *KeyRing) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write key repository: %w", err)
	}
	for _, i := range r.Indexes() {
		name := strconv.Itoa(i)
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("write key repository: %w", err)
		}
		if err := os.WriteFile(tmp, []byte(r.keys[i].Encode()), 0o600); err != nil {
			return fmt.Errorf("write key repository: %w", err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			return errors.Join(fmt.Errorf("write key repository: %w", err), os.Remove(tmp))
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("write key repository: %w", err)
	}
	for _, e := range entries {
		i, ok := keyIndex(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		if _, keep := r.keys[i]; keep && e.Name() == strconv.Itoa(i) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("write key repository: %w", err)
		}
	}
	return nil
}

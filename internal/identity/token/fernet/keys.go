package fernet

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// KeySize is the length of a Fernet key: 16 bytes of HMAC-SHA256 signing
// key followed by 16 bytes of AES-128 encryption key.
const KeySize = 32

// Key is one Fernet key.
type Key [KeySize]byte

// GenerateKey returns a new random key, as Fernet.generate_key().
func GenerateKey() (Key, error) {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		return Key{}, fmt.Errorf("generate fernet key: %w", err)
	}
	return k, nil
}

// ParseKey decodes a key in Keystone's format: urlsafe base64 (with its
// '=' padding) of 32 bytes, as stored in a key repository file.
// Surrounding white space, such as a trailing newline, is ignored.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	var k Key
	// 32 bytes take 44 characters with padding; accept the unpadded 43 too.
	b, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawURLEncoding.DecodeString(s)
	}
	if err != nil || len(b) != KeySize {
		return Key{}, fmt.Errorf("%w: not urlsafe base64 of %d bytes", ErrInvalidKey, KeySize)
	}
	copy(k[:], b)
	return k, nil
}

// Encode returns k as Keystone writes it to a key file: urlsafe base64
// with padding (44 characters). It is the secret itself: never log it.
func (k Key) Encode() string {
	return base64.URLEncoding.EncodeToString(k[:])
}

// String hides the key, so that printing one by mistake leaks nothing.
func (k Key) String() string { return "fernet.Key(redacted)" }

// GoString hides the key from %#v as well.
func (k Key) GoString() string { return k.String() }

// KeyRing is a Fernet key repository: keys by index, as the files of
// /etc/keystone/fernet-keys. Index 0 is the staged key (the next primary),
// the highest index is the primary (used to encrypt), the others are
// secondary; every key decrypts. A KeyRing is plain data and not safe for
// concurrent mutation; hand it to Provider.SetKeys to put it in use.
type KeyRing struct {
	keys map[int]Key
}

// NewKeyRing returns an empty ring.
func NewKeyRing() *KeyRing {
	return &KeyRing{keys: map[int]Key{}}
}

// LoadKeyRing builds a ring from index → key strings (Keystone's format),
// e.g. as read from the database.
func LoadKeyRing(keys map[int]string) (*KeyRing, error) {
	r := NewKeyRing()
	for i, s := range keys {
		if i < 0 {
			return nil, fmt.Errorf("%w: negative key index %d", ErrInvalidKey, i)
		}
		k, err := ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		r.keys[i] = k
	}
	return r, nil
}

// Dump returns the ring as index → key string, for storage.
func (r *KeyRing) Dump() map[int]string {
	out := make(map[int]string, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.Encode()
	}
	return out
}

// Clone returns an independent copy of the ring.
func (r *KeyRing) Clone() *KeyRing {
	return &KeyRing{keys: maps.Clone(r.keys)}
}

// Len is the number of keys.
func (r *KeyRing) Len() int { return len(r.keys) }

// Set puts k at index i, replacing any key there.
func (r *KeyRing) Set(i int, k Key) error {
	if i < 0 {
		return fmt.Errorf("%w: negative key index %d", ErrInvalidKey, i)
	}
	if r.keys == nil {
		r.keys = map[int]Key{}
	}
	r.keys[i] = k
	return nil
}

// Get returns the key at index i.
func (r *KeyRing) Get(i int) (Key, bool) {
	k, ok := r.keys[i]
	return k, ok
}

// Indexes returns the key indexes, highest (the primary) first: the order
// in which Keystone's load_keys hands keys to MultiFernet.
func (r *KeyRing) Indexes() []int {
	idx := slices.Collect(maps.Keys(r.keys))
	slices.Sort(idx)
	slices.Reverse(idx)
	return idx
}

// Primary returns the key that encrypts new tokens: the highest index. A
// ring holding only the staged key 0 uses it as primary, as Keystone does.
func (r *KeyRing) Primary() (int, Key, bool) {
	if len(r.keys) == 0 {
		return 0, Key{}, false
	}
	i := slices.Max(slices.Collect(maps.Keys(r.keys)))
	return i, r.keys[i], true
}

// Staged returns key 0, the key the next rotation promotes to primary.
func (r *KeyRing) Staged() (Key, bool) {
	return r.Get(0)
}

// Setup is keystone-manage fernet_setup: on a ring without key 0 it adds a
// new staged key and rotates once, which leaves a staged key 0 and a
// primary key 1 (on an empty ring). It reports false and changes nothing
// when key 0 already exists.
func (r *KeyRing) Setup(maxActiveKeys int) (bool, error) {
	if maxActiveKeys < 1 {
		return false, fmt.Errorf("fernet: max active keys %d, must be at least 1", maxActiveKeys)
	}
	if _, ok := r.keys[0]; ok {
		return false, nil
	}
	k, err := GenerateKey()
	if err != nil {
		return false, err
	}
	if err := r.Set(0, k); err != nil {
		return false, err
	}
	if err := r.Rotate(maxActiveKeys); err != nil {
		return false, err
	}
	return true, nil
}

// Rotate is keystone-manage fernet_rotate: the staged key 0 becomes the new
// primary at (highest index + 1), a new random key is staged at 0, and the
// oldest keys (lowest indexes, never the staged one) are pruned until at
// most maxActiveKeys remain counting the staged key. The ring must hold a
// staged key 0, as Keystone's repository must.
func (r *KeyRing) Rotate(maxActiveKeys int) error {
	k, err := GenerateKey()
	if err != nil {
		return err
	}
	return r.rotate(maxActiveKeys, k)
}

// rotate does Rotate with a given new staged key.
func (r *KeyRing) rotate(maxActiveKeys int, staged Key) error {
	if maxActiveKeys < 1 {
		return fmt.Errorf("fernet: max active keys %d, must be at least 1", maxActiveKeys)
	}
	if len(r.keys) == 0 {
		return ErrNoKeys
	}
	old, ok := r.keys[0]
	if !ok {
		return fmt.Errorf("fernet: key ring has no staged key 0 to promote")
	}
	primary, _, _ := r.Primary()
	next := primary + 1
	delete(r.keys, 0)
	r.keys[next] = old
	// Keystone prunes among the keys that existed before (and the promoted
	// one), keeping max_active_keys-1 of them next to the new staged key.
	active := r.Indexes()
	for len(active) > maxActiveKeys-1 {
		delete(r.keys, active[len(active)-1])
		active = active[:len(active)-1]
	}
	r.keys[0] = staged
	return nil
}

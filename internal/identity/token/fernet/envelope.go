package fernet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"strings"
	"sync"
	"time"

	fernetgo "github.com/fernet/fernet-go"
)

// The Fernet envelope (https://github.com/fernet/spec):
// 0x80 | timestamp (8, big endian) | IV (16) | AES-128-CBC ciphertext | HMAC-SHA256 (32),
// all urlsafe base64; Keystone strips the '=' padding from tokens.
const (
	envelopeVersion = 0x80
	tsOffset        = 1
	ivOffset        = tsOffset + 8
	cipherOffset    = ivOffset + aes.BlockSize
	macSize         = sha256.Size
	// minEnvelope is the shortest valid token: one cipher block.
	minEnvelope = cipherOffset + aes.BlockSize + macSize
)

// MaxTokenLength bounds the token strings Validate looks at. Keystone
// tokens are ~180-250 characters; federated ones grow with the number of
// groups. Longer input is ErrMalformed without being decoded.
const MaxTokenLength = 64 << 10

// ringKey is one key ready for use, with pooled MAC and cipher state so
// validation does not rebuild them on every call.
type ringKey struct {
	index int
	key   Key
	state sync.Pool // *keyState
}

type keyState struct {
	mac   hash.Hash
	block cipher.Block
	sum   [macSize]byte
}

// keySet is an immutable snapshot of a KeyRing, primary first, as
// Keystone's MultiFernet tries them.
type keySet struct {
	keys []*ringKey
}

func newKeySet(r *KeyRing) (*keySet, error) {
	if r == nil || r.Len() == 0 {
		return nil, ErrNoKeys
	}
	ks := &keySet{}
	for _, i := range r.Indexes() {
		rk := &ringKey{index: i, key: r.keys[i]}
		sign, crypt := rk.key[:KeySize/2], rk.key[KeySize/2:]
		if _, err := aes.NewCipher(crypt); err != nil { // cannot fail for 16 bytes; checked once
			return nil, err
		}
		rk.state.New = func() any {
			b, _ := aes.NewCipher(crypt)
			return &keyState{mac: hmac.New(sha256.New, sign), block: b}
		}
		ks.keys = append(ks.keys, rk)
	}
	return ks, nil
}

// seal encrypts plaintext with the primary key, stamped at, and returns the
// token without base64 padding, as Keystone's TokenFormatter.pack.
func (ks *keySet) seal(plaintext []byte, at time.Time) (string, error) {
	k := (*fernetgo.Key)(&ks.keys[0].key)
	tok, err := fernetgo.EncryptAndSignAtTime(plaintext, k, at)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(tok), "="), nil
}

// open checks and decrypts a token. The HMAC is checked with every key,
// primary first; the timestamp is returned, never judged (Keystone's
// MultiFernet.decrypt runs without a TTL: expiry lives in the payload).
func (ks *keySet) open(token string) (plaintext []byte, issued uint64, err error) {
	if len(token) > MaxTokenLength {
		return nil, 0, malformed("token of %d characters", len(token))
	}
	// Keystone strips the padding and restores it before decoding; a
	// padded token decodes the same.
	token = strings.TrimRight(token, "=")
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(token)))
	n, err := base64.RawURLEncoding.Decode(raw, []byte(token))
	if err != nil {
		return nil, 0, malformed("not urlsafe base64")
	}
	raw = raw[:n]
	if n < minEnvelope || (n-cipherOffset-macSize)%aes.BlockSize != 0 {
		return nil, 0, malformed("fernet envelope of %d bytes", n)
	}
	if raw[0] != envelopeVersion {
		return nil, 0, malformed("fernet version byte %#x", raw[0])
	}
	issued = binary.BigEndian.Uint64(raw[tsOffset:ivOffset])
	signed, mac := raw[:n-macSize], raw[n-macSize:]
	for _, k := range ks.keys {
		st := k.state.Get().(*keyState)
		st.mac.Reset()
		st.mac.Write(signed)
		ok := hmac.Equal(st.mac.Sum(st.sum[:0]), mac)
		if !ok {
			k.state.Put(st)
			continue
		}
		body := raw[cipherOffset : n-macSize]
		cipher.NewCBCDecrypter(st.block, raw[ivOffset:cipherOffset]).CryptBlocks(body, body)
		k.state.Put(st)
		plaintext, ok = unpad(body)
		if !ok {
			return nil, 0, malformed("bad PKCS#7 padding")
		}
		return plaintext, issued, nil
	}
	return nil, 0, ErrInvalidSignature
}

// unpad strips PKCS#7 padding, which must be 1..16 equal bytes.
func unpad(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	c := int(b[len(b)-1])
	if c == 0 || c > aes.BlockSize || c > len(b) {
		return nil, false
	}
	for _, x := range b[len(b)-c:] {
		if int(x) != c {
			return nil, false
		}
	}
	return b[:len(b)-c], true
}

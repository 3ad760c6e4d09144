package fernet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestFloatToTime pins Python's datetime.utcfromtimestamp, which Keystone
// uses on the expiry float: fractions round half to even to microseconds.
// The expectations were printed by /usr/bin/python3.
func TestFloatToTime(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0.0078125, "1970-01-01T00:00:00.007812Z"},
		{0.0234375, "1970-01-01T00:00:00.023438Z"},
		{-0.25, "1969-12-31T23:59:59.750000Z"},
		{-0.0078125, "1969-12-31T23:59:59.992188Z"},
		{1700000000.0078125, "2023-11-14T22:13:20.007812Z"},
		{1e9 + 0.999999, "2001-09-09T01:46:40.999999Z"},
	} {
		got, ok := floatToTime(tc.f)
		if !ok || got.Format(isoMicro) != tc.want {
			t.Errorf("floatToTime(%v) = %s, %v; want %s", tc.f, got.Format(isoMicro), ok, tc.want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), maxUnix + 1, minUnix - 1, 1e300} {
		if _, ok := floatToTime(f); ok {
			t.Errorf("floatToTime(%v) accepted", f)
		}
	}
}

// TestTimeToFloat pins Keystone's (t - epoch).total_seconds(); the bits were
// printed by Python's float.hex().
func TestTimeToFloat(t *testing.T) {
	got := timeToFloat(time.Date(2030, 6, 15, 12, 34, 56, 789012345, time.UTC))
	if want := 0x1.c6d843c327f2cp+30; got != want {
		t.Errorf("timeToFloat = %x, want %x", got, want)
	}
	// Nanoseconds below a microsecond are dropped, not rounded.
	if a, b := timeToFloat(time.Unix(5, 999)), timeToFloat(time.Unix(5, 0)); a != b {
		t.Errorf("sub-microsecond nanoseconds changed the float: %v != %v", a, b)
	}
	// Microseconds survive a round trip for any expiry a token could have
	// in practice.
	for _, tt := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 8, 999999000, time.UTC),
		time.Date(2199, 12, 31, 23, 59, 59, 999999000, time.UTC),
	} {
		back, ok := floatToTime(timeToFloat(tt))
		if !ok || !back.Equal(tt) {
			t.Errorf("round trip of %v gave %v", tt, back)
		}
	}
}

// TestBadPadding signs ciphertexts whose PKCS#7 padding is wrong: the HMAC
// verifies, so only the padding check can refuse them.
func TestBadPadding(t *testing.T) {
	p, ring := newTestProvider(t, DefaultConfig())
	_, key, _ := ring.Primary()
	for name, block := range map[string][]byte{
		"zero pad byte":     append(make([]byte, 15), 0),
		"pad byte over 16":  append(make([]byte, 15), 17),
		"inconsistent pad":  append(make([]byte, 13), 1, 2, 3),
		"two blocks, pad 0": make([]byte, 32),
	} {
		tok := rawEnvelope(t, key, block)
		if _, _, err := p.Validate(tok); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "padding") {
			t.Errorf("%s: %v, want a padding error", name, err)
		}
	}
}

// rawEnvelope encrypts plain (already a whole number of blocks, no padding
// added) and signs it with key, by the Fernet spec.
func rawEnvelope(t *testing.T, key Key, plain []byte) string {
	t.Helper()
	b, err := aes.NewCipher(key[16:])
	if err != nil {
		t.Fatal(err)
	}
	env := []byte{envelopeVersion, 0, 0, 0, 0, 0x60, 0, 0, 0}
	env = append(env, make([]byte, aes.BlockSize)...) // zero IV
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(b, env[ivOffset:cipherOffset]).CryptBlocks(ct, plain)
	env = append(env, ct...)
	m := hmac.New(sha256.New, key[:16])
	m.Write(env)
	return base64.RawURLEncoding.EncodeToString(m.Sum(env))
}

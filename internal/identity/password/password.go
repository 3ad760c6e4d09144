package password

import (
	"crypto/pbkdf2"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// DefaultCost is Keystone's default bcrypt cost.
const DefaultCost = 12

// ErrUnknownHash is returned for a stored hash of a scheme this package does
// not know; the password then never matches.
var ErrUnknownHash = errors.New("password: unknown hash format")

// bcryptMax is the number of password bytes bcrypt uses.
const bcryptMax = 72

func truncate(pw string) []byte {
	b := []byte(pw)
	if len(b) > bcryptMax {
		b = b[:bcryptMax]
	}
	return b
}

// Hash returns a bcrypt hash of pw at cost (DefaultCost when cost is 0).
func Hash(pw string, cost int) (string, error) {
	if cost == 0 {
		cost = DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return "", fmt.Errorf("password: bcrypt cost %d outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	h, err := bcrypt.GenerateFromPassword(truncate(pw), cost)
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	return string(h), nil
}

// Check reports whether pw matches hash. A hash of an unknown scheme is an
// ErrUnknownHash error (and no match).
func Check(pw, hash string) (bool, error) {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		h := hash
		if strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$") {
			// Same algorithm; x/crypto spells every variant $2a$.
			h = "$2a$" + h[4:]
		}
		err := bcrypt.CompareHashAndPassword([]byte(h), truncate(pw))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		return err == nil, err
	case strings.HasPrefix(hash, "$6$"):
		return checkSHA512Crypt(pw, hash)
	case strings.HasPrefix(hash, "$pbkdf2-sha512$"):
		return checkPBKDF2(pw, hash)
	}
	return false, ErrUnknownHash
}

// NeedsRehash reports whether a stored hash is not bcrypt at cost: Keystone
// keeps imported hashes, and so do we; callers may use this to upgrade them.
func NeedsRehash(hash string, cost int) bool {
	if cost == 0 {
		cost = DefaultCost
	}
	c, err := bcrypt.Cost([]byte(hash))
	return err != nil || c != cost
}

// ab64 is passlib's "adapted base64": standard alphabet with '.' for '+',
// without padding.
var ab64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").WithPadding(base64.NoPadding)

// checkPBKDF2 checks passlib's $pbkdf2-sha512$rounds$salt$checksum.
func checkPBKDF2(pw, hash string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 5 {
		return false, fmt.Errorf("%w: malformed pbkdf2-sha512 hash", ErrUnknownHash)
	}
	rounds, err := strconv.Atoi(parts[2])
	if err != nil || rounds < 1 || rounds > 1<<31-1 {
		return false, fmt.Errorf("%w: bad pbkdf2 rounds", ErrUnknownHash)
	}
	salt, err1 := ab64.DecodeString(parts[3])
	want, err2 := ab64.DecodeString(parts[4])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 1024 {
		return false, fmt.Errorf("%w: bad pbkdf2 encoding", ErrUnknownHash)
	}
	got, err := pbkdf2.Key(sha512.New, pw, salt, rounds, len(want))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// checkSHA512Crypt checks glibc's $6$[rounds=N$]salt$hash.
func checkSHA512Crypt(pw, hash string) (bool, error) {
	rest := hash[3:]
	rounds, custom := 5000, false
	if strings.HasPrefix(rest, "rounds=") {
		n, after, ok := strings.Cut(rest[len("rounds="):], "$")
		r, err := strconv.Atoi(n)
		if !ok || err != nil {
			return false, fmt.Errorf("%w: bad sha512_crypt rounds", ErrUnknownHash)
		}
		rounds, custom, rest = min(max(r, 1000), 999999999), true, after
	}
	salt, sum, ok := strings.Cut(rest, "$")
	if !ok || len(sum) != 86 {
		return false, fmt.Errorf("%w: malformed sha512_crypt hash", ErrUnknownHash)
	}
	got := SHA512Crypt(pw, salt, rounds, custom)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1, nil
}

// SHA512Crypt computes glibc's SHA-512 crypt of pw with salt (at most 16
// characters used) and rounds; custom says whether "rounds=N$" is written.
func SHA512Crypt(pw, salt string, rounds int, custom bool) string {
	if len(salt) > 16 {
		salt = salt[:16]
	}
	p, s := []byte(pw), []byte(salt)
	b := sha512.New()
	b.Write(p)
	b.Write(s)
	b.Write(p)
	bsum := b.Sum(nil)

	a := sha512.New()
	a.Write(p)
	a.Write(s)
	i := len(p)
	for ; i > 64; i -= 64 {
		a.Write(bsum)
	}
	a.Write(bsum[:i])
	for i := len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(bsum)
		} else {
			a.Write(p)
		}
	}
	asum := a.Sum(nil)

	dp := sha512.New()
	for range len(p) {
		dp.Write(p)
	}
	pseq := repeatTo(dp.Sum(nil), len(p))
	ds := sha512.New()
	for range 16 + int(asum[0]) {
		ds.Write(s)
	}
	sseq := repeatTo(ds.Sum(nil), len(s))

	c := asum
	for r := 0; r < rounds; r++ {
		h := sha512.New()
		if r&1 != 0 {
			h.Write(pseq)
		} else {
			h.Write(c)
		}
		if r%3 != 0 {
			h.Write(sseq)
		}
		if r%7 != 0 {
			h.Write(pseq)
		}
		if r&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pseq)
		}
		c = h.Sum(c[:0])
	}

	var out strings.Builder
	out.WriteString("$6$")
	if custom {
		fmt.Fprintf(&out, "rounds=%d$", rounds)
	}
	out.WriteString(salt)
	out.WriteByte('$')
	for _, g := range sha512Order {
		b64From24(&out, c[g[0]], c[g[1]], c[g[2]], 4)
	}
	b64From24(&out, 0, 0, c[63], 2)
	return out.String()
}

// sha512Order is the byte permutation glibc encodes the digest in.
var sha512Order = [21][3]int{
	{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
	{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
	{56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41},
}

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func b64From24(out *strings.Builder, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		out.WriteByte(cryptAlphabet[w&0x3f])
		w >>= 6
	}
}

func repeatTo(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out)+len(sum) <= n {
		out = append(out, sum...)
	}
	return append(out, sum[:n-len(out)]...)
}

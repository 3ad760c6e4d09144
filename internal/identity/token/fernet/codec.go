package fernet

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"math"
	"math/big"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// codec turns a Payload into Keystone's msgpack list and back. It holds the
// two pieces of Keystone configuration the layout depends on.
type codec struct {
	methods         methodSet
	defaultDomainID string
}

// Range of Unix seconds Python's datetime can hold (years 1..9999): Keystone
// fails on anything outside, so we call it malformed.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

// marshal lays p out as msgpack exactly as Keystone's payload classes and
// msgpack.packb do, so the plaintext is byte-identical to Keystone's for
// the same token content.
func (c *codec) marshal(p *Payload) ([]byte, error) {
	v := p.Version()
	if err := p.check(v); err != nil {
		return nil, err
	}
	methods, err := c.methods.encode(p.Methods)
	if err != nil {
		return nil, err
	}
	audit := make([][]byte, len(p.AuditIDs))
	for i, a := range p.AuditIDs {
		b, err := base64.RawURLEncoding.DecodeString(a)
		if err != nil {
			return nil, invalidPayload("audit id %q is not urlsafe base64 without padding", a)
		}
		audit[i] = b
	}

	var buf bytes.Buffer
	buf.Grow(128)
	w := writer{e: msgpack.GetEncoder()}
	defer msgpack.PutEncoder(w.e)
	w.e.Reset(&buf)

	exp := timeToFloat(p.ExpiresAt)
	switch v {
	case VersionUnscoped:
		w.arr(5)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		w.float(exp)
		w.audit(audit)
	case VersionDomainScoped:
		w.arr(6)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		switch {
		case isUUIDHex(p.DomainID):
			w.raw16(p.DomainID)
		case p.DomainID == c.defaultDomainID:
			w.str(p.DomainID)
		default:
			return nil, invalidPayload("domain id %q of a domain-scoped token must be a uuid hex id or the default domain id %q", p.DomainID, c.defaultDomainID)
		}
		w.float(exp)
		w.audit(audit)
	case VersionProjectScoped:
		w.arr(6)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		w.id(p.ProjectID)
		w.float(exp)
		w.audit(audit)
	case VersionTrustScoped:
		if !isUUIDHex(p.TrustID) {
			return nil, invalidPayload("trust id %q must be a lowercase uuid hex id", p.TrustID)
		}
		w.arr(7)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		w.id(p.ProjectID)
		w.float(exp)
		w.audit(audit)
		w.raw16(p.TrustID)
	case VersionFederatedUnscoped:
		w.arr(8)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		w.groups(p.FederatedGroupIDs)
		w.id(p.IdentityProviderID)
		w.str(p.ProtocolID)
		w.float(exp)
		w.audit(audit)
	case VersionFederatedProjectScoped, VersionFederatedDomainScoped:
		scope := p.ProjectID
		if v == VersionFederatedDomainScoped {
			scope = p.DomainID
		}
		w.arr(9)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		w.id(scope)
		w.groups(p.FederatedGroupIDs)
		w.id(p.IdentityProviderID)
		w.str(p.ProtocolID)
		w.float(exp)
		w.audit(audit)
	case VersionOAuth1Scoped:
		w.arr(7)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		w.id(p.ProjectID)
		w.id(p.AccessTokenID)
		w.float(exp)
		w.audit(audit)
	case VersionSystemScoped:
		w.arr(6)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		w.str(p.System)
		w.float(exp)
		w.audit(audit)
	case VersionAppCredScoped:
		w.arr(7)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		w.id(p.ProjectID)
		w.float(exp)
		w.audit(audit)
		w.id(p.AppCredID)
	case VersionOAuth2CredentialScoped:
		w.arr(8)
		w.int(int(v))
		w.id(p.UserID)
		w.uint(methods)
		w.id(p.ProjectID)
		w.id(p.DomainID)
		w.float(exp)
		w.audit(audit)
		// Keystone never compresses the thumbprint: always (False, str).
		w.arr(2)
		w.keep(w.e.EncodeBool(false))
		w.str(p.Thumbprint)
	}
	if w.err != nil {
		return nil, w.err
	}
	return buf.Bytes(), nil
}

// writer keeps the first encoding error so the layouts above read as lists.
type writer struct {
	e   *msgpack.Encoder
	err error
}

func (w *writer) keep(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *writer) arr(n int)          { w.keep(w.e.EncodeArrayLen(n)) }
func (w *writer) int(n int)          { w.keep(w.e.EncodeInt(int64(n))) }
func (w *writer) uint(n uint64)      { w.keep(w.e.EncodeUint(n)) }
func (w *writer) float(f float64)    { w.keep(w.e.EncodeFloat64(f)) }
func (w *writer) bytes(b []byte)     { w.keep(w.e.EncodeBytes(b)) }
func (w *writer) raw16(hexID string) { w.bytes(uuidBytes(hexID)) }

// str writes s as a msgpack str, or nil for "" (Keystone's None).
func (w *writer) str(s string) {
	if s == "" {
		w.keep(w.e.EncodeNil())
		return
	}
	w.keep(w.e.EncodeString(s))
}

// id writes Keystone's attempt_convert_uuid_hex_to_bytes tuple: (true, 16
// bytes) for a uuid hex id, (false, id) otherwise, (false, nil) for "".
//
// Keystone compresses anything Python's uuid.UUID() parses (upper case,
// hyphens, braces) and decodes it back as lower-case hex, losing the
// original spelling. We compress only the canonical 32 lower-case hex
// digits, so every id round-trips unchanged; Keystone decodes both forms,
// and for the ids Keystone itself generates (uuid4().hex) the bytes are
// identical.
func (w *writer) id(s string) {
	w.arr(2)
	if isUUIDHex(s) {
		w.keep(w.e.EncodeBool(true))
		w.raw16(s)
		return
	}
	w.keep(w.e.EncodeBool(false))
	w.str(s)
}

func (w *writer) groups(ids []string) {
	w.arr(len(ids))
	for _, g := range ids {
		w.id(g)
	}
}

func (w *writer) audit(ids [][]byte) {
	w.arr(len(ids))
	for _, b := range ids {
		if b == nil {
			b = []byte{} // EncodeBytes(nil) would write nil
		}
		w.bytes(b)
	}
}

// isUUIDHex reports whether s is 32 lower-case hex digits.
func isUUIDHex(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func uuidBytes(s string) []byte {
	b := make([]byte, 16)
	hex.Decode(b, []byte(s)) // s was checked by isUUIDHex
	return b
}

// timeToFloat is Keystone's expiry encoding: (t - epoch).total_seconds(),
// i.e. whole microseconds divided by 10^6, correctly rounded.
func timeToFloat(t time.Time) float64 {
	us := t.UnixMicro()
	const exact = 1 << 53 // every integer below is exact in a float64
	if us > -exact && us < exact {
		return float64(us) / microsPerSecond
	}
	f, _ := new(big.Rat).SetFrac64(us, microsPerSecond).Float64()
	return f
}

const microsPerSecond = 1_000_000

// floatToTime is Python's datetime.utcfromtimestamp(f): the fraction is
// rounded half-to-even to microseconds.
func floatToTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < minUnix-1 || f > maxUnix+1 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	us := math.RoundToEven(frac * microsPerSecond)
	if us >= microsPerSecond {
		sec++
		us -= microsPerSecond
	} else if us < 0 {
		sec--
		us += microsPerSecond
	}
	if sec < minUnix || sec > maxUnix {
		return time.Time{}, false
	}
	return time.Unix(int64(sec), int64(us)*1000).UTC(), true
}

// unmarshal parses Keystone's msgpack payload. It accepts everything
// Keystone's disassemble accepts from a well-formed token — including ids
// and strings written as msgpack str by msgpack < 1.0 (Keystone's raw=True
// fallback) and extra trailing list elements, which Keystone ignores — and
// rejects, as ErrMalformed, what would make Keystone fail.
func (c *codec) unmarshal(b []byte) (Payload, error) {
	var r reader
	r.br.Reset(b)
	r.d = msgpack.GetDecoder()
	defer msgpack.PutDecoder(r.d)
	r.d.Reset(&r.br)

	n := r.arr()
	version := r.int()
	if r.err != nil {
		return Payload{}, r.err
	}
	v := Version(version)
	need, ok := layoutLen(v)
	if !ok {
		return Payload{}, malformed("unknown payload version %d", version)
	}
	if n < need {
		return Payload{}, malformed("version %d payload has %d elements, needs %d", version, n, need)
	}

	var p Payload
	p.UserID = r.id()
	p.Methods = c.methods.decode(r.methods())
	switch v {
	case VersionUnscoped:
	case VersionDomainScoped:
		p.DomainID = r.domain(c.defaultDomainID)
	case VersionProjectScoped, VersionTrustScoped, VersionAppCredScoped:
		p.ProjectID = r.id()
	case VersionFederatedUnscoped:
		p.Federated = true
		p.FederatedGroupIDs = r.groups()
		p.IdentityProviderID = r.id()
		p.ProtocolID = r.str()
	case VersionFederatedProjectScoped, VersionFederatedDomainScoped:
		p.Federated = true
		scope := r.id()
		if v == VersionFederatedProjectScoped {
			p.ProjectID = scope
		} else {
			p.DomainID = scope
		}
		p.FederatedGroupIDs = r.groups()
		p.IdentityProviderID = r.id()
		p.ProtocolID = r.str()
	case VersionOAuth1Scoped:
		p.ProjectID = r.id()
		p.AccessTokenID = r.id()
	case VersionSystemScoped:
		p.System = r.str()
	case VersionOAuth2CredentialScoped:
		p.ProjectID = r.id()
		p.DomainID = r.id()
	}
	p.ExpiresAt = r.expiry()
	p.AuditIDs = r.audit()
	switch v {
	case VersionTrustScoped:
		p.TrustID = hex.EncodeToString(r.raw16())
	case VersionAppCredScoped:
		p.AppCredID = r.id()
	case VersionOAuth2CredentialScoped:
		p.Thumbprint = r.id()
	}
	for i := need; i < n && r.err == nil; i++ {
		r.fail(r.d.Skip())
	}
	if r.err != nil {
		return Payload{}, r.err
	}
	if r.br.Len() != 0 {
		return Payload{}, malformed("%d bytes after the payload", r.br.Len())
	}
	if len(p.AuditIDs) == 0 {
		// Keystone's provider pops the audit id and fails without one.
		return Payload{}, malformed("payload has no audit id")
	}
	return p, nil
}

// layoutLen is the number of list elements (version included) of each
// payload version.
func layoutLen(v Version) (int, bool) {
	switch v {
	case VersionUnscoped:
		return 5, true
	case VersionDomainScoped, VersionProjectScoped, VersionSystemScoped:
		return 6, true
	case VersionTrustScoped, VersionOAuth1Scoped, VersionAppCredScoped:
		return 7, true
	case VersionFederatedUnscoped, VersionOAuth2CredentialScoped:
		return 8, true
	case VersionFederatedProjectScoped, VersionFederatedDomainScoped:
		return 9, true
	}
	return 0, false
}

// reader decodes with sticky errors: after the first failure every read
// returns a zero value, and the caller checks r.err once.
type reader struct {
	br  bytes.Reader
	d   *msgpack.Decoder
	err error
	tmp [16]byte
}

func (r *reader) fail(err error) {
	if err != nil && r.err == nil {
		r.err = malformed("msgpack: %v", err)
	}
}

func (r *reader) failf(format string, args ...any) {
	if r.err == nil {
		r.err = malformed(format, args...)
	}
}

func (r *reader) peek() byte {
	if r.err != nil {
		return 0
	}
	c, err := r.d.PeekCode()
	r.fail(err)
	return c
}

// arr reads an array header. The length is bounded by the bytes left, since
// every element takes at least one.
func (r *reader) arr() int {
	c := r.peek()
	if r.err != nil {
		return 0
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		r.failf("expected a list, found code %#x", c)
		return 0
	}
	n, err := r.d.DecodeArrayLen()
	r.fail(err)
	if r.err == nil && n > r.br.Len() {
		r.failf("list of %d elements in %d bytes", n, r.br.Len())
		return 0
	}
	return n
}

func isIntCode(c byte) bool {
	return msgpcode.IsFixedNum(c) || (c >= msgpcode.Uint8 && c <= msgpcode.Int64)
}

func isSignedCode(c byte) bool {
	return (c >= msgpcode.Int8 && c <= msgpcode.Int64) || (msgpcode.IsFixedNum(c) && int8(c) < 0)
}

func isBlobCode(c byte) bool {
	return msgpcode.IsFixedString(c) || c == msgpcode.Str8 || c == msgpcode.Str16 ||
		c == msgpcode.Str32 || c == msgpcode.Bin8 || c == msgpcode.Bin16 || c == msgpcode.Bin32
}

func (r *reader) int() int64 {
	c := r.peek()
	if r.err != nil {
		return 0
	}
	if !isIntCode(c) {
		r.failf("expected an integer, found code %#x", c)
		return 0
	}
	if isSignedCode(c) {
		n, err := r.d.DecodeInt64()
		r.fail(err)
		return n
	}
	n, err := r.d.DecodeUint64()
	r.fail(err)
	if n > math.MaxInt64 {
		return math.MaxInt64 // not a version or anything else we accept
	}
	return int64(n)
}

// methods reads the methods integer; Keystone writes it non-negative.
func (r *reader) methods() uint64 {
	c := r.peek()
	if r.err != nil {
		return 0
	}
	if !isIntCode(c) {
		r.failf("expected the methods integer, found code %#x", c)
		return 0
	}
	if isSignedCode(c) {
		n, err := r.d.DecodeInt64()
		r.fail(err)
		if n < 0 {
			r.failf("negative methods integer %d", n)
		}
		return uint64(n)
	}
	n, err := r.d.DecodeUint64()
	r.fail(err)
	return n
}

// blob reads a msgpack str or bin into r.tmp when it fits, or a fresh
// slice, returning nil for msgpack nil.
func (r *reader) blob() (b []byte, isNil bool) {
	c := r.peek()
	if r.err != nil {
		return nil, false
	}
	if c == msgpcode.Nil {
		r.fail(r.d.DecodeNil())
		return nil, true
	}
	if !isBlobCode(c) {
		r.failf("expected a string, found code %#x", c)
		return nil, false
	}
	n, err := r.d.DecodeBytesLen()
	r.fail(err)
	if r.err != nil {
		return nil, false
	}
	if n > r.br.Len() {
		r.failf("string of %d bytes in %d", n, r.br.Len())
		return nil, false
	}
	if n <= len(r.tmp) {
		b = r.tmp[:n]
	} else {
		b = make([]byte, n)
	}
	r.fail(r.d.ReadFull(b))
	return b, false
}

// str reads an optional string: nil is "".
func (r *reader) str() string {
	b, _ := r.blob()
	if r.err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		r.failf("string is not UTF-8")
		return ""
	}
	return string(b)
}

// raw16 reads 16 raw uuid bytes (bin, or str from msgpack < 1.0).
func (r *reader) raw16() []byte {
	b, _ := r.blob()
	if r.err == nil && len(b) != 16 {
		r.failf("expected 16 uuid bytes, found %d", len(b))
	}
	return b
}

// id reads Keystone's (is_stored_as_bytes, value) tuple.
func (r *reader) id() string {
	if n := r.arr(); r.err == nil && n != 2 {
		r.failf("id tuple has %d elements", n)
	}
	c := r.peek()
	if r.err != nil {
		return ""
	}
	if c != msgpcode.True && c != msgpcode.False {
		r.failf("id tuple flag is code %#x, not a boolean", c)
		return ""
	}
	compressed, err := r.d.DecodeBool()
	r.fail(err)
	if compressed {
		b := r.raw16()
		if r.err != nil {
			return ""
		}
		return hex.EncodeToString(b)
	}
	return r.str()
}

// domain reads the domain of a domain-scoped token: 16 uuid bytes, or the
// default domain id as a string (the only non-uuid id Keystone allows).
func (r *reader) domain(defaultDomainID string) string {
	c := r.peek()
	b, _ := r.blob()
	if r.err != nil {
		return ""
	}
	isStr := c != msgpcode.Bin8 && c != msgpcode.Bin16 && c != msgpcode.Bin32
	if isStr && string(b) == defaultDomainID {
		return defaultDomainID
	}
	if len(b) == 16 {
		return hex.EncodeToString(b)
	}
	if string(b) == defaultDomainID {
		return defaultDomainID
	}
	r.failf("domain id is neither a uuid nor the default domain id")
	return ""
}

func (r *reader) groups() []string {
	n := r.arr()
	if r.err != nil {
		return nil
	}
	ids := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		ids = append(ids, r.id())
	}
	return ids
}

func (r *reader) expiry() time.Time {
	c := r.peek()
	if r.err != nil {
		return time.Time{}
	}
	var f float64
	switch {
	case c == msgpcode.Float || c == msgpcode.Double:
		v, err := r.d.DecodeFloat64()
		r.fail(err)
		f = v
	case isIntCode(c):
		n := r.int()
		if r.err != nil {
			return time.Time{}
		}
		if n < minUnix || n > maxUnix {
			r.failf("expiry %d out of range", n)
			return time.Time{}
		}
		return time.Unix(n, 0).UTC()
	default:
		r.failf("expiry is code %#x, not a number", c)
		return time.Time{}
	}
	if r.err != nil {
		return time.Time{}
	}
	t, ok := floatToTime(f)
	if !ok {
		r.failf("expiry %v out of range", f)
	}
	return t
}

func (r *reader) audit() []string {
	n := r.arr()
	if r.err != nil {
		return nil
	}
	ids := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		b, isNil := r.blob()
		if isNil {
			r.failf("audit id is nil")
		}
		if r.err != nil {
			return nil
		}
		ids = append(ids, base64.RawURLEncoding.EncodeToString(b))
	}
	return ids
}

package fernet

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	tUser    = "5f3a2d1c9b8e4f7a8c6d5e4f3a2b1c0d"
	tProject = "0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f"
	tDomain  = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
	tTrust   = "1234567890abcdef1234567890abcdef"
	tGroup   = "fedcba0987654321fedcba0987654321"
	tAudit1  = "qcGDqhYaTJ2B9r3TmGLjPw"
	tAudit2  = "xR4dHsl5Q3-n_4SEfMK8gA"
)

var tExpires = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestProvider(t testing.TB, cfg Config) (*Provider, *KeyRing) {
	t.Helper()
	r, err := ReadKeyDir("testdata/keys")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

func base(mod func(*Payload)) Payload {
	p := Payload{UserID: tUser, Methods: []string{"password"}, ExpiresAt: tExpires, AuditIDs: []string{tAudit1}}
	mod(&p)
	return p
}

// roundTripCases has one payload per Keystone version and the edge cases of
// the id, expiry and methods encodings. Methods are listed in the order
// decoding yields them.
func roundTripCases() []struct {
	name    string
	version Version
	p       Payload
} {
	return []struct {
		name    string
		version Version
		p       Payload
	}{
		{"unscoped", VersionUnscoped, base(func(p *Payload) {})},
		{"unscoped two audit ids", VersionUnscoped, base(func(p *Payload) { p.AuditIDs = []string{tAudit1, tAudit2} })},
		{"unscoped no methods", VersionUnscoped, base(func(p *Payload) { p.Methods = []string{} })},
		{"unscoped non-uuid user", VersionUnscoped, base(func(p *Payload) { p.UserID = "jdoe" })},
		{"unscoped hyphenated uuid user kept as is", VersionUnscoped, base(func(p *Payload) { p.UserID = "5f3a2d1c-9b8e-4f7a-8c6d-5e4f3a2b1c0d" })},
		{"unscoped upper-case uuid user kept as is", VersionUnscoped, base(func(p *Payload) { p.UserID = strings.ToUpper(tUser) })},
		{"unscoped unicode user", VersionUnscoped, base(func(p *Payload) { p.UserID = "ユーザー" })},
		{"unscoped 300-byte user", VersionUnscoped, base(func(p *Payload) { p.UserID = strings.Repeat("u", 300) })},
		{"unscoped sub-second expiry", VersionUnscoped, base(func(p *Payload) { p.ExpiresAt = time.Date(2030, 6, 15, 12, 34, 56, 789012000, time.UTC) })},
		{"unscoped expiry before 1970", VersionUnscoped, base(func(p *Payload) { p.ExpiresAt = time.Date(1969, 7, 20, 20, 17, 40, 500000000, time.UTC) })},
		// Far from 1970 a float64 no longer holds microseconds (Keystone
		// loses them too, see the keystone vectors); whole seconds survive.
		{"unscoped expiry in year 9000", VersionUnscoped, base(func(p *Payload) { p.ExpiresAt = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"domain", VersionDomainScoped, base(func(p *Payload) { p.DomainID = tDomain })},
		{"default domain", VersionDomainScoped, base(func(p *Payload) { p.DomainID = "default" })},
		{"project", VersionProjectScoped, base(func(p *Payload) { p.ProjectID = tProject })},
		{"project non-uuid", VersionProjectScoped, base(func(p *Payload) { p.ProjectID = "admin" })},
		{"project all methods", VersionProjectScoped, base(func(p *Payload) {
			p.ProjectID = tProject
			p.Methods = []string{"application_credential", "mapped", "oauth1", "token", "password", "external"}
		})},
		{"trust", VersionTrustScoped, base(func(p *Payload) { p.ProjectID = tProject; p.TrustID = tTrust })},
		{"federated unscoped", VersionFederatedUnscoped, base(func(p *Payload) {
			p.Methods = []string{"mapped"}
			p.Federated = true
			p.FederatedGroupIDs = []string{tGroup, "admins"}
			p.IdentityProviderID = "myidp"
			p.ProtocolID = "saml2"
		})},
		{"federated unscoped no groups", VersionFederatedUnscoped, base(func(p *Payload) {
			p.Federated = true
			p.IdentityProviderID = "myidp"
			p.ProtocolID = "openid"
		})},
		{"federated unscoped 20 groups", VersionFederatedUnscoped, base(func(p *Payload) {
			p.Federated = true
			for i := range 20 {
				p.FederatedGroupIDs = append(p.FederatedGroupIDs, fmt.Sprintf("%032x", i))
			}
			p.IdentityProviderID = "myidp"
			p.ProtocolID = "saml2"
		})},
		{"federated project", VersionFederatedProjectScoped, base(func(p *Payload) {
			p.Federated = true
			p.ProjectID = tProject
			p.FederatedGroupIDs = []string{tGroup}
			p.IdentityProviderID = "myidp"
			p.ProtocolID = "mapped"
		})},
		{"federated domain", VersionFederatedDomainScoped, base(func(p *Payload) {
			p.Federated = true
			p.DomainID = tDomain
			p.FederatedGroupIDs = []string{tGroup}
			p.IdentityProviderID = "myidp"
			p.ProtocolID = "openid"
		})},
		{"oauth1", VersionOAuth1Scoped, base(func(p *Payload) {
			p.Methods = []string{"oauth1"}
			p.ProjectID = tProject
			p.AccessTokenID = "99990000aaaabbbbccccddddeeeeffff"
		})},
		{"system", VersionSystemScoped, base(func(p *Payload) { p.System = "all" })},
		{"application credential", VersionAppCredScoped, base(func(p *Payload) {
			p.Methods = []string{"application_credential"}
			p.ProjectID = tProject
			p.AppCredID = "77777777aaaa4bbbbcccc1111dddd222"
		})},
		{"oauth2 project", VersionOAuth2CredentialScoped, base(func(p *Payload) {
			p.ProjectID = tProject
			p.Thumbprint = "sX5rGkS1KqXvBNU1Tnq3wdn5cSBNi1Xm5Qx7a8SD0ik"
		})},
		{"oauth2 domain", VersionOAuth2CredentialScoped, base(func(p *Payload) {
			p.DomainID = tDomain
			p.Thumbprint = tUser // a uuid-looking thumbprint stays a string
		})},
	}
}

func TestIssueValidateRoundTrip(t *testing.T) {
	p, _ := newTestProvider(t, DefaultConfig())
	at := time.Date(2026, 3, 4, 5, 6, 7, 890000000, time.UTC)
	seen := map[Version]bool{}
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			if v := tc.p.Version(); v != tc.version {
				t.Fatalf("Version() = %v, want %v", v, tc.version)
			}
			seen[tc.version] = true
			tok, err := p.IssueAt(tc.p, at)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tok, "=") {
				t.Errorf("token %q keeps its base64 padding", tok)
			}
			got, issued, err := p.Validate(tok)
			if err != nil {
				t.Fatal(err)
			}
			if !issued.Equal(at.Truncate(time.Second)) || issued.Location() != time.UTC {
				t.Errorf("issued at %v, want %v", issued, at.Truncate(time.Second))
			}
			if d := diffPayload(got, tc.p); d != "" {
				t.Errorf("round trip changed %s", d)
			}
		})
	}
	for v := VersionUnscoped; v <= VersionOAuth2CredentialScoped; v++ {
		if !seen[v] {
			t.Errorf("no round trip case for version %v", v)
		}
	}
}

// diffPayload names the first field where a and b differ ("" if none);
// nil and empty slices are the same, times compare as instants.
func diffPayload(a, b Payload) string {
	switch {
	case a.UserID != b.UserID:
		return fmt.Sprintf("user id %q != %q", a.UserID, b.UserID)
	case !slices.Equal(a.Methods, b.Methods):
		return fmt.Sprintf("methods %v != %v", a.Methods, b.Methods)
	case a.ProjectID != b.ProjectID:
		return fmt.Sprintf("project id %q != %q", a.ProjectID, b.ProjectID)
	case a.DomainID != b.DomainID:
		return fmt.Sprintf("domain id %q != %q", a.DomainID, b.DomainID)
	case a.System != b.System:
		return fmt.Sprintf("system %q != %q", a.System, b.System)
	case a.TrustID != b.TrustID:
		return fmt.Sprintf("trust id %q != %q", a.TrustID, b.TrustID)
	case a.AppCredID != b.AppCredID:
		return fmt.Sprintf("app cred id %q != %q", a.AppCredID, b.AppCredID)
	case a.Federated != b.Federated:
		return fmt.Sprintf("federated %v != %v", a.Federated, b.Federated)
	case !slices.Equal(a.FederatedGroupIDs, b.FederatedGroupIDs):
		return fmt.Sprintf("groups %v != %v", a.FederatedGroupIDs, b.FederatedGroupIDs)
	case a.IdentityProviderID != b.IdentityProviderID:
		return fmt.Sprintf("idp %q != %q", a.IdentityProviderID, b.IdentityProviderID)
	case a.ProtocolID != b.ProtocolID:
		return fmt.Sprintf("protocol %q != %q", a.ProtocolID, b.ProtocolID)
	case a.AccessTokenID != b.AccessTokenID:
		return fmt.Sprintf("access token id %q != %q", a.AccessTokenID, b.AccessTokenID)
	case a.Thumbprint != b.Thumbprint:
		return fmt.Sprintf("thumbprint %q != %q", a.Thumbprint, b.Thumbprint)
	case !a.ExpiresAt.Equal(b.ExpiresAt):
		return fmt.Sprintf("expires_at %v != %v", a.ExpiresAt, b.ExpiresAt)
	case !slices.Equal(a.AuditIDs, b.AuditIDs):
		return fmt.Sprintf("audit ids %v != %v", a.AuditIDs, b.AuditIDs)
	}
	return ""
}

func TestIssueRejects(t *testing.T) {
	p, _ := newTestProvider(t, DefaultConfig())
	for _, tc := range []struct {
		name string
		p    Payload
	}{
		{"no user", base(func(p *Payload) { p.UserID = "" })},
		{"no expiry", base(func(p *Payload) { p.ExpiresAt = time.Time{} })},
		{"expiry past year 9999", base(func(p *Payload) { p.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"no audit id", base(func(p *Payload) { p.AuditIDs = nil })},
		{"three audit ids", base(func(p *Payload) { p.AuditIDs = []string{tAudit1, tAudit2, tAudit1} })},
		{"padded audit id", base(func(p *Payload) { p.AuditIDs = []string{tAudit1 + "=="} })},
		{"audit id not base64", base(func(p *Payload) { p.AuditIDs = []string{"not base64!"} })},
		{"unknown method", base(func(p *Payload) { p.Methods = []string{"totp"} })},
		{"project and domain", base(func(p *Payload) { p.ProjectID = tProject; p.DomainID = tDomain })},
		{"project and system", base(func(p *Payload) { p.ProjectID = tProject; p.System = "all" })},
		{"trust without uuid", base(func(p *Payload) { p.ProjectID = tProject; p.TrustID = "my-trust" })},
		{"trust upper-case", base(func(p *Payload) { p.ProjectID = tProject; p.TrustID = strings.ToUpper(tTrust) })},
		{"domain neither uuid nor default", base(func(p *Payload) { p.DomainID = "other" })},
		{"groups without Federated", base(func(p *Payload) { p.FederatedGroupIDs = []string{tGroup} })},
		{"federated without idp", base(func(p *Payload) { p.Federated = true; p.ProtocolID = "saml2" })},
		{"federated system", base(func(p *Payload) { p.Federated = true; p.IdentityProviderID = "x"; p.System = "all" })},
		{"app cred with domain", base(func(p *Payload) { p.AppCredID = "ac"; p.DomainID = tDomain })},
		{"oauth1 with trust", base(func(p *Payload) { p.AccessTokenID = "at"; p.TrustID = tTrust; p.ProjectID = tProject })},
	} {
		if tok, err := p.Issue(tc.p); !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("%s: Issue = %q, %v; want ErrInvalidPayload", tc.name, tok, err)
		}
	}
}

func TestDefaultDomainConfig(t *testing.T) {
	p, _ := newTestProvider(t, Config{DefaultDomainID: "my-default"})
	pl := base(func(p *Payload) { p.DomainID = "my-default" })
	tok, err := p.Issue(pl)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := p.Validate(tok)
	if err != nil || got.DomainID != "my-default" {
		t.Fatalf("Validate = %q, %v", got.DomainID, err)
	}
	// A provider with another default domain refuses the token, as Keystone.
	other, _ := newTestProvider(t, DefaultConfig())
	if _, _, err := other.Validate(tok); !errors.Is(err, ErrMalformed) {
		t.Errorf("Validate with default domain %q: %v, want ErrMalformed", "default", err)
	}
	if _, err := other.Issue(pl); !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("Issue of domain %q with default %q: %v", "my-default", "default", err)
	}
}

func TestMethodsConfigMustMatch(t *testing.T) {
	custom := Config{Methods: []string{"password", "token", "totp", "application_credential"}}
	p, _ := newTestProvider(t, custom)
	tok, err := p.Issue(base(func(p *Payload) { p.Methods = []string{"totp", "password"} }))
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := p.Validate(tok)
	if !slices.Equal(got.Methods, []string{"totp", "password"}) {
		t.Errorf("methods %v", got.Methods)
	}
	// Bits 0|2 read with the default list are external and token.
	def, _ := newTestProvider(t, DefaultConfig())
	got, _, _ = def.Validate(tok)
	if !slices.Equal(got.Methods, []string{"token", "external"}) {
		t.Errorf("methods with the default list %v, want [token external]", got.Methods)
	}
}

func TestRotationLifecycle(t *testing.T) {
	ring := NewKeyRing()
	if _, err := ring.Setup(3); err != nil {
		t.Fatal(err)
	}
	p, err := New(DefaultConfig(), ring)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Issue(base(func(*Payload) {}))
	if err != nil {
		t.Fatal(err)
	}
	// Each rotation keeps the key that signed tok until it falls out of
	// the max_active_keys window: primary 1 -> secondary -> pruned.
	for i, wantOK := range []bool{true, false} {
		must(t, ring.Rotate(3))
		must(t, p.SetKeys(ring))
		_, _, err := p.Validate(tok)
		if wantOK && err != nil {
			t.Fatalf("after rotation %d: %v", i+1, err)
		}
		if !wantOK && !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("after rotation %d the pruned key still validates: %v", i+1, err)
		}
	}
	// New tokens use the new primary and validate.
	tok2, err := p.Issue(base(func(*Payload) {}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Validate(tok2); err != nil {
		t.Fatal(err)
	}
	// Staging: a node still on the old ring already holds key 0, so it
	// validates tokens from a node that rotated and encrypts with it.
	lagging, err := New(DefaultConfig(), ring.Clone())
	if err != nil {
		t.Fatal(err)
	}
	must(t, ring.Rotate(3))
	must(t, p.SetKeys(ring))
	tok3, err := p.Issue(base(func(*Payload) {}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := lagging.Validate(tok3); err != nil {
		t.Errorf("node with the staged key cannot validate the new primary's token: %v", err)
	}
	if err := p.SetKeys(NewKeyRing()); !errors.Is(err, ErrNoKeys) {
		t.Errorf("SetKeys(empty) = %v, want ErrNoKeys", err)
	}
	if _, err := New(DefaultConfig(), nil); !errors.Is(err, ErrNoKeys) {
		t.Errorf("New(nil ring) = %v, want ErrNoKeys", err)
	}
}

func TestValidateRejects(t *testing.T) {
	p, _ := newTestProvider(t, DefaultConfig())
	tok, err := p.Issue(base(func(*Payload) {}))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	otherRing := NewKeyRing()
	_ = otherRing.Set(1, mustKey(t))
	other, _ := New(DefaultConfig(), otherRing)
	otherTok, _ := other.Issue(base(func(*Payload) {}))

	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrMalformed},
		{"not base64", "gAAAAA!!!" + tok[9:], ErrMalformed},
		{"truncated", tok[:40], ErrMalformed},
		{"one char short", tok[:len(tok)-1], ErrMalformed},
		{"bad version byte", flip(0), ErrMalformed},
		{"huge", strings.Repeat("A", MaxTokenLength+4), ErrMalformed},
		{"flipped timestamp", flip(3), ErrInvalidSignature},
		{"flipped ciphertext", flip(40), ErrInvalidSignature},
		{"flipped mac", flip(len(raw) - 1), ErrInvalidSignature},
		{"unknown key", otherTok, ErrInvalidSignature},
	} {
		_, _, err := p.Validate(tc.token)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Validate err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Keystone restores the padding it strips; a padded token is the same token.
	padded := base64.URLEncoding.EncodeToString(raw)
	if _, _, err := p.Validate(padded); err != nil {
		t.Errorf("padded token: %v", err)
	}
}

// TestValidateMalformedPayloads signs hand-made plaintexts with the real key
// so the payload decoder, not the envelope, has to reject them.
func TestValidateMalformedPayloads(t *testing.T) {
	p, _ := newTestProvider(t, DefaultConfig())
	good, err := p.codec.marshal(ptr(base(func(p *Payload) { p.ProjectID = tProject })))
	if err != nil {
		t.Fatal(err)
	}
	goodHex := fmt.Sprintf("%x", good)
	for _, tc := range []struct {
		name string
		hex  string
		why  string
	}{
		{"empty", "", "EOF"},
		{"not a list", "c0", "expected a list"},
		{"map", "80", "expected a list"},
		{"unknown version", "950b" + "92c3c410" + tUser + "02" + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16), "unknown payload version 11"},
		{"negative version", "95ff" + "92c3c410" + tUser + "02" + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16), "unknown payload version -1"},
		{"short list", "9400" + "92c3c410" + tUser + "02" + "cb41d0000000000000", "has 4 elements"},
		{"trailing bytes", goodHex + "00", "after the payload"},
		{"flag not bool", "9500" + "9201c410" + tUser + "02" + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16), "not a boolean"},
		{"id tuple of 3", "9500" + "93c3c410" + tUser + "c0" + "02" + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16), "3 elements"},
		{"uuid of 15 bytes", "9500" + "92c3c40f" + tUser[:30] + "02" + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16), "found 15"},
		{"negative methods", "9500" + "92c3c410" + tUser + "ff" + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16), "negative methods"},
		{"methods as string", "9500" + "92c3c410" + tUser + "a170" + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16), "methods integer"},
		{"expiry NaN", "9500" + "92c3c410" + tUser + "02" + "cb7ff8000000000001" + "91c410" + strings.Repeat("00", 16), "NaN"},
		{"expiry +Inf", "9500" + "92c3c410" + tUser + "02" + "cb7ff0000000000000" + "91c410" + strings.Repeat("00", 16), "Inf"},
		{"expiry year 10000", "9500" + "92c3c410" + tUser + "02" + "cf000000ec00000000" + "91c410" + strings.Repeat("00", 16), "out of range"},
		{"expiry as string", "9500" + "92c3c410" + tUser + "02" + "a131" + "91c410" + strings.Repeat("00", 16), "not a number"},
		{"no audit id", "9500" + "92c3c410" + tUser + "02" + "cb41d0000000000000" + "90", "no audit id"},
		{"audit id nil", "9500" + "92c3c410" + tUser + "02" + "cb41d0000000000000" + "91c0", "audit id is nil"},
		{"user not UTF-8", "9500" + "92c2a2fffe" + "02" + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16), "UTF-8"},
		{"list claims 2^32 elements", "dd ffffffff 00", "4294967295 elements"},
		{"groups claim 60000", "9804" + "92c3c410" + tUser + "10" + "dcea60" + "92c3c410" + tUser, "60000 elements"},
		{"domain not default", "9601" + "92c3c410" + tUser + "02" + "a56f74686572" + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16), "default domain"},
		{"trust id not 16 bytes", "9703" + "92c3c410" + tUser + "02" + "92c3c410" + tProject + "cb41d0000000000000" + "91c410" + strings.Repeat("00", 16) + "a474727374", "found 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := sealHex(t, p, strings.ReplaceAll(tc.hex, " ", ""))
			_, _, err := p.Validate(tok)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("Validate = %v, want ErrMalformed for %q", err, tc.why)
			}
		})
	}
	// The unmodified payload is accepted, so the cases above fail for
	// their own reason.
	if _, _, err := p.Validate(sealHex(t, p, goodHex)); err != nil {
		t.Fatalf("good payload: %v", err)
	}
}

// TestValidateLenientLikeKeystone covers what Keystone accepts beyond what
// it writes: msgpack str for uuid bytes (msgpack < 1.0 tokens), integer
// expiry, extra trailing list elements.
func TestValidateLenientLikeKeystone(t *testing.T) {
	p, _ := newTestProvider(t, DefaultConfig())
	audit := "91c410" + strings.Repeat("ab", 16)
	for _, tc := range []struct {
		name string
		hex  string
		want Payload
	}{
		{"uuid bytes as str8", "9500" + "92c3d910" + tUser + "02" + "cb41d0000000000000" + audit,
			Payload{UserID: tUser, Methods: []string{"password"}, ExpiresAt: time.Unix(1073741824, 0)}},
		{"integer expiry", "9500" + "92c2a46a646f65" + "04" + "ce70000000" + audit,
			Payload{UserID: "jdoe", Methods: []string{"token"}, ExpiresAt: time.Unix(0x70000000, 0)}},
		{"extra elements", "9700" + "92c2a46a646f65" + "04" + "ce70000000" + audit + "c0" + "92c3c2",
			Payload{UserID: "jdoe", Methods: []string{"token"}, ExpiresAt: time.Unix(0x70000000, 0)}},
		{"audit id as str", "9500" + "92c2a46a646f65" + "04" + "ce70000000" + "91b0" + strings.Repeat("ab", 16),
			Payload{UserID: "jdoe", Methods: []string{"token"}, ExpiresAt: time.Unix(0x70000000, 0)}},
		{"default domain as bin", "9601" + "92c2a46a646f65" + "04" + "c40764656661756c74" + "ce70000000" + audit,
			Payload{UserID: "jdoe", Methods: []string{"token"}, DomainID: "default", ExpiresAt: time.Unix(0x70000000, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := p.Validate(sealHex(t, p, tc.hex))
			if err != nil {
				t.Fatal(err)
			}
			tc.want.AuditIDs = []string{"q6urq6urq6urq6urq6urqw"}
			if d := diffPayload(got, tc.want); d != "" {
				t.Error(d)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func sealHex(t *testing.T, p *Provider, h string) string {
	t.Helper()
	var b []byte
	if _, err := fmt.Sscanf(h, "%x", &b); err != nil && h != "" {
		t.Fatalf("bad hex %q: %v", h, err)
	}
	tok, err := p.keys.Load().seal(b, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestExpiry(t *testing.T) {
	p, _ := newTestProvider(t, DefaultConfig())
	exp := time.Date(2030, 1, 1, 0, 0, 0, 600000000, time.UTC) // Keystone truncates to 00:00:00
	tok, err := p.Issue(base(func(p *Payload) { p.ExpiresAt = exp }))
	if err != nil {
		t.Fatal(err)
	}
	sec := exp.Truncate(time.Second)
	for _, tc := range []struct {
		now    time.Time
		window time.Duration
		ok     bool
	}{
		{sec.Add(-time.Nanosecond), 0, true},
		{sec, 0, false},
		{sec.Add(300 * time.Millisecond), 0, false},
		{sec.Add(time.Hour), 2 * time.Hour, true},
		{sec.Add(2 * time.Hour), 2 * time.Hour, false},
	} {
		pl, _, err := p.ValidateUnexpired(tok, tc.now, tc.window)
		if tc.ok && err != nil {
			t.Errorf("now %v window %v: %v", tc.now, tc.window, err)
		}
		if !tc.ok && !errors.Is(err, ErrExpired) {
			t.Errorf("now %v window %v: %v, want ErrExpired", tc.now, tc.window, err)
		}
		if pl.UserID != tUser {
			t.Errorf("ValidateUnexpired did not return the payload with its result")
		}
	}
	if _, _, err := p.ValidateUnexpired("garbage", time.Now(), 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage: %v", err)
	}
}

func TestAuditIDs(t *testing.T) {
	a, err := NewAuditID()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewAuditID()
	if len(a) != 22 || a == b {
		t.Errorf("NewAuditID = %q, %q", a, b)
	}
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 16 {
		t.Errorf("audit id %q is not 16 bytes of urlsafe base64: %v", a, err)
	}
	pl := Payload{AuditIDs: []string{"child", "parent"}}
	if pl.AuditID() != "child" || pl.ParentAuditID() != "parent" {
		t.Errorf("AuditID/ParentAuditID = %q, %q", pl.AuditID(), pl.ParentAuditID())
	}
	pl.AuditIDs = []string{"a", "b", "c"} // Keystone pops the parent, then the audit id
	if pl.AuditID() != "b" || pl.ParentAuditID() != "c" {
		t.Errorf("three audit ids: AuditID/ParentAuditID = %q, %q", pl.AuditID(), pl.ParentAuditID())
	}
	pl.AuditIDs = pl.AuditIDs[:1]
	if pl.AuditID() != "a" || pl.ParentAuditID() != "" {
		t.Errorf("one audit id: AuditID/ParentAuditID = %q, %q", pl.AuditID(), pl.ParentAuditID())
	}
}

package fernet

import (
	"errors"
	"testing"
	"time"
)

// FuzzValidate feeds arbitrary strings to Validate: it must never panic,
// and every failure must be one of the typed errors.
func FuzzValidate(f *testing.F) {
	p, _ := newTestProvider(f, DefaultConfig())
	var doc struct {
		Vectors []issuedVector `json:"vectors"`
	}
	readJSON(f, "testdata/keystone_issued.json", &doc)
	for _, v := range doc.Vectors {
		f.Add(v.Token)
	}
	for _, s := range []string{"", "gAAAAA", "=", "====", "gAAAAABrBpof", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		pl, _, err := p.Validate(token)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if pl.UserID == "" && len(pl.AuditIDs) == 0 {
			t.Fatalf("accepted a token without content")
		}
	})
}

// FuzzPayload signs arbitrary plaintexts with the real key, so the fuzzer
// reaches the msgpack decoder (it cannot forge HMACs). Whatever decodes
// must issue again as a token that decodes to the same payload, unless
// Issue refuses it as invalid.
func FuzzPayload(f *testing.F) {
	p, _ := newTestProvider(f, DefaultConfig())
	for _, tc := range roundTripCases() {
		b, err := p.codec.marshal(&tc.p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x95, 0x00})
	f.Fuzz(func(t *testing.T, plain []byte) {
		tok, err := p.keys.Load().seal(plain, time.Unix(1e9, 0))
		if err != nil {
			t.Fatal(err)
		}
		pl, _, err := p.Validate(tok)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("signed payload failed with %v, want ErrMalformed", err)
			}
			return
		}
		again, err := p.Issue(pl)
		if err != nil {
			if !errors.Is(err, ErrInvalidPayload) {
				t.Fatalf("Issue of a decoded payload: %v", err)
			}
			return
		}
		back, _, err := p.Validate(again)
		if err != nil {
			t.Fatalf("re-issued token does not validate: %v", err)
		}
		if d := diffPayload(back, pl); d != "" {
			t.Fatalf("re-issue changed %s", d)
		}
	})
}

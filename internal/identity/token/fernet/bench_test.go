package fernet

import (
	"testing"
	"time"
)

func benchToken(b *testing.B, pl Payload) (*Provider, string) {
	p, _ := newTestProvider(b, DefaultConfig())
	tok, err := p.Issue(pl)
	if err != nil {
		b.Fatal(err)
	}
	return p, tok
}

// BenchmarkValidate measures a project-scoped token signed by the primary
// key, the common case on every API request.
func BenchmarkValidate(b *testing.B) {
	p, tok := benchToken(b, base(func(p *Payload) { p.ProjectID = tProject; p.AuditIDs = []string{tAudit1, tAudit2} }))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Validate(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateSecondaryKey is the worst normal case: the token was
// made before the last rotation, so the primary key's HMAC fails first.
func BenchmarkValidateSecondaryKey(b *testing.B) {
	ring, err := ReadKeyDir("testdata/keys")
	if err != nil {
		b.Fatal(err)
	}
	old := ring.Clone()
	i, _, _ := ring.Primary()
	delete(old.keys, i)
	pOld, err := New(DefaultConfig(), old)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := pOld.Issue(base(func(p *Payload) { p.ProjectID = tProject }))
	if err != nil {
		b.Fatal(err)
	}
	p, _ := New(DefaultConfig(), ring)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Validate(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateParallel(b *testing.B) {
	p, tok := benchToken(b, base(func(p *Payload) { p.ProjectID = tProject }))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := p.Validate(tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkValidateFederated20Groups(b *testing.B) {
	p, tok := benchToken(b, base(func(p *Payload) {
		p.Federated = true
		p.ProjectID = tProject
		for range 20 {
			p.FederatedGroupIDs = append(p.FederatedGroupIDs, tGroup)
		}
		p.IdentityProviderID = "myidp"
		p.ProtocolID = "saml2"
	}))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Validate(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	p, _ := newTestProvider(b, DefaultConfig())
	pl := base(func(p *Payload) { p.ProjectID = tProject })
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.IssueAt(pl, at); err != nil {
			b.Fatal(err)
		}
	}
}

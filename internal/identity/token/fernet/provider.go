package fernet

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Config is the Keystone configuration the token format depends on. Both
// values must match every Keystone (and tenku) sharing the keys.
type Config struct {
	// Methods is Keystone's [auth] methods list, in order: method i is bit
	// 1<<i of a token's methods integer. Empty means DefaultMethods().
	Methods []string
	// DefaultDomainID is Keystone's [identity] default_domain_id, the only
	// non-uuid domain id a domain-scoped token may carry. Empty means
	// "default".
	DefaultDomainID string
}

// DefaultConfig returns Keystone's defaults.
func DefaultConfig() Config {
	return Config{Methods: DefaultMethods(), DefaultDomainID: "default"}
}

// Validate reports whether the configuration can be used.
func (c Config) Validate() error {
	_, err := c.withDefaults().codec()
	return err
}

func (c Config) withDefaults() Config {
	if len(c.Methods) == 0 {
		c.Methods = DefaultMethods()
	}
	if c.DefaultDomainID == "" {
		c.DefaultDomainID = "default"
	}
	return c
}

func (c Config) codec() (codec, error) {
	m, err := newMethodSet(c.Methods)
	if err != nil {
		return codec{}, err
	}
	return codec{methods: m, defaultDomainID: c.DefaultDomainID}, nil
}

// Provider issues and validates tokens with a key ring. It is safe for
// concurrent use; SetKeys swaps the ring atomically, so a rotation (or a
// ring reloaded from the database) takes effect without pausing callers.
type Provider struct {
	codec codec
	keys  atomic.Pointer[keySet]
}

// New returns a provider using ring (which it copies; later changes to ring
// need SetKeys).
func New(cfg Config, ring *KeyRing) (*Provider, error) {
	c, err := cfg.withDefaults().codec()
	if err != nil {
		return nil, err
	}
	p := &Provider{codec: c}
	if err := p.SetKeys(ring); err != nil {
		return nil, err
	}
	return p, nil
}

// SetKeys puts a copy of ring in use: its highest index encrypts, all its
// keys decrypt.
func (p *Provider) SetKeys(ring *KeyRing) error {
	ks, err := newKeySet(ring)
	if err != nil {
		return err
	}
	p.keys.Store(ks)
	return nil
}

// Issue makes a token for pl, stamped now. The error wraps ErrInvalidPayload
// when pl cannot be expressed as a Keystone payload.
func (p *Provider) Issue(pl Payload) (string, error) {
	return p.IssueAt(pl, time.Now())
}

// IssueAt is Issue with the token's creation time given; Keystone reports
// it, truncated to the second, as the token's issued_at.
func (p *Provider) IssueAt(pl Payload, at time.Time) (string, error) {
	plain, err := p.codec.marshal(&pl)
	if err != nil {
		return "", err
	}
	tok, err := p.keys.Load().seal(plain, at)
	if err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	return tok, nil
}

// Validate checks a token's signature with every key of the ring and
// decodes its payload, returning it and the token's issued-at time (whole
// seconds, UTC). Like Keystone's token formatter it does not judge expiry:
// use ValidateUnexpired, or CheckExpiry on the payload. Failures wrap
// ErrMalformed or ErrInvalidSignature; no input makes it panic.
func (p *Provider) Validate(token string) (Payload, time.Time, error) {
	plain, issued, err := p.keys.Load().open(token)
	if err != nil {
		return Payload{}, time.Time{}, err
	}
	if issued > maxUnix {
		return Payload{}, time.Time{}, malformed("creation time %d out of range", issued)
	}
	pl, err := p.codec.unmarshal(plain)
	if err != nil {
		return Payload{}, time.Time{}, err
	}
	return pl, time.Unix(int64(issued), 0).UTC(), nil
}

// ValidateUnexpired is Validate followed by CheckExpiry(now, window): a
// token past expires_at+window fails with an error wrapping ErrExpired,
// and the decoded payload is still returned so a caller can log it. Use
// window 0 for normal validation and Keystone's allow_expired window
// ([token] allow_expired_window, default 48h) for ?allow_expired=1.
func (p *Provider) ValidateUnexpired(token string, now time.Time, window time.Duration) (Payload, time.Time, error) {
	pl, issued, err := p.Validate(token)
	if err != nil {
		return Payload{}, time.Time{}, err
	}
	return pl, issued, CheckExpiry(&pl, now, window)
}

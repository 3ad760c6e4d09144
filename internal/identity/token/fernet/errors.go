package fernet

import (
	"errors"
	"fmt"
)

// Errors returned by Validate. Every validation failure wraps exactly one of
// ErrMalformed or ErrInvalidSignature, so callers can map them with
// errors.Is; Keystone answers all of them as TokenNotFound (404 for
// X-Subject-Token, 401 for X-Auth-Token).
var (
	// ErrMalformed means the token is not a Fernet token Keystone could have
	// made: bad base64, wrong envelope layout, bad padding, or a payload that
	// is not one of Keystone's msgpack layouts.
	ErrMalformed = errors.New("fernet: malformed token")
	// ErrInvalidSignature means the token is well formed but no key of the
	// ring verifies its HMAC: it was made with an unknown (or pruned) key or
	// was tampered with. The two cannot be told apart.
	ErrInvalidSignature = errors.New("fernet: token signature matches no key")
	// ErrExpired is returned by ValidateUnexpired and CheckExpiry when the
	// payload's expires_at (plus the allowed window) has passed.
	ErrExpired = errors.New("fernet: token expired")
	// ErrNoKeys means the provider or key ring has no key to work with.
	ErrNoKeys = errors.New("fernet: no keys")
	// ErrInvalidPayload is wrapped by Issue when a Payload cannot be laid
	// out as any Keystone payload version.
	ErrInvalidPayload = errors.New("fernet: invalid payload")
	// ErrInvalidKey means a key string is not urlsafe base64 of 32 bytes.
	ErrInvalidKey = errors.New("fernet: invalid key")
)

// malformed wraps ErrMalformed with a reason; reasons are for logs, never for
// API responses (Keystone does not say why a token failed).
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func invalidPayload(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidPayload}, args...)...)
}

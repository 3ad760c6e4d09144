package identity

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// FuzzParseAuthRequest: any body is either a parsed request or a 400, never
// a panic.
func FuzzParseAuthRequest(f *testing.F) {
	for _, seed := range []string{
		passwordAuth("admin", "pw", ""),
		passwordAuth("admin", "pw", `,"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}`),
		passwordAuth("admin", "pw", `,"scope":"unscoped"`),
		passwordAuth("admin", "pw", `,"scope":{"system":{"all":true}}`),
		passwordAuth("admin", "pw", `,"scope":{"OS-TRUST:trust":{"id":"abc"}}`),
		`{"auth":{"identity":{"methods":["token"],"token":{"id":"gAAAA"}}}}`,
		`{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"x","secret":"y"}}}}`,
		`{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"name":"x","secret":"y","user":{"name":"u","domain":{"id":"d"}}}}}}`,
		`{"auth":{"identity":{"methods":"password"}}}`,
		`{"auth":null}`, `[]`, `{"auth":{"identity":{"methods":[1]}}}`, `{}`, ``, `{"auth":{"identity":{"methods":[],"password":{"user":{}}}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ar, err := parseAuthRequest(body)
		if err != nil {
			if !fault.Is(err, 400) {
				t.Fatalf("error is not a 400: %v", err)
			}
			return
		}
		if ar == nil || ar.methods == nil {
			t.Fatal("nil request without an error")
		}
		for _, m := range ar.methods {
			if _, ok := ar.raw[m]; !ok {
				t.Fatalf("method %q accepted without its data", m)
			}
		}
	})
}

// FuzzValidateToken: any token string is valid (only those we issued) or a
// clean invalid-token failure, through the same path as X-Auth-Token and
// X-Subject-Token.
func FuzzValidateToken(f *testing.F) {
	c := newCloud(f, nil, testConfig())
	good := c.login("demo", demoPW, ``)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good + "A")
	f.Add(strings.ToUpper(good))
	f.Add("gAAAAA")
	f.Add("")
	f.Add(strings.Repeat("gAAAAABk", 100))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, tok string) {
		e, err := c.svc.validateToken(ctx, tok, 0)
		if err != nil {
			if !errors.Is(err, errTokenInvalid) {
				t.Fatalf("token %q: unexpected error %v", tok, err)
			}
			return
		}
		if e.model.p.UserID == "" {
			t.Fatal("valid token without a user")
		}
		if _, err := c.svc.Validator().Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
}

package authn

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// fakeKeystone answers the two calls Remote makes.
func fakeKeystone(t *testing.T, logins *atomic.Int32) *httptest.Server {
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v3/auth/tokens":
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			logins.Add(1)
			w.Header().Set("X-Subject-Token", "svc-token")
			w.WriteHeader(201)
			w.Write([]byte(`{"token":{"expires_at":"` + exp + `","user":{"id":"svc"}}}`))
		case r.Method == http.MethodGet && r.URL.Path == "/v3/auth/tokens":
			if r.Header.Get("X-Auth-Token") != "svc-token" {
				w.WriteHeader(401)
				return
			}
			if r.Header.Get("X-Subject-Token") != "user-token" {
				w.WriteHeader(404)
				return
			}
			w.Write([]byte(`{"token":{"methods":["password"],"expires_at":"` + exp + `",
			  "user":{"id":"u1","name":"demo","domain":{"id":"default","name":"Default"}},
			  "project":{"id":"p1","name":"demo","domain":{"id":"default","name":"Default"}},
			  "roles":[{"id":"r1","name":"Member"},{"id":"r2","name":"reader"}],"is_admin_project":false}}`))
		default:
			w.WriteHeader(404)
		}
	}))
}

func TestRemoteValidate(t *testing.T) {
	var logins atomic.Int32
	srv := fakeKeystone(t, &logins)
	defer srv.Close()
	r := NewRemote(ServiceCredentials{AuthURL: srv.URL + "/v3/", Username: "nova", Password: "x", ProjectName: "service"}, srv.Client())
	ctx := context.Background()
	a, err := r.Validate(ctx, "user-token")
	if err != nil {
		t.Fatal(err)
	}
	if a.UserID != "u1" || a.ProjectID != "p1" || !a.HasRole("member") || a.Scope() != "project" || a.Token != "user-token" {
		t.Fatalf("context = %+v", a)
	}
	if _, err := r.Validate(ctx, "other"); !fault.Is(err, 401) {
		t.Fatalf("unknown token: %v", err)
	}
	if logins.Load() != 1 {
		t.Fatalf("service logged in %d times, want 1 (token reused)", logins.Load())
	}
	// Our service token went stale: one 401, re-login, success.
	r.token = "stale"
	if _, err := r.Validate(ctx, "user-token"); err != nil || logins.Load() != 2 {
		t.Fatalf("re-login after a stale service token: %v, logins %d", err, logins.Load())
	}
}

func TestRemoteUnreachable(t *testing.T) {
	r := NewRemote(ServiceCredentials{AuthURL: "http://127.0.0.1:1", Username: "nova"}, nil)
	if _, err := r.Validate(context.Background(), "t"); !fault.Is(err, 503) {
		t.Fatalf("unreachable keystone: %v, want a 503 fault", err)
	}
}

// With a Mint, the service token is minted, never logged in for with the
// password; a stale one is minted again.
func TestRemoteMintsServiceTokens(t *testing.T) {
	var logins, mints atomic.Int32
	srv := fakeKeystone(t, &logins)
	defer srv.Close()
	mint := func(context.Context) (string, *Context, error) {
		mints.Add(1)
		return "svc-token", &Context{UserID: "svc", ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	r := NewRemote(ServiceCredentials{AuthURL: srv.URL, Username: "nova", ProjectName: "service", Mint: mint}, srv.Client())
	ctx := context.Background()
	for range 3 {
		if a, err := r.Validate(ctx, "user-token"); err != nil || a.UserID != "u1" {
			t.Fatalf("validate: %+v %v", a, err)
		}
	}
	r.token = "stale"
	if _, err := r.Validate(ctx, "user-token"); err != nil {
		t.Fatal(err)
	}
	if logins.Load() != 0 || mints.Load() != 2 {
		t.Fatalf("password logins %d, mints %d: want 0 and 2", logins.Load(), mints.Load())
	}
	if tok, _, err := Login(ctx, ServiceCredentials{Mint: mint}, nil); err != nil || tok != "svc-token" {
		t.Fatalf("Login with a Mint: %q %v", tok, err)
	}
}

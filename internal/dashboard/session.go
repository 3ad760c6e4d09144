package dashboard

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

const (
	sessionCookie = "tenku_session"
	// csrfCookie carries the login form's CSRF secret before a session exists
	// (Django's csrftoken, which Horizon uses).
	csrfCookie = "csrftoken"
)

// session is what the sealed cookie holds. Tokens never reach the page: the
// cookie is HttpOnly and its content is encrypted and authenticated.
type session struct {
	UserID      string `json:"uid"`
	UserName    string `json:"u"`
	Domain      string `json:"d"`
	Unscoped    string `json:"ut"` // the login token, kept to switch projects
	Token       string `json:"t"`  // the project-scoped token every call uses
	ProjectID   string `json:"pid"`
	ProjectName string `json:"pn"`
	Region      string `json:"r"`
	CSRF        string `json:"c"`
	Expires     int64  `json:"e"` // the scoped token's expiry
	Seen        int64  `json:"s"` // last request, for the idle timeout
}

// sealer seals sessions with AES-256-GCM.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) == 0 {
		return nil, errors.New("empty session secret")
	}
	key := sha256.Sum256(append([]byte("tenku-dashboard-session\x00"), secret...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(v *session) (string, error) { return s.sealAs(sessionCookie, v) }

func (s *sealer) open(text string) (*session, error) { return s.openAs(sessionCookie, text) }

// sealAs seals v for the cookie called name: a value sealed for one cookie
// does not open as another.
func (s *sealer) sealAs(name string, v *session) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, plain, []byte(name))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (s *sealer) openAs(name, text string) (*session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return nil, errors.New("malformed session cookie")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(name))
	if err != nil {
		return nil, errors.New("session cookie fails authentication")
	}
	var v session
	if err := json.Unmarshal(plain, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameToken compares two CSRF tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// loadSession returns the request's live session, or nil.
func (d *Dashboard) loadSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s, err := d.sealer.open(c.Value)
	if err != nil {
		return nil
	}
	now := d.now()
	if now.Unix() >= s.Expires || now.Sub(time.Unix(s.Seen, 0)) > d.cfg.idle() {
		return nil
	}
	return s
}

// saveSession writes the session cookie, marking it seen now.
func (d *Dashboard) saveSession(w http.ResponseWriter, s *session) error {
	s.Seen = d.now().Unix()
	v, err := d.sealer.seal(s)
	if err != nil {
		return err
	}
	http.SetCookie(w, d.cookie(sessionCookie, v, 0))
	return nil
}

// flashCookie carries the message shown once on the page after a redirect
// ("Request to stop instance x has been submitted."), sealed like the session.
const flashCookie = "tenku_flash"

func (d *Dashboard) flash(w http.ResponseWriter, msg string) {
	v, err := d.sealer.sealAs(flashCookie, &session{CSRF: msg, Seen: d.now().Unix()})
	if err == nil {
		http.SetCookie(w, d.cookie(flashCookie, v, 60))
	}
}

// flashT keeps a message for the next page, in the user's language: format
// is looked up in the catalogue, then filled in.
func (d *Dashboard) flashT(p *page, format string, args ...any) {
	d.flash(p.w, fmt.Sprintf(p.T(format), args...))
}

// takeFlash returns and clears the pending message.
func (d *Dashboard) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, d.cookie(flashCookie, "", -1))
	s, err := d.sealer.openAs(flashCookie, c.Value)
	if err != nil {
		return ""
	}
	return s.CSRF
}

func (d *Dashboard) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, d.cookie(sessionCookie, "", -1))
}

func (d *Dashboard) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: d.cfg.SecureCookies}
}

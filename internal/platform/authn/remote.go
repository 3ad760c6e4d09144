package authn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// ServiceCredentials are a service user's password credentials, the way
// keystonemiddleware's [keystone_authtoken] section names them.
type ServiceCredentials struct {
	AuthURL           string // Keystone's root, e.g. http://127.0.0.1:5000 (with or without /v3)
	Username          string
	Password          string
	UserDomainName    string
	ProjectName       string
	ProjectDomainName string
	// Mint, when set, issues the service user's project-scoped token
	// without a password: Keystone runs in this process (tenku stack), and
	// a password login would only spend a bcrypt check on a user the
	// process created itself. Tokens minted are ordinary Keystone tokens.
	Mint func(ctx context.Context) (string, *Context, error) `json:"-"`
}

// Remote validates tokens by asking Keystone (GET /v3/auth/tokens), authenticating
// itself with a service token it obtains and renews as needed.
type Remote struct {
	creds  ServiceCredentials
	client *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewRemote returns a validator that asks the Keystone named by creds.AuthURL.
func NewRemote(creds ServiceCredentials, client *http.Client) *Remote {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if creds.UserDomainName == "" {
		creds.UserDomainName = "Default"
	}
	if creds.ProjectDomainName == "" {
		creds.ProjectDomainName = "Default"
	}
	creds.AuthURL = strings.TrimSuffix(strings.TrimSuffix(creds.AuthURL, "/"), "/v3")
	return &Remote{creds: creds, client: client}
}

// ServiceToken returns a valid token of the service user, logging in when needed.
func (r *Remote) ServiceToken(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.token != "" && time.Until(r.expires) > 5*time.Minute {
		return r.token, nil
	}
	if r.creds.Mint != nil {
		tok, c, err := r.creds.Mint(ctx)
		if err != nil {
			return "", err
		}
		r.token, r.expires = tok, c.ExpiresAt
		return tok, nil
	}
	tok, body, err := r.login(ctx)
	if err != nil {
		return "", err
	}
	r.token, r.expires = tok, body.Token.ExpiresAt
	return tok, nil
}

func (r *Remote) forget(tok string) {
	r.mu.Lock()
	if r.token == tok {
		r.token = ""
	}
	r.mu.Unlock()
}

func (r *Remote) login(ctx context.Context) (string, *TokenBody, error) {
	req := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": r.creds.Username, "password": r.creds.Password, "domain": map[string]string{"name": r.creds.UserDomainName}}}},
		"scope": map[string]any{"project": map[string]any{"name": r.creds.ProjectName, "domain": map[string]string{"name": r.creds.ProjectDomainName}}},
	}}
	b, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, r.creds.AuthURL+"/v3/auth/tokens?nocatalog", bytes.NewReader(b))
	if err != nil {
		return "", nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(hr)
	if err != nil {
		return "", nil, fault.Unavailable("identity service unreachable: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", nil, fault.Unavailable("service user %s cannot log in to identity (%d): %s", r.creds.Username, resp.StatusCode, bytes.TrimSpace(msg))
	}
	var body TokenBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", nil, fmt.Errorf("decode service token: %w", err)
	}
	return resp.Header.Get("X-Subject-Token"), &body, nil
}

// Validate asks Keystone about token.
func (r *Remote) Validate(ctx context.Context, token string) (*Context, error) {
	for attempt := 0; ; attempt++ {
		svc, err := r.ServiceToken(ctx)
		if err != nil {
			return nil, err
		}
		hr, err := http.NewRequestWithContext(ctx, http.MethodGet, r.creds.AuthURL+"/v3/auth/tokens?nocatalog", nil)
		if err != nil {
			return nil, err
		}
		hr.Header.Set("X-Auth-Token", svc)
		hr.Header.Set("X-Subject-Token", token)
		resp, err := r.client.Do(hr)
		if err != nil {
			return nil, fault.Unavailable("identity service unreachable: %v", err)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			var body TokenBody
			err := json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("decode token validation: %w", err)
			}
			return body.Context(token), nil
		case http.StatusUnauthorized:
			resp.Body.Close()
			// Keystone answers 401 when our own service token went bad; try once more
			// with a fresh one before blaming the user's token.
			if attempt == 0 {
				r.forget(svc)
				continue
			}
			return nil, fault.Unauthorized("The request you have made requires authentication.")
		case http.StatusNotFound:
			resp.Body.Close()
			return nil, fault.Unauthorized("The request you have made requires authentication.")
		default:
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			return nil, fault.Unavailable("identity service answered %d validating a token: %s", resp.StatusCode, bytes.TrimSpace(msg))
		}
	}
}

// TokenBody is the part of Keystone's token document services read.
type TokenBody struct {
	Token struct {
		Methods   []string  `json:"methods"`
		ExpiresAt time.Time `json:"expires_at"`
		IssuedAt  time.Time `json:"issued_at"`
		AuditIDs  []string  `json:"audit_ids"`
		User      struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Domain struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"domain"`
		} `json:"user"`
		Project *struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Domain struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"domain"`
		} `json:"project"`
		Domain *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"domain"`
		System map[string]any `json:"system"`
		Roles  []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"roles"`
		IsAdminProject        *bool `json:"is_admin_project"`
		ApplicationCredential *struct {
			ID string `json:"id"`
		} `json:"application_credential"`
		Trust *struct {
			ID string `json:"id"`
		} `json:"OS-TRUST:trust"`
	} `json:"token"`
}

// Context converts the document to an authenticated context.
func (b *TokenBody) Context(token string) *Context {
	t := &b.Token
	c := &Context{
		Token: token, UserID: t.User.ID, UserName: t.User.Name,
		UserDomainID: t.User.Domain.ID, UserDomainName: t.User.Domain.Name,
		Methods: t.Methods, AuditIDs: t.AuditIDs, ExpiresAt: t.ExpiresAt, IssuedAt: t.IssuedAt,
	}
	if t.Project != nil {
		c.ProjectID, c.ProjectName = t.Project.ID, t.Project.Name
		c.ProjectDomainID, c.ProjectDomainName = t.Project.Domain.ID, t.Project.Domain.Name
	}
	if t.Domain != nil {
		c.DomainID, c.DomainName = t.Domain.ID, t.Domain.Name
	}
	if _, ok := t.System["all"]; ok {
		c.System = "all"
	}
	for _, r := range t.Roles {
		c.Roles = append(c.Roles, strings.ToLower(r.Name))
		c.RoleIDs = append(c.RoleIDs, r.ID)
	}
	if t.IsAdminProject != nil {
		c.IsAdminProject = *t.IsAdminProject
	}
	if t.ApplicationCredential != nil {
		c.AppCredentialID = t.ApplicationCredential.ID
	}
	if t.Trust != nil {
		c.TrustID = t.Trust.ID
	}
	return c
}

// Login authenticates with the credentials and returns the token and what it
// says (user, project, roles).
func Login(ctx context.Context, creds ServiceCredentials, client *http.Client) (string, *Context, error) {
	if creds.Mint != nil {
		return creds.Mint(ctx)
	}
	r := NewRemote(creds, client)
	tok, body, err := r.login(ctx)
	if err != nil {
		return "", nil, err
	}
	return tok, body.Context(tok), nil
}

package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// computeVersion is the compute microversion the dashboard speaks: 2.47 and
// later embed the flavor in each server, so the instances page needs no
// flavor lookups.
const computeVersion = "2.79"

// APIError is an error answer of an OpenStack API, as the user should read it:
// the service's own message and the request id to quote to an operator.
type APIError struct {
	Service   string
	Status    int
	Message   string
	RequestID string
	format    string // the dashboard's own refusals: Message's catalogue key
	args      []any
}

// badRequest is the dashboard's own refusal of a form (a 400), its message
// translated when shown.
func badRequest(format string, args ...any) *APIError {
	return &APIError{Service: "dashboard", Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), format: format, args: args}
}

// in returns the error as the user reads it in lang.
func (e *APIError) in(lang string) string {
	if e.format == "" {
		return e.Error()
	}
	c := *e
	c.Message = fmt.Sprintf(translate(lang, e.format), e.args...)
	return c.Error()
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %s (HTTP %d", e.Service, e.Message, e.Status)
	if e.RequestID != "" {
		s += ", request " + e.RequestID
	}
	return s + ")"
}

// statusOf returns the HTTP status of an API error, or 0.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// token is what Keystone says about a token (POST or GET /v3/auth/tokens).
type token struct {
	ExpiresAt time.Time `json:"expires_at"`
	User      struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Domain ref    `json:"domain"`
	} `json:"user"`
	Project *struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Domain ref    `json:"domain"`
	} `json:"project"`
	Roles   []ref          `json:"roles"`
	Catalog []catalogEntry `json:"catalog"`
}

type ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type catalogEntry struct {
	Type      string `json:"type"`
	Name      string `json:"name"`
	Endpoints []struct {
		Interface string `json:"interface"`
		Region    string `json:"region"`
		RegionID  string `json:"region_id"`
		URL       string `json:"url"`
	} `json:"endpoints"`
}

// project is an entry of GET /v3/auth/projects.
type project struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	DomainID string `json:"domain_id"`
	Enabled  bool   `json:"enabled"`
}

// hasRole reports whether the token carries a role.
func (t *token) hasRole(name string) bool {
	for _, r := range t.Roles {
		if r.Name == name {
			return true
		}
	}
	return false
}

// endpoint returns the public URL of a catalog type in region ("" when absent).
// A catalog without that region falls back to any public endpoint.
func (t *token) endpoint(types []string, region string) string {
	var fallback string
	for _, typ := range types {
		for _, e := range t.Catalog {
			if e.Type != typ {
				continue
			}
			for _, ep := range e.Endpoints {
				if ep.Interface != "public" {
					continue
				}
				if region == "" || ep.Region == region || ep.RegionID == region {
					return strings.TrimSuffix(ep.URL, "/")
				}
				if fallback == "" {
					fallback = strings.TrimSuffix(ep.URL, "/")
				}
			}
		}
	}
	return fallback
}

// client calls OpenStack APIs over HTTP.
type client struct {
	http    *http.Client
	authURL string // Keystone's root with /v3
}

func newClient(authURL string, timeout time.Duration) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64 // pages fan out in parallel to the same few endpoints
	return &client{
		http:    &http.Client{Transport: tr, Timeout: timeout},
		authURL: strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(authURL, "/"), "/v3"), "/") + "/v3",
	}
}

// call sends one request; out (when non-nil) receives the JSON answer. It
// returns the answer's headers.
func (c *client) call(ctx context.Context, service, method, url, tok string, body, out any, hdr map[string]string) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tenku-dashboard")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("X-Auth-Token", tok)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &APIError{Service: service, Status: http.StatusBadGateway, Message: "the service could not be reached: " + err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.Header, &APIError{Service: service, Status: http.StatusBadGateway, Message: "the answer was cut: " + err.Error()}
	}
	if resp.StatusCode >= 400 {
		return resp.Header, &APIError{Service: service, Status: resp.StatusCode, Message: errorMessage(data, resp.Status), RequestID: requestID(resp.Header)}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, &APIError{Service: service, Status: http.StatusBadGateway, Message: "the answer is not the JSON expected: " + err.Error(), RequestID: requestID(resp.Header)}
		}
	}
	return resp.Header, nil
}

func requestID(h http.Header) string {
	for _, k := range []string{"X-Openstack-Request-Id", "X-Compute-Request-Id", "X-Request-Id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// errorMessage finds the message of an OpenStack error body, whichever
// service's shape it has ({"itemNotFound": {"message"}}, {"NeutronError":
// {"message"}}, {"error": {"message"}}, {"message"}).
func errorMessage(data []byte, status string) string {
	var v any
	if json.Unmarshal(data, &v) == nil {
		if m := findMessage(v, 0); m != "" {
			return m
		}
	}
	s := strings.TrimSpace(string(data))
	if s == "" || strings.HasPrefix(s, "<") || len(s) > 500 {
		return status
	}
	return s
}

func findMessage(v any, depth int) string {
	m, ok := v.(map[string]any)
	if !ok || depth > 2 {
		return ""
	}
	for _, k := range []string{"message", "faultstring", "detail"} {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	for _, sub := range m {
		if s := findMessage(sub, depth+1); s != "" {
			return s
		}
	}
	return ""
}

// passwordLogin logs in with a password, unscoped (Keystone may scope the
// token to the user's default project).
func (c *client) passwordLogin(ctx context.Context, user, password, domain string) (string, *token, error) {
	dom := map[string]string{"name": domain}
	body := map[string]any{"auth": map[string]any{"identity": map[string]any{
		"methods":  []string{"password"},
		"password": map[string]any{"user": map[string]any{"name": user, "password": password, "domain": dom}},
	}}}
	return c.issue(ctx, body)
}

// rescope exchanges a token for one scoped to a project.
func (c *client) rescope(ctx context.Context, tok, projectID string) (string, *token, error) {
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"token"}, "token": map[string]string{"id": tok}},
		"scope":    map[string]any{"project": map[string]string{"id": projectID}},
	}}
	return c.issue(ctx, body)
}

func (c *client) issue(ctx context.Context, body any) (string, *token, error) {
	var out struct {
		Token token `json:"token"`
	}
	h, err := c.call(ctx, "identity", "POST", c.authURL+"/auth/tokens", "", body, &out, nil)
	if err != nil {
		return "", nil, err
	}
	tok := h.Get("X-Subject-Token")
	if tok == "" {
		return "", nil, &APIError{Service: "identity", Status: http.StatusBadGateway, Message: "Keystone issued no X-Subject-Token"}
	}
	return tok, &out.Token, nil
}

// validate asks Keystone about a token with the token itself.
func (c *client) validate(ctx context.Context, tok string) (*token, error) {
	var out struct {
		Token token `json:"token"`
	}
	if _, err := c.call(ctx, "identity", "GET", c.authURL+"/auth/tokens", tok, nil, &out, map[string]string{"X-Subject-Token": tok}); err != nil {
		return nil, err
	}
	return &out.Token, nil
}

// revoke revokes a token.
func (c *client) revoke(ctx context.Context, tok string) error {
	_, err := c.call(ctx, "identity", "DELETE", c.authURL+"/auth/tokens", tok, nil, nil, map[string]string{"X-Subject-Token": tok})
	return err
}

// projects lists the projects a token's user may scope to.
func (c *client) projects(ctx context.Context, tok string) ([]project, error) {
	var out struct {
		Projects []project `json:"projects"`
	}
	if _, err := c.call(ctx, "identity", "GET", c.authURL+"/auth/projects", tok, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Projects, nil
}

// cloud is one user's view of the cloud for one request: their scoped token
// and the endpoints its catalog names.
type cloud struct {
	c         *client
	tok       string
	info      *token
	region    string
	projectID string
}

// has reports whether the catalog has a service of one of the types.
func (cl *cloud) has(types ...string) bool { return cl.info.endpoint(types, cl.region) != "" }

// serviceTypes are the catalog types by which the dashboard finds each service.
var serviceTypes = map[string][]string{
	"compute":  {"compute"},
	"network":  {"network"},
	"image":    {"image"},
	"identity": {"identity"},
	"volume":   {"block-storage", "volumev3", "volume"},
}

// url returns the URL of path on a service ("" and an error when the catalog
// has no such service).
func (cl *cloud) url(service, path string) (string, error) {
	base := cl.info.endpoint(serviceTypes[service], cl.region)
	if base == "" {
		return "", &APIError{Service: service, Status: http.StatusNotFound, Message: "the catalog has no " + service + " service in region " + cl.region}
	}
	base = strings.NewReplacer("%(project_id)s", cl.projectID, "$(project_id)s", cl.projectID, "%(tenant_id)s", cl.projectID, "$(tenant_id)s", cl.projectID).Replace(base)
	return base + path, nil
}

// do calls path on a service with the user's token.
func (cl *cloud) do(ctx context.Context, service, method, path string, body, out any) error {
	u, err := cl.url(service, path)
	if err != nil {
		return err
	}
	var hdr map[string]string
	if service == "compute" {
		hdr = map[string]string{"OpenStack-API-Version": "compute " + computeVersion, "X-OpenStack-Nova-API-Version": computeVersion}
	}
	_, err = cl.c.call(ctx, service, method, u, cl.tok, body, out, hdr)
	return err
}

func (cl *cloud) get(ctx context.Context, service, path string, out any) error {
	return cl.do(ctx, service, "GET", path, nil, out)
}

// fanout runs the calls in parallel and returns their errors, in order.
func fanout(ctx context.Context, calls ...func(ctx context.Context) error) []error {
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, f := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(ctx)
		}()
	}
	wg.Wait()
	return errs
}

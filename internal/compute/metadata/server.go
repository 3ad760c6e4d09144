package metadata

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// Errors a Source returns.
var (
	// ErrNotFound: no such instance (or it is deleted).
	ErrNotFound = errors.New("metadata: instance not found")
	// ErrPasswordSet: the guest already posted its password.
	ErrPasswordSet = errors.New("metadata: password already set")
)

// MaxPasswordSize is the most a guest may post as its password (Nova keeps
// it in four 255-character chunks).
const MaxPasswordSize = 4 * 255

// Source is what the metadata service reads instances from.
type Source interface {
	// Instance returns the documents' view of an instance.
	Instance(ctx context.Context, uuid string) (*Instance, error)
	// Password returns the password the guest posted ("" if none).
	Password(ctx context.Context, uuid string) (string, error)
	// SetPassword keeps the guest's password; ErrPasswordSet when one is
	// kept already.
	SetPassword(ctx context.Context, uuid, password string) error
}

// ServerConfig configures the metadata service.
type ServerConfig struct {
	// SharedSecret is [neutron] metadata_proxy_shared_secret: the metadata
	// proxy signs X-Instance-ID with it (HMAC-SHA256, hex).
	SharedSecret string
	Source       Source
	Log          *slog.Logger
}

// Server is Nova's metadata API (port 8775) behind Neutron's metadata
// proxy, which names the instance in X-Instance-ID (signed in
// X-Instance-ID-Signature) and its project in X-Tenant-ID. It is served by
// the shared router (rest.Router), so it gets the request id, the access
// log, panic recovery and the body checks every other API gets; its errors
// are webob's plain text, as Nova's metadata API answers them.
type Server struct {
	cfg    ServerConfig
	router *rest.Router
}

// NewServer returns the metadata service.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg}
	rt, err := rest.NewRouter(rest.Options{Service: "metadata", Errors: Errors, Log: cfg.Log, MaxBody: MaxPasswordSize}, s.routes())
	if err != nil {
		return nil, err
	}
	s.router = rt
	return s, nil
}

// routes are the metadata API's: the version roots, the OpenStack tree
// (whose password a guest may post once) and the EC2 tree. Every route is
// public: the proxy's signed headers, not a token, say who asks.
func (s *Server) routes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/", Public: true, Handler: s.root},
		{Method: "GET", Path: "/openstack", Public: true, Handler: s.openstackRoot},
		{Method: "GET", Path: "/openstack/{version}", Public: true, Handler: s.openstack},
		{Method: "GET", Path: "/openstack/{version}/password", Public: true, Handler: s.getPassword},
		// The body is the guest's (encrypted, base64) password as text, not JSON.
		{Method: "POST", Path: "/openstack/{version}/password", Public: true, RawBody: true, Handler: s.postPassword},
		{Method: "GET", Path: "/openstack/{version}/{file...}", Public: true, Handler: s.openstack},
		{Method: "GET", Path: "/{path...}", Public: true, Handler: s.ec2},
	}
}

// Routes returns the routes the router serves, for tests that visit every
// route.
func (s *Server) Routes() []rest.Route { return s.router.Routes() }

// ServeHTTP answers a guest's metadata request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Errors renders a fault as webob does for Nova's metadata API: plain text
// "<status> <reason>\n\n<explanation>\n\n".
func Errors(f *fault.Error) any {
	return rest.Text{ContentType: "text/plain; charset=UTF-8",
		Body: fmt.Appendf(nil, "%d %s\n\n%s\n\n", f.Status, http.StatusText(f.Status), f.Message)}
}

// ec2Versions are the EC2 versions the root lists.
var ec2Versions = []string{"1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01",
	"2008-09-01", "2009-04-04"}

// text is a plain-text answer.
func text(body string) *rest.Response {
	return &rest.Response{ContentType: "text/plain; charset=UTF-8", Body: []byte(body)}
}

// notFound is webob's 404.
func notFound() error { return fault.NotFound("The resource could not be found.") }

// instance authenticates the proxy's headers and loads the instance.
func (s *Server) instance(ctx context.Context, r *http.Request) (*Instance, error) {
	id := r.Header.Get("X-Instance-ID")
	tenant := r.Header.Get("X-Tenant-ID")
	sig := r.Header.Get("X-Instance-ID-Signature")
	if id == "" || tenant == "" {
		return nil, fault.BadRequest("X-Instance-ID and X-Tenant-ID header are required.")
	}
	if s.cfg.SharedSecret == "" {
		// An empty key signs for anyone who knows an instance id: with no
		// secret configured, no proxy request can be trusted.
		s.cfg.Log.WarnContext(ctx, "metadata request refused: [neutron] metadata_proxy_shared_secret is empty", "instance_id", id)
		return nil, fault.Forbidden("Invalid proxy request signature.")
	}
	mac := hmac.New(sha256.New, []byte(s.cfg.SharedSecret))
	mac.Write([]byte(id))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		s.cfg.Log.WarnContext(ctx, "metadata request with a bad signature", "instance_id", id, "remote", r.Header.Get("X-Forwarded-For"))
		return nil, fault.Forbidden("Invalid proxy request signature.")
	}
	inst, err := s.cfg.Source.Instance(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound()
	}
	if err != nil {
		return nil, fault.Internal(fmt.Errorf("metadata lookup of %s: %w", id, err))
	}
	if inst.ProjectID != tenant {
		s.cfg.Log.WarnContext(ctx, "metadata request for another project's instance", "instance_id", id, "tenant", tenant)
		return nil, notFound()
	}
	return inst, nil
}

// root lists the EC2 versions and "latest"; it needs no instance.
func (s *Server) root(ctx context.Context, r *rest.Request) (any, error) {
	return text(strings.Join(append(slices.Clone(ec2Versions), "latest"), "\n")), nil
}

// openstackRoot lists the OpenStack versions and "latest".
func (s *Server) openstackRoot(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := s.instance(ctx, r.HTTP); err != nil {
		return nil, err
	}
	return text(strings.Join(append(slices.Clone(Versions), "latest"), "\n")), nil
}

// openstackVersion checks a version path segment.
func openstackVersion(r *rest.Request) (string, error) {
	v := r.Param("version")
	if v != "latest" && !slices.Contains(Versions, v) {
		return "", notFound()
	}
	return v, nil
}

// openstack serves a version's listing and its documents.
func (s *Server) openstack(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := s.instance(ctx, r.HTTP)
	if err != nil {
		return nil, err
	}
	v, err := openstackVersion(r)
	if err != nil {
		return nil, err
	}
	files, err := inst.Files()
	if err != nil {
		return nil, fault.Internal(err)
	}
	dir := "openstack/" + v + "/"
	name := strings.Trim(r.Param("file"), "/")
	if name == "" {
		var names []string
		for path := range files {
			if strings.HasPrefix(path, dir) {
				names = append(names, strings.TrimPrefix(path, dir))
			}
		}
		names = append(names, "password")
		sort.Strings(names)
		return text(strings.Join(names, "\n")), nil
	}
	body, ok := files[dir+name]
	if !ok {
		return nil, notFound()
	}
	ctype := "text/plain; charset=UTF-8"
	if strings.HasSuffix(name, ".json") {
		ctype = "application/json"
	}
	return &rest.Response{ContentType: ctype, Body: body}, nil
}

// getPassword returns the password the guest posted ("" if none).
func (s *Server) getPassword(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := s.instance(ctx, r.HTTP)
	if err != nil {
		return nil, err
	}
	if _, err := openstackVersion(r); err != nil {
		return nil, err
	}
	pw, err := s.cfg.Source.Password(ctx, inst.UUID)
	if err != nil {
		return nil, fault.Internal(err)
	}
	return text(pw), nil
}

// postPassword keeps the password a guest posts, once. Nova decodes the
// body as UTF-8 (a 500 when it is not); tenku refuses such a body with 400.
func (s *Server) postPassword(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := s.instance(ctx, r.HTTP)
	if err != nil {
		return nil, err
	}
	if _, err := openstackVersion(r); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.HTTP.Body, MaxPasswordSize+1))
	if err != nil {
		return nil, fault.BadRequest("Could not read the request body.")
	}
	if len(body) > MaxPasswordSize {
		return nil, fault.BadRequest("Request is too large.")
	}
	if !utf8.Valid(body) {
		return nil, fault.BadRequest("The password is not valid UTF-8.")
	}
	switch err := s.cfg.Source.SetPassword(ctx, inst.UUID, string(body)); {
	case errors.Is(err, ErrPasswordSet):
		return nil, fault.Conflict("Password already set.")
	case err != nil:
		return nil, fault.Internal(err)
	}
	return text(""), nil
}

// ec2 serves the EC2-style tree: /<version>/meta-data/... and user-data.
func (s *Server) ec2(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := s.instance(ctx, r.HTTP)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.Trim(r.Param("path"), "/"), "/")
	v := parts[0]
	if v != "latest" && !slices.Contains(ec2Versions, v) {
		return nil, notFound()
	}
	if len(parts) == 1 {
		listing := "meta-data/"
		if inst.UserData != nil {
			listing = "meta-data/\nuser-data"
		}
		return text(listing), nil
	}
	switch parts[1] {
	case "user-data":
		if inst.UserData == nil || len(parts) > 2 {
			return nil, notFound()
		}
		return &rest.Response{ContentType: "text/plain; charset=UTF-8", Body: inst.UserData}, nil
	case "meta-data":
	default:
		return nil, notFound()
	}
	// Walk the meta-data as a tree of JSON values.
	var node any
	b, _ := json.Marshal(inst.EC2MetaData())
	json.Unmarshal(b, &node)
	for _, key := range parts[2:] {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, notFound()
		}
		if key == "public-keys" {
			node = m[key]
			continue
		}
		next, found := m[key]
		if !found {
			// public-keys/0 names the key "0=name".
			for k, v := range m {
				if strings.HasPrefix(k, key+"=") {
					next, found = v, true
				}
			}
		}
		if !found {
			return nil, notFound()
		}
		node = next
	}
	switch x := node.(type) {
	case map[string]any:
		var keys []string
		for k, v := range x {
			if _, dir := v.(map[string]any); dir {
				k += "/"
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(parts) > 2 && parts[len(parts)-1] == "public-keys" {
			for i, k := range keys {
				keys[i] = strings.TrimSuffix(k, "/")
			}
		}
		return text(strings.Join(keys, "\n")), nil
	case []any:
		var items []string
		for _, it := range x {
			items = append(items, fmt.Sprint(it))
		}
		return text(strings.Join(items, "\n")), nil
	case float64:
		return text(fmt.Sprint(int64(x))), nil
	default:
		return text(fmt.Sprint(x)), nil
	}
}

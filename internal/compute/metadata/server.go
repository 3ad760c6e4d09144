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
// X-Instance-ID-Signature) and its project in X-Tenant-ID.
type Server struct {
	cfg ServerConfig
}

// NewServer returns the metadata service.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg}
}

// ec2Versions are the EC2 versions the root lists.
var ec2Versions = []string{"1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01",
	"2008-09-01", "2009-04-04"}

func text(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	text(w, status, fmt.Sprintf("%d %s\n\n%s\n\n", status, http.StatusText(status), msg))
}

// instance authenticates the proxy's headers and loads the instance.
func (s *Server) instance(r *http.Request) (*Instance, int, string) {
	id := r.Header.Get("X-Instance-ID")
	tenant := r.Header.Get("X-Tenant-ID")
	sig := r.Header.Get("X-Instance-ID-Signature")
	if id == "" || tenant == "" {
		return nil, http.StatusBadRequest, "X-Instance-ID and X-Tenant-ID header are required."
	}
	if s.cfg.SharedSecret == "" {
		// An empty key signs for anyone who knows an instance id: with no
		// secret configured, no proxy request can be trusted.
		s.cfg.Log.Warn("metadata request refused: [neutron] metadata_proxy_shared_secret is empty", "instance_id", id)
		return nil, http.StatusForbidden, "Invalid proxy request signature."
	}
	mac := hmac.New(sha256.New, []byte(s.cfg.SharedSecret))
	mac.Write([]byte(id))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		s.cfg.Log.Warn("metadata request with a bad signature", "instance_id", id, "remote", r.Header.Get("X-Forwarded-For"))
		return nil, http.StatusForbidden, "Invalid proxy request signature."
	}
	inst, err := s.cfg.Source.Instance(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		return nil, http.StatusNotFound, "The resource could not be found."
	}
	if err != nil {
		s.cfg.Log.Error("metadata lookup failed", "instance_id", id, "err", err)
		return nil, http.StatusInternalServerError, "An unknown error has occurred. Please try your request again."
	}
	if inst.ProjectID != tenant {
		s.cfg.Log.Warn("metadata request for another project's instance", "instance_id", id, "tenant", tenant)
		return nil, http.StatusNotFound, "The resource could not be found."
	}
	return inst, 0, ""
}

// ServeHTTP answers a guest's metadata request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(r.URL.Path, "/")
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !(r.Method == http.MethodPost && strings.HasSuffix(p, "/password")) {
		s.fail(w, http.StatusMethodNotAllowed, "The method is not allowed for this resource.")
		return
	}
	if p == "" {
		text(w, http.StatusOK, strings.Join(append(slices.Clone(ec2Versions), "latest"), "\n"))
		return
	}
	inst, status, msg := s.instance(r)
	if inst == nil {
		s.fail(w, status, msg)
		return
	}
	parts := strings.Split(p, "/")
	if parts[0] == "openstack" {
		s.openstack(w, r, inst, parts[1:])
		return
	}
	s.ec2(w, inst, parts)
}

func (s *Server) openstack(w http.ResponseWriter, r *http.Request, inst *Instance, parts []string) {
	if len(parts) == 0 {
		text(w, http.StatusOK, strings.Join(append(slices.Clone(Versions), "latest"), "\n"))
		return
	}
	v := parts[0]
	if v != "latest" && !slices.Contains(Versions, v) {
		s.fail(w, http.StatusNotFound, "The resource could not be found.")
		return
	}
	files, err := inst.Files()
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	dir := "openstack/" + v + "/"
	if len(parts) == 1 {
		var names []string
		for path := range files {
			if strings.HasPrefix(path, dir) {
				names = append(names, strings.TrimPrefix(path, dir))
			}
		}
		names = append(names, "password")
		sort.Strings(names)
		text(w, http.StatusOK, strings.Join(names, "\n"))
		return
	}
	name := strings.Join(parts[1:], "/")
	if name == "password" {
		s.password(w, r, inst)
		return
	}
	body, ok := files[dir+name]
	if !ok {
		s.fail(w, http.StatusNotFound, "The resource could not be found.")
		return
	}
	if strings.HasSuffix(name, ".json") {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	}
	w.Write(body)
}

func (s *Server) password(w http.ResponseWriter, r *http.Request, inst *Instance) {
	if r.Method != http.MethodPost {
		pw, err := s.cfg.Source.Password(r.Context(), inst.UUID)
		if err != nil {
			s.fail(w, http.StatusInternalServerError, err.Error())
			return
		}
		text(w, http.StatusOK, pw)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPasswordSize+1))
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Could not read the request body.")
		return
	}
	if len(body) > MaxPasswordSize {
		s.fail(w, http.StatusBadRequest, "Request is too large.")
		return
	}
	switch err := s.cfg.Source.SetPassword(r.Context(), inst.UUID, string(body)); {
	case errors.Is(err, ErrPasswordSet):
		s.fail(w, http.StatusConflict, "Password already set.")
	case err != nil:
		s.fail(w, http.StatusInternalServerError, err.Error())
	default:
		text(w, http.StatusOK, "")
	}
}

// ec2 serves the EC2-style tree: /<version>/meta-data/... and user-data.
func (s *Server) ec2(w http.ResponseWriter, inst *Instance, parts []string) {
	v := parts[0]
	if v != "latest" && !slices.Contains(ec2Versions, v) {
		s.fail(w, http.StatusNotFound, "The resource could not be found.")
		return
	}
	if len(parts) == 1 {
		listing := "meta-data/"
		if inst.UserData != nil {
			listing = "meta-data/\nuser-data"
		}
		text(w, http.StatusOK, listing)
		return
	}
	switch parts[1] {
	case "user-data":
		if inst.UserData == nil || len(parts) > 2 {
			s.fail(w, http.StatusNotFound, "The resource could not be found.")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.Write(inst.UserData)
		return
	case "meta-data":
	default:
		s.fail(w, http.StatusNotFound, "The resource could not be found.")
		return
	}
	// Walk the meta-data as a tree of JSON values.
	var node any
	b, _ := json.Marshal(inst.EC2MetaData())
	json.Unmarshal(b, &node)
	for _, key := range parts[2:] {
		m, ok := node.(map[string]any)
		if !ok {
			s.fail(w, http.StatusNotFound, "The resource could not be found.")
			return
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
			s.fail(w, http.StatusNotFound, "The resource could not be found.")
			return
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
		text(w, http.StatusOK, strings.Join(keys, "\n"))
	case []any:
		var items []string
		for _, it := range x {
			items = append(items, fmt.Sprint(it))
		}
		text(w, http.StatusOK, strings.Join(items, "\n"))
	case float64:
		text(w, http.StatusOK, fmt.Sprint(int64(x)))
	default:
		text(w, http.StatusOK, fmt.Sprint(x))
	}
}

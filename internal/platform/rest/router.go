package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/metrics"
)

// Handler serves one route.
type Handler func(ctx context.Context, r *Request) (any, error)

// Route is one API operation, declared as data.
type Route struct {
	Method string
	// Path is a pattern such as "/v3/users/{user_id}"; a last segment "{name...}"
	// matches the rest of the path.
	Path    string
	Handler Handler
	// Public routes need no token (version documents, POST /v3/auth/tokens).
	Public bool
	// OptionalAuth routes authenticate a token when one is sent, but do not need one.
	OptionalAuth bool
	// Status is the success status; 0 means 200.
	Status int
	// Min and Max bound the microversions this route serves; zero is open.
	Min, Max Version
	// Schema is a JSON schema the request body must satisfy, checked by Decode.
	Schema string
	// Policy is a rule enforced before the handler runs, with the path values
	// (and the caller's project_id) as the target. Leave empty when the handler
	// enforces with a target it loads itself.
	Policy string
	// RawBody routes read a body that is not JSON themselves (image data);
	// every other POST, PUT and PATCH body with a JSON content type passes
	// CheckJSON before the handler runs, so that no route can take one
	// another route refuses.
	RawBody bool

	schema *jsonschema.Schema
}

// Response lets a handler choose status, headers and body.
type Response struct {
	Status int
	Header http.Header
	// Body is encoded as JSON, unless it is nil, []byte, or an io.Reader (streamed
	// as is, and closed if it is an io.Closer).
	Body any
	// ContentType overrides "application/json".
	ContentType string
}

// Enforcer authorizes an action: the policy engine, adapted by each service.
type Enforcer interface {
	Enforce(ctx context.Context, rule string, target map[string]any, auth *authn.Context) error
}

// Options configure a service's router.
type Options struct {
	// Service names the API in logs ("identity", "compute", ...).
	Service string
	// Errors renders faults; the default is KeystoneErrors.
	Errors ErrorBody
	// Auth validates tokens; nil means every route is public.
	Auth authn.Validator
	// Enforcer checks Route.Policy and Request.Enforce.
	Enforcer Enforcer
	// Microversion enables microversion negotiation.
	Microversion *Microversion
	// MaxBody bounds request bodies read by Decode; 0 means 112 KiB (Keystone's
	// max_request_body_size). Streaming handlers read Body directly.
	MaxBody int64
	// RequestIDHeaders lists extra headers carrying the request id
	// (x-compute-request-id); x-openstack-request-id is always sent.
	RequestIDHeaders []string
	// BadContentType is the status for a body that is not JSON; 0 means 415.
	BadContentType int
	// PlainTextIsJSON reads a text/plain body as JSON (Nova treats text/plain
	// as no content type and deserializes the body as JSON).
	PlainTextIsJSON bool
	// CheckAuth, when set, vets the caller once the token is validated (Nova
	// compares the project id of a /v2.1/{project_id}/... URL with it).
	CheckAuth func(hr *http.Request, a *authn.Context) error
	// MalformedBody formats a body CheckJSON refuses; nil gives
	// "Malformed request body: <reason>".
	MalformedBody func(err error) *fault.Error
	// SchemaError formats a schema violation; nil gives Keystone's wording.
	SchemaError func(field, reason string) *fault.Error
	// AuthURL is Keystone's public URL, sent in WWW-Authenticate on 401s.
	AuthURL string
	// Log receives access and error logs.
	Log *slog.Logger
	// AccessLogLevel is the level of the one line per request; default Info.
	AccessLogLevel slog.Level
	// UnknownMethodNotFound answers 404 rather than 405 to a method a path
	// has no route for, as a service dispatching through a routes mapper
	// (Cinder, where method and path match together) does.
	UnknownMethodNotFound bool
	// TrailingSlashNotFound answers 404 to a path of more than one segment
	// ending in "/" (GET /v3/p/volumes/, a show with an empty id), which
	// Cinder's mapper does not match to the collection; "/v3/" still works.
	TrailingSlashNotFound bool
}

// Router dispatches requests to routes.
type Router struct {
	opt    Options
	root   *node
	routes []Route
}

type node struct {
	static  map[string]*node
	param   *node
	rest    *node // {name...}
	name    string
	methods map[string][]*Route
}

// NewRouter builds a router from route tables.
func NewRouter(opt Options, tables ...[]Route) (*Router, error) {
	if opt.Errors == nil {
		opt.Errors = KeystoneErrors
	}
	if opt.MaxBody == 0 {
		opt.MaxBody = 112 * 1024
	}
	if opt.BadContentType == 0 {
		opt.BadContentType = http.StatusUnsupportedMediaType
	}
	if opt.Log == nil {
		opt.Log = logging.Discard()
	}
	rt := &Router{opt: opt, root: &node{}}
	c := jsonschema.NewCompiler()
	n := 0
	for _, table := range tables {
		for i := range table {
			r := table[i]
			if r.Handler == nil || r.Method == "" || !strings.HasPrefix(r.Path, "/") {
				return nil, fmt.Errorf("rest: route %s %q is incomplete", r.Method, r.Path)
			}
			if r.Schema != "" {
				doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.Schema))
				if err != nil {
					return nil, fmt.Errorf("rest: %s %s: schema: %w", r.Method, r.Path, err)
				}
				n++
				url := fmt.Sprintf("mem://schema/%d.json", n)
				if err := c.AddResource(url, doc); err != nil {
					return nil, err
				}
				if r.schema, err = c.Compile(url); err != nil {
					return nil, fmt.Errorf("rest: %s %s: schema: %w", r.Method, r.Path, err)
				}
			}
			if err := rt.add(&r); err != nil {
				return nil, err
			}
			rt.routes = append(rt.routes, r)
		}
	}
	return rt, nil
}

// Routes returns the routes the router serves, in declaration order, for
// tests that visit every route.
func (rt *Router) Routes() []Route { return append([]Route(nil), rt.routes...) }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func (rt *Router) add(r *Route) error {
	n := rt.root
	for _, seg := range splitPath(r.Path) {
		switch {
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "...}"):
			if n.rest == nil {
				n.rest = &node{name: seg[1 : len(seg)-4]}
			}
			n = n.rest
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			name := seg[1 : len(seg)-1]
			if n.param == nil {
				n.param = &node{name: name}
			} else if n.param.name != name {
				return fmt.Errorf("rest: %s: parameter {%s} conflicts with {%s} at the same place", r.Path, name, n.param.name)
			}
			n = n.param
		default:
			if n.static == nil {
				n.static = map[string]*node{}
			}
			c := n.static[seg]
			if c == nil {
				c = &node{}
				n.static[seg] = c
			}
			n = c
		}
	}
	if n.methods == nil {
		n.methods = map[string][]*Route{}
	}
	for _, o := range n.methods[r.Method] {
		if overlap(o, r) {
			return fmt.Errorf("rest: %s %s is declared twice for overlapping versions", r.Method, r.Path)
		}
	}
	n.methods[r.Method] = append(n.methods[r.Method], r)
	return nil
}

func overlap(a, b *Route) bool {
	lo := func(r *Route) Version { return r.Min }
	hi := func(r *Route) Version {
		if r.Max.IsZero() {
			return Version{1 << 30, 0}
		}
		return r.Max
	}
	return !hi(a).Less(lo(b)) && !hi(b).Less(lo(a))
}

// match finds the node for a path and collects the path values.
func (rt *Router) match(path string, vals *[]string) *node {
	n := rt.root
	segs := splitPath(path)
	for i, seg := range segs {
		if c := n.static[seg]; c != nil {
			n = c
			continue
		}
		if n.param != nil && seg != "" {
			*vals = append(*vals, n.param.name, seg)
			n = n.param
			continue
		}
		if n.rest != nil {
			*vals = append(*vals, n.rest.name, strings.Join(segs[i:], "/"))
			return n.rest
		}
		return nil
	}
	return n
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	size   int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP dispatches a request.
func (rt *Router) ServeHTTP(hw http.ResponseWriter, hr *http.Request) {
	start := time.Now()
	id := logging.NewRequestID()
	ctx := logging.WithRequestID(hr.Context(), id)
	w := &statusWriter{ResponseWriter: hw}
	h := w.Header()
	h.Set("X-Openstack-Request-Id", id)
	for _, name := range rt.opt.RequestIDHeaders {
		h.Set(name, id)
	}
	req := &Request{HTTP: hr, router: rt, w: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			rt.opt.Log.ErrorContext(ctx, "panic serving request", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if w.status == 0 {
				rt.writeError(ctx, req, fault.Internal(fmt.Errorf("panic: %v", p)))
			}
		}
		rt.opt.Log.Log(ctx, rt.opt.AccessLogLevel, "request", "service", rt.opt.Service, "method", hr.Method,
			"path", hr.URL.Path, "status", w.status, "bytes", w.size, "ms", float64(time.Since(start).Microseconds())/1000)
	}()
	rt.serve(ctx, req)
}

func (rt *Router) serve(ctx context.Context, req *Request) {
	hr := req.HTTP
	var vals []string
	n := rt.match(hr.URL.Path, &vals)
	if rt.opt.TrailingSlashNotFound && strings.HasSuffix(hr.URL.Path, "/") && len(splitPath(hr.URL.Path)) > 1 {
		n = nil
	}
	if n == nil || len(n.methods) == 0 {
		rt.writeError(ctx, req, fault.NotFound("The resource could not be found."))
		return
	}
	method := hr.Method
	routes := n.methods[method]
	if routes == nil && method == http.MethodHead {
		routes = n.methods[http.MethodGet]
	}
	if routes == nil && rt.opt.UnknownMethodNotFound {
		rt.writeError(ctx, req, fault.NotFound("The resource could not be found."))
		return
	}
	if routes == nil {
		allow := make([]string, 0, len(n.methods))
		for m := range n.methods {
			allow = append(allow, m)
		}
		sort.Strings(allow)
		f := fault.MethodNotAllowed("The method %s is not allowed for this resource.", method).WithHeader("Allow", strings.Join(allow, ", "))
		rt.writeError(ctx, req, f)
		return
	}
	for i := 0; i+1 < len(vals); i += 2 {
		hr.SetPathValue(vals[i], vals[i+1])
	}
	if mv := rt.opt.Microversion; mv != nil {
		v, err := mv.negotiate(hr.Header)
		if err != nil {
			rt.writeError(ctx, req, err)
			return
		}
		req.Version = v
		mv.headers(req.w.Header(), v)
	}
	var route *Route
	for _, r := range routes {
		if req.Version.IsZero() || req.Version.Matches(r.Min, r.Max) {
			route = r
			break
		}
	}
	if route == nil {
		rt.writeError(ctx, req, fault.NotFound("The resource could not be found."))
		return
	}
	req.route = route
	metrics.NoteRoute(ctx, route.Path)
	if rt.opt.Auth != nil && !route.Public {
		tok := hr.Header.Get("X-Auth-Token")
		if tok != "" || !route.OptionalAuth {
			a, err := rt.opt.Auth.Validate(ctx, tok)
			if err != nil {
				rt.writeError(ctx, req, err)
				return
			}
			req.Auth = a
			ctx = authn.With(ctx, a)
			if rt.opt.CheckAuth != nil {
				if err := rt.opt.CheckAuth(hr, a); err != nil {
					rt.writeError(ctx, req, err)
					return
				}
			}
		}
	}
	if err := req.checkBody(); err != nil {
		rt.writeError(ctx, req, err)
		return
	}
	if route.Policy != "" {
		target := map[string]any{}
		for i := 0; i+1 < len(vals); i += 2 {
			target[vals[i]] = vals[i+1]
		}
		if _, ok := target["project_id"]; !ok && req.Auth != nil {
			target["project_id"] = req.Auth.ProjectID
		}
		if err := req.Enforce(ctx, route.Policy, target); err != nil {
			rt.writeError(ctx, req, err)
			return
		}
	}
	out, err := route.Handler(ctx, req)
	if err != nil {
		rt.writeError(ctx, req, err)
		return
	}
	rt.write(ctx, req, out)
}

func (rt *Router) write(ctx context.Context, req *Request, out any) {
	w := req.w
	status := req.route.Status
	if status == 0 {
		status = http.StatusOK
	}
	var body any = out
	ctype := "application/json"
	if resp, ok := out.(*Response); ok {
		if resp.Status != 0 {
			status = resp.Status
		}
		for k, vs := range resp.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		body = resp.Body
		if resp.ContentType != "" {
			ctype = resp.ContentType
		}
	}
	switch b := body.(type) {
	case nil:
		if status != http.StatusNoContent && status != http.StatusNotModified && w.Header().Get("Content-Length") == "" {
			w.Header().Set("Content-Length", "0")
		}
		w.WriteHeader(status)
	case []byte:
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(status)
		w.Write(b)
	case io.Reader:
		if c, ok := b.(io.Closer); ok {
			defer c.Close()
		}
		if ctype == "application/json" {
			ctype = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		if _, err := io.Copy(w, b); err != nil {
			rt.opt.Log.WarnContext(ctx, "streaming response failed", "err", err)
			panic(http.ErrAbortHandler)
		}
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			rt.writeError(ctx, req, fault.Internal(fmt.Errorf("encode response: %w", err)))
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", fmt.Sprint(len(buf)))
		w.WriteHeader(status)
		w.Write(buf)
	}
}

func (rt *Router) writeError(ctx context.Context, req *Request, err error) {
	f := fault.As(err)
	if errors.Is(err, context.Canceled) {
		f = &fault.Error{Status: 499, Message: "client closed request", Err: err}
	}
	if f.Status >= 500 {
		rt.opt.Log.ErrorContext(ctx, "request failed", "status", f.Status, "err", err)
	}
	render := rt.opt.Errors
	if f.Status == http.StatusUnauthorized {
		// keystonemiddleware answers 401s in front of every service, in Keystone's format.
		render = KeystoneErrors
		if rt.opt.AuthURL != "" {
			req.w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", rt.opt.AuthURL))
		}
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			req.w.Header().Add(k, v)
		}
	}
	ctype := "application/json"
	var buf []byte
	switch b := render(f).(type) {
	case Text:
		ctype, buf = b.ContentType, b.Body
	default:
		buf, _ = json.Marshal(b)
	}
	h := req.w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", fmt.Sprint(len(buf)))
	h.Del("Content-Encoding")
	if f.Status == 499 {
		f.Status = 400
	}
	req.w.WriteHeader(f.Status)
	req.w.Write(buf)
}

var printer = message.NewPrinter(language.English)

// Request is a request being served.
type Request struct {
	HTTP *http.Request
	// Auth is the caller, or nil on public routes.
	Auth *authn.Context
	// Version is the negotiated microversion (zero without microversions).
	Version Version

	route  *Route
	router *Router
	w      *statusWriter
}

// Param returns a path value.
func (r *Request) Param(name string) string { return r.HTTP.PathValue(name) }

// Header returns the response headers, to set before the handler returns.
func (r *Request) Header() http.Header { return r.w.Header() }

// Log returns the service's logger.
func (r *Request) Log() *slog.Logger { return r.router.opt.Log }

// Enforce checks a policy rule against a target for the caller.
func (r *Request) Enforce(ctx context.Context, rule string, target map[string]any) error {
	if r.router.opt.Enforcer == nil {
		return nil
	}
	return r.router.opt.Enforcer.Enforce(ctx, rule, target, r.Auth)
}

// BaseURL returns scheme://host of the request as the client addressed it.
func (r *Request) BaseURL() string {
	scheme := "http"
	if r.HTTP.TLS != nil {
		scheme = "https"
	}
	if p := r.HTTP.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.HTTP.Host
}

// Body returns the request body, limited to n bytes (n <= 0: unlimited); reading
// past the limit fails with a 413 fault.
func (r *Request) Body(n int64) io.Reader {
	if n <= 0 {
		return r.HTTP.Body
	}
	return &limitReader{r: r.HTTP.Body, n: n}
}

type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, fault.TooLarge("Request Entity Too Large")
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, fault.TooLarge("Request Entity Too Large")
	}
	return n, err
}

// IsJSON reports whether the request's Content-Type is JSON (or absent).
func (r *Request) IsJSON() bool {
	ct := r.HTTP.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	ct, _, _ = strings.Cut(ct, ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	if ct == "text/plain" && r.router.opt.PlainTextIsJSON {
		return true
	}
	return ct == "application/json" || strings.HasSuffix(ct, "+json") || (strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "-json"))
}

// checkBody reads a POST, PUT or PATCH JSON body before the handler runs
// (as Nova's and Neutron's WSGI layers deserialize it before dispatch) and
// refuses one CheckJSON refuses, whatever the handler would do with it;
// the handler reads the same bytes again.
func (r *Request) checkBody() error {
	hr := r.HTTP
	switch hr.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil
	}
	if r.route.RawBody || !r.IsJSON() || (hr.ContentLength == 0 && len(hr.TransferEncoding) == 0) || hr.Body == nil {
		return nil
	}
	buf, err := r.readBody()
	if err != nil {
		return err
	}
	hr.Body = io.NopCloser(bytes.NewReader(buf))
	if len(bytes.TrimSpace(buf)) == 0 {
		return nil
	}
	if err := CheckJSON(buf); err != nil {
		return r.malformed(err)
	}
	return nil
}

func (r *Request) malformed(err error) *fault.Error {
	if r.router.opt.MalformedBody != nil {
		return r.router.opt.MalformedBody(err)
	}
	return fault.BadRequest("Malformed request body: %v", err)
}

// readBody reads the whole body, bounded by the service's MaxBody.
func (r *Request) readBody() ([]byte, error) {
	if r.HTTP.ContentLength > r.router.opt.MaxBody {
		return nil, fault.TooLarge("Request Entity Too Large")
	}
	buf, err := io.ReadAll(r.Body(r.router.opt.MaxBody))
	if err != nil {
		var f *fault.Error
		if errors.As(err, &f) {
			return nil, f
		}
		return nil, fault.BadRequest("could not read the request body: %v", err)
	}
	return buf, nil
}

// RawJSON reads the body (bounded by the service's MaxBody), checks the content
// type, and validates it against the route's schema; it returns the bytes.
func (r *Request) RawJSON() ([]byte, error) {
	if !r.IsJSON() {
		return nil, fault.New(r.router.opt.BadContentType, "Unsupported Content-Type")
	}
	buf, err := r.readBody()
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(buf)) == 0 {
		return nil, fault.BadRequest("The request body is empty; a JSON body is required.")
	}
	if err := CheckJSON(buf); err != nil {
		return nil, r.malformed(err)
	}
	if r.route != nil && r.route.schema != nil {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf))
		if err != nil {
			return nil, fault.BadRequest("Malformed request body: %v", err)
		}
		if err := r.route.schema.Validate(doc); err != nil {
			return nil, r.schemaError(err)
		}
	}
	return buf, nil
}

// Decode reads the JSON body into v after the checks RawJSON makes.
func (r *Request) Decode(v any) error {
	buf, err := r.RawJSON()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(buf, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return r.fieldError(te.Field, fmt.Sprintf("%s is not of type '%s'", te.Value, jsonType(te.Type.Kind().String())))
		}
		return fault.BadRequest("Malformed request body: %v", err)
	}
	return nil
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	}
	return "number"
}

func (r *Request) fieldError(field, reason string) *fault.Error {
	if r.router.opt.SchemaError != nil {
		return r.router.opt.SchemaError(field, reason)
	}
	return fault.BadRequest("Invalid input for field '%s': %s", field, reason)
}

func (r *Request) schemaError(err error) *fault.Error {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fault.BadRequest("Invalid input: %v", err)
	}
	// Report the deepest cause, as jsonschema libraries in Python do.
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	field := strings.Join(leaf.InstanceLocation, "/")
	if field == "" {
		field = "body"
	}
	reason := leaf.ErrorKind.LocalizedString(printer)
	return r.fieldError(field, reason)
}

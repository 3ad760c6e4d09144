package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	wire "github.com/tenku-cloud/tenku/api/compute"
	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/conf"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// MinVersion and MaxVersion bound the microversions tenku serves
// (api/compute's MinVersion and MaxVersion: 2.93 is Nova's Zed maximum).
var (
	MinVersion = mustVersion(wire.MinVersion)
	MaxVersion = mustVersion(wire.MaxVersion)
)

func mustVersion(s string) rest.Version {
	v, err := rest.ParseVersion(s)
	if err != nil {
		panic("compute api: bad microversion constant " + s)
	}
	return v
}

// Deps are the API's collaborators.
type Deps struct {
	Store   *store.Store
	Bus     rpc.Caller
	Images  clients.Images
	Network clients.Network
	// Volumes is Cinder (os-volume_attachments).
	Volumes clients.Volumes
	// Auth validates tokens; nil serves every route unauthenticated (tests
	// that set an identity through other means).
	Auth       authn.Validator
	Log        *slog.Logger
	PublicURL  string
	PolicyFile string
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// VerifyProject checks with Keystone that a project exists (quota
	// updates); nil checks nothing.
	VerifyProject func(ctx context.Context, token, projectID string) error
}

// API is nova-api.
type API struct {
	cfg    conf.Config
	d      Deps
	router *rest.Router
	policy *policy.Enforcer
	quota  *quotaEngine
	log    *slog.Logger
}

// New builds the API.
func New(cfg conf.Config, d Deps) (*API, error) {
	if d.Log == nil {
		d.Log = logging.Discard()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	pol, err := policy.New(policyDefaults(), policy.Options{DefaultRule: "default", PolicyFile: d.PolicyFile, EnforceNewDefaults: true, Logger: d.Log})
	if err != nil {
		return nil, fmt.Errorf("compute policy: %w", err)
	}
	a := &API{cfg: cfg, d: d, policy: pol, log: d.Log, quota: &quotaEngine{cfg: cfg.Quota, store: d.Store}}
	tables := [][]rest.Route{
		a.versionRoutes(), a.flavorRoutes(), a.keypairRoutes(), a.limitRoutes(), a.quotaRoutes(),
		a.serverRoutes(), a.actionRoutes(), a.serverMetaRoutes(), a.instanceActionRoutes(),
		a.adminRoutes(), a.groupRoutes(), a.miscRoutes(), a.netProxyRoutes(), a.volumeAttachmentRoutes(), a.consoleRoutes(),
	}
	rt, err := rest.NewRouter(rest.Options{
		Service:          "compute",
		Errors:           rest.ComputeErrors("computeFault"),
		Auth:             d.Auth,
		Enforcer:         enforcer{pol},
		Microversion:     &rest.Microversion{ServiceType: "compute", Legacy: "X-OpenStack-Nova-API-Version", Min: MinVersion, Max: MaxVersion},
		MaxBody:          1 << 20,
		RequestIDHeaders: []string{"X-Compute-Request-Id"},
		PlainTextIsJSON:  true,
		CheckAuth:        checkURLProject,
		SchemaError:      schemaError,
		Log:              d.Log,
		AccessLogLevel:   slog.LevelDebug,
	}, tables...)
	if err != nil {
		return nil, err
	}
	a.router = rt
	return a, nil
}

// projectInPath matches the legacy /v2.1/{project_id}/... form some catalogs
// still publish.
var projectInPath = regexp.MustCompile(`^/v2(\.1)?/([0-9a-fA-F]{32}|[0-9a-fA-F-]{36})(/.*)?$`)

// Routes lists the API's routes.
func (a *API) Routes() []rest.Route { return a.router.Routes() }

// ServeHTTP serves the API. A project id after the version segment (the old
// endpoint form "/v2.1/%(tenant_id)s") is dropped, as Nova accepts both.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m := projectInPath.FindStringSubmatch(r.URL.Path); m != nil {
		r2 := r.Clone(context.WithValue(r.Context(), urlProjectKey{}, m[2]))
		r2.URL.Path = "/v2.1" + m[3]
		if m[3] == "" {
			r2.URL.Path = "/v2.1/"
		}
		r2.URL.RawPath = ""
		r = r2
	}
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") && p != "/v2.1/" && p != "/v2/" {
		// Nova's routes match no resource path with a trailing slash (an
		// empty id): "DELETE /images/" is a 404, not the collection.
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = "/v2.1/-/not-found", ""
		r = r2
	}
	if strings.HasPrefix(r.URL.Path, "/v2/") && r.URL.Path != "/v2/" {
		// The v2.0 API is v2.1 without microversions.
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/v2.1" + strings.TrimPrefix(r.URL.Path, "/v2")
		r2.URL.RawPath = ""
		r2.Header.Del("OpenStack-API-Version")
		r2.Header.Del("X-OpenStack-Nova-API-Version")
		r = r2
	}
	a.router.ServeHTTP(w, r)
}

type urlProjectKey struct{}

// checkURLProject refuses a /v2.1/{project_id}/... URL whose project is not
// the token's, as Nova does (for every caller, admins too).
func checkURLProject(hr *http.Request, a *authn.Context) error {
	p, _ := hr.Context().Value(urlProjectKey{}).(string)
	if p == "" || a == nil || p == a.ProjectID {
		return nil
	}
	return fault.BadRequest("Malformed request URL: URL's project_id '%s' doesn't match Context's project_id '%s'", p, a.ProjectID)
}

// enforcer adapts the policy engine to the router.
type enforcer struct{ e *policy.Enforcer }

func (p enforcer) Enforce(ctx context.Context, rule string, target map[string]any, a *authn.Context) error {
	if a == nil {
		return nil
	}
	err := p.e.Enforce(ctx, rule, defaultTarget(target, a), credentials(a))
	if err != nil {
		return fault.Forbidden("Policy doesn't allow %s to be performed.", rule).WithType("PolicyNotAuthorized")
	}
	return nil
}

func credentials(a *authn.Context) policy.Credentials {
	c := policy.FromAuthn(a)
	// Nova's context.is_admin, which admin_api's "is_admin:True" reads.
	c.Extra = map[string]any{"is_admin": a.IsAdmin()}
	return c
}

// can reports whether the caller passes a rule (Nova's context.can with
// fatal=False).
func (a *API) can(ctx context.Context, r *rest.Request, rule string, target map[string]any) bool {
	if r.Auth == nil {
		return true
	}
	return a.policy.Enforce(ctx, rule, defaultTarget(target, r.Auth), credentials(r.Auth)) == nil
}

// defaultTarget is oslo's default target: the caller's own project and user.
func defaultTarget(target map[string]any, a *authn.Context) map[string]any {
	if target != nil {
		return target
	}
	return map[string]any{"project_id": a.ProjectID, "user_id": a.UserID}
}

// schemaError words a request schema violation as Nova does.
func schemaError(field, reason string) *fault.Error {
	return fault.BadRequest("Invalid input for field/attribute %s. %s", field, reason)
}

// isAdmin reports whether the caller has Nova's admin context.
func isAdmin(r *rest.Request) bool { return r.Auth == nil || r.Auth.IsAdmin() }

// caller returns the project and user ids of the caller.
func caller(r *rest.Request) (project, user string) {
	if r.Auth == nil {
		return "", ""
	}
	return r.Auth.ProjectID, r.Auth.UserID
}

// base returns the URL prefix of links: the configured prefix or the
// request's scheme and host.
func (a *API) base(r *rest.Request) string {
	if a.cfg.API.ComputeLinkPrefix != "" {
		return strings.TrimSuffix(a.cfg.API.ComputeLinkPrefix, "/")
	}
	return r.BaseURL()
}

// links returns Nova's self and bookmark links of a resource.
func (a *API) links(r *rest.Request, collection, id string) []map[string]string {
	b := a.base(r)
	return []map[string]string{
		{"rel": "self", "href": b + "/v2.1/" + collection + "/" + id},
		{"rel": "bookmark", "href": b + "/" + collection + "/" + id},
	}
}

// bookmark returns the bookmark link of a resource.
func (a *API) bookmark(r *rest.Request, collection, id string) []map[string]string {
	return []map[string]string{{"rel": "bookmark", "href": a.base(r) + "/" + collection + "/" + id}}
}

// nextLink returns a collection's "next" link for a page that ends at marker.
func (a *API) nextLink(r *rest.Request, marker string) []map[string]string {
	q := r.HTTP.URL.Query()
	q.Set("marker", marker)
	path := r.HTTP.URL.Path
	return []map[string]string{{"rel": "next", "href": a.base(r) + path + "?" + q.Encode()}}
}

// page reads limit and marker as Nova's get_limit_and_marker does: the
// limit is at most [api] max_limit, and an explicit 0 asks for an empty page.
func (a *API) page(r *rest.Request) (p rest.Page, empty bool, err error) {
	p, err = r.Page(a.cfg.API.MaxLimit, a.cfg.API.MaxLimit)
	if err != nil {
		return p, false, err
	}
	if p.Limit == 0 {
		if r.HTTP.URL.Query().Has("limit") {
			return p, true, nil
		}
		p.Limit = a.cfg.API.MaxLimit
	}
	return p, false, nil
}

// isoZ is Nova's utils.isotime: second precision, "Z".
func isoZ(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// isoMicro is a naive datetime's isoformat(), as Nova shows action times.
func isoMicro(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}

// nullTime renders a time as isoMicro, or JSON null when zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return isoMicro(t)
}

// storeErr turns store errors into the API's faults.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	if u, ok := store.IsUnexpected(err); ok {
		return u.Fault()
	}
	if o, ok := store.AsOverQuota(err); ok {
		return o.Fault()
	}
	return err
}

// enforceFor enforces a rule on an instance's project.
func (a *API) enforceFor(ctx context.Context, r *rest.Request, rule string, inst *objects.Instance) error {
	return r.Enforce(ctx, rule, map[string]any{"project_id": inst.ProjectID, "user_id": inst.UserID})
}

// parseTime reads a changes-since style timestamp.
func parseTime(name, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fault.BadRequest("Invalid input for query parameters %s. Value: %s. %s is not a valid date-time", name, s, s)
}

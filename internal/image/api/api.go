package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/image/store"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// Options are what the API needs: its stores and the settings of
// glance-api.conf that shape its answers.
type Options struct {
	DB *db.DB
	// Store keeps image data; Staging keeps data staged for an import.
	Store   *store.Store
	Staging *store.Store
	Log     *slog.Logger
	// Auth validates tokens (nil: every request is anonymous, for tests of
	// public routes only).
	Auth    authn.Validator
	AuthURL string
	// Policy is the policy engine with DefaultRules registered (New builds
	// one from PolicyFile and the two enforce flags when nil).
	Policy             *policy.Enforcer
	PolicyFile         string
	EnforceScope       bool
	EnforceNewDefaults bool
	// PublicEndpoint overrides the URL in version documents.
	PublicEndpoint string
	// ImageSizeCap is the largest image accepted, in bytes.
	ImageSizeCap int64
	// UserStorageQuota bounds a project's image bytes (0: unlimited).
	UserStorageQuota int64
	// EnabledImportMethods are the import methods offered.
	EnabledImportMethods []string
	// ShowMultipleLocations and ShowImageDirectURL show where data is kept.
	ShowMultipleLocations bool
	ShowImageDirectURL    bool
	// LimitParamDefault and APILimitMax bound list pages.
	LimitParamDefault int
	APILimitMax       int
	// Per-image quotas; negative means unlimited.
	ImageMemberQuota   int
	ImagePropertyQuota int
	ImageTagQuota      int
	// ContainerFormats and DiskFormats are the formats accepted.
	ContainerFormats []string
	DiskFormats      []string
	// RequireImageFormatMatch refuses data whose format is not the
	// declared disk_format; off, a mismatch is only logged (safety
	// violations are always refused).
	RequireImageFormatMatch bool
	// Limits are the unified limits (use_keystone_limits); nil: off.
	Limits Limits
	// MaxRequestBody bounds JSON request bodies (413 beyond).
	MaxRequestBody int64
	// TaskTimeToLive is how long finished tasks are kept.
	TaskTimeToLive time.Duration
	// Worker names this process in the images it is moving data into,
	// so that after a crash it recovers its own and no other's.
	Worker string
	// CacheDir enables the image cache (/v2/cache, API 2.14 and later)
	// in that directory; empty means no cache.
	CacheDir string
	// CachePrefetcherInterval is how often queued images are copied into the
	// cache; 0 copies each as soon as it is queued.
	CachePrefetcherInterval time.Duration
}

// API serves the image API.
type API struct {
	opt    Options
	db     *db.DB
	data   *store.Store
	stage  *store.Store
	pol    *policy.Enforcer
	log    *slog.Logger
	router *rest.Router

	cache *imageCache

	schemas  map[string][]byte
	specOnce sync.Once
	specs    map[string]*propSpec
	// defaultGetImage is the get_image rule as the defaults render it:
	// while it is in effect, listing need not evaluate it per image.
	defaultGetImage string

	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// New builds the API.
func New(opt Options) (*API, error) {
	if opt.DB == nil || opt.Store == nil || opt.Staging == nil {
		return nil, errors.New("image api: DB, Store and Staging are required")
	}
	if opt.Log == nil {
		opt.Log = logging.Discard()
	}
	if opt.LimitParamDefault <= 0 {
		opt.LimitParamDefault = 25
	}
	if opt.APILimitMax <= 0 {
		opt.APILimitMax = 1000
	}
	if opt.MaxRequestBody <= 0 {
		opt.MaxRequestBody = 112 * 1024
	}
	if opt.TaskTimeToLive <= 0 {
		opt.TaskTimeToLive = 48 * time.Hour
	}
	a := &API{opt: opt, db: opt.DB, data: opt.Store, stage: opt.Staging, log: opt.Log, pol: opt.Policy}
	if a.pol == nil {
		p, err := policy.New(DefaultRules(), policy.Options{
			EnforceScope: opt.EnforceScope, EnforceNewDefaults: opt.EnforceNewDefaults,
			PolicyFile: opt.PolicyFile, Logger: opt.Log,
		})
		if err != nil {
			return nil, fmt.Errorf("image policy: %w", err)
		}
		a.pol = p
	}
	ref, err := policy.New(DefaultRules(), policy.Options{DisableReload: true})
	if err != nil {
		return nil, err
	}
	a.defaultGetImage = ref.Effective()["get_image"]
	if a.schemas, err = a.buildSchemas(); err != nil {
		return nil, err
	}
	if opt.CacheDir != "" {
		files, err := store.New(opt.CacheDir)
		if err != nil {
			return nil, err
		}
		a.cache = newImageCache(files)
	}
	a.bgCtx, a.bgCancel = context.WithCancel(context.Background())
	a.router, err = rest.NewRouter(rest.Options{
		Service:       "image",
		Errors:        GlanceErrors,
		MalformedBody: func(error) *fault.Error { return badRequest("Malformed JSON in request body.") },
		Auth:          opt.Auth,
		Enforcer:      enforcer{a.pol},
		MaxBody:       opt.MaxRequestBody,
		AuthURL:       opt.AuthURL,
		Log:           opt.Log,
	}, a.imageRoutes(), a.dataRoutes(), a.memberRoutes(), a.schemaRoutes(), a.infoRoutes(), a.metadefRoutes(), a.taskRoutes(), a.cacheRoutes())
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Start readies the API: it recovers what a crash of this worker left
// half done, sweeps orphaned data, loads the standard metadata
// definitions and starts the cache worker.
func (a *API) Start(ctx context.Context) error {
	if err := a.Recover(ctx); err != nil {
		return fmt.Errorf("image recovery: %w", err)
	}
	if err := a.Sweep(ctx); err != nil {
		a.log.WarnContext(ctx, "image store sweep incomplete", "err", err)
	}
	if err := a.LoadMetadefs(ctx); err != nil {
		return fmt.Errorf("image metadata definitions: %w", err)
	}
	if a.cache != nil {
		a.spawn(a.runCache)
	}
	return nil
}

// Close stops background work (imports in flight) and waits for it.
func (a *API) Close(ctx context.Context) error {
	a.bgCancel()
	done := make(chan struct{})
	go func() { a.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// getImageIsDefault reports whether get_image is the default rule.
func (a *API) getImageIsDefault() bool {
	return a.pol.Effective()["get_image"] == a.defaultGetImage
}

// spawn runs fn in the background, owned by the API: Close cancels its
// context and waits for it.
func (a *API) spawn(fn func(ctx context.Context)) {
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		fn(a.bgCtx)
	}()
}

// versionAliases are the path prefixes Glance's version negotiation maps
// to the v2 API.
var versionAliases = map[string]bool{
	"v2": true, "v2.0": true, "v2.1": true, "v2.2": true, "v2.3": true, "v2.4": true, "v2.5": true,
	"v2.6": true, "v2.7": true, "v2.9": true, "v2.15": true, "v2.17": true,
}

// cacheVersionAliases are the versions that exist with the image cache.
var cacheVersionAliases = map[string]bool{"v2.14": true, "v2.16": true, "v2.18": true}

func (a *API) versionAlias(v string) bool {
	return versionAliases[v] || a.cache != nil && cacheVersionAliases[v]
}

// Routes lists the API's routes.
func (a *API) Routes() []rest.Route { return a.router.Routes() }

// ServeHTTP negotiates the version as Glance does (/versions, /, and any
// unknown prefix answer the version document) and serves the v2 API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	seg, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	accept := r.Header.Get("Accept")
	if v, ok := strings.CutPrefix(accept, "application/vnd.openstack.images-"); ok {
		// Media-type versioning: the version comes from Accept, the path is the API's own.
		if a.versionAlias(v) {
			a.serveV2(w, r, path)
			return
		}
		a.versions(w, r, http.StatusMultipleChoices)
		return
	}
	switch {
	case seg == "versions":
		a.versions(w, r, http.StatusOK)
	case a.versionAlias(seg):
		a.serveV2(w, r, "/"+rest)
	default:
		a.versions(w, r, http.StatusMultipleChoices)
	}
}

func (a *API) serveV2(w http.ResponseWriter, r *http.Request, path string) {
	if path == "/" || strings.HasSuffix(path, "/") {
		// Glance's routes match no path with a trailing slash: GET
		// /v2/images/ (an empty image id) is a 404, not the list.
		w.Header().Set("X-Openstack-Request-Id", logging.NewRequestID())
		writeJSON(w, http.StatusNotFound, GlanceErrors(notFound("")))
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/v2" + path
	r2.URL.RawPath = ""
	a.router.ServeHTTP(w, r2)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// cacheVersions lead Glance's version list when the image cache is on.
var cacheVersions = []struct{ id, status string }{
	{"2.18", "CURRENT"}, {"2.17", "SUPPORTED"}, {"2.16", "SUPPORTED"}, {"2.15", "SUPPORTED"}, {"2.14", "SUPPORTED"}, {"2.9", "SUPPORTED"},
}

// versionList is the v2 minor versions Glance announces without multiple
// stores or an image cache, in the order it lists them.
var versionList = []struct{ id, status string }{
	{"2.15", "SUPPORTED"}, {"2.9", "SUPPORTED"}, {"2.17", "CURRENT"},
	{"2.7", "SUPPORTED"}, {"2.6", "SUPPORTED"}, {"2.5", "SUPPORTED"}, {"2.4", "SUPPORTED"},
	{"2.3", "SUPPORTED"}, {"2.2", "SUPPORTED"}, {"2.1", "SUPPORTED"}, {"2.0", "SUPPORTED"},
}

func (a *API) versions(w http.ResponseWriter, r *http.Request, status int) {
	base := a.opt.PublicEndpoint
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			scheme = p
		}
		base = scheme + "://" + r.Host
	}
	href := strings.TrimSuffix(base, "/") + "/v2/"
	type link struct {
		Rel  string `json:"rel"`
		Href string `json:"href"`
	}
	type version struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Links  []link `json:"links"`
	}
	out := struct {
		Versions []version `json:"versions"`
	}{}
	list := versionList
	if a.cache != nil {
		list = append(append(list[:0:0], cacheVersions...), versionList[3:]...)
	}
	for _, v := range list {
		out.Versions = append(out.Versions, version{ID: "v" + v.id, Status: v.status, Links: []link{{"self", href}}})
	}
	w.Header().Set("X-Openstack-Request-Id", logging.NewRequestID())
	writeJSON(w, status, out)
}

// jsonBody reads a JSON request body the way Glance's deserializer does:
// any content type, a 400 for malformed JSON or a body that is neither an
// object nor an array. It returns nil when the request has no body.
func (a *API) jsonBody(r *rest.Request) (any, error) {
	hr := r.HTTP
	chunked := len(hr.TransferEncoding) > 0
	if !chunked && hr.ContentLength <= 0 {
		return nil, nil
	}
	if hr.ContentLength > a.opt.MaxRequestBody {
		return nil, tooLarge("Request is too large.")
	}
	buf, err := io.ReadAll(r.Body(a.opt.MaxRequestBody))
	if err != nil {
		if fault.Is(err, http.StatusRequestEntityTooLarge) {
			return nil, tooLarge("Request is too large.")
		}
		return nil, badRequest("Error decoding your request. Either the URL or the request body contained characters that could not be decoded by Glance")
	}
	if len(strings.TrimSpace(string(buf))) == 0 {
		return nil, nil
	}
	if rest.CheckJSON(buf) != nil {
		return nil, badRequest("Malformed JSON in request body.")
	}
	dec := json.NewDecoder(strings.NewReader(string(buf)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, badRequest("Malformed JSON in request body.")
	}
	switch v.(type) {
	case map[string]any, []any:
		return v, nil
	}
	return nil, badRequest("Unexpected body type. Expected list/dict.")
}

// requireBody is jsonBody for handlers that need a body.
func (a *API) requireBody(r *rest.Request) (any, error) {
	v, err := a.jsonBody(r)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, badRequest("Body expected in request.")
	}
	return v, nil
}

// rejectBody is Glance's body_reject: GETs and DELETEs take no body.
func rejectBody(r *rest.Request) error {
	if len(r.HTTP.TransferEncoding) > 0 || r.HTTP.ContentLength > 0 {
		if (r.HTTP.Method == http.MethodPost || r.HTTP.Method == http.MethodPut || r.HTTP.Method == http.MethodPatch) || r.HTTP.ContentLength > 0 {
			return badRequest("A body is not expected with this request.")
		}
	}
	return nil
}

// isotime formats a time as Glance does.
func isotime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

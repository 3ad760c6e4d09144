package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/rules"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/identity/token/fernet"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

// Migrations is the identity database schema; the assembly applies it before
// New.
var Migrations = store.Migrations

// Service is Keystone: the v3 API (an http.Handler, served on port 5000) and
// a service.Service whose Start subscribes to cache invalidations and starts
// the database epoch poller.
type Service struct {
	cfg    Config
	deps   service.Deps
	log    *slog.Logger
	st     *store.Store
	cache  *caches
	prov   *fernet.Provider
	enf    *policy.Enforcer
	router *rest.Router
	quiet  *rest.Router

	dirOnce sync.Once
	dir     *directories

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	subs   []*bus.Subscription
}

var (
	_ http.Handler    = (*Service)(nil)
	_ service.Service = (*Service)(nil)
)

// New builds Keystone on a migrated database. The Fernet key repository is
// created in the database on first use (keystone-manage fernet_setup), so a
// fresh database works without Bootstrap (which also does it).
func New(cfg Config, deps service.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.DB == nil {
		return nil, errors.New("identity: no database")
	}
	if deps.Log == nil {
		deps.Log = logging.Discard()
	}
	s := &Service{cfg: cfg, deps: deps, log: deps.Log, st: store.New(deps.DB)}
	window := cfg.Token.Expiration + cfg.Token.AllowExpiredWindow
	s.cache = &caches{maxAge: cfg.Cache.ExpirationTime, revokeW: window + time.Minute}
	s.cache.tokens.max = cfg.Cache.TokenCacheSize
	if s.cache.maxAge <= 0 {
		s.cache.maxAge = 600 * time.Second
	}
	ctx := context.Background()
	ring, err := setupKeys(ctx, s.st, cfg.FernetTokens.MaxActiveKeys)
	if err != nil {
		return nil, err
	}
	s.prov, err = fernet.New(fernet.Config{Methods: cfg.Auth.Methods, DefaultDomainID: cfg.Identity.DefaultDomainID}, ring)
	if err != nil {
		return nil, err
	}
	if e, err := s.st.Epoch(ctx); err == nil {
		s.cache.epoch.Store(e)
	}
	pfile := cfg.OsloPolicy.PolicyFile
	if pfile == "" {
		pfile = deps.PolicyFile
	}
	s.enf, err = policy.New(rules.Defaults, policy.Options{
		EnforceScope: cfg.OsloPolicy.EnforceScope, EnforceNewDefaults: cfg.OsloPolicy.EnforceNewDefaults,
		DefaultRule: "default", PolicyFile: pfile, Logger: deps.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("identity policy: %w", err)
	}
	maxBody := cfg.Default.MaxRequestBodySize
	opts := rest.Options{
		Service:  "identity",
		Errors:   rest.KeystoneErrors,
		Auth:     s.routerValidator(),
		Enforcer: enforcer{s},
		MaxBody:  maxBody,
		AuthURL:  deps.AuthURL,
		Log:      deps.Log,
		SchemaError: func(field, reason string) *fault.Error {
			return fault.BadRequest("Invalid input for field '%s': %s", field, reason).WithType("SchemaValidationError")
		},
	}
	if s.router, err = rest.NewRouter(opts, s.routes()...); err != nil {
		return nil, err
	}
	// Token validations are most of the traffic (every service asks on
	// every new token): their access lines go to the debug level.
	opts.AccessLogLevel = slog.LevelDebug
	if s.quiet, err = rest.NewRouter(opts, s.authRoutes()); err != nil {
		return nil, err
	}
	return s, nil
}

// Name is "keystone".
func (s *Service) Name() string { return "keystone" }

// ServeHTTP serves the Keystone API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/v3/auth/tokens" {
		s.quiet.ServeHTTP(w, r)
		return
	}
	s.router.ServeHTTP(w, r)
}

// Routes lists the routes of the Keystone API.
func (s *Service) Routes() []rest.Route { return append(s.router.Routes(), s.quiet.Routes()...) }

// Start watches for changes made by other Keystone processes (the database
// epoch, and the bus when there is one).
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return nil
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel, s.done = cancel, make(chan struct{})
	if b := s.deps.Bus; b != nil {
		sub, err := b.Serve(runCtx, invalidateSubject, bus.ServeOptions{}, map[string]bus.Handler{
			"invalidate": func(context.Context, json.RawMessage) (any, error) { s.cache.invalidate(); return nil, nil },
		})
		if err != nil {
			cancel()
			s.cancel = nil
			return fmt.Errorf("identity: subscribe to cache invalidations: %w", err)
		}
		s.subs = append(s.subs, sub)
	}
	go func() {
		defer close(s.done)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); s.pruneRevocations(runCtx) }()
		s.pollEpoch(runCtx)
		wg.Wait()
	}()
	return nil
}

// Shutdown stops the background work.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	cancel, done, subs := s.cancel, s.done, s.subs
	s.cancel, s.subs = nil, nil
	s.mu.Unlock()
	for _, sub := range subs {
		sub.Stop()
	}
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Validator validates tokens in-process, with the same caches the API uses:
// for services that run in the same process as Keystone, and for Keystone's
// own router. A bad, expired or revoked token is a 401.
func (s *Service) Validator() authn.Validator {
	return authn.ValidatorFunc(func(ctx context.Context, tok string) (*authn.Context, error) {
		if tok == "" {
			return nil, unauthorized()
		}
		e, err := s.validateToken(ctx, tok, 0)
		if err != nil {
			if errors.Is(err, errTokenInvalid) {
				return nil, unauthorized()
			}
			return nil, err
		}
		c := *e.auth
		c.Token = tok
		return &c, nil
	})
}

// routerValidator is Validator without the copy: the router and the
// handlers only read the context, so the cached one is handed out as is.
func (s *Service) routerValidator() authn.Validator {
	return authn.ValidatorFunc(func(ctx context.Context, tok string) (*authn.Context, error) {
		if tok == "" {
			return nil, unauthorized()
		}
		e, err := s.validateToken(ctx, tok, 0)
		if err != nil {
			if errors.Is(err, errTokenInvalid) {
				return nil, unauthorized()
			}
			return nil, err
		}
		return e.auth, nil
	})
}

func (s *Service) tokens() *fernet.Provider { return s.prov }

// reloadKeys puts the database's key repository in use.
func (s *Service) reloadKeys(ctx context.Context) error {
	keys, err := s.st.FernetKeys(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	ring, err := fernet.LoadKeyRing(keys)
	if err != nil {
		return err
	}
	return s.prov.SetKeys(ring)
}

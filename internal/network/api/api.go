package api

import (
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"sort"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/plugin"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// Options configure the API.
type Options struct {
	Plugin *plugin.Plugin
	// Auth validates tokens (nil: every route is public, for tests of the
	// plumbing only).
	Auth    authn.Validator
	AuthURL string
	// PolicyFile overrides default rules; EnforceScope refuses tokens of
	// the wrong scope.
	PolicyFile   string
	EnforceScope bool
	// PublicURL is the endpoint as published (links use it when requests
	// come through it).
	PublicURL string
	// PaginationMaxLimit caps page sizes (<= 0: no cap).
	PaginationMaxLimit int
	// MaxBody bounds request bodies (0: 112 KiB).
	MaxBody int64
	Log     *slog.Logger
}

// API is the Neutron v2.0 HTTP API.
type API struct {
	opt    Options
	p      *plugin.Plugin
	z      *authz
	router *rest.Router
}

// New builds the API.
func New(opt Options) (*API, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	z, err := newAuthz(opt.PolicyFile, opt.EnforceScope, opt.Log)
	if err != nil {
		return nil, err
	}
	a := &API{opt: opt, p: opt.Plugin, z: z}
	for _, res := range []*resource{resNetwork, resSubnet, resPort, resRouter, resFloatingIP, resSecurityGroup, resRule, resSubnetPool, resAddressScope} {
		names := make([]string, 0, len(res.attrs))
		for n := range res.attrs {
			names = append(names, n)
		}
		names = append(names, "binding:vif_type", "binding:vif_details", "segments", "resource_request")
		sort.Strings(names)
		res.getRules = z.attrRules(res.name, names)
	}
	rt, err := rest.NewRouter(rest.Options{
		Service: "network", Errors: rest.NeutronErrors, Auth: opt.Auth, AuthURL: opt.AuthURL, MaxBody: opt.MaxBody,
		Log: opt.Log, AccessLogLevel: slog.LevelDebug,
		SchemaError: func(field, reason string) *fault.Error {
			return plugin.BadAttr(field, "%s", reason)
		},
	}, a.routes())
	if err != nil {
		return nil, err
	}
	a.router = rt
	return a, nil
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

// Routes lists the API's routes.
func (a *API) Routes() []rest.Route { return a.router.Routes() }

func (a *API) routes() []rest.Route {
	var rs []rest.Route
	rs = append(rs,
		rest.Route{Method: "GET", Path: "/", Public: true, Handler: a.versions},
		rest.Route{Method: "GET", Path: "/v2.0", Public: true, Handler: a.versionV2},
		rest.Route{Method: "GET", Path: "/v2.0/extensions", Handler: a.listExtensions},
		rest.Route{Method: "GET", Path: "/v2.0/extensions/{alias}", Handler: a.showExtension},
		rest.Route{Method: "GET", Path: "/v2.0/service-providers", Handler: a.serviceProviders},
		rest.Route{Method: "GET", Path: "/v2.0/availability_zones", Handler: a.availabilityZones},
	)
	rs = append(rs, a.networkRoutes()...)
	rs = append(rs, a.subnetRoutes()...)
	rs = append(rs, a.portRoutes()...)
	rs = append(rs, a.routerRoutes()...)
	rs = append(rs, a.floatingIPRoutes()...)
	rs = append(rs, a.securityGroupRoutes()...)
	rs = append(rs, a.poolRoutes()...)
	rs = append(rs, a.agentRoutes()...)
	rs = append(rs, a.quotaRoutes()...)
	rs = append(rs, a.tagRoutes()...)
	return rs
}

// isAdmin is Neutron's context.is_admin: the context_is_admin rule.
func (a *API) isAdmin(ctx context.Context, r *rest.Request) bool {
	return r.Auth != nil && a.z.allowed(ctx, r.Auth, "context_is_admin", target{attrs: map[string]any{}})
}

// scope is what the store may return to the caller before policy filters it.
func (a *API) scope(ctx context.Context, r *rest.Request) nstore.Scope {
	if r.Auth == nil || a.isAdmin(ctx, r) {
		return nstore.Scope{All: true}
	}
	return nstore.Scope{ProjectID: r.Auth.ProjectID}
}

func (a *API) caller(ctx context.Context, r *rest.Request) plugin.Caller {
	if r.Auth == nil {
		return plugin.Caller{Admin: true}
	}
	return plugin.Caller{ProjectID: r.Auth.ProjectID, Admin: a.isAdmin(ctx, r)}
}

func rv(v any) reflect.Value { return reflect.Indirect(reflect.ValueOf(v)) }

// versions answers GET / as Neutron does.
func (a *API) versions(ctx context.Context, r *rest.Request) (any, error) {
	return map[string]any{"versions": []netapi.Version{{ID: "v2.0", Status: "CURRENT",
		Links: []netapi.Link{{Href: a.baseURL(r) + "/v2.0/", Rel: "self"}}}}}, nil
}

// collections are the resources listed by GET /v2.0.
var collections = [][2]string{{"subnet", "subnets"}, {"network", "networks"}, {"port", "ports"}, {"router", "routers"},
	{"floatingip", "floatingips"}, {"security_group", "security-groups"}, {"security_group_rule", "security-group-rules"},
	{"subnetpool", "subnetpools"}, {"address_scope", "address-scopes"}, {"agent", "agents"}, {"quota", "quotas"},
	{"availability_zone", "availability_zones"}, {"service_provider", "service-providers"}}

func (a *API) versionV2(ctx context.Context, r *rest.Request) (any, error) {
	base := a.baseURL(r) + "/v2.0/"
	out := make([]netapi.VersionResource, 0, len(collections))
	for _, c := range collections {
		out = append(out, netapi.VersionResource{Name: c[0], Collection: c[1], Links: []netapi.Link{{Href: base + c[1], Rel: "self"}}})
	}
	return map[string]any{"resources": out}, nil
}

func (a *API) serviceProviders(ctx context.Context, r *rest.Request) (any, error) {
	return map[string]any{"service_providers": []netapi.ServiceProvider{}}, nil
}

func (a *API) availabilityZones(ctx context.Context, r *rest.Request) (any, error) {
	if err := a.z.check(ctx, r.Auth, "get_availability_zone", target{attrs: map[string]any{}}); err != nil {
		return nil, err
	}
	azs, err := a.p.AvailabilityZones(ctx)
	if err != nil {
		return nil, err
	}
	q, err := a.parseQuery(r, resAZ)
	if err != nil {
		return nil, err
	}
	var items []item
	for i := range azs {
		az := &azs[i]
		if !matches(q.filters, map[string]any{"name": az.Name, "resource": az.Resource, "state": az.State}) {
			continue
		}
		items = append(items, item{v: rv(az), id: az.Name + "/" + az.Resource})
	}
	page, links := a.page(r, q, items)
	return writeList("availability_zones", page, q.fields, links), nil
}

// matches applies filters in memory (for small collections).
func matches(filters []nstore.Filter, vals map[string]any) bool {
	for _, f := range filters {
		v, ok := vals[f.Field]
		if !ok {
			continue
		}
		found := false
		for _, want := range f.Values {
			if want == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

var resAZ = newResource("availability_zone", "availability_zones", nil,
	map[string]kind{"name": kString, "resource": kString, "state": kString}, []string{"name", "resource", "state"})

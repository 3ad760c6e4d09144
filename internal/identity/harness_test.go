package identity

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

const (
	adminPW   = "admin-secret"
	demoPW    = "demo-secret"
	servicePW = "service-secret"
)

// testCloud is a bootstrapped Keystone behind an httptest server.
type testCloud struct {
	t   testing.TB
	db  *pstore.DB
	svc *Service
	srv *httptest.Server
	bus *bus.Bus
	cfg Config
}

// testConfig is DefaultConfig with cheap bcrypt.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Identity.PasswordHashRounds = 4
	return cfg
}

func newCloud(t testing.TB, db *pstore.DB, cfg Config) *testCloud {
	t.Helper()
	ctx := context.Background()
	if db == nil {
		db = storetest.Open(t, pstore.SQLite)
	}
	c := &testCloud{t: t, db: db, cfg: cfg}
	c.srv = httptest.NewUnstartedServer(nil)
	url := "http://" + c.srv.Listener.Addr().String()
	err := Bootstrap(ctx, db, BootstrapOptions{
		AdminPassword: adminPW, DemoPassword: demoPW, ServicePassword: servicePW,
		ServiceUsers: []string{"nova", "glance"}, Config: &cfg,
		Services: []CatalogService{
			{Name: "keystone", Type: "identity", PublicURL: url + "/v3", InternalURL: url + "/v3", AdminURL: url + "/v3"},
			{Name: "cinderv3", Type: "volumev3", PublicURL: "http://127.0.0.1:8776/v3/$(project_id)s"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(ctx, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.bus = b
	t.Cleanup(b.Close)
	c.svc, err = New(cfg, service.Deps{DB: db, Bus: b, AuthURL: url + "/v3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.svc.Shutdown(context.Background()) })
	c.srv.Config.Handler = c.svc
	c.srv.Start()
	t.Cleanup(c.srv.Close)
	return c
}

// client logs in with gophercloud.
func (c *testCloud) client(user, pw, project string) *gophercloud.ServiceClient {
	c.t.Helper()
	opts := gophercloud.AuthOptions{IdentityEndpoint: c.srv.URL + "/v3", Username: user, Password: pw, DomainID: "default"}
	if project != "" {
		opts.TenantName = project
	}
	pc, err := openstack.AuthenticatedClient(context.Background(), opts)
	if err != nil {
		c.t.Fatalf("log in as %s: %v", user, err)
	}
	sc, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		c.t.Fatal(err)
	}
	return sc
}

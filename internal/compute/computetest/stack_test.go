package computetest_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/tenku-cloud/tenku/internal/compute"
	"github.com/tenku-cloud/tenku/internal/compute/clients/fakes"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestWithKeystoneAndGlance boots a server through real Keystone tokens and a
// real Glance (gophercloud clients on both sides), snapshots it back into
// Glance and deletes it; Neutron is the fake.
func TestWithKeystoneAndGlance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Keystone and Glance")
	}
	ctx := context.Background()
	c := testkit.Start(t, "glance")

	// An image in Glance, public, uploaded by the admin.
	img := c.Client(t, "admin", "admin", "image")
	pub := images.ImageVisibilityPublic
	im, err := images.Create(ctx, img, images.CreateOpts{Name: "tiny-test", DiskFormat: "raw", ContainerFormat: "bare", Visibility: &pub}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := imagedata.Upload(ctx, img, im.ID, bytes.NewReader(bytes.Repeat([]byte("x"), 4096))).ExtractErr(); err != nil {
		t.Fatal(err)
	}

	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "nova.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, compute.Migrations); err != nil {
		t.Fatal(err)
	}
	creds := authn.ServiceCredentials{AuthURL: c.AuthURL, Username: "admin", Password: testkit.Password, UserDomainName: "Default",
		ProjectName: "admin", ProjectDomainName: "Default"}
	cfg := compute.DefaultConfig()
	cfg.Default.ReportInterval, cfg.Default.VIFPluggingTimeout = time.Second, 0
	net := fakes.NewNetwork()
	private := net.AddNetwork("private", "", "10.0.0.0/24", true)
	deps := service.Deps{DB: db, Bus: c.Bus, Auth: authn.NewRemote(creds, nil), AuthURL: c.AuthURL, Credentials: creds,
		Region: c.Region, Host: "allinone", DataDir: t.TempDir()}
	svc, err := compute.New(cfg, deps, compute.WithClients(nil, net), compute.WithAgent(fake.New(fake.Config{})), compute.WithDefaultFlavors())
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Shutdown(ctx)
	srv := httptest.NewServer(svc)
	defer srv.Close()

	demo := &gophercloud.ServiceClient{ProviderClient: c.Provider(t, "demo", "demo"), Endpoint: srv.URL + "/v2.1/",
		ResourceBase: srv.URL + "/v2.1/", Type: "compute", Microversion: "2.93"}
	s, err := servers.Create(ctx, demo, servers.CreateOpts{Name: "vm1", ImageRef: im.ID, FlavorRef: "1",
		Networks: []servers.Network{{UUID: private.ID}}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() bool {
		got, err := servers.Get(ctx, demo, s.ID).Extract()
		return err == nil && (got.Status == "ACTIVE" || got.Status == "ERROR")
	}, "server to build")
	got, _ := servers.Get(ctx, demo, s.ID).Extract()
	if got.Status != "ACTIVE" {
		t.Fatalf("server %s: %+v", got.Status, got.Fault)
	}
	// A private image of another project is not found for demo.
	if _, err := servers.Create(ctx, demo, servers.CreateOpts{Name: "x", ImageRef: "5d8b5d4c-0000-4000-8000-000000000000", FlavorRef: "1",
		Networks: "none"}, nil).Extract(); !gophercloud.ResponseCodeIs(err, 400) {
		t.Fatalf("unknown image: %v", err)
	}

	// Snapshot into Glance, owned by demo.
	snapID, err := servers.CreateImage(ctx, demo, s.ID, servers.CreateImageOpts{Name: "vm1-snap"}).ExtractImageID()
	if err != nil {
		t.Fatal(err)
	}
	demoImg := c.Client(t, "demo", "demo", "image")
	testkit.Eventually(t, 20*time.Second, func() bool {
		m, err := images.Get(ctx, demoImg, snapID).Extract()
		return err == nil && m.Status == images.ImageStatusActive
	}, "snapshot %s to become active", snapID)
	m, _ := images.Get(ctx, demoImg, snapID).Extract()
	if m.Properties["instance_uuid"] != s.ID || m.Properties["image_type"] != "snapshot" {
		t.Fatalf("snapshot properties: %v", m.Properties)
	}

	if err := servers.Delete(ctx, demo, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool {
		_, err := servers.Get(ctx, demo, s.ID).Extract()
		return gophercloud.ResponseCodeIs(err, 404)
	}, "server deletion")
}

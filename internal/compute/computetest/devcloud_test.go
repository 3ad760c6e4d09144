package computetest_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
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

// TestDevCloud runs Keystone, Glance and Nova (fake hypervisor, in-memory
// Neutron with one shared network) and keeps them up so that tempest's
// compute tests can run against Nova before the stack assembles it:
//
//	TENKU_DEVCLOUD=/tmp/dev go test ./internal/compute/computetest -run TestDevCloud -timeout 3h
//
// writes /tmp/dev/tempest.conf and serves until /tmp/dev/stop exists.
func TestDevCloud(t *testing.T) {
	dir := os.Getenv("TENKU_DEVCLOUD")
	if dir == "" {
		t.Skip("set TENKU_DEVCLOUD to a directory to run the development cloud")
	}
	ctx := context.Background()
	c := testkit.Start(t, "glance")
	admin := c.Client(t, "admin", "admin", "image")
	pub := images.ImageVisibilityPublic
	var imgs []string
	for _, name := range []string{"cirros-0.6.2-x86_64-disk", "cirros-alt"} {
		im, err := images.Create(ctx, admin, images.CreateOpts{Name: name, DiskFormat: "raw", ContainerFormat: "bare", Visibility: &pub}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if err := imagedata.Upload(ctx, admin, im.ID, bytes.NewReader(bytes.Repeat([]byte{0}, 1<<20))).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, im.ID)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/v2.1"
	id := c.Client(t, "admin", "admin", "identity")
	svcRec, err := services.Create(ctx, id, services.CreateOpts{Type: "compute", Extra: map[string]any{"name": "nova"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := endpoints.Create(ctx, id, endpoints.CreateOpts{Availability: gophercloud.AvailabilityPublic, Region: c.Region, URL: url, ServiceID: svcRec.ID}).Extract(); err != nil {
		t.Fatal(err)
	}

	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "nova.db"))
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
	cfg.Default.VIFPluggingTimeout = 0
	netw := fakes.NewNetwork()
	netw.BoundStatus = "ACTIVE"
	netw.AddNetwork("private", "", "10.0.0.0/24", true)
	deps := service.Deps{DB: db, Bus: c.Bus, Auth: authn.NewCache(authn.NewRemote(creds, nil), 5*time.Minute, 10000),
		AuthURL: c.AuthURL, Credentials: creds, Region: c.Region, Host: "devcloud", DataDir: dir}
	svc, err := compute.New(cfg, deps, compute.WithClients(nil, netw), compute.WithAgent(fake.New(fake.Config{})), compute.WithDefaultFlavors())
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Shutdown(ctx)
	srv := &http.Server{Handler: svc}
	go srv.Serve(ln)
	defer srv.Close()

	conf := fmt.Sprintf(`[DEFAULT]
debug = true
log_dir = %[1]s/logs
use_stderr = false
[auth]
use_dynamic_credentials = true
admin_username = admin
admin_password = %[2]s
admin_project_name = admin
admin_domain_name = Default
create_isolated_networks = false
[identity]
uri_v3 = %[3]s
auth_version = v3
v3_endpoint_type = public
region = %[4]s
[service_available]
glance = true
nova = true
neutron = false
cinder = false
swift = false
horizon = false
[compute]
region = %[4]s
endpoint_type = publicURL
image_ref = %[5]s
image_ref_alt = %[6]s
flavor_ref = 42
flavor_ref_alt = 84
min_microversion = 2.1
max_microversion = 2.93
build_timeout = 60
build_interval = 1
hypervisor_type = fake
fixed_network_name = private
[compute-feature-enabled]
console_output = true
resize = true
pause = true
shelve = true
suspend = true
cold_migration = false
live_migration = false
metadata_service = false
rescue = true
interface_attach = false
snapshot = true
config_drive = true
change_password = false
vnc_console = false
spice_console = false
serial_console = false
personality = false
attach_encrypted_volume = false
volume_multiattach = false
scheduler_enabled_filters = all
[image]
region = %[4]s
endpoint_type = publicURL
[image-feature-enabled]
api_v1 = false
api_v2 = true
[validation]
run_validation = false
[enforce_scope]
nova = false
glance = false
keystone = false
`, dir, testkit.Password, c.AuthURL, c.Region, imgs[0], imgs[1])
	if err := os.WriteFile(filepath.Join(dir, "tempest.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("development cloud up: keystone %s, nova %s; touch %s/stop to end", c.AuthURL, url, dir)
	os.WriteFile(filepath.Join(dir, "ready"), []byte(url), 0o600)
	for {
		if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
			return
		}
		time.Sleep(time.Second)
	}
}

package computetest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/tenku-cloud/tenku/internal/compute"
	"github.com/tenku-cloud/tenku/internal/compute/agent"
	"github.com/tenku-cloud/tenku/internal/compute/clients/fakes"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
	"github.com/tenku-cloud/tenku/internal/network"
	netfake "github.com/tenku-cloud/tenku/internal/network/dataplane/fake"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestDevCloud runs Keystone, Glance, Neutron (fake data plane) and Nova
// (fake hypervisor) assembled the way the stack assembles them, and keeps them
// up so that tempest's compute tests can run against Nova:
//
//	TENKU_DEVCLOUD=/tmp/dev go test ./internal/compute/computetest -run TestDevCloud -timeout 3h
//
// writes /tmp/dev/tempest.conf and serves until /tmp/dev/stop exists.
// TENKU_DEVCLOUD_NEUTRON=0 replaces Neutron by the in-memory fake.
func TestDevCloud(t *testing.T) {
	dir := os.Getenv("TENKU_DEVCLOUD")
	if dir == "" {
		t.Skip("set TENKU_DEVCLOUD to a directory to run the development cloud")
	}
	ctx := context.Background()
	withNeutron := os.Getenv("TENKU_DEVCLOUD_NEUTRON") != "0"
	comps := stack.Components()
	names := []string{"keystone", "glance", "nova"}
	if withNeutron {
		comps = append(comps, neutronComponent())
		names = append(names, "neutron")
	}
	var fakeNet *fakes.Network
	if !withNeutron {
		fakeNet = fakes.NewNetwork()
		fakeNet.BoundStatus = "ACTIVE"
		fakeNet.AddNetwork("private", "", "10.0.0.0/24", true)
	}
	comps = append(comps, novaComponent(fakeNet))
	logf, err := os.Create(filepath.Join(dir, "cloud.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s, err := stack.Start(ctx, comps, stack.Options{DataDir: filepath.Join(dir, "data"), HostIP: "127.0.0.1", RandomPorts: true, TestData: true,
		Secrets:  stack.Secrets{AdminPassword: testkit.Password, ServicePassword: "service-test-password", MetadataSecret: "metadata-test-secret"},
		Services: names, Log: slog.New(logging.Handler(logf, logging.Options{Level: "debug"}))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.WithoutCancel(ctx))
	c := &testkit.Cloud{Stack: s, AuthURL: s.URLs["keystone"]}
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
	url := s.URLs["nova"]
	neutron, exts := "false", "all"
	if withNeutron {
		neutron = "true"
		// Tell tempest what this Neutron has, as devstack does.
		nc := c.Client(t, "admin", "admin", "network")
		var body struct {
			Extensions []struct {
				Alias string `json:"alias"`
			} `json:"extensions"`
		}
		if _, err := nc.Get(ctx, nc.ServiceURL("extensions"), &body, nil); err != nil {
			t.Fatal(err)
		}
		var aliases []string
		for _, e := range body.Extensions {
			aliases = append(aliases, e.Alias)
		}
		exts = strings.Join(aliases, ",")
	}

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
create_isolated_networks = true
[identity]
uri_v3 = %[3]s
auth_version = v3
v3_endpoint_type = public
region = %[4]s
[service_available]
glance = true
nova = true
neutron = %[7]s
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
min_compute_nodes = 2
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
cold_migration = true
live_migration = true
metadata_service = false
rescue = true
interface_attach = true
stable_rescue = true
snapshot = true
config_drive = true
change_password = true
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
[network]
public_network_id = %[8]s
floating_network_name = public
project_network_cidr = 10.1.0.0/16
[network-feature-enabled]
floating_ips = true
port_security = true
api_extensions = %[9]s
`, dir, testkit.Password, c.AuthURL, c.Region, imgs[0], imgs[1], neutron, publicNet, exts)
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

// publicNet is the id of devstack's public network once Neutron made it.
var publicNet string

// neutronComponent is Neutron as the stack will run it: the server, devstack's
// default topology, and a network agent with the fake data plane on this host.
func neutronComponent() stack.Component {
	return stack.Component{
		Name: "neutron", Type: "network", Title: "Neutron", Port: 9696,
		Config: func() any {
			c := network.DefaultConfig()
			c.Default.SendEventsInterval = 100 * time.Millisecond
			return &c
		},
		Migrations: network.Migrations,
		Build: func(ctx context.Context, s *stack.Stack, cfg any, d service.Deps) (service.Service, error) {
			c := cfg.(*network.Config)
			svc, err := network.New(*c, d)
			if err != nil {
				return nil, err
			}
			w := &withAgents[*network.Service]{Svc: svc}
			for _, h := range devHosts(d.Host) {
				hd := d
				hd.Host = h
				ag, err := network.NewAgent(*c, hd, netfake.New())
				if err != nil {
					return nil, err
				}
				w.agents = append(w.agents, ag)
			}
			return w, nil
		},
		After: func(ctx context.Context, s *stack.Stack, svc service.Service) error {
			_, admin, err := s.Login(ctx, "admin", "admin")
			if err != nil {
				return err
			}
			_, demo, err := s.Login(ctx, "demo", "demo")
			if err != nil {
				return err
			}
			ids, err := svc.(*withAgents[*network.Service]).Svc.EnsureDefaultTopology(ctx, network.DevstackTopology(admin.ProjectID, demo.ProjectID))
			publicNet = ids.PublicNetworkID
			return err
		},
	}
}

// devHosts are the hypervisor hosts of the development cloud: this host and
// TENKU_DEVCLOUD_HOSTS-1 more (default 2 in all, so that tempest's
// migration tests run).
func devHosts(host string) []string {
	n := 2
	if v, err := strconv.Atoi(os.Getenv("TENKU_DEVCLOUD_HOSTS")); err == nil && v > 0 {
		n = v
	}
	hosts := []string{host}
	for i := 2; i <= n; i++ {
		hosts = append(hosts, fmt.Sprintf("%s-%d", host, i))
	}
	return hosts
}

// withAgents runs a service and the agents of the extra hosts as one
// service: the agents start after it and stop before it.
type withAgents[S interface {
	service.Service
	http.Handler
}] struct {
	Svc    S
	agents []service.Service
}

func (w *withAgents[S]) Name() string { return w.Svc.Name() }

func (w *withAgents[S]) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.Svc.ServeHTTP(rw, r) }

func (w *withAgents[S]) Start(ctx context.Context) error {
	if err := w.Svc.Start(ctx); err != nil {
		return err
	}
	for _, a := range w.agents {
		if err := a.Start(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (w *withAgents[S]) Shutdown(ctx context.Context) error {
	for _, a := range w.agents {
		a.Shutdown(ctx)
	}
	return w.Svc.Shutdown(ctx)
}

// novaComponent is Nova as the stack should run it: API, conductor and
// scheduler, one in-process agent with the fake driver, devstack's flavors.
// A non-nil net replaces Neutron.
func novaComponent(net *fakes.Network) stack.Component {
	return stack.Component{
		Name: "nova", Type: "compute", Title: "Nova", Port: 8774, Path: "/v2.1",
		ConfFile: "nova.conf", Devstack: []string{"n-api", "n-cond", "n-sch", "n-cpu"},
		Config:     func() any { c := compute.DefaultConfig(); return &c },
		Migrations: compute.Migrations,
		Build: func(ctx context.Context, s *stack.Stack, cfg any, d service.Deps) (service.Service, error) {
			c := cfg.(*compute.Config)
			opts := []compute.Option{compute.WithDefaultFlavors(), compute.WithAgent(fake.New(fake.DefaultConfig()))}
			var aopts []agent.Option
			if net != nil {
				c.Default.VIFPluggingTimeout = 0
				opts = append(opts, compute.WithClients(nil, net))
				aopts = append(aopts, agent.WithClients(nil, net))
			}
			svc, err := compute.New(*c, d, opts...)
			if err != nil {
				return nil, err
			}
			w := &withAgents[*compute.Service]{Svc: svc}
			for _, h := range devHosts(d.Host)[1:] {
				hd := d
				hd.Host, hd.DataDir = h, filepath.Join(d.DataDir, h)
				ag, err := agent.New(*c, hd, fake.New(fake.DefaultConfig()), aopts...)
				if err != nil {
					return nil, err
				}
				w.agents = append(w.agents, ag)
			}
			return w, nil
		},
	}
}

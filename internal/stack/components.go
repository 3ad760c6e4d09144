package stack

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/tenku-cloud/tenku/internal/compute"
	computeagent "github.com/tenku-cloud/tenku/internal/compute/agent"
	"github.com/tenku-cloud/tenku/internal/dashboard"
	"github.com/tenku-cloud/tenku/internal/identity"
	"github.com/tenku-cloud/tenku/internal/image"
	"github.com/tenku-cloud/tenku/internal/network"
	networkagent "github.com/tenku-cloud/tenku/internal/network/agent"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/volume"
	filevolume "github.com/tenku-cloud/tenku/internal/volume/backend/file"
)

// Components lists every service tenku can run, in start order: Keystone first,
// since every other service validates tokens against it.
func Components() []Component {
	return []Component{
		{
			Name: "keystone", Type: "identity", Title: "Keystone", Port: 5000, Path: "/v3",
			ConfFile: "keystone.conf", Devstack: []string{"key", "keystone"},
			Config:     func() any { c := identity.DefaultConfig(); return &c },
			Migrations: identity.Migrations,
			Build:      buildIdentity,
		},
		{
			Name: "glance", Type: "image", Title: "Glance", Port: 9292,
			ConfFile: "glance-api.conf", Devstack: []string{"g-api", "glance"},
			Config:     func() any { c := image.DefaultConfig(); return &c },
			Migrations: image.Migrations,
			Build:      buildImage,
			After:      afterImage,
		},
		{
			Name: "neutron", Type: "network", Title: "Neutron", Port: 9696,
			ConfFile: "neutron.conf", Devstack: []string{"q-svc", "neutron-api", "neutron"},
			Config:     func() any { c := network.DefaultConfig(); return &c },
			Migrations: network.Migrations,
			Build:      buildNetwork,
			After:      afterNetwork,
		},
		{
			// The host's network agent (devstack's q-agt, q-dhcp, q-l3, q-meta in
			// one), on the data plane [agent] dataplane_driver names.
			Name: "neutron-agent", Type: "network-agent", Title: "Neutron agent", Port: -1, User: "neutron",
			ConfFile: "neutron_agent.ini", Devstack: []string{"q-agt", "q-dhcp", "q-l3", "q-meta", "neutron-agent"},
			Config:        func() any { return &agentFile{Agent: networkagent.DefaultConfig()} },
			DriverConfigs: func() []any { return driverConfigs(DataplaneDrivers) },
			Build:         buildNetworkAgent,
		},
		{
			Name: "nova", Type: "compute", Title: "Nova", Port: 8774, Path: "/v2.1",
			ConfFile: "nova.conf", Devstack: []string{"n-api", "n-cond", "n-sch", "nova"},
			Config:        func() any { c := compute.DefaultConfig(); return &c },
			DriverConfigs: func() []any { return driverConfigs(ComputeDrivers) },
			Migrations:    compute.Migrations,
			Build:         buildCompute,
		},
		{
			// The metadata API guests reach at 169.254.169.254 through Neutron's
			// metadata proxy (devstack's n-api-meta); not in the catalog.
			Name: "nova-metadata", Type: "metadata", Title: "Nova metadata", Port: 8775, User: "nova", Internal: true,
			Devstack: []string{"n-api-meta", "nova-metadata"},
			Config:   func() any { return &struct{}{} },
			Build:    buildMetadata,
		},
		{
			// This host's compute agent (n-cpu), on the hypervisor driver
			// [DEFAULT] compute_driver names.
			Name: "nova-compute", Type: "compute-agent", Title: "Nova compute agent", Port: -1, User: "nova",
			ConfFile: "nova.conf", Devstack: []string{"n-cpu", "nova-compute"},
			Config:        func() any { c := compute.DefaultConfig(); return &c },
			DriverConfigs: func() []any { return driverConfigs(ComputeDrivers) },
			Build:         buildComputeAgent,
		},
		{
			// Cinder's API and scheduler (devstack's c-api, c-sch), published as
			// block-storage and volumev3 at /v3/$(project_id)s as devstack does.
			Name: "cinder", Type: "block-storage", Title: "Cinder", Port: 8776, Path: "/v3/$(project_id)s",
			Aliases:  []CatalogAlias{{Name: "cinderv3", Type: "volumev3"}},
			ConfFile: "cinder.conf", Devstack: []string{"c-api", "c-sch", "cinder"},
			Config:     func() any { c := volume.DefaultConfig(); return &c },
			Migrations: volume.Migrations,
			Build: func(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
				return volume.New(*cfg.(*volume.Config), d)
			},
		},
		{
			// This host's volume service (c-vol) on the file backend: sparse
			// files under the data directory, VOLUME_BACKING_FILE_SIZE in all.
			// It is also the host's backup service (c-bak), keeping backups in
			// a posix repository under its data directory; enabling c-bak
			// enables c-vol.
			Name: "cinder-volume", Type: "volume-agent", Title: "Cinder volume service", Port: -1, User: "cinder",
			ConfFile: "cinder.conf", Devstack: []string{"c-vol", "c-bak", "cinder-volume"},
			Config: func() any { c := volume.DefaultConfig(); return &c },
			Build:  buildVolumeService,
		},
		{
			// The dashboard (devstack's horizon): a web client of the public
			// APIs, found through each user's catalog; not in the catalog itself.
			Name: "horizon", Type: "dashboard", Title: "Horizon", Port: 8080, Internal: true,
			ConfFile: "dashboard.conf", Devstack: []string{"horizon"},
			Config: func() any { c := dashboard.DefaultConfig(); return &c },
			Build:  buildDashboard,
		},
	}
}

// buildImage is Glance, with devstack's image cache.
func buildImage(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	c := cfg.(*image.Config)
	if c.Default.ImageCacheDir == "" {
		c.Default.ImageCacheDir = filepath.Join(d.DataDir, "cache") // as devstack enables it
	}
	return image.New(*c, d)
}

// afterImage loads the test images of `tenku stack`'s image directory.
func afterImage(ctx context.Context, s *Stack, svc service.Service) error {
	if !s.TestData || s.ImageDir == "" {
		return nil
	}
	if err := seedImageDir(s.ImageDir); err != nil {
		return err
	}
	_, admin, err := s.Login(ctx, "admin", "admin")
	if err != nil {
		return err
	}
	reg, err := svc.(*image.Service).LoadImages(ctx, s.ImageDir, admin.ProjectID)
	if err != nil {
		s.Log.Warn("some images were not loaded", "dir", s.ImageDir, "err", err)
	}
	for _, r := range reg {
		s.Log.Info("test image", "image", fmt.Sprintf("%+v", r))
	}
	return nil
}

// buildNetwork is the Neutron server.
func buildNetwork(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	return network.New(*cfg.(*network.Config), d)
}

// afterNetwork makes devstack's networks, subnets and router for the test data.
func afterNetwork(ctx context.Context, s *Stack, svc service.Service) error {
	if !s.TestData {
		return nil
	}
	_, admin, err := s.Login(ctx, "admin", "admin")
	if err != nil {
		return err
	}
	_, demo, err := s.Login(ctx, "demo", "demo")
	if err != nil {
		return err
	}
	_, err = svc.(*network.Service).EnsureDefaultTopology(ctx, network.DevstackTopology(admin.ProjectID, demo.ProjectID))
	return err
}

// buildNetworkAgent is the host's network agent on the data plane [agent] dataplane_driver names (or the one --dataplane-driver picks).
func buildNetworkAgent(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	c := cfg.(*agentFile).Agent
	ini := s.File("neutron_agent.ini")
	if _, set := ini["agent"]["dataplane_driver"]; !set && s.DataplaneDriver != "" {
		c.DataplaneDriver, s.DataplaneNote = s.chooseDataplane(s.DataplaneDriver)
	}
	drv, err := newDriver(DataplaneDrivers, "[agent] dataplane_driver", c.DataplaneDriver, ini, s.agentDriverDeps(d))
	if err != nil {
		return nil, err
	}
	return networkagent.New(c, d, drv)
}

// buildCompute is Nova's API, conductor and scheduler, with the stack's metadata secret.
func buildCompute(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	var opts []compute.Option
	if s.TestData {
		opts = append(opts, compute.WithDefaultFlavors())
	}
	c := cfg.(*compute.Config)
	if c.Neutron.MetadataProxySharedSecret == "" {
		c.Neutron.MetadataProxySharedSecret = s.Secrets.MetadataSecret
	}
	svc, err := compute.New(*c, d, opts...)
	s.nova = svc
	return svc, err
}

// buildMetadata is the metadata API, served beside Nova in one process.
func buildMetadata(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	if s.nova == nil {
		return nil, fmt.Errorf("the metadata API runs beside nova in one process")
	}
	if s.nova.MetadataSecret() == "" {
		return nil, fmt.Errorf("nova-metadata: [neutron] metadata_proxy_shared_secret is empty; set it (the same in nova.conf and Neutron's metadata agent) or the metadata API would trust any caller")
	}
	h, err := s.nova.MetadataHandler()
	if err != nil {
		return nil, err
	}
	return &handlerService{name: "nova-metadata", Handler: h}, nil
}

// buildComputeAgent is the host's compute agent on the hypervisor driver [DEFAULT] compute_driver names (or the one --compute-driver picks).
func buildComputeAgent(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	c := cfg.(*compute.Config)
	if _, set := s.File("nova.conf")["DEFAULT"]["compute_driver"]; !set && s.ComputeDriver != "" {
		c.Default.ComputeDriver, s.ComputeDriverNote = chooseComputeDriver(s.ComputeDriver)
	}
	deps := driverDeps(s, d)
	deps.Namespace = s.HostNamespace
	drv, err := newDriver(ComputeDrivers, "[DEFAULT] compute_driver", c.Default.ComputeDriver, s.File("nova.conf"), deps)
	if err != nil {
		return nil, err
	}
	return computeagent.New(*c, d, drv)
}

// buildVolumeService is the host's volume (and backup) service on the file backend.
func buildVolumeService(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	c := cfg.(*volume.Config)
	if v := s.VolumeBackingFileSize; v != "" {
		c.Backend.FileBackingSize = v
	}
	size, err := volume.ParseSize(c.Backend.FileBackingSize)
	if err != nil {
		return nil, fmt.Errorf("file_backing_size: %w", err)
	}
	dir := c.Backend.FileVolumesDir
	if dir == "" {
		dir = filepath.Join(d.DataDir, "volumes")
	}
	drv, err := filevolume.New(dir, size, c.Backend.VolumeBackendName)
	if err != nil {
		return nil, err
	}
	return volume.NewVolumeService(*c, d, drv)
}

// buildDashboard is the dashboard.
func buildDashboard(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	return dashboard.New(*cfg.(*dashboard.Config), d)
}

func driverDeps(s *Stack, d service.Deps) DriverDeps {
	return DriverDeps{Host: d.Host, DataDir: d.DataDir, Log: d.Log, MetadataSecret: s.Secrets.MetadataSecret}
}

// agentDriverDeps is what the network agent's data plane gets from the
// stack: the host namespace, and what neutron_agent.ini leaves unsaid of
// this stack's metadata API and its secret, the tunnel address and (with
// devstack's networks) the public network's host-side address.
func (s *Stack) agentDriverDeps(d service.Deps) DriverDeps {
	deps := driverDeps(s, d)
	deps.Namespace = s.HostNamespace
	if s.HostNamespace != "" {
		deps.NamespacePrefix = s.HostNamespace + "-"
	}
	ini := s.File("neutron_agent.ini")
	_, host := ini["DEFAULT"]["nova_metadata_host"]
	_, port := ini["DEFAULT"]["nova_metadata_port"]
	if !host && !port {
		deps.MetadataAddr = s.Addrs["nova-metadata"]
	}
	if _, set := ini["vxlan"]["local_ip"]; !set {
		deps.TunnelIP = s.HostIP // devstack's TUNNEL_IP is HOST_IP
	}
	_, addrs := ini["linux_bridge"]["bridge_address_mappings"]
	_, ifs := ini["linux_bridge"]["physical_interface_mappings"]
	if s.TestData && !addrs && !ifs {
		t := network.DevstackTopology("", "")
		if p, err := netip.ParsePrefix(t.PublicCIDR); err == nil {
			deps.BridgeAddresses = map[string]string{t.PublicPhysicalNetwork: netip.PrefixFrom(netip.MustParseAddr(t.PublicGateway), p.Bits()).String()}
		}
	}
	return deps
}

// handlerService serves a handler with nothing to start or stop.
type handlerService struct {
	name string
	http.Handler
}

func (h *handlerService) Name() string                       { return h.name }
func (h *handlerService) Start(ctx context.Context) error    { return nil }
func (h *handlerService) Shutdown(ctx context.Context) error { return nil }

// Routes lists the handler's routes when it is served by the shared router,
// for tests that visit every route.
func (h *handlerService) Routes() []rest.Route {
	if r, ok := h.Handler.(interface{ Routes() []rest.Route }); ok {
		return r.Routes()
	}
	return nil
}

// agentFile is neutron_agent.ini: the network agent's [agent] section.
type agentFile struct {
	Agent networkagent.Config `section:"agent"`
}

// seedImageDir gives a new image directory one image, so that a fresh cloud can
// boot servers at once: a blank 1 MiB raw disk, named for what it is. (devstack
// downloads CirrOS; a bootable guest image comes with the QEMU driver.) A
// directory that exists is left as the operator made it.
func seedImageDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tenku-blank.raw"), make([]byte, 1<<20), 0o600)
}

// buildIdentity bootstraps Keystone (devstack's test data and the catalog of
// every enabled service) and builds it.
func buildIdentity(ctx context.Context, s *Stack, cfg any, d service.Deps) (service.Service, error) {
	c := cfg.(*identity.Config)
	if s.TestData {
		var users []string
		var catalog []identity.CatalogService
		for _, comp := range s.components {
			url, ok := s.URLs[comp.Name]
			if !ok && comp.Port >= 0 {
				continue
			}
			if comp.Port < 0 || comp.Internal {
				continue // agents and internal APIs log in as their service's user and have no endpoint
			}
			if comp.Name != "keystone" {
				users = append(users, comp.Name)
			}
			catalog = append(catalog, identity.CatalogService{
				Name: comp.Name, Type: comp.Type, Description: comp.Title + " (" + comp.Type + ")",
				PublicURL: url, InternalURL: url, AdminURL: url,
			})
			for _, al := range comp.Aliases {
				catalog = append(catalog, identity.CatalogService{
					Name: al.Name, Type: al.Type, Description: comp.Title + " (" + al.Type + ")",
					PublicURL: url, InternalURL: url, AdminURL: url,
				})
			}
		}
		err := identity.Bootstrap(ctx, d.DB, identity.BootstrapOptions{
			AdminPassword: s.Secrets.AdminPassword, ServicePassword: s.Secrets.ServicePassword,
			KeepPasswords: s.Secrets.Unchanged,
			ServiceUsers:  users, Region: s.Region, Services: catalog, Config: c,
		})
		if err != nil {
			return nil, err
		}
	}
	svc, err := identity.New(*c, d)
	s.identity = svc
	return svc, err
}

// Login logs in to the stack's Keystone as user in project (admin and demo share
// the admin password). With Keystone in this process it mints the token
// directly, saving a bcrypt per set-up login.
func (s *Stack) Login(ctx context.Context, user, project string) (string, *authn.Context, error) {
	if s.identity != nil {
		return s.identity.IssueToken(ctx, user, "default", project)
	}
	return authn.Login(ctx, authn.ServiceCredentials{
		AuthURL: s.URLs["keystone"], Username: user, Password: s.Secrets.AdminPassword,
		UserDomainName: "Default", ProjectName: project, ProjectDomainName: "Default",
	}, nil)
}

package stack

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	fakevirt "github.com/tenku-cloud/tenku/internal/compute/virt/fake"
	"github.com/tenku-cloud/tenku/internal/compute/virt/qemu"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
	fakedataplane "github.com/tenku-cloud/tenku/internal/network/dataplane/fake"
	"github.com/tenku-cloud/tenku/internal/network/dataplane/linuxbridge"
	"github.com/tenku-cloud/tenku/internal/platform/config"
)

// Adding a driver is one entry in ComputeDrivers or DataplaneDrivers: its
// name, the spellings it also answers to, the section of the agent's file it
// reads (its own Config, with opt tags) and its constructor. Nothing else in
// the stack names a concrete driver.

// DriverDeps is what the assembly hands a driver's constructor.
type DriverDeps struct {
	// Host is this host's name.
	Host string
	// DataDir is the agent's data directory (instances, images); a driver
	// keeps files of its own in a subdirectory named for it unless its
	// config names another place.
	DataDir string
	Log     *slog.Logger
	// MetadataSecret is the stack's [neutron] metadata_proxy_shared_secret
	// (tenku stack's generated one), which a data plane's metadata proxy
	// signs with when its own configuration names none.
	MetadataSecret string
	// MetadataAddr (host:port) is the stack's Nova metadata API, for a
	// data plane whose file names none ("" when the file names it or the
	// stack runs none).
	MetadataAddr string
	// Namespace is Options.HostNamespace: where the host's taps, guests
	// and bridges live ("" is the host itself); NamespacePrefix is put
	// before the names of the namespaces a data plane makes.
	Namespace, NamespacePrefix string
	// BridgeAddresses are host-side addresses of flat networks by
	// physical network (devstack's public network), for a data plane
	// whose file names none.
	BridgeAddresses map[string]string
	// TunnelIP is this host's tunnel address for a data plane whose file
	// names none.
	TunnelIP string
}

// Driver describes one driver the assembly can choose by name.
type Driver[T any] struct {
	// Aliases are other names the driver answers to (Nova's class paths,
	// "fake.FakeDriver").
	Aliases []string
	// Section is the config file section the driver's configuration is
	// read from ("fake_driver"); empty when Config's value is itself a
	// struct of sections, or the driver has no configuration.
	Section string
	// Config returns a pointer to the driver's default configuration; nil
	// when it has none.
	Config func() any
	// New builds the driver from its configuration (nil without Config).
	New func(cfg any, d DriverDeps) (T, error)
}

// ComputeDrivers are the hypervisor drivers nova-compute can run, chosen by
// nova.conf's [DEFAULT] compute_driver.
var ComputeDrivers = map[string]Driver[virt.Driver]{
	"fake": {
		Aliases: []string{"fake.FakeDriver", "fake.SmallFakeDriver", "fake.MediumFakeDriver"},
		Section: "fake_driver",
		Config:  func() any { c := fakevirt.DefaultConfig(); return &c },
		New: func(cfg any, d DriverDeps) (virt.Driver, error) {
			c := *cfg.(*fakevirt.Config)
			if c.StateDir == "" {
				// A hypervisor's guests outlive its compute agent: a
				// restarted (or killed) stack finds its servers running.
				c.StateDir = filepath.Join(d.DataDir, "fake-guests")
			}
			if err := c.Validate(); err != nil {
				return nil, err
			}
			return fakevirt.Open(c)
		},
	},
	// One QEMU process per guest, controlled over QMP (Nova's libvirt
	// driver's job, read from its [libvirt] section); guests live in the
	// agent's instances directory.
	"qemu": {
		Aliases: []string{"libvirt.LibvirtDriver", "libvirt"},
		Section: "libvirt",
		Config:  func() any { c := qemu.DefaultConfig(); return &c },
		New: func(cfg any, d DriverDeps) (virt.Driver, error) {
			c := *cfg.(*qemu.Config)
			if c.InstancesPath == "" {
				c.InstancesPath = filepath.Join(d.DataDir, "instances")
			}
			c.Namespace = d.Namespace
			return qemu.New(c, d.Log)
		},
	},
}

// DataplaneDrivers are the data planes the network agent can run, chosen by
// neutron_agent.ini's [agent] dataplane_driver.
var DataplaneDrivers = map[string]Driver[dataplane.Driver]{
	"fake": {
		New: func(any, DriverDeps) (dataplane.Driver, error) { return fakedataplane.New(), nil },
	},
	// Neutron's Linux bridge, DHCP, L3 and metadata agents on this host
	// ([linux_bridge], [vxlan] and metadata_agent.ini's [DEFAULT] options).
	"linuxbridge": {
		Aliases: []string{"linux_bridge"},
		Config:  func() any { c := linuxbridge.DefaultConfig(); return &c },
		New: func(cfg any, d DriverDeps) (dataplane.Driver, error) {
			return linuxbridge.New(linuxbridgeConfig(*cfg.(*linuxbridge.Config), d), linuxbridge.Options{Namespace: d.Namespace, NamespacePrefix: d.NamespacePrefix,
				StateDir: filepath.Join(d.DataDir, "linuxbridge"), Log: d.Log})
		},
	},
}

// linuxbridgeConfig gives the metadata proxy the stack's secret when
// neutron_agent.ini names none, so that tenku stack's generated secret
// reaches Neutron's side as well as Nova's; likewise the stack's Nova
// metadata API, tunnel address and public gateway (DriverDeps).
func linuxbridgeConfig(c linuxbridge.Config, d DriverDeps) linuxbridge.Config {
	if c.Metadata.SharedSecret == "" {
		c.Metadata.SharedSecret = d.MetadataSecret
	}
	if host, port, err := net.SplitHostPort(d.MetadataAddr); err == nil {
		c.Metadata.NovaMetadataHost = host
		c.Metadata.NovaMetadataPort, _ = strconv.Atoi(port)
	}
	if c.VXLAN.LocalIP == "" {
		c.VXLAN.LocalIP = d.TunnelIP
	}
	if len(c.LinuxBridge.BridgeAddressMappings) == 0 {
		c.LinuxBridge.BridgeAddressMappings = d.BridgeAddresses
	}
	return c
}

// newDriver builds the driver named name (or one of its aliases) from
// drivers, reading its configuration from f. option names the choosing
// option for the error an unknown name gives.
func newDriver[T any](drivers map[string]Driver[T], option, name string, f config.File, d DriverDeps) (T, error) {
	var zero T
	key, drv, ok := lookupDriver(drivers, name)
	if !ok {
		return zero, fmt.Errorf("%s = %q: no such driver (known: %s)", option, name, driverNames(drivers))
	}
	var cfg any
	if drv.Config != nil {
		cfg = drv.Config()
		if f != nil {
			if _, err := config.Apply(driverFile(drv.Section, cfg), f); err != nil {
				return zero, fmt.Errorf("%s driver: %w", key, err)
			}
		}
	}
	out, err := drv.New(cfg, d)
	if err != nil {
		return zero, fmt.Errorf("%s driver: %w", key, err)
	}
	return out, nil
}

func lookupDriver[T any](drivers map[string]Driver[T], name string) (string, Driver[T], bool) {
	if d, ok := drivers[name]; ok {
		return name, d, true
	}
	for key, d := range drivers {
		for _, a := range d.Aliases {
			// Nova's class paths are written with or without their package.
			if name == a || name == "nova.virt."+a {
				return key, d, true
			}
		}
	}
	return "", Driver[T]{}, false
}

func driverNames[T any](drivers map[string]Driver[T]) string {
	var names []string
	for key, d := range drivers {
		names = append(names, key)
		names = append(names, d.Aliases...)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// driverConfigs returns every driver's default configuration as a config
// struct of sections, for the sample file and so that their options are not
// reported unknown.
func driverConfigs[T any](drivers map[string]Driver[T]) []any {
	var keys []string
	for k := range drivers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []any
	for _, k := range keys {
		if d := drivers[k]; d.Config != nil {
			out = append(out, driverFile(d.Section, d.Config()))
		}
	}
	return out
}

// driverFile returns cfg as a struct of sections: cfg itself when section is
// empty, else a struct whose one field, tagged section, points at cfg.
func driverFile(section string, cfg any) any {
	if section == "" {
		return cfg
	}
	t := reflect.StructOf([]reflect.StructField{{
		Name: "Section", Type: reflect.TypeOf(cfg), Tag: reflect.StructTag(`section:"` + section + `"`),
	}})
	v := reflect.New(t)
	v.Elem().Field(0).Set(reflect.ValueOf(cfg))
	return v.Interface()
}

// chooseComputeDriver resolves Options.ComputeDriver: "auto" is qemu where
// QEMU is installed (the driver itself falls back from KVM to TCG), else
// fake; any other value is a driver name. The note says which and why.
func chooseComputeDriver(want string) (name, note string) {
	if want != "auto" {
		return want, want + " (chosen by the command line)"
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return "fake", "fake: qemu-system-x86_64 is not installed (scripts/install-deps installs it), so servers are records without guests"
	}
	return "qemu", "qemu: servers are real QEMU guests (nova.conf [DEFAULT] compute_driver = fake for records only)"
}

// chooseDataplane resolves Options.DataplaneDriver: "auto" is linuxbridge
// where the guests are real (the compute driver is qemu: fake guests have
// no taps to wire) and this host can run it (root, iproute2, nftables,
// dnsmasq), else fake; any other value is a driver name. The note says
// which and why.
func (s *Stack) chooseDataplane(want string) (name, note string) {
	if want != "auto" {
		return want, want + " (chosen by the command line)"
	}
	compute := "fake"
	if v := s.File("nova.conf")["DEFAULT"]["compute_driver"]; len(v) > 0 {
		compute = v[len(v)-1]
	} else if s.ComputeDriver != "" {
		compute, _ = chooseComputeDriver(s.ComputeDriver)
	}
	if key, _, _ := lookupDriver(ComputeDrivers, compute); key != "qemu" {
		return "fake", "fake: the guests are not real, so no packet flows (neutron_agent.ini [agent] dataplane_driver = linuxbridge for the Linux data plane)"
	}
	if os.Geteuid() != 0 {
		return "fake", "fake: the Linux data plane needs root (neutron_agent.ini [agent] dataplane_driver = linuxbridge)"
	}
	for _, tool := range []string{"ip", "bridge", "nft", "dnsmasq"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "fake", "fake: " + tool + " is not installed (scripts/install-deps installs it), so guests get no DHCP, routers or floating IPs"
		}
	}
	return "linuxbridge", "linuxbridge: bridges, DHCP, routers with NAT, floating IPs, security groups and the metadata proxy on this host (neutron_agent.ini [agent] dataplane_driver = fake for none)"
}

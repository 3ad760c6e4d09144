package stack

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/compute"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/config"
	"github.com/tenku-cloud/tenku/internal/platform/service"
)

func component(t *testing.T, name string) Component {
	t.Helper()
	for _, c := range Components() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no component %s", name)
	return Component{}
}

func TestComputeDriverByNameWithItsSection(t *testing.T) {
	f, err := config.Parse(strings.NewReader("[fake_driver]\nvcpus = 7\nmemory_mb = 512\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fake", "fake.FakeDriver", "nova.virt.fake.FakeDriver"} {
		drv, err := newDriver(ComputeDrivers, "[DEFAULT] compute_driver", name, f, DriverDeps{DataDir: t.TempDir()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r, err := drv.HostResources(context.Background())
		if err != nil || r.VCPUs != 7 || r.MemoryMB != 512 || r.DiskGB != 2000 {
			t.Fatalf("%s: resources %+v, %v: [fake_driver] not applied over the defaults", name, r, err)
		}
	}
}

func TestUnknownDriverFailsWithTheKnownNames(t *testing.T) {
	_, err := newDriver(ComputeDrivers, "[DEFAULT] compute_driver", "vmwareapi.VMwareVCDriver", nil, DriverDeps{})
	if err == nil {
		t.Fatal("unknown compute driver accepted")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, `compute_driver = "vmwareapi.VMwareVCDriver"`) || !strings.Contains(msg, "fake.FakeDriver") {
		t.Fatalf("error %q: want one line naming the option, the value and the known names", msg)
	}
	_, err = newDriver(DataplaneDrivers, "[agent] dataplane_driver", "openvswitch", nil, DriverDeps{})
	if err == nil || !strings.Contains(err.Error(), "known: fake") {
		t.Fatalf("unknown data plane driver: %v", err)
	}

	// The component fails start-up with that line, before building the agent.
	c := component(t, "nova-compute")
	cfg := c.Config().(*compute.Config)
	cfg.Default.ComputeDriver = "nosuch"
	_, err = c.Build(context.Background(), &Stack{}, cfg, service.Deps{DataDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), `compute_driver = "nosuch": no such driver (known: `) {
		t.Fatalf("nova-compute with an unknown driver: %v", err)
	}
	a := component(t, "neutron-agent")
	acfg := a.Config().(*agentFile)
	acfg.Agent.DataplaneDriver = "nosuch"
	_, err = a.Build(context.Background(), &Stack{}, acfg, service.Deps{DataDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), `dataplane_driver = "nosuch": no such driver`) {
		t.Fatalf("neutron-agent with an unknown driver: %v", err)
	}
}

func TestBadDriverConfigFails(t *testing.T) {
	f, err := config.Parse(strings.NewReader("[fake_driver]\nvcpus = -1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newDriver(ComputeDrivers, "[DEFAULT] compute_driver", "fake", f, DriverDeps{}); err == nil || !strings.Contains(err.Error(), "fake_driver") {
		t.Fatalf("negative vcpus: %v", err)
	}
}

// A driver's options are known to the file that chooses it; others still warn.
func TestDriverOptionsAreNotUnknown(t *testing.T) {
	dir := t.TempDir()
	conf := "[DEFAULT]\ncompute_driver = fake\n[fake_driver]\nvcpus = 3\nno_such_knob = 1\n"
	if err := os.WriteFile(filepath.Join(dir, "nova.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := &Stack{Options: Options{ConfigDir: dir, Log: slog.New(slog.NewTextHandler(&logs, nil))}}
	c := component(t, "nova-compute")
	cfg := c.Config()
	if err := s.loadConfig(c, cfg); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Contains(out, "vcpus") || strings.Contains(out, "compute_driver") || !strings.Contains(out, "no_such_knob") {
		t.Fatalf("warnings: %s", out)
	}
	drv, err := newDriver(ComputeDrivers, "[DEFAULT] compute_driver", cfg.(*compute.Config).Default.ComputeDriver, s.File("nova.conf"), DriverDeps{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := drv.HostResources(context.Background()); r.VCPUs != 3 {
		t.Fatalf("vcpus %d, want 3 from the stack's nova.conf", r.VCPUs)
	}
	var _ virt.Driver = drv
}

func TestEveryDriverConfigSamples(t *testing.T) {
	for name, d := range ComputeDrivers {
		if d.Config == nil {
			continue
		}
		var b bytes.Buffer
		if err := config.Sample(&b, driverFile(d.Section, d.Config())); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d.Section != "" && !strings.Contains(b.String(), "["+d.Section+"]") {
			t.Fatalf("%s sample lacks its section:\n%s", name, b.String())
		}
	}
	var b bytes.Buffer
	if err := config.Sample(&b, driverFile("fake_driver", ComputeDrivers["fake"].Config())); err != nil || !strings.Contains(b.String(), "#vcpus = 32") {
		t.Fatalf("fake sample: %v\n%s", err, b.String())
	}
}

func TestQEMUDriverByNovaNameReadsLibvirtSection(t *testing.T) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-system-x86_64 must be installed in CI (scripts/install-deps)")
		}
		t.Skip("no qemu-system-x86_64")
	}
	f, err := config.Parse(strings.NewReader("[libvirt]\nvirt_type = qemu\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"qemu", "libvirt.LibvirtDriver", "nova.virt.libvirt.LibvirtDriver"} {
		drv, err := newDriver(ComputeDrivers, "[DEFAULT] compute_driver", name, f, DriverDeps{DataDir: dir, Host: "h1"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c := drv.Capabilities(); c.HypervisorType != "QEMU" {
			t.Fatalf("%s: hypervisor type %q", name, c.HypervisorType)
		}
	}
	bad, err := config.Parse(strings.NewReader("[libvirt]\nvirt_type = xen\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newDriver(ComputeDrivers, "[DEFAULT] compute_driver", "qemu", bad, DriverDeps{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "virt_type") {
		t.Fatalf("virt_type = xen: %v", err)
	}
}

// tenku stack's "auto" takes qemu only where QEMU is installed, and says why
// it fell back otherwise; a named driver is taken as it is.
func TestAutoComputeDriver(t *testing.T) {
	if name, _ := chooseComputeDriver("fake"); name != "fake" {
		t.Fatalf("a named driver became %q", name)
	}
	t.Setenv("PATH", t.TempDir())
	name, note := chooseComputeDriver("auto")
	if name != "fake" || !strings.Contains(note, "qemu-system-x86_64 is not installed") {
		t.Fatalf("auto without QEMU: %q, %q", name, note)
	}
	bin := filepath.Join(os.Getenv("PATH"), "qemu-system-x86_64")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if name, _ := chooseComputeDriver("auto"); name != "qemu" {
		t.Fatalf("auto with QEMU: %q", name)
	}
}

// tenku stack's "auto" data plane is linuxbridge only for real guests on a
// host that can run it, and says why it fell back otherwise.
func TestAutoDataplane(t *testing.T) {
	s := &Stack{Options: Options{ComputeDriver: "auto"}, files: map[string]config.File{}}
	if name, _ := s.chooseDataplane("fake"); name != "fake" {
		t.Fatalf("a named driver became %q", name)
	}
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	tool := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if name, note := s.chooseDataplane("auto"); name != "fake" || !strings.Contains(note, "not real") {
		t.Fatalf("auto without QEMU: %q, %q", name, note)
	}
	tool("qemu-system-x86_64")
	s.files["nova.conf"] = config.File{"DEFAULT": {"compute_driver": {"fake.FakeDriver"}}}
	if name, _ := s.chooseDataplane("auto"); name != "fake" {
		t.Fatalf("auto with nova.conf's fake driver: %q", name)
	}
	delete(s.files, "nova.conf")
	want := "linuxbridge"
	if os.Geteuid() != 0 {
		want = "fake"
	}
	for _, x := range []string{"ip", "bridge", "nft"} {
		tool(x)
	}
	if name, note := s.chooseDataplane("auto"); name != "fake" || (want == "linuxbridge" && !strings.Contains(note, "dnsmasq")) {
		t.Fatalf("auto without dnsmasq: %q, %q", name, note)
	}
	tool("dnsmasq")
	if name, note := s.chooseDataplane("auto"); name != want {
		t.Fatalf("auto with every tool: %q, %q", name, note)
	}
}

// The network agent's data plane hears of the stack's metadata API and, with
// devstack's networks, the public network's gateway on its bridge, unless
// neutron_agent.ini says otherwise.
func TestAgentDriverDeps(t *testing.T) {
	s := &Stack{Options: Options{TestData: true, HostIP: "10.1.2.3", Secrets: Secrets{MetadataSecret: "sekrit"}},
		Addrs: map[string]string{"nova-metadata": "10.1.2.3:8775"}, files: map[string]config.File{}}
	d := s.agentDriverDeps(service.Deps{})
	if d.MetadataSecret != "sekrit" || d.MetadataAddr != "10.1.2.3:8775" || d.TunnelIP != "10.1.2.3" ||
		d.BridgeAddresses["public"] != "172.24.4.1/24" || d.Namespace != "" || d.NamespacePrefix != "" {
		t.Fatalf("deps: %+v", d)
	}
	s.HostNamespace = "tk-h1"
	s.files["neutron_agent.ini"] = config.File{"DEFAULT": {"nova_metadata_host": {"10.9.9.9"}},
		"linux_bridge": {"physical_interface_mappings": {"public:eth1"}}}
	d = s.agentDriverDeps(service.Deps{})
	if d.MetadataAddr != "" || d.BridgeAddresses != nil || d.Namespace != "tk-h1" || d.NamespacePrefix != "tk-h1-" {
		t.Fatalf("deps with a file: %+v", d)
	}
	if d.TunnelIP != "10.1.2.3" {
		t.Fatalf("tunnel address without [vxlan] local_ip: %q", d.TunnelIP)
	}
	s.files["neutron_agent.ini"]["vxlan"] = map[string][]string{"local_ip": {"192.0.2.9"}}
	if d = s.agentDriverDeps(service.Deps{}); d.TunnelIP != "" {
		t.Fatalf("tunnel address with [vxlan] local_ip: %q", d.TunnelIP)
	}
}

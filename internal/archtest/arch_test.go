package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tenku-cloud/tenku/"

var services = []string{"identity", "image", "network", "compute", "volume", "dashboard"}

// concreteDrivers may be imported only by the assembly (and tests).
var concreteDrivers = []string{
	"internal/compute/virt/fake", "internal/compute/virt/qemu",
	"internal/network/dataplane/fake", "internal/network/dataplane/linuxbridge",
	"internal/volume/backend/",
}

func TestImportRules(t *testing.T) {
	// -e lists a package that does not load with its error instead of
	// stopping; such a package's imports are unknown, so the test fails.
	format := `{{.ImportPath}}{{"\t"}}{{if .Error}}{{printf "%q " .Error.Err}}{{end}}{{range .DepsErrors}}{{printf "%q " .Err}}{{end}}{{"\t"}}{{join .Imports " "}}`
	out, err := exec.Command("go", "list", "-e", "-f", format, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		cols := strings.SplitN(sc.Text(), "\t", 3)
		if len(cols) != 3 {
			t.Fatalf("go list line %q", sc.Text())
		}
		pkg := strings.TrimPrefix(cols[0], module)
		n++
		if cols[1] != "" {
			t.Errorf("%s does not load: %s", pkg, cols[1])
		}
		for _, imp := range strings.Fields(cols[2]) {
			if err := check(pkg, imp); err != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, err)
			}
		}
	}
	if n < 5 {
		t.Fatalf("go list saw only %d packages", n)
	}
}

// within reports whether pkg is the package base or one below it.
func within(pkg, base string) bool { return pkg == base || strings.HasPrefix(pkg, base+"/") }

func serviceOf(pkg string) string {
	for _, s := range services {
		if pkg == "internal/"+s || strings.HasPrefix(pkg, "internal/"+s+"/") {
			return s
		}
	}
	return ""
}

func check(pkg, imp string) string {
	own := strings.HasPrefix(imp, module)
	imp = strings.TrimPrefix(imp, module)
	stdlib := !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !own
	switch {
	case strings.HasPrefix(pkg, "api/"):
		if !stdlib {
			return "wire types import only the standard library"
		}
	case strings.HasPrefix(pkg, "internal/platform/"), strings.HasPrefix(pkg, "internal/linux/"):
		if own && (serviceOf(imp) != "" || strings.HasPrefix(imp, "internal/stack") || strings.HasPrefix(imp, "internal/testkit")) {
			return "the platform and host primitives import no service"
		}
	}
	if !own {
		return ""
	}
	if strings.HasPrefix(pkg, "internal/linux/") && heavyPlatform(imp) {
		return "host primitives import no rest, store or bus"
	}
	if iface, ok := driverInterface(pkg); ok && !driverMayImport(pkg, iface, imp) {
		return "a driver imports only its interface package, internal/linux/*, api/* and small platform helpers"
	}
	if (within(pkg, "internal/compute/agent") || within(pkg, "internal/compute/rpc")) && within(imp, "internal/compute/store") {
		return "the compute agent and its bus protocol never touch the store: the agent asks the conductor in compute/rpc's own types"
	}
	if s := serviceOf(pkg); s != "" {
		if o := serviceOf(imp); o != "" && o != s {
			return "a service never imports another service's internals (talk over REST)"
		}
		if strings.HasPrefix(imp, "internal/stack") {
			return "services do not import the assembly"
		}
	}
	for _, d := range concreteDrivers {
		if strings.HasPrefix(imp, d) && !strings.HasPrefix(pkg, "cmd/") && !strings.HasPrefix(pkg, "internal/stack") &&
			!strings.HasPrefix(pkg, "internal/testkit") && !strings.HasPrefix(pkg, "tools/") && !strings.HasPrefix(pkg, strings.TrimSuffix(d, "/")) {
			return "only cmd/tenku and internal/stack pick concrete drivers"
		}
	}
	return ""
}

// driverInterfaces are the interface packages whose subpackages are drivers.
var driverInterfaces = []string{"internal/compute/virt", "internal/network/dataplane"}

// driverInterface returns the interface package of a driver package.
func driverInterface(pkg string) (string, bool) {
	for _, i := range driverInterfaces {
		if strings.HasPrefix(pkg, i+"/") {
			return i, true
		}
	}
	return "", false
}

func heavyPlatform(imp string) bool {
	for _, h := range []string{"internal/platform/rest", "internal/platform/store", "internal/platform/bus"} {
		if imp == h || strings.HasPrefix(imp, h+"/") {
			return true
		}
	}
	return false
}

func driverMayImport(pkg, iface, imp string) bool {
	own := strings.SplitN(strings.TrimPrefix(pkg, iface+"/"), "/", 2)[0] // the driver: "qemu"
	switch {
	case imp == iface, strings.HasPrefix(imp, iface+"/"+own+"/"), imp == iface+"/"+own:
		return true
	case iface == "internal/compute/virt" && imp == "internal/compute/states":
		return true // the interface's own vocabulary
	case strings.HasPrefix(imp, "internal/linux/"), strings.HasPrefix(imp, "api/"):
		return true
	case strings.HasPrefix(imp, "internal/platform/"):
		return !heavyPlatform(imp)
	}
	return false
}

func TestCheckCatchesViolations(t *testing.T) {
	bad := [][2]string{
		{"api/compute", module + "internal/platform/fault"},
		{"api/compute", "github.com/google/uuid"},
		{"internal/platform/rest", module + "internal/identity"},
		{"internal/linux/netns", module + "internal/network/store"},
		{"internal/compute/api", module + "internal/image/store"},
		{"internal/compute/agent", module + "internal/compute/virt/fake"},
		{"internal/identity", module + "internal/stack"},
		{"internal/linux/proc", module + "internal/platform/bus"},
		{"internal/compute/virt/qemu", module + "internal/compute/objects"},
		{"internal/compute/virt/qemu", module + "internal/platform/store"},
		{"internal/network/dataplane/linuxbridge", module + "internal/network/plugin"},
		{"internal/network/dataplane/linuxbridge", module + "internal/compute/virt/fake"},
		{"internal/compute/agent", module + "internal/compute/store"},
		{"internal/compute/rpc", module + "internal/compute/store"},
	}
	for _, b := range bad {
		if check(b[0], b[1]) == "" {
			t.Errorf("%s → %s should be refused", b[0], b[1])
		}
	}
	good := [][2]string{
		{"api/compute", "encoding/json"},
		{"internal/compute/api", module + "internal/platform/rest"},
		{"internal/compute/api", module + "api/compute"},
		{"internal/stack", module + "internal/compute/virt/fake"},
		{"internal/compute/virt/fake", module + "internal/compute/virt"},
		{"internal/compute/virt/qemu", module + "internal/linux/qmp"},
		{"internal/compute/virt/qemu", module + "internal/compute/virt/qemu/qmp"},
		{"internal/compute/virt/qemu", module + "internal/compute/states"},
		{"internal/network/dataplane/linuxbridge", module + "internal/linux/nft"},
		{"internal/network/dataplane/linuxbridge", module + "internal/network/dataplane"},
		{"internal/network/dataplane/fake", module + "api/network"},
		{"internal/compute/agent", module + "internal/compute/rpc"},
		{"internal/compute/conductor", module + "internal/compute/store"},
		{"internal/compute/agent", module + "internal/compute/storestub"},
	}
	for _, g := range good {
		if e := check(g[0], g[1]); e != "" {
			t.Errorf("%s → %s refused: %s", g[0], g[1], e)
		}
	}
}

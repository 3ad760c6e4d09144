package stack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/testkit"
)

// openstackCLI runs Debian's openstack CLI (a judge) against a test cloud.
type openstackCLI struct {
	t     *testing.T
	cloud *testkit.Cloud
}

func newCLI(t *testing.T, c *testkit.Cloud) *openstackCLI {
	t.Helper()
	if _, err := exec.LookPath("openstack"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the openstack CLI is a judge and must be installed in CI (scripts/install-deps)")
		}
		t.Skip("openstack CLI not installed (scripts/install-deps)")
	}
	if err := c.WriteCredentials(); err != nil {
		t.Fatal(err)
	}
	return &openstackCLI{t: t, cloud: c}
}

// run runs `openstack --os-cloud CLOUD args...` and returns stdout, stderr and
// whether it succeeded.
func (o *openstackCLI) run(cloud string, args ...string) (string, string, bool) {
	o.t.Helper()
	cmd := exec.Command("openstack", append([]string{"--os-cloud", cloud}, args...)...)
	env := []string{"OS_CLIENT_CONFIG_FILE=" + filepath.Join(o.cloud.DataDir, "clouds.yaml"), "HOME=" + o.t.TempDir()}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err == nil
}

// ok runs a command that must succeed and returns its output.
func (o *openstackCLI) ok(cloud string, args ...string) string {
	o.t.Helper()
	out, errOut, ok := o.run(cloud, args...)
	if !ok {
		o.t.Fatalf("openstack %s failed:\n%s%s", strings.Join(args, " "), out, errOut)
	}
	return out
}

// TestIdentityCLI walks the foundation issue's openstack CLI checks.
func TestIdentityCLI(t *testing.T) {
	c := testkit.Start(t, "keystone")
	cli := newCLI(t, c)
	const admin = "tenku-admin"

	if out := cli.ok(admin, "token", "issue", "-f", "value", "-c", "id"); len(strings.TrimSpace(out)) < 32 {
		t.Fatalf("token issue: %q", out)
	}
	if out := cli.ok(admin, "catalog", "list", "-f", "value", "-c", "Type"); !strings.Contains(out, "identity") {
		t.Fatalf("catalog list lacks identity: %q", out)
	}
	if out := cli.ok(admin, "endpoint", "list", "-f", "value", "-c", "Interface"); !strings.Contains(out, "public") || !strings.Contains(out, "internal") || !strings.Contains(out, "admin") {
		t.Fatalf("endpoint list: %q", out)
	}
	cli.ok(admin, "domain", "create", "--description", "CLI check", "dom1")
	cli.ok(admin, "project", "create", "--domain", "default", "proj1")
	cli.ok(admin, "user", "create", "--domain", "default", "--password", "s3cret-Pass", "--project", "proj1", "alice")
	cli.ok(admin, "role", "add", "--project", "proj1", "--user", "alice", "member")
	out := cli.ok(admin, "role", "assignment", "list", "--names", "--user", "alice", "-f", "value", "-c", "Role", "-c", "Project")
	if !strings.Contains(out, "member") || !strings.Contains(out, "proj1@Default") {
		t.Fatalf("role assignment list --names: %q", out)
	}
	cli.ok(admin, "group", "create", "--domain", "default", "grp1")
	cli.ok(admin, "group", "add", "user", "grp1", "alice")
	if out := cli.ok(admin, "group", "contains", "user", "grp1", "alice"); !strings.Contains(out, "alice in group grp1") {
		t.Fatalf("group contains user: %q", out)
	}
	if out := cli.ok(admin, "application", "credential", "create", "-f", "value", "-c", "secret", "appcred1"); len(strings.TrimSpace(out)) < 16 {
		t.Fatalf("application credential create: %q", out)
	}

	// A member may not create users: 403.
	cloudsPath := filepath.Join(c.DataDir, "clouds.yaml")
	raw, _ := os.ReadFile(cloudsPath)
	alice := string(raw) + "  alice:\n    auth:\n      auth_url: \"" + c.AuthURL + "\"\n      username: alice\n      password: s3cret-Pass\n      user_domain_id: default\n      project_name: proj1\n      project_domain_id: default\n    region_name: RegionOne\n    identity_api_version: 3\n"
	if err := os.WriteFile(cloudsPath, []byte(alice), 0o600); err != nil {
		t.Fatal(err)
	}
	cli.ok("alice", "token", "issue")
	_, errOut, ok := cli.run("alice", "user", "create", "--password", "x", "mallory")
	if ok || !strings.Contains(errOut, "HTTP 403") {
		t.Fatalf("a member creating a user: ok=%v %q (want HTTP 403)", ok, errOut)
	}
}

package stack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	empty := &LocalConf{Vars: map[string]string{}}
	s1, err := ResolveSecrets(dir, Secrets{}, empty)
	if err != nil || len(s1.AdminPassword) != 20 || s1.AdminPassword == s1.ServicePassword {
		t.Fatalf("random secrets: %+v %v", s1, err)
	}
	st, _ := os.Stat(filepath.Join(dir, "secrets"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets mode %v", st.Mode())
	}
	if len(s1.MetadataSecret) != 20 || s1.MetadataSecret == s1.AdminPassword || s1.MetadataSecret == s1.ServicePassword {
		t.Fatalf("metadata secret: %q", s1.MetadataSecret)
	}
	if s1.Unchanged {
		t.Fatal("new secrets reported unchanged")
	}
	// A second run resumes with the same passwords.
	s2, _ := ResolveSecrets(dir, Secrets{}, empty)
	if s2.AdminPassword != s1.AdminPassword || s2.ServicePassword != s1.ServicePassword || s2.MetadataSecret != s1.MetadataSecret || !s2.Unchanged {
		t.Fatalf("resume: %+v != %+v", s2, s1)
	}
	// local.conf beats saved, an explicit value beats local.conf.
	lc := &LocalConf{Vars: map[string]string{"ADMIN_PASSWORD": "fromconf", "SERVICE_PASSWORD": "svc"}}
	s3, _ := ResolveSecrets(dir, Secrets{AdminPassword: "flag"}, lc)
	if s3.AdminPassword != "flag" || s3.ServicePassword != "svc" || s3.Unchanged {
		t.Fatalf("precedence: %+v", s3)
	}
	if _, err := ResolveSecrets(dir, Secrets{AdminPassword: "a\nb"}, empty); err == nil {
		t.Fatal("a password with a newline must be refused")
	}
}

func TestCredentialFiles(t *testing.T) {
	dir := t.TempDir()
	c := credFiles{AuthURL: "http://127.0.0.1:5000/v3", Region: "RegionOne", Password: `it's "x"`}
	if err := c.WriteOpenrc(filepath.Join(dir, "openrc")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"demo"}, {"admin", "demo"}} {
		script := "source " + filepath.Join(dir, "openrc") + " " + strings.Join(args, " ") + "; echo \"$OS_USERNAME|$OS_PROJECT_NAME|$OS_PASSWORD|$OS_AUTH_URL\""
		out, err := exec.Command("bash", "-c", script).Output()
		if err != nil {
			t.Fatal(err)
		}
		user, project := "admin", "admin"
		if len(args) > 0 {
			user, project = args[0], args[0]
		}
		if len(args) > 1 {
			project = args[1]
		}
		want := user + "|" + project + `|it's "x"|http://127.0.0.1:5000/v3`
		if strings.TrimSpace(string(out)) != want {
			t.Errorf("openrc %v: %q, want %q", args, out, want)
		}
	}
	if err := c.WriteCloudsYAML(filepath.Join(dir, "clouds.yaml")); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "clouds.yaml"))
	var doc struct {
		Clouds map[string]struct {
			Auth   map[string]string `yaml:"auth"`
			Region string            `yaml:"region_name"`
		} `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	demo := doc.Clouds["tenku-demo"]
	if demo.Auth["password"] != `it's "x"` || demo.Auth["project_name"] != "demo" || demo.Region != "RegionOne" {
		t.Fatalf("clouds.yaml: %+v", doc)
	}
	if doc.Clouds["tenku-system-admin"].Auth["system_scope"] != "all" {
		t.Fatalf("system cloud: %+v", doc.Clouds["tenku-system-admin"])
	}
}

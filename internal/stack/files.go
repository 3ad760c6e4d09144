package stack

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Secrets are the passwords a stack needs.
type Secrets struct {
	AdminPassword   string
	ServicePassword string
	// MetadataSecret is [neutron] metadata_proxy_shared_secret, shared by
	// Nova's metadata API and Neutron's metadata proxy. It is made on the
	// first run and kept; it never changes the users' passwords.
	MetadataSecret string
	// Unchanged reports that the passwords are those the last run saved, so the
	// users in the database already have them.
	Unchanged bool
}

const secretsFile = "secrets"

// RandomPassword returns a 20-character password (devstack's limit) from an
// unambiguous alphabet.
func RandomPassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// ResolveSecrets picks each password from, in order: the explicit value (flag or
// environment), local.conf, the secrets saved in the data directory by an earlier
// run, or a new random one; and saves the result (mode 0600) for the next run.
func ResolveSecrets(dataDir string, explicit Secrets, lc *LocalConf) (Secrets, error) {
	saved := map[string]string{}
	if f, err := os.Open(filepath.Join(dataDir, secretsFile)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				saved[k] = v
			}
		}
		f.Close()
	}
	pick := func(name, explicit string) string {
		for _, v := range []string{explicit, lc.Vars[name], saved[name]} {
			if v != "" {
				return v
			}
		}
		return RandomPassword()
	}
	s := Secrets{
		AdminPassword:   pick("ADMIN_PASSWORD", explicit.AdminPassword),
		ServicePassword: pick("SERVICE_PASSWORD", explicit.ServicePassword),
		MetadataSecret:  pick("METADATA_PROXY_SHARED_SECRET", explicit.MetadataSecret),
	}
	s.Unchanged = s.AdminPassword == saved["ADMIN_PASSWORD"] && s.ServicePassword == saved["SERVICE_PASSWORD"]
	for _, p := range []string{s.AdminPassword, s.ServicePassword, s.MetadataSecret} {
		if strings.ContainsAny(p, "\n\r") {
			return s, fmt.Errorf("passwords cannot contain line breaks")
		}
	}
	content := fmt.Sprintf("ADMIN_PASSWORD=%s\nSERVICE_PASSWORD=%s\nMETADATA_PROXY_SHARED_SECRET=%s\n",
		s.AdminPassword, s.ServicePassword, s.MetadataSecret)
	return s, writeFile(filepath.Join(dataDir, secretsFile), content, 0o600)
}

// writeFile replaces a file atomically.
func writeFile(path, content string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// shellQuote quotes s for POSIX sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// yamlQuote quotes s as a YAML double-quoted scalar.
func yamlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// Credentials files: openrc and clouds.yaml.
type credFiles struct {
	AuthURL  string
	Region   string
	Password string
}

// WriteOpenrc writes devstack's openrc: "source openrc [user] [project]", admin by
// default; demo logs in to the demo project.
func (c credFiles) WriteOpenrc(path string) error {
	text := `# tenku credentials, in devstack's style.
#   source openrc              # admin in project admin
#   source openrc demo         # demo in project demo
#   source openrc admin demo   # user admin in project demo
OS_USERNAME=${1:-admin}
OS_PROJECT_NAME=${2:-$OS_USERNAME}
export OS_USERNAME OS_PROJECT_NAME
export OS_PASSWORD=` + shellQuote(c.Password) + `
export OS_AUTH_URL=` + shellQuote(c.AuthURL) + `
export OS_AUTH_TYPE=password
export OS_IDENTITY_API_VERSION=3
export OS_USER_DOMAIN_ID=default
export OS_PROJECT_DOMAIN_ID=default
export OS_REGION_NAME=` + shellQuote(c.Region) + `
export OS_INTERFACE=public
unset OS_CLOUD OS_TOKEN OS_SYSTEM_SCOPE
`
	return writeFile(path, text, 0o600)
}

// WriteCloudsYAML writes clouds.yaml with clouds tenku-admin, tenku-demo and
// tenku-system-admin (admin scoped to the system).
func (c credFiles) WriteCloudsYAML(path string) error {
	type cloud struct{ user, project, system string }
	clouds := map[string]cloud{
		"tenku-admin":        {"admin", "admin", ""},
		"tenku-demo":         {"demo", "demo", ""},
		"tenku-system-admin": {"admin", "", "all"},
	}
	names := make([]string, 0, len(clouds))
	for n := range clouds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# tenku credentials: export OS_CLIENT_CONFIG_FILE=<this file> OS_CLOUD=tenku-admin\nclouds:\n")
	for _, n := range names {
		cl := clouds[n]
		fmt.Fprintf(&b, "  %s:\n    auth:\n      auth_url: %s\n      username: %s\n      password: %s\n      user_domain_id: default\n",
			n, yamlQuote(c.AuthURL), yamlQuote(cl.user), yamlQuote(c.Password))
		if cl.project != "" {
			fmt.Fprintf(&b, "      project_name: %s\n      project_domain_id: default\n", yamlQuote(cl.project))
		} else {
			fmt.Fprintf(&b, "      system_scope: %s\n", cl.system)
		}
		fmt.Fprintf(&b, "    region_name: %s\n    interface: public\n    identity_api_version: 3\n", yamlQuote(c.Region))
	}
	return writeFile(path, b.String(), 0o600)
}

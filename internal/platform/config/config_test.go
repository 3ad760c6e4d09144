package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type compliance struct {
	LockoutAttempts int           `opt:"lockout_failure_attempts" help:"Lock a user out after this many failed logins; 0 disables."`
	LockoutDuration time.Duration `opt:"lockout_duration" help:"How long a lockout lasts."`
	Regex           string        `opt:"password_regex" help:"A password must match this."`
}

type sample struct {
	Debug     bool              `opt:"debug" help:"Log at debug level."`
	Workers   int               `opt:"workers" help:"API workers."`
	Methods   []string          `opt:"methods" help:"Auth methods, in bitmask order."`
	Ratio     float64           `opt:"ratio" help:"An allocation ratio."`
	Labels    map[string]string `opt:"labels" help:"Labels."`
	Secure    compliance        `section:"security_compliance"`
	notAnOpt  int               //lint:ignore U1000 an unexported field Apply must skip
	Unrelated string
}

func TestApplyAndSample(t *testing.T) {
	cfg := sample{Workers: 4, Methods: []string{"password", "token"}, Secure: compliance{LockoutDuration: 30 * time.Minute}}
	var buf bytes.Buffer
	if err := Sample(&buf, &cfg); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{"[DEFAULT]", "#workers = 4", "#methods = password,token", "[security_compliance]",
		"# Lock a user out after this many failed logins; 0 disables.", "#lockout_duration = 30m0s", "# (integer value)"} {
		if !strings.Contains(s, want) {
			t.Errorf("sample lacks %q:\n%s", want, s)
		}
	}

	f, err := Parse(strings.NewReader(`
# comment
debug = True
workers=8
methods = password
methods = token, application_credential
ratio = 1.5
labels = a:1, b:2
bogus = 1
[security_compliance]
lockout_failure_attempts = 3
lockout_duration = 1800
password_regex = '^.{8,}$'
`))
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := Apply(&cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 1 || unknown[0] != "[DEFAULT] bogus" {
		t.Errorf("unknown = %v", unknown)
	}
	if !cfg.Debug || cfg.Workers != 8 || cfg.Ratio != 1.5 || strings.Join(cfg.Methods, " ") != "password token application_credential" {
		t.Errorf("DEFAULT options: %+v", cfg)
	}
	if cfg.Labels["b"] != "2" || cfg.Secure.LockoutAttempts != 3 || cfg.Secure.LockoutDuration != 30*time.Minute || cfg.Secure.Regex != "^.{8,}$" {
		t.Errorf("section options: %+v", cfg.Secure)
	}

	env := map[string]string{EnvName("security_compliance", "lockout_failure_attempts"): "5"}
	if err := ApplyEnv(&cfg, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if cfg.Secure.LockoutAttempts != 5 {
		t.Errorf("env override: %d", cfg.Secure.LockoutAttempts)
	}
}

func TestBadValues(t *testing.T) {
	for _, text := range []string{"workers = many", "debug = perhaps", "[security_compliance]\nlockout_duration = soon", "labels = nocolon"} {
		cfg := sample{}
		f, err := Parse(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Apply(&cfg, f); err == nil {
			t.Errorf("%q: want an error", text)
		}
	}
	for _, text := range []string{"[broken", "novalue"} {
		if _, err := Parse(strings.NewReader(text)); err == nil {
			t.Errorf("%q: want a parse error", text)
		}
	}
	if _, err := Options(sample{}); err == nil {
		t.Error("Options on a non-pointer must fail")
	}
}

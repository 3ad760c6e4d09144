package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/config"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

func newService(t *testing.T, cfg Config) (*Service, string) {
	t.Helper()
	s := storetest.Open(t, pstore.SQLite)
	if _, err := s.Migrate(context.Background(), Migrations); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	svc, err := New(cfg, service.Deps{DB: s, DataDir: dir, Host: "test",
		Auth: authn.ValidatorFunc(func(ctx context.Context, tok string) (*authn.Context, error) {
			return &authn.Context{UserID: "u", ProjectID: "p-admin", Roles: []string{"admin", "member", "reader"}}, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Shutdown(context.Background()) })
	return svc, dir
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(z)
	return b
}

func TestLoadImagesIsIdempotent(t *testing.T) {
	svc, _ := newService(t, DefaultConfig())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cirros-0.6.2-x86_64-disk.img"), gunzip(t, "api/testdata/good.qcow2.gz"), 0o644)
	os.WriteFile(filepath.Join(dir, "blank.raw"), bytes.Repeat([]byte{0}, 4096), 0o644)
	os.WriteFile(filepath.Join(dir, "unsafe.qcow2"), gunzip(t, "api/testdata/backing.qcow2.gz"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("x"), 0o644)
	ctx := context.Background()
	got, err := svc.LoadImages(ctx, dir, "p-admin")
	if err == nil || !strings.Contains(err.Error(), "unsafe.qcow2") {
		t.Fatalf("the unsafe image must be reported: %v", err)
	}
	if len(got) != 2 || got[0].Name != "blank" || got[0].DiskFormat != "raw" || got[1].Name != "cirros-0.6.2-x86_64-disk" || got[1].DiskFormat != "qcow2" || got[1].Existing {
		t.Fatalf("loaded %+v", got)
	}
	again, _ := svc.LoadImages(ctx, dir, "p-admin")
	if len(again) != 2 || !again[0].Existing || !again[1].Existing || again[1].ID != got[1].ID {
		t.Fatalf("second load %+v", again)
	}
	// The images are public and active, visible through the API.
	srv := httptest.NewServer(svc)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v2/images?visibility=public&sort=name:asc", nil)
	req.Header.Set("X-Auth-Token", "t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Images []struct{ Name, Status, DiskFormat, ContainerFormat string } `json:"images"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	if len(list.Images) != 2 || list.Images[1].Name != "cirros-0.6.2-x86_64-disk" || list.Images[1].Status != "active" {
		t.Fatalf("listed %+v", list.Images)
	}
	// A missing directory is no error: there is simply nothing to load.
	if got, err := svc.LoadImages(ctx, filepath.Join(dir, "nope"), "p-admin"); err != nil || got != nil {
		t.Fatalf("missing dir: %v %v", got, err)
	}
}

func TestConfig(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := config.Sample(&b, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[DEFAULT]", "#image_size_cap = 1099511627776", "#enabled_import_methods = glance-direct",
		"[glance_store]", "#filesystem_store_datadir = ", "[image_format]", "#require_image_format_match = true", "[oslo_limit]"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("sample lacks %q", want)
		}
	}
	f, err := config.Parse(strings.NewReader("[DEFAULT]\nuser_storage_quota = 10GB\nenabled_import_methods = glance-direct,web-download\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Apply(&cfg, f); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "web-download") {
		t.Fatalf("web-download must be refused: %v", err)
	}
	for in, want := range map[string]int64{"0": 0, "10GB": 10 << 30, "5 MB": 5 << 20, "7": 7, "1TB": 1 << 40} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"x", "-1", "10XB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

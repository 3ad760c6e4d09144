package stack

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/network/dataplane/linuxbridge"
)

// tenku stack's metadata secret reaches Neutron's side too (issue 13 §1):
// the Linux bridge data plane's metadata proxy signs with it unless
// neutron_agent.ini names its own.
func TestMetadataSecretReachesTheProxy(t *testing.T) {
	d := DriverDeps{MetadataSecret: "stack-secret"}
	if got := linuxbridgeConfig(linuxbridge.DefaultConfig(), d).Metadata.SharedSecret; got != "stack-secret" {
		t.Errorf("proxy secret %q, want the stack's", got)
	}
	own := linuxbridge.DefaultConfig()
	own.Metadata.SharedSecret = "agent-secret"
	if got := linuxbridgeConfig(own, d).Metadata.SharedSecret; got != "agent-secret" {
		t.Errorf("proxy secret %q, want neutron_agent.ini's", got)
	}
}

// nova-metadata refuses to start while [neutron]
// metadata_proxy_shared_secret is empty, and says why in one line (issue
// 13 §1): with no secret, an empty key's signature would be the only one
// it could check.
func TestMetadataAPIRefusesAnEmptySecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts keystone and nova")
	}
	dir := t.TempDir()
	s, err := Start(context.Background(), Components(), Options{DataDir: dir, ImageDir: filepath.Join(dir, "images"), HostIP: "127.0.0.1",
		RandomPorts: true, Secrets: Secrets{AdminPassword: "admin-pass", ServicePassword: "svc-pass"},
		Services: []string{"keystone", "nova", "nova-metadata"}})
	if err == nil {
		s.Stop(context.Background())
		t.Fatal("nova-metadata started with an empty metadata_proxy_shared_secret")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "metadata_proxy_shared_secret is empty") {
		t.Fatalf("error %q: want one line naming the option", msg)
	}
}

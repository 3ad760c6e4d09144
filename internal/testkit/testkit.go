package testkit

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit/loopback"
)

// Password is the password of admin and demo in a test cloud.
const Password = "secret-test-password"

// Cloud is a running test cloud.
type Cloud struct {
	*stack.Stack
	// AuthURL is Keystone's public URL.
	AuthURL string
}

// Options tune a test cloud.
type Options struct {
	// Services to run ("keystone" is always added first); nil means all.
	Services []string
	// Tweak may adjust the stack options before the start.
	Tweak func(*stack.Options)
}

// Start runs a cloud with the given services until the test ends.
func Start(t testing.TB, services ...string) *Cloud {
	t.Helper()
	var svcs []string
	if len(services) > 0 {
		svcs = append([]string{"keystone"}, services...)
	}
	return StartWith(t, Options{Services: svcs})
}

// StartWith runs a cloud with options.
func StartWith(t testing.TB, o Options) *Cloud {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(logging.Handler(logs, logging.Options{Level: "debug"}))
	dir := t.TempDir()
	opts := stack.Options{
		DataDir: dir, ImageDir: filepath.Join(dir, "images-to-load"), HostIP: "127.0.0.1", RandomPorts: true, TestData: true,
		Secrets:  stack.Secrets{AdminPassword: Password, ServicePassword: "service-test-password", MetadataSecret: "metadata-test-secret"},
		Services: dedupe(o.Services), Log: log,
	}
	if o.Tweak != nil {
		o.Tweak(&opts)
	}
	ctx := context.Background()
	s, err := stack.Start(ctx, stack.Components(), opts)
	if err != nil {
		t.Fatalf("start test cloud: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Logf("stop test cloud: %v", err)
		}
		if t.Failed() {
			t.Logf("test cloud log:\n%s", logs.String())
		}
	})
	return &Cloud{Stack: s, AuthURL: s.URLs["keystone"]}
}

func dedupe(in []string) []string {
	if in == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Provider returns a gophercloud provider logged in as user (admin or demo, or
// any user with Password) scoped to project.
func (c *Cloud) Provider(t testing.TB, user, project string) *gophercloud.ProviderClient {
	t.Helper()
	p, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: c.AuthURL, Username: user, Password: Password, DomainID: "default",
		TenantName: project, AllowReauth: true,
		Scope: &gophercloud.AuthScope{ProjectName: project, DomainID: "default"},
	})
	if err != nil {
		t.Fatalf("log in as %s/%s: %v", user, project, err)
	}
	return p
}

// Client returns a service client of a catalog type for user in project.
func (c *Cloud) Client(t testing.TB, user, project, serviceType string) *gophercloud.ServiceClient {
	t.Helper()
	p := c.Provider(t, user, project)
	eo := gophercloud.EndpointOpts{Region: c.Region, Availability: gophercloud.AvailabilityPublic}
	var (
		sc  *gophercloud.ServiceClient
		err error
	)
	switch serviceType {
	case "identity":
		sc, err = openstack.NewIdentityV3(p, eo)
	case "image":
		sc, err = openstack.NewImageV2(p, eo)
	case "compute":
		sc, err = openstack.NewComputeV2(p, eo)
	case "network":
		sc, err = openstack.NewNetworkV2(p, eo)
	case "volume", "block-storage", "volumev3":
		sc, err = openstack.NewBlockStorageV3(p, eo)
	default:
		t.Fatalf("testkit: unknown service type %q", serviceType)
	}
	if err != nil {
		t.Fatalf("%s client: %v", serviceType, err)
	}
	return sc
}

// Token returns a token of user scoped to project.
func (c *Cloud) Token(t testing.TB, user, project string) string {
	t.Helper()
	tok, err := c.Provider(t, user, project).GetAuthResult().ExtractTokenID()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Eventually polls cond every few milliseconds until it holds or the timeout
// passes, then fails the test with msg.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: "+msg, append([]any{timeout}, args...)...)
		}
		time.Sleep(wait)
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreeLoopback returns a loopback address (127.x.y.z) on which tenku's default
// service ports are free, for tests that run whole tenku processes.
func FreeLoopback(t testing.TB) string {
	t.Helper()
	ip, err := loopback.Free()
	if err != nil {
		t.Fatal(err)
	}
	return ip
}

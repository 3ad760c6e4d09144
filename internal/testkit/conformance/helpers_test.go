package conformance_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"

	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// startCloud runs a whole cloud; conf maps a config file name (nova.conf) to
// its text.
func startCloud(t *testing.T, conf map[string]string) *testkit.Cloud {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a whole cloud")
	}
	etc := t.TempDir()
	for name, text := range conf {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return testkit.StartWith(t, testkit.Options{Tweak: func(o *stack.Options) { o.ConfigDir = etc }})
}

// projectID is the id of the project a user of the same name is scoped to.
func projectID(t *testing.T, c *testkit.Cloud, name string) string {
	t.Helper()
	res, ok := c.Provider(t, name, name).GetAuthResult().(tokens.CreateResult)
	if !ok {
		t.Fatal("no token result")
	}
	p, err := res.ExtractProject()
	if err != nil || p == nil {
		t.Fatalf("project of %s: %v", name, err)
	}
	return p.ID
}

// computeClient is a compute client at a microversion.
func computeClient(t *testing.T, c *testkit.Cloud, user, project, mv string) *gophercloud.ServiceClient {
	sc := c.Client(t, user, project, "compute")
	sc.Microversion = mv
	return sc
}

// anImage is the id of an active public image.
func anImage(t *testing.T, c *testkit.Cloud) string {
	t.Helper()
	pages, err := images.List(c.Client(t, "admin", "admin", "image"), images.ListOpts{Status: images.ImageStatusActive}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all, err := images.ExtractImages(pages)
	if err != nil || len(all) == 0 {
		t.Fatalf("no active image: %v", err)
	}
	return all[0].ID
}

// networkNamed is the id of a network the user sees.
func networkNamed(t *testing.T, c *testkit.Cloud, user, project, name string) string {
	t.Helper()
	pages, err := networks.List(c.Client(t, user, project, "network"), networks.ListOpts{Name: name}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all, err := networks.ExtractNetworks(pages)
	if err != nil || len(all) == 0 {
		t.Fatalf("no network %s: %v", name, err)
	}
	return all[0].ID
}

// waitStatus waits until the server has the status (and no task state when
// the status is final).
func waitStatus(t *testing.T, sc *gophercloud.ServiceClient, id, status string, timeout time.Duration) *servers.Server {
	t.Helper()
	var s *servers.Server
	testkit.Eventually(t, timeout, func() bool {
		var err error
		s, err = servers.Get(context.Background(), sc, id).Extract()
		if err != nil {
			t.Fatal(err)
		}
		return s.Status == status && s.TaskState == ""
	}, "server %s did not become %s", id, status)
	return s
}

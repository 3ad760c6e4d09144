package stack_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute"
	"github.com/tenku-cloud/tenku/internal/identity"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestReplicasStartTogether starts three control replicas (keystone, glance,
// neutron, nova) at the same instant on one fresh PostgreSQL or MariaDB and
// one NATS, as an operator's units start them: every start-up step that
// writes (seed data, service records, default security groups, flavors,
// metadefs) must be safe when they run it at once. Before start-up was
// serialised per service, one replica died with a unique violation on the
// metadef resource types or an aborted PostgreSQL transaction.
func TestReplicasStartTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three control planes")
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:4222", time.Second); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the replica check needs the external NATS at 127.0.0.1:4222: %v", err)
		}
		t.Skipf("no external NATS: %v", err)
	} else {
		c.Close()
	}
	for _, d := range []store.Dialect{store.Postgres, store.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			for round := 0; round < 2; round++ {
				startReplicas(t, d, 3)
			}
		})
	}
}

func startReplicas(t *testing.T, d store.Dialect, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := store.Open(ctx, storetest.ServerURL(d))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", d, err)
		}
		t.Skipf("%s unavailable: %v", d, err)
	}
	var b [5]byte
	rand.Read(b[:])
	prefix := "tenku_rep_" + hex.EncodeToString(b[:]) + "_"
	services := []string{"keystone", "glance", "neutron", "nova"}
	t.Cleanup(func() {
		for _, s := range services {
			drop := "DROP DATABASE IF EXISTS " + prefix + s
			if d == store.Postgres {
				drop += " WITH (FORCE)"
			}
			if _, err := admin.Exec(context.Background(), drop); err != nil {
				t.Logf("drop %s: %v", prefix+s, err)
			}
		}
		admin.Close()
	})
	u, _ := url.Parse(storetest.ServerURL(d))
	u.Path = "/" + prefix + "{service}"
	tmpl := strings.Replace(u.String(), "%7Bservice%7D", "{service}", 1)

	// keystone-manage bootstrap, once, as an operator runs it before the units.
	all := stack.Components()
	ips := make([]string, n)
	for i := range ips {
		ips[i] = testkit.FreeLoopback(t)
	}
	kurl := strings.ReplaceAll(tmpl, "{service}", "keystone")
	if err := store.EnsureDatabase(ctx, kurl); err != nil {
		t.Fatal(err)
	}
	kdb, err := store.Open(ctx, kurl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kdb.Migrate(ctx, identity.Migrations); err != nil {
		t.Fatal(err)
	}
	var catalog []identity.CatalogService
	for _, c := range all {
		for _, s := range services {
			if c.Name == s {
				u := fmt.Sprintf("http://%s%s", net.JoinHostPort(ips[0], fmt.Sprint(c.Port)), c.Path)
				catalog = append(catalog, identity.CatalogService{Name: c.Name, Type: c.Type, PublicURL: u, InternalURL: u, AdminURL: u})
			}
		}
	}
	cfg := identity.DefaultConfig()
	err = identity.Bootstrap(ctx, kdb, identity.BootstrapOptions{AdminPassword: testkit.Password, ServicePassword: "svc-pass",
		ServiceUsers: services[1:], Region: "RegionOne", Services: catalog, Config: &cfg})
	kdb.Close()
	if err != nil {
		t.Fatal(err)
	}

	busPrefix := prefix + "."
	var wg sync.WaitGroup
	errs := make([]error, n)
	stacks := make([]*stack.Stack, n)
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			dir := t.TempDir()
			etc := filepath.Join(dir, "etc")
			os.MkdirAll(etc, 0o700)
			// A 2 s stranded timeout: the sweep's lease job runs every 0.5 s.
			os.WriteFile(filepath.Join(etc, "nova.conf"), []byte("[conductor]\nstranded_build_timeout = 2\n[compute]\nstranded_task_timeout = 2\n"), 0o600)
			stacks[i], errs[i] = stack.Start(ctx, all, stack.Options{
				MetricsListen: net.JoinHostPort(ips[i], "0"),
				DataDir:       dir, HostIP: ips[i], Services: services, ConfigDir: etc,
				DatabaseURL: tmpl, BusURL: externalNATS, BusPrefix: busPrefix, Host: fmt.Sprintf("ctl%d", i),
				Secrets: stack.Secrets{ServicePassword: "svc-pass", MetadataSecret: "replica-secret"},
				Log:     slog.New(slog.DiscardHandler),
			})
		}(i)
	}
	close(gate)
	wg.Wait()
	for _, s := range stacks {
		if s != nil {
			defer s.Stop(context.Background())
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d of %d did not start: %v", i, n, err)
		}
	}
	if t.Failed() {
		return
	}
	// Periodic jobs run in one replica: the stranded sweep every 0.5 s,
	// the revocation pruning once (hourly).
	time.Sleep(2 * time.Second)
	ran := map[string][]float64{}
	for _, s := range stacks {
		for _, job := range []string{"compute.stranded_sweep", "identity.revocation_prune"} {
			ran[job] = append(ran[job], s.Metrics.Sum("tenku_periodic_runs_total", map[string]string{"job": job}))
		}
	}
	for job, per := range ran {
		var holders int
		var total float64
		for _, n := range per {
			total += n
			if n > 0 {
				holders++
			}
		}
		if holders != 1 {
			t.Errorf("%s ran in %d replicas: %v", job, holders, per)
		}
		if job == "identity.revocation_prune" && total != 1 {
			t.Errorf("%s ran %v times in 2 s, want once", job, total)
		}
		if job == "compute.stranded_sweep" && (total < 3 || total > 7) {
			t.Errorf("%s ran %v times in about 2.5 s at 0.5 s", job, total)
		}
	}
	// The seed data exists once, whoever wrote it.
	ndb, err := store.Open(ctx, strings.ReplaceAll(tmpl, "{service}", "nova"))
	if err != nil {
		t.Fatal(err)
	}
	defer ndb.Close()
	if err := compute.EnsureDefaultFlavors(ctx, ndb); err != nil {
		t.Fatal(err)
	}
	gdb, err := store.Open(ctx, strings.ReplaceAll(tmpl, "{service}", "glance"))
	if err != nil {
		t.Fatal(err)
	}
	defer gdb.Close()
	var dup int
	if err := gdb.QueryRow(ctx, "SELECT COUNT(*) FROM (SELECT name FROM metadef_resource_types GROUP BY name HAVING COUNT(*) > 1) x").Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d metadef resource types written twice", dup)
	}
}

package computetest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/stack"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// benchNovaConf sizes the fake hypervisor of the stack's compute agent for
// a thousand servers and lifts the per-host limits of the scheduler.
const benchNovaConf = `[fake_driver]
vcpus = 4096
memory_mb = 4194304
local_gb = 1048576

[filter_scheduler]
max_instances_per_host = 100000
max_io_ops_per_host = 100000
`

// BenchmarkStackBoot is the issue's benchmark on the whole cloud as `tenku
// stack` assembles it — Keystone, Glance, Neutron with its agent, Nova and
// its compute agent on the fake driver, SQLite, the embedded bus — in this
// process: NOVABENCH_SERVERS (1000) servers, each with a port on a /20 of
// the demo project, booted by NOVABENCH_CLIENTS (32) clients through the
// public API with the demo user's token. It prints servers/s to ACTIVE, the
// POST→ACTIVE percentiles, the time from start to serving, and the RSS of
// the process (the stack plus the small load generator) with the servers up:
//
//	go test ./internal/compute/computetest -run '^$' -bench BenchmarkStackBoot -benchtime 1x -timeout 30m
func BenchmarkStackBoot(b *testing.B) {
	for i := 0; i < b.N; i++ {
		stackBoot(b, envInt("NOVABENCH_SERVERS", 1000), envInt("NOVABENCH_CLIENTS", 32))
	}
}

func stackBoot(b *testing.B, servers, clients int) {
	ctx := context.Background()
	confDir := b.TempDir()
	if err := os.WriteFile(filepath.Join(confDir, "nova.conf"), []byte(benchNovaConf), 0o600); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	c := testkit.StartWith(b, testkit.Options{Tweak: func(o *stack.Options) {
		o.ConfigDir = confDir
		// The stack logs to a file; the test kit's in-memory debug log would
		// count in the RSS.
		o.Log = slog.New(logging.Handler(io.Discard, logging.Options{Level: "info"}))
	}})
	ready := time.Since(t0)
	runtime.GC()
	idle := computetest.RSS()

	id := c.Client(b, "admin", "admin", "identity")
	pages, err := projects.List(id, projects.ListOpts{Name: "demo"}).AllPages(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ps, err := projects.ExtractProjects(pages)
	if err != nil || len(ps) != 1 {
		b.Fatalf("demo project: %v %v", ps, err)
	}
	demoID := ps[0].ID
	// Quotas: unlimited servers for demo in Nova, unlimited ports in Neutron.
	nova := c.Client(b, "admin", "admin", "compute")
	if _, err := nova.Put(ctx, nova.ServiceURL("os-quota-sets", demoID), map[string]any{"quota_set": map[string]any{
		"instances": -1, "cores": -1, "ram": -1}}, nil, &gophercloud.RequestOpts{OkCodes: []int{200}}); err != nil {
		b.Fatal(err)
	}
	neutronAdmin := c.Client(b, "admin", "admin", "network")
	if _, err := neutronAdmin.Put(ctx, neutronAdmin.ServiceURL("quotas", demoID), map[string]any{"quota": map[string]any{
		"port": -1}}, nil, &gophercloud.RequestOpts{OkCodes: []int{200}}); err != nil {
		b.Fatal(err)
	}
	// A public image and a network big enough for every port.
	glance := c.Client(b, "admin", "admin", "image")
	pub := images.ImageVisibilityPublic
	im, err := images.Create(ctx, glance, images.CreateOpts{Name: "bench", DiskFormat: "raw", ContainerFormat: "bare", Visibility: &pub}).Extract()
	if err != nil {
		b.Fatal(err)
	}
	if err := imagedata.Upload(ctx, glance, im.ID, bytes.NewReader(make([]byte, 1<<20))).ExtractErr(); err != nil {
		b.Fatal(err)
	}
	neutron := c.Client(b, "demo", "demo", "network")
	nw, err := networks.Create(ctx, neutron, networks.CreateOpts{Name: "bench"}).Extract()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := subnets.Create(ctx, neutron, subnets.CreateOpts{NetworkID: nw.ID, CIDR: "10.200.0.0/20", IPVersion: 4}).Extract(); err != nil {
		b.Fatal(err)
	}
	demo := c.Provider(b, "demo", "demo")
	r, err := computetest.Boot(ctx, computetest.Load{URL: c.URLs["nova"], Token: demo.Token(), ImageID: im.ID, FlavorID: "c1",
		Networks: []map[string]any{{"uuid": nw.ID}}, Servers: servers, Clients: clients, Poll: 100 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("stack novabench: %d servers (cirros256, one port each), %d clients, the whole stack in one process\n", servers, clients)
	fmt.Printf("  stack start to serving: %s, RSS idle: %s\n", ready.Round(time.Millisecond), idle)
	fmt.Printf("  ACTIVE: %d  failed: %d  wall: %s\n", r.Active, r.Failed, r.Wall.Round(time.Millisecond))
	fmt.Printf("  throughput: %.1f servers/s to ACTIVE\n", r.PerSecond)
	fmt.Printf("  POST->ACTIVE: p50 %s  p90 %s  p99 %s  max %s (client poll interval 100ms)\n", r.P50, r.P90, r.P99, r.Max)
	fmt.Printf("  RSS of the process with %d servers: %s\n", r.Active, r.RSS)
	b.ReportMetric(r.PerSecond, "servers/s")
	b.ReportMetric(float64(r.P99.Milliseconds()), "p99-ms")
	if r.Failed > 0 {
		b.Fatalf("%d boots failed; the first: %s", r.Failed, r.FirstError)
	}
}

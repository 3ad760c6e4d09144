package computetest_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/computetest"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkBoot boots servers through the public API (fake driver, fake
// Neutron, SQLite unless NOVABENCH_DB is set) and reports servers/s to
// ACTIVE, POST→ACTIVE percentiles and the process's RSS:
//
//	go test ./internal/compute/computetest -run '^$' -bench BenchmarkBoot -benchtime 1x
//
// NOVABENCH_SERVERS (1000), NOVABENCH_CLIENTS (32) and NOVABENCH_HOSTS (4)
// change the load.
func BenchmarkBoot(b *testing.B) {
	o := computetest.BenchOptions{Servers: envInt("NOVABENCH_SERVERS", 1000), Clients: envInt("NOVABENCH_CLIENTS", 32),
		Hosts: envInt("NOVABENCH_HOSTS", 4), DBURL: os.Getenv("NOVABENCH_DB"), Network: true, Poll: time.Duration(envInt("NOVABENCH_POLL_MS", 100)) * time.Millisecond, Serial: os.Getenv("NOVABENCH_SERIAL") != "",
		NewDriver: func(string) virt.Driver {
			return fake.New(fake.Config{VCPUs: 4096, MemoryMB: 4 << 20, DiskGB: 1 << 20})
		}}
	for i := 0; i < b.N; i++ {
		o.Dir = b.TempDir()
		r, err := computetest.BootBench(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("novabench: %d servers, %d clients, %d hosts, network %v\n", o.Servers, o.Clients, o.Hosts, o.Network)
		fmt.Printf("  startup to first accepted boot: %s\n", r.Startup.Round(time.Millisecond))
		fmt.Printf("  ACTIVE: %d  failed: %d  wall: %s\n", r.Active, r.Failed, r.Wall.Round(time.Millisecond))
		fmt.Printf("  throughput: %.1f servers/s to ACTIVE\n", r.PerSecond)
		fmt.Printf("  POST->ACTIVE: p50 %s  p90 %s  p99 %s  max %s (client poll interval %s)\n", r.P50, r.P90, r.P99, r.Max, o.Poll)
		fmt.Printf("  RSS of the whole process with %d servers: %s\n", r.Active, r.RSS)
		b.ReportMetric(r.PerSecond, "servers/s")
		b.ReportMetric(float64(r.P99.Milliseconds()), "p99-ms")
		if r.Failed > 0 {
			b.Fatalf("%d boots failed", r.Failed)
		}
	}
}

// BenchmarkScheduler1000Hosts times the scheduler worker's decisions over
// 1,000 compute nodes in the database (snapshot refreshes included).
func BenchmarkScheduler1000Hosts(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := computetest.SchedulerBench(context.Background(), b.TempDir(), 1000, 2000)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("scheduler over 1000 hosts, 2000 decisions: p50 %s  p99 %s  max %s (snapshot read from the database: %s)\n", r.P50, r.P99, r.Max, r.Refresh)
		b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
	}
}

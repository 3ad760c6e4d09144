package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/stack/sim"
	"github.com/tenku-cloud/tenku/internal/testkit/loopback"
)

// simRow is one host count's figures.
type simRow struct {
	Hosts        int
	BootRate     float64
	BootP50      time.Duration
	BootP99      time.Duration
	Failed       int
	SchedP99     time.Duration
	SchedCount   uint64
	List         map[int]time.Duration // p50 of GET /servers/detail?limit=1000 by servers in the cloud
	SchedP99Full time.Duration         // with the seeded servers in the cloud
	BootRateFull float64
	Token1       float64
	Token2       float64
	Load1, Load2 string
}

type simFlags struct {
	hosts              []int
	netAgents, clients int
	duration, poll     time.Duration
	servers            []int
	replicas           int
	db, bus, logf      string
	plot               string
	cpuprofile         string
	network            bool
}

func parseSimFlags(args []string) (*simFlags, error) {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	hosts := fs.String("hosts", "10,100,1000", "compute host counts to run, one fresh cloud each")
	servers := fs.String("servers", "10000,100000", "servers in the cloud at which GET /servers/detail?limit=1000 is timed (seeded in the database)")
	f := &simFlags{}
	fs.IntVar(&f.netAgents, "net-agents", 100, "network agents (on the first hosts; capped at the host count)")
	fs.IntVar(&f.clients, "clients", 32, "concurrent boot-and-delete clients")
	fs.DurationVar(&f.duration, "duration", 30*time.Second, "boot-and-delete load per host count")
	fs.DurationVar(&f.poll, "poll", 50*time.Millisecond, "status poll interval of each client")
	fs.IntVar(&f.replicas, "replicas", 1, "control replicas (2 or more need -db and -bus)")
	fs.StringVar(&f.db, "db", "", "database URL template with {service} (empty: SQLite)")
	fs.StringVar(&f.bus, "bus", "", "external NATS URL (empty: embedded)")
	fs.StringVar(&f.logf, "log", "", "file the services' logs go to (empty: discarded)")
	fs.StringVar(&f.plot, "plot", "sim.png", "PNG the scaling plot is written to (empty: none)")
	fs.StringVar(&f.cpuprofile, "cpuprofile", "", "file a CPU profile of the boot loads is written to (go tool pprof)")
	fs.BoolVar(&f.network, "network", true, "boot every server with a Neutron port")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if f.hosts, err = ints(*hosts); err != nil {
		return nil, err
	}
	if f.servers, err = ints(*servers); err != nil {
		return nil, err
	}
	return f, nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// simMain is `go run ./tools/bench sim`: the simulated big cloud of issue 15.
func simMain(args []string) error {
	f, err := parseSimFlags(args)
	if err != nil {
		return err
	}
	fmt.Printf("machine: %d CPUs, load average %s (figures are this machine's; targets are issue 15's)\n", runtime.NumCPU(), loadavg())
	var rows []simRow
	for _, n := range f.hosts {
		r, err := simRun(f, n)
		if err != nil {
			return fmt.Errorf("%d hosts: %w", n, err)
		}
		rows = append(rows, *r)
	}
	printSimTable(rows, f.servers)
	if f.plot != "" {
		if err := writeSimPlot(f.plot, rows, f.servers); err != nil {
			return err
		}
		fmt.Println("plot written to", f.plot)
	}
	return nil
}

// simRun starts one cloud of n hosts and measures it.
func simRun(f *simFlags, n int) (*simRow, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tenku-sim-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var ips []string
	for i := 0; i < f.replicas; i++ {
		ip, err := loopback.Free()
		if err != nil {
			return nil, err
		}
		ips = append(ips, ip)
	}
	log := slog.New(slog.DiscardHandler)
	if f.logf != "" {
		lf, err := os.OpenFile(f.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		defer lf.Close()
		log = slog.New(slog.NewTextHandler(lf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	dbURL := f.db
	if dbURL != "" {
		dbURL = strings.ReplaceAll(dbURL, "{run}", fmt.Sprintf("%d", time.Now().UnixNano()%1e9))
	}
	t0 := time.Now()
	c, err := sim.Start(ctx, sim.Options{Dir: dir, HostIPs: ips, DatabaseURL: dbURL, BusURL: f.bus,
		BusPrefix: fmt.Sprintf("sim%d.", time.Now().UnixNano()%1e9), Hosts: n, NetAgents: min(n, f.netAgents), Log: log})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	fmt.Printf("\n== %d compute hosts, %d network agents, %d control replica(s): started in %.1f s\n", n, min(n, f.netAgents), f.replicas, time.Since(t0).Seconds())
	t, err := c.Prepare(ctx, f.network)
	if err != nil {
		return nil, err
	}
	row := &simRow{Hosts: n, List: map[int]time.Duration{}, Load1: loadavg()}
	before := c.Histograms()
	if f.cpuprofile != "" {
		pf, err := os.Create(fmt.Sprintf("%s.%d", f.cpuprofile, n))
		if err != nil {
			return nil, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return nil, err
		}
	}
	b := c.BootLoad(ctx, t, f.clients, f.duration, f.poll)
	if f.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	after := c.Histograms()
	h := after["scheduler decision"].Since(before["scheduler decision"])
	row.BootRate, row.BootP50, row.BootP99, row.Failed = b.PerSecond, b.P50, b.P99, b.Failed
	row.SchedP99, row.SchedCount = h.Quantile(0.99), h.Count
	report(fmt.Sprintf("boots ACTIVE (%d clients, %s)", f.clients, f.duration), float64(b.Active), "servers", "-")
	report("boot rate to ACTIVE", b.PerSecond, "/s", ">= 200/s")
	report("POST->ACTIVE p50", ms(b.P50), "ms", "-")
	report("POST->ACTIVE p99", ms(b.P99), "ms", "< 2000 ms")
	report("boots failed", float64(b.Failed), "", "0")
	if b.FirstError != "" {
		fmt.Println("  first failure:", b.FirstError)
	}
	report(fmt.Sprintf("scheduler decision p99 (%d decisions)", h.Count), ms(h.Quantile(0.99)), "ms", "< 5 ms")
	report("scheduler decision p50", ms(h.Quantile(0.5)), "ms", "-")
	printPhases(before, after)
	if d, err := c.SnapshotRead(ctx); err == nil {
		report("scheduler host view read from the database", ms(d), "ms", "- (every 2 s)")
	}
	for _, s := range f.servers {
		t1 := time.Now()
		have, err := c.Seed(ctx, t, s)
		if err != nil {
			return nil, fmt.Errorf("seed %d servers: %w", s, err)
		}
		seeded := time.Since(t1)
		p50, p99, err := c.ListDetail(ctx, t, 1000, 5*time.Second)
		if err != nil {
			return nil, err
		}
		row.List[s] = p50
		report(fmt.Sprintf("GET /servers/detail?limit=1000, %d servers p50", have), ms(p50), "ms", "< 100 ms")
		report(fmt.Sprintf("GET /servers/detail?limit=1000, %d servers p99", have), ms(p99), "ms", "-")
		fmt.Printf("  (seeded in the database in %.1f s)\n", seeded.Seconds())
		if d, err := c.SnapshotRead(ctx); err == nil {
			report(fmt.Sprintf("scheduler host view read, %d servers", have), ms(d), "ms", "- (every 2 s)")
		}
	}
	if len(f.servers) > 0 {
		// The boot load again, among the seeded servers.
		before := c.SchedulerHistogram()
		b := c.BootLoad(ctx, t, f.clients, f.duration/2, f.poll)
		h := c.SchedulerHistogram().Since(before)
		row.SchedP99Full = h.Quantile(0.99)
		row.BootRateFull = b.PerSecond
		top := f.servers[len(f.servers)-1]
		report(fmt.Sprintf("boot rate among %d seeded servers", top), b.PerSecond, "/s", ">= 200/s")
		report(fmt.Sprintf("POST->ACTIVE p99 among %d seeded servers", top), ms(b.P99), "ms", "< 2000 ms")
		report(fmt.Sprintf("scheduler p99 among %d seeded servers", top), ms(h.Quantile(0.99)), "ms", "< 5 ms")
	}
	rate, p99, err := c.TokenValidation(ctx, t, 1, f.clients, 5*time.Second)
	if err != nil {
		return nil, err
	}
	row.Token1 = rate
	report("token validations, 1 replica", rate, "/s", "-")
	report("token validation p99, 1 replica", ms(p99), "ms", "-")
	if f.replicas > 1 {
		rate, p99, err := c.TokenValidation(ctx, t, 2, f.clients, 5*time.Second)
		if err != nil {
			return nil, err
		}
		row.Token2 = rate
		report("token validations, 2 replicas", rate, "/s", "> 1 replica's")
		report("token validation p99, 2 replicas", ms(p99), "ms", "-")
	}
	row.Load2 = loadavg()
	fmt.Println("  load average at the end:", row.Load2)
	return row, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func printSimTable(rows []simRow, servers []int) {
	fmt.Println("\nscaling (targets: boot >= 200/s, p99 < 2000 ms, scheduler p99 < 5 ms, list < 100 ms)")
	head := fmt.Sprintf("%6s %9s %9s %9s %7s %10s", "hosts", "boot/s", "p50 ms", "p99 ms", "failed", "sched p99")
	for _, s := range servers {
		head += fmt.Sprintf(" %12s", fmt.Sprintf("list@%dk ms", s/1000))
	}
	head += fmt.Sprintf(" %10s %10s %14s", "token/s 1", "token/s 2", "load avg")
	fmt.Println(head)
	for _, r := range rows {
		line := fmt.Sprintf("%6d %9.1f %9.0f %9.0f %7d %10.2f", r.Hosts, r.BootRate, ms(r.BootP50), ms(r.BootP99), r.Failed, ms(r.SchedP99))
		for _, s := range servers {
			line += fmt.Sprintf(" %12.1f", ms(r.List[s]))
		}
		t2 := "-"
		if r.Token2 > 0 {
			t2 = fmt.Sprintf("%.0f", r.Token2)
		}
		line += fmt.Sprintf(" %10.0f %10s %14s", r.Token1, t2, r.Load2)
		fmt.Println(line)
	}
}

// printPhases prints where a boot's time went during the load: the API,
// the scheduler call and the agents' build phases, from the metrics.
func printPhases(before, after map[string]sim.Histogram) {
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h := after[n].Since(before[n])
		if h.Count == 0 || n == "scheduler decision" {
			continue
		}
		fmt.Printf("  %-36s p50 %8.1f ms  p99 %8.1f ms  (%d)\n", n, ms(h.Quantile(0.5)), ms(h.Quantile(0.99)), h.Count)
	}
}

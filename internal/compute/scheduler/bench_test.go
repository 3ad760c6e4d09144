package scheduler

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// benchHosts simulates n compute nodes of a mixed cloud: three zones, some
// hosts disabled or down, aggregates with metadata, traits, capabilities,
// tens of instances each, a few recent build failures.
func benchHosts(n int) []HostState {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	zones := []Aggregate{
		{ID: "1", Name: "az1", Metadata: map[string]string{"availability_zone": "az1"}},
		{ID: "2", Name: "az2", Metadata: map[string]string{"availability_zone": "az2"}},
		{ID: "3", Name: "az3", Metadata: map[string]string{"availability_zone": "az3"}},
	}
	ssd := Aggregate{ID: "4", Name: "ssd", Metadata: map[string]string{"ssd": "true", "disk_weight_multiplier": "2.0"}}
	traits := []string{"HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "COMPUTE_NET_VIF_MODEL_VIRTIO",
		"COMPUTE_VOLUME_EXTEND", "COMPUTE_IMAGE_TYPE_QCOW2", "COMPUTE_IMAGE_TYPE_RAW", "COMPUTE_STATUS_ENABLED"}
	hosts := make([]HostState, n)
	for i := range hosts {
		name := fmt.Sprintf("compute-%04d", i)
		vcpus := 32 + 16*r.IntN(3)
		ram := (128 + 128*r.IntN(4)) * 1024
		disk := 1000 + 1000*r.IntN(4)
		ninst := r.IntN(40)
		ids := make([]string, ninst)
		for k := range ids {
			ids[k] = fmt.Sprintf("%s-inst-%02d", name, k)
		}
		aggs := []Aggregate{zones[i%3]}
		if i%4 == 0 {
			aggs = append(aggs, ssd)
		}
		hosts[i] = HostState{
			Host:               name,
			Node:               name,
			NodeUUID:           fmt.Sprintf("00000000-0000-0000-0000-%012d", i),
			ServiceDisabled:    i%50 == 7,
			ServiceUp:          i%97 != 3,
			Aggregates:         aggs,
			VCPUs:              vcpus,
			VCPUsUsed:          r.IntN(vcpus * 3),
			MemoryMB:           ram,
			MemoryMBUsed:       r.IntN(ram - 512),
			ReservedMemoryMB:   512,
			DiskGB:             disk,
			DiskGBUsed:         r.IntN(disk),
			NumInstances:       ninst,
			IOOps:              r.IntN(4),
			InstanceIDs:        ids,
			FailedBuilds:       max(0, r.IntN(40)-37),
			HypervisorType:     "QEMU",
			HypervisorVersion:  7002000 + r.IntN(3)*1000,
			HypervisorHostname: name,
			SupportedInstances: []SupportedInstance{{Arch: "x86_64", HVType: "qemu", VMMode: "hvm"}, {Arch: "i686", HVType: "qemu", VMMode: "hvm"}},
			Traits:             traits[:4+r.IntN(len(traits)-3)],
			Capabilities:       map[string]string{"cpu_info:arch": "x86_64", "cpu_info:vendor": "Intel"},
		}
	}
	return hosts
}

// benchSpec is a typical boot: a flavor with extra specs, an image with an
// architecture, any zone.
func benchSpec() *RequestSpec {
	return &RequestSpec{
		ProjectID: "p1",
		Flavor: Flavor{VCPUs: 4, MemoryMB: 8192, RootGB: 40, ExtraSpecs: map[string]string{
			"hw:cpu_policy":              "shared",
			"capabilities:cpu_info:arch": "x86_64",
			"trait:HW_CPU_X86_AVX2":      "required",
		}},
		ImageProperties: map[string]string{"hw_architecture": "x86_64", "hw_disk_bus": "virtio"},
	}
}

// BenchmarkSelect1000Hosts measures one scheduling decision over 1,000
// simulated hosts and reports the latency percentiles per decision.
func BenchmarkSelect1000Hosts(b *testing.B) {
	hosts := benchHosts(1000)
	anti := benchSpec()
	var members []string
	for i := 0; i < 1000; i += 10 {
		members = append(members, hosts[i].InstanceIDs...)
	}
	anti.Group = &ServerGroup{ID: "g", Policy: PolicyAntiAffinity, Members: members}
	soft := benchSpec()
	soft.Group = &ServerGroup{ID: "g", Policy: PolicySoftAntiAffinity, Members: members}
	zoned := benchSpec()
	zoned.AvailabilityZone = "az2"

	cases := []struct {
		name string
		spec *RequestSpec
		n    int
	}{
		{"boot", benchSpec(), 1},
		{"boot-in-zone", zoned, 1},
		{"multi-create-10", benchSpec(), 10},
		{"anti-affinity-10", anti, 10},
		{"soft-anti-affinity-10", soft, 10},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := newScheduler(b, func(cfg *Config) { cfg.HostSubsetSize = 2 }, Deps{Rand: rand.New(rand.NewPCG(1, 1))})
			// Wall time per decision, and the CPU time of this thread: on a
			// shared machine the first includes waiting for a CPU.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			wall := make([]time.Duration, 0, 1<<16)
			cpu := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				c0, cpuOK := threadCPUTime()
				start := time.Now()
				if _, err := s.Select(hosts, c.spec, c.n); err != nil {
					b.Fatal(err)
				}
				wall = append(wall, time.Since(start))
				if c1, ok := threadCPUTime(); ok && cpuOK {
					cpu = append(cpu, c1-c0)
				}
			}
			report := func(d []time.Duration, unit string) {
				if len(d) == 0 {
					return
				}
				slices.Sort(d)
				pct := func(p float64) float64 {
					return float64(d[int(p*float64(len(d)-1))].Nanoseconds()) / 1e3
				}
				b.ReportMetric(pct(0.50), "p50-"+unit)
				b.ReportMetric(pct(0.99), "p99-"+unit)
			}
			report(wall, "µs")
			report(cpu, "cpu-µs")
		})
	}
}

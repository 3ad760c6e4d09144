package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on
// every Linux tenku runs on).
const clockTick = 10 * time.Millisecond

// procCPU returns the user plus system CPU time process pid (all its
// threads) has used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it
	// start after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad CPU times", pid)
	}
	return time.Duration(ut+st) * clockTick, nil
}

// selfCPU returns the CPU time this process (the load generator) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter samples the CPU time of named processes (and of the bench
// itself) around one load, so a rate comes with what each op cost each
// process: on a shared machine throughput alone says little about who
// spent the cores.
type cpuMeter struct {
	names []string
	pids  []int
	start []time.Duration
	self  time.Duration
}

func newCPUMeter() *cpuMeter { return &cpuMeter{} }

// add names a process to sample.
func (m *cpuMeter) add(name string, pid int) *cpuMeter {
	m.names = append(m.names, name)
	m.pids = append(m.pids, pid)
	return m
}

// begin takes the first sample.
func (m *cpuMeter) begin() {
	m.start = m.start[:0]
	for _, pid := range m.pids {
		t, _ := procCPU(pid)
		m.start = append(m.start, t)
	}
	m.self = selfCPU()
}

// report prints each process's CPU per op over the ops done since begin,
// then the machine share the processes took over elapsed, and returns the
// CPU per op by process name ("bench" for this process).
func (m *cpuMeter) report(what string, ops int, elapsed time.Duration) map[string]time.Duration {
	per := map[string]time.Duration{}
	if ops == 0 {
		return per
	}
	var total time.Duration
	for i, pid := range m.pids {
		t, err := procCPU(pid)
		if err != nil {
			continue
		}
		d := t - m.start[i]
		total += d
		per[m.names[i]] = d / time.Duration(ops)
		report(fmt.Sprintf("  ... %s CPU per %s", m.names[i], what), float64(d.Microseconds())/float64(ops), "µs", "-")
	}
	self := selfCPU() - m.self
	total += self
	per["bench"] = self / time.Duration(ops)
	report(fmt.Sprintf("  ... bench client CPU per %s", what), float64(self.Microseconds())/float64(ops), "µs", "-")
	report("  ... cores used (all of the above)", total.Seconds()/elapsed.Seconds(), "cores", "-")
	return per
}

// loadAverage is the machine's 1-minute load average: the bench's rates
// mean little when other work shares the cores.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

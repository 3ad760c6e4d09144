package qemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/qmp"
)

var _ virt.Diagnostician = (*Driver)(nil)

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// Diagnostics reports a guest as Nova's libvirt driver does (2.48's
// fields), measured: each vCPU's time from its QEMU thread
// (query-cpus-fast, then /proc), each disk's counters (query-blockstats),
// each NIC's from its tap as the guest sees them (the tap's tx is the
// guest's rx), the balloon's size when the guest has one (query-balloon),
// the configured memory otherwise. A stopped guest reports its devices
// with no counters.
func (d *Driver) Diagnostics(ctx context.Context, ref virt.Ref) (virt.Diagnostics, error) {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return virt.Diagnostics{}, err
	}
	info := d.info(ctx, g)
	d.mu.Lock()
	rec := g.rec
	p, c := g.proc, g.qmp
	d.mu.Unlock()
	di := virt.Diagnostics{State: info.Power.String(), Driver: "libvirt", Hypervisor: "qemu", Uptime: int(info.Uptime.Seconds()),
		NumCPUs: rec.VCPUs, MemoryMB: rec.MemoryMB, NumNICs: len(rec.Taps)}
	if rec.Accel == "kvm" {
		di.Hypervisor = "kvm"
	}
	for _, a := range rec.Args {
		if strings.HasPrefix(a, "ide-cd,") {
			di.ConfigDrive = true
		}
	}
	di.NumDisks = len(rec.Disks) + len(rec.Volumes)
	if di.ConfigDrive {
		di.NumDisks++
	}
	for _, t := range rec.Taps {
		di.NICMACs = append(di.NICMACs, t.GuestMAC)
		di.NICs = append(di.NICs, tapStats(t.Name, t.GuestMAC))
	}
	if c == nil || p == nil || !p.Alive() {
		return di, nil
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if cpus, err := vcpuTimes(qctx, c, p.PID); err == nil {
		di.CPUs = cpus
	} else {
		d.log.Debug("diagnostics: vCPU times", "instance_id", ref.UUID, "err", err)
	}
	if disks, err := blockStats(qctx, c); err == nil {
		di.Disks, di.NumDisks = disks, len(disks)
	} else {
		d.log.Debug("diagnostics: block stats", "instance_id", ref.UUID, "err", err)
	}
	var bal struct {
		Actual int64 `json:"actual"`
	}
	// no balloon device is an error: the guest has its configured memory
	if err := c.Run(qctx, "query-balloon", nil, &bal); err == nil && bal.Actual > 0 {
		di.MemoryUsedMB = int(bal.Actual >> 20)
	}
	return di, nil
}

// vcpuTimes reads each vCPU thread's user and system time.
func vcpuTimes(ctx context.Context, c *qmp.Client, pid int) ([]virt.CPUStat, error) {
	var cpus []struct {
		Index  int `json:"cpu-index"`
		Thread int `json:"thread-id"`
	}
	if err := c.Run(ctx, "query-cpus-fast", nil, &cpus); err != nil {
		return nil, err
	}
	out := make([]virt.CPUStat, 0, len(cpus))
	for _, cpu := range cpus {
		ticks, err := threadTicks(pid, cpu.Thread)
		if err != nil {
			return nil, err
		}
		out = append(out, virt.CPUStat{ID: cpu.Index, Time: ticks * int64(clockTick)})
	}
	return out, nil
}

// threadTicks is a thread's utime + stime from /proc/<pid>/task/<tid>/stat.
func threadTicks(pid, tid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	// the command may hold spaces and parentheses: fields start after the last ')'
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("thread %d: unreadable stat", tid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15
	if len(f) < 13 {
		return 0, fmt.Errorf("thread %d: short stat", tid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("thread %d: bad stat times", tid)
	}
	return u + st, nil
}

// blockStats are the counters of the guest's disk devices (a block backend
// without a device, a detached volume's node, is not a disk of the guest).
func blockStats(ctx context.Context, c *qmp.Client) ([]virt.DiskStat, error) {
	var devs []struct {
		Device string `json:"device"`
		QDev   string `json:"qdev"`
		Stats  struct {
			RdBytes  int64 `json:"rd_bytes"`
			RdOps    int64 `json:"rd_operations"`
			WrBytes  int64 `json:"wr_bytes"`
			WrOps    int64 `json:"wr_operations"`
			FailedRd int64 `json:"failed_rd_operations"`
			FailedWr int64 `json:"failed_wr_operations"`
		} `json:"stats"`
	}
	if err := c.Run(ctx, "query-blockstats", nil, &devs); err != nil {
		return nil, err
	}
	out := []virt.DiskStat{}
	for _, b := range devs {
		if b.QDev == "" && b.Device == "" {
			continue
		}
		out = append(out, virt.DiskStat{ReadBytes: b.Stats.RdBytes, ReadRequests: b.Stats.RdOps, WriteBytes: b.Stats.WrBytes,
			WriteRequests: b.Stats.WrOps, Errors: b.Stats.FailedRd + b.Stats.FailedWr})
	}
	return out, nil
}

// tapStats reads a tap's counters, turned to the guest's side.
func tapStats(tap, mac string) virt.NICStat {
	n := virt.NICStat{MAC: mac}
	read := func(name string) int64 {
		b, err := os.ReadFile(filepath.Join("/sys/class/net", tap, "statistics", name))
		if err != nil {
			return 0
		}
		v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return v
	}
	n.RxOctets, n.RxPackets, n.RxErrors, n.RxDrop = read("tx_bytes"), read("tx_packets"), read("tx_errors"), read("tx_dropped")
	n.TxOctets, n.TxPackets, n.TxErrors, n.TxDrop = read("rx_bytes"), read("rx_packets"), read("rx_errors"), read("rx_dropped")
	return n
}

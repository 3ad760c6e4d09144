package qemu

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/qmp"
)

// PCIe hot-plug on the q35 machine, as libvirt lays out a q35 guest for
// Nova: devices on the PCIe root complex (pcie.0) cannot be unplugged, so
// a q35 guest gets PCIe root ports (pcie-root-port, ids hp0, hp1, ...),
// [libvirt] num_pcie_ports of them, or one per boot-time NIC and volume
// plus 8 free ones when that is 0. Each boot-time NIC and volume sits on a
// port of its own, so it can be detached; a hot-plugged NIC or volume goes
// on the first port QEMU shows empty (query-pci), and the record keeps the
// port (Slot, with PCIe set) so the next start puts it there again. QEMU
// hot-plugs into the root ports with ACPI PCI hot-plug, as on pc.

// maxPCIePorts is Nova's bound on num_pcie_ports.
const maxPCIePorts = 28

func isQ35(machine string) bool {
	return machine == "q35" || strings.HasPrefix(machine, "pc-q35")
}

// rootPorts is how many root ports a q35 guest of spec gets.
func (d *Driver) rootPorts(spec *virt.Spec) int {
	if d.cfg.NumPCIePorts > 0 {
		return d.cfg.NumPCIePorts
	}
	n := len(spec.NICs) + 8
	for _, dk := range spec.Disks {
		if dk.Kind == virt.DiskVolume {
			n++
		}
	}
	return min(n, maxPCIePorts)
}

// rootPort is the id of the i-th root port.
func rootPort(i int) string { return "hp" + strconv.Itoa(i) }

// rootPortBus puts a device on the i-th root port (command-line form).
func rootPortBus(i int) string { return ",bus=" + rootPort(i) + ",addr=0x0" }

// rootPortArgs are the root ports' devices, each on its own chassis.
func rootPortArgs(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, "-device", fmt.Sprintf("pcie-root-port,id=%s,bus=pcie.0,chassis=%d", rootPort(i), i+1))
	}
	return out
}

// freeRootPort is the first of the guest's n root ports with no device
// behind it.
func freeRootPort(ctx context.Context, c *qmp.Client, n int) (int, error) {
	var buses []struct {
		Devices []struct {
			QdevID string `json:"qdev_id"`
			Bridge *struct {
				Devices []json0 `json:"devices"`
			} `json:"pci_bridge"`
		} `json:"devices"`
	}
	if err := c.Run(ctx, "query-pci", nil, &buses); err != nil {
		return -1, err
	}
	used := make([]bool, n)
	seen := make([]bool, n)
	for _, b := range buses {
		for _, dv := range b.Devices {
			i, err := strconv.Atoi(strings.TrimPrefix(dv.QdevID, "hp"))
			if !strings.HasPrefix(dv.QdevID, "hp") || err != nil || i < 0 || i >= n {
				continue
			}
			seen[i] = true
			used[i] = dv.Bridge != nil && len(dv.Bridge.Devices) > 0
		}
	}
	for i := 0; i < n; i++ {
		if seen[i] && !used[i] {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no free PCIe root port for a hot-plug: all %d are in use ([libvirt] num_pcie_ports)", n)
}

// json0 is a device behind a bridge, only counted.
type json0 struct {
	QdevID string `json:"qdev_id"`
}

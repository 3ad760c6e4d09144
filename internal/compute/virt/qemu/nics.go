package qemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/linux/qmp"
)

// Interface hot-plug: the port's tap is made as a boot-time NIC's is
// (tapFor: tap<port[:11]>, the port's MAC with fe first, the network's MTU,
// on the bridge the binding names), then QEMU opens it (netdev_add tap)
// and a virtio-net-pci device with the port's MAC goes on it (device_add).
// Detach unplugs the device as a volume's is (device_del, DEVICE_DELETED),
// removes the netdev and deletes the tap, as os-vif's linux_bridge unplug
// does. guest.json keeps a hot-plugged NIC (its tap with the boot-time
// ones, so every start makes it and a destroy deletes it) and the PCI slot
// it got; a boot-time NIC that is detached leaves the command line.

// hotNIC is a hot-plugged NIC as the guest's record keeps it.
type hotNIC struct {
	NIC virt.NIC `json:"nic"`
	Tap string   `json:"tap"`
	// Netdev and Device are the ids of its netdev and virtio-net device.
	Netdev string `json:"netdev"`
	Device string `json:"device"`
	// Slot is the PCI slot QEMU gave the device (-1 unknown).
	Slot int `json:"slot"`
	// PCIe says Slot is the PCIe root port (hp<Slot>) of a q35 guest.
	PCIe bool `json:"pcie,omitempty"`
}

var _ virt.InterfaceAttacher = (*Driver)(nil)

// tapFor is the host side of a NIC, the same at boot and at hot-plug.
func tapFor(n virt.NIC) netdev.Tap {
	t := netdev.Tap{Name: n.Tap, MTU: n.MTU, GuestMAC: n.MAC, Bridge: n.Bridge}
	if t.Name == "" {
		t.Name = netapi.TapName(n.PortID)
	}
	if t.Bridge == "" && n.NetworkID != "" {
		t.Bridge = netapi.BridgeName(n.NetworkID)
	}
	return t
}

func newHotNIC(n virt.NIC) (hotNIC, error) {
	if n.PortID == "" {
		return hotNIC{}, errors.New("interface has no port id")
	}
	if _, err := net.ParseMAC(n.MAC); err != nil {
		return hotNIC{}, fmt.Errorf("port %s: bad MAC %q", n.PortID, n.MAC)
	}
	id := qdevID(n.PortID)
	return hotNIC{NIC: n, Tap: tapFor(n).Name, Netdev: "hostnet-" + id, Device: "net-" + id, Slot: -1}, nil
}

// args are the NIC's command-line arguments on a later start.
func (h hotNIC) args() []string {
	dev := "virtio-net-pci,netdev=" + h.Netdev + ",mac=" + h.NIC.MAC + ",id=" + h.Device
	if h.NIC.MTU > 0 {
		dev += ",host_mtu=" + strconv.Itoa(h.NIC.MTU)
	}
	switch {
	case h.PCIe:
		dev += rootPortBus(h.Slot)
	case h.Slot >= 0:
		dev += ",bus=pci.0,addr=0x" + strconv.FormatInt(int64(h.Slot), 16)
	}
	return []string{"-netdev", "tap,id=" + h.Netdev + ",ifname=" + h.Tap + ",script=no,downscript=no", "-device", dev}
}

// nicArgs are the command-line arguments of every hot-plugged NIC.
func nicArgs(rec *record) []string {
	var out []string
	for _, h := range rec.NICs {
		out = append(out, h.args()...)
	}
	return out
}

func findNIC(rec *record, n virt.NIC) int {
	tap := tapFor(n).Name
	for i, h := range rec.NICs {
		if (n.PortID != "" && h.NIC.PortID == n.PortID) || h.Tap == tap {
			return i
		}
	}
	return -1
}

// bootNIC finds a NIC of the command line by its tap: the ids of its
// netdev and device, and the indexes of their four arguments.
func bootNIC(rec *record, tap string) (netdevID, deviceID string, at []int, ok bool) {
	for i := 0; i+1 < len(rec.Args); i++ {
		if rec.Args[i] != "-netdev" || !strings.Contains(","+rec.Args[i+1]+",", ",ifname="+tap+",") {
			continue
		}
		netdevID = optValue(rec.Args[i+1], "id")
		for j := 0; j+1 < len(rec.Args); j++ {
			if rec.Args[j] == "-device" && optValue(rec.Args[j+1], "netdev") == netdevID {
				return netdevID, optValue(rec.Args[j+1], "id"), []int{i, i + 1, j, j + 1}, true
			}
		}
	}
	return "", "", nil, false
}

// optValue is key's value in a QEMU option string ("a,key=v,b=w").
func optValue(opts, key string) string {
	for _, kv := range strings.Split(opts, ",") {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// AttachInterface plugs a port into a running guest, or records it for the
// next start of a stopped one. A port already attached stays as it is.
func (d *Driver) AttachInterface(ctx context.Context, ref virt.Ref, n virt.NIC) error {
	h, err := newHotNIC(n)
	if err != nil {
		return err
	}
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d.mu.Lock()
	suspended, i := g.rec.Suspended, findNIC(&g.rec, n)
	if i >= 0 {
		h = g.rec.NICs[i]
	}
	_, _, _, atBoot := bootNIC(&g.rec, h.Tap)
	d.mu.Unlock()
	if atBoot {
		return nil // on the command line since the guest was built
	}
	if suspended {
		return fmt.Errorf("instance %s is suspended: its saved state has no such device (resume it first)", ref.UUID)
	}
	tap := tapFor(n)
	if p, c := d.running(g); p != nil {
		if c == nil {
			return fmt.Errorf("instance %s: no monitor connection to plug an interface in", ref.UUID)
		}
		d.netMu.Lock()
		err := d.net.AddTap(ctx, tap)
		d.netMu.Unlock()
		if err != nil {
			return fmt.Errorf("tap %s: %w", tap.Name, err)
		}
		if g.rec.RootPorts > 0 && !h.PCIe {
			port, err := freeRootPort(ctx, c, g.rec.RootPorts)
			if err != nil {
				return fmt.Errorf("attaching port %s: %w", n.PortID, err)
			}
			h.PCIe, h.Slot = true, port
		}
		slot, err := plugNIC(ctx, c, h)
		if err != nil {
			if i < 0 {
				d.removeTap(context.WithoutCancel(ctx), ref, tap)
			}
			return fmt.Errorf("attaching port %s: %w", n.PortID, err)
		}
		if i >= 0 && h.Slot == slot {
			return nil
		}
		h.Slot = slot
	} else if i >= 0 {
		return nil
	}
	d.mu.Lock()
	if j := findNIC(&g.rec, n); j >= 0 {
		g.rec.NICs[j] = h
	} else {
		g.rec.NICs = append(g.rec.NICs, h)
	}
	if !slices.ContainsFunc(g.rec.Taps, func(t netdev.Tap) bool { return t.Name == tap.Name }) {
		g.rec.Taps = append(g.rec.Taps, tap)
	}
	d.mu.Unlock()
	if err := d.writeRecord(g); err != nil {
		return err
	}
	d.log.Info("interface attached", "instance_id", ref.UUID, "port_id", n.PortID, "tap", tap.Name, "device", h.Device)
	return nil
}

// plugNIC opens the tap in QEMU and adds the device on it; a device already
// there is left alone.
func plugNIC(ctx context.Context, c *qmp.Client, h hotNIC) (int, error) {
	present, err := hasDevice(ctx, c, h.Device)
	if err != nil {
		return -1, err
	}
	if !present {
		_, err := c.Execute(ctx, "netdev_add", map[string]any{"type": "tap", "id": h.Netdev, "ifname": h.Tap, "script": "no", "downscript": "no"})
		if err != nil {
			var qe *qmp.Error
			if !errors.As(err, &qe) || !strings.Contains(qe.Desc, "Duplicate") {
				return -1, err
			}
		}
		dev := map[string]any{"driver": "virtio-net-pci", "id": h.Device, "netdev": h.Netdev, "mac": h.NIC.MAC}
		if h.NIC.MTU > 0 {
			dev["host_mtu"] = h.NIC.MTU
		}
		if h.PCIe {
			dev["bus"] = rootPort(h.Slot)
		}
		if _, err := c.Execute(ctx, "device_add", dev); err != nil {
			c.Execute(context.WithoutCancel(ctx), "netdev_del", map[string]any{"id": h.Netdev})
			return -1, err
		}
	}
	if h.PCIe {
		return h.Slot, nil
	}
	return pciSlot(ctx, c, h.Device), nil
}

// DetachInterface unplugs a port from a running guest (the guest must
// release it) and deletes its tap, or forgets it for a stopped guest. A
// port that is not attached is not an error.
func (d *Driver) DetachInterface(ctx context.Context, ref virt.Ref, n virt.NIC) error {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	tap := tapFor(n).Name
	d.mu.Lock()
	i := findNIC(&g.rec, n)
	var netdevID, deviceID string
	var at []int
	if i >= 0 {
		netdevID, deviceID, tap = g.rec.NICs[i].Netdev, g.rec.NICs[i].Device, g.rec.NICs[i].Tap
	} else if nd, dv, idx, ok := bootNIC(&g.rec, tap); ok {
		netdevID, deviceID, at = nd, dv, idx
	}
	suspended := g.rec.Suspended
	d.mu.Unlock()
	if deviceID == "" {
		return nil
	}
	if suspended {
		return fmt.Errorf("instance %s is suspended: its saved state holds the device (resume it first)", ref.UUID)
	}
	if p, c := d.running(g); p != nil {
		if c == nil {
			return fmt.Errorf("instance %s: no monitor connection to unplug an interface", ref.UUID)
		}
		if err := unplug(ctx, c, deviceID, d.cfg.DeviceDetachAttempts, d.cfg.DeviceDetachTimeout); err != nil {
			return fmt.Errorf("detaching port %s: %w", n.PortID, err)
		}
		if _, err := c.Execute(ctx, "netdev_del", map[string]any{"id": netdevID}); err != nil && !notFound(err) {
			return fmt.Errorf("detaching port %s: %w", n.PortID, err)
		}
	}
	d.mu.Lock()
	if j := findNIC(&g.rec, n); j >= 0 {
		g.rec.NICs = slices.Delete(slices.Clone(g.rec.NICs), j, j+1)
	} else if len(at) == 4 {
		args := slices.Clone(g.rec.Args)
		slices.Sort(at)
		for k := len(at) - 1; k >= 0; k-- {
			args = slices.Delete(args, at[k], at[k]+1)
		}
		g.rec.Args = args
	}
	gone := netdev.Tap{Name: tap}
	if k := slices.IndexFunc(g.rec.Taps, func(t netdev.Tap) bool { return t.Name == tap }); k >= 0 {
		gone = g.rec.Taps[k]
		g.rec.Taps = slices.Delete(slices.Clone(g.rec.Taps), k, k+1)
	}
	d.mu.Unlock()
	if err := d.writeRecord(g); err != nil {
		return err
	}
	d.removeTap(ctx, ref, gone)
	d.log.Info("interface detached", "instance_id", ref.UUID, "port_id", n.PortID, "tap", tap, "device", deviceID)
	return nil
}

// removeTap deletes an unplugged interface's tap, and its bridge when
// nothing else is left on it, as a destroy does; a failure is logged (the
// next destroy of the guest does not know the tap any more).
func (d *Driver) removeTap(ctx context.Context, ref virt.Ref, t netdev.Tap) {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	if err := d.net.DeleteTap(ctx, t.Name); err != nil {
		d.log.Warn("deleting a detached interface's tap", "instance_id", ref.UUID, "tap", t.Name, "err", err)
		return
	}
	if t.Bridge != "" {
		if err := d.net.DeleteBridgeIfEmpty(ctx, t.Bridge); err != nil {
			d.log.Warn("deleting a detached interface's empty bridge", "instance_id", ref.UUID, "bridge", t.Bridge, "err", err)
		}
	}
}

package qemu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/qmp"
)

// Volume hot-plug, as Nova's libvirt driver does it with QEMU underneath:
// a block node (blockdev-add of the volume's file, raw or qcow2) and a
// virtio-blk-pci device on it whose serial is the volume id cut to the 20
// bytes virtio-blk carries (what the guest sees in /sys/block/vdX/serial
// and /dev/disk/by-id/virtio-<serial>). Unplugging asks the guest to
// release the device (device_del), waits for QEMU's DEVICE_DELETED, asks
// again as Nova does ([libvirt] device_detach_attempts and
// device_detach_timeout), then removes the block node.
//
// Every attached volume is in the guest's record, so a later start (power
// on, hard reboot, an agent that restarted) puts it back on the command
// line, in the PCI slot it was given when it was plugged in, which a saved
// suspend state needs.

// serialBytes is how much of a serial virtio-blk gives the guest.
const serialBytes = 20

// volume is an attached volume as the guest's record keeps it.
type volume struct {
	Disk virt.Disk `json:"disk"`
	// Device is the qdev id of its virtio-blk device, Node its block node.
	Device string `json:"device"`
	Node   string `json:"node"`
	// Slot is the PCI slot QEMU gave the hot-plugged device (-1 unknown).
	Slot int `json:"slot"`
	// BootIndex is the device's bootindex (0: none), for a guest booted
	// from a volume by its firmware.
	BootIndex int `json:"bootindex,omitempty"`
	// PCIe says Slot is the PCIe root port (hp<Slot>) of a q35 guest.
	PCIe bool `json:"pcie,omitempty"`
}

var (
	_ virt.VolumeAttacher = (*Driver)(nil)
)

// volumeKey names a volume: its id, which the agent passes as the serial.
func volumeKey(d virt.Disk) string {
	if d.Serial != "" {
		return d.Serial
	}
	return d.Path
}

// newVolume names the device and node of a volume disk.
func newVolume(d virt.Disk) (volume, error) {
	key := volumeKey(d)
	if key == "" {
		return volume{}, errors.New("volume has neither an id (serial) nor a path")
	}
	if d.Path == "" {
		return volume{}, fmt.Errorf("volume %s: no file to attach (connection %v)", key, d.Connection)
	}
	switch d.Bus {
	case "", "virtio":
	default:
		return volume{}, fmt.Errorf("volume %s: disk bus %q does not hot-plug on this driver (virtio does)", key, d.Bus)
	}
	switch format(d) {
	case "raw", "qcow2":
	default:
		return volume{}, fmt.Errorf("volume %s: format %q not supported (raw, qcow2)", key, d.Format)
	}
	sum := sha256.Sum256([]byte(key))
	// node names are at most 31 bytes; device ids have no such limit
	return volume{Disk: d, Device: "vol-" + qdevID(key), Node: "vol-" + hex.EncodeToString(sum[:10]), Slot: -1}, nil
}

// qdevID keeps the characters QEMU accepts in an id.
func qdevID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

func guestSerial(d virt.Disk) string {
	s := volumeKey(d)
	if len(s) > serialBytes {
		s = s[:serialBytes]
	}
	return s
}

// blockdev is the volume's block node, for blockdev-add and -blockdev.
func (v volume) blockdev() map[string]any {
	return map[string]any{
		"node-name": v.Node,
		"driver":    format(v.Disk),
		"file":      map[string]any{"driver": "file", "filename": v.Disk.Path, "aio": "threads"},
		"cache":     map[string]any{"direct": false, "no-flush": false},
		"discard":   "unmap",
	}
}

// args are the volume's command-line arguments on a later start.
func (v volume) args() []string {
	b, _ := json.Marshal(v.blockdev())
	dev := "virtio-blk-pci,drive=" + v.Node + ",id=" + v.Device + ",serial=" + escape(guestSerial(v.Disk))
	switch {
	case v.PCIe:
		dev += rootPortBus(v.Slot)
	case v.Slot >= 0:
		dev += ",bus=pci.0,addr=0x" + strconv.FormatInt(int64(v.Slot), 16)
	}
	if v.BootIndex > 0 {
		dev += ",bootindex=" + strconv.Itoa(v.BootIndex)
	}
	return []string{"-blockdev", string(b), "-device", dev}
}

// volumeArgs are the command-line arguments of every recorded volume.
func volumeArgs(rec *record) []string {
	var out []string
	for _, v := range rec.Volumes {
		out = append(out, v.args()...)
	}
	return out
}

func findVolume(rec *record, key string) int {
	for i, v := range rec.Volumes {
		if volumeKey(v.Disk) == key {
			return i
		}
	}
	return -1
}

// AttachVolume plugs a volume into a running guest, or records it for the
// next start of a stopped one. A volume already attached stays as it is.
func (d *Driver) AttachVolume(ctx context.Context, ref virt.Ref, disk virt.Disk) error {
	v, err := newVolume(disk)
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
	suspended, i := g.rec.Suspended, findVolume(&g.rec, volumeKey(disk))
	if i >= 0 {
		v = g.rec.Volumes[i]
	}
	d.mu.Unlock()
	if suspended {
		return fmt.Errorf("instance %s is suspended: its saved state has no such disk (resume it first)", ref.UUID)
	}
	if p, c := d.running(g); p != nil {
		if c == nil {
			return fmt.Errorf("instance %s: no monitor connection to plug a disk in", ref.UUID)
		}
		if g.rec.RootPorts > 0 && !v.PCIe {
			port, err := freeRootPort(ctx, c, g.rec.RootPorts)
			if err != nil {
				return fmt.Errorf("attaching volume %s: %w", volumeKey(disk), err)
			}
			v.PCIe, v.Slot = true, port
		}
		slot, err := plugVolume(ctx, c, v)
		if err != nil {
			return fmt.Errorf("attaching volume %s: %w", volumeKey(disk), err)
		}
		if i >= 0 && v.Slot == slot {
			return nil
		}
		v.Slot = slot
	} else if i >= 0 {
		return nil
	}
	d.mu.Lock()
	if j := findVolume(&g.rec, volumeKey(disk)); j >= 0 {
		g.rec.Volumes[j] = v
	} else {
		g.rec.Volumes = append(g.rec.Volumes, v)
	}
	d.mu.Unlock()
	if err := d.writeRecord(g); err != nil {
		return err
	}
	d.log.Info("volume attached", "instance_id", ref.UUID, "volume_id", volumeKey(disk), "device", v.Device)
	return nil
}

// plugVolume adds the volume's block node and device to a running QEMU and
// returns the PCI slot the device got (-1 when it cannot be read). A device
// already there (a retried attach) is left alone.
func plugVolume(ctx context.Context, c *qmp.Client, v volume) (int, error) {
	present, err := hasDevice(ctx, c, v.Device)
	if err != nil {
		return -1, err
	}
	if !present {
		if _, err := c.Execute(ctx, "blockdev-add", v.blockdev()); err != nil {
			// a node left by an attach that failed after it is reused
			var qe *qmp.Error
			if !errors.As(err, &qe) || !strings.Contains(qe.Desc, "Duplicate") {
				return -1, err
			}
		}
		dev := map[string]any{"driver": "virtio-blk-pci", "id": v.Device, "drive": v.Node, "serial": guestSerial(v.Disk)}
		if v.PCIe {
			dev["bus"] = rootPort(v.Slot)
		}
		if _, err := c.Execute(ctx, "device_add", dev); err != nil {
			c.Execute(context.WithoutCancel(ctx), "blockdev-del", map[string]any{"node-name": v.Node})
			return -1, err
		}
	}
	if v.PCIe {
		return v.Slot, nil
	}
	return pciSlot(ctx, c, v.Device), nil
}

// hasDevice says whether QEMU has a device with this id.
func hasDevice(ctx context.Context, c *qmp.Client, id string) (bool, error) {
	var props []struct {
		Name string `json:"name"`
	}
	if err := c.Run(ctx, "qom-list", map[string]any{"path": "/machine/peripheral"}, &props); err != nil {
		return false, err
	}
	for _, p := range props {
		if p.Name == id {
			return true, nil
		}
	}
	return false, nil
}

// pciSlot is the slot of a device on the root PCI bus, or -1.
func pciSlot(ctx context.Context, c *qmp.Client, id string) int {
	var buses []struct {
		Bus     int `json:"bus"`
		Devices []struct {
			Slot   int    `json:"slot"`
			QdevID string `json:"qdev_id"`
		} `json:"devices"`
	}
	if err := c.Run(ctx, "query-pci", nil, &buses); err != nil {
		return -1
	}
	for _, b := range buses {
		for _, dv := range b.Devices {
			if dv.QdevID == id && b.Bus == 0 {
				return dv.Slot
			}
		}
	}
	return -1
}

// DetachVolume unplugs a volume from a running guest (the guest must
// release it) or forgets it for a stopped one. A volume that is not
// attached is not an error.
func (d *Driver) DetachVolume(ctx context.Context, ref virt.Ref, disk virt.Disk) error {
	key := volumeKey(disk)
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d.mu.Lock()
	i := findVolume(&g.rec, key)
	var v volume
	if i >= 0 {
		v = g.rec.Volumes[i]
	}
	suspended := g.rec.Suspended
	d.mu.Unlock()
	if i < 0 {
		// not recorded; a running guest may still have it from an attach
		// whose record was never written
		if v, err = newVolume(disk); err != nil {
			return nil
		}
	}
	if suspended {
		return fmt.Errorf("instance %s is suspended: its saved state holds the disk (resume it first)", ref.UUID)
	}
	if p, c := d.running(g); p != nil {
		if c == nil {
			return fmt.Errorf("instance %s: no monitor connection to unplug a disk", ref.UUID)
		}
		if err := unplug(ctx, c, v.Device, d.cfg.DeviceDetachAttempts, d.cfg.DeviceDetachTimeout); err != nil {
			return fmt.Errorf("detaching volume %s: %w", key, err)
		}
		if _, err := c.Execute(ctx, "blockdev-del", map[string]any{"node-name": v.Node}); err != nil && !notFound(err) {
			return fmt.Errorf("detaching volume %s: %w", key, err)
		}
	}
	if i < 0 {
		return nil
	}
	d.mu.Lock()
	if j := findVolume(&g.rec, key); j >= 0 {
		g.rec.Volumes = append(g.rec.Volumes[:j:j], g.rec.Volumes[j+1:]...)
	}
	d.mu.Unlock()
	if err := d.writeRecord(g); err != nil {
		return err
	}
	d.log.Info("volume detached", "instance_id", ref.UUID, "volume_id", key, "device", v.Device)
	return nil
}

// unplug asks the guest to release a device and waits for QEMU to delete
// it, asking again after each timeout, attempts times in all. A device
// that is not there is unplugged.
func unplug(ctx context.Context, c *qmp.Client, id string, attempts int, timeout time.Duration) error {
	if attempts < 1 {
		attempts = 1
	}
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	for i := 0; i < attempts; i++ {
		present, err := hasDevice(ctx, c, id)
		if err != nil {
			return err
		}
		if !present {
			return nil
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		err = c.DeviceDel(actx, id)
		cancel()
		if err == nil {
			return nil
		}
		var qe *qmp.Error
		switch {
		case errors.As(err, &qe) && notFound(err):
			return nil
		case errors.As(err, &qe) && strings.Contains(qe.Desc, "in progress"):
			// an earlier request is still with the guest: wait for it
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(timeout):
			}
		case errors.As(err, &qe):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, qmp.ErrClosed):
			return err
		}
	}
	present, err := hasDevice(ctx, c, id)
	if err == nil && !present {
		return nil
	}
	return fmt.Errorf("the guest did not release device %s: no DEVICE_DELETED after %d request(s), %s apiece ([libvirt] device_detach_attempts, device_detach_timeout); a guest that is still booting or has no ACPI hot-plug support keeps it", id, attempts, timeout)
}

// notFound says a QMP error is QEMU's "no such device/node".
func notFound(err error) bool {
	var qe *qmp.Error
	if !errors.As(err, &qe) {
		return false
	}
	return qe.Class == "DeviceNotFound" || strings.Contains(qe.Desc, "not found") || strings.Contains(qe.Desc, "Failed to find node")
}

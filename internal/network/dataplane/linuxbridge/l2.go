package linuxbridge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
)

const maxIfName = 15 // IFNAMSIZ - 1

// VXLANDevice names a VNI's device as Neutron's linuxbridge agent does.
func VXLANDevice(vni int) string { return "vxlan-" + strconv.Itoa(vni) }

// VLANDevice names the sub-interface of a physical interface for a VLAN
// ("eth1.100"), shortening the interface part to fit a device name.
func VLANDevice(phys string, vlan int) string {
	id := strconv.Itoa(vlan)
	if len(phys)+1+len(id) > maxIfName {
		phys = phys[:maxIfName-1-len(id)]
	}
	return phys + "." + id
}

func bridgeOf(n dataplane.Network) string {
	if n.Bridge != "" {
		return n.Bridge
	}
	return dataplane.BridgeName(n.ID)
}

func tapOf(p dataplane.Port) string {
	if p.Device != "" {
		return p.Device
	}
	return dataplane.TapName(p.ID)
}

func checkIP(s string) error {
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Errorf("%q is not an IP address", s)
	}
	return nil
}

// EnsureNetwork implements dataplane.Driver.
func (d *Driver) EnsureNetwork(ctx context.Context, n dataplane.Network) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ensureNetwork(ctx, n)
}

// segmentDevice returns the device that carries a network off the host
// ("" for local networks), and whether the driver creates it (false: a
// physical interface it only enslaves).
func (d *Driver) segmentDevice(n dataplane.Network) (dev string, made bool, err error) {
	seg := n.Segment
	switch seg.NetworkType {
	case "local":
		return "", false, nil
	case "vxlan":
		if !d.cfg.VXLAN.EnableVXLAN || d.cfg.VXLAN.LocalIP == "" {
			return "", false, fmt.Errorf("network %s: vxlan needs [vxlan] enable_vxlan and local_ip: %w", n.ID, dataplane.ErrNotSupported)
		}
		if seg.SegmentationID < 1 || seg.SegmentationID > 1<<24-1 {
			return "", false, fmt.Errorf("network %s: VNI %d is out of range 1-16777215", n.ID, seg.SegmentationID)
		}
		return VXLANDevice(seg.SegmentationID), true, nil
	case "vlan", "flat":
		phys, ok := d.cfg.LinuxBridge.PhysicalInterfaceMappings[seg.PhysicalNetwork]
		if _, host := d.cfg.LinuxBridge.BridgeAddressMappings[seg.PhysicalNetwork]; !ok && host && seg.NetworkType == "flat" {
			return "", false, nil // the bridge is the whole network
		}
		if !ok {
			return "", false, fmt.Errorf("network %s: physical network %q has no interface in [linux_bridge] physical_interface_mappings", n.ID, seg.PhysicalNetwork)
		}
		if seg.NetworkType == "flat" {
			return phys, false, nil
		}
		if seg.SegmentationID < 1 || seg.SegmentationID > 4094 {
			return "", false, fmt.Errorf("network %s: VLAN %d is out of range 1-4094", n.ID, seg.SegmentationID)
		}
		return VLANDevice(phys, seg.SegmentationID), true, nil
	}
	return "", false, fmt.Errorf("network %s: type %q: %w", n.ID, seg.NetworkType, dataplane.ErrNotSupported)
}

// ensureNetwork makes the bridge and its segment; d.mu is held. It checks
// everything it can before changing anything, so that a network it refuses
// leaves nothing behind.
func (d *Driver) ensureNetwork(ctx context.Context, n dataplane.Network) (err error) {
	br := bridgeOf(n)
	dev, made, err := d.segmentDevice(n)
	if err != nil {
		return err
	}
	h := d.host
	if dev != "" {
		l, err := h.Link(ctx, dev)
		switch {
		case errors.Is(err, netdev.ErrNotFound):
			if !made {
				return fmt.Errorf("network %s: physical interface %q does not exist", n.ID, dev)
			}
		case err != nil:
			return err
		case l.Master != "" && l.Master != br:
			return fmt.Errorf("network %s: %s is already on bridge %s (segment clash)", n.ID, dev, l.Master)
		}
		if n.Segment.NetworkType == "vlan" {
			parent := d.cfg.LinuxBridge.PhysicalInterfaceMappings[n.Segment.PhysicalNetwork]
			if ok, err := h.Exists(ctx, parent); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("network %s: physical interface %q does not exist", n.ID, parent)
			}
		}
	}
	// What this call creates it removes again if a later step fails.
	var created []string
	defer func() {
		if err != nil {
			for i := len(created) - 1; i >= 0; i-- {
				if e := h.DeleteLink(context.WithoutCancel(ctx), created[i]); e != nil {
					d.log.Warn("undoing a failed network", "device", created[i], "err", e)
				}
			}
		}
	}()
	if ok, err := h.Exists(ctx, br); err != nil {
		return err
	} else if !ok {
		if err := h.AddBridge(ctx, br); err != nil {
			return err
		}
		created = append(created, br)
	}
	if n.MTU > 0 {
		if err := setMTU(ctx, h, br, n.MTU); err != nil {
			return fmt.Errorf("network %s: %w", n.ID, err)
		}
	}
	if dev != "" {
		existed, err := h.Exists(ctx, dev)
		if err != nil {
			return err
		}
		switch n.Segment.NetworkType {
		case "vxlan":
			// On the device holding local_ip, as Neutron does: the
			// kernel then bounds the MTU by the underlay's.
			var under string
			under, err = h.DeviceWithAddress(ctx, d.cfg.VXLAN.LocalIP)
			if a, perr := netip.ParseAddr(d.cfg.VXLAN.LocalIP); err == nil && under == "" && perr == nil && a.IsLoopback() {
				// a one-host cloud on a 127.x.y.z address: lo carries it
				under = "lo"
			}
			if err == nil && under == "" {
				err = fmt.Errorf("no device holds [vxlan] local_ip %s", d.cfg.VXLAN.LocalIP)
			}
			if err == nil {
				err = h.AddVXLAN(ctx, netdev.VXLAN{Name: dev, VNI: n.Segment.SegmentationID, LocalIP: d.cfg.VXLAN.LocalIP, Port: d.cfg.VXLAN.UDPDstPort, Dev: under})
			}
		case "vlan":
			parent := d.cfg.LinuxBridge.PhysicalInterfaceMappings[n.Segment.PhysicalNetwork]
			if err = h.AddVLAN(ctx, dev, parent, n.Segment.SegmentationID); err == nil {
				err = h.SetUp(ctx, parent, true)
			}
		}
		if err != nil {
			return fmt.Errorf("network %s: %w", n.ID, err)
		}
		if made && !existed {
			created = append(created, dev)
		}
		if made && n.MTU > 0 {
			if err := setMTU(ctx, h, dev, n.MTU); err != nil {
				return fmt.Errorf("network %s: %w", n.ID, err)
			}
		}
		if err := setMaster(ctx, h, dev, br); err != nil {
			return err
		}
		if err := h.SetUp(ctx, dev, true); err != nil {
			return err
		}
		if n.Segment.NetworkType == "vxlan" {
			if err := d.syncFlood(ctx, dev); err != nil {
				return fmt.Errorf("network %s: %w", n.ID, err)
			}
		}
	}
	if err := d.bridgeAddress(ctx, n, br); err != nil {
		return fmt.Errorf("network %s: %w", n.ID, err)
	}
	// A bridge is always up; admin state is per port.
	if err := h.SetUp(ctx, br, true); err != nil {
		return err
	}
	d.networks[n.ID] = n
	return nil
}

// bridgeAddress gives the bridge of a flat network the host-side address
// [linux_bridge] bridge_address_mappings names for its physical network, and
// only that one.
func (d *Driver) bridgeAddress(ctx context.Context, n dataplane.Network, br string) error {
	want, ok := d.cfg.LinuxBridge.BridgeAddressMappings[n.Segment.PhysicalNetwork]
	if !ok || n.Segment.NetworkType != "flat" {
		return nil
	}
	pfx, err := netip.ParsePrefix(want)
	if err != nil {
		return fmt.Errorf("[linux_bridge] bridge_address_mappings %s:%s: not an address/prefix", n.Segment.PhysicalNetwork, want)
	}
	want = pfx.String()
	have, err := d.host.Addresses(ctx, br)
	if err != nil {
		return err
	}
	for _, a := range have {
		if a != want {
			if err := d.host.DeleteAddress(ctx, br, a); err != nil {
				return err
			}
		}
	}
	if !slices.Contains(have, want) {
		return d.host.AddAddress(ctx, br, want)
	}
	return nil
}

func setMTU(ctx context.Context, h netdev.Handle, dev string, mtu int) error {
	l, err := h.Link(ctx, dev)
	if err != nil {
		return err
	}
	if l.MTU == mtu {
		return nil
	}
	return h.SetMTU(ctx, dev, mtu)
}

func setMaster(ctx context.Context, h netdev.Handle, dev, br string) error {
	l, err := h.Link(ctx, dev)
	if err != nil {
		return err
	}
	if l.Master == br {
		return nil
	}
	return h.SetMaster(ctx, dev, br)
}

// syncFlood makes a VXLAN device flood to exactly the peers; d.mu is held.
func (d *Driver) syncFlood(ctx context.Context, dev string) error {
	have, err := d.host.FloodPeers(ctx, dev)
	if err != nil {
		return err
	}
	const zero = "00:00:00:00:00:00"
	for _, p := range d.peers {
		if !slices.Contains(have, p) {
			if err := d.host.AppendFDB(ctx, dev, zero, p); err != nil {
				return err
			}
		}
	}
	for _, p := range have {
		if !slices.Contains(d.peers, p) {
			if err := d.host.DeleteFDB(ctx, dev, zero, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetTunnelPeers sets the other hosts' tunnel addresses every VXLAN network
// floods its broadcast, unknown-unicast and multicast traffic to (unicast,
// as Neutron's l2population does, so no multicast group is needed). The
// host's own local_ip is left out.
func (d *Driver) SetTunnelPeers(ctx context.Context, peers []string) error {
	var clean []string
	for _, p := range peers {
		if err := checkIP(p); err != nil {
			return fmt.Errorf("tunnel peer: %w", err)
		}
		if p != d.cfg.VXLAN.LocalIP && !slices.Contains(clean, p) {
			clean = append(clean, p)
		}
	}
	slices.Sort(clean)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.peers = clean
	var errs []error
	for _, n := range d.networks {
		if n.Segment.NetworkType == "vxlan" {
			dev := VXLANDevice(n.Segment.SegmentationID)
			if err := d.syncFlood(ctx, dev); err != nil && !errors.Is(err, netdev.ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// DeleteNetwork implements dataplane.Driver.
func (d *Driver) DeleteNetwork(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	br := dataplane.BridgeName(id)
	if n, ok := d.networks[id]; ok {
		br = bridgeOf(n)
		if dev, made, err := d.segmentDevice(n); err == nil && made {
			if l, err := d.host.Link(ctx, dev); err == nil && (l.Master == "" || l.Master == br) {
				if err := d.host.DeleteLink(ctx, dev); err != nil {
					return err
				}
			}
		}
	}
	if err := d.deleteBridge(ctx, br); err != nil {
		return err
	}
	delete(d.networks, id)
	return nil
}

// deleteBridge removes a network bridge and the segment devices the driver
// made on it (VXLAN and VLAN devices); physical interfaces and taps are
// only freed.
func (d *Driver) deleteBridge(ctx context.Context, br string) error {
	slaves, err := d.host.Slaves(ctx, br)
	if errors.Is(err, netdev.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, s := range slaves {
		if s.Kind == "vxlan" && strings.HasPrefix(s.Name, "vxlan-") || s.Kind == "vlan" {
			if err := d.host.DeleteLink(ctx, s.Name); err != nil {
				return err
			}
		}
	}
	return d.host.DeleteLink(ctx, br)
}

// removeStrayL2 deletes the network bridges not wanted and the VXLAN devices
// left without a bridge; d.mu is held.
func (d *Driver) removeStrayL2(ctx context.Context, want map[string]bool) error {
	links, err := d.host.Links(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range links {
		if l.Kind == "bridge" && strings.HasPrefix(l.Name, "brq") && !want[l.Name] {
			errs = append(errs, d.deleteBridge(ctx, l.Name))
		}
	}
	for _, l := range links {
		if l.Kind == "vxlan" && strings.HasPrefix(l.Name, "vxlan-") && l.Master == "" {
			errs = append(errs, d.host.DeleteLink(ctx, l.Name))
		}
	}
	return errors.Join(errs...)
}

// PlugPort implements dataplane.Driver: the bridge is ensured and the port's
// tap enslaved to it if it exists; a tap that appears later is enslaved
// then, and the port reported up through Events.
func (d *Driver) PlugPort(ctx context.Context, p dataplane.Port) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.networks[p.Network.ID]; !ok {
		if err := d.ensureNetwork(ctx, p.Network); err != nil {
			return err
		}
	}
	if old, ok := d.ports[p.ID]; ok && old.Network.ID != p.Network.ID {
		if err := d.release(ctx, old); err != nil {
			return err
		}
	}
	d.ports[p.ID] = p
	links, err := d.linkMap(ctx)
	if err != nil {
		return err
	}
	up, err := d.wire(ctx, p, links)
	d.emit(p.ID, up, false)
	return err
}

// wire puts an existing tap on its bridge with the network's MTU and the
// port's admin state; it reports whether the port is up. d.mu is held.
func (d *Driver) wire(ctx context.Context, p dataplane.Port, links map[string]netdev.Link) (bool, error) {
	tap := tapOf(p)
	l, ok := links[tap]
	if !ok {
		return false, nil
	}
	br := bridgeOf(p.Network)
	if _, ok := links[br]; !ok {
		return false, nil // the bridge went away behind our back: the next ensure makes it
	}
	h := d.host
	if p.Network.MTU > 0 && l.MTU != p.Network.MTU {
		if err := h.SetMTU(ctx, tap, p.Network.MTU); err != nil {
			return false, err
		}
	}
	if l.Master != br {
		if err := h.SetMaster(ctx, tap, br); err != nil {
			return false, err
		}
	}
	if l.Up != p.AdminStateUp {
		if err := h.SetUp(ctx, tap, p.AdminStateUp); err != nil {
			return false, err
		}
	}
	return p.AdminStateUp, nil
}

// release takes a port's tap off its bridge (the tap itself is the
// hypervisor's); d.mu is held.
func (d *Driver) release(ctx context.Context, p dataplane.Port) error {
	l, err := d.host.Link(ctx, tapOf(p))
	if errors.Is(err, netdev.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if l.Master == bridgeOf(p.Network) {
		return d.host.SetMaster(ctx, l.Name, "")
	}
	return nil
}

// UnplugPort implements dataplane.Driver.
func (d *Driver) UnplugPort(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.ports[id]
	if !ok {
		return nil
	}
	if err := d.release(ctx, p); err != nil {
		return err
	}
	delete(d.ports, id)
	delete(d.portUp, id)
	return nil
}

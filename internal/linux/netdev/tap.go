package netdev

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Tap is a guest's host-side tap device.
type Tap struct {
	Name string
	// MTU is set when > 0.
	MTU int
	// GuestMAC is the guest's MAC address; the tap gets the same address
	// with fe as its first byte (as libvirt does), so the bridge never
	// takes the guest's address as its own.
	GuestMAC string
	// Bridge, when set, is ensured (EnsureBridge) and the tap joins it.
	Bridge string
}

// AddTap creates a persistent tap (with virtio-net headers, for QEMU's
// -netdev tap,ifname=), sets its MTU and address, enslaves it and brings it
// up. An existing tap of that name is reused and brought to that state.
func (h Handle) AddTap(ctx context.Context, t Tap) error {
	l, err := h.Link(ctx, t.Name)
	switch {
	case errors.Is(err, ErrNotFound):
		if err := h.ip(ctx, "tuntap", "add", "dev", t.Name, "mode", "tap", "vnet_hdr"); err != nil {
			return err
		}
	case err != nil:
		return err
	case l.Kind != "tun":
		return fmt.Errorf("%s exists and is not a tap (%q)", t.Name, l.Kind)
	}
	if t.MTU > 0 {
		if err := h.SetMTU(ctx, t.Name, t.MTU); err != nil {
			return err
		}
	}
	if t.GuestMAC != "" {
		hw, err := net.ParseMAC(t.GuestMAC)
		if err != nil || len(hw) != 6 {
			return fmt.Errorf("tap %s: bad MAC %q", t.Name, t.GuestMAC)
		}
		hw[0] = 0xfe
		if err := h.SetMAC(ctx, t.Name, hw.String()); err != nil {
			return err
		}
	}
	if t.Bridge != "" {
		if err := h.EnsureBridge(ctx, t.Bridge); err != nil {
			return err
		}
		if err := h.SetMaster(ctx, t.Name, t.Bridge); err != nil {
			return err
		}
	}
	return h.SetUp(ctx, t.Name, true)
}

// DeleteTap removes a tap (no error if it is absent).
func (h Handle) DeleteTap(ctx context.Context, name string) error {
	err := h.ip(ctx, "tuntap", "del", "dev", name, "mode", "tap")
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		// older iproute2 says nothing useful for an absent tap
		if ok, xerr := h.exists(ctx, name); xerr == nil && !ok {
			return nil
		}
	}
	return err
}

// EnsureBridge creates a bridge if it is absent, with STP off and no
// forwarding delay, and brings it up, as os-vif's linux_bridge plugin
// does. Both the compute driver and the network agent call it; whichever
// comes first makes the bridge.
func (h Handle) EnsureBridge(ctx context.Context, name string) error {
	ok, err := h.exists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		err := h.ip(ctx, "link", "add", "name", name, "type", "bridge", "stp_state", "0", "forward_delay", "0")
		if err != nil {
			// another caller made it in between
			if ok, xerr := h.exists(ctx, name); xerr != nil || !ok {
				return err
			}
		}
	}
	return h.SetUp(ctx, name, true)
}

// DeleteBridgeIfEmpty removes a bridge that has no device left on it, as
// Neutron's Linux bridge agent removes a network's bridge with its last
// port; a bridge still holding a device, or none at all, is left alone.
// The hypervisor calls it after deleting a guest's tap, so that a bridge
// only it needed does not outlive the guest.
func (h Handle) DeleteBridgeIfEmpty(ctx context.Context, name string) error {
	l, err := h.Link(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if l.Kind != "bridge" {
		return nil
	}
	slaves, err := h.Slaves(ctx, name)
	if err != nil || len(slaves) > 0 {
		return err
	}
	return h.DeleteLink(ctx, name)
}

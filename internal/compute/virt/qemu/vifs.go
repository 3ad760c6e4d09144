package qemu

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

var _ virt.VIFPlugger = (*Driver)(nil)

// PlugVIFs implements virt.VIFPlugger: the guest's taps, on their
// bridges, before QEMU opens them (Spawn makes them again, unchanged), so
// that the network agent can wire them and report the ports up while the
// compute agent waits for that.
func (d *Driver) PlugVIFs(ctx context.Context, ref virt.Ref, nics []virt.NIC) error {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	for _, n := range nics {
		if _, err := net.ParseMAC(n.MAC); err != nil {
			return fmt.Errorf("port %s: bad MAC %q", n.PortID, n.MAC)
		}
		t := tapFor(n)
		if err := d.net.AddTap(ctx, t); err != nil {
			return fmt.Errorf("tap %s: %w", t.Name, err)
		}
	}
	return nil
}

// UnplugVIFs implements virt.VIFPlugger: the taps go, and the bridges
// they leave empty.
func (d *Driver) UnplugVIFs(ctx context.Context, ref virt.Ref, nics []virt.NIC) error {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	var errs []error
	for _, n := range nics {
		t := tapFor(n)
		if err := d.net.DeleteTap(ctx, t.Name); err != nil {
			errs = append(errs, err)
		}
		if t.Bridge != "" {
			if err := d.net.DeleteBridgeIfEmpty(ctx, t.Bridge); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

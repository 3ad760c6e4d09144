package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// rescueDisk is the rescue guest's boot disk in the instance directory (as
// Nova's libvirt driver names it): a qcow2 overlay on the rescue image.
const rescueDisk = "disk.rescue"

var _ virt.Rescuer = (*Driver)(nil)

// Rescue boots the guest from the rescue image with its own root disk
// attached, as Nova's libvirt driver does: the running guest is stopped
// hard, a fresh overlay on the rescue image (spec.Image, sized to the
// flavor) becomes the first disk and the instance's root disk the second,
// with the config drive; when the rescue image asks for stable device
// rescue (hw_rescue_device or hw_rescue_bus) every disk keeps its place and
// the rescue disk is attached last and boots. The guest's own record is
// kept inside the rescue record (guest.json), so an agent restarted in
// rescue finds the rescue guest and Unrescue still restores the original.
// When the rescue guest cannot start, the original is started again.
func (d *Driver) Rescue(ctx context.Context, spec *virt.Spec) error {
	g, err := d.lookup(ctx, spec.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d.mu.Lock()
	orig := g.rec
	d.mu.Unlock()
	if orig.Unrescue != nil {
		// rescued already: make sure the rescue guest runs
		if p, _ := d.running(g); p != nil {
			return nil
		}
		return d.start(ctx, g, nil)
	}
	if spec.Image.Path == "" {
		return errors.New("rescue: no rescue image")
	}
	rspec := rescueSpec(spec, orig, g.dir)
	if err := d.stop(ctx, g, 0); err != nil {
		return err
	}
	d.clearSuspend(g)
	restore := func(cause error) error {
		os.Remove(filepath.Join(g.dir, rescueDisk))
		d.mu.Lock()
		g.rec = orig
		d.mu.Unlock()
		if err := d.writeRecord(g); err != nil {
			return errors.Join(cause, err)
		}
		if err := d.start(context.WithoutCancel(ctx), g, nil); err != nil {
			return errors.Join(cause, fmt.Errorf("restarting the original guest: %w", err))
		}
		return cause
	}
	os.Remove(filepath.Join(g.dir, rescueDisk))
	rec, err := d.build(ctx, rspec, g.dir)
	if err != nil {
		return restore(fmt.Errorf("rescue: %w", err))
	}
	saved := orig
	saved.Suspended = false
	rec.Unrescue = &saved
	d.mu.Lock()
	g.rec = *rec
	d.mu.Unlock()
	if err := d.writeRecord(g); err != nil {
		return restore(err)
	}
	if err := d.start(ctx, g, nil); err != nil {
		return restore(fmt.Errorf("rescue guest: %w", err))
	}
	d.log.Info("guest rescued", "instance_id", spec.UUID, "rescue_image", spec.Image.ID)
	return nil
}

// rescueSpec is the spec of the rescue guest: its boot disk on the rescue
// image, and the instance's own disks (kept as they are: build keeps a
// disk that exists).
func rescueSpec(spec *virt.Spec, orig record, dir string) *virt.Spec {
	r := *spec
	r.Rescue = false // build makes a guest of it
	boot := virt.Disk{Kind: virt.DiskRoot, Path: filepath.Join(dir, rescueDisk), Format: "qcow2", BackingFile: spec.Image.Path,
		SizeGB: spec.Flavor.RootGB, Bus: "virtio", BootIndex: 0}
	var config []virt.Disk
	for _, dk := range spec.Disks {
		if dk.Kind == virt.DiskConfig {
			config = append(config, dk)
		}
	}
	own := make([]virt.Disk, 0, len(orig.Disks))
	for _, dk := range orig.Disks {
		dk.BootIndex = -1
		own = append(own, dk)
	}
	props := spec.ImageProperties
	if props["hw_rescue_device"] != "" || props["hw_rescue_bus"] != "" {
		// stable device rescue: the guest's disks and volumes where they
		// were, the rescue disk last
		for _, v := range orig.Volumes {
			dk := v.Disk
			dk.BootIndex = -1
			own = append(own, dk)
		}
		if b := props["hw_rescue_bus"]; b != "" {
			boot.Bus = b
		}
		r.Disks = append(append(own, config...), boot)
		return &r
	}
	// the rescue disk first, the instance's root disk second, the config
	// drive; no ephemeral, swap or volume (Nova's rescue disk mapping)
	r.Disks = []virt.Disk{boot}
	for _, dk := range own {
		if dk.Kind == virt.DiskRoot {
			r.Disks = append(r.Disks, dk)
			break
		}
	}
	r.Disks = append(r.Disks, config...)
	return &r
}

// Unrescue stops the rescue guest, removes its disk and starts the
// instance's own guest again. A guest not in rescue is left as it is.
func (d *Driver) Unrescue(ctx context.Context, ref virt.Ref) error {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d.mu.Lock()
	orig := g.rec.Unrescue
	d.mu.Unlock()
	if orig == nil {
		return nil
	}
	if err := d.stop(ctx, g, 0); err != nil {
		return err
	}
	d.mu.Lock()
	g.rec = *orig
	d.mu.Unlock()
	if err := d.writeRecord(g); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(g.dir, rescueDisk)); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.log.Warn("removing the rescue disk", "instance_id", ref.UUID, "err", err)
	}
	if err := d.start(ctx, g, nil); err != nil {
		return err
	}
	d.log.Info("guest unrescued", "instance_id", ref.UUID)
	return nil
}

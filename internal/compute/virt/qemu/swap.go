package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/qmp"
)

// Volume swap, as Nova's libvirt driver does it (a block copy onto the new
// volume, then a pivot): the new volume's file becomes a block node
// (blockdev-add), a mirror job copies the old node onto it (blockdev-mirror,
// sync full) while the guest keeps writing; once the job is READY (source
// and target in step, writes mirrored) job-complete switches the guest's
// device over to the new node, and the old node is removed. A larger new
// volume then grows the guest's disk (block_resize), which the guest sees
// as a capacity change. The device keeps its id, PCI slot and the serial
// the guest booted with; the record names the new volume, so the next
// start has it (and its serial) on the command line. A guest that is not
// running cannot be swapped (Nova allows the call for active, paused and
// resized servers only).

var _ virt.VolumeSwapper = (*Driver)(nil)

// SwapVolume copies the guest's old volume to new and switches the guest
// to it; resizeToGB, when set, is the size the disk grows to.
func (d *Driver) SwapVolume(ctx context.Context, ref virt.Ref, old, new virt.Disk, resizeToGB int) error {
	nv, err := newVolume(new)
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
	i := findVolume(&g.rec, volumeKey(old))
	var ov volume
	if i >= 0 {
		ov = g.rec.Volumes[i]
	}
	suspended := g.rec.Suspended
	d.mu.Unlock()
	if i < 0 {
		return fmt.Errorf("volume %s is not attached to instance %s", volumeKey(old), ref.UUID)
	}
	if suspended {
		return fmt.Errorf("instance %s is suspended: its saved state holds the disk (resume it first)", ref.UUID)
	}
	if _, err := os.Stat(nv.Disk.Path); err != nil {
		return fmt.Errorf("volume %s: %w", volumeKey(new), err)
	}
	p, c := d.running(g)
	if p == nil || c == nil {
		return fmt.Errorf("instance %s is not running: a volume swap copies a running guest's disk", ref.UUID)
	}
	nv.Device, nv.Slot, nv.BootIndex, nv.PCIe = ov.Device, ov.Slot, ov.BootIndex, ov.PCIe
	if err := mirror(ctx, c, ov.Node, nv); err != nil {
		return fmt.Errorf("copying volume %s to %s: %w", volumeKey(old), volumeKey(new), err)
	}
	// the guest is on the new volume from here: record it before anything
	// else can fail
	d.mu.Lock()
	if j := findVolume(&g.rec, volumeKey(old)); j >= 0 {
		g.rec.Volumes[j] = nv
	}
	d.mu.Unlock()
	werr := d.writeRecord(g)
	if _, err := c.Execute(context.WithoutCancel(ctx), "blockdev-del", map[string]any{"node-name": ov.Node}); err != nil && !notFound(err) {
		d.log.Warn("old volume node left in QEMU", "instance_id", ref.UUID, "node", ov.Node, "err", err)
	}
	if resizeToGB > 0 {
		if _, err := c.Execute(ctx, "block_resize", map[string]any{"node-name": nv.Node, "size": int64(resizeToGB) << 30}); err != nil {
			return fmt.Errorf("growing volume %s to %d GiB: %w", volumeKey(new), resizeToGB, err)
		}
	}
	if werr != nil {
		return werr
	}
	d.log.Info("volume swapped", "instance_id", ref.UUID, "old_volume_id", volumeKey(old), "new_volume_id", volumeKey(new), "device", nv.Device)
	return nil
}

// mirror adds nv's node, copies the node from onto it and pivots the
// guest's device to it; on a failure before the pivot the new node is
// removed and the guest stays on from.
func mirror(ctx context.Context, c *qmp.Client, from string, nv volume) error {
	if _, err := c.Execute(ctx, "blockdev-add", nv.blockdev()); err != nil {
		return err
	}
	job := "swap-" + nv.Node
	cleanup := func() {
		bg := context.WithoutCancel(ctx)
		c.Execute(bg, "block-job-cancel", map[string]any{"device": job, "force": true})
		c.Execute(bg, "blockdev-del", map[string]any{"node-name": nv.Node})
	}
	ev, err := c.ExecuteUntil(ctx, "blockdev-mirror", map[string]any{
		"job-id": job, "device": from, "target": nv.Node, "sync": "full",
	}, jobEvent(job, "BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_ERROR"))
	if err != nil {
		cleanup()
		return err
	}
	if ev.Name != "BLOCK_JOB_READY" {
		cleanup()
		return fmt.Errorf("the copy ended before it was ready: %s %s", ev.Name, jobError(ev))
	}
	ev, err = c.ExecuteUntil(ctx, "job-complete", map[string]any{"id": job}, jobEvent(job, "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"))
	if err != nil {
		cleanup()
		return err
	}
	if ev.Name != "BLOCK_JOB_COMPLETED" || jobError(ev) != "" {
		cleanup()
		return fmt.Errorf("the switch to the copy failed: %s %s", ev.Name, jobError(ev))
	}
	return nil
}

// jobEvent matches the named events of one block job.
func jobEvent(job string, names ...string) func(qmp.Event) bool {
	return func(e qmp.Event) bool {
		ok := false
		for _, n := range names {
			ok = ok || e.Name == n
		}
		if !ok {
			return false
		}
		var data struct {
			Device string `json:"device"`
		}
		return json.Unmarshal(e.Data, &data) == nil && data.Device == job
	}
}

// jobError is a block job event's error, or "".
func jobError(e qmp.Event) string {
	var data struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(e.Data, &data) != nil {
		return ""
	}
	return data.Error
}

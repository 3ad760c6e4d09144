package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/qemuimg"
	"github.com/tenku-cloud/tenku/internal/linux/qmp"
)

// snapshotPrefix names the temporary files a snapshot is written to in the
// instance directory; a crash mid-snapshot leaves one, which the next
// snapshot of the guest removes.
const snapshotPrefix = "snapshot-"

var _ virt.Snapshotter = (*Driver)(nil)

// Snapshot returns the guest's root disk as one standalone qcow2 image (the
// overlay and its base flattened: the disk, not a copy of the base), as
// Nova's libvirt driver makes a cold snapshot. A running guest is paused
// while qemu-img copies its disk — pausing flushes QEMU's block caches, so
// the file is consistent — and runs again before Snapshot returns; a
// stopped or paused guest stays as it is. The image is read from a file in
// the instance directory that Close removes.
func (d *Driver) Snapshot(ctx context.Context, ref virt.Ref) (io.ReadCloser, string, error) {
	g, err := d.lookup(ctx, ref.UUID)
	if err != nil {
		return nil, "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d.mu.Lock()
	disks := g.rec.Disks
	if g.rec.Unrescue != nil {
		// in rescue: the instance's disk, not the rescue guest's
		disks = g.rec.Unrescue.Disks
	}
	d.mu.Unlock()
	var root *virt.Disk
	for i := range disks {
		if disks[i].Kind == virt.DiskRoot {
			root = &disks[i]
			break
		}
	}
	if root == nil {
		// a volume-backed server is snapshotted by the API (a volume
		// snapshot), never by the driver
		return nil, "", fmt.Errorf("instance %s has no local root disk to snapshot: %w", ref.UUID, virt.ErrNotSupported)
	}
	removeSnapshotFiles(g.dir)
	f, err := os.CreateTemp(g.dir, snapshotPrefix+"*.qcow2")
	if err != nil {
		return nil, "", err
	}
	tmp := f.Name()
	f.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()

	_, c := d.running(g)
	resume := false
	if c != nil {
		st, err := c.QueryStatus(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("snapshot of %s: %w", ref.UUID, err)
		}
		if st.Status == "running" {
			if _, err := c.ExecuteUntil(ctx, "stop", nil, qmp.Named("STOP")); err != nil {
				return nil, "", fmt.Errorf("pausing %s for its snapshot: %w", ref.UUID, err)
			}
			resume = true
		}
	}
	var cerr error
	if c != nil {
		cerr = qemuimg.ConvertShared(ctx, root.Path, format(*root), tmp, "qcow2")
	} else {
		cerr = qemuimg.Convert(ctx, root.Path, format(*root), tmp, "qcow2")
	}
	if resume {
		if _, err := c.Execute(context.WithoutCancel(ctx), "cont", nil); err != nil {
			cerr = errors.Join(cerr, fmt.Errorf("resuming %s after its snapshot: %w", ref.UUID, err))
		}
	}
	if cerr != nil {
		return nil, "", cerr
	}
	out, err := os.Open(tmp)
	if err != nil {
		return nil, "", err
	}
	// The name goes now: the open file is read to its end and its space
	// freed on Close, and nothing is left behind if the reader is dropped
	// with the process.
	os.Remove(tmp)
	ok = true
	d.log.Info("snapshot taken", "instance_id", ref.UUID, "paused", resume)
	return out, "qcow2", nil
}

// removeSnapshotFiles removes what an interrupted snapshot left.
func removeSnapshotFiles(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), snapshotPrefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

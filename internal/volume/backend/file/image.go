package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenku-cloud/tenku/internal/linux/qemuimg"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
)

var _ backend.ImageIO = (*Driver)(nil)

// qemuFormat maps a Glance disk_format to the qemu-img format that reads
// it. vmdk is left out: a VMDK descriptor may name extent files anywhere
// on the host, and qemu-img info does not tell us enough to refuse them.
func qemuFormat(diskFormat string) (string, bool) {
	switch diskFormat {
	case "raw", "iso":
		return "raw", true
	case "qcow2", "vdi", "vhdx", "qed":
		return diskFormat, true
	case "vhd":
		return "vpc", true
	}
	return "", false
}

// CreateFromImage converts the image file src into a raw volume file of
// size GiB, made under a temporary name and renamed. The image is
// inspected first: a backing file or an external data file is refused,
// so qemu-img never opens a file the image names.
func (d *Driver) CreateFromImage(ctx context.Context, id string, sizeGiB int, src, format string) error {
	if err := validID(id); err != nil {
		return err
	}
	if sizeGiB <= 0 {
		return fmt.Errorf("volume size must be positive, got %d", sizeGiB)
	}
	qf, ok := qemuFormat(format)
	if !ok {
		return fmt.Errorf("%w: disk_format %q is not supported by the file backend", backend.ErrBadImage, format)
	}
	size := int64(sizeGiB) * backend.GiB
	dst := d.Path(id)
	if fi, err := os.Stat(dst); err == nil {
		if fi.Size() == size {
			return nil
		}
		return fmt.Errorf("%s%s exists with another size (%d bytes)", prefix, id, fi.Size())
	}
	info, err := qemuimg.Inspect(ctx, src, qf)
	if err != nil {
		return fmt.Errorf("%w: %v", backend.ErrBadImage, err)
	}
	if info.BackingFile != "" {
		return fmt.Errorf("%w: the image has a backing file", backend.ErrBadImage)
	}
	if info.FormatSpecific != nil && info.FormatSpecific.Data.DataFile != "" {
		return fmt.Errorf("%w: the image has an external data file", backend.ErrBadImage)
	}
	if info.VirtualSize > size {
		return fmt.Errorf("%w: %d bytes into %d GiB", backend.ErrImageTooLarge, info.VirtualSize, sizeGiB)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	prov, err := d.provisioned()
	if err != nil {
		return err
	}
	if prov+size > d.capacity {
		return backend.ErrNoSpace
	}
	tmp := filepath.Join(d.dir, ".creating-"+id+"-image")
	os.Remove(tmp)
	ok = false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	// qemu-img convert writes a raw target sparsely (zeroes stay holes).
	if err := qemuimg.Convert(ctx, src, qf, tmp, "raw"); err != nil {
		return err
	}
	if err := os.Truncate(tmp, size); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	ok = true
	return nil
}

// ExportImage converts the raw volume file into dst (raw or qcow2, or
// another format qemu-img writes).
func (d *Driver) ExportImage(ctx context.Context, id, dst, format string) error {
	if err := validID(id); err != nil {
		return err
	}
	qf, ok := qemuFormat(format)
	if !ok || format == "iso" {
		return fmt.Errorf("%w: disk_format %q cannot be written by the file backend", backend.ErrBadImage, format)
	}
	if _, err := os.Stat(d.Path(id)); errors.Is(err, os.ErrNotExist) {
		return backend.ErrNotFound
	}
	return qemuimg.Convert(ctx, d.Path(id), "raw", dst, qf)
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var _ backend.RawAccess = (*Driver)(nil)

// OpenRaw opens the volume file.
func (d *Driver) OpenRaw(ctx context.Context, id string, write bool) (*os.File, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(d.Path(id), flag, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, backend.ErrNotFound
	}
	return f, err
}

// OpenSnapshotRaw opens the snapshot file read-only.
func (d *Driver) OpenSnapshotRaw(ctx context.Context, snapshotID string) (*os.File, error) {
	if err := validID(snapshotID); err != nil {
		return nil, err
	}
	f, err := os.Open(d.snapPath(snapshotID))
	if errors.Is(err, os.ErrNotExist) {
		return nil, backend.ErrNotFound
	}
	return f, err
}

package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/tenku-cloud/tenku/internal/volume/backend"
)

// Driver keeps volumes as files in Dir.
type Driver struct {
	dir      string
	capacity int64 // bytes
	name     string
	mu       sync.Mutex
}

var _ backend.Driver = (*Driver)(nil)

// File name prefixes of volumes and snapshots.
const (
	prefix     = "volume-"
	snapPrefix = "snapshot-"
)

// New returns a driver on dir (created if missing) holding at most
// capacity bytes of volumes; backendName is volume_backend_name.
func New(dir string, capacity int64, backendName string) (*Driver, error) {
	if capacity <= 0 {
		return nil, fmt.Errorf("file volume backend: capacity must be positive, got %d", capacity)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("file volume backend: %w", err)
	}
	if backendName == "" {
		backendName = "file"
	}
	return &Driver{dir: dir, capacity: capacity, name: backendName}, nil
}

// Name returns "file".
func (d *Driver) Name() string { return "file" }

// Path returns where a volume's file is.
func (d *Driver) Path(id string) string { return filepath.Join(d.dir, prefix+id) }

func validID(id string) error {
	if id == "" || strings.ContainsAny(id, "/\\") || id == "." || id == ".." {
		return fmt.Errorf("invalid volume id %q", id)
	}
	return nil
}

// provisioned sums the sizes of the volume files.
func (d *Driver) provisioned() (int64, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, e := range ents {
		if !(strings.HasPrefix(e.Name(), prefix) || strings.HasPrefix(e.Name(), snapPrefix)) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return 0, err
		}
		sum += fi.Size()
	}
	return sum, nil
}

// Stats reports the pool's capacity in GiB.
func (d *Driver) Stats(ctx context.Context) (backend.Stats, error) {
	d.mu.Lock()
	prov, err := d.provisioned()
	d.mu.Unlock()
	if err != nil {
		return backend.Stats{}, err
	}
	total := float64(d.capacity) / float64(backend.GiB)
	used := float64(prov) / float64(backend.GiB)
	return backend.Stats{
		BackendName: d.name, VendorName: "tenku", DriverVersion: "1.0", StorageProtocol: "file",
		TotalCapacityGB: total, FreeCapacityGB: max(total-used, 0), ProvisionedGB: used,
		ThickProvisioning: true, MaxOverSubRatio: 1, Multiattach: true,
	}, nil
}

// Create makes a sparse file of size GiB.
func (d *Driver) Create(ctx context.Context, id string, sizeGiB int) error {
	return d.place(prefix, id, sizeGiB, "")
}

// CreateFromSnapshot makes a volume of size GiB holding a copy of the
// snapshot's data.
func (d *Driver) CreateFromSnapshot(ctx context.Context, id, snapshotID string, sizeGiB int) error {
	if err := validID(snapshotID); err != nil {
		return err
	}
	return d.place(prefix, id, sizeGiB, d.snapPath(snapshotID))
}

// Clone makes a volume of size GiB holding a copy of volume srcID's data.
func (d *Driver) Clone(ctx context.Context, id, srcID string, sizeGiB int) error {
	if err := validID(srcID); err != nil {
		return err
	}
	return d.place(prefix, id, sizeGiB, d.Path(srcID))
}

// CreateSnapshot copies the volume file to snapshot-<id>, keeping holes.
func (d *Driver) CreateSnapshot(ctx context.Context, volumeID, snapshotID string) error {
	if err := validID(volumeID); err != nil {
		return err
	}
	return d.place(snapPrefix, snapshotID, 0, d.Path(volumeID))
}

// SnapshotExists reports whether the snapshot file exists.
func (d *Driver) SnapshotExists(ctx context.Context, snapshotID string) (bool, error) {
	if err := validID(snapshotID); err != nil {
		return false, err
	}
	_, err := os.Stat(d.snapPath(snapshotID))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// DeleteSnapshot removes the snapshot file.
func (d *Driver) DeleteSnapshot(ctx context.Context, snapshotID string) error {
	if err := validID(snapshotID); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.Remove(d.snapPath(snapshotID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (d *Driver) snapPath(id string) string { return filepath.Join(d.dir, snapPrefix+id) }

// place makes the file kind+id: a copy of src (when set) grown to
// sizeGiB (0: the source's size), or a blank sparse file of sizeGiB. It
// is made under a temporary name and renamed; a file already in place
// with that size is kept (idempotent).
func (d *Driver) place(kind, id string, sizeGiB int, src string) error {
	if err := validID(id); err != nil {
		return err
	}
	if sizeGiB < 0 || (sizeGiB == 0 && src == "") {
		return fmt.Errorf("volume size must be positive, got %d", sizeGiB)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	size := int64(sizeGiB) * backend.GiB
	var in *os.File
	if src != "" {
		f, err := os.Open(src)
		if errors.Is(err, os.ErrNotExist) {
			return backend.ErrNotFound
		}
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if size == 0 {
			size = fi.Size()
		}
		if fi.Size() > size {
			return fmt.Errorf("the source (%d bytes) is larger than %d GiB", fi.Size(), sizeGiB)
		}
		in = f
	}
	dst := filepath.Join(d.dir, kind+id)
	if fi, err := os.Stat(dst); err == nil {
		if fi.Size() == size {
			return nil
		}
		return fmt.Errorf("%s%s exists with another size (%d bytes)", kind, id, fi.Size())
	}
	prov, err := d.provisioned()
	if err != nil {
		return err
	}
	if prov+size > d.capacity {
		return backend.ErrNoSpace
	}
	tmp, err := os.CreateTemp(d.dir, ".creating-"+id+"-")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if in != nil {
		if err := sparseCopy(tmp, in); err != nil {
			return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
		}
	}
	if err := tmp.Truncate(size); err != nil {
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if in != nil {
		if err := tmp.Sync(); err != nil {
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	ok = true
	return nil
}

// sparseCopy copies the data extents of src into dst at the same
// offsets (SEEK_DATA/SEEK_HOLE), so holes stay holes, with
// copy_file_range, which reflinks where the filesystem can.
func sparseCopy(dst, src *os.File) error {
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	end := fi.Size()
	sfd, dfd := int(src.Fd()), int(dst.Fd())
	for off := int64(0); off < end; {
		data, err := unix.Seek(sfd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole remains
		}
		if err != nil {
			return err
		}
		hole, err := unix.Seek(sfd, data, unix.SEEK_HOLE)
		if err != nil {
			return err
		}
		for data < hole {
			roff, woff := data, data
			n, err := unix.CopyFileRange(sfd, &roff, dfd, &woff, int(min(hole-data, 1<<30)), 0)
			if err != nil {
				return err
			}
			if n == 0 {
				return io.ErrUnexpectedEOF
			}
			data += int64(n)
		}
		off = hole
	}
	return nil
}

// Extend grows the volume file (sparse) to size GiB.
func (d *Driver) Extend(ctx context.Context, id string, sizeGiB int) error {
	if err := validID(id); err != nil {
		return err
	}
	size := int64(sizeGiB) * backend.GiB
	d.mu.Lock()
	defer d.mu.Unlock()
	fi, err := os.Stat(d.Path(id))
	if err != nil {
		return err
	}
	if fi.Size() >= size {
		if fi.Size() == size {
			return nil
		}
		return fmt.Errorf("volume %s is larger (%d bytes) than %d GiB; volumes never shrink", id, fi.Size(), sizeGiB)
	}
	prov, err := d.provisioned()
	if err != nil {
		return err
	}
	if prov-fi.Size()+size > d.capacity {
		return backend.ErrNoSpace
	}
	return os.Truncate(d.Path(id), size)
}

// Exists reports whether the volume file exists and its size in GiB.
func (d *Driver) Exists(ctx context.Context, id string) (bool, int, error) {
	if err := validID(id); err != nil {
		return false, 0, err
	}
	fi, err := os.Stat(d.Path(id))
	if errors.Is(err, os.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	return true, int(fi.Size() / backend.GiB), nil
}

// Delete removes the volume file.
func (d *Driver) Delete(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.Remove(d.Path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// List returns the ids of the volume files, and removes the temporary
// files a crash left.
func (d *Driver) List(ctx context.Context) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, ".creating-"):
			os.Remove(filepath.Join(d.dir, n))
		case strings.HasPrefix(n, prefix):
			out = append(out, strings.TrimPrefix(n, prefix))
		}
	}
	return out, nil
}

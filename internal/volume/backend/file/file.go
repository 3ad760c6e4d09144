// Package file is the file volume backend, modelled on Cinder's NFS
// (remotefs) driver: one sparse raw file per volume, volume-<id>, in a
// directory, the whole pool bounded by a capacity (devstack's
// VOLUME_BACKING_FILE_SIZE). Capacity is accounted thick (the sum of the
// volumes' sizes must fit), while the files stay sparse on disk.
//
// A volume file is made under a temporary name and renamed into place
// once it has its size, so a crash never leaves a half-made volume under
// a volume's name.
//
// file imports volume/backend and the standard library.
package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

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

const prefix = "volume-"

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
		if !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
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
	if err := validID(id); err != nil {
		return err
	}
	if sizeGiB <= 0 {
		return fmt.Errorf("volume size must be positive, got %d", sizeGiB)
	}
	size := int64(sizeGiB) * backend.GiB
	d.mu.Lock()
	defer d.mu.Unlock()
	if fi, err := os.Stat(d.Path(id)); err == nil {
		if fi.Size() == size {
			return nil
		}
		return fmt.Errorf("volume %s exists with another size (%d bytes)", id, fi.Size())
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
	if err := tmp.Truncate(size); err != nil {
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), d.Path(id)); err != nil {
		return err
	}
	ok = true
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

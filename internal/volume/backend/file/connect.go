package file

import (
	"context"
	"fmt"
	"os"

	"github.com/tenku-cloud/tenku/internal/volume/backend"
)

var _ backend.Exporter = (*Driver)(nil)

// DriverVolumeType is the driver_volume_type of the file backend's
// connections: the host opens data.path, a raw image, directly (the
// volume directory is local or shared, as the NFS driver's mount is).
const DriverVolumeType = "file"

// InitializeConnection tells a host where the volume's file is.
func (d *Driver) InitializeConnection(ctx context.Context, id string, connector map[string]any) (backend.Connection, error) {
	if err := validID(id); err != nil {
		return backend.Connection{}, err
	}
	p := d.Path(id)
	if _, err := os.Stat(p); err != nil {
		return backend.Connection{}, fmt.Errorf("file volume backend: volume %s: %w", id, err)
	}
	return backend.Connection{DriverVolumeType: DriverVolumeType, Data: map[string]any{
		"path": p, "format": "raw", "name": prefix + id, "volume_id": id,
	}}, nil
}

// TerminateConnection has nothing to undo: the file stays where it is.
func (d *Driver) TerminateConnection(ctx context.Context, id string, connector map[string]any) error {
	return validID(id)
}

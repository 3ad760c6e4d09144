package backend

import (
	"context"
	"errors"
	"os"
)

// GiB is a gibibyte: volume sizes are whole GiB, as in Cinder.
const GiB = int64(1) << 30

// Stats is a backend's capacity report, in GiB, as Cinder's
// get_volume_stats reports it to the scheduler.
type Stats struct {
	BackendName       string  `json:"volume_backend_name"`
	VendorName        string  `json:"vendor_name"`
	DriverVersion     string  `json:"driver_version"`
	StorageProtocol   string  `json:"storage_protocol"`
	TotalCapacityGB   float64 `json:"total_capacity_gb"`
	FreeCapacityGB    float64 `json:"free_capacity_gb"`
	ProvisionedGB     float64 `json:"provisioned_capacity_gb"`
	ReservedPercent   int     `json:"reserved_percentage"`
	ThinProvisioning  bool    `json:"thin_provisioning_support"`
	ThickProvisioning bool    `json:"thick_provisioning_support"`
	MaxOverSubRatio   float64 `json:"max_over_subscription_ratio"`
	Multiattach       bool    `json:"multiattach"`
}

// Driver keeps volumes. Every method is idempotent where the name says so:
// the volume service retries after a crash.
type Driver interface {
	// Name is the driver's name in logs ("file").
	Name() string
	// Stats reports capacity.
	Stats(ctx context.Context) (Stats, error)
	// Create makes a blank volume of size GiB. A volume that exists with
	// that size is left as it is (idempotent); no space is ErrNoSpace.
	Create(ctx context.Context, id string, sizeGiB int) error
	// Exists reports whether a volume is kept, and its size in GiB.
	Exists(ctx context.Context, id string) (bool, int, error)
	// Extend grows a volume to size GiB; a volume already that size is left
	// as it is. No space is ErrNoSpace.
	Extend(ctx context.Context, id string, sizeGiB int) error
	// Delete removes a volume; a missing one is no error.
	Delete(ctx context.Context, id string) error
	// List returns the ids of every volume kept (to find orphans).
	List(ctx context.Context) ([]string, error)

	// CreateSnapshot keeps a point-in-time copy of a volume's data under
	// the snapshot's id; a snapshot that exists is left as it is. No space
	// is ErrNoSpace.
	CreateSnapshot(ctx context.Context, volumeID, snapshotID string) error
	// SnapshotExists reports whether a snapshot is kept.
	SnapshotExists(ctx context.Context, snapshotID string) (bool, error)
	// DeleteSnapshot removes a snapshot; a missing one is no error.
	DeleteSnapshot(ctx context.Context, snapshotID string) error
	// CreateFromSnapshot makes volume id of size GiB (at least the
	// snapshot's size) holding the snapshot's data; idempotent as Create.
	CreateFromSnapshot(ctx context.Context, id, snapshotID string, sizeGiB int) error
	// Clone makes volume id of size GiB (at least the source's size)
	// holding a copy of volume srcID's data; idempotent as Create.
	Clone(ctx context.Context, id, srcID string, sizeGiB int) error
}

// ErrNotFound: the volume or snapshot to copy from is not kept.
var ErrNotFound = errors.New("the source volume or snapshot is missing from the backend")

// ErrNoSpace: the backend has no room for the volume.
var ErrNoSpace = errors.New("not enough free capacity on the backend")

// ImageIO is the optional part of a Driver that copies images in and out
// of volumes: Cinder's copy_image_to_volume and copy_volume_to_image.
// Image files are on the volume service's host, in a directory the
// service owns; formats are Glance disk_format names (raw, qcow2, vdi,
// vhd, vhdx, iso, ...).
type ImageIO interface {
	// CreateFromImage makes volume id of size GiB holding the image in
	// file src, converted from format to the backend's own; idempotent as
	// Create. An image whose virtual size exceeds the volume is
	// ErrImageTooLarge; one that names other files (a backing file, an
	// external data file) or whose format the backend cannot read is
	// ErrBadImage.
	CreateFromImage(ctx context.Context, id string, sizeGiB int, src, format string) error
	// ExportImage writes volume id's data to the new file dst as an image
	// of format (raw or qcow2 at least).
	ExportImage(ctx context.Context, id, dst, format string) error
}

// ErrImageTooLarge: the image's virtual size is larger than the volume.
var ErrImageTooLarge = errors.New("the image's virtual size is larger than the volume")

// ErrBadImage: the image cannot be used (unsafe or unsupported format).
var ErrBadImage = errors.New("the image cannot be written to a volume")

// RawAccess is the optional part of a Driver that hands out a volume's
// raw data on this host, for the backup service to read and restores to
// write. The caller closes the file.
type RawAccess interface {
	OpenRaw(ctx context.Context, id string, write bool) (*os.File, error)
	// OpenSnapshotRaw opens a snapshot's data read-only (the source of a
	// backup of a snapshot); a missing snapshot is ErrNotFound.
	OpenSnapshotRaw(ctx context.Context, snapshotID string) (*os.File, error)
}

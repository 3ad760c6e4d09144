package rpc

import (
	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
)

// Subjects and queue groups.
const (
	SchedulerSubject = "volume.scheduler"
	SchedulerQueue   = "scheduler"
	ManagerSubject   = "volume.manager"
	ManagerQueue     = "manager"
	VolumeTopic      = "volume"
)

// VolumeSubject is the subject of one volume service (host@backend).
func VolumeSubject(host string) string { return bus.HostSubject(VolumeTopic, host) }

// Methods.
const (
	CreateVolume    = "create_volume"
	DeleteVolume    = "delete_volume"
	ExtendVolume    = "extend_volume"
	VolumeUpdate    = "volume_update"
	VolumeDestroyed = "volume_destroyed"
	VolumesOnHost   = "volumes_on_host"
	ServiceReport   = "service_report"
	UploadImage     = "copy_volume_to_image"

	CreateBackup    = "create_backup"
	ImportBackup    = "import_record"
	RestoreBackup   = "restore_backup"
	DeleteBackup    = "delete_backup"
	BackupUpdate    = "backup_update"
	BackupDestroyed = "backup_destroyed"

	CreateSnapshot    = "create_snapshot"
	DeleteSnapshot    = "delete_snapshot"
	SnapshotUpdate    = "snapshot_update"
	SnapshotDestroyed = "snapshot_destroyed"
)

// Binary names the volume service in os-services.
const Binary = "cinder-volume"

// CreateArgs ask for a volume to be made.
type CreateArgs struct {
	VolumeID         string            `json:"volume_id"`
	Size             int               `json:"size"`
	AvailabilityZone string            `json:"availability_zone"`
	ExtraSpecs       map[string]string `json:"extra_specs,omitempty"`
	// SnapshotID or SourceVolID, when set, name what the volume is a copy
	// of; SourceHost is where that source is kept (host@backend#pool),
	// the only backend the scheduler may choose, as Cinder's
	// resource_backend for the file and LVM drivers.
	SnapshotID  string `json:"snapshot_id,omitempty"`
	SourceVolID string `json:"source_volid,omitempty"`
	SourceHost  string `json:"source_host,omitempty"`
	// ImageID names the Glance image the volume is made from.
	ImageID string `json:"image_id,omitempty"`
	// BackupID names the backup restored into the new volume (a restore
	// to a new volume); SourceHost is then the backup's host.
	BackupID string `json:"backup_id,omitempty"`
	// BackupDataID is that backup's repository directory.
	BackupDataID string `json:"backup_data_id,omitempty"`
	// Host is the backend chosen by the scheduler (host@backend#pool).
	Host string `json:"host,omitempty"`
}

// UploadArgs ask for a volume's data to be written to a queued image.
type UploadArgs struct {
	VolumeID   string `json:"volume_id"`
	ImageID    string `json:"image_id"`
	DiskFormat string `json:"disk_format"`
}

// ExtendArgs ask for a volume to grow.
type ExtendArgs struct {
	VolumeID string `json:"volume_id"`
	NewSize  int    `json:"new_size"`
}

// DeleteArgs ask for a volume to be removed; Snapshots (a cascade
// delete) are removed first.
type DeleteArgs struct {
	VolumeID  string   `json:"volume_id"`
	Snapshots []string `json:"snapshots,omitempty"`
}

// SnapshotArgs name a snapshot and its volume.
type SnapshotArgs struct {
	SnapshotID string `json:"snapshot_id"`
	VolumeID   string `json:"volume_id,omitempty"`
}

// SnapshotUpdateArgs move a snapshot from one of From to Status.
type SnapshotUpdateArgs struct {
	SnapshotID string                  `json:"snapshot_id"`
	From       []volume.SnapshotStatus `json:"from"`
	Status     volume.SnapshotStatus   `json:"status"`
	Reason     string                  `json:"reason,omitempty"`
}

// HostSnapshot is a snapshot of a volume placed on a host, for
// reconciliation.
type HostSnapshot struct {
	ID       string                `json:"id"`
	VolumeID string                `json:"volume_id"`
	Status   volume.SnapshotStatus `json:"status"`
}

// UpdateArgs move a volume from one of From to Status.
type UpdateArgs struct {
	VolumeID string          `json:"volume_id"`
	From     []volume.Status `json:"from"`
	Status   volume.Status   `json:"status"`
	Reason   string          `json:"reason,omitempty"`
	// Size, when set, records the volume's new size (after an extend).
	Size int `json:"size,omitempty"`
	// Bootable, when set, records the bootable flag (a volume made from
	// an image is bootable).
	Bootable *bool `json:"bootable,omitempty"`
	// ImageMetadata, when set, records what the volume keeps of the image
	// it was made from (volume_image_metadata).
	ImageMetadata map[string]string `json:"image_metadata,omitempty"`
}

// HostArgs name a host.
type HostArgs struct {
	Host string `json:"host"`
}

// HostVolume is a volume placed on a host, for reconciliation.
type HostVolume struct {
	ID     string        `json:"id"`
	Size   int           `json:"size"`
	Status volume.Status `json:"status"`
	// SnapshotID and SourceVolID: what a volume being created is a copy of.
	SnapshotID  string `json:"snapshot_id,omitempty"`
	SourceVolID string `json:"source_volid,omitempty"`
	// ImageID: the image a volume being created is made from.
	ImageID string `json:"image_id,omitempty"`
}

// HostVolumes answer VolumesOnHost.
type HostVolumes struct {
	Volumes []HostVolume `json:"volumes"`
	// Deleted are the ids of deleted volumes that were placed on the host:
	// their files, if a crash left any, are removed. Files with no record
	// at all are kept (they might belong to another cloud sharing the
	// directory) and reported in the log.
	Deleted []string `json:"deleted"`
	// Snapshots are the undeleted snapshots of the host's volumes.
	Snapshots []HostSnapshot `json:"snapshots"`
	// Backups are the backups in a transitional state that the host
	// takes, deletes or restores.
	Backups []HostBackup `json:"backups"`
}

// HostBackup is a backup in a transitional state, for reconciliation.
type HostBackup struct {
	ID              string              `json:"id"`
	VolumeID        string              `json:"volume_id"`
	Status          volume.BackupStatus `json:"status"`
	RestoreVolumeID string              `json:"restore_volume_id,omitempty"`
	DataID          string              `json:"data_id,omitempty"`
	// KeepData: another live backup shares the data directory.
	KeepData bool `json:"keep_data,omitempty"`
}

// BackupArgs ask for a backup to be taken (VolumeID, ParentID for an
// incremental one; Attached: the volume is in use and stays so), restored
// into VolumeID, or deleted.
type BackupArgs struct {
	BackupID string `json:"backup_id"`
	VolumeID string `json:"volume_id,omitempty"`
	// SnapshotID, when set, is the snapshot of the volume to read.
	SnapshotID string `json:"snapshot_id,omitempty"`
	ParentID   string `json:"parent_id,omitempty"`
	Attached   bool   `json:"attached,omitempty"`
	// DataID is the repository directory of the backup's data (empty:
	// BackupID); ParentDataID the parent's.
	DataID       string `json:"data_id,omitempty"`
	ParentDataID string `json:"parent_data_id,omitempty"`
	// KeepData: another backup (an imported record) shares the data, so
	// a delete removes only the record.
	KeepData bool `json:"keep_data,omitempty"`
}

// Data is the repository directory of the backup's data.
func (a BackupArgs) Data() string {
	if a.DataID != "" {
		return a.DataID
	}
	return a.BackupID
}

// BackupUpdateArgs move a backup from one of From to Status, and, when
// VolumeStatus is set, its volume (or restore target) VolumeID from one
// of VolumeFrom to VolumeStatus.
type BackupUpdateArgs struct {
	BackupID     string                `json:"backup_id"`
	From         []volume.BackupStatus `json:"from"`
	Status       volume.BackupStatus   `json:"status"`
	FailReason   string                `json:"fail_reason,omitempty"`
	ObjectCount  int                   `json:"object_count,omitempty"`
	VolumeID     string                `json:"volume_id,omitempty"`
	VolumeFrom   []volume.Status       `json:"volume_from,omitempty"`
	VolumeStatus volume.Status         `json:"volume_status,omitempty"`
	VolumeReason string                `json:"volume_reason,omitempty"`
}

// Report is a volume service's heartbeat.
type Report struct {
	Host             string        `json:"host"`
	AvailabilityZone string        `json:"availability_zone"`
	Stats            backend.Stats `json:"stats"`
}

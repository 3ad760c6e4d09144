package volume

import "encoding/json"

// Status is a volume's status, as Cinder names them.
type Status string

// Volume states. Transitional states (creating, deleting, extending, ...)
// each have a timeout after which the service moves the volume on.
const (
	StatusCreating      Status = "creating"
	StatusAvailable     Status = "available"
	StatusReserved      Status = "reserved"
	StatusAttaching     Status = "attaching"
	StatusDetaching     Status = "detaching"
	StatusInUse         Status = "in-use"
	StatusDeleting      Status = "deleting"
	StatusError         Status = "error"
	StatusErrorDeleting Status = "error_deleting"
	StatusExtending     Status = "extending"
	StatusErrorExtend   Status = "error_extending"
	StatusDownloading   Status = "downloading"
	StatusUploading     Status = "uploading"
	// StatusBackingUp and StatusRestoringBackup: a backup is being taken
	// of the volume, or restored into it; StatusErrorRestoring: a restore
	// failed (the volume's data is not to be trusted).
	StatusBackingUp       Status = "backing-up"
	StatusRestoringBackup Status = "restoring-backup"
	StatusErrorRestoring  Status = "error_restoring"
	// StatusAwaitingTransfer: the volume is offered to another project.
	StatusAwaitingTransfer Status = "awaiting-transfer"
)

// BackupStatus is a backup's status.
type BackupStatus string

// Backup states.
const (
	BackupCreating      BackupStatus = "creating"
	BackupAvailable     BackupStatus = "available"
	BackupDeleting      BackupStatus = "deleting"
	BackupError         BackupStatus = "error"
	BackupErrorDeleting BackupStatus = "error_deleting"
	BackupRestoring     BackupStatus = "restoring"
)

// AttachStatus is a volume's attach_status.
type AttachStatus string

// Attach states.
const (
	Detached  AttachStatus = "detached"
	Attaching AttachStatus = "attaching"
	Attached  AttachStatus = "attached"
	Detaching AttachStatus = "detaching"
	Reserved  AttachStatus = "reserved"
)

// Link is a link in a resource or a list's "_links".
type Link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
}

// Volume is a volume as GET /v3/{project_id}/volumes/{id} shows it. Fields
// that only some microversions or only admins see are pointers or maps that
// the renderer fills or leaves out.
type Volume struct {
	ID                 string            `json:"id"`
	Name               *string           `json:"name"`
	Description        *string           `json:"description"`
	Size               int               `json:"size"`
	Status             Status            `json:"status"`
	AvailabilityZone   string            `json:"availability_zone"`
	CreatedAt          string            `json:"created_at"`
	UpdatedAt          *string           `json:"updated_at"`
	Attachments        []Attachment      `json:"attachments"`
	Bootable           string            `json:"bootable"`
	Encrypted          bool              `json:"encrypted"`
	Links              []Link            `json:"links"`
	Metadata           map[string]string `json:"metadata"`
	Multiattach        bool              `json:"multiattach"`
	ReplicationStatus  *string           `json:"replication_status"`
	SnapshotID         *string           `json:"snapshot_id"`
	SourceVolID        *string           `json:"source_volid"`
	ConsistencyGroupID *string           `json:"consistencygroup_id"`
	UserID             string            `json:"user_id"`
	VolumeType         string            `json:"volume_type"`
	TenantID           *string           `json:"os-vol-tenant-attr:tenant_id,omitempty"`
	Host               *string           `json:"os-vol-host-attr:host,omitempty"`
	// MigStatus and NameID (admins) are raw so that a null is rendered
	// while an absent field is left out.
	MigStatus json.RawMessage `json:"os-vol-mig-status-attr:migstat,omitempty"`
	NameID    json.RawMessage `json:"os-vol-mig-status-attr:name_id,omitempty"`
	// MigrationStatus is shown to admins, as Cinder's view does.
	MigrationStatus json.RawMessage `json:"migration_status,omitempty"`
	// GroupID is shown from 3.13.
	GroupID *string `json:"group_id,omitempty"`
	// ProviderID is shown from 3.21.
	ProviderID *string `json:"provider_id,omitempty"`
	// ServiceUUID and SharedTargets are shown from 3.48.
	ServiceUUID   *string `json:"service_uuid,omitempty"`
	SharedTargets *bool   `json:"shared_targets,omitempty"`
	// ClusterName is shown from 3.61 to admins.
	ClusterName *string `json:"cluster_name,omitempty"`
	// VolumeTypeID is shown from 3.63.
	VolumeTypeID *string `json:"volume_type_id,omitempty"`
	// ConsumesQuota is shown from 3.65.
	ConsumesQuota *bool `json:"consumes_quota,omitempty"`
	// ImageMetadata is shown when the volume was made from an image.
	ImageMetadata map[string]string `json:"volume_image_metadata,omitempty"`
}

// VolumeSummary is an entry of GET /v3/{project_id}/volumes (not detail).
type VolumeSummary struct {
	ID    string  `json:"id"`
	Links []Link  `json:"links"`
	Name  *string `json:"name"`
}

// Attachment is an entry of a volume's "attachments".
type Attachment struct {
	ID           string  `json:"id"`
	AttachmentID string  `json:"attachment_id"`
	VolumeID     string  `json:"volume_id"`
	ServerID     *string `json:"server_id"`
	HostName     *string `json:"host_name"`
	Device       *string `json:"device"`
	AttachedAt   *string `json:"attached_at"`
}

// CreateVolume is the body of POST /v3/{project_id}/volumes.
type CreateVolume struct {
	Volume         *CreateVolumeParams `json:"volume"`
	SchedulerHints map[string]any      `json:"OS-SCH-HNT:scheduler_hints"`
}

// CreateVolumeParams are the new volume's attributes. Size stays raw: Cinder
// takes an integer or a string of digits and says which it refused.
type CreateVolumeParams struct {
	Size             json.RawMessage   `json:"size"`
	Name             *string           `json:"name"`
	Description      *string           `json:"description"`
	DisplayName      *string           `json:"display_name"`
	DisplayDesc      *string           `json:"display_description"`
	VolumeType       *string           `json:"volume_type"`
	AvailabilityZone *string           `json:"availability_zone"`
	Metadata         map[string]string `json:"metadata"`
	SnapshotID       *string           `json:"snapshot_id"`
	SourceVolID      *string           `json:"source_volid"`
	ImageRef         *string           `json:"imageRef"`
	ImageID          *string           `json:"image_id"`
	BackupID         *string           `json:"backup_id"`
	Multiattach      *bool             `json:"multiattach"`
	ConsistencyGroup *string           `json:"consistencygroup_id"`
	GroupID          *string           `json:"group_id"`
}

// UpdateVolume is the body of PUT /v3/{project_id}/volumes/{id}.
type UpdateVolume struct {
	Volume struct {
		Name        *string           `json:"name"`
		Description *string           `json:"description"`
		DisplayName *string           `json:"display_name"`
		DisplayDesc *string           `json:"display_description"`
		Metadata    map[string]string `json:"metadata"`
	} `json:"volume"`
}

// VolumeType is a volume type.
type VolumeType struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	IsPublic    bool              `json:"is_public"`
	AccessPub   bool              `json:"os-volume-type-access:is_public"`
	ExtraSpecs  map[string]string `json:"extra_specs,omitempty"`
	// QoSSpecsID is shown (null when unassociated) to those the
	// access_types_qos_specs_id policy allows, and absent for others.
	QoSSpecsID **string `json:"qos_specs_id,omitempty"`
}

// DefaultTypeName is the volume type Cinder creates and uses when no other
// default is configured.
const DefaultTypeName = "__DEFAULT__"

// Version is an entry of the version document.
type Version struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Version    string      `json:"version"`
	MinVersion string      `json:"min_version"`
	Updated    string      `json:"updated"`
	Links      []Link      `json:"links"`
	MediaTypes []MediaType `json:"media-types"`
}

// MediaType is a media type a version serves.
type MediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

// SnapshotStatus is a snapshot's status, as Cinder names them.
type SnapshotStatus string

// Snapshot states.
const (
	SnapshotCreating      SnapshotStatus = "creating"
	SnapshotAvailable     SnapshotStatus = "available"
	SnapshotDeleting      SnapshotStatus = "deleting"
	SnapshotError         SnapshotStatus = "error"
	SnapshotErrorDeleting SnapshotStatus = "error_deleting"
	SnapshotUpdating      SnapshotStatus = "updating"
	SnapshotUnmanaging    SnapshotStatus = "unmanaging"
	SnapshotBackingUp     SnapshotStatus = "backing-up"
	SnapshotRestoring     SnapshotStatus = "restoring"
)

// Snapshot is a snapshot as Cinder renders it: create, update and the
// plain list show the summary fields; show and the detailed list add the
// extended attributes (Progress, ProjectID) and the fields of later
// microversions.
type Snapshot struct {
	ID          string            `json:"id"`
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	VolumeID    string            `json:"volume_id"`
	Status      SnapshotStatus    `json:"status"`
	Size        int               `json:"size"`
	Metadata    map[string]string `json:"metadata"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   *string           `json:"updated_at"`
	Progress    *string           `json:"os-extended-snapshot-attributes:progress,omitempty"`
	ProjectID   *string           `json:"os-extended-snapshot-attributes:project_id,omitempty"`
	// UserID is shown from 3.41.
	UserID *string `json:"user_id,omitempty"`
	// ConsumesQuota is shown from 3.65.
	ConsumesQuota *bool `json:"consumes_quota,omitempty"`
}

// CreateSnapshot is the body of POST /v3/{project_id}/snapshots.
type CreateSnapshot struct {
	Snapshot *struct {
		VolumeID    json.RawMessage   `json:"volume_id"`
		Name        *string           `json:"name"`
		Description *string           `json:"description"`
		DisplayName *string           `json:"display_name"`
		DisplayDesc *string           `json:"display_description"`
		Force       any               `json:"force"`
		Metadata    map[string]string `json:"metadata"`
	} `json:"snapshot"`
}

// UploadImage is the argument of os-volume_upload_image.
type UploadImage struct {
	ImageName       *string `json:"image_name"`
	Force           any     `json:"force,omitempty"`
	DiskFormat      string  `json:"disk_format,omitempty"`
	ContainerFormat string  `json:"container_format,omitempty"`
	// Visibility and Protected are read from microversion 3.1.
	Visibility string `json:"visibility,omitempty"`
	Protected  any    `json:"protected,omitempty"`
}

// UploadedImage answers os-volume_upload_image.
type UploadedImage struct {
	ID                 string     `json:"id"`
	UpdatedAt          *string    `json:"updated_at"`
	Status             Status     `json:"status"`
	DisplayDescription *string    `json:"display_description"`
	Size               int        `json:"size"`
	VolumeType         *TypeBrief `json:"volume_type"`
	ImageID            string     `json:"image_id"`
	ContainerFormat    string     `json:"container_format"`
	DiskFormat         string     `json:"disk_format"`
	ImageName          string     `json:"image_name"`
	Protected          *bool      `json:"protected,omitempty"`
	Visibility         string     `json:"visibility,omitempty"`
}

// TypeBrief is the volume type inside an os-volume_upload_image answer.
type TypeBrief struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	IsPublic    bool              `json:"is_public"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
	Deleted     bool              `json:"deleted"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   *string           `json:"updated_at"`
	DeletedAt   *string           `json:"deleted_at"`
	QosSpecsID  *string           `json:"qos_specs_id"`
}

// GroupType is a group type (3.11). GroupSpecs is shown to those the
// access_group_types_specs policy allows and absent for others.
type GroupType struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	IsPublic    bool              `json:"is_public"`
	GroupSpecs  map[string]string `json:"group_specs,omitempty"`
}

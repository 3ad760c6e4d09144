package volume

// CreateBackup is the body of POST /backups.
type CreateBackup struct {
	Backup *struct {
		VolumeID    *string `json:"volume_id"`
		Container   *string `json:"container"`
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Incremental any     `json:"incremental"`
		Force       any     `json:"force"`
		SnapshotID  *string `json:"snapshot_id"`
	} `json:"backup"`
}

// Backup is a backup in show and detail responses.
type Backup struct {
	ID                  string       `json:"id"`
	Name                *string      `json:"name"`
	Description         *string      `json:"description"`
	Status              BackupStatus `json:"status"`
	Size                int          `json:"size"`
	ObjectCount         int          `json:"object_count"`
	Container           *string      `json:"container"`
	AvailabilityZone    *string      `json:"availability_zone"`
	CreatedAt           string       `json:"created_at"`
	UpdatedAt           *string      `json:"updated_at"`
	DataTimestamp       *string      `json:"data_timestamp"`
	FailReason          *string      `json:"fail_reason"`
	HasDependentBackups bool         `json:"has_dependent_backups"`
	IsIncremental       bool         `json:"is_incremental"`
	SnapshotID          *string      `json:"snapshot_id"`
	VolumeID            string       `json:"volume_id"`
	Links               []Link       `json:"links"`
	// ProjectID is os-backup-project-attr:project_id (3.18, admins).
	ProjectID *string `json:"os-backup-project-attr:project_id,omitempty"`
}

// BackupSummary is a backup in a list without details, and the answer to
// a create.
type BackupSummary struct {
	ID    string  `json:"id"`
	Name  *string `json:"name"`
	Links []Link  `json:"links"`
}

// RestoreBackup is the body of POST /backups/{id}/restore.
type RestoreBackup struct {
	Restore *struct {
		VolumeID *string `json:"volume_id"`
		Name     *string `json:"name"`
	} `json:"restore"`
}

// Restore answers a restore.
type Restore struct {
	BackupID   string `json:"backup_id"`
	VolumeID   string `json:"volume_id"`
	VolumeName string `json:"volume_name"`
}

-- Volume backups, as Cinder keeps them: a deleted backup keeps its row
-- (deleted = true). host is the volume service whose backup repository
-- holds the data; parent_id the backup an incremental one builds on;
-- volume_metadata what the volume's records held (metadata, image
-- metadata, bootable) as JSON, put back on the volume a restore writes.
CREATE TABLE backups (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    volume_id VARCHAR(36) NOT NULL,
    name VARCHAR(255),
    description {{TEXT}},
    status VARCHAR(32) NOT NULL,
    size INTEGER NOT NULL,
    object_count INTEGER NOT NULL,
    container VARCHAR(255),
    availability_zone VARCHAR(255),
    host VARCHAR(255),
    fail_reason {{TEXT}},
    is_incremental BOOLEAN NOT NULL,
    parent_id VARCHAR(36),
    restore_volume_id VARCHAR(36),
    data_timestamp BIGINT NOT NULL,
    volume_metadata {{TEXT}},
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX backups_project_idx ON backups (deleted, project_id, created_at);
CREATE INDEX backups_volume_idx ON backups (volume_id, deleted);
CREATE INDEX backups_parent_idx ON backups (parent_id, deleted);

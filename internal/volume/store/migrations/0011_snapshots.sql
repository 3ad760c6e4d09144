-- Snapshots of volumes and their metadata. A deleted snapshot keeps its
-- row (deleted = true), as volumes do.
CREATE TABLE snapshots (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    volume_id VARCHAR(36) NOT NULL,
    name VARCHAR(255),
    description {{TEXT}},
    volume_size INTEGER NOT NULL,
    status VARCHAR(32) NOT NULL,
    progress VARCHAR(255) NOT NULL,
    error_reason {{TEXT}},
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX snapshots_project_idx ON snapshots (deleted, project_id, created_at);
CREATE INDEX snapshots_volume_idx ON snapshots (volume_id, deleted);

CREATE TABLE snapshot_metadata (
    snapshot_id VARCHAR(36) NOT NULL,
    meta_key VARCHAR(255) NOT NULL,
    meta_value {{TEXT}} NOT NULL,
    PRIMARY KEY (snapshot_id, meta_key)
);

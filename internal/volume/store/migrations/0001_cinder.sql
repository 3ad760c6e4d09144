-- Volumes, their metadata, volume types with extra specs, and the volume
-- services' reports, as Cinder keeps them: a deleted volume keeps its row
-- (deleted = true) so its id is never reused.
CREATE TABLE volumes (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    name VARCHAR(255),
    description {{TEXT}},
    size INTEGER NOT NULL,
    status VARCHAR(32) NOT NULL,
    attach_status VARCHAR(32) NOT NULL,
    availability_zone VARCHAR(255) NOT NULL,
    volume_type_id VARCHAR(36) NOT NULL,
    host VARCHAR(255),
    bootable BOOLEAN NOT NULL,
    multiattach BOOLEAN NOT NULL,
    snapshot_id VARCHAR(36),
    source_volid VARCHAR(36),
    image_id VARCHAR(36),
    error_reason {{TEXT}},
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    launched_at BIGINT,
    deleted BOOLEAN NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX volumes_project_idx ON volumes (deleted, project_id, created_at);
CREATE INDEX volumes_host_idx ON volumes (host);
CREATE INDEX volumes_status_idx ON volumes (status);

CREATE TABLE volume_metadata (
    volume_id VARCHAR(36) NOT NULL,
    meta_key VARCHAR(255) NOT NULL,
    meta_value {{TEXT}} NOT NULL,
    PRIMARY KEY (volume_id, meta_key)
);

CREATE TABLE volume_types (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description {{TEXT}},
    is_public BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    deleted_at BIGINT,
    live_name VARCHAR(255)
);
CREATE UNIQUE INDEX volume_types_live_name_idx ON volume_types (live_name);

CREATE TABLE volume_type_extra_specs (
    volume_type_id VARCHAR(36) NOT NULL,
    spec_key VARCHAR(255) NOT NULL,
    spec_value {{TEXT}} NOT NULL,
    PRIMARY KEY (volume_type_id, spec_key)
);

CREATE TABLE volume_type_projects (
    volume_type_id VARCHAR(36) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    PRIMARY KEY (volume_type_id, project_id)
);

-- services are the volume services (cinder-volume) and their last report:
-- capacity and capabilities, for the scheduler and os-services.
CREATE TABLE services (
    host VARCHAR(255) NOT NULL,
    svc_binary VARCHAR(64) NOT NULL,
    availability_zone VARCHAR(255) NOT NULL,
    disabled BOOLEAN NOT NULL,
    disabled_reason {{TEXT}},
    capabilities {{TEXT}} NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (host, svc_binary)
);

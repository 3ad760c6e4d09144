-- Volume attachments, as Cinder keeps them: one row per attachment of a
-- volume to an instance (several for a multiattach volume). A deleted
-- attachment keeps its row (deleted = true) with its detach time.
CREATE TABLE volume_attachments (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    volume_id VARCHAR(36) NOT NULL,
    instance_uuid VARCHAR(36),
    attached_host VARCHAR(255),
    mountpoint VARCHAR(255),
    attach_status VARCHAR(32) NOT NULL,
    attach_mode VARCHAR(8) NOT NULL,
    connector {{TEXT}},
    connection_info {{TEXT}},
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    attach_time BIGINT,
    detach_time BIGINT,
    deleted BOOLEAN NOT NULL
);
CREATE INDEX volume_attachments_volume_idx ON volume_attachments (volume_id, deleted);
CREATE INDEX volume_attachments_instance_idx ON volume_attachments (instance_uuid, deleted);

-- Volume transfers (Cinder's transfers): an offer of a volume to another
-- project, accepted with the auth key whose HMAC-SHA1 under salt is
-- crypt_hash. A transfer accepted or withdrawn keeps its row
-- (deleted = true).
CREATE TABLE transfers (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    volume_id VARCHAR(36) NOT NULL,
    name VARCHAR(255),
    salt VARCHAR(255) NOT NULL,
    crypt_hash VARCHAR(255) NOT NULL,
    source_project_id VARCHAR(255) NOT NULL,
    destination_project_id VARCHAR(255),
    accepted BOOLEAN NOT NULL,
    no_snapshots BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX transfers_volume_idx ON transfers (volume_id, deleted);
CREATE INDEX transfers_project_idx ON transfers (source_project_id, deleted);

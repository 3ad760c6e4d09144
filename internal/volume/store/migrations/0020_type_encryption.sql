-- A volume type's encryption (/types/{id}/encryption): the provider,
-- cipher, key size and where the data is encrypted; one per type.
CREATE TABLE volume_type_encryption (
    volume_type_id VARCHAR(36) NOT NULL PRIMARY KEY,
    encryption_id VARCHAR(36) NOT NULL,
    provider VARCHAR(255) NOT NULL,
    cipher VARCHAR(255),
    key_size INTEGER,
    control_location VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Images, their custom properties, tags and members, as Glance keeps them:
-- a deleted image keeps its row (status deleted) so its id is never reused.
CREATE TABLE images (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(255),
    disk_format VARCHAR(20),
    container_format VARCHAR(20),
    size BIGINT,
    virtual_size BIGINT,
    status VARCHAR(30) NOT NULL,
    visibility VARCHAR(20) NOT NULL,
    checksum VARCHAR(32),
    os_hash_algo VARCHAR(64),
    os_hash_value VARCHAR(128),
    min_disk INTEGER NOT NULL,
    min_ram INTEGER NOT NULL,
    owner VARCHAR(255),
    protected BOOLEAN NOT NULL,
    os_hidden BOOLEAN NOT NULL,
    location {{TEXT}},
    staged_size BIGINT,
    worker VARCHAR(255),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX images_list_idx ON images (deleted, created_at, id);
CREATE INDEX images_owner_idx ON images (owner);
CREATE INDEX images_visibility_idx ON images (visibility);
CREATE INDEX images_status_idx ON images (status);
CREATE INDEX images_checksum_idx ON images (checksum);
CREATE INDEX images_os_hash_value_idx ON images (os_hash_value);

CREATE TABLE image_properties (
    image_id VARCHAR(36) NOT NULL,
    name VARCHAR(255) NOT NULL,
    value {{TEXT}} NOT NULL,
    PRIMARY KEY (image_id, name)
);
CREATE INDEX image_properties_name_idx ON image_properties (name);

CREATE TABLE image_tags (
    image_id VARCHAR(36) NOT NULL,
    value VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (image_id, value)
);
CREATE INDEX image_tags_value_idx ON image_tags (value);

CREATE TABLE image_members (
    image_id VARCHAR(36) NOT NULL,
    member VARCHAR(255) NOT NULL,
    status VARCHAR(20) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (image_id, member)
);
CREATE INDEX image_members_member_idx ON image_members (member, status);

-- Asynchronous operations (imports).
CREATE TABLE tasks (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    type VARCHAR(30) NOT NULL,
    status VARCHAR(30) NOT NULL,
    owner VARCHAR(255),
    image_id VARCHAR(36),
    user_id VARCHAR(255),
    request_id VARCHAR(255),
    input {{TEXT}},
    result {{TEXT}},
    message {{TEXT}},
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tasks_image_idx ON tasks (image_id);

-- The metadata-definition catalog.
CREATE TABLE metadef_namespaces (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    namespace VARCHAR(80) NOT NULL,
    display_name VARCHAR(80),
    description {{TEXT}},
    visibility VARCHAR(32) NOT NULL,
    protected BOOLEAN NOT NULL,
    owner VARCHAR(255),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX metadef_namespaces_namespace_idx ON metadef_namespaces (namespace);

CREATE TABLE metadef_resource_types (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(80) NOT NULL,
    protected BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX metadef_resource_types_name_idx ON metadef_resource_types (name);

CREATE TABLE metadef_namespace_resource_types (
    namespace_id VARCHAR(36) NOT NULL,
    resource_type_id VARCHAR(36) NOT NULL,
    properties_target VARCHAR(80),
    prefix VARCHAR(80),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, resource_type_id)
);

CREATE TABLE metadef_objects (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    namespace_id VARCHAR(36) NOT NULL,
    name VARCHAR(80) NOT NULL,
    description {{TEXT}},
    required {{TEXT}},
    json_schema {{TEXT}},
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX metadef_objects_name_idx ON metadef_objects (namespace_id, name);

CREATE TABLE metadef_properties (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    namespace_id VARCHAR(36) NOT NULL,
    name VARCHAR(80) NOT NULL,
    json_schema {{TEXT}} NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX metadef_properties_name_idx ON metadef_properties (namespace_id, name);

CREATE TABLE metadef_tags (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    namespace_id VARCHAR(36) NOT NULL,
    name VARCHAR(80) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX metadef_tags_name_idx ON metadef_tags (namespace_id, name);

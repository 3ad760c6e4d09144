-- Group types (3.11) with their group specs, as Cinder keeps them: a
-- deleted type keeps its row (deleted = true); live_name is the name of a
-- live type, unique among them.
CREATE TABLE group_types (
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
CREATE UNIQUE INDEX group_types_live_name_idx ON group_types (live_name);

CREATE TABLE group_type_specs (
    group_type_id VARCHAR(36) NOT NULL,
    spec_key VARCHAR(255) NOT NULL,
    spec_value {{TEXT}} NOT NULL,
    PRIMARY KEY (group_type_id, spec_key)
);

-- Keystone's id_mapping: the public ids of users and groups that live in a
-- domain's LDAP directory, by domain, local id (the directory's id attribute)
-- and entity type. Public ids are Keystone's sha256 of the three, so every
-- replica computes the same one.

CREATE TABLE id_mapping (
    public_id VARCHAR(64) NOT NULL PRIMARY KEY,
    domain_id VARCHAR(64) NOT NULL,
    local_id VARCHAR(255) NOT NULL,
    entity_type VARCHAR(16) NOT NULL,
    CONSTRAINT id_mapping_local UNIQUE (domain_id, local_id, entity_type)
);

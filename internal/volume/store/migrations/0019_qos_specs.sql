-- QoS specs (/qos-specs): a named set of key/value limits for a consumer
-- (front-end, back-end, both), associated with volume types through
-- volume_types.qos_specs_id (a type has at most one).
CREATE TABLE qos_specs (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    consumer VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX qos_specs_name_idx ON qos_specs (name);

CREATE TABLE qos_specs_keys (
    qos_specs_id VARCHAR(36) NOT NULL,
    spec_key VARCHAR(255) NOT NULL,
    spec_value {{TEXT}} NOT NULL,
    PRIMARY KEY (qos_specs_id, spec_key)
);

ALTER TABLE volume_types ADD COLUMN qos_specs_id VARCHAR(36);

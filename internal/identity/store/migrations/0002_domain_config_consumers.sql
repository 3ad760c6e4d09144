-- Domain-specific configuration (the /v3/domains/{id}/config API) and OAuth1
-- consumers.

CREATE TABLE domain_config (
    domain_id VARCHAR(64) NOT NULL PRIMARY KEY,
    config {{TEXT}} NOT NULL
);

CREATE TABLE oauth_consumer (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    description {{TEXT}},
    secret VARCHAR(64) NOT NULL,
    extra {{TEXT}}
);

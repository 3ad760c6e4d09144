-- Unified limits: registered (default) limits per service and resource, and
-- project or domain limits that override them. Empty strings stand for "no
-- region", "no project" and "no domain" so that the unique keys hold on every
-- engine (NULLs never collide).

CREATE TABLE registered_limit (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    service_id VARCHAR(64) NOT NULL,
    region_id VARCHAR(255) NOT NULL,
    resource_name VARCHAR(255) NOT NULL,
    default_limit BIGINT NOT NULL,
    description {{TEXT}},
    CONSTRAINT registered_limit_unique UNIQUE (service_id, region_id, resource_name)
);

CREATE TABLE project_limit (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    project_id VARCHAR(64) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    service_id VARCHAR(64) NOT NULL,
    region_id VARCHAR(64) NOT NULL,
    resource_name VARCHAR(255) NOT NULL,
    resource_limit BIGINT NOT NULL,
    description {{TEXT}},
    CONSTRAINT project_limit_unique UNIQUE (project_id, domain_id, service_id, region_id, resource_name)
);

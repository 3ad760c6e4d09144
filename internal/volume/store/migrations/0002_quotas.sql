-- Per-project quota overrides (defaults come from cinder.conf), and one
-- lock row per project that quota checks hold while they count and insert.
CREATE TABLE quotas (
    project_id VARCHAR(255) NOT NULL,
    resource VARCHAR(255) NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);

CREATE TABLE quota_locks (
    project_id VARCHAR(255) NOT NULL PRIMARY KEY
);

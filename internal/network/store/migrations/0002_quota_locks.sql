-- One row per project whose quota-checked creations are serialised: a
-- creating transaction upserts the project's row (which locks it on
-- PostgreSQL and MariaDB) before it counts what the project has, so that
-- two creations can never both count the same total and both fit.
CREATE TABLE quota_locks (
    project_id VARCHAR(255) NOT NULL PRIMARY KEY,
    locked_at BIGINT NOT NULL
);

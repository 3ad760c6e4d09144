-- A table exercising the portable types.
CREATE TABLE widgets (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    state VARCHAR(32) NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    extra {{TEXT}},
    data {{BLOB}},
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    UNIQUE (name)
);
CREATE INDEX widgets_state ON widgets (state);

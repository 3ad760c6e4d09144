-- User messages (Cinder's messages, 3.3): what went wrong with a user's
-- asynchronous request, kept until expires_at (message_ttl).
CREATE TABLE messages (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    request_id VARCHAR(255),
    resource_type VARCHAR(255) NOT NULL,
    resource_uuid VARCHAR(36),
    event_id VARCHAR(255) NOT NULL,
    detail_id VARCHAR(10),
    message_level VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL
);
CREATE INDEX messages_project_idx ON messages (deleted, project_id, created_at);
CREATE INDEX messages_expires_idx ON messages (expires_at);

-- Keystone's data model, in tenku's portable SQL (see platform/store).
-- Domains are projects with is_domain = TRUE whose domain_id is the root
-- sentinel, as in Keystone, so that names, hierarchy and tags are shared.

CREATE TABLE project (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(64) NOT NULL,
    description {{TEXT}},
    enabled BOOLEAN NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    parent_id VARCHAR(64),
    is_domain BOOLEAN NOT NULL,
    extra {{TEXT}},
    created_at BIGINT NOT NULL,
    CONSTRAINT project_domain_name UNIQUE (domain_id, name)
);
CREATE INDEX project_parent ON project (parent_id);

CREATE TABLE project_tag (
    project_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    PRIMARY KEY (project_id, name),
    FOREIGN KEY (project_id) REFERENCES project (id) ON DELETE CASCADE
);

CREATE TABLE users (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    domain_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    enabled BOOLEAN NOT NULL,
    default_project_id VARCHAR(64),
    extra {{TEXT}},
    options {{TEXT}},
    created_at BIGINT NOT NULL,
    last_active_at BIGINT,
    failed_auth_count INTEGER NOT NULL DEFAULT 0,
    failed_auth_at BIGINT,
    CONSTRAINT users_domain_name UNIQUE (domain_id, name)
);

CREATE TABLE password (
    id {{SERIAL}},
    user_id VARCHAR(64) NOT NULL,
    hash VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    self_service BOOLEAN NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX password_user ON password (user_id);

CREATE TABLE user_group (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    domain_id VARCHAR(64) NOT NULL,
    name VARCHAR(64) NOT NULL,
    description {{TEXT}},
    extra {{TEXT}},
    CONSTRAINT user_group_domain_name UNIQUE (domain_id, name)
);

CREATE TABLE membership (
    user_id VARCHAR(64) NOT NULL,
    group_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (user_id, group_id),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    FOREIGN KEY (group_id) REFERENCES user_group (id) ON DELETE CASCADE
);
CREATE INDEX membership_group ON membership (group_id);

-- domain_id is '<<null>>' for global roles, as Keystone stores them.
CREATE TABLE role (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    description {{TEXT}},
    extra {{TEXT}},
    options {{TEXT}},
    CONSTRAINT role_name_domain UNIQUE (name, domain_id)
);

CREATE TABLE implied_role (
    prior_role_id VARCHAR(64) NOT NULL,
    implied_role_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (prior_role_id, implied_role_id),
    FOREIGN KEY (prior_role_id) REFERENCES role (id) ON DELETE CASCADE,
    FOREIGN KEY (implied_role_id) REFERENCES role (id) ON DELETE CASCADE
);

-- kind: UserProject, GroupProject, UserDomain, GroupDomain, UserSystem,
-- GroupSystem (target_id 'system').
CREATE TABLE assignment (
    kind VARCHAR(16) NOT NULL,
    actor_id VARCHAR(64) NOT NULL,
    target_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    inherited BOOLEAN NOT NULL,
    PRIMARY KEY (kind, actor_id, target_id, role_id, inherited)
);
CREATE INDEX assignment_actor ON assignment (actor_id);
CREATE INDEX assignment_target ON assignment (target_id);
CREATE INDEX assignment_role ON assignment (role_id);

CREATE TABLE region (
    id VARCHAR(255) NOT NULL PRIMARY KEY,
    description {{TEXT}},
    parent_region_id VARCHAR(255),
    extra {{TEXT}}
);

CREATE TABLE service (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    type VARCHAR(255) NOT NULL,
    name VARCHAR(255),
    description {{TEXT}},
    enabled BOOLEAN NOT NULL,
    extra {{TEXT}}
);

CREATE TABLE endpoint (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    service_id VARCHAR(64) NOT NULL,
    interface VARCHAR(8) NOT NULL,
    region_id VARCHAR(255),
    url {{TEXT}} NOT NULL,
    enabled BOOLEAN NOT NULL,
    extra {{TEXT}},
    FOREIGN KEY (service_id) REFERENCES service (id) ON DELETE CASCADE
);
CREATE INDEX endpoint_service ON endpoint (service_id);

CREATE TABLE credential (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    type VARCHAR(255) NOT NULL,
    data {{TEXT}} NOT NULL,
    extra {{TEXT}}
);
CREATE INDEX credential_user ON credential (user_id);

CREATE TABLE application_credential (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    secret_hash VARCHAR(255) NOT NULL,
    description {{TEXT}},
    user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    system_scope VARCHAR(64),
    expires_at BIGINT,
    unrestricted BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT application_credential_user_name UNIQUE (user_id, name)
);
CREATE INDEX application_credential_project ON application_credential (project_id);

CREATE TABLE application_credential_role (
    application_credential_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (application_credential_id, role_id),
    FOREIGN KEY (application_credential_id) REFERENCES application_credential (id) ON DELETE CASCADE
);

CREATE TABLE access_rule (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL,
    service VARCHAR(64) NOT NULL,
    path VARCHAR(128) NOT NULL,
    method VARCHAR(16) NOT NULL,
    CONSTRAINT access_rule_unique UNIQUE (user_id, service, path, method)
);

CREATE TABLE application_credential_access_rule (
    application_credential_id VARCHAR(64) NOT NULL,
    access_rule_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (application_credential_id, access_rule_id),
    FOREIGN KEY (application_credential_id) REFERENCES application_credential (id) ON DELETE CASCADE,
    FOREIGN KEY (access_rule_id) REFERENCES access_rule (id) ON DELETE CASCADE
);

CREATE TABLE trust (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    trustor_user_id VARCHAR(64) NOT NULL,
    trustee_user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    impersonation BOOLEAN NOT NULL,
    expires_at BIGINT,
    remaining_uses INTEGER,
    redelegated_trust_id VARCHAR(64),
    redelegation_count INTEGER,
    extra {{TEXT}},
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX trust_trustor ON trust (trustor_user_id);
CREATE INDEX trust_trustee ON trust (trustee_user_id);

CREATE TABLE trust_role (
    trust_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (trust_id, role_id),
    FOREIGN KEY (trust_id) REFERENCES trust (id) ON DELETE CASCADE
);

CREATE TABLE policy (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    type VARCHAR(255) NOT NULL,
    data {{TEXT}} NOT NULL,
    extra {{TEXT}}
);

CREATE TABLE endpoint_group (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description {{TEXT}},
    filters {{TEXT}} NOT NULL
);

CREATE TABLE project_endpoint (
    endpoint_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (endpoint_id, project_id)
);

CREATE TABLE project_endpoint_group (
    endpoint_group_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (endpoint_group_id, project_id),
    FOREIGN KEY (endpoint_group_id) REFERENCES endpoint_group (id) ON DELETE CASCADE
);

-- Keystone's revocation events: a token matching every non-null field and
-- issued before issued_before is revoked.
CREATE TABLE revocation_event (
    id {{SERIAL}},
    domain_id VARCHAR(64),
    project_id VARCHAR(64),
    user_id VARCHAR(64),
    role_id VARCHAR(64),
    trust_id VARCHAR(64),
    consumer_id VARCHAR(64),
    access_token_id VARCHAR(64),
    issued_before BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT NOT NULL,
    audit_id VARCHAR(32),
    audit_chain_id VARCHAR(32)
);
CREATE INDEX revocation_event_revoked_at ON revocation_event (revoked_at);

-- The Fernet key repository, shared by every node (idx 0 is staged).
CREATE TABLE fernet_key (
    idx INTEGER NOT NULL PRIMARY KEY,
    secret VARCHAR(64) NOT NULL,
    created_at BIGINT NOT NULL
);

-- Bumped after every write that may change what a cached token says; every
-- process polls it and flushes its caches when it moves.
CREATE TABLE cache_epoch (
    name VARCHAR(32) NOT NULL PRIMARY KEY,
    epoch BIGINT NOT NULL
);
INSERT INTO cache_epoch (name, epoch) VALUES ('identity', 1);

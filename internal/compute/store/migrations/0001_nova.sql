-- Nova's schema: instances and what hangs off them, flavors, key pairs,
-- quotas, server groups, aggregates, services, compute nodes with their
-- allocations, and migrations. Times are BIGINT microseconds (store.Time);
-- task_state '' is Python's None.
CREATE TABLE instances (
    id {{SERIAL}},
    uuid VARCHAR(36) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    display_name VARCHAR(255) NOT NULL,
    display_description {{TEXT}},
    hostname VARCHAR(255) NOT NULL DEFAULT '',
    image_ref VARCHAR(255) NOT NULL DEFAULT '',
    flavor_id VARCHAR(255) NOT NULL,
    flavor {{TEXT}} NOT NULL,
    old_flavor {{TEXT}},
    new_flavor {{TEXT}},
    vm_state VARCHAR(32) NOT NULL,
    task_state VARCHAR(64) NOT NULL DEFAULT '',
    power_state INTEGER NOT NULL DEFAULT 0,
    host VARCHAR(255) NOT NULL DEFAULT '',
    node VARCHAR(255) NOT NULL DEFAULT '',
    launched_on VARCHAR(255) NOT NULL DEFAULT '',
    availability_zone VARCHAR(255) NOT NULL DEFAULT '',
    key_name VARCHAR(255) NOT NULL DEFAULT '',
    key_data {{TEXT}},
    user_data {{TEXT}},
    config_drive VARCHAR(16) NOT NULL DEFAULT '',
    metadata {{TEXT}},
    system_metadata {{TEXT}},
    network_info {{TEXT}},
    security_groups {{TEXT}},
    request_spec {{TEXT}},
    access_ip_v4 VARCHAR(64) NOT NULL DEFAULT '',
    access_ip_v6 VARCHAR(64) NOT NULL DEFAULT '',
    locked_by VARCHAR(16) NOT NULL DEFAULT '',
    auto_disk_config BOOLEAN NOT NULL DEFAULT FALSE,
    progress INTEGER NOT NULL DEFAULT 0,
    reservation_id VARCHAR(32) NOT NULL DEFAULT '',
    launch_index INTEGER NOT NULL DEFAULT 0,
    root_device_name VARCHAR(255) NOT NULL DEFAULT '',
    kernel_id VARCHAR(255) NOT NULL DEFAULT '',
    ramdisk_id VARCHAR(255) NOT NULL DEFAULT '',
    vcpus INTEGER NOT NULL DEFAULT 0,
    memory_mb INTEGER NOT NULL DEFAULT 0,
    root_gb INTEGER NOT NULL DEFAULT 0,
    ephemeral_gb INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    launched_at BIGINT,
    terminated_at BIGINT,
    deleted_at BIGINT,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (uuid)
);
CREATE INDEX instances_project ON instances (project_id, deleted);
CREATE INDEX instances_host ON instances (host, deleted);
CREATE INDEX instances_updated ON instances (updated_at);

CREATE TABLE instance_faults (
    id {{SERIAL}},
    instance_uuid VARCHAR(36) NOT NULL,
    code INTEGER NOT NULL,
    message {{TEXT}} NOT NULL,
    details {{TEXT}},
    host VARCHAR(255) NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX instance_faults_instance ON instance_faults (instance_uuid);

CREATE TABLE instance_actions (
    id {{SERIAL}},
    action VARCHAR(255) NOT NULL,
    instance_uuid VARCHAR(36) NOT NULL,
    request_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    start_time BIGINT NOT NULL,
    finish_time BIGINT,
    message VARCHAR(255) NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
CREATE INDEX instance_actions_instance ON instance_actions (instance_uuid, request_id);

CREATE TABLE instance_actions_events (
    id {{SERIAL}},
    action_id BIGINT NOT NULL,
    event VARCHAR(255) NOT NULL,
    start_time BIGINT NOT NULL,
    finish_time BIGINT,
    result VARCHAR(255) NOT NULL DEFAULT '',
    traceback {{TEXT}},
    host VARCHAR(255) NOT NULL DEFAULT '',
    details {{TEXT}}
);
CREATE INDEX instance_actions_events_action ON instance_actions_events (action_id);

CREATE TABLE instance_tags (
    instance_uuid VARCHAR(36) NOT NULL,
    tag VARCHAR(80) NOT NULL,
    PRIMARY KEY (instance_uuid, tag)
);
CREATE INDEX instance_tags_tag ON instance_tags (tag);

CREATE TABLE block_device_mapping (
    id {{SERIAL}},
    uuid VARCHAR(36) NOT NULL,
    instance_uuid VARCHAR(36) NOT NULL,
    source_type VARCHAR(32) NOT NULL,
    destination_type VARCHAR(32) NOT NULL,
    device_name VARCHAR(255) NOT NULL DEFAULT '',
    boot_index INTEGER,
    volume_id VARCHAR(36) NOT NULL DEFAULT '',
    image_id VARCHAR(36) NOT NULL DEFAULT '',
    snapshot_id VARCHAR(36) NOT NULL DEFAULT '',
    volume_size INTEGER,
    volume_type VARCHAR(255) NOT NULL DEFAULT '',
    delete_on_termination BOOLEAN NOT NULL DEFAULT FALSE,
    disk_bus VARCHAR(32) NOT NULL DEFAULT '',
    device_type VARCHAR(32) NOT NULL DEFAULT '',
    guest_format VARCHAR(32) NOT NULL DEFAULT '',
    tag VARCHAR(255) NOT NULL DEFAULT '',
    attachment_id VARCHAR(36) NOT NULL DEFAULT '',
    connection_info {{TEXT}},
    created_at BIGINT NOT NULL,
    UNIQUE (uuid)
);
CREATE INDEX bdm_instance ON block_device_mapping (instance_uuid);

CREATE TABLE flavors (
    id {{SERIAL}},
    flavorid VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    memory_mb INTEGER NOT NULL,
    vcpus INTEGER NOT NULL,
    root_gb INTEGER NOT NULL,
    ephemeral_gb INTEGER NOT NULL DEFAULT 0,
    swap INTEGER NOT NULL DEFAULT 0,
    rxtx_factor DOUBLE PRECISION NOT NULL DEFAULT 1,
    is_public BOOLEAN NOT NULL DEFAULT TRUE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    description {{TEXT}},
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (flavorid),
    UNIQUE (name)
);

CREATE TABLE flavor_extra_specs (
    flavor_id BIGINT NOT NULL,
    spec_key VARCHAR(255) NOT NULL,
    spec_value VARCHAR(255) NOT NULL,
    PRIMARY KEY (flavor_id, spec_key)
);

CREATE TABLE flavor_projects (
    flavor_id BIGINT NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    PRIMARY KEY (flavor_id, project_id)
);

CREATE TABLE key_pairs (
    id {{SERIAL}},
    name VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    fingerprint VARCHAR(255) NOT NULL,
    public_key {{TEXT}} NOT NULL,
    type VARCHAR(16) NOT NULL DEFAULT 'ssh',
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE quotas (
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL DEFAULT '',
    resource VARCHAR(255) NOT NULL,
    hard_limit INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id, resource)
);

CREATE TABLE quota_classes (
    class_name VARCHAR(255) NOT NULL,
    resource VARCHAR(255) NOT NULL,
    hard_limit INTEGER NOT NULL,
    PRIMARY KEY (class_name, resource)
);

-- Counters of resources in use, per project (user_id '') and per user, kept
-- in the transactions that create and delete instances; a conditional
-- increment enforces a limit atomically on every engine.
CREATE TABLE quota_usages (
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL DEFAULT '',
    resource VARCHAR(255) NOT NULL,
    in_use INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, user_id, resource)
);

CREATE TABLE instance_groups (
    id {{SERIAL}},
    uuid VARCHAR(36) NOT NULL,
    name VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    policy VARCHAR(64) NOT NULL,
    rules {{TEXT}},
    created_at BIGINT NOT NULL,
    UNIQUE (uuid)
);
CREATE INDEX instance_groups_project ON instance_groups (project_id);

CREATE TABLE instance_group_member (
    group_id BIGINT NOT NULL,
    instance_uuid VARCHAR(36) NOT NULL,
    PRIMARY KEY (group_id, instance_uuid)
);
CREATE INDEX instance_group_member_instance ON instance_group_member (instance_uuid);

CREATE TABLE aggregates (
    id {{SERIAL}},
    uuid VARCHAR(36) NOT NULL,
    name VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (uuid),
    UNIQUE (name)
);

CREATE TABLE aggregate_hosts (
    aggregate_id BIGINT NOT NULL,
    host VARCHAR(255) NOT NULL,
    PRIMARY KEY (aggregate_id, host)
);

CREATE TABLE aggregate_metadata (
    aggregate_id BIGINT NOT NULL,
    meta_key VARCHAR(255) NOT NULL,
    meta_value VARCHAR(255) NOT NULL,
    PRIMARY KEY (aggregate_id, meta_key)
);

CREATE TABLE services (
    id {{SERIAL}},
    uuid VARCHAR(36) NOT NULL,
    host VARCHAR(255) NOT NULL,
    svc_binary VARCHAR(255) NOT NULL,
    topic VARCHAR(255) NOT NULL DEFAULT '',
    report_count INTEGER NOT NULL DEFAULT 0,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason VARCHAR(255) NOT NULL DEFAULT '',
    forced_down BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen_up BIGINT,
    version INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (uuid),
    UNIQUE (host, svc_binary)
);

CREATE TABLE compute_nodes (
    id {{SERIAL}},
    uuid VARCHAR(36) NOT NULL,
    host VARCHAR(255) NOT NULL,
    hypervisor_hostname VARCHAR(255) NOT NULL,
    hypervisor_type VARCHAR(255) NOT NULL,
    hypervisor_version INTEGER NOT NULL DEFAULT 0,
    host_ip VARCHAR(64) NOT NULL DEFAULT '',
    vcpus INTEGER NOT NULL,
    vcpus_used INTEGER NOT NULL DEFAULT 0,
    memory_mb INTEGER NOT NULL,
    memory_mb_used INTEGER NOT NULL DEFAULT 0,
    local_gb INTEGER NOT NULL,
    local_gb_used INTEGER NOT NULL DEFAULT 0,
    running_vms INTEGER NOT NULL DEFAULT 0,
    reserved_host_cpus INTEGER NOT NULL DEFAULT 0,
    reserved_host_memory_mb INTEGER NOT NULL DEFAULT 0,
    reserved_host_disk_gb INTEGER NOT NULL DEFAULT 0,
    cpu_allocation_ratio DOUBLE PRECISION NOT NULL DEFAULT 0,
    ram_allocation_ratio DOUBLE PRECISION NOT NULL DEFAULT 0,
    disk_allocation_ratio DOUBLE PRECISION NOT NULL DEFAULT 0,
    cpu_info {{TEXT}},
    generation BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (uuid),
    UNIQUE (host, hypervisor_hostname)
);

-- What each consumer (an instance, or a migration holding the source side of
-- a resize) takes from each compute node. compute_nodes.*_used is their sum,
-- changed only in the transactions that claim and free.
CREATE TABLE allocations (
    consumer_id VARCHAR(36) NOT NULL,
    node_uuid VARCHAR(36) NOT NULL,
    project_id VARCHAR(255) NOT NULL DEFAULT '',
    vcpus INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    disk_gb INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (consumer_id, node_uuid)
);
CREATE INDEX allocations_node ON allocations (node_uuid);

CREATE TABLE migrations (
    id {{SERIAL}},
    uuid VARCHAR(36) NOT NULL,
    instance_uuid VARCHAR(36) NOT NULL,
    project_id VARCHAR(255) NOT NULL DEFAULT '',
    user_id VARCHAR(255) NOT NULL DEFAULT '',
    source_compute VARCHAR(255) NOT NULL DEFAULT '',
    source_node VARCHAR(255) NOT NULL DEFAULT '',
    dest_compute VARCHAR(255) NOT NULL DEFAULT '',
    dest_node VARCHAR(255) NOT NULL DEFAULT '',
    dest_host VARCHAR(255) NOT NULL DEFAULT '',
    old_flavor_id VARCHAR(255) NOT NULL DEFAULT '',
    new_flavor_id VARCHAR(255) NOT NULL DEFAULT '',
    status VARCHAR(255) NOT NULL,
    migration_type VARCHAR(32) NOT NULL,
    hidden BOOLEAN NOT NULL DEFAULT FALSE,
    memory_total BIGINT,
    memory_processed BIGINT,
    memory_remaining BIGINT,
    disk_total BIGINT,
    disk_processed BIGINT,
    disk_remaining BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (uuid)
);
CREATE INDEX migrations_instance ON migrations (instance_uuid);

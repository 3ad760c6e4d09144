-- tenku networking (Neutron) schema.
-- Times are BIGINT microseconds; list attributes that are never searched by
-- value are JSON text; fixed IPs are also rows of ip_allocations, whose primary
-- key is what keeps an address from being handed out twice.

CREATE TABLE networks (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    admin_state_up BOOLEAN NOT NULL,
    status VARCHAR(16) NOT NULL,
    shared BOOLEAN NOT NULL,
    is_external BOOLEAN NOT NULL,
    is_default BOOLEAN NOT NULL,
    mtu INTEGER NOT NULL,
    port_security_enabled BOOLEAN NOT NULL,
    network_type VARCHAR(32) NOT NULL,
    physical_network VARCHAR(64) NOT NULL,
    segmentation_id INTEGER,
    az_hints VARCHAR(255) NOT NULL,
    revision_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One VLAN/VNI per physical network; flat networks store segmentation id 0 so
-- that a physical network carries one flat network; local networks store NULL.
CREATE UNIQUE INDEX networks_segment ON networks (network_type, physical_network, segmentation_id);
CREATE INDEX networks_project ON networks (project_id);

CREATE TABLE subnets (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    network_id VARCHAR(36) NOT NULL REFERENCES networks (id),
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    ip_version INTEGER NOT NULL,
    cidr VARCHAR(64) NOT NULL,
    gateway_ip VARCHAR(64),
    enable_dhcp BOOLEAN NOT NULL,
    ipv6_ra_mode VARCHAR(16),
    ipv6_address_mode VARCHAR(16),
    subnetpool_id VARCHAR(36),
    allocation_pools {{TEXT}} NOT NULL,
    host_routes {{TEXT}} NOT NULL,
    dns_nameservers {{TEXT}} NOT NULL,
    service_types {{TEXT}} NOT NULL,
    revision_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX subnets_network ON subnets (network_id);
CREATE INDEX subnets_pool ON subnets (subnetpool_id);

CREATE TABLE ports (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    network_id VARCHAR(36) NOT NULL REFERENCES networks (id),
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    mac_address VARCHAR(32) NOT NULL,
    admin_state_up BOOLEAN NOT NULL,
    status VARCHAR(16) NOT NULL,
    device_id VARCHAR(255) NOT NULL,
    device_owner VARCHAR(255) NOT NULL,
    port_security_enabled BOOLEAN NOT NULL,
    host_id VARCHAR(255) NOT NULL,
    vnic_type VARCHAR(64) NOT NULL,
    vif_type VARCHAR(64) NOT NULL,
    vif_details {{TEXT}} NOT NULL,
    binding_profile {{TEXT}} NOT NULL,
    fixed_ips {{TEXT}} NOT NULL,
    security_groups {{TEXT}} NOT NULL,
    allowed_address_pairs {{TEXT}} NOT NULL,
    extra_dhcp_opts {{TEXT}} NOT NULL,
    revision_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ports_mac ON ports (network_id, mac_address);
CREATE INDEX ports_device ON ports (device_id);
CREATE INDEX ports_project ON ports (project_id);
CREATE INDEX ports_host ON ports (host_id);

CREATE TABLE ip_allocations (
    subnet_id VARCHAR(36) NOT NULL REFERENCES subnets (id),
    ip_address VARCHAR(64) NOT NULL,
    -- No foreign key: addresses are claimed before the port row is written,
    -- in the same transaction; DeletePort removes them.
    port_id VARCHAR(36) NOT NULL,
    network_id VARCHAR(36) NOT NULL,
    PRIMARY KEY (subnet_id, ip_address)
);
CREATE INDEX ip_allocations_port ON ip_allocations (port_id);
CREATE INDEX ip_allocations_ip ON ip_allocations (ip_address);

CREATE TABLE security_groups (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    stateful BOOLEAN NOT NULL,
    revision_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX security_groups_project ON security_groups (project_id);

-- The default group of each project; the primary key makes its creation race-free.
CREATE TABLE default_security_groups (
    project_id VARCHAR(255) NOT NULL PRIMARY KEY,
    security_group_id VARCHAR(36) NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE
);

CREATE TABLE security_group_rules (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    security_group_id VARCHAR(36) NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE,
    direction VARCHAR(16) NOT NULL,
    ethertype VARCHAR(8) NOT NULL,
    protocol VARCHAR(40),
    port_range_min INTEGER,
    port_range_max INTEGER,
    remote_ip_prefix VARCHAR(64),
    remote_group_id VARCHAR(36) REFERENCES security_groups (id) ON DELETE CASCADE,
    rule_key VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    revision_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- rule_key is the rule's normalised content: duplicates are refused by the index.
CREATE UNIQUE INDEX security_group_rules_key ON security_group_rules (security_group_id, rule_key);
CREATE INDEX security_group_rules_remote ON security_group_rules (remote_group_id);

CREATE TABLE port_security_groups (
    port_id VARCHAR(36) NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
    security_group_id VARCHAR(36) NOT NULL REFERENCES security_groups (id),
    PRIMARY KEY (port_id, security_group_id)
);
CREATE INDEX port_security_groups_group ON port_security_groups (security_group_id);

CREATE TABLE routers (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    admin_state_up BOOLEAN NOT NULL,
    status VARCHAR(16) NOT NULL,
    gw_port_id VARCHAR(36),
    gw_network_id VARCHAR(36),
    enable_snat BOOLEAN NOT NULL,
    routes {{TEXT}} NOT NULL,
    distributed BOOLEAN NOT NULL,
    ha BOOLEAN NOT NULL,
    az_hints VARCHAR(255) NOT NULL,
    revision_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX routers_project ON routers (project_id);
CREATE INDEX routers_gw_network ON routers (gw_network_id);

CREATE TABLE floatingips (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    floating_network_id VARCHAR(36) NOT NULL REFERENCES networks (id),
    floating_ip_address VARCHAR(64) NOT NULL,
    floating_port_id VARCHAR(36) NOT NULL REFERENCES ports (id),
    fixed_port_id VARCHAR(36) REFERENCES ports (id),
    fixed_ip_address VARCHAR(64),
    router_id VARCHAR(36) REFERENCES routers (id),
    status VARCHAR(16) NOT NULL,
    description VARCHAR(255) NOT NULL,
    revision_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- A fixed address has at most one floating IP per external network.
CREATE UNIQUE INDEX floatingips_fixed ON floatingips (floating_network_id, fixed_port_id, fixed_ip_address);
CREATE INDEX floatingips_project ON floatingips (project_id);
CREATE INDEX floatingips_router ON floatingips (router_id);

CREATE TABLE address_scopes (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    ip_version INTEGER NOT NULL,
    shared BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE subnetpools (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    ip_version INTEGER NOT NULL,
    prefixes {{TEXT}} NOT NULL,
    default_prefixlen INTEGER NOT NULL,
    min_prefixlen INTEGER NOT NULL,
    max_prefixlen INTEGER NOT NULL,
    default_quota INTEGER,
    shared BOOLEAN NOT NULL,
    is_default BOOLEAN NOT NULL,
    address_scope_id VARCHAR(36) REFERENCES address_scopes (id),
    revision_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE tags (
    resource_type VARCHAR(32) NOT NULL,
    resource_id VARCHAR(36) NOT NULL,
    tag VARCHAR(255) NOT NULL,
    PRIMARY KEY (resource_id, tag)
);
CREATE INDEX tags_type ON tags (resource_type, tag);

CREATE TABLE quotas (
    project_id VARCHAR(255) NOT NULL,
    resource_name VARCHAR(64) NOT NULL,
    hard_limit INTEGER NOT NULL,
    PRIMARY KEY (project_id, resource_name)
);

CREATE TABLE agents (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    agent_type VARCHAR(64) NOT NULL,
    binary_name VARCHAR(255) NOT NULL,
    topic VARCHAR(255) NOT NULL,
    host VARCHAR(255) NOT NULL,
    admin_state_up BOOLEAN NOT NULL,
    availability_zone VARCHAR(255),
    configurations {{TEXT}} NOT NULL,
    resource_versions {{TEXT}} NOT NULL,
    description VARCHAR(255),
    created_at BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX agents_type_host ON agents (agent_type, host);

CREATE TABLE network_dhcp_agents (
    network_id VARCHAR(36) NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    agent_id VARCHAR(36) NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (network_id, agent_id)
);
CREATE INDEX network_dhcp_agents_agent ON network_dhcp_agents (agent_id);

CREATE TABLE router_l3_agents (
    router_id VARCHAR(36) NOT NULL REFERENCES routers (id) ON DELETE CASCADE,
    agent_id VARCHAR(36) NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (router_id, agent_id)
);
CREATE INDEX router_l3_agents_agent ON router_l3_agents (agent_id);

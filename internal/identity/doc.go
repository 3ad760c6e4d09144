// Package identity is tenku's Keystone: the Identity v3 API on port 5000,
// wire-compatible with OpenStack Keystone, and what keystone-manage does
// (db_sync, bootstrap, fernet_setup, fernet_rotate).
//
// It owns authentication (password, token and application_credential
// methods, with Keystone's security compliance rules), Fernet tokens whose
// keys live in the database so every node shares them, token validation with
// revocation events, the resources (domains, projects, users, groups, roles,
// assignments, the catalog, credentials, application credentials, trusts),
// and Keystone's default policy.
//
// Layout: store (SQL), password (hashing), rules (default policy),
// token/fernet (the token format). This package wires them: config.go
// (keystone.conf), service.go (New, Start, Shutdown, Validator), auth.go and
// tokens.go (issuing and validating), mint.go (password-less tokens for the
// process itself), cache.go (what is cached and how it is invalidated across
// processes), roles.go (effective role computation), policy.go (credentials
// for Keystone's rules), bootstrap.go and keys.go (keystone-manage), and the
// routes by resource: api_auth.go, api_domains.go, api_projects.go,
// api_tags.go, api_users.go, api_roles.go, api_grants.go, api_assignments.go,
// api_catalog.go, api_epfilter.go, api_credentials.go, api_trusts.go,
// api_domainconfig.go, api_limits.go.
//
// Policy: Keystone's default rules with enforce_scope and enforce_new_defaults
// off, as a Zed or 2023.1 devstack runs Keystone: a project-scoped admin is a
// cloud admin (tempest's admin clients), system-scoped tokens work too, a
// member or reader cannot write, and a domain-scoped token lists only its
// domain's users, groups, projects and assignments.
//
// Validation is the hot path: a validated token is cached with its rendered
// body; everything it depends on is tagged with a cache generation that any
// write moves (see cache.go), so a cache hit costs one map lookup.
//
// identity imports api/identity, its subpackages, the platform packages, and
// github.com/google/uuid.
package identity

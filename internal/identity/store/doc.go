// Package store keeps Keystone's data in SQL: domains and projects (one table,
// as Keystone: a domain is a project with is_domain set), users and their
// password history, groups and membership, roles, implied roles and role
// assignments, the catalog (regions, services, endpoints, endpoint groups),
// credentials, application credentials and access rules, trusts, policy blobs,
// revocation events, the shared Fernet key repository, and the cache epoch every
// Keystone process polls to learn that another one changed something.
//
// Methods return platform/fault errors with Keystone's messages for missing rows
// (404) and duplicates (409), so the API layer can return them as they are.
//
// store imports platform/store and platform/fault only.
package store

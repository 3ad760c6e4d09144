// Package identity holds the wire types of tenku's Keystone v3 API: the auth
// request, the token document, the catalog, version documents and the
// resources (domains, projects, users, groups, roles, assignments, services,
// endpoints, regions, credentials, application credentials, trusts).
//
// Field names and JSON shapes follow the Keystone API reference. Resources
// that Keystone lets callers extend with free-form attributes carry them in
// Extra, which is flattened into the object when encoding.
//
// identity imports the standard library only.
package identity

// Package ldap is Keystone's read-only LDAP identity driver: users and
// groups read from a directory with Keystone's [ldap] options, passwords
// checked by binding as the user. It knows nothing of public ids, SQL or
// HTTP: the identity service maps its local ids (the user_id_attribute and
// group_id_attribute values) to Keystone's public ids.
//
// ldap imports only the standard library and github.com/go-ldap/ldap/v3.
package ldap

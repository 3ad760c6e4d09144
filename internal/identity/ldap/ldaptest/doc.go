// Package ldaptest starts a private OpenLDAP slapd for tests: its own
// cn=config built by slapadd in a temporary directory, a small directory
// loaded from LDIF, listening on a 127.x.y.z address and an unusual port,
// and killed when the test ends. Tests skip when slapd is not installed
// (scripts/install-deps installs it).
//
// ldaptest imports only the standard library.
package ldaptest

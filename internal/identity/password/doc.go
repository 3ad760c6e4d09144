// Package password hashes and checks user passwords and application credential
// secrets as Keystone does: new hashes are bcrypt (Keystone's default
// password_hash_algorithm, cost from password_hash_rounds, 12 by default);
// hashes imported from another Keystone or passlib also verify: bcrypt
// ($2a$, $2b$, $2y$), sha512_crypt ($6$) and pbkdf2_sha512 ($pbkdf2-sha512$).
//
// bcrypt reads at most 72 bytes of a password; like passlib, which Keystone
// uses, longer passwords are truncated rather than refused.
//
// password imports the standard library and golang.org/x/crypto/bcrypt only.
package password

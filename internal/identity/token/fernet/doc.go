// Package fernet issues and validates Keystone-compatible Fernet tokens.
//
// It owns three things:
//
//   - the token payload codec: the msgpack lists Keystone's TokenFormatter
//     lays out for every payload version (unscoped, domain, project, trust,
//     federated unscoped/project/domain, OAuth1, system, application
//     credential, OAuth2 mTLS), including Keystone's conventions for ids
//     ((true, 16 uuid bytes) or (false, string)), expiry (float seconds),
//     audit ids (16 raw bytes) and auth methods (an integer bitmask over an
//     ordered method list);
//   - the Fernet envelope (AES-128-CBC + HMAC-SHA256, base64url with the '='
//     padding stripped, as Keystone sends tokens);
//   - key handling in Keystone's format: KeyRing mirrors the key repository
//     /etc/keystone/fernet-keys (0 = staged, highest = primary, the rest
//     secondary) and keystone-manage fernet_setup / fernet_rotate; ReadKeyDir
//     and WriteKeyDir move keys to and from such a directory.
//
// A token made here validates in an OpenStack Keystone that shares the keys
// and the [auth] methods list, and the other way round; testdata holds
// vectors produced by Keystone's own code that prove it.
//
// Persistence of keys is the caller's job (tenku keeps them in the identity
// database): this package never reads configuration or touches storage
// except in ReadKeyDir/WriteKeyDir, which an operator command calls.
//
// Imports: the standard library, github.com/fernet/fernet-go and
// github.com/vmihailenco/msgpack/v5 only; no other tenku package.
package fernet

// Package authn is tenku's keystonemiddleware: it turns the X-Auth-Token of a request
// into an authenticated Context (who, in which scope, with which roles) by asking
// Keystone, and caches the answers. The cache respects revocation: Keystone
// publishes a revocation notice on the bus and every service drops what it cached.
//
// authn imports platform/fault and gophercloud (to ask Keystone).
package authn

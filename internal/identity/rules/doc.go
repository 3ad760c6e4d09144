// Package rules holds Keystone's default policy rules (the "identity:*" rules
// and the shared admin_required, service_role, owner, token_subject checks),
// as oslo.policy registers them in Keystone Zed: names, check strings, scope
// types and the deprecated checks they replaced.
//
// rules imports platform/policy only.
package rules

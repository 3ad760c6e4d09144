// Package dashboard is tenku's Horizon: a server-rendered web interface
// (html/template, embedded static files, no JavaScript needed for the core
// flows) that talks only to the public OpenStack REST APIs, with the user's own
// Keystone token, finding every service through the token's catalog. It has no
// database and imports no service: put in front of any Keystone (auth_url) it
// works as it does in front of tenku stack.
//
// Sessions are stateless: the user's tokens live in an AES-GCM sealed,
// HttpOnly, SameSite=Lax cookie; every form carries the session's CSRF token;
// logging out revokes the tokens at Keystone. Each page gathers what it shows
// with one parallel fan-out of API calls on the server, never one call per row.
//
// dashboard imports the standard library and internal/platform only.
package dashboard

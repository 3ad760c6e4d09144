// Package volume holds the wire types of tenku's block storage service,
// Cinder's Block Storage API v3: request and response bodies, volume states
// and the version document.
//
// volume imports only the standard library.
package volume

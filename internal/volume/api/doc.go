// Package api is the Block Storage API v3 (cinder-api) on port 8776:
// version documents, volumes, volume types with extra specs and access, and
// the manager that the volume services report to over the bus (their
// results, heartbeats and reconciliation queries), which is the only writer
// of volume states besides the API itself. Every state change is a
// compare-and-swap in internal/volume/store.
//
// Errors are Cinder's bodies ({"badRequest": {"code", "message"}},
// itemNotFound, overLimit, ...).
//
// api imports api/volume, volume/{store,rpc,scheduler,glance}, platform/{rest,
// fault,authn,policy,bus,logging,store} and github.com/google/uuid.
package api

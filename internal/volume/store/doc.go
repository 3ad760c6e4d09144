// Package store is the block storage service's database: volumes with their
// metadata, volume types with extra specs and project access, and the
// reports of the volume services (capacity and capabilities), on SQLite,
// PostgreSQL or MariaDB through platform/store.
//
// Every status change of a volume is a compare-and-swap (UpdateVolume with
// the states it may leave), so that two requests, or a request and the
// reconciliation, never both move a volume out of a state.
//
// It enforces no policy and renders no HTTP.
//
// store imports platform/store, platform/fault, api/volume and
// github.com/google/uuid.
package store

// Package db is the image service's database: images with their custom
// properties, tags and members, import tasks, and the metadata-definition
// catalog (namespaces, objects, properties, tags, resource types), on
// SQLite, PostgreSQL or MariaDB through platform/store.
//
// It knows Glance's visibility rules for listing (owner, public, community,
// and shared images the caller is a member of), the filters and sort keys
// of GET /v2/images with keyset pagination on a marker, and it makes every
// status change of an image a compare-and-swap inside a transaction
// (Update), so that two requests never both move an image out of a state.
//
// It enforces no policy and renders no HTTP: callers (internal/image/api)
// decide who may do what. Errors are platform/fault values (ErrNotFound and
// friends) or wrapped database errors.
//
// db imports platform/store, platform/fault, api/image and
// github.com/google/uuid.
package db

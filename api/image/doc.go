// Package image holds the wire types of tenku's image service, the Glance v2
// API: images (whose custom properties sit beside the core attributes in one
// flat JSON object), members, the import and discovery documents, tasks, the
// metadata-definition catalog (namespaces, objects, properties, tags and
// resource types), and the enumerations the API speaks (image and member
// statuses, visibilities).
//
// The types marshal exactly as Glance answers; a client of tenku (or of any
// Glance) can decode responses into them.
//
// image imports only the standard library.
package image

// Package image is tenku's image service, Glance: the catalog of operating
// system images every virtual machine boots from, served on port 9292 with
// the Glance v2 API (see internal/image/api), image data kept by the
// filesystem store (internal/image/store) after the format inspector
// (internal/image/format) has found it to be what it claims and safe to
// hand to QEMU, and its records in the service's own database
// (internal/image/db).
//
// The assembly uses DefaultConfig (glance-api.conf's options), Migrations,
// New (an http.Handler and a service.Service), and LoadImages, which
// registers a directory of image files as public images the way devstack
// uploads its test image.
//
// image imports its subpackages, platform/{service,logging} and
// gophercloud (to read unified limits from Keystone).
package image

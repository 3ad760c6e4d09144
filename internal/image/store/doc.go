// Package store keeps image data: Glance's filesystem store. Write streams
// an upload into a temporary file with constant memory, computing the md5
// checksum and the sha512 os_hash_value in the same pass (on two goroutines,
// so that hashing keeps pace with the disk) and feeding every byte to an
// extra writer such as the format inspector; nothing is visible under the
// image's name until Commit renames the file into place, and Abort leaves no
// trace. Open reads a committed image, a byte range of it if asked.
//
// A Store also serves as the staging area of the interoperable import
// (node_staging_uri): the same code, another directory.
//
// Locations are file:// URLs, as Glance's file store writes them.
//
// store imports only the standard library.
package store

// Package glance is the block storage service's client of the Image
// service (Cinder's cinder/image/glance.py): image metadata, data
// download for volumes made from images, and image creation and upload
// for os-volume_upload_image. It logs in as the service user and finds
// Glance in the catalog; a call may instead carry a user's token, so that
// the user sees only the images the user may see.
//
// glance imports platform/authn, platform/fault and gophercloud.
package glance

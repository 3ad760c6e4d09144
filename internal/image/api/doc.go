// Package api is the HTTP face of tenku's image service: the Glance v2 API
// (images, image data upload and download, the interoperable import,
// members, tags, tasks, JSON schemas, discovery, metadata definitions, the
// image cache) and
// Glance's version document, answered as Glance answers — status codes,
// webob-style error bodies, headers — so that python-openstackclient,
// glanceclient, openstacksdk, gophercloud and tempest work unchanged.
//
// Routes are data (rest.Route tables in each resource file). Every image
// operation checks Glance's default policies (DefaultRules) with the image
// as the target, turning a refusal into 404 when the caller may not even
// see the image, as Glance does. Image data passes through the format
// inspector (internal/image/format) before an image becomes active: content
// that is not what disk_format says, or that is unsafe for QEMU, is refused
// and the image goes back to queued with nothing left in the store.
//
// api imports api/image, internal/image/{db,store,format}, the platform
// packages (rest, fault, authn, policy, logging, store) and
// github.com/google/uuid.
package api

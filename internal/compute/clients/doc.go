// Package clients holds the compute service's view of the services it calls:
// the small interfaces it owns (Images for Glance, Network for Neutron,
// Volumes for Cinder), their
// gophercloud implementations that speak REST with the user's token or the
// service user's, as OpenStack does, and (in clients/fakes) in-memory fakes
// for tests.
//
// clients imports platform/authn, platform/fault, compute/objects, api/volume
// (Cinder's wire types) and gophercloud.
package clients

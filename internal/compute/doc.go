// Package compute is Nova as one tenku service: nova-api (the Compute API
// v2.1 on port 8774), nova-conductor and nova-scheduler (workers in queue
// groups on the bus). Compute agents (nova-compute) are built with
// compute/agent for each hypervisor host.
//
// The assembly calls DefaultConfig, migrates the database with Migrations,
// creates the default flavors with EnsureDefaultFlavors, then New; the
// returned Service is the API's http.Handler and a service.Service that runs
// the conductor and scheduler workers. MetadataHandler is the metadata API
// for guests, to serve on port 8775.
//
// compute imports its own subpackages (api, agent, conductor, conf, store,
// clients, metadata, virt) and platform/*; it never imports a concrete hypervisor
// driver: the assembly hands one to WithAgent.
package compute

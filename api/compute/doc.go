// Package compute holds the wire types of tenku's compute service, the Nova
// Compute API v2.1 at its newest microversion (MaxVersion): the version
// documents and microversion headers, servers (the create request, the
// detailed view, addresses, faults), flavors, key pairs, server groups,
// limits and quota sets, instance actions and their events, external
// events, services, hypervisors, aggregates, availability zones and
// migrations, the fault body, and the enumerations the API speaks (server
// statuses, vm_state, task_state and power_state values, the events of the
// boot sequence).
//
// The types marshal as Nova answers at MaxVersion; a client of tenku (or of
// any Nova) can decode responses into them. Attributes Nova renders as null
// are pointers here. Older microversions show subsets (and a few older
// shapes) that these types do not model.
//
// compute imports only the standard library.
package compute

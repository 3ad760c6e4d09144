// Package objects holds Nova's domain records as plain Go values: instances
// with their flavor snapshot, network info and request spec, flavors, key
// pairs, server groups, aggregates, services, compute nodes, migrations,
// instance actions and faults. The store persists them, the bus carries them
// between nova-api, the conductor, the scheduler and the compute agents (as
// Nova's versioned objects travel over RPC), and the API renders them.
//
// objects imports the standard library and compute/states only.
package objects

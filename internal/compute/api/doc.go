// Package api is nova-api: the Compute API v2.1 with microversions 2.1 to
// MaxVersion, wire-compatible with Nova's. Routes are declared as data in one
// table per resource file; handlers validate, enforce Nova's default policy
// rules, read and write the compute store, call Glance and Neutron through
// the consumer-owned interfaces of compute/clients, and hand work to the
// conductor and the compute agents over the bus (compute/rpc).
//
// Server actions are guarded by compute/states' guard table: the API moves
// the instance into the action's task state with a compare-and-swap and
// answers 409 when the instance is in a state that forbids the action.
//
// api imports platform/{rest,fault,authn,policy,logging}, compute/{conf,
// objects,states,store,rpc,clients,scheduler}, and api/compute.
package api

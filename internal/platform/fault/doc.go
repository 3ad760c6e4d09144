// Package fault defines the typed errors every tenku service returns: an HTTP status,
// an OpenStack-style type name and a message for the user. Each service's REST layer
// renders them in its own error body format (Keystone's {"error": ...}, Nova's
// {"itemNotFound": ...}, Neutron's {"NeutronError": ...}, and so on).
//
// fault imports only the standard library.
package fault

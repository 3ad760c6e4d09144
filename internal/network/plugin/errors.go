package plugin

import (
	"fmt"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Neutron answers with its exception class name as "type"; these helpers
// build the faults it would raise, with its messages.

func typed(f *fault.Error, typ string) *fault.Error { return f.WithType(typ) }

// BadAttr is the API layer's "Invalid input for <attr>. Reason: <reason>." (HTTPBadRequest).
func BadAttr(attr, format string, args ...any) *fault.Error {
	return typed(fault.BadRequest("Invalid input for %s. Reason: %s.", attr, fmt.Sprintf(format, args...)), "HTTPBadRequest")
}

// InvalidInput is Neutron's InvalidInput: "Invalid input for operation: <msg>."
func InvalidInput(format string, args ...any) *fault.Error {
	return typed(fault.BadRequest("Invalid input for operation: %s.", fmt.Sprintf(format, args...)), "InvalidInput")
}

// BadRequest is Neutron's BadRequest: "Bad <resource> request: <msg>."
func BadRequest(resource, format string, args ...any) *fault.Error {
	return typed(fault.BadRequest("Bad %s request: %s.", resource, fmt.Sprintf(format, args...)), "BadRequest")
}

func notFound(typ, format string, args ...any) *fault.Error {
	return typed(fault.NotFound(format, args...), typ)
}

func conflict(typ, format string, args ...any) *fault.Error {
	return typed(fault.Conflict(format, args...), typ)
}

func badRequest(typ, format string, args ...any) *fault.Error {
	return typed(fault.BadRequest(format, args...), typ)
}

// NetworkNotFound and friends are the 404s of each resource.
func NetworkNotFound(id string) *fault.Error {
	return notFound("NetworkNotFound", "Network %s could not be found.", id)
}

// SubnetNotFound is a 404.
func SubnetNotFound(id string) *fault.Error {
	return notFound("SubnetNotFound", "Subnet %s could not be found.", id)
}

// PortNotFound is a 404.
func PortNotFound(id string) *fault.Error {
	return notFound("PortNotFound", "Port %s could not be found.", id)
}

// RouterNotFound is a 404.
func RouterNotFound(id string) *fault.Error {
	return notFound("RouterNotFound", "Router %s could not be found", id)
}

// FloatingIPNotFound is a 404.
func FloatingIPNotFound(id string) *fault.Error {
	return notFound("FloatingIPNotFound", "Floating IP %s could not be found", id)
}

// SecurityGroupNotFound is a 404.
func SecurityGroupNotFound(id string) *fault.Error {
	return notFound("SecurityGroupNotFound", "Security group %s does not exist", id)
}

// SecurityGroupRuleNotFound is a 404.
func SecurityGroupRuleNotFound(id string) *fault.Error {
	return notFound("SecurityGroupRuleNotFound", "Security group rule %s does not exist", id)
}

// SubnetPoolNotFound is a 404.
func SubnetPoolNotFound(id string) *fault.Error {
	return notFound("SubnetPoolNotFound", "Subnet pool %s could not be found.", id)
}

// AddressScopeNotFound is a 404.
func AddressScopeNotFound(id string) *fault.Error {
	return notFound("AddressScopeNotFound", "Address scope %s could not be found", id)
}

// AgentNotFound is a 404.
func AgentNotFound(id string) *fault.Error {
	return notFound("AgentNotFound", "Agent %s could not be found.", id)
}

// OverQuota is Neutron's 409 for an exceeded quota.
func OverQuota(resource string) *fault.Error {
	return conflict("OverQuota", "Quota exceeded for resources: ['%s'].", resource)
}

// RevisionConflict is the 412 of a failed If-Match.
func RevisionConflict(expected, current int64) *fault.Error {
	return typed(fault.PreconditionFailed("Constrained to %d, but current revision is %d", expected, current), "RevisionNumberConstraintFailed")
}

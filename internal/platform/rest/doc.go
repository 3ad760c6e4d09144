// Package rest is the HTTP layer every tenku API shares: routes declared as data
// (method, path, microversion range, policy rule, request schema, handler), one
// place that renders results and faults in the service's own OpenStack error format,
// request ids (x-openstack-request-id), token authentication through authn, body
// size limits (413), JSON decoding with schema validation, microversion
// negotiation, pagination helpers, panic recovery and access logs.
//
// Handlers are func(ctx, *Request) (any, error): they return a value to encode as
// JSON with the route's status, a *Response for anything else, or an error that
// becomes a fault body.
//
// rest imports platform/fault, platform/authn and platform/logging, and
// github.com/santhosh-tekuri/jsonschema/v6.
package rest

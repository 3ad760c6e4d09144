// Package metrics is tenku's Prometheus instrumentation: one Registry per
// process, served on /metrics by its own listener (off unless
// --metrics-listen names an address), with the series operators watch on an
// OpenStack control plane: API requests by service, route template, status
// and latency (the HTTP middleware of every served API, with the route
// template the rest router matched — never the raw path, so cardinality is
// bounded by the route tables); bus calls, casts and handled messages by
// topic and method; scheduler decisions; builds by phase and outcome;
// agent heartbeats received; database pool use (database/sql's statistics
// of every open pool).
//
// Every method of a nil *Registry does nothing, so code handed no registry
// (unit tests, tools) needs no checks.
//
// metrics imports the Prometheus Go client library and the standard library
// only.
package metrics

// Package api is tenku's Neutron v2.0 API: the HTTP routes of networks,
// subnets, ports, routers, floating IPs, security groups and rules, subnet
// pools, address scopes, tags, quotas, agents (with DHCP and L3 scheduling),
// availability zones, extensions and the version documents.
//
// It owns what Neutron's API layer does before the plugin runs: body decoding
// with Neutron's attribute validation and messages, policy (Neutron's default
// rules, attribute-level create/update rules, get rules that hide attributes
// or whole resources), filters, fields selection, sorting, pagination with
// next/previous links, If-Match revision constraints and bulk creation. The
// plugin does the rest.
//
// Responses are encoded by a reflection-cached encoder that writes only the
// selected, visible attributes, fast enough to list ten thousand ports in a
// few tens of milliseconds.
//
// api imports api/network, internal/network/{plugin,store}, and
// platform/{rest,policy,authn,fault,store}.
package api

// Package store is the persistence of tenku's networking service: networks,
// subnets, ports and their IP allocations, security groups and rules, routers,
// floating IPs, subnet pools, address scopes, tags, quotas, agents and their
// network and router bindings, in the service's own database (SQLite,
// PostgreSQL or MariaDB through platform/store).
//
// Reads and writes are methods of Q, which wraps either the database or a
// transaction, so that the plugin composes several of them in one
// transaction (Store.Tx). Lists take the caller's visibility (its project, or
// all for admins) and attribute filters by API name; the store owns every SQL
// string. Updates are compare-and-swaps on revision_number.
//
// The primary key of ip_allocations (subnet, address) is what makes IPAM
// unique under concurrency: AllocateIP inserts with "on conflict do nothing"
// and tries another address when the row was not inserted.
//
// store imports api/network, platform/store and platform/fault.
package store

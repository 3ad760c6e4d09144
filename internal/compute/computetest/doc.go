// Package computetest runs the compute service in-process for tests and
// benchmarks: nova-api on a loopback HTTP server, the conductor and scheduler
// workers, and any number of compute agents on fake hypervisors, over an
// embedded bus and a SQLite (or any) database, with in-memory Glance and
// Neutron. Fake Neutron reports bound ports plugged by POSTing
// os-server-external-events to the API, as the real one does.
//
// computetest imports compute and its subpackages and platform/*; the
// hypervisor driver of each host is the caller's choice (tests use the fake
// driver). It is for tests and benchmarks only.
package computetest

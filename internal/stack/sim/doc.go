// Package sim is a simulated big cloud: one control plane (Keystone, Glance,
// Neutron, Nova's API, conductor and scheduler), or several replicas of it on
// one database and bus, and many compute hosts and network agents
// multiplexed in this process, each its own host on the bus with its own
// resources and heartbeats, on the fake hypervisor and data plane. It is what
// `go run ./tools/bench sim` measures (issue 15's benchmarks); nothing in it
// is used by a deployment.
package sim

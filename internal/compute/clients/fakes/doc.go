// Package fakes holds in-memory Glance and Neutron for the compute service's
// tests: they keep images and ports in maps, fail where the real services
// fail (unknown ids, foreign ports), and the network fake can report ports
// plugged the way Neutron's notifier does (network-vif-plugged).
//
// fakes imports compute/clients, compute/objects and platform/fault.
package fakes

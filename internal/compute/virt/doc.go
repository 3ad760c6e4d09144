// Package virt is the hypervisor driver interface of the compute agent:
// Nova's ComputeDriver narrowed to a small core (Driver) plus optional
// abilities found by type assertion (Pauser, Suspender, Snapshotter,
// Rescuer, LiveMigrator, InterfaceAttacher, VolumeAttacher, ...). A driver
// that lacks an ability makes the agent answer as Nova does when a driver
// raises NotImplementedError.
//
// Spawn receives a Spec with everything resolved: the flavor, the cached
// base image and the disks to create on it, the NICs with MAC, tap device,
// bridge and MTU, the config drive and the user data and metadata, so that a
// driver needs no OpenStack service to build a guest.
//
// virt imports the standard library and compute/states only.
package virt

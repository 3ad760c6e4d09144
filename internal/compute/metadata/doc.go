// Package metadata makes what a guest learns about itself the OpenStack
// way: the documents of Nova's metadata service (openstack/<version>/
// meta_data.json, network_data.json, vendor_data.json, vendor_data2.json,
// user_data, and the EC2 meta-data) from an instance's facts, and the
// config drive that carries them to the guest — an ISO 9660 image with
// Joliet names and the volume label "config-2", which cloud-init reads.
//
// The compute agent builds a config drive for each instance that asks for
// one and hands its path to the hypervisor driver (virt.Spec.ConfigDrive);
// the metadata HTTP service (Server, on the shared rest router, with
// webob's plain-text errors) serves the same documents.
//
// metadata imports the standard library, compute/objects and the platform's
// rest router and fault types.
package metadata

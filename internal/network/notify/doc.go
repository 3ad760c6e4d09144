// Package notify tells Nova about its instances' ports, as Neutron's nova
// notifier does: network-vif-plugged when a port an instance waits for comes
// up, network-vif-unplugged when it goes down, network-vif-deleted when it is
// deleted and network-changed when its addresses or floating IPs change.
//
// HTTP batches events for a short interval and POSTs them to
// os-server-external-events with the network service user's token (through
// gophercloud, the compute endpoint taken from the catalog), retrying on
// failures. Recorder keeps events for tests. Discard drops them.
//
// notify imports platform/authn and gophercloud.
package notify

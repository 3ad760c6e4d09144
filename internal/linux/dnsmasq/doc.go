// Package dnsmasq runs Debian's dnsmasq (dnsmasq-base) as a static-lease
// DHCP server inside a network namespace, as Neutron's DHCP agent does: the
// leases are a hosts file, the options an options file, both re-read on
// SIGHUP; what a SIGHUP cannot change (the command line, a lease the server
// already gave to an address or MAC that no longer has it) restarts the
// server with its lease file pruned, so that leases follow the hosts at
// once. The server runs as a daemon with a pid file in its directory and
// outlives the process that started it; Server reads that state back.
//
// dnsmasq knows no OpenStack words and imports only the standard library.
package dnsmasq

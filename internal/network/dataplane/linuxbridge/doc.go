// Package linuxbridge is the Linux data plane of tenku's network agent, in
// the shape of Neutron's Linux bridge, DHCP, L3 and metadata agents: a
// bridge per network ("brq…") with the network's segment on it (a
// "vxlan-<VNI>" device flooding by unicast to the other hosts' tunnel
// addresses, a VLAN sub-interface or the physical interface itself of a
// provider network), the guests' taps enslaved to it, DHCP in "qdhcp-"
// namespaces (dnsmasq), routers in "qrouter-" namespaces with nftables NAT,
// security groups as nftables chains per tap and the metadata proxy.
//
// Every operation converges from whatever the host holds: ensuring twice is
// one ensure, deleting what is absent succeeds, and Resync removes what the
// driver made that the desired state no longer has. The driver reads the
// host back instead of trusting memory, so it survives an agent restart
// and devices deleted behind its back.
//
// Everything host-level happens in Options.Namespace ("" for the host
// itself); tests give each driver a namespace of its own as a stand-in host.
package linuxbridge

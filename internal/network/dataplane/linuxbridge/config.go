package linuxbridge

// Config is the part of neutron_agent.ini (Neutron's linuxbridge_agent.ini)
// the driver reads, with Neutron's section and option names.
type Config struct {
	LinuxBridge LinuxBridgeConfig `section:"linux_bridge"`
	VXLAN       VXLANConfig       `section:"vxlan"`
	Metadata    MetadataConfig    `section:"DEFAULT"`
}

// MetadataConfig is what Neutron's metadata_agent.ini says of Nova's
// metadata API ([DEFAULT]).
type MetadataConfig struct {
	NovaMetadataHost     string `opt:"nova_metadata_host" help:"Host of Nova's metadata API the metadata proxy forwards guests' requests to."`
	NovaMetadataPort     int    `opt:"nova_metadata_port" help:"Port of Nova's metadata API."`
	NovaMetadataProtocol string `opt:"nova_metadata_protocol" help:"http or https."`
	SharedSecret         string `opt:"metadata_proxy_shared_secret" help:"Secret the proxy signs X-Instance-ID with (HMAC-SHA256); the same as [neutron] metadata_proxy_shared_secret in nova.conf. Empty: no metadata proxy."`
}

// LinuxBridgeConfig is the [linux_bridge] section.
type LinuxBridgeConfig struct {
	PhysicalInterfaceMappings map[string]string `opt:"physical_interface_mappings" help:"Provider networks (physnet:interface, comma separated) flat and VLAN networks ride on; a flat network enslaves the interface itself to its bridge, a VLAN network a sub-interface of it."`
	// BridgeAddressMappings is tenku's own: devstack puts
	// PUBLIC_NETWORK_GATEWAY on br-ex by hand.
	BridgeAddressMappings map[string]string `opt:"bridge_address_mappings" help:"Host-side addresses (physnet:address/prefix, comma separated) of flat networks: the bridge of the flat network on that physical network gets the address, as devstack puts PUBLIC_NETWORK_GATEWAY on br-ex, so this host reaches the network's floating IPs. A physical network named here needs no interface in physical_interface_mappings (the bridge alone carries it, on this host only)."`
}

// VXLANConfig is the [vxlan] section.
type VXLANConfig struct {
	EnableVXLAN bool   `opt:"enable_vxlan" help:"Wire vxlan networks (needs local_ip)."`
	LocalIP     string `opt:"local_ip" help:"This host's tunnel address: the source of VXLAN packets, and what the other hosts send this host's VXLAN traffic to."`
	UDPDstPort  int    `opt:"udp_dstport" help:"UDP destination port of VXLAN (IANA's 4789)."`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{VXLAN: VXLANConfig{EnableVXLAN: true, UDPDstPort: 4789},
		Metadata: MetadataConfig{NovaMetadataHost: "127.0.0.1", NovaMetadataPort: 8775, NovaMetadataProtocol: "http"}}
}

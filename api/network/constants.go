package network

// Resource statuses.
const (
	StatusActive = "ACTIVE"
	StatusDown   = "DOWN"
	StatusBuild  = "BUILD"
	StatusError  = "ERROR"
)

// Device owners Neutron and Nova use.
const (
	DeviceOwnerRouterInterface = "network:router_interface"
	DeviceOwnerRouterGateway   = "network:router_gateway"
	DeviceOwnerFloatingIP      = "network:floatingip"
	DeviceOwnerDHCP            = "network:dhcp"
	DeviceOwnerRouterSNAT      = "network:router_centralized_snat"
	DeviceOwnerDistributed     = "network:distributed"
	// DeviceOwnerNetworkPrefix marks ports owned by the network service.
	DeviceOwnerNetworkPrefix = "network:"
	// DeviceOwnerComputePrefix marks instance ports ("compute:nova").
	DeviceOwnerComputePrefix = "compute:"
)

// Binding VIF types.
const (
	VIFTypeUnbound       = "unbound"
	VIFTypeBindingFailed = "binding_failed"
	VIFTypeBridge        = "bridge"
	VIFTypeOVS           = "ovs"
	VIFTypeTap           = "tap"
	VIFTypeOther         = "other"
)

// Binding VNIC types.
const (
	VNICNormal          = "normal"
	VNICDirect          = "direct"
	VNICMacvtap         = "macvtap"
	VNICBaremetal       = "baremetal"
	VNICDirectPhysical  = "direct-physical"
	VNICVirtioForwarder = "virtio-forwarder"
	VNICSmartNIC        = "smart-nic"
	VNICVDPA            = "vdpa"
	VNICRemoteManaged   = "remote-managed"
)

// VNICTypes are the binding:vnic_type values the API accepts.
var VNICTypes = []string{VNICNormal, VNICDirect, VNICMacvtap, VNICBaremetal, VNICDirectPhysical,
	VNICVirtioForwarder, VNICSmartNIC, VNICVDPA, VNICRemoteManaged}

// Provider network types.
const (
	NetworkTypeLocal = "local"
	NetworkTypeFlat  = "flat"
	NetworkTypeVLAN  = "vlan"
	NetworkTypeVXLAN = "vxlan"
)

// IPv6 address and router-advertisement modes.
const (
	IPv6SLAAC           = "slaac"
	IPv6DHCPv6Stateful  = "dhcpv6-stateful"
	IPv6DHCPv6Stateless = "dhcpv6-stateless"
)

// Security group rule directions and ethertypes.
const (
	DirectionIngress = "ingress"
	DirectionEgress  = "egress"
	EtherTypeIPv4    = "IPv4"
	EtherTypeIPv6    = "IPv6"
)

// Agent types and binaries as Neutron names them.
const (
	AgentTypeLinuxBridge = "Linux bridge agent"
	AgentTypeDHCP        = "DHCP agent"
	AgentTypeL3          = "L3 agent"
	AgentTypeMetadata    = "Metadata agent"
)

// Nova external event names Neutron sends.
const (
	EventVIFPlugged   = "network-vif-plugged"
	EventVIFUnplugged = "network-vif-unplugged"
	EventVIFDeleted   = "network-vif-deleted"
	EventChanged      = "network-changed"
)

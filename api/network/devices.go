package network

// Host device names, defined once for the compute agent (which creates a
// guest's tap), the network server (which announces them to its agents and
// in binding:vif_details) and the data planes (which plug them), as
// Neutron's linuxbridge agent and Nova's os-vif name them.

// TapName returns the host-side device of a VM port: "tap" and the first 11
// characters of the port id (a Linux interface name holds 15).
func TapName(portID string) string { return "tap" + firstN(portID, 11) }

// BridgeName returns the Linux bridge of a network: "brq" and the first 11
// characters of the network id.
func BridgeName(networkID string) string { return "brq" + firstN(networkID, 11) }

func firstN(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

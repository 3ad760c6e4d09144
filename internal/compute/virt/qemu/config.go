package qemu

import (
	"fmt"
	"time"
)

// Config is nova.conf's [libvirt] section as far as this driver reads it
// (Nova's option names, so an operator's file carries over).
type Config struct {
	// VirtType is kvm or qemu (TCG). kvm is used only when a probe boots
	// code under it; otherwise the driver falls back to TCG and says so.
	VirtType string `opt:"virt_type" help:"kvm or qemu (TCG). kvm is used only when a probe shows it works on this host; otherwise the driver falls back to qemu."`
	// Emulator is the QEMU binary.
	Emulator string `opt:"emulator" help:"The QEMU system emulator binary."`
	// MachineType is the default machine ("pc", "q35"); an image's
	// hw_machine_type overrides it.
	MachineType string `opt:"hw_machine_type" help:"Default machine type (pc, q35); an image's hw_machine_type property overrides it."`
	// NumPCIePorts is how many PCIe root ports a q35 guest gets for its
	// devices and hot-plugs (Nova's option); 0 is its boot-time devices'
	// count plus 8.
	NumPCIePorts int `opt:"num_pcie_ports" help:"Number of PCIe root ports a q35 guest gets (0: one per boot-time NIC and volume plus 8 free for hot-plug; at most 28)."`
	// WaitSoftReboot is how long a soft reboot waits for the guest to shut
	// down before it reboots hard.
	WaitSoftReboot time.Duration `opt:"wait_soft_reboot_seconds" help:"Time a soft reboot waits for the guest to shut down before rebooting it hard."`
	// DeviceDetachAttempts and DeviceDetachTimeout bound a hot-unplug: a
	// device_del asked this many times, each waiting this long for QEMU's
	// DEVICE_DELETED (Nova's options). The default is 5 × 20 s, not Nova's
	// 8 × 20 s: tenku's API waits for a detach (up to 2 minutes) where
	// Nova's casts it, and the agent must answer within that.
	DeviceDetachAttempts int           `opt:"device_detach_attempts" help:"How many times a device detach asks the guest to release the device before it fails."`
	DeviceDetachTimeout  time.Duration `opt:"device_detach_timeout" help:"How long each device detach request waits for the guest to release the device."`
	// InstancesPath holds one directory per instance (Nova's
	// instances_path); the assembly sets it to the agent's.
	InstancesPath string
	// Namespace is the network namespace the guests' taps and QEMU
	// processes live in ("" is the host's own); the assembly sets it when
	// a namespace stands in for the host (tests).
	Namespace string
}

// DefaultConfig is what [libvirt] holds when it says nothing.
func DefaultConfig() Config {
	return Config{VirtType: "kvm", Emulator: "qemu-system-x86_64", MachineType: "pc", WaitSoftReboot: 120 * time.Second,
		DeviceDetachAttempts: 5, DeviceDetachTimeout: 20 * time.Second}
}

// Validate rejects a configuration the driver cannot run with.
func (c Config) Validate() error {
	switch c.VirtType {
	case "kvm", "qemu":
	default:
		return fmt.Errorf("[libvirt] virt_type = %q: this driver runs kvm or qemu", c.VirtType)
	}
	switch c.MachineType {
	case "pc", "q35", "":
	default:
		if len(c.MachineType) < 3 || (c.MachineType[:3] != "pc-") {
			return fmt.Errorf("[libvirt] hw_machine_type = %q: expected pc, q35 or a versioned pc-* machine", c.MachineType)
		}
	}
	if c.NumPCIePorts < 0 || c.NumPCIePorts > maxPCIePorts {
		return fmt.Errorf("[libvirt] num_pcie_ports = %d: expected 0 to %d", c.NumPCIePorts, maxPCIePorts)
	}
	if c.WaitSoftReboot < 0 {
		return fmt.Errorf("[libvirt] wait_soft_reboot_seconds must not be negative")
	}
	if c.DeviceDetachAttempts < 0 || c.DeviceDetachTimeout < 0 {
		return fmt.Errorf("[libvirt] device_detach_attempts and device_detach_timeout must not be negative")
	}
	if c.InstancesPath == "" {
		return fmt.Errorf("qemu driver: no instances path")
	}
	return nil
}

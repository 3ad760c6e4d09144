// Package qemu is the QEMU hypervisor driver: one QEMU process per
// instance, started detached from the agent (internal/linux/proc: its own
// session and process group, a pidfile), controlled over QMP on a unix
// socket in the instance directory (internal/linux/qmp). The instance
// directory holds guest.json (the command line and taps, so a restarted
// agent can find, re-attach and restart the guest), qemu.pid, qmp.sock,
// console.log (the serial console) and the disks: a qcow2 overlay on the
// agent's cached base image sized to the flavor (internal/linux/qemuimg,
// always with explicit formats), ephemeral and swap disks, and the config
// drive as an IDE CD-ROM. NICs are virtio-net on taps named tap<port[:11]>
// with the port's MAC and the network's MTU, enslaved to the bridge the
// port's binding names (brq<net[:11]> otherwise), which the driver ensures
// idempotently as os-vif's linux_bridge plugin does.
//
// Volumes (volumes.go) are block nodes on the volume's file (raw or qcow2)
// with a virtio-blk device whose serial is the volume id's first 20
// characters: hot-plugged over QMP (blockdev-add, device_add) into a running
// guest, unplugged with device_del, waiting for DEVICE_DELETED as often and
// as long as [libvirt] device_detach_attempts and device_detach_timeout say,
// then blockdev-del. guest.json keeps every attached volume and the PCI slot
// it got, so each later start (power on, hard reboot, a restarted agent) has
// it on the command line; a stopped guest's attach or detach only changes
// the record. On q35 every NIC and volume sits on a PCIe root port of its
// own (pcie.go, [libvirt] num_pcie_ports), so it can be unplugged. Hot-plug
// needs a guest that answers ACPI hot-plug; a suspended guest refuses both.
// A swap (swap.go) mirrors a volume onto another (blockdev-mirror, then a
// pivot) under the running guest.
//
// Interfaces (nics.go) hot-plug the same way: the port's tap is made as a
// boot-time NIC's is, QEMU opens it (netdev_add) and a virtio-net-pci
// device with the port's MAC and MTU goes on it (device_add); detach is
// device_del, netdev_del and the tap deleted. A hot-plugged NIC is kept in
// guest.json with its PCI slot; a boot-time NIC that is detached leaves the
// command line. Hot-plugged NICs are virtio whatever hw_vif_model says.
//
// KVM is used only when [libvirt] virt_type = kvm and a probe boots the
// firmware under it; otherwise TCG.
//
// Snapshot (snapshot.go) flattens the root overlay and its base into one
// standalone qcow2 with qemu-img convert; a running guest is paused (which
// flushes QEMU's block caches) for the copy and resumed, as Nova's libvirt
// driver takes a cold snapshot. There is no live snapshot (blockdev-backup).
//
// Rescue (rescue.go) boots a fresh overlay on the rescue image first with
// the instance's root disk second and its config drive, or, for an image
// asking for stable device rescue (hw_rescue_device, hw_rescue_bus), every
// disk in its place and the rescue disk last; the guest's own record is
// kept inside the rescue record, so an agent restarted in rescue keeps it
// and unrescue restores it. A rescue image booted directly (kernel_id) must
// name its root by device in os_command_line when the instance's disk has
// the same filesystem label (the test image does: root=/dev/vda).
//
// A disk that exists already is kept, grown to the flavor's size
// (qemu-img resize), never made again: Spawn on an instance's kept disks
// is a resize on this host, and a failed one leaves them.
//
// Diagnostics (diagnostics.go) are measured as Nova's libvirt driver
// reports them: vCPU times from each vCPU thread (query-cpus-fast and
// /proc), disk counters from query-blockstats, NIC counters from the taps
// (turned to the guest's side), memory from the balloon when the guest has
// one. Setting the admin password is not supported (no guest agent), as
// Nova answers without qemu-guest-agent.
//
// Resize and cold migration on one host re-create the guest on its kept
// disks with the new flavor (the agent keeps a copy of the disks for a
// revert); shelve is a snapshot and a destroy, unshelve a spawn from the
// snapshot image.
//
// Not done yet: moving disks between hosts (a resize or cold migration to
// another host boots the image again on the destination, without the
// guest's data), live migration, remote consoles (serial or VNC), live snapshot; ephemeral
// and swap disks are blank (not formatted as Nova formats them).
package qemu

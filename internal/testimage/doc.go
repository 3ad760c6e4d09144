// Package testimage builds tenku's bootable test image: a small cirros-like
// guest made only from Debian packages, for the QEMU driver's tests, the
// benchmarks and `tenku stack` on a real hypervisor.
//
// Build downloads (apt-get download, cached) the versioned kernel package
// behind linux-image-cloud-amd64, busybox-static, dropbear, sudo, curl, jq,
// util-linux, e2fsprogs, dosfstools, iputils-ping (ping as the login user
// over ICMP datagram sockets; busybox's needs a raw one) and the shared
// libraries they need, unpacks them with dpkg-deb -x (nothing is installed
// on the host), and makes three files:
//
//   - disk.qcow2: a whole-disk ext4 root filesystem (no partition table,
//     label tenku-root) written with mkfs.ext4 -d and converted with qemu-img;
//   - vmlinuz: the Debian cloud kernel;
//   - initrd.img: a busybox initramfs that loads the virtio, SCSI/ATA and
//     CD-ROM modules in dependency order and switches to the root filesystem.
//
// The image is registered AMI-style: the kernel as an aki image, the
// initramfs as an ari image, and the disk as a qcow2 image whose kernel_id,
// ramdisk_id and os_command_line properties name them (Nova's direct kernel
// boot); Properties returns them.
//
// At boot the guest does what cirros-init does: it reads the config drive
// (label config-2) or else, after DHCP, the metadata service at
// http://169.254.169.254; configures its network from network_data.json
// (static addresses and routes) or by DHCP (busybox udhcpc); sets its
// hostname; installs the key pair's keys in ~cirros/.ssh/authorized_keys;
// runs user_data when it starts with "#!"; powers off on ACPI power-down
// (busybox acpid -f); runs dropbear (ECDSA P-256/384/521, Ed25519 and RSA
// user keys) for user cirros, who has passwordless sudo; and prints a
// banner on the serial console:
//
//	=== tenku-testimage: instance-id <uuid> ===
//	=== tenku-testimage: hostname <name> ===
//	=== tenku-testimage: eth0 <mac> <addr/len> ... ===
//	=== tenku-testimage: ready ===
//
// The same bytes come out of every build from the same package versions:
// fixed timestamps, a fixed filesystem UUID and hash seed, a cpio written
// here in a fixed order.
package testimage

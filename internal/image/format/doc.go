// Package format inspects the bytes of disk images as they stream past, the
// way Glance inspects every upload before an image becomes active: it names
// the format (raw, qcow2, vmdk, vhd, vhdx, vdi, iso, parallels, and the
// formats Glance never accepts: qed, qcow v1 and luks), computes the virtual
// size as qemu-img reports it, and finds the images that are dangerous to
// hand to QEMU — qcow2 backing files and external data files, VMDK extents
// and parent links that name other files (OSSA-2015-014, CVE-2024-32498),
// unknown qcow2 incompatible features, and content that matches more than
// one format at once (a qcow2 header hidden in an ISO's system area).
//
// The upload path tees the stream into an Inspector (an io.Writer) while it
// hashes and stores the data, then calls Finish and checks the result
// against the image's disk_format:
//
//	in := format.New()
//	w := io.MultiWriter(file, md5h, sha512h, in)
//	... copy the request body into w ...
//	info := in.Finish()
//	if err := info.Check(image.DiskFormat); err != nil { reject the image }
//	image.VirtualSize = info.VirtualSize
//
// An Inspector never keeps more than MaxBuffer bytes whatever the input:
// it retains only the leading bytes a format's header needs (a qcow2
// header cluster, a VMDK descriptor, the VHDX region table), a few small
// regions further on (the VHDX metadata table, a VHD dynamic header) and
// the last 1536 bytes (a fixed VHD's footer, a stream-optimized VMDK's
// footer). After the first 64 KiB of an ordinary image it only counts
// bytes. It never runs qemu-img.
//
// The checks follow oslo.utils' format_inspector, which Glance and Nova
// run, with these deliberate differences, each stricter where a host file
// could be reached and more exact where QEMU would read the image fine:
//
//   - Check holds disk_format raw to raw content (Glance lets a qcow2 or an
//     ISO declared raw through; Nova then refuses to boot it).
//   - A VMDK descriptor's parentFileNameHint is a backing file (QEMU opens
//     it), and a descriptor-only VMDK is always refused: its data lives in
//     other files, whatever their names.
//   - Differencing VHD, VHDX and VDI images are refused as backing files.
//   - A fixed VHD, whose only footer is at the end, is recognised as vhd
//     (Glance's inspector calls it raw and so refuses disk_format vhd).
//   - qcow2 extended L2 entries (incompatible bit 4) are known and allowed.
//   - A Linux kernel's boot sector is not taken for an MBR, and kernels and
//     ramdisks (aki, ari) are not held to the MBR rules.
//   - VHD sizes follow current QEMU: current_size except for images made
//     by Virtual PC or old QEMU, which use the CHS geometry.
//
// Nothing here knows about HTTP, the store or the database. The package
// imports only the standard library.
package format

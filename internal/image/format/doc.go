// Package format inspects the bytes of disk images as they stream past, the
// way Glance inspects every upload before an image becomes active: it names
// the format (raw, qcow2, vmdk, vhd, vhdx, vdi, iso, and the formats Glance
// refuses such as qed, qcow v1, parallels and luks), computes the virtual
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
// Nothing here knows about HTTP, the store or the database. The package
// imports only the standard library.
package format

package format

import (
	"fmt"
	"slices"
	"strings"
)

// Format names the format of an image's content, spelled as Glance spells
// disk formats where Glance has a name for it and as qemu-img does
// otherwise.
type Format string

// The formats an Inspector can report.
const (
	// Raw is content no other format claims; a whole-disk image with an MBR
	// or GPT partition table is raw too (see Info.PartitionTable).
	Raw Format = "raw"
	// QCOW2 is QEMU's copy-on-write format, versions 2 and 3.
	QCOW2 Format = "qcow2"
	// QCOW is QEMU's obsolete version 1 format; it is always refused.
	QCOW Format = "qcow"
	// QED is QEMU's enhanced disk format; it is always refused.
	QED Format = "qed"
	// VMDK is VMware's virtual disk format.
	VMDK Format = "vmdk"
	// VHD is Microsoft's Virtual PC format (qemu-img calls it vpc).
	VHD Format = "vhd"
	// VHDX is Microsoft's Hyper-V format.
	VHDX Format = "vhdx"
	// VDI is VirtualBox's format.
	VDI Format = "vdi"
	// ISO is an ISO 9660 or UDF optical disc image (qemu-img calls it raw).
	ISO Format = "iso"
	// Parallels is the Parallels/Virtuozzo format Glance calls ploop.
	Parallels Format = "parallels"
	// LUKS is a LUKS-encrypted volume.
	LUKS Format = "luks"

	// MBR and GPT name partition tables, not image formats: they appear in
	// Info.PartitionTable and in the list of an ambiguous image's matches.
	MBR Format = "mbr"
	// GPT is a GUID partition table behind a protective MBR.
	GPT Format = "gpt"
)

// Qemu returns the name qemu-img uses for f: "vpc" for VHD, "raw" for ISO
// and partitioned raw disks, f itself otherwise.
func (f Format) Qemu() string {
	switch f {
	case VHD:
		return "vpc"
	case ISO, MBR, GPT:
		return "raw"
	}
	return string(f)
}

// diskFormats maps each Glance disk_format to the content formats it may
// hold. ami, aki and ari are raw bytes to QEMU; ploop is accepted when the
// content is a Parallels image or not recognised at all, which is what
// Glance does (its inspector does not know ploop and lets unrecognised
// content through for disk formats it cannot inspect).
var diskFormats = map[string][]Format{
	"raw":   {Raw},
	"ami":   {Raw},
	"aki":   {Raw},
	"ari":   {Raw},
	"qcow2": {QCOW2},
	"vmdk":  {VMDK},
	"vhd":   {VHD},
	"vhdx":  {VHDX},
	"vdi":   {VDI},
	"iso":   {ISO},
	"ploop": {Parallels, Raw},
}

// DiskFormats returns the Glance disk_format values Check understands,
// sorted.
func DiskFormats() []string {
	out := make([]string, 0, len(diskFormats))
	for k := range diskFormats {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Info is what an Inspector learned about one image. It is immutable.
type Info struct {
	// Format is the detected format; empty when the content matches more
	// than one format (see Matches and Safety).
	Format Format
	// VirtualSize is the size in bytes of the disk the guest sees, as
	// qemu-img reports it (for ISO, the size the primary volume descriptor
	// declares, as Glance reports it). 0 when it cannot be known.
	VirtualSize int64
	// ActualSize is the number of bytes the inspector was given.
	ActualSize int64
	// Subformat refines Format: the VMDK createType, "fixed", "dynamic" or
	// "differencing" for VHD, "fixed" or "dynamic" for VDI.
	Subformat string
	// PartitionTable is MBR or GPT when a raw disk, an ISO or a fixed VHD
	// starts with a partition table, empty otherwise.
	PartitionTable Format
	// Encrypted reports a qcow2 image whose clusters are encrypted.
	Encrypted bool
	// Matches lists every format whose signature matched, including a
	// partition table that conflicts with the format; more than one entry
	// with an empty Format means the content is ambiguous.
	Matches []Format

	violations []Violation
}

// Safety reports why the image is unsafe to give to QEMU: nil, or a
// *SafetyError listing every failed check.
func (i *Info) Safety() error {
	return i.safety(false)
}

func (i *Info) safety(skipPartition bool) error {
	var vs []Violation
	for _, v := range i.violations {
		if skipPartition && v.Kind == ErrPartitionTable {
			continue
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil
	}
	return &SafetyError{Format: i.Format, Violations: vs}
}

// Check reports whether the image may become active with the given Glance
// disk_format: the format must be one Glance knows, the image must pass
// Safety, and the content must be what the disk format promises (a
// *MismatchError otherwise). Unlike Glance, which lets a qcow2 or ISO
// upload through when it is declared raw, Check holds raw to raw content,
// as Nova does before it boots an image; a raw disk with a partition table
// is raw. Kernels and ramdisks (aki, ari) are not disks, so the MBR checks
// that would misread a kernel's boot sector do not apply to them.
func (i *Info) Check(declared string) error {
	allowed, ok := diskFormats[declared]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownDiskFormat, declared)
	}
	if err := i.safety(declared == "aki" || declared == "ari"); err != nil {
		return err
	}
	if !slices.Contains(allowed, i.Format) {
		return &MismatchError{Declared: declared, Detected: i.Format}
	}
	return nil
}

// String describes the image for logs.
func (i *Info) String() string {
	var b strings.Builder
	if i.Format == "" {
		fmt.Fprintf(&b, "ambiguous(%s)", joinFormats(i.Matches))
	} else {
		b.WriteString(string(i.Format))
	}
	if i.Subformat != "" {
		fmt.Fprintf(&b, "/%s", i.Subformat)
	}
	if i.PartitionTable != "" {
		fmt.Fprintf(&b, "+%s", i.PartitionTable)
	}
	fmt.Fprintf(&b, " virtual_size=%d size=%d", i.VirtualSize, i.ActualSize)
	return b.String()
}

func joinFormats(fs []Format) string {
	s := make([]string, len(fs))
	for k, f := range fs {
		s[k] = string(f)
	}
	return strings.Join(s, ",")
}

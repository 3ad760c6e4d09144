package format

import (
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"math"
	"strings"
)

// A VHD footer (512 bytes, big-endian) sits at the end of every VHD and,
// for dynamic and differencing disks, also at offset 0:
//
//	 0 cookie "conectix"  16 data offset (dynamic header)  28 creator app
//	48 current size       56 cylinders (16 bits)  58 heads  59 sectors
//	60 disk type (2 fixed, 3 dynamic, 4 differencing)
//
// A dynamic disk's header ("cxsparse") is at the data offset.
const (
	vhdCookie       = "conectix"
	vhdDynCookie    = "cxsparse"
	vhdFixed        = 2
	vhdDynamic      = 3
	vhdDifferencing = 4
	vhdMaxGeometry  = 65535 * 16 * 255
	vhdMaxSectors   = 0xff000000 // QEMU refuses VHDs over 2040 GiB
)

// vhdProbe recognises dynamic VHDs by the footer copy at the start and
// fixed VHDs by the footer at the end.
type vhdProbe struct {
	v       verdict
	atStart bool
	dyn     *region
}

func (p *vhdProbe) step(in *Inspector) bool {
	if p.dyn != nil {
		return p.dynamicHeader()
	}
	b, wait := in.need(8)
	if b == nil {
		return !wait
	}
	if string(b) != vhdCookie {
		return true
	}
	b, wait = in.need(512)
	if b == nil && wait {
		return false
	}
	p.atStart = true
	p.v.matched, p.v.format = true, VHD
	if b == nil {
		p.v.violations.add("footer", ErrMalformed, "vhd footer truncated at %d bytes", len(in.head))
		return true
	}
	p.footer(b)
	if binary.BigEndian.Uint32(b[60:]) != vhdDynamic {
		return true
	}
	off := binary.BigEndian.Uint64(b[16:])
	if off < 512 || off > math.MaxInt64 {
		p.v.violations.add("dynamic_header", ErrMalformed, "dynamic header at offset %d", off)
		return true
	}
	p.dyn = in.capture(int64(off), 1024)
	return p.dynamicHeader()
}

// dynamicHeader checks the dynamic disk header once it has arrived.
func (p *vhdProbe) dynamicHeader() bool {
	switch {
	case p.dyn.pending():
		return false
	case !p.dyn.complete():
		p.v.violations.add("dynamic_header", ErrMalformed, "dynamic header at offset %d is missing", p.dyn.off)
	case string(p.dyn.buf[:8]) != vhdDynCookie:
		p.v.violations.add("dynamic_header", ErrMalformed, "dynamic header at offset %d has no cxsparse cookie", p.dyn.off)
	}
	p.dyn.release()
	return true
}

func (p *vhdProbe) held() int { return p.dyn.held() }

// footer records what a footer says: the disk type and the virtual size,
// computed as QEMU does.
func (p *vhdProbe) footer(f []byte) {
	vs := &p.v.violations
	switch binary.BigEndian.Uint32(f[60:]) {
	case vhdFixed:
		p.v.subformat = "fixed"
	case vhdDynamic:
		p.v.subformat = "dynamic"
	case vhdDifferencing:
		p.v.subformat = "differencing"
		vs.add("backing_file", ErrBackingFile, "differencing vhd reads a parent image")
	default:
		vs.add("disk_type", ErrMalformed, "unknown vhd disk type %d", binary.BigEndian.Uint32(f[60:]))
	}
	// Virtual PC and old QEMU size a disk by its CHS geometry; everything
	// else by current_size, and so does QEMU when the geometry is the
	// largest VHD can express. (QEMU before 9.2 used the geometry for
	// unknown creators too; we follow the current rule.)
	sectors := uint64(binary.BigEndian.Uint16(f[56:])) * uint64(f[58]) * uint64(f[59])
	creator := string(f[28:32])
	if (creator != "vpc " && creator != "qemu") || sectors == vhdMaxGeometry {
		sectors = binary.BigEndian.Uint64(f[48:]) / 512
	}
	if sectors > vhdMaxSectors {
		vs.add("size", ErrMalformed, "%d sectors exceed the 2040 GiB vhd limit", sectors)
		return
	}
	p.v.virtualSize = int64(sectors) * 512
}

func (p *vhdProbe) verdict(in *Inspector) verdict {
	if p.atStart {
		return p.v
	}
	// A fixed disk has its only footer at the end, after the raw data.
	f := in.tailBytes(512)
	if f == nil || string(f[:8]) != vhdCookie || binary.BigEndian.Uint32(f[60:]) != vhdFixed {
		return p.v
	}
	p.v.matched, p.v.format = true, VHD
	p.v.allowsPartition = true
	p.footer(f)
	return p.v
}

// VHDX (MS-VHDX; little-endian): "vhdxfile" at 0, two headers at 64 and
// 128 KiB, the region table at 192 KiB (a copy at 256 KiB). The region
// table locates the metadata region, whose 64 KiB table locates items such
// as the virtual disk size, the file parameters (which say whether the
// disk has a parent) and the parent locator.
const (
	vhdxRegionTable   = 192 << 10
	vhdxTableSize     = 64 << 10
	vhdxMaxEntries    = 2047
	vhdxRequired      = 1 << 0 // region entry flag
	vhdxItemRequired  = 1 << 2 // metadata entry flag
	vhdxHasParent     = 1 << 1 // file parameters flag
	vhdxItemMinOffset = 64 << 10
	vhdxHeaderSection = 1 << 20
)

var (
	vhdxBATRegion  = guid("2DC27766-F623-4200-9D64-115E9BFD4A08")
	vhdxMetaRegion = guid("8B7CA206-4790-4B9A-B8FE-575F050F886E")
	vhdxFileParams = guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
	vhdxDiskSize   = guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
	vhdxPage83     = guid("BECA12AB-B2E6-4523-93EF-C309E000C746")
	vhdxLogical    = guid("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
	vhdxPhysical   = guid("CDA348C7-445D-4471-9CC9-E9885251C556")
	vhdxParentLoc  = guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
)

// vhdxProbe follows the region table to the metadata items.
type vhdxProbe struct {
	v       verdict
	started bool
	table   *region // the metadata table
	size    *region // the virtual disk size item
	params  *region // the file parameters item
}

func (p *vhdxProbe) step(in *Inspector) bool {
	vs := &p.v.violations
	if !p.started {
		b, wait := in.need(8)
		if b == nil {
			return !wait
		}
		if string(b) != "vhdxfile" {
			return true
		}
		p.started = true
		p.v.matched, p.v.format = true, VHDX
	}
	if p.table == nil {
		b, wait := in.need(vhdxRegionTable + vhdxTableSize)
		if b == nil {
			if wait {
				return false
			}
			vs.add("region_table", ErrMalformed, "vhdx truncated before its region table")
			return true
		}
		off, ok := p.regionTable(b[vhdxRegionTable:])
		if !ok {
			return true
		}
		p.table = in.capture(off, vhdxTableSize)
	}
	if p.size == nil {
		switch {
		case p.table.pending():
			return false
		case !p.table.complete():
			vs.add("metadata", ErrMalformed, "metadata table at offset %d is missing", p.table.off)
			return true
		}
		if !p.metadataTable(in) {
			return true
		}
	}
	if p.size.pending() || p.params.pending() {
		return false
	}
	if !p.size.complete() || !p.params.complete() {
		vs.add("metadata", ErrMalformed, "metadata items are missing")
		return true
	}
	if vds := binary.LittleEndian.Uint64(p.size.buf); vds <= math.MaxInt64 {
		p.v.virtualSize = int64(vds &^ 511)
	} else {
		vs.add("size", ErrMalformed, "virtual disk size %d out of range", vds)
	}
	if binary.LittleEndian.Uint32(p.params.buf[4:])&vhdxHasParent != 0 {
		vs.add("backing_file", ErrBackingFile, "differencing vhdx reads a parent image")
	}
	p.table.release()
	p.size.release()
	p.params.release()
	return true
}

// regionTable validates the region table and returns the metadata
// region's offset.
func (p *vhdxProbe) regionTable(t []byte) (int64, bool) {
	vs := &p.v.violations
	if string(t[:4]) != "regi" {
		vs.add("region_table", ErrMalformed, "region table signature missing")
		return 0, false
	}
	want := binary.LittleEndian.Uint32(t[4:])
	if crc32cZeroed(t, 4) != want {
		vs.add("region_table", ErrMalformed, "region table checksum mismatch")
		return 0, false
	}
	count := binary.LittleEndian.Uint32(t[8:])
	if count > vhdxMaxEntries {
		vs.add("region_table", ErrMalformed, "%d region table entries", count)
		return 0, false
	}
	meta := int64(-1)
	for i := range int(count) {
		e := t[16+32*i : 48+32*i]
		id := [16]byte(e[:16])
		off := binary.LittleEndian.Uint64(e[16:])
		switch {
		case id == vhdxMetaRegion:
			// Regions start on a 1 MiB boundary after the header section.
			if off < vhdxHeaderSection || off%vhdxHeaderSection != 0 || off > math.MaxInt64 {
				vs.add("region_table", ErrMalformed, "metadata region at offset %d", off)
				return 0, false
			}
			meta = int64(off)
		case id == vhdxBATRegion:
		case binary.LittleEndian.Uint32(e[28:])&vhdxRequired != 0:
			vs.add("region_table", ErrMalformed, "unknown required region %s", guidString(id))
			return 0, false
		}
	}
	if meta < 0 {
		vs.add("region_table", ErrMalformed, "no metadata region")
		return 0, false
	}
	return meta, true
}

// metadataTable reads the metadata table and asks for the items.
func (p *vhdxProbe) metadataTable(in *Inspector) bool {
	vs := &p.v.violations
	t := p.table.buf
	defer p.table.release()
	if string(t[:8]) != "metadata" {
		vs.add("metadata", ErrMalformed, "metadata table signature missing")
		return false
	}
	count := int(binary.LittleEndian.Uint16(t[10:]))
	if count > vhdxMaxEntries {
		vs.add("metadata", ErrMalformed, "%d metadata entries", count)
		return false
	}
	var sizeAt, paramsAt int64 = -1, -1
	for i := range count {
		e := t[32+32*i : 64+32*i]
		id := [16]byte(e[:16])
		off := int64(binary.LittleEndian.Uint32(e[16:]))
		length := binary.LittleEndian.Uint32(e[20:])
		flags := binary.LittleEndian.Uint32(e[24:])
		switch id {
		case vhdxDiskSize:
			if length < 8 || off < vhdxItemMinOffset {
				vs.add("metadata", ErrMalformed, "virtual disk size item is malformed")
				return false
			}
			sizeAt = p.table.off + off
		case vhdxFileParams:
			if length < 8 || off < vhdxItemMinOffset {
				vs.add("metadata", ErrMalformed, "file parameters item is malformed")
				return false
			}
			paramsAt = p.table.off + off
		case vhdxParentLoc:
			vs.add("backing_file", ErrBackingFile, "vhdx has a parent locator")
		case vhdxPage83, vhdxLogical, vhdxPhysical:
		default:
			if flags&vhdxItemRequired != 0 {
				vs.add("metadata", ErrMalformed, "unknown required metadata item %s", guidString(id))
				return false
			}
		}
	}
	if sizeAt < 0 || paramsAt < 0 {
		vs.add("metadata", ErrMalformed, "virtual disk size or file parameters item missing")
		return false
	}
	// Capture the nearer item first so that both can be had in one pass.
	if paramsAt < sizeAt {
		p.params = in.capture(paramsAt, 8)
		p.size = in.capture(sizeAt, 8)
	} else {
		p.size = in.capture(sizeAt, 8)
		p.params = in.capture(paramsAt, 8)
	}
	return true
}

func (p *vhdxProbe) held() int {
	return p.table.held() + p.size.held() + p.params.held()
}

func (p *vhdxProbe) verdict(*Inspector) verdict { return p.v }

// crc32cZeroed returns the CRC-32C of b with the 4-byte checksum field at
// off taken as zero.
func crc32cZeroed(b []byte, off int) uint32 {
	tab := crc32.MakeTable(crc32.Castagnoli)
	c := crc32.Update(0, tab, b[:off])
	c = crc32.Update(c, tab, []byte{0, 0, 0, 0})
	return crc32.Update(c, tab, b[off+4:])
}

// guid converts a GUID's text form to its on-disk (mixed-endian) bytes.
func guid(s string) [16]byte {
	raw, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(raw) != 16 {
		panic("format: bad GUID literal " + s)
	}
	var g [16]byte
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g
}

// guidString is guid's inverse, for messages.
func guidString(g [16]byte) string {
	raw := []byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]}
	raw = append(raw, g[8:]...)
	h := strings.ToUpper(hex.EncodeToString(raw))
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

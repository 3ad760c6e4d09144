package format

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// This file crafts images byte by byte, from the specifications, for the
// cases real tools will not produce.

type qcowExt struct {
	typ  uint32
	data []byte
}

type qcow2Opts struct {
	version     uint32 // 3 when zero
	size        uint64
	clusterBits uint32 // 16 when zero
	incompat    uint64
	crypt       uint32
	headerLen   uint32 // 104 for version 3 when zero
	backing     string
	exts        []qcowExt
	length      int // total bytes; 4096 when zero
}

func buildQCOW2(o qcow2Opts) []byte {
	if o.version == 0 {
		o.version = 3
	}
	if o.clusterBits == 0 {
		o.clusterBits = 16
	}
	if o.length == 0 {
		o.length = 4096
	}
	hlen := uint32(72)
	if o.version >= 3 {
		hlen = o.headerLen
		if hlen == 0 {
			hlen = 104
		}
	}
	b := make([]byte, o.length)
	copy(b, qcowMagic)
	be := binary.BigEndian
	be.PutUint32(b[4:], o.version)
	be.PutUint32(b[20:], o.clusterBits)
	be.PutUint64(b[24:], o.size)
	be.PutUint32(b[32:], o.crypt)
	if o.version >= 3 {
		be.PutUint64(b[72:], o.incompat)
		be.PutUint32(b[96:], 4)
		be.PutUint32(b[100:], hlen)
	}
	off := int(hlen)
	for _, e := range o.exts {
		be.PutUint32(b[off:], e.typ)
		be.PutUint32(b[off+4:], uint32(len(e.data)))
		copy(b[off+8:], e.data)
		off += 8 + (len(e.data)+7)&^7
	}
	off += 8 // end-of-extensions marker (zeros)
	if o.backing != "" {
		be.PutUint64(b[8:], uint64(off))
		be.PutUint32(b[16:], uint32(len(o.backing)))
		copy(b[off:], o.backing)
	}
	return b
}

type vmdkOpts struct {
	version  uint32 // 1 when zero
	capacity uint64 // sectors
	descSec  uint64 // 1 when zero
	descNum  uint64 // sectors; 20 when zero
	gdAtEnd  bool
	footer   []byte // the last 1536 bytes when gdAtEnd; built when nil
}

func vmdkHeader(o vmdkOpts, gd uint64) []byte {
	h := make([]byte, 512)
	le := binary.LittleEndian
	copy(h, vmdkMagic)
	le.PutUint32(h[4:], o.version)
	le.PutUint32(h[8:], 3)
	le.PutUint64(h[12:], o.capacity)
	le.PutUint64(h[20:], 128)
	le.PutUint64(h[28:], o.descSec)
	le.PutUint64(h[36:], o.descNum)
	le.PutUint32(h[44:], 512)
	le.PutUint64(h[56:], gd)
	copy(h[73:], "\n \r\n")
	return h
}

func buildVMDK(desc string, o vmdkOpts) []byte {
	if o.version == 0 {
		o.version = 1
	}
	if o.descSec == 0 {
		o.descSec = 1
	}
	if o.descNum == 0 {
		o.descNum = 20
	}
	gd := uint64(21)
	if o.gdAtEnd {
		gd = vmdkGDAtEnd
	}
	b := vmdkHeader(o, gd)
	d := make([]byte, o.descNum*512)
	copy(d, desc)
	b = append(b, d...)
	b = append(b, make([]byte, 4096)...) // stands in for tables and grains
	if o.gdAtEnd {
		f := o.footer
		if f == nil {
			f = make([]byte, 1536)
			binary.LittleEndian.PutUint32(f[12:], vmdkMarkerFooter)
			copy(f[512:], vmdkHeader(o, 30))
		}
		b = append(b, f...)
	}
	return b
}

func vmdkDescText(createType string, lines ...string) string {
	var s strings.Builder
	s.WriteString("# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n")
	s.WriteString(`createType="` + createType + "\"\n\n# Extent description\n")
	for _, l := range lines {
		s.WriteString(l + "\n")
	}
	s.WriteString("\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n")
	return s.String()
}

type vhdOpts struct {
	typ        uint32
	creator    string
	size       uint64
	cyls       uint16
	heads      uint8
	secs       uint8
	dataOffset uint64
}

func vhdFooter(o vhdOpts) []byte {
	f := make([]byte, 512)
	be := binary.BigEndian
	copy(f, vhdCookie)
	be.PutUint32(f[8:], 2)
	be.PutUint32(f[12:], 0x10000)
	be.PutUint64(f[16:], o.dataOffset)
	copy(f[28:32], o.creator)
	be.PutUint64(f[40:], o.size)
	be.PutUint64(f[48:], o.size)
	be.PutUint16(f[56:], o.cyls)
	f[58], f[59] = o.heads, o.secs
	be.PutUint32(f[60:], o.typ)
	var sum uint32
	for _, c := range f {
		sum += uint32(c)
	}
	be.PutUint32(f[64:], ^sum)
	return f
}

// buildDynamicVHD returns a footer copy, a dynamic header and the footer.
func buildDynamicVHD(o vhdOpts) []byte {
	o.typ, o.dataOffset = vhdDynamic, 512
	f := vhdFooter(o)
	dyn := make([]byte, 1024)
	copy(dyn, vhdDynCookie)
	out := append(bytes.Clone(f), dyn...)
	return append(out, f...)
}

type vhdxOpts struct {
	size            uint64
	hasParent       bool
	parentLocator   bool
	unknownRequired bool
	badChecksum     bool
	metaOffset      int64 // 1 MiB when zero
}

// buildVHDX makes a compact VHDX: identifier, region table, metadata
// table and items; the metadata region sits at metaOffset.
func buildVHDX(o vhdxOpts) []byte {
	if o.metaOffset == 0 {
		o.metaOffset = 1 << 20
	}
	le := binary.LittleEndian
	b := make([]byte, max(o.metaOffset+128<<10, 256<<10))
	copy(b, "vhdxfile")
	rt := b[vhdxRegionTable : vhdxRegionTable+vhdxTableSize]
	copy(rt, "regi")
	le.PutUint32(rt[8:], 2)
	copy(rt[16:], vhdxBATRegion[:])
	le.PutUint64(rt[32:], 2<<20)
	le.PutUint32(rt[40:], 1<<20)
	le.PutUint32(rt[44:], vhdxRequired)
	copy(rt[48:], vhdxMetaRegion[:])
	le.PutUint64(rt[64:], uint64(o.metaOffset))
	le.PutUint32(rt[72:], 1<<20)
	le.PutUint32(rt[76:], vhdxRequired)
	sum := crc32cZeroed(rt, 4)
	if o.badChecksum {
		sum++
	}
	le.PutUint32(rt[4:], sum)

	mt := b[o.metaOffset:]
	copy(mt, "metadata")
	type item struct {
		id    [16]byte
		data  []byte
		flags uint32
	}
	var paramFlags uint32
	if o.hasParent {
		paramFlags = vhdxHasParent
	}
	items := []item{
		{vhdxFileParams, le.AppendUint32(le.AppendUint32(nil, 32<<20), paramFlags), vhdxItemRequired},
		{vhdxDiskSize, le.AppendUint64(nil, o.size), vhdxItemRequired | 2},
		{vhdxLogical, le.AppendUint32(nil, 512), vhdxItemRequired | 2},
	}
	if o.parentLocator {
		items = append(items, item{vhdxParentLoc, make([]byte, 20), vhdxItemRequired})
	}
	if o.unknownRequired {
		items = append(items, item{guid("01234567-89AB-CDEF-0123-456789ABCDEF"), make([]byte, 8), vhdxItemRequired})
	}
	le.PutUint16(mt[10:], uint16(len(items)))
	dataAt := uint32(64 << 10)
	for i, it := range items {
		e := mt[32+32*i:]
		copy(e, it.id[:])
		le.PutUint32(e[16:], dataAt)
		le.PutUint32(e[20:], uint32(len(it.data)))
		le.PutUint32(e[24:], it.flags)
		copy(mt[dataAt:], it.data)
		dataAt += 4096
	}
	return b
}

func buildVDI(imageType uint32, size uint64, parent bool) []byte {
	b := make([]byte, 1024)
	le := binary.LittleEndian
	copy(b, "<<< Oracle VM VirtualBox Disk Image >>>\n")
	le.PutUint32(b[0x40:], vdiSignature)
	le.PutUint32(b[0x44:], vdiVersion)
	le.PutUint32(b[0x48:], 0x180)
	le.PutUint32(b[0x4c:], imageType)
	le.PutUint32(b[0x154:], 0x200)
	le.PutUint32(b[0x158:], 0x400)
	le.PutUint32(b[0x168:], 512)
	le.PutUint64(b[0x170:], size)
	le.PutUint32(b[0x178:], 1<<20)
	b[0x188] = 1 // image UUID
	if parent {
		b[0x1b8] = 7
	}
	return b
}

// buildISO makes an ISO 9660 image of the given number of 2 KiB blocks
// with a primary volume descriptor and a terminator.
func buildISO(blocks uint32) []byte {
	b := make([]byte, int(blocks)*isoSector)
	pvd := b[isoFirstDesc:]
	pvd[0] = 1
	copy(pvd[1:], "CD001")
	pvd[6] = 1
	binary.LittleEndian.PutUint32(pvd[80:], blocks)
	binary.BigEndian.PutUint32(pvd[84:], blocks)
	binary.LittleEndian.PutUint16(pvd[128:], isoSector)
	binary.BigEndian.PutUint16(pvd[130:], isoSector)
	term := b[isoFirstDesc+isoSector:]
	term[0] = 255
	copy(term[1:], "CD001")
	term[6] = 1
	return b
}

type pte struct {
	boot     byte
	chs      [3]byte
	typ      byte
	startLBA uint32
	sectors  uint32
}

func mbrSector(parts ...pte) []byte {
	b := make([]byte, 512)
	for i, p := range parts {
		e := b[446+16*i:]
		e[0] = p.boot
		copy(e[1:4], p.chs[:])
		e[4] = p.typ
		binary.LittleEndian.PutUint32(e[8:], p.startLBA)
		binary.LittleEndian.PutUint32(e[12:], p.sectors)
	}
	b[510], b[511] = 0x55, 0xaa
	return b
}

// protective is the single partition of a GPT's protective MBR.
var protective = pte{chs: [3]byte{0, 2, 0}, typ: 0xee, startLBA: 1, sectors: 4095}

// fixture returns a decompressed test image from testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// inspectBytes streams b through an Inspector in chunks of the given size.
func inspectBytes(b []byte, chunk int) *Info {
	in := New()
	for len(b) > 0 {
		n := min(chunk, len(b))
		in.Write(b[:n])
		b = b[n:]
	}
	return in.Finish()
}

// inspectSkipping inspects b the way InspectFile does, reading only what
// the probes ask for.
func inspectSkipping(b []byte) *Info {
	info, err := inspectAt(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		panic(err) // a bytes.Reader cannot fail
	}
	return info
}

package format

import (
	"bytes"
	"encoding/binary"
	"math"
)

// VirtualBox VDI (little-endian): a text banner, then at 0x40 the
// signature 0xbeda107f, the version, the header size, the image type
// (1 dynamic, 2 fixed, 3 undo, 4 differencing), ... the sector size at
// 0x168, the disk size at 0x170, and the link and parent UUIDs at 0x1a8
// and 0x1b8, which only a differencing image sets.
const (
	vdiSignature = 0xbeda107f
	vdiVersion   = 0x00010001
	vdiHeaderEnd = 0x1c8
)

type vdiProbe struct{ v verdict }

func (p *vdiProbe) step(in *Inspector) bool {
	b, wait := in.need(0x44)
	if b == nil {
		return !wait
	}
	if binary.LittleEndian.Uint32(b[0x40:]) != vdiSignature {
		return true
	}
	b, wait = in.need(vdiHeaderEnd)
	if b == nil && wait {
		return false
	}
	p.v.matched, p.v.format = true, VDI
	vs := &p.v.violations
	if b == nil {
		vs.add("header", ErrMalformed, "vdi header truncated at %d bytes", len(in.head))
		return true
	}
	if v := binary.LittleEndian.Uint32(b[0x44:]); v != vdiVersion {
		vs.add("version", ErrMalformed, "unsupported vdi version %#x", v)
	}
	switch t := binary.LittleEndian.Uint32(b[0x4c:]); t {
	case 1:
		p.v.subformat = "dynamic"
	case 2:
		p.v.subformat = "fixed"
	case 4:
		vs.add("backing_file", ErrBackingFile, "differencing vdi reads a parent image")
	default:
		vs.add("image_type", ErrMalformed, "unsupported vdi image type %d", t)
	}
	if s := binary.LittleEndian.Uint32(b[0x168:]); s != 512 {
		vs.add("sector_size", ErrMalformed, "vdi sector size %d", s)
	}
	if !allZero(b[0x1a8:0x1c8]) {
		vs.add("backing_file", ErrBackingFile, "vdi links to a parent image")
	}
	if size := binary.LittleEndian.Uint64(b[0x170:]); size <= math.MaxInt64 {
		p.v.virtualSize = int64(size &^ 511)
	} else {
		vs.add("size", ErrMalformed, "vdi disk size %d out of range", size)
	}
	return true
}

func (p *vdiProbe) verdict(*Inspector) verdict { return p.v }

// Parallels (ploop) images (little-endian): a 16-byte magic, version 2,
// heads, cylinders, sectors per cluster ("tracks"), BAT entries, and the
// disk size in sectors at 36 (only its low 32 bits for the old magic).
type parallelsProbe struct{ v verdict }

func (p *parallelsProbe) step(in *Inspector) bool {
	b, wait := in.need(16)
	if b == nil {
		return !wait
	}
	old := string(b) == "WithoutFreeSpace"
	if !old && string(b) != "WithouFreSpacExt" {
		return true
	}
	b, wait = in.need(64)
	if b == nil && wait {
		return false
	}
	p.v.matched, p.v.format = true, Parallels
	vs := &p.v.violations
	if b == nil {
		vs.add("header", ErrMalformed, "parallels header truncated at %d bytes", len(in.head))
		return true
	}
	if v := binary.LittleEndian.Uint32(b[16:]); v != 2 {
		vs.add("version", ErrMalformed, "unsupported parallels version %d", v)
	}
	if binary.LittleEndian.Uint32(b[28:]) == 0 {
		vs.add("header", ErrMalformed, "zero sectors per cluster")
	}
	sectors := binary.LittleEndian.Uint64(b[36:])
	if old {
		sectors &= math.MaxUint32
	}
	if sectors > math.MaxInt64/512 {
		vs.add("size", ErrMalformed, "%d sectors out of range", sectors)
	} else {
		p.v.virtualSize = int64(sectors) * 512
	}
	return true
}

func (p *parallelsProbe) verdict(*Inspector) verdict { return p.v }

// LUKS version 1 (big-endian): magic "LUKS\xba\xbe", version, cipher,
// mode, hash, then the payload offset in sectors at 104. Glance has no
// disk format for it, so it only ever matches to be refused.
type luksProbe struct {
	v       verdict
	payload int64
}

func (p *luksProbe) step(in *Inspector) bool {
	b, wait := in.need(6)
	if b == nil {
		return !wait
	}
	if !bytes.Equal(b, []byte("LUKS\xba\xbe")) {
		return true
	}
	b, wait = in.need(108)
	if b == nil && wait {
		return false
	}
	p.v.matched, p.v.format = true, LUKS
	if b == nil {
		p.v.violations.add("header", ErrMalformed, "luks header truncated at %d bytes", len(in.head))
		return true
	}
	if v := binary.BigEndian.Uint16(b[6:]); v != 1 {
		p.v.violations.add("version", ErrMalformed, "luks version %d is not supported", v)
		return true
	}
	p.payload = int64(binary.BigEndian.Uint32(b[104:])) * 512
	return true
}

func (p *luksProbe) verdict(in *Inspector) verdict {
	if p.v.matched && p.payload > 0 && p.payload <= in.pos {
		p.v.virtualSize = in.pos - p.payload
	}
	return p.v
}

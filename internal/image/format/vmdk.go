package format

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A hosted sparse VMDK extent starts with a 512-byte little-endian header:
//
//	 0 magic "KDMV"   4 version   8 flags   12 capacity (sectors)
//	20 grain size    28 descriptor offset (sectors)  36 descriptor size
//	44 GTEs per GT   48 redundant GD offset  56 GD offset   77 compression
//
// followed by a text descriptor (at sector 1 when embedded). A VMDK may
// also be a bare text descriptor naming extent files, which is never
// self-contained. QEMU reads parentFileNameHint from the 10 KiB at offset
// 512 of a sparse file and opens it as a backing file, whatever the
// descriptor's declared size.
const (
	vmdkMagic         = "KDMV"
	vmdk3Magic        = "COWD"
	vmdkDescMax       = 1<<20 - 1 // QEMU's limit on a descriptor
	vmdkQemuDescScan  = 20 * 512  // what QEMU scans for parentFileNameHint
	vmdkGDAtEnd       = math.MaxUint64
	vmdkMarkerEOS     = 0
	vmdkMarkerFooter  = 3
	vmdkHeaderBytes   = 79
	vmdkMaxNameReport = 3
)

// vmdkAllowedTypes are the createTypes that keep everything in one file.
var vmdkAllowedTypes = []string{"monolithicSparse", "streamOptimized"}

// vmdkProbe recognises VMDK sparse extents and text descriptors.
type vmdkProbe struct {
	v       verdict
	kind    int // 0 undecided, 1 sparse, 2 text
	hdr     []byte
	gdAtEnd bool
}

func (p *vmdkProbe) step(in *Inspector) bool {
	if p.kind == 0 {
		b, wait := in.need(4)
		if b == nil {
			if wait {
				return false
			}
			b = in.head // a stream shorter than 4 bytes may still be text
		}
		switch string(b) {
		case vmdkMagic:
			p.kind = 1
		case vmdk3Magic:
			return p.vmfsSparse(in)
		default:
			p.kind = 2
		}
	}
	if p.kind == 1 {
		return p.sparse(in)
	}
	return p.text(in)
}

// vmfsSparse handles ESX's COWD extents, which are never accepted.
func (p *vmdkProbe) vmfsSparse(in *Inspector) bool {
	b, wait := in.need(16)
	if b == nil && wait {
		return false
	}
	p.v.matched, p.v.format, p.v.subformat = true, VMDK, "vmfsSparse"
	if b != nil {
		p.v.virtualSize = int64(binary.LittleEndian.Uint32(b[12:])) * 512
	}
	p.v.violations.add("create_type", ErrForbidden, "VMFS sparse (COWD) extent")
	return true
}

func (p *vmdkProbe) sparse(in *Inspector) bool {
	vs := &p.v.violations
	p.v.matched, p.v.format = true, VMDK
	b, wait := in.need(vmdkHeaderBytes)
	if b == nil {
		if wait {
			return false
		}
		vs.add("header", ErrMalformed, "vmdk header truncated at %d bytes", len(in.head))
		return true
	}
	version := binary.LittleEndian.Uint32(b[4:])
	capacity := binary.LittleEndian.Uint64(b[12:])
	descSec := binary.LittleEndian.Uint64(b[28:])
	descNum := binary.LittleEndian.Uint64(b[36:])
	p.gdAtEnd = binary.LittleEndian.Uint64(b[56:]) == vmdkGDAtEnd
	if version < 1 || version > 3 {
		vs.add("version", ErrMalformed, "unsupported vmdk version %d", version)
		return true
	}
	if descSec != 1 {
		vs.add("descriptor", ErrMalformed, "descriptor at sector %d, not 1", descSec)
		return true
	}
	descSize := int(min(descNum, vmdkDescMax/512+1) * 512)
	descSize = min(descSize, vmdkDescMax)
	end := 512 + max(descSize, vmdkQemuDescScan)
	b, wait = in.have(end)
	if wait {
		return false
	}
	p.hdr = bytes.Clone(b[:vmdkHeaderBytes])
	if capacity > math.MaxInt64/512 {
		vs.add("capacity", ErrMalformed, "capacity %d sectors out of range", capacity)
	} else {
		p.v.virtualSize = int64(capacity) * 512
	}
	var rest []byte
	if len(b) > 512 {
		rest = b[512:]
	}
	desc := cutNUL(rest[:min(len(rest), descSize)])
	scan := cutNUL(rest[:min(len(rest), vmdkQemuDescScan)])
	if len(desc) == 0 {
		vs.add("descriptor", ErrMalformed, "no embedded descriptor")
		return true
	}
	d := parseVMDKDescriptor(desc)
	if d.parent == "" && bytes.Contains(scan, []byte("parentFileNameHint")) {
		d.parent = "(beyond the descriptor)"
	}
	p.v.subformat = d.createType
	p.checkDescriptor(d)
	if len(d.extents) != 1 {
		vs.add("extents", ErrExternalExtent, "a monolithic vmdk has one extent, this one has %d", len(d.extents))
	} else if e := d.extents[0]; !strings.EqualFold(e.typ, "SPARSE") || strings.ContainsAny(e.file, `/\`) {
		vs.add("extents", ErrExternalExtent, "extent %s %q is not this file", e.typ, e.file)
	}
	return true
}

// checkDescriptor applies the checks common to embedded and bare
// descriptors.
func (p *vmdkProbe) checkDescriptor(d vmdkDescriptor) {
	vs := &p.v.violations
	if d.parent != "" {
		vs.add("backing_file", ErrBackingFile, "parentFileNameHint %s", d.parent)
	}
	if d.notText {
		vs.add("descriptor", ErrMalformed, "descriptor is not ASCII text")
	}
	if d.badLine != "" {
		vs.add("descriptor", ErrMalformed, "unrecognised descriptor line %q", d.badLine)
	}
	switch {
	case d.createType == "":
		vs.add("create_type", ErrCreateType, "descriptor has no createType")
	case !vmdkTypeAllowed(d.createType):
		vs.add("create_type", ErrCreateType, "createType %q is not one of %s", d.createType, strings.Join(vmdkAllowedTypes, ", "))
	}
}

func vmdkTypeAllowed(t string) bool {
	for _, a := range vmdkAllowedTypes {
		if strings.EqualFold(a, t) {
			return true
		}
	}
	return false
}

// text recognises a bare descriptor file the way QEMU's probe does (a
// "version=N" line after comments) or Glance's does (ASCII text with a
// createType). It is never safe: its data lives in the extent files.
func (p *vmdkProbe) text(in *Inspector) bool {
	b, wait := in.have(defaultHead)
	if wait {
		return false
	}
	// QEMU reads a descriptor as a C string: text up to the first NUL,
	// whatever follows it.
	first := cutNUL(b[:min(len(b), 512)])
	if len(first) == 0 || !isText(first) {
		return true
	}
	text := cutNUL(b)
	if !qemuProbeVMDKText(first) && !(isASCII(text) && bytes.Contains(bytes.ToLower(text), []byte(`createtype="`))) {
		return true
	}
	p.v.matched, p.v.format = true, VMDK
	d := parseVMDKDescriptor(text)
	p.v.subformat = d.createType
	var sectors int64
	var names []string
	for _, e := range d.extents {
		if strings.EqualFold(e.access, "RW") && e.sectors > 0 && e.sectors < math.MaxInt64/512-sectors {
			sectors += e.sectors
		}
		if len(names) < vmdkMaxNameReport {
			names = append(names, strconv.Quote(e.file))
		}
	}
	p.v.virtualSize = sectors * 512
	p.checkDescriptor(d)
	detail := "descriptor-only vmdk names no extents"
	if len(names) > 0 {
		detail = fmt.Sprintf("descriptor-only vmdk reads extents %s", strings.Join(names, ", "))
	}
	p.v.violations.add("extents", ErrExternalExtent, detail)
	return true
}

func (p *vmdkProbe) verdict(in *Inspector) verdict {
	if p.gdAtEnd && p.hdr != nil {
		p.footer(in)
	}
	return p.v
}

// footer checks a stream-optimized VMDK whose grain directory offset is
// in a footer at the end of the stream, and takes the capacity from it as
// QEMU does. The last 1536 bytes are a footer marker, a copy of the header
// with the real offsets, and an end-of-stream marker.
func (p *vmdkProbe) footer(in *Inspector) {
	vs := &p.v.violations
	t := in.tailBytes(1536)
	if t == nil {
		vs.add("footer", ErrMalformed, "vmdk footer missing")
		return
	}
	marker, f, eos := t[:512], t[512:1024], t[1024:]
	switch {
	case string(f[:4]) != vmdkMagic:
		vs.add("footer", ErrMalformed, "footer signature does not match")
	case binary.LittleEndian.Uint32(f[4:]) != binary.LittleEndian.Uint32(p.hdr[4:]):
		vs.add("footer", ErrMalformed, "footer version does not match the header")
	case !bytes.Equal(f[28:44], p.hdr[28:44]):
		vs.add("footer", ErrMalformed, "footer names a different descriptor than the header")
	case binary.LittleEndian.Uint64(f[56:]) == vmdkGDAtEnd:
		vs.add("footer", ErrMalformed, "footer points at another footer")
	case !vmdkMarker(marker, vmdkMarkerFooter, false):
		vs.add("footer", ErrMalformed, "footer marker is invalid")
	case !vmdkMarker(eos, vmdkMarkerEOS, true):
		vs.add("footer", ErrMalformed, "end-of-stream marker is invalid")
	default:
		if c := binary.LittleEndian.Uint64(f[12:]); c <= math.MaxInt64/512 {
			p.v.virtualSize = int64(c) * 512
		}
	}
}

// vmdkMarker checks a stream-optimized metadata marker: value, a zero
// size, the type and zero padding.
func vmdkMarker(b []byte, typ uint32, zeroValue bool) bool {
	if zeroValue && binary.LittleEndian.Uint64(b) != 0 {
		return false
	}
	if binary.LittleEndian.Uint32(b[8:]) != 0 || binary.LittleEndian.Uint32(b[12:]) != typ {
		return false
	}
	return allZero(b[16:])
}

// vmdkDescriptor is what parseVMDKDescriptor found.
type vmdkDescriptor struct {
	createType string
	parent     string // parentFileNameHint, quoted
	extents    []vmdkExtent
	badLine    string // the first line that is none of the known kinds
	notText    bool
}

type vmdkExtent struct {
	access  string
	sectors int64
	typ     string
	file    string
}

// parseVMDKDescriptor reads a descriptor cautiously: comments, blank
// lines, ddb entries, key=value settings and extent lines; anything else
// is reported.
func parseVMDKDescriptor(b []byte) vmdkDescriptor {
	var d vmdkDescriptor
	if !isText(b) {
		d.notText = true
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(strings.ToLower(line), "ddb") {
			continue
		}
		fields := strings.Fields(line)
		switch strings.ToUpper(fields[0]) {
		case "RW", "RDONLY", "NOACCESS":
			e, ok := parseVMDKExtent(fields[0], line[len(fields[0]):])
			if !ok {
				if d.badLine == "" {
					d.badLine = clip(line)
				}
				continue
			}
			d.extents = append(d.extents, e)
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			if d.badLine == "" {
				d.badLine = clip(line)
			}
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		switch strings.ToLower(key) {
		case "createtype":
			d.createType = clip(value)
		case "parentfilenamehint":
			d.parent = strconv.Quote(clip(value))
		}
	}
	return d
}

// parseVMDKExtent parses `SECTORS TYPE "FILE" [OFFSET]`.
func parseVMDKExtent(access, rest string) (vmdkExtent, bool) {
	e := vmdkExtent{access: access}
	fields := strings.Fields(rest)
	if len(fields) < 3 {
		return e, false
	}
	n, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return e, false
	}
	e.sectors, e.typ = n, fields[1]
	i := strings.IndexByte(rest, '"')
	if i < 0 {
		return e, false
	}
	j := strings.IndexByte(rest[i+1:], '"')
	if j < 0 {
		return e, false
	}
	e.file = rest[i+1 : i+1+j]
	return e, true
}

// qemuProbeVMDKText is QEMU's test for a text descriptor: comment lines
// and lines of spaces may come first, then a line version=1, 2 or 3.
func qemuProbeVMDKText(b []byte) bool {
	for len(b) > 0 {
		switch b[0] {
		case '#':
			_, b, _ = bytes.Cut(b, []byte("\n"))
			continue
		case ' ':
			b = bytes.TrimLeft(b, " ")
			b = bytes.TrimPrefix(b, []byte("\r"))
			if len(b) == 0 || b[0] != '\n' {
				return false
			}
			b = b[1:]
			continue
		}
		for _, v := range []string{"version=1", "version=2", "version=3"} {
			if bytes.HasPrefix(b, []byte(v+"\n")) || bytes.HasPrefix(b, []byte(v+"\r\n")) {
				return true
			}
		}
		return false
	}
	return false
}

// isText reports whether b is printable ASCII and whitespace.
func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') || c >= 0x7f {
			return false
		}
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// cutNUL returns b up to its first NUL byte.
func cutNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// clip shortens what a crafted image puts in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

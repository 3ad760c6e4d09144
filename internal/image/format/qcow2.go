package format

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// qcow2 layout (QEMU docs/interop/qcow2.txt; all fields big-endian):
//
//	 0 magic "QFI\xfb"        4 version
//	 8 backing_file_offset   16 backing_file_size
//	20 cluster_bits          24 size (virtual, bytes)
//	32 crypt_method          ... (v2 header ends at 72)
//	72 incompatible_features 80 compatible_features
//	88 autoclear_features    96 refcount_order   100 header_length
//
// Header extensions follow the header (at header_length, 72 for version 2)
// up to the backing file name or the end of the first cluster: a 4-byte
// type, a 4-byte length, the data padded to 8 bytes; type 0 ends them.
const (
	qcowMagic          = "QFI\xfb"
	qcowExtEnd         = 0x00000000
	qcowExtBackingFmt  = 0xe2792aca
	qcowExtDataFile    = 0x44415441
	qcowIncompatDirty  = 1 << 0
	qcowIncompatCorupt = 1 << 1
	qcowIncompatData   = 1 << 2
	qcowIncompatCompr  = 1 << 3
	qcowIncompatExtL2  = 1 << 4
	// qcowIncompatKnown are the incompatible features QEMU defines. Unlike
	// Glance's inspector, which stops at bit 3, extended L2 entries (bit 4)
	// count as known: QEMU reads them and they reference no other file.
	qcowIncompatKnown = qcowIncompatDirty | qcowIncompatCorupt | qcowIncompatData |
		qcowIncompatCompr | qcowIncompatExtL2
	qcowMaxName = 1023
)

// qcowProbe recognises qcow2 (and the obsolete qcow version 1).
type qcowProbe struct {
	v       verdict
	started bool
	cluster int // cluster size
	extAt   int // next header extension to read
	extEnd  int // where header extensions must stop
	bfOff   int // backing file name offset and size, when it can be read
	bfLen   int
}

func (p *qcowProbe) step(in *Inspector) bool {
	if !p.started {
		b, wait := in.need(4)
		if b == nil {
			return !wait
		}
		if string(b) != qcowMagic {
			return true
		}
		p.started = true
		p.v.matched = true
		p.v.format = QCOW2
	}
	if p.cluster == 0 {
		return p.header(in)
	}
	return p.extensions(in)
}

// header parses the fixed header; it returns true when nothing more is
// needed.
func (p *qcowProbe) header(in *Inspector) bool {
	vs := &p.v.violations
	b, wait := in.need(32)
	if b == nil {
		if wait {
			return false
		}
		vs.add("header", ErrMalformed, "qcow header truncated at %d bytes", len(in.head))
		return true
	}
	version := binary.BigEndian.Uint32(b[4:])
	if version == 1 {
		return p.version1(in)
	}
	size := binary.BigEndian.Uint64(b[24:])
	if size <= math.MaxInt64 {
		p.v.virtualSize = int64(size)
	}
	if version != 2 && version != 3 {
		vs.add("version", ErrMalformed, "unsupported qcow2 version %d", version)
		return true
	}
	hlen := 72
	if version == 3 {
		hlen = 104
	}
	b, wait = in.need(hlen)
	if b == nil {
		if wait {
			return false
		}
		vs.add("header", ErrMalformed, "qcow2 header truncated at %d bytes", len(in.head))
		return true
	}
	bfOff := binary.BigEndian.Uint64(b[8:])
	bfLen := binary.BigEndian.Uint32(b[16:])
	clusterBits := binary.BigEndian.Uint32(b[20:])
	crypt := binary.BigEndian.Uint32(b[32:])
	if size > math.MaxInt64 {
		vs.add("size", ErrMalformed, "virtual size %d out of range", size)
	}
	if crypt > 2 {
		vs.add("encryption", ErrMalformed, "unknown encryption method %d", crypt)
	}
	p.v.encrypted = crypt != 0
	if version == 3 {
		incompat := binary.BigEndian.Uint64(b[72:])
		if incompat&qcowIncompatData != 0 {
			vs.add("data_file", ErrDataFile, "incompatible feature bit 2 (external data file) is set")
		}
		if unknown := incompat &^ qcowIncompatKnown; unknown != 0 {
			vs.add("unknown_features", ErrUnknownFeatures, "incompatible feature bits %s", bitList(unknown))
		}
		hlen = int(min(binary.BigEndian.Uint32(b[100:]), math.MaxInt32))
	}
	if clusterBits < 9 || clusterBits > 21 {
		vs.add("cluster_bits", ErrMalformed, "cluster_bits %d outside 9..21", clusterBits)
		if bfOff != 0 {
			vs.add("backing_file", ErrBackingFile, "backing file at offset %d", bfOff)
		}
		return true
	}
	p.cluster = 1 << clusterBits
	if version == 3 && (hlen < 104 || hlen%8 != 0 || hlen > p.cluster) {
		vs.add("header_length", ErrMalformed, "header_length %d", hlen)
		hlen = -1
	}
	p.extAt, p.extEnd = hlen, p.cluster
	if bfOff != 0 {
		if bfOff < uint64(p.cluster) {
			p.extEnd = int(bfOff)
		}
		if bfLen > 0 && bfLen <= qcowMaxName && bfOff+uint64(bfLen) <= uint64(p.cluster) {
			p.bfOff, p.bfLen = int(bfOff), int(bfLen)
		} else {
			vs.add("backing_file", ErrBackingFile, "backing file at offset %d", bfOff)
		}
	}
	return p.extensions(in)
}

// extensions walks the header extensions and reads the backing file name.
func (p *qcowProbe) extensions(in *Inspector) bool {
	vs := &p.v.violations
	for p.extAt >= 0 {
		if p.extAt+8 > p.extEnd {
			vs.add("extensions", ErrMalformed, "header extensions run past offset %d", p.extEnd)
			p.extAt = -1
			break
		}
		b, wait := in.need(p.extAt + 8)
		if b == nil {
			if wait {
				return false
			}
			vs.add("extensions", ErrMalformed, "header extensions truncated")
			p.extAt = -1
			break
		}
		typ := binary.BigEndian.Uint32(b[p.extAt:])
		n := int(min(binary.BigEndian.Uint32(b[p.extAt+4:]), math.MaxInt32))
		if typ == qcowExtEnd {
			p.extAt = -1
			break
		}
		if n > p.extEnd-p.extAt-8 {
			vs.add("extensions", ErrMalformed, "header extension %#x of %d bytes runs past offset %d", typ, n, p.extEnd)
			p.extAt = -1
			break
		}
		if typ == qcowExtDataFile {
			name := ""
			if n <= qcowMaxName {
				b, wait = in.need(p.extAt + 8 + n)
				if b == nil && wait {
					return false
				}
				if b != nil {
					name = " " + strconv.Quote(string(b[p.extAt+8:]))
				}
			}
			vs.add("data_file", ErrDataFile, "data file name extension%s", name)
		}
		p.extAt += 8 + (n+7)&^7
	}
	if p.bfLen > 0 {
		b, wait := in.need(p.bfOff + p.bfLen)
		if b == nil && wait {
			return false
		}
		detail := "backing file at offset " + strconv.Itoa(p.bfOff)
		if b != nil {
			detail = "backing file " + strconv.Quote(string(b[p.bfOff:]))
		}
		p.v.violations.add("backing_file", ErrBackingFile, detail)
		p.bfLen = 0
	}
	return true
}

// version1 handles QEMU's original qcow format, which Glance never accepts.
func (p *qcowProbe) version1(in *Inspector) bool {
	b, wait := in.need(48)
	if b == nil && wait {
		return false
	}
	p.v.format = QCOW
	vs := &p.v.violations
	vs.add("version", ErrForbidden, "qcow version 1")
	if b == nil {
		return true
	}
	if size := binary.BigEndian.Uint64(b[24:]); size <= math.MaxInt64 {
		p.v.virtualSize = int64(size)
	}
	if off := binary.BigEndian.Uint64(b[8:]); off != 0 {
		vs.add("backing_file", ErrBackingFile, "backing file at offset %d", off)
	}
	return true
}

func (p *qcowProbe) verdict(*Inspector) verdict { return p.v }

// bitList formats the set bits of v as "5,9".
func bitList(v uint64) string {
	var parts []string
	for v != 0 {
		b := bits.TrailingZeros64(v)
		parts = append(parts, strconv.Itoa(b))
		v &^= 1 << b
	}
	return strings.Join(parts, ",")
}

// qedProbe recognises QEMU's QED format, which Glance never accepts.
//
//	0 magic "QED\0"  48 image_size (LE)  56 backing_filename_offset
type qedProbe struct{ v verdict }

func (p *qedProbe) step(in *Inspector) bool {
	b, wait := in.need(4)
	if b == nil {
		return !wait
	}
	if !bytes.Equal(b, []byte("QED\x00")) {
		return true
	}
	b, wait = in.need(64)
	if b == nil && wait {
		return false
	}
	p.v.matched, p.v.format = true, QED
	p.v.violations.add("format", ErrForbidden, "qed images are not accepted")
	if b == nil {
		return true
	}
	if size := binary.LittleEndian.Uint64(b[48:]); size <= math.MaxInt64 {
		p.v.virtualSize = int64(size)
	}
	if binary.LittleEndian.Uint32(b[56:]) != 0 {
		p.v.violations.add("backing_file", ErrBackingFile, "qed backing file")
	}
	return true
}

func (p *qedProbe) verdict(*Inspector) verdict { return p.v }

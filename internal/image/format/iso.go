package format

import (
	"encoding/binary"
	"slices"
)

// ISO 9660 leaves the first 16 sectors of 2048 bytes (the system area) to
// the operating system; volume descriptors follow from sector 16, each a
// type byte and a five-byte identifier: "CD001" for ISO 9660, and for UDF
// "BEA01", "NSR02"/"NSR03", "TEA01". The primary volume descriptor (type 1)
// holds the volume space size (sectors, both-endian) at 80 and the logical
// block size at 128.
const (
	isoSector    = 2048
	isoFirstDesc = 16 * isoSector
)

// isoProbe recognises ISO 9660 and UDF images.
type isoProbe struct {
	v    verdict
	size int64 // from the primary volume descriptor; 0 when unknown
}

func (p *isoProbe) step(in *Inspector) bool {
	b, wait := in.have(defaultHead)
	if wait {
		return false
	}
	if len(b) < isoFirstDesc+6 {
		return true
	}
	ids := make([]string, 0, 16)
	for off := isoFirstDesc; off+6 <= len(b); off += isoSector {
		ids = append(ids, string(b[off+1:off+6]))
		d := b[off:min(off+isoSector, len(b))]
		if p.size == 0 && len(d) >= 132 && d[0] == 1 && ids[len(ids)-1] == "CD001" {
			blocks := int64(binary.LittleEndian.Uint32(d[80:]))
			p.size = blocks * int64(binary.LittleEndian.Uint16(d[128:]))
		}
	}
	udf := ids[0] == "BEA01" && (slices.Contains(ids, "NSR02") || slices.Contains(ids, "NSR03"))
	switch {
	case ids[0] == "CD001", ids[0] == "NSR02", ids[0] == "NSR03", udf:
		p.v.matched, p.v.format = true, ISO
		p.v.allowsPartition = true
	}
	return true
}

func (p *isoProbe) verdict(in *Inspector) verdict {
	if p.v.matched {
		// Glance reports the size the primary volume descriptor declares;
		// a UDF-only disc has none, so it is the bytes, as qemu-img says.
		p.v.virtualSize = p.size
		if p.size == 0 {
			p.v.virtualSize = in.pos
		}
	}
	return p.v
}

// mbrProbe recognises a master boot record (and, through its protective
// partition, a GPT) and applies the checks Glance's inspector applies to
// it. A FAT boot sector and a Linux kernel's boot sector end in the same
// signature but hold no partition table, so they are not matches.
type mbrProbe struct{ v verdict }

func (p *mbrProbe) step(in *Inspector) bool {
	b, wait := in.have(0x206)
	if wait {
		return false
	}
	if len(b) < 512 || b[510] != 0x55 || b[511] != 0xaa {
		return true
	}
	if b[0x10] == 2 && b[0x15] == 0xf8 {
		return true // FAT volume boot record: two FATs on a fixed disk
	}
	if len(b) >= 0x206 && string(b[0x202:0x206]) == "HdrS" {
		return true // Linux boot protocol header
	}
	p.v.matched, p.v.format = true, MBR
	var used []int
	gpt := false
	for i := range 4 {
		e := b[446+16*i : 462+16*i]
		if e[0] != 0 && e[0] != 0x80 {
			p.v.violations.add("mbr", ErrPartitionTable, "partition %d has boot flag %#x", i, e[0])
			return true
		}
		if e[4] != 0 {
			used = append(used, i)
		}
		if e[4] == 0xee {
			gpt = true
			p.v.format = GPT
			if e[1] != 0 || e[2] != 2 || e[3] != 0 {
				p.v.violations.add("mbr", ErrPartitionTable, "protective partition has start CHS %x", e[1:4])
				return true
			}
			if lba := binary.LittleEndian.Uint32(e[8:]); lba != 1 {
				p.v.violations.add("mbr", ErrPartitionTable, "protective partition starts at LBA %d", lba)
				return true
			}
		}
	}
	switch {
	case gpt && !slices.Equal(used, []int{0}):
		p.v.violations.add("mbr", ErrPartitionTable, "protective MBR defines other partitions")
	case len(used) == 0:
		p.v.violations.add("mbr", ErrPartitionTable, "MBR defines no partitions")
	}
	return true
}

func (p *mbrProbe) verdict(*Inspector) verdict { return p.v }

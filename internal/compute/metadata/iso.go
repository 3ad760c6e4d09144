package metadata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
)

// ConfigDriveLabel is the volume label cloud-init looks for.
const ConfigDriveLabel = "config-2"

const sector = 2048

// isoNode is a directory or file of the image.
type isoNode struct {
	name     string // as given ("meta_data.json")
	dir      bool
	data     []byte
	children []*isoNode
	parent   *isoNode
	// Layout: the extent of a file, or of each directory hierarchy's copy.
	lba      uint32
	size     uint32 // bytes, for directories a multiple of the sector
	jlba     uint32
	jsize    uint32
	number   int // path table number (directories), primary and Joliet alike
	pathName []byte
	jName    []byte
}

// WriteConfigDrive writes files (by slash-separated path) as an ISO 9660
// image with Joliet names and the config drive's label to path.
func WriteConfigDrive(path string, files map[string][]byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := WriteISO(f, ConfigDriveLabel, files, time.Now()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteISO writes files as an ISO 9660 image (level 2 names in the primary
// hierarchy, the real names in a Joliet hierarchy) labelled label.
func WriteISO(w io.Writer, label string, files map[string][]byte, now time.Time) error {
	root := &isoNode{dir: true}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		clean := path.Clean("/" + p)[1:]
		if clean == "" || strings.HasSuffix(p, "/") {
			return fmt.Errorf("iso: bad file path %q", p)
		}
		parts := strings.Split(clean, "/")
		cur := root
		for i, part := range parts {
			if len([]rune(part)) > 64 {
				return fmt.Errorf("iso: name %q is longer than Joliet's 64 characters", part)
			}
			var next *isoNode
			for _, c := range cur.children {
				if c.name == part {
					next = c
				}
			}
			last := i == len(parts)-1
			if next == nil {
				next = &isoNode{name: part, dir: !last, parent: cur}
				cur.children = append(cur.children, next)
			} else if next.dir == last {
				return fmt.Errorf("iso: %q is both a file and a directory", clean)
			}
			if last {
				next.data = files[p]
			}
			cur = next
		}
	}
	// Directories in path table order: by depth, then parent, then name.
	var dirs []*isoNode
	level := []*isoNode{root}
	for len(level) > 0 {
		var next []*isoNode
		for _, d := range level {
			dirs = append(dirs, d)
			d.number = len(dirs)
			slices.SortFunc(d.children, func(a, b *isoNode) int { return strings.Compare(isoName(a), isoName(b)) })
			for _, c := range d.children {
				if c.dir {
					next = append(next, c)
				}
			}
		}
		level = next
	}
	for _, d := range dirs {
		if d == root {
			d.pathName, d.jName = []byte{0}, []byte{0}
		} else {
			d.pathName, d.jName = []byte(isoName(d)), jolietName(d)
		}
	}
	for _, d := range dirs {
		for _, c := range d.children {
			if !c.dir {
				c.pathName, c.jName = []byte(isoName(c)), jolietName(c)
			}
		}
	}

	// Layout: 16 system sectors, PVD, SVD, terminator, four path tables,
	// the primary directories, the Joliet directories, the files.
	ptSize := func(joliet bool) int {
		n := 0
		for _, d := range dirs {
			name := d.pathName
			if joliet {
				name = d.jName
			}
			n += 8 + len(name) + len(name)%2
		}
		return n
	}
	sectors := func(n int) uint32 { return uint32((n + sector - 1) / sector) }
	lba := uint32(19)
	pL, pM := lba, lba+sectors(ptSize(false))
	jL := pM + sectors(ptSize(false))
	jM := jL + sectors(ptSize(true))
	lba = jM + sectors(ptSize(true))
	for _, d := range dirs {
		d.size = dirSize(d, false)
		d.lba = lba
		lba += d.size / sector
	}
	for _, d := range dirs {
		d.jsize = dirSize(d, true)
		d.jlba = lba
		lba += d.jsize / sector
	}
	for _, d := range dirs {
		for _, c := range d.children {
			if !c.dir {
				c.size = uint32(len(c.data))
				c.lba = lba
				lba += sectors(len(c.data))
			}
		}
	}
	total := lba

	out := &isoBuf{}
	out.pad(16 * sector)
	out.write(volumeDescriptor(1, label, root, false, total, ptSize(false), pL, pM, now))
	out.write(volumeDescriptor(2, label, root, true, total, ptSize(true), jL, jM, now))
	term := make([]byte, sector)
	term[0] = 255
	copy(term[1:], "CD001")
	term[6] = 1
	out.write(term)
	out.write(sectorPad(pathTable(dirs, false, binary.LittleEndian)))
	out.write(sectorPad(pathTable(dirs, false, binary.BigEndian)))
	out.write(sectorPad(pathTable(dirs, true, binary.LittleEndian)))
	out.write(sectorPad(pathTable(dirs, true, binary.BigEndian)))
	for _, joliet := range []bool{false, true} {
		for _, d := range dirs {
			out.write(dirExtent(d, joliet, now))
		}
	}
	for _, d := range dirs {
		for _, c := range d.children {
			if !c.dir {
				out.write(sectorPad(c.data))
			}
		}
	}
	if out.Len() != int(total)*sector {
		return errors.New("iso: layout and contents disagree")
	}
	_, err := w.Write(out.Bytes())
	return err
}

type isoBuf struct{ bytes.Buffer }

func (b *isoBuf) write(p []byte) { b.Buffer.Write(p) }
func (b *isoBuf) pad(n int)      { b.Buffer.Write(make([]byte, n)) }

func sectorPad(p []byte) []byte {
	if r := len(p) % sector; r != 0 {
		p = append(slices.Clone(p), make([]byte, sector-r)...)
	}
	return p
}

// isoName is a level 2 name of d-characters: upper case, digits and "_",
// files with an extension separator and ";1".
func isoName(n *isoNode) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(n.name) {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '.' && !n.dir:
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	s := b.String()
	if !n.dir {
		if i := strings.LastIndex(s, "."); i >= 0 {
			s = strings.ReplaceAll(s[:i], ".", "_") + s[i:]
		} else {
			s += "."
		}
		if len(s) > 30 {
			s = s[:30]
		}
		return s + ";1"
	}
	if len(s) > 31 {
		s = s[:31]
	}
	return s
}

// jolietName is the UCS-2 big-endian name (files with ";1").
func jolietName(n *isoNode) []byte {
	name := n.name
	if !n.dir {
		name += ";1"
	}
	var out []byte
	for _, u := range utf16.Encode([]rune(name)) {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

func recordLen(nameLen int) int {
	n := 33 + nameLen
	return n + n%2
}

// dirSize is a directory extent's size: its records, none crossing a
// sector, rounded up to whole sectors.
func dirSize(d *isoNode, joliet bool) uint32 {
	used, total := 0, 0
	add := func(n int) {
		if used+n > sector {
			total += sector
			used = 0
		}
		used += n
	}
	add(recordLen(1))
	add(recordLen(1))
	for _, c := range d.children {
		name := c.pathName
		if joliet {
			name = c.jName
		}
		add(recordLen(len(name)))
	}
	return uint32(total + sector)
}

func both32(v uint32) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, v)
	binary.BigEndian.PutUint32(b[4:], v)
	return b
}

func both16(v uint16) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint16(b, v)
	binary.BigEndian.PutUint16(b[2:], v)
	return b
}

// dirRecord is one directory record.
func dirRecord(name []byte, lba, size uint32, dir bool, now time.Time) []byte {
	n := recordLen(len(name))
	r := make([]byte, n)
	r[0] = byte(n)
	copy(r[2:], both32(lba))
	copy(r[10:], both32(size))
	t := now.UTC()
	r[18], r[19], r[20], r[21], r[22], r[23] = byte(t.Year()-1900), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())
	if dir {
		r[25] = 2
	}
	copy(r[28:], both16(1))
	r[32] = byte(len(name))
	copy(r[33:], name)
	return r
}

func dirExtent(d *isoNode, joliet bool, now time.Time) []byte {
	lba, size := d.lba, d.size
	plba, psize := d.lba, d.size
	if d.parent != nil {
		plba, psize = d.parent.lba, d.parent.size
	}
	if joliet {
		lba, size = d.jlba, d.jsize
		plba, psize = d.jlba, d.jsize
		if d.parent != nil {
			plba, psize = d.parent.jlba, d.parent.jsize
		}
	}
	out := make([]byte, 0, size)
	cur := 0
	add := func(rec []byte) {
		if cur+len(rec) > sector {
			out = append(out, make([]byte, sector-cur)...)
			cur = 0
		}
		out = append(out, rec...)
		cur += len(rec)
	}
	add(dirRecord([]byte{0}, lba, size, true, now))
	add(dirRecord([]byte{1}, plba, psize, true, now))
	for _, c := range d.children {
		name, clba, csize := c.pathName, c.lba, c.size
		if joliet {
			name = c.jName
			if c.dir {
				clba, csize = c.jlba, c.jsize
			}
		}
		add(dirRecord(name, clba, csize, c.dir, now))
	}
	return append(out, make([]byte, int(size)-len(out))...)
}

func pathTable(dirs []*isoNode, joliet bool, order binary.ByteOrder) []byte {
	var out []byte
	for _, d := range dirs {
		name, lba := d.pathName, d.lba
		if joliet {
			name, lba = d.jName, d.jlba
		}
		rec := make([]byte, 8+len(name)+len(name)%2)
		rec[0] = byte(len(name))
		order.PutUint32(rec[2:], lba)
		parent := 1
		if d.parent != nil {
			parent = d.parent.number
		}
		order.PutUint16(rec[6:], uint16(parent))
		copy(rec[8:], name)
		out = append(out, rec...)
	}
	return out
}

// volumeDescriptor is the primary (type 1) or Joliet supplementary (type 2)
// volume descriptor.
func volumeDescriptor(typ byte, label string, root *isoNode, joliet bool, total uint32, ptSize int, lPath, mPath uint32, now time.Time) []byte {
	v := make([]byte, sector)
	v[0] = typ
	copy(v[1:], "CD001")
	v[6] = 1
	text := func(off, n int, s string) {
		if joliet {
			b := make([]byte, 0, n)
			for _, u := range utf16.Encode([]rune(s)) {
				b = append(b, byte(u>>8), byte(u))
			}
			for len(b) < n {
				b = append(b, 0, ' ')
			}
			copy(v[off:off+n], b[:n])
			return
		}
		b := []byte(s)
		for len(b) < n {
			b = append(b, ' ')
		}
		copy(v[off:off+n], b[:n])
	}
	text(8, 32, "LINUX")
	text(40, 32, label)
	copy(v[80:], both32(total))
	if joliet {
		copy(v[88:], "%/E") // UCS-2 level 3
	}
	copy(v[120:], both16(1))
	copy(v[124:], both16(1))
	copy(v[128:], both16(sector))
	copy(v[132:], both32(uint32(ptSize)))
	binary.LittleEndian.PutUint32(v[140:], lPath)
	binary.BigEndian.PutUint32(v[148:], mPath)
	rlba, rsize := root.lba, root.size
	if joliet {
		rlba, rsize = root.jlba, root.jsize
	}
	copy(v[156:], dirRecord([]byte{0}, rlba, rsize, true, now))
	text(190, 128, "")
	text(318, 128, "")
	text(446, 128, "")
	text(574, 128, "TENKU")
	text(702, 37, "")
	text(739, 37, "")
	text(776, 37, "")
	stamp := []byte(now.UTC().Format("20060102150405") + "00")
	copy(v[813:], append(stamp, 0))
	copy(v[830:], append(stamp, 0))
	copy(v[847:], append([]byte("0000000000000000"), 0))
	copy(v[864:], append(stamp, 0))
	v[881] = 1
	return v
}

package testimage

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func lutimes(p string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// cpioEntry is a file of the initramfs.
type cpioEntry struct {
	name  string
	mode  uint32 // type and permission bits
	data  []byte // contents, or the link target
	major uint32 // device numbers of a device node
	minor uint32
}

const (
	cpioDir  = 0o040000
	cpioFile = 0o100000
	cpioLink = 0o120000
	cpioChar = 0o020000
)

// writeCpio writes entries in the "newc" format the kernel unpacks, in name
// order, with fixed times and inode numbers.
func writeCpio(w io.Writer, entries []cpioEntry) error {
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	pad := func() {
		for buf.Len()%4 != 0 {
			buf.WriteByte(0)
		}
	}
	write := func(ino int, e cpioEntry) {
		nlink := 1
		if e.mode&0o170000 == cpioDir {
			nlink = 2
		}
		fmt.Fprintf(&buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, e.mode, 0, 0, nlink, epoch.Unix(), len(e.data), 0, 0, e.major, e.minor, len(e.name)+1, 0)
		buf.WriteString(e.name)
		buf.WriteByte(0)
		pad()
		buf.Write(e.data)
		pad()
	}
	for i, e := range entries {
		write(i+1, e)
	}
	write(0, cpioEntry{name: "TRAILER!!!"})
	_, err := w.Write(buf.Bytes())
	return err
}

// initramfs makes the gzip-compressed initramfs: busybox, /init and the
// modules that find the root disk, with the order to load them in.
func (b *builder) initramfs() ([]byte, error) {
	var entries []cpioEntry
	dirs := map[string]bool{}
	addDir := func(d string) {
		for d != "." && d != "" && !dirs[d] {
			dirs[d] = true
			entries = append(entries, cpioEntry{name: d, mode: cpioDir | 0o755})
			d = filepath.Dir(d)
		}
	}
	add := func(name string, data []byte, mode uint32) {
		addDir(filepath.Dir(name))
		entries = append(entries, cpioEntry{name: name, mode: cpioFile | mode, data: data})
	}
	for _, d := range []string{"dev", "proc", "sys", "newroot", "bin", "sbin", "usr/bin", "usr/sbin", "tmp"} {
		addDir(d)
	}
	entries = append(entries, cpioEntry{name: "dev/console", mode: cpioChar | 0o600, major: 5, minor: 1})
	bb, err := os.ReadFile(filepath.Join(b.unpak, "bin/busybox"))
	if err != nil {
		return nil, err
	}
	add("bin/busybox", bb, 0o755)
	entries = append(entries, cpioEntry{name: "bin/sh", mode: cpioLink | 0o777, data: []byte("busybox")})
	initScript, err := files.ReadFile("initramfs/init")
	if err != nil {
		return nil, err
	}
	add("init", initScript, 0o755)
	mods, err := b.kernelModules()
	if err != nil {
		return nil, err
	}
	order, err := loadOrder(mods, initrdModules)
	if err != nil {
		return nil, err
	}
	var list []string
	for _, m := range order {
		data, err := os.ReadFile(filepath.Join(b.unpak, "lib/modules", b.kver, m.rel))
		if err != nil {
			return nil, err
		}
		p := "lib/modules/" + b.kver + "/" + m.rel
		add(p, data, 0o644)
		list = append(list, "/"+p)
	}
	add("etc/modules", []byte(strings.Join(list, "\n")+"\n"), 0o644)
	var raw bytes.Buffer
	if err := writeCpio(&raw, entries); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.ModTime = epoch
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
